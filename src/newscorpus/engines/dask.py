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


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler to connect to: ``address``, else Dask's ``scheduler-address`` setting (its configuration files,
    or ``DASK_SCHEDULER_ADDRESS`` in the environment), else ``None`` (a local cluster)."""
    if address:
        return address
    try:
        import dask.config
    except ImportError:
        return None
    return dask.config.get("scheduler-address", None) or None


def worker_code() -> dict[str, str]:
    """What decides the bytes a worker makes: newscorpus's version, its converter's version, and the code fingerprint
    the cache keys carry (:func:`newscorpus.pipeline.code_fingerprint`)."""
    import newscorpus
    from newscorpus import pipeline
    from newscorpus.convert import CONVERTER_VERSION

    return {"newscorpus": newscorpus.__version__, "converter": CONVERTER_VERSION, "code": pipeline.code_fingerprint()}


def check_workers(client: Any) -> int:
    """The number of the cluster's workers, once each runs the same newscorpus code as this process.

    A worker with other code would make other bytes under this code's cache keys, so the build stops first, naming
    the workers and what differs."""
    ours = worker_code()
    theirs = client.run(worker_code)
    if not theirs:
        raise NewscorpusError(f"the Dask cluster at {client.scheduler.address} has no workers")
    differing = {worker: code for worker, code in theirs.items() if code != ours}
    if differing:
        lines = [f"  {worker}: " + ", ".join(f"{name} {code.get(name, '?')[:12]} (here {ours[name][:12]})"
                                           for name in ours if code.get(name) != ours[name])
                 for worker, code in sorted(differing.items())]
        raise NewscorpusError(f"{len(differing)} of the Dask cluster's {len(theirs)} workers run other newscorpus code "
                              "than this process; install the same version on every worker:\n" + "\n".join(lines))
    return len(theirs)


def build_on_dask(layout: CorpusLayout, out: Path, *, address: str | None = None, workers: int = 2,
                  cache_dir: Path | None = None, **kwargs: Any) -> BuildResult:
    """Build ``layout`` into ``out`` on the Dask cluster at ``address`` (default: :func:`scheduler_address`), or on a
    local cluster of ``workers`` processes when there is none.

    The cluster's workers must run this newscorpus code (:func:`check_workers`) and see the corpus, the cache and
    ``out``'s parent at the same paths as this process."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise NewscorpusError("the Dask engine needs the 'dask' extra: pip install 'newscorpus[dask]'") from error
    address = scheduler_address(address)
    if address:
        try:
            client = Client(address)
        except (OSError, TimeoutError) as error:
            raise NewscorpusError(f"cannot reach the Dask scheduler at {address}: {error}") from error
        with client:
            check_workers(client)
            return build(layout, out, cache_dir=cache_dir, mapper=DaskMapper(client), **kwargs)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster, Client(cluster) as client:
        return build(layout, out, cache_dir=cache_dir, mapper=DaskMapper(client), **kwargs)
