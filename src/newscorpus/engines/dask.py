"""The build on a Dask cluster: the same pure map stages, run by Dask workers instead of a process pool.

Conversion, document checks and shard writing are maps over files
(:func:`newscorpus.pipeline.convert_task`, :func:`~newscorpus.pipeline.document_task`,
:func:`newscorpus.build.group_task`); :class:`DaskMapper` submits them in
batches to a ``distributed.Client`` and yields results in input order, so the
output is byte-identical to the single-machine build.  Clustering, the card
and the swap-in stay on the client (they need only ids and signatures).

Workers read the corpus and write the cache and the staging directory by
path, so those must be on storage every worker sees: a shared POSIX file
system (the corpus may also be a bucket mounted read-only; the cache and the
output may not, as they need renames a bucket mount does not make in one
step); see docs/scale.md, *Object storage*.

>>> # build_on_dask(CorpusLayout(Path("corpus")), Path("build/dataset"), address="tcp://scheduler:8786")
"""

from __future__ import annotations

import functools
import gc
import itertools
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator, Iterable, TypeVar

from newscorpus.build import BuildResult, build, check_output
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
        code = worker_code()
        try:
            while chunk := list(itertools.islice(iterator, size)):
                pending.append(self.client.submit(checked_batch, code, fn, chunk, pure=False))
                if len(pending) >= window:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:  # closed early (see pipeline.Mapper.map): a task once submitted cannot be stopped, so all of them
            if pending:  # are waited for, while any worker is left to run them (Ctrl-C in a terminal stops a local
                _wait_while_workers(self.client, list(pending))  # cluster's workers too: they never would)


def _wait_while_workers(client: Any, futures: list) -> None:
    """Wait for ``futures`` to end, or for the cluster to have no worker left."""
    from distributed import wait

    while futures:
        try:
            futures = list(wait(futures, timeout=1).not_done)
        except TimeoutError:
            pass
        except Exception:  # the scheduler is gone: nothing runs
            return
        try:
            if not client.scheduler_info().get("workers"):
                return
        except Exception:
            return


def checked_batch(code: dict[str, str], fn: Callable[[T], R], batch: list[T]) -> list[R]:
    """:func:`~newscorpus.pipeline.run_batch` on a worker, once it is known to run the client's code (``code``,
    from :func:`worker_code`): a worker that joined the cluster after :func:`check_workers` is checked here, before
    it writes anything into the cache."""
    mine = worker_code()
    if mine != code:
        raise NewscorpusError(f"a worker of the Dask cluster runs other newscorpus code than the client ({_differences(mine, code)}); "
                              "install the same newscorpus and libraries on every worker")
    return run_batch(fn, batch)


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


@functools.cache
def worker_code() -> dict[str, str]:
    """What decides the bytes a worker makes: newscorpus's version, its converter's version, the code fingerprint
    the cache keys carry (:func:`newscorpus.pipeline.code_fingerprint`), and the versions of the libraries that
    write the shards and the card (once per process)."""
    import newscorpus
    from newscorpus import pipeline
    from newscorpus.build import _declared_versions

    return {"newscorpus": newscorpus.__version__, "converter": newscorpus.CONVERTER_VERSION, "code": pipeline.code_fingerprint(),
            **_declared_versions()}


def _differences(theirs: dict[str, str], ours: dict[str, str]) -> str:
    return ", ".join(f"{name} {str(theirs.get(name, '?'))[:12]} (here {ours[name][:12]})"
                     for name in ours if theirs.get(name) != ours[name])


#: How long a build waits for a first worker to join a cluster that has none yet (seconds).
WAIT_FOR_WORKERS = 120


def check_workers(client: Any, wait_for: float = WAIT_FOR_WORKERS) -> int:
    """The number of the cluster's workers, once each runs the same newscorpus code and libraries as this process
    (waiting up to ``wait_for`` seconds for a first worker to join).

    A worker with other code would make other bytes under this code's cache keys, so the build stops first, naming
    the workers and what differs; a worker that joins later is checked by each of its tasks (:func:`checked_batch`)."""
    address = client.scheduler.address
    try:
        client.wait_for_workers(1, timeout=wait_for)
    except TimeoutError as error:
        raise NewscorpusError(f"no worker joined the Dask cluster at {address} within {wait_for:g} s") from error
    ours = worker_code()
    theirs = client.run(worker_code, on_error="return")
    differing = {worker: code for worker, code in theirs.items() if code != ours}
    if differing:
        lines = [f"  {worker}: " + (_differences(code, ours) if isinstance(code, dict) else
                                    f"cannot run this newscorpus's check ({type(code).__name__}: {code}): another version, or none")
                 for worker, code in sorted(differing.items())]
        raise NewscorpusError(f"{len(differing)} of the Dask cluster's {len(theirs)} workers run other newscorpus code or "
                              "libraries than this process; install the same newscorpus and libraries on every worker:\n"
                              + "\n".join(lines))
    return len(theirs)


def _check_address(address: str) -> None:
    """Raise :class:`NewscorpusError` when ``address`` is not a scheduler address Dask can use (scheme, port)."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as error:
        raise NewscorpusError(f"cannot connect to the Dask scheduler at {address}: {error}") from None


def build_on_dask(layout: CorpusLayout, out: Path, *, address: str | None = None, workers: int = 2,
                  cache_dir: Path | None = None, **kwargs: Any) -> BuildResult:
    """Build ``layout`` into ``out`` on the Dask cluster at ``address`` (default: :func:`scheduler_address`), or on a
    local cluster of ``workers`` processes when there is none.

    The cluster's workers must run this newscorpus code (:func:`check_workers`) and see the corpus, the cache and
    ``out``'s parent at the same paths as this process."""
    check_output(out, layout.absolute())  # before any cluster starts
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise NewscorpusError("the Dask engine needs the 'dask' extra: pip install 'newscorpus[dask]'") from error
    address = scheduler_address(address)
    if address:
        _check_address(address)
        try:
            client = Client(address)
        except (OSError, TimeoutError, ValueError, TypeError) as error:  # (TypeError: tls:// without TLS settings)
            reason = f"{type(error).__name__}: {error}"
            del error
            gc.collect()  # the failed client, now: collected while the next one starts, it deadlocked distributed
            raise NewscorpusError(f"cannot reach the Dask scheduler at {address}: {reason} (how long to try: Dask's "
                                  "distributed.comm.timeouts.connect setting)") from None
        with client:
            check_workers(client)
            return build(layout, out, cache_dir=cache_dir, mapper=DaskMapper(client), **kwargs)
    with warnings.catch_warnings():  # its HTTP server (on 127.0.0.1) takes another port when 8787 is in use, and says so
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               host="127.0.0.1")
    with cluster, Client(cluster) as client:
        return build(layout, out, cache_dir=cache_dir, mapper=DaskMapper(client), **kwargs)
