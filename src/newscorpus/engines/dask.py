"""The build on a Dask cluster: the same pure map stages, run by Dask workers instead of a process pool.

Conversion, document checks and shard writing are maps over files
(:func:`newscorpus.pipeline.convert_task`, :func:`~newscorpus.pipeline.document_task`,
:func:`newscorpus.build.group_task`); :class:`DaskMapper` submits them in
batches to a ``distributed.Client`` and yields results in input order, so the
output is byte-identical to the single-machine build.  Clustering, the card
and the swap-in stay on the client (they need only ids and signatures).

Workers read the corpus and write the cache and the staging directory by
path, so those must be on storage every worker sees (a shared file system,
or object storage mounted as one); see docs/scale.md.

>>> # build_on_dask(CorpusLayout(Path("corpus")), Path("build/dataset"), address="tcp://scheduler:8786")
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator, Iterable, TypeVar

from newscorpus.build import BuildResult, build
from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError
from newscorpus.pipeline import run_batch

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class DaskMapper:
    """Runs map stages on a ``distributed.Client``: batches in flight at most ``4 * workers``, results in order."""

    client: Any
    batch: int = 32

    def map(self, fn: Callable[[T], R], items: Iterable[T], batch: int | None = None) -> Generator[R, None, None]:
        """``fn(item)`` for every item, computed on the cluster in tasks of ``batch`` items, yielded in input order."""
        window = 4 * max(1, len(self.client.scheduler_info().get("workers", {})))
        size = batch or self.batch
        pending: deque = deque()
        iterator = iter(items)
        try:
            while chunk := list(itertools.islice(iterator, size)):
                pending.append(self.client.submit(run_batch, fn, chunk, pure=False))
                if len(pending) >= window:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:  # closed early (see pipeline.Mapper.map): a task once submitted cannot be stopped, so all of them
            if pending:  # are waited for
                from distributed import wait

                wait(list(pending))


def build_on_dask(layout: CorpusLayout, out: Path, *, address: str | None = None, workers: int = 2,
                  cache_dir: Path | None = None, **kwargs: Any) -> BuildResult:
    """Build ``layout`` into ``out`` on the Dask cluster at ``address``, or on a local cluster of ``workers`` processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise NewscorpusError("the Dask engine needs the 'dask' extra: pip install 'newscorpus[dask]'") from error
    if address:
        with Client(address) as client:
            return build(layout, out, cache_dir=cache_dir, mapper=DaskMapper(client), **kwargs)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster, Client(cluster) as client:
        return build(layout, out, cache_dir=cache_dir, mapper=DaskMapper(client), **kwargs)
