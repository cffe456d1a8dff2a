"""The streaming scan of a corpus: convert every raw file and check every annotation document, in parallel,
cached, without holding the corpus in memory.

The work is a pure map over files (:func:`convert_task`, :func:`document_task`),
run by a :class:`Mapper`: :class:`ProcessMapper` uses the cores of this
machine; :mod:`newscorpus.engines.dask` runs the same functions on a Dask
cluster.  Results come back in input order, so everything is deterministic.
What the main process keeps per article is small: its id (in a
:class:`newscorpus.names.NameTable`), cache key and date (the 8-byte digests
of its quotes and links and its MinHash signature go to temporary files);
bodies and annotations stay in the cache and are read again, group by group,
when the shards are written.

The problems found are the ones :func:`newscorpus.validate.validate_corpus`
finds (the same check functions are called; the corpus-wide checks are
streamed over small per-document summaries).
"""

from __future__ import annotations

import base64
import collections.abc
import ctypes
import gc
import hashlib
import itertools
import json
import os
import pickle
import select
import signal
import sqlite3
import stat
import sys
import tempfile
import threading
import time
from array import array
from collections import deque
from contextlib import closing
from dataclasses import dataclass, field
from functools import cache, cached_property, partial
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, AbstractSet, Any, Callable, Generator, Iterable, Iterator, Protocol, Sequence, TypeVar

import numpy as np
import orjson
import xxhash

from newscorpus.cache import Cache, CacheStats, cache_format, key_of, key_prefix, key_prefixes
from newscorpus.clusters import COLUMN_GROUPS, NUM_PERM, in_sorted, signature
from newscorpus.corpus import CorpusLayout, conversion_entry, json_names, unlisted
from newscorpus.heap import paused_gc, release_free_memory
from newscorpus.jsonio import MAX_JSON_BYTES, NotRegularFile, open_regular, parse_json, read_at_most, read_text, refusal
from newscorpus.libc import libc_function
from newscorpus.names import NameTable, SortedNames
from newscorpus.problems import Problem, errors, pointer
from newscorpus.schemas import schema_dir, schema_problems
from newscorpus.validate import _items, article_problems, document_problems, with_lines, with_lines_from_files

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

#: Bump when what the scan stores in the cache changes shape.
PIPELINE_VERSION = "2"


# ---------------------------------------------------------------- mapping


class Mapper(Protocol):
    """Runs a pure function over items, yielding results in input order."""

    def map(self, fn: Callable[[T], R], items: Iterable[T], batch: int | None = None) -> Generator[R, None, None]:
        """``fn(item)`` for every item, in order; ``batch``: items per task (default: the mapper's own).  Closed
        before its end (an error, Ctrl-C), it returns once the work already running has ended: what that work
        writes never lands after the caller cleaned up."""


def run_batch(fn: Callable[[T], R], batch: list[T]) -> list[R]:
    """``fn`` over one batch (what a worker runs per task).

    The cache entries its items put (:func:`_put`) are written together when
    the batch ends, one file for all of a namespace's (:meth:`Cache.put_many`),
    and each result's ``"entry"`` is then the stat of its entry.
    """
    outer, _batch.entries = getattr(_batch, "entries", None), {}
    try:
        results = [fn(item) for item in batch]
        for (root, namespace), entries in _batch.entries.items():
            Cache(Path(root)).put_many(namespace, entries)
    finally:
        _batch.entries = outer
        _first_task_done.set()  # (a pool's worker imports pyarrow's modules now: _import_arrow)
    for result in results:
        if isinstance(result, dict) and isinstance(result.get("entry"), _Unwritten):
            result["entry"] = cache_entry_state(result["entry"].location)
    return results


#: The cache entries put by the items of the batch this thread runs (:func:`run_batch`), by cache and namespace.
_batch = threading.local()


@dataclass(frozen=True)
class _Unwritten:
    """An entry put while a batch runs: its stat is taken when the batch's entries are written."""

    location: str


def _put(store: Cache, namespace: str, key: str, meta: dict, payload: bytes) -> list[int] | _Unwritten | None:
    """Put an entry, and say its stat for the scan index: at once, or, in a batch, once the batch is written."""
    pending = getattr(_batch, "entries", None)
    if pending is None:
        store.put(namespace, key, meta, payload)
        return cache_entry_state(store.location(namespace, key))
    pending.setdefault((str(store.root), namespace), []).append((key, meta, payload))
    return _Unwritten(store.location(namespace, key))


@dataclass
class ProcessMapper:
    """The cores of this machine: a process pool fed in batches, with a bounded number in flight.

    ``workers=1`` runs in this process (no pool).  The pool is started by the
    first map that needs it and kept for the next ones until :meth:`close`
    (a build closes it when it ends): its workers are forked once, while the
    main process is still small, so they neither copy what the scan later
    holds nor import the converter and pyarrow again for every stage.
    """

    workers: int = 2
    batch: int = 32
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False, compare=False)
    #: the pipe the pool's workers take their turn from (read, write: :func:`_turn`; ``None`` where workers are not
    #: forked), whether all have one, and the last task sent while they had not (:meth:`submit`)
    _turns: tuple[int, int] | None = field(default=None, init=False, repr=False, compare=False)
    _woken: bool = field(default=False, init=False, repr=False, compare=False)
    _last: "Future | None" = field(default=None, init=False, repr=False, compare=False)

    def map(self, fn: Callable[[T], R], items: Iterable[T], batch: int | None = None) -> Generator[R, None, None]:
        """``fn(item)`` for every item, in order; at most ``4 * workers`` batches of ``batch`` items are pending.

        With no pool started (:meth:`start`), fewer items than workers run
        here: a pool cannot share them out, and starting one then costs more
        than a rebuild's single changed file.  Here too the items run in
        batches (:func:`run_batch`), so their cache entries are written
        together.  With the pool started, a batch goes to it when it is full,
        or when an item comes while no task is running, however few its items
        (one, then, but once each time the workers have caught up: a batch's
        cache entries are one file, :meth:`Cache.put_many`): a rebuild's
        changed file went to a worker once the stream had given a whole batch
        (the scan had looked up the index for the rest of its window), and the
        scan then waited for its result (20 ms of a one-file rebuild at 10,000
        articles).  An item that comes while a task runs waits for its batch,
        the next item or the stream's end, as before.
        """
        iterator = iter(items)
        # (with the pool started, nothing is pulled ahead: the first item goes to a worker as soon as it comes)
        head = list(itertools.islice(iterator, self.workers)) if self._pool is None and self.workers > 1 else []
        size = batch or self.batch
        if self.workers <= 1 or (self._pool is None and len(head) < self.workers):
            iterator = itertools.chain(head, iterator)
            while chunk := list(itertools.islice(iterator, size)):
                yield from run_batch(fn, chunk)
            return
        iterator = itertools.chain(head, iterator)
        from concurrent.futures import wait

        pool, pending, chunk = self.start(), deque(), []
        try:
            for item in itertools.chain(iterator, [_NO_ITEM]):
                if item is not _NO_ITEM:
                    chunk.append(item)
                if not chunk:
                    continue
                # a batch goes when it is full, when the items end, or at once while no task runs (a rebuild's one
                # changed file: sent as it is found, not once the stream has gone on for a batch)
                running = _any_running(pending)
                if len(chunk) >= size or item is _NO_ITEM or not running:
                    pending.append(self.submit(run_batch, fn, chunk, busy=running))
                    chunk = []
                    if len(pending) >= 4 * self.workers:
                        yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:  # closed early (see Mapper.map): the queued work is not run, the running work is waited for (a
            for future in pending:  # group's task writes into the staging directory its caller then deletes: one
                future.cancel()  # that ended later made it again, for good), unless the pool was stopped first:
            if pool is self._pool:  # what it had queued then never ends (a map closed late waited for good)
                wait(pending)

    def start(self) -> "ProcessPoolExecutor":
        """The pool, started now if it is not: its workers are forked at once, and the first imports what the tasks
        run (:func:`_worker_started`) while this process goes on.  A build starts it first thing, while this process
        is small, so a rebuild's few tasks (a changed file converted, its document checked, its group's shards
        patched) find a worker ready, and this process never imports the converter nor pyarrow: a one-file rebuild
        of 10,000 articles peaks at 73 MB here, not 134, and uses 0.5 s less of its CPU (docs/scale.md).

        The other workers wait for their turn (:meth:`wake`: a task sent while another is in flight, or
        :data:`HELD_SECONDS`) before they import anything: a rebuild's tasks come one at a time, and two workers
        importing at once (0.13 s of CPU each) slowed its scan, on two cores, by 0.1 s of its 0.8."""
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            import multiprocessing

            # a byte a turn (:func:`_turn`), the first worker's there at once; forked workers only (a spawned one would
            # not have the pipe's descriptors): elsewhere each worker takes its turn at once
            context = multiprocessing.get_context()
            turns = os.pipe() if context.get_start_method() == "fork" else None
            try:
                if turns is not None:
                    os.set_blocking(turns[0], False)
                    os.write(turns[1], _GO)
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_worker_started,
                                                 initargs=(os.getpid(), turns))
                self._pool.submit(int)  # a pool forks its workers at its first task
            except BaseException:
                if turns is not None:
                    os.close(turns[0])
                    os.close(turns[1])
                self._pool = None
                raise
            self._turns, self._woken, self._last = turns, False, None
        return self._pool

    def submit(self, fn: Callable[..., R], *args: Any, busy: bool = False) -> "Future[R]":
        """``fn(*args)`` on the pool (started if it is not); the other workers are woken (:meth:`wake`) when a task
        sent before is not done yet, or the caller has one in flight (``busy``): work for two has come."""
        pool = self.start()
        if not self._woken:
            if busy or (self._last is not None and not self._last.done()):
                self.wake()
            else:
                self._last = pool.submit(fn, *args)
                return self._last
        return pool.submit(fn, *args)

    def wake(self) -> None:
        """Let every worker of the started pool import what the tasks run now, if it has not (work for more than one
        has come: :meth:`submit`)."""
        if self._pool is not None and not self._woken:
            self._woken, self._last = True, None
            if self._turns is not None:
                _give_turns(self._turns[1], _GO, self.workers)

    def close(self) -> None:
        """Stop the pool's workers (a later map starts a new pool).  A worker still waiting for its turn is told to
        leave without importing anything."""
        if self._pool is not None:
            if self._turns is not None:
                _give_turns(self._turns[1], _LEAVE, self.workers)
            try:
                self._pool.shutdown(wait=True, cancel_futures=True)
            finally:
                self._pool, self._last = None, None
                if self._turns is not None:
                    os.close(self._turns[0])
                    os.close(self._turns[1])
                    self._turns = None


def _any_running(pending: deque) -> bool:
    """Whether any of the ``pending`` tasks is still to end (the newest first: in a full queue it is the one running
    or waiting, so one is looked at, not eight)."""
    return any(not future.done() for future in reversed(pending))


def _worker_started(parent: int, turns: tuple[int, int] | None) -> None:
    """Set up a pool's worker: it ends with ``parent``, the process whose pool it is (:func:`_die_with_parent`),
    waits for its turn (``turns``, :func:`_turn`), and imports what its tasks run: the converter, the MinHash
    permutations (numpy's random module) and the validators of articles and documents, which a rebuild's first task
    needs (its changed file converted), and pyarrow, its Arrow memory allocated with jemalloc
    (:func:`_worker_arrow_pool`); then, in a thread of its own once that task is done (:func:`_import_arrow`), the
    Parquet writer, Arrow's JSON reader and compute functions (each group's child would import them again: 0.11 s of
    a group's 0.4 s).  Told to leave before its turn (the pool is closing), it imports none of them (a task queued
    before the close may still run, and import what it needs)."""
    global _pool_worker
    _pool_worker = os.getpid()
    _die_with_parent(parent)
    if _turn(turns) == _LEAVE:
        return
    import newscorpus.convert  # noqa: F401
    from newscorpus.clusters import _permutations
    from newscorpus.schemas import fast_validator

    _permutations()
    for kind in ("article", "annotation"):  # (compiled at a first check: 5-7 ms of the rebuild's changed file)
        fast_validator(kind)
    _worker_arrow_pool()  # (pyarrow itself, 25 ms: whatever allocates Arrow memory here finds jemalloc the pool)
    global _arrow_imports, _first_task_done
    _first_task_done = threading.Event()  # (not the one this process was forked with: its parent may have set it)
    _arrow_imports = threading.Thread(target=_import_arrow, name="newscorpus-arrow-imports", daemon=True)
    _arrow_imports.start()


def _import_arrow() -> None:
    """Once the worker's first task is done (:func:`run_batch`), or :data:`HELD_SECONDS` have passed: the Parquet
    writer, Arrow's JSON reader and compute functions imported (45 ms; a thread of the worker's own,
    :func:`_worker_started`)."""
    _first_task_done.wait(HELD_SECONDS)
    import pyarrow.compute  # noqa: F401
    import pyarrow.json  # noqa: F401
    import pyarrow.parquet  # noqa: F401


def arrow_imported() -> None:
    """Wait until this worker's Arrow imports (:func:`_import_arrow`) are done, starting them now if they have not
    started: before it forks (:func:`run_forked`: a child forked while another thread imports could find the
    import's locks held for good) or runs a group's task in it.  Nothing outside a pool's worker (no thread started:
    the main process, a Dask worker; a group's child finds its worker's thread ended)."""
    if _arrow_imports is not None:
        _first_task_done.set()
        _arrow_imports.join()


#: A pool's worker imports pyarrow's modules (:func:`_import_arrow`) in this thread, once this is set: after its first
#: task, which a rebuild's changed file is.  Its warm-up had imported them before it (70-85 ms with pyarrow itself),
#: and the main process, which sends that file about 110 ms after it forks the workers, waited for the warm-up to
#: end: 9-61 ms of the 15-72 it waited for the file's conversion (6 ms) in a one-file rebuild at 10,000 articles
#: (docs/scale.md, *A rebuild's tasks run in workers ready for them*).
_arrow_imports: threading.Thread | None = None
_first_task_done = threading.Event()


#: The process id of this process when it is a pool's worker (:func:`_worker_started`), else 0.
_pool_worker = 0

#: What a worker reads from its pool's pipe of turns (:func:`_turn`): import what the tasks run, or leave (the pool
#: is closing) without importing anything.
_GO, _LEAVE = b"g", b"q"

#: Seconds a pool's worker waits for its turn before it takes one anyway (:meth:`ProcessMapper.start`): a pool that is
#: never woken nor closed (a caller that forgot to) still ends at exit, when its workers are joined.  Longer than a
#: one-file rebuild at 100,000 articles (4-7 s).  Also the longest a worker waits for its first task to end before it
#: imports pyarrow's modules (:func:`_import_arrow`).
HELD_SECONDS = 10.0


def _give_turns(write: int, turn: bytes, count: int) -> None:
    """Put ``count`` turns ``turn`` in a pool's pipe of turns (enough for every worker still waiting; those left
    over stay unread).  Never blocks: the pipe holds far more."""
    try:
        os.write(write, turn * count)
    except OSError:  # (closed: the pool is gone)
        pass


def _turn(turns: tuple[int, int] | None) -> bytes:
    """Wait for this worker's turn: a byte from the pipe ``turns`` (read, write; read without blocking: another
    worker may take the byte that woke this one), :data:`_GO` when :data:`HELD_SECONDS` pass first or the pipe is
    closed, or at once when there is no pipe.  Both ends are then closed here: the children this worker forks do not
    hold them."""
    if turns is None:
        return _GO
    read, write = turns
    os.close(write)
    deadline = time.monotonic() + HELD_SECONDS
    ready = select.poll()  # (not select(): a descriptor past 1,024 is refused there)
    ready.register(read, select.POLLIN)
    try:
        while (left := deadline - time.monotonic()) > 0:
            if ready.poll(max(1, int(left * 1000))):
                try:
                    return os.read(read, 1) or _GO  # (b"": every writing end closed)
                except BlockingIOError:  # another worker took it
                    continue
                except OSError:  # (the pipe is unusable: no turn will come)
                    return _GO
        return _GO
    finally:
        os.close(read)


class ForkedTaskError(RuntimeError):
    """The child :func:`run_forked` started for a task ended without an answer (killed: the out-of-memory killer)."""


class _ForkedTraceback(Exception):
    """The traceback of an error raised in the child of :func:`run_forked` (its cause, as a pool shows a worker's)."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0])


def run_forked(fn: Callable[[T], R], item: T) -> R:
    """``fn(item)``, in a child forked for it when this process is a pool's worker on Linux: what ``fn`` leaves in
    the heap (pages the allocators keep, holes between the worker's objects) goes with the child, so a worker's
    peak is the same for its first task and its hundredth.

    For the tasks that hold the most memory, a group's shards (:func:`newscorpus.build.group_task`): a worker
    that wrote its groups itself kept more of the heap after each (78 MB before its first group at 10,000
    articles, 114-120 MB before its last), so its peak rose with the corpus (docs/scale.md, item 3).  The worker
    gives the C heap's free pages back first (:func:`~newscorpus.heap.release_free_memory`), so the child does
    not start with them.  The child starts from the worker's pages (copied as it writes to them: the
    collector's generations are frozen first, so it does not touch every object), ends with the worker however
    the worker ends, answers through a pipe and is reaped by the worker: its peak and its CPU time count in the
    worker's ``RUSAGE_CHILDREN``, and so in the build's.  Anywhere else (one process, a Dask worker, a system
    without ``fork`` or where forking a process that has loaded numpy and Arrow is not safe), or should the fork
    fail, ``fn(item)`` runs here.  An error raised by ``fn`` is raised here, its traceback as the cause (one that
    cannot be sent as it is: a :class:`RuntimeError` that names it); a child that ends without a whole answer
    raises :class:`ForkedTaskError`.  Cache entries put in a batch (:func:`_put`) would be lost with the
    child: ``fn`` puts its own.
    """
    arrow_imported()  # (no other thread importing as it forks; the child finds pyarrow's modules imported)
    if _pool_worker != os.getpid() or not sys.platform.startswith("linux"):
        return fn(item)
    release_free_memory(now=True)
    read, write = os.pipe()
    gc.freeze()  # (the child's collector would scan the worker's objects, copying their pages)
    try:
        pid = os.fork()
    except OSError:
        pid = -1
    if pid == 0:  # the child: answers, then ends without the worker's exit handlers
        status = 1
        try:
            os.close(read)
            _die_with_parent(_pool_worker)
            _batch.entries = None
            with open(write, "wb", closefd=True) as pipe:
                pipe.write(_answer(fn, item))
            status = 0
        finally:
            os._exit(status)
    gc.unfreeze()
    os.close(write)
    if pid < 0:
        os.close(read)
        return fn(item)
    try:
        with open(read, "rb", closefd=True) as pipe:
            answer = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    name = getattr(getattr(fn, "func", fn), "__name__", "a task")
    if status != 0 or not answer:
        raise ForkedTaskError(f"the process forked to run {name} ended without an answer ({_ended(status)})")
    done, value = pickle.loads(answer)
    if done:
        return value
    error, told = value
    raise error from _ForkedTraceback(told)


def _answer(fn: Callable[[T], R], item: T) -> bytes:
    """What the child of :func:`run_forked` sends: ``(True, fn(item))`` or ``(False, (error, traceback))``, pickled;
    an error that would not come back as it is (it does not pickle, or its class cannot be made again from what
    pickles) is sent as a :class:`RuntimeError` that names it."""
    try:
        return pickle.dumps((True, fn(item)), pickle.HIGHEST_PROTOCOL)
    except BaseException as error:  # noqa: BLE001 (sent to the worker, which raises it)
        import traceback

        told = traceback.format_exc()
        try:
            answer = pickle.dumps((False, (error, told)), pickle.HIGHEST_PROTOCOL)
            pickle.loads(answer)
            return answer
        except Exception:  # noqa: BLE001 (its text instead)
            return pickle.dumps((False, (RuntimeError(repr(error)), told)), pickle.HIGHEST_PROTOCOL)


def _ended(status: int) -> str:
    """How a child's ``waitpid`` status says it ended."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


#: ``prctl``'s option that has the kernel signal a process when the one that started it ends.
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """End this worker when ``parent`` ends, however it ends (``kill -9``, the out-of-memory killer).

    An idle worker waits to read its next task from a pipe whose writing end
    its siblings hold too, so it never sees the pipe close: a build killed
    left its two workers waiting for good, 60-76 MB each (measured).  Linux:
    the kernel sends ``SIGKILL`` when the process that started this one ends
    (``prctl(PR_SET_PDEATHSIG)``: ``parent``, or a fork server that ends
    with it); elsewhere a thread checks once a second that ``parent`` runs.
    """
    prctl = _prctl()
    if prctl is not None and prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
        if not _running(parent):  # it ended before the call
            os._exit(1)
        return

    def watch() -> None:
        while _running(parent):
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="newscorpus-parent-watch", daemon=True).start()


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs: a signal 0 reaches it (or would but for permissions), and it has not ended
    waiting to be reaped (a zombie, which a signal still reaches; where ``/proc`` says).

    A worker that checks a build killed a moment before, not yet reaped,
    would take it for running: it set its parent-death signal too late to get
    it, would run the tasks already queued and then wait for good.  (A worker
    was once left at 65 MB after a build killed 0.41 s in, in
    ``tests/soak_build.py``: this is the one way found for it.)
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    if not os.path.exists("/proc/self/stat"):  # (no /proc: macOS)
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except FileNotFoundError:  # reaped meanwhile
        return False
    except OSError:
        return True


def _prctl() -> Callable[..., int] | None:
    """Linux's ``prctl`` (through the C library), or ``None`` on another system."""
    return libc_function("prctl", (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong))


#: jemalloc's options in a pool's worker (``JE_ARROW_MALLOC_CONF``, unless the environment sets it): freed pages go
#: back to the system as they are freed.  With pyarrow's decay of a second, a process that freed 64 MB of Arrow
#: memory kept 41-53 MB of it, and a worker's peak rose with the groups it had written (docs/scale.md).  jemalloc reads
#: them when pyarrow is loaded: a worker loads it after it is forked (a build's main process never imports it); a
#: process that imported pyarrow before it forks its workers gives them pyarrow's own.
WORKER_JEMALLOC_CONF = "dirty_decay_ms:0,muzzy_decay_ms:0"


def _worker_arrow_pool() -> None:
    """jemalloc becomes pyarrow's memory pool in a pool's worker, where the wheel has it (Linux and macOS).

    The default, mimalloc, keeps the pages that a group's JSON parse and
    Parquet write free: a worker writing 2,000 articles' groups peaked at
    164-170 MB with it, 137-141 MB with jemalloc, and was no faster (docs/scale-history.md).  Only the pool's
    own processes: a library does not change the default of the process that
    imports it."""
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", WORKER_JEMALLOC_CONF)
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, pa.ArrowNotImplementedError):
        pass


# ---------------------------------------------------------------- what a worker needs


@cache
def code_fingerprint() -> str:
    """SHA-256 of the schema files, of the code whose output is cached and of the cache's format (a change of any
    invalidates the cache)."""
    import newscorpus.build
    import newscorpus.clusters
    import newscorpus.corpus
    import newscorpus.names
    import newscorpus.schemas
    import newscorpus.spans
    import newscorpus.validate

    digest = hashlib.sha256(PIPELINE_VERSION.encode())
    for path in sorted(schema_dir().glob("*.schema.json")):
        digest.update(path.read_bytes())
    # (corpus and names: which names a set's listing holds, and how the index keeps it, _set_listing)
    for module in (newscorpus.build, newscorpus.clusters, newscorpus.corpus, newscorpus.names, newscorpus.schemas,
                   newscorpus.spans, newscorpus.validate):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())  # the scan: what its index records, and in which shape
    digest.update(newscorpus.CONVERTER_VERSION.encode())
    digest.update(cache_format())  # a cache of another format is not read (its entries would be counted as damaged)
    return digest.hexdigest()


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to know about one build (small and picklable)."""

    corpus: str
    raw_rel: str
    cache: str
    converter: str
    fingerprint: str
    #: the gold documents' directory: the scan makes the rows of the documents found there (see document_task)
    gold: str = ""

    @classmethod
    def of(cls, layout: CorpusLayout, cache_dir: Path) -> "Job":
        """The job of building ``layout`` with the cache in ``cache_dir``."""
        import newscorpus

        return cls(
            str(layout.root), layout.rel(layout.raw_dir),
            str(cache_dir), newscorpus.CONVERTER_VERSION, code_fingerprint(), str(layout.gold_dir),
        )


def _problems_out(problems: Iterable[Problem]) -> list[dict]:
    return [p.as_dict() for p in problems]


def problems_in(rows: Iterable[dict]) -> list[Problem]:
    """Problems back from their ``as_dict`` form."""
    return [Problem(**row) for row in rows]


# ---------------------------------------------------------------- what the last scan saw (stat index)

#: A file whose mtime or ctime is this recent is not remembered by its stat: file-system timestamps are
#: coarse, so a second write in the same tick could leave size, mtime and ctime as they were ("racy" in git).
RACY_NS = 2_000_000_000


def _stat(path: Path | str) -> list[int] | None:
    """``[size, mtime_ns, ctime_ns, inode, links]`` of a file, or ``None`` when missing."""
    try:
        st = os.stat(path, follow_symlinks=False)  # a file replaced by a link to it is not the file it was
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_nlink]


def file_state(path: Path) -> list[int] | None:
    """``[size, mtime_ns, ctime_ns, inode]`` of a file, or ``None`` when missing or changed too recently to trust."""
    state = _stat(path)
    if state is None or time.time_ns() - max(state[1], state[2]) < RACY_NS:
        return None
    return state[:4]


def entry_state(path: Path | str) -> list[int] | None:
    """``[size, mtime_ns, ctime_ns, inode]`` of a file this build just wrote (an output file), or ``None`` when missing.

    No racy rule here: such files are replaced by rename (a new inode).
    """
    state = _stat(path)
    return None if state is None else state[:4]


def cache_entry_state(path: str) -> list[int] | None:
    """The state of a cache entry's name: :func:`entry_state` and the link count of its file (a pack's names, see
    :mod:`newscorpus.cache`), or ``None`` when missing.  No racy rule: an entry is replaced by a new file, and its
    payload is verified by its checksum whenever it is read."""
    return _stat(path)


def _same_state(path: str, state: list[int]) -> bool:
    """Whether ``path`` has ``state`` (a :func:`file_state`, or a :func:`cache_entry_state`: five figures)."""
    now = _stat(path)
    return now is not None and now[:len(state)] == state


@dataclass
class ScanIndex:
    """What the last scan learned about each file: its stat, its cache key, the stat of that cache entry, its result.

    A file whose stat is unchanged, whose cache key (recomputed from the
    manifest entry, or from the key of the article a document is checked
    against) is unchanged and whose cache entry's stat is unchanged is not
    read, hashed or checked again: its recorded result is used.  Anything
    else goes to the workers, which read, hash and verify as usual.  The
    payload of an entry (a converted article) is still verified by its
    checksum whenever it is read.

    The index is an SQLite database in the cache, one per corpus directory
    and code version (``index/ab/ab12….sqlite``), read one row per file, so
    it stays off the Python heap whatever the size of the corpus.  Each row
    carries a checksum over its file name and record: a damaged row is
    ignored (its file is read again), and a database SQLite cannot read is
    deleted and started afresh.  Rows this scan confirmed or wrote one by one
    are noted in a temporary table, and those of a segment the index answered
    whole are counted with it (a rebuild after one change keeps 200,000 rows
    at 100,000 articles: listing them cost 0.8 s); :meth:`save` drops the rows
    of files no longer seen, and commits, so an interrupted scan leaves the
    last index as it was.
    """

    db: sqlite3.Connection | None
    path: Path
    cache_root: str
    changed: bool = False
    kept: list[tuple[str]] = field(default_factory=list)
    kept_segments: list[tuple[str, int]] = field(default_factory=list)
    #: rows kept by the segments the index answered whole (their files are listed only when rows must be dropped)
    covered: int = 0
    #: the segments' stat checks, made ahead of the scan by a child process (:class:`SegmentsChecked`)
    ahead: "SegmentsChecked | None" = None
    #: the cache keys of the files this scan used but could not record (a stat not to be trusted yet: changed a
    #: moment ago), as their first 64 bits (:func:`newscorpus.cache.key_prefixes`; 8 bytes a file, should a whole
    #: corpus be that new); with the saved rows, every entry the scan used (:meth:`keys`)
    unrecorded: array = field(default_factory=lambda: array("Q"))
    #: the connection of an index abandoned in the scan (:meth:`_abandon`), kept open until :meth:`close`
    _retired: sqlite3.Connection | None = None
    #: the ids of the articles this scan converted, or whose document it checked, itself (the index did not answer
    #: for them), in order; ``None`` past :data:`REMADE_AT_MOST` (a cold build's, every article)
    remade: list[str] | None = field(default_factory=list)

    @staticmethod
    def path_of(job: Job) -> Path:
        """Where the index of ``job``'s corpus and code is kept."""
        key = key_of({"stage": "scan-index", "corpus": job.corpus, "code": job.fingerprint})
        return Path(job.cache) / "index" / key[:2] / f"{key}.sqlite"

    @classmethod
    def open(cls, job: Job) -> "ScanIndex":
        """The index the last scan of ``job``'s corpus left in its cache (empty when there is none)."""
        path = cls.path_of(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        # forked before this process connects: a child forked after would inherit SQLite's record of this
        # process's locks, and read without taking any (SQLite's "carrying a connection across fork()")
        ahead = SegmentsChecked.start(path) if path.exists() else None
        for attempt in (1, 2):
            try:
                db = sqlite3.connect(path, timeout=_INDEX_BUSY_SECONDS, isolation_level=None)
                db.executescript(_INDEX_SCHEMA)
                db.execute("BEGIN")
                return cls(db, path, str(job.cache), ahead=ahead)
            except sqlite3.OperationalError as error:
                if "locked" in str(error) or "busy" in str(error):
                    break  # another build holds it: scan without the index
                _drop_database(path)
            except sqlite3.DatabaseError:
                _drop_database(path)
        if ahead is not None:
            ahead.stop()
        return cls(None, path, str(job.cache))

    @cached_property
    def store(self) -> Cache:
        """The cache whose entries the index's records name (made once: a ``Path`` per file asked cost 30 ms of a
        rebuild's 1,000 files asked one by one)."""
        return Cache(Path(self.cache_root))

    def _record(self, file: str) -> dict | None:
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT record, digest FROM files WHERE file = ?", (file,)).fetchone()
        except sqlite3.DatabaseError as error:
            self._abandon(error)
            return None
        if row is None or row[1] != _row_digest(file, row[0]):
            return None
        return orjson.loads(row[0])

    def known(self, namespace: str, file: str, path: str, key_matches: Callable[[dict], bool], keep: bool = True) -> dict | None:
        """The recorded result of ``file`` (at ``path``) when nothing it depends on changed, else ``None``.  ``keep``:
        the row is kept by this answer (``False`` for a file asked again, which its first answer or segment keeps)."""
        record = self._record(file)
        if record is None or not _same_state(path, record["state"]) or not key_matches(record):
            return None
        key = record["key"]
        if not _same_state(self.store.location(namespace, key), record["entry"]):
            return None
        if keep:
            self._keep(file)
        return record

    @classmethod
    def keys(cls, job: Job) -> "np.ndarray | None":
        """The cache keys the saved index of ``job`` names (its files' ``convert`` and ``document`` entries: what the
        scan it records used), as :func:`newscorpus.cache.key_prefixes`.  ``None`` when it cannot be read (missing,
        damaged, or held by another build's write): then nothing is known to be unused.  The keys are taken out by
        SQLite's JSON functions (1.3 s at 100,000 articles, where decoding each record took 4.9 s)."""
        path = cls.path_of(job)
        if not path.is_file():
            return None
        try:
            with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=_INDEX_BUSY_SECONDS)) as db:
                rows = db.execute("SELECT substr(json_extract(CAST(record AS TEXT), '$.key'), 1, 64) FROM files")
                return key_prefixes(key for (key,) in rows if isinstance(key, str) and len(key) == 64)
        except (sqlite3.DatabaseError, ValueError):
            return None

    def remember(self, file: str, record: dict) -> None:
        """Record what this scan learned about ``file`` (only when both stats could be trusted: else its cache key is
        noted in :attr:`unrecorded`)."""
        if self.db is None:
            return
        if record["state"] is None or record["entry"] is None:
            self.unrecorded.append(key_prefix(record["key"]))
            self._forget(file)
            return
        blob = orjson.dumps(record)
        try:
            self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", (file, blob, _row_digest(file, blob)))
        except sqlite3.DatabaseError as error:
            self._abandon(error)
            return
        self.changed = True
        self._keep(file)

    def note_remade(self, ident: Any) -> None:
        """Note that article ``ident``'s conversion or document was not the index's answer (:attr:`remade`; each
        article once, whether its file, its gold document or an annotator's was made again)."""
        if self.remade is None or not isinstance(ident, str) or ident in self.remade:
            return
        if len(self.remade) >= REMADE_AT_MOST:
            self.remade = None
        else:
            self.remade.append(ident)

    def _forget(self, file: str) -> None:
        """Drop the row of ``file``, which this scan read again but could not record (edited a moment ago): its
        stat is past, so it would never be served, but a row no scan keeps makes :meth:`save` list every row kept
        to find it (the file a user has just edited, at every rebuild: 0.1 s at 10,000 articles, 0.8 at 100,000)."""
        try:
            self.changed |= self.db.execute("DELETE FROM files WHERE file = ?", (file,)).rowcount > 0
        except sqlite3.DatabaseError as error:
            self._abandon(error)

    def segment(self, kind: str, number: int, digest: bytes) -> dict | None:
        """What was recorded for segment ``number`` of ``kind`` when its inputs (``digest``) are unchanged and every
        file and cache entry it read has the stat it had, else ``None``: the record, with ``"later"`` (a function
        that gives the JSON of what is read only when needed, not decoded) and ``"data"`` (bytes).

        A segment is :data:`SEGMENT` consecutive manifest lines, or
        annotation documents of one set: the unit the index answers whole,
        with one SQLite row, one decode and one ``stat`` call per file and per pack of cache entries (any name of
        a pack removed or replaced changes its file's link count, which the name checked shows).
        """
        if self.db is None:
            return None
        try:  # (files and later, the row's last columns, are not read when the child checked it: a third of its bytes)
            row = self.db.execute("SELECT digest, checksum, record, data FROM segments WHERE kind = ? AND number = ?",
                                  (kind, number)).fetchone()
            if row is None or row[0] != digest:
                return None
            verdict = self.ahead.verdict(kind, number) if self.ahead is not None and (kind, number) != CHECKED_HERE else None
            if verdict is not None and verdict[0] == row[1]:  # this very row, checked by the child
                if not verdict[1]:
                    return None
                later = partial(self._later, kind, number, row[1])
            else:
                files, deferred = self.db.execute("SELECT files, later FROM segments WHERE kind = ? AND number = ?",
                                                  (kind, number)).fetchone()
                if row[1] != _segment_checksum(kind, number, digest, row[2], files, deferred, row[3]) or not files_unchanged(orjson.loads(files)):
                    return None
                later = partial(bytes, deferred)
        except sqlite3.DatabaseError as error:
            self._abandon(error)
            return None
        record = orjson.loads(row[2])
        self.kept_segments.append((kind, number))
        self.covered += record["kept"]
        return {**record["record"], "later": later, "data": row[3]}

    def _later(self, kind: str, number: int, checksum: bytes) -> bytes:
        """The ``later`` column of a segment answered whole, the row the child checked (its ``checksum``): read
        through the scan's connection, whose transaction holds the row as it was read (no scan writes the row of a
        segment it was answered), or through the one it had when it abandoned the index (:meth:`_abandon`: it
        holds the file open).  That one has let go of its lock: should another build have changed the row
        meanwhile (another checksum, or no row), the build stops and says to run it again."""
        from newscorpus.errors import NewscorpusError

        db = self.db if self.db is not None else self._retired
        try:
            row = db.execute("SELECT checksum, later FROM segments WHERE kind = ? AND number = ?", (kind, number)).fetchone()
        except sqlite3.DatabaseError as error:
            raise NewscorpusError(f"the scan's index {self.path} could not be read again ({error}); run the build again") from error
        if row is None or row[0] != checksum:
            raise NewscorpusError(f"the scan's index {self.path} was changed by another build during this scan; run the build again")
        return row[1]

    def remember_segment(self, kind: str, number: int, digest: bytes, record: dict,
                         files: list[tuple[str, list[int] | None]], kept: list[str], later: dict | None = None,
                         data: bytes = b"") -> None:
        """Record what a segment's files gave (``record``; ``later``: what is decoded only when asked for, ``data``:
        bytes), the stat of every file and cache entry they came from, and the index rows they keep alive; a
        segment with a file whose stat cannot be trusted (changed a moment ago) is not recorded."""
        if self.db is None or any(state is None for _, state in files):
            return
        blob = orjson.dumps({"record": record, "kept": len(kept)})
        checked = orjson.dumps(files)
        deferred = orjson.dumps({**(later or {}), "kept": kept})
        try:
            self.db.execute("INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (kind, number, digest, _segment_checksum(kind, number, digest, blob, checked, deferred, data),
                             blob, data, checked, deferred))
        except sqlite3.DatabaseError as error:
            self._abandon(error)
            return
        self.changed = True
        self.kept_segments.append((kind, number))

    def _keep(self, file: str) -> None:
        self.kept.append((file,))
        if len(self.kept) >= _KEPT_BATCH:
            self._flush_kept()

    def _flush_kept(self) -> None:
        """Note the files kept so far in the temporary table (in batches: one SQLite call per file is slower)."""
        if self.db is not None and self.kept:
            try:
                self.db.executemany("INSERT OR IGNORE INTO temp.kept VALUES (?)", self.kept)
            except sqlite3.DatabaseError as error:
                self._abandon(error)
        self.kept.clear()

    def save(self) -> bool:
        """Store the index of this scan: drop the rows of files not seen or not trusted, and commit.  Whether it is
        stored (not when another build held it, or it was abandoned: then the last saved index stays)."""
        self._stop_ahead()  # (its read of the database would hold up the commit)
        self._flush_kept()
        if self.db is None:
            return False
        try:
            self.db.executemany("INSERT OR IGNORE INTO temp.kept_segments VALUES (?, ?)", self.kept_segments)
            stale = self.db.execute("DELETE FROM segments WHERE (kind, number) NOT IN "
                                    "(SELECT kind, number FROM temp.kept_segments)").rowcount
            stale += self._drop_unseen_files()
            self.db.execute("COMMIT")
            if stale or self.changed:
                self.db.execute("PRAGMA optimize")
        except sqlite3.DatabaseError as error:
            self._abandon(error)
        return self.db is not None

    def _drop_unseen_files(self) -> int:
        """Drop the rows of files this scan did not keep, and say how many.  Nothing to drop when the table holds
        no more rows than this scan kept: the usual rebuild, which then lists nothing.  (A file is kept one by one
        or by its segment, not both; one named in two segments, a symbolic link and its target, is counted twice:
        at worst as many stale rows wait for a later scan, and a stale row is never served, since its file's stat
        and key are checked.)"""
        assert self.db is not None
        rows = self.db.execute("SELECT count(*) FROM files").fetchone()[0]
        if rows <= self.db.execute("SELECT count(*) FROM temp.kept").fetchone()[0] + self.covered:
            return 0
        for (blob,) in self.db.execute("SELECT later FROM segments JOIN temp.kept_segments USING (kind, number)"):
            self.db.executemany("INSERT OR IGNORE INTO temp.kept VALUES (?)", ((file,) for file in orjson.loads(blob)["kept"]))
        return self.db.execute("DELETE FROM files WHERE file NOT IN (SELECT file FROM temp.kept)").rowcount

    def _stop_ahead(self) -> None:
        if self.ahead is not None:
            self.ahead.stop()
            self.ahead = None

    def close(self) -> None:
        """Close the database (uncommitted changes are rolled back: the last saved index stays)."""
        self._stop_ahead()
        for db in (self.db, self._retired):
            if db is not None:
                db.close()
        self.db = self._retired = None

    def _abandon(self, error: sqlite3.DatabaseError) -> None:
        """Scan on without the index (results are computed as without one); a damaged database is deleted.

        ``OperationalError`` is a busy or locked database (another build
        holds it) or a full disk: the file is left alone.
        """
        self._stop_ahead()
        self._retired, self.db = self.db, None  # kept open until close(): segments answered may still be read
        try:  # (its locks released, its changes undone: the last saved index stays, as it did when it was closed)
            self._retired.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        if not isinstance(error, sqlite3.OperationalError):
            _drop_database(self.path)


#: The most articles a scan names as made again (:attr:`ScanIndex.remade`): what a rebuild after an edit or two has;
#: past it, the build does not look for their groups first (:func:`newscorpus.build._write_shards`).
REMADE_AT_MOST = 16

#: Files noted per batch in the index's table of kept rows.
_KEPT_BATCH = 1024

#: Seconds a scan waits for another build that holds the index before scanning without it.
_INDEX_BUSY_SECONDS = 5.0

def files_unchanged(files: list[tuple[str, list[int] | None]]) -> bool:
    """Whether every file a recorded segment read has the stat recorded (:meth:`ScanIndex.segment`): one ``stat``
    per file, and one per pack of cache entries (any name of a pack removed or replaced changes its file's link
    count, which the name checked shows)."""
    packs: set[tuple[int, ...]] = set()
    for path, state in files:
        if state is not None and len(state) == 5:  # a cache entry: one name of a pack stands for all its names
            pack = tuple(state)
            if pack in packs:
                continue
            packs.add(pack)
        if state is None or not _same_state(path, state):
            return False
    return True


class SegmentsChecked:
    """The checks of the index's recorded segments (their checksums, and a ``stat`` of every file they read), made by
    a child process forked as the scan starts, in the order the scan asks for the segments, while the scan does
    the rest: a rebuild's 19,000 ``stat`` calls at 10,000 articles (0.1 s, a tenth of it) leave its path.

    The child is forked before the scan connects to the index, reads it through its own read-only connection (with
    SQLite's locks: a row the scan is writing is not read half-written) and writes one line per segment but the
    scan's first, which the scan checks itself while the child starts (:data:`CHECKED_HERE`): its kind,
    number, the row's checksum and whether the row is whole and every file has its recorded stat.
    :meth:`verdict` waits for a segment's line; the scan takes it for the row it read only when the checksums
    agree, and checks the row itself when there is no line: the child ended early, could not read the row, checked
    another one, or wrote nothing for :data:`_AHEAD_PATIENCE` seconds (it is then stopped).  The child ends with the
    build (:func:`_die_with_parent`) and ignores Ctrl-C, which its build handles.  Linux only (``fork``, and
    ``prctl`` for its end); elsewhere, or when no process can be forked, the scan checks every segment itself.
    (The child checks a file's stat a little earlier than the scan would: a file edited in between is taken as it
    was, and seen by the next build, whose index still has the old stat.)"""

    def __init__(self, pid: int, reader: int) -> None:
        self.pid: int | None = pid
        self.reader: int | None = reader
        self.pending = b""
        self.verdicts: dict[tuple[str, int], tuple[bytes, bool]] = {}

    @classmethod
    def start(cls, path: Path) -> "SegmentsChecked | None":
        if not sys.platform.startswith("linux") or _prctl() is None:
            return None
        parent, uri = os.getpid(), Path(path).resolve().as_uri() + "?mode=ro"  # (made here: the child imports nothing)
        try:
            read, write = os.pipe()
        except OSError:
            return None
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # Ctrl-C at the fork: only the parent's
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return None
        finally:
            if os.getpid() == parent:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if pid == 0:  # the child: never returns into the build
            status = 1
            try:
                gc.disable()  # (no finalizer of the build's objects runs here)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                os.close(read)
                _check_segments(uri, write, parent)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        return cls(pid, read)

    def verdict(self, kind: str, number: int) -> tuple[bytes, bool] | None:
        """``(checksum, whole and unchanged)`` of segment ``number`` of ``kind`` as the child found it, once it has;
        ``None`` when the child has ended, or wrote nothing for :data:`_AHEAD_PATIENCE` seconds, without a line
        for it."""
        key = (kind, number)
        while key not in self.verdicts and self.reader is not None:
            if b"\n" not in self.pending:
                ready, _, _ = select.select([self.reader], [], [], _AHEAD_PATIENCE)
                chunk = os.read(self.reader, 1 << 16) if ready else b""
                if not chunk:  # the end, or no word for too long
                    self.stop()
                    break
                self.pending += chunk
                continue
            line, self.pending = self.pending.split(b"\n", 1)
            try:
                found_kind, found_number, checksum, unchanged = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.stop()
                break
            self.verdicts[(found_kind, found_number)] = (bytes.fromhex(checksum), unchanged)
        return self.verdicts.pop(key, None)

    def stop(self) -> None:
        """End the child (it may still be checking segments the scan no longer asks for) and reap it; once."""
        if self.reader is not None:
            os.close(self.reader)
            self.reader = None
        if self.pid is not None:
            pid, self.pid = self.pid, None
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):  # reaped by someone else (SIGCHLD ignored)
                pass


#: The segment the scan checks itself, not its :class:`SegmentsChecked` child: its first, which it asks for as the
#: child starts (the child starts with the next one: the scan waited 10-25 ms for the first line at 10,000 articles,
#: with segments of 512).
CHECKED_HERE = ("raw", 0)

#: Seconds the scan waits for the next line of its :class:`SegmentsChecked` child before it checks segments itself.
_AHEAD_PATIENCE = 2.0


def _check_segments(uri: str, out: int, parent: int) -> None:
    """The child of :class:`SegmentsChecked`: check each recorded segment but :data:`CHECKED_HERE`, raw files first,
    then the documents of the gold set and of each annotator, in order, and write its line to ``out``.  It never waits for the database
    (its build may hold it, writing, while it waits for a line): it ends, and the build checks the rest itself.
    One statement per row, so it holds no lock while it checks files or writes."""
    _die_with_parent(parent)
    db = sqlite3.connect(uri, uri=True, timeout=0)
    order = db.execute("SELECT kind, number FROM segments ORDER BY kind NOT LIKE 'raw%', kind <> 'documents:gold', kind, number").fetchall()
    order = [segment for segment in order if segment != CHECKED_HERE]
    with os.fdopen(out, "wb", buffering=0) as lines:
        for kind, number in order:
            row = db.execute("SELECT digest, record, files, later, data, checksum FROM segments WHERE kind = ? AND number = ?",
                             (kind, number)).fetchone()
            if row is None:
                continue
            unchanged = row[5] == _segment_checksum(kind, number, *row[:5]) and files_unchanged(orjson.loads(row[2]))
            lines.write(orjson.dumps([kind, number, row[5].hex(), unchanged]) + b"\n")


#: The index's tables.  (Pages of 16 KB read a 10,000-article rebuild's 38 segment rows (of 512) in 7.5 ms instead of 11;
#: a cold build at 100,000 articles with them, and with two segments' rows held at once, peaked 7 MB higher, and
#: both went at once, so which one cost what was not measured: SQLite's default, 4 KB, kept.)
_INDEX_SCHEMA = """
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
PRAGMA temp_store = FILE;
CREATE TABLE IF NOT EXISTS files (file TEXT PRIMARY KEY, record BLOB NOT NULL, digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS segments (kind TEXT NOT NULL, number INTEGER NOT NULL, digest BLOB NOT NULL,
                                     checksum BLOB NOT NULL, record BLOB NOT NULL, data BLOB NOT NULL,
                                     files BLOB NOT NULL, later BLOB NOT NULL, PRIMARY KEY (kind, number));
CREATE TEMP TABLE kept (file TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TEMP TABLE kept_segments (kind TEXT NOT NULL, number INTEGER NOT NULL, PRIMARY KEY (kind, number)) WITHOUT ROWID;
"""

#: Manifest lines, or annotation documents of one set, per segment of the scan (see :meth:`ScanIndex.segment`).  A
#: segment with a changed file is answered file by file (a manifest line parsed and checked, an SQLite row, two
#: ``stat`` calls): 256 where it was 512 until the fortieth session, for a one-file rebuild at 10,000 articles 0.82 s
#: against 0.91 (ten alternating rebuilds each; 128: 0.86), at 100,000 4.17 s against 4.12 (four each).
SEGMENT = 256


def _segment_checksum(kind: str, number: int, digest: bytes, record: bytes, files: bytes, later: bytes, data: bytes) -> bytes:
    """Checksum of a segment's row (:func:`_row_digest`), its parts in one order wherever it is made or checked."""
    return _row_digest(f"{kind}:{number}", digest, record, files, later, data)


def _row_digest(name: str, *parts: bytes) -> bytes:
    """Checksum of an index row: its name (a file, or ``kind:number`` for a segment) and each part, length-prefixed.
    XXH3 (128 bits): it detects damage, which is all it is for (the cache's entries are named by SHA-256), at 14 GB/s
    where BLAKE2b took 0.7: a rebuild's child checked 30 MB of rows at 10,000 articles (:class:`SegmentsChecked`)."""
    digest = xxhash.xxh3_128(name.encode("utf-8"))
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def _drop_database(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# ---------------------------------------------------------------- conversion (one raw file)


def _read_raw(path: Path, limit: int) -> tuple[bytes, str]:
    """At most ``limit + 1`` bytes of the raw file, and the SHA-256 of all of it.  Raises :class:`NotRegularFile` or
    :class:`OSError` for anything but a regular file (a symbolic link could point anywhere, outside the corpus too)."""
    with open_regular(path) as handle:
        data = read_at_most(handle, limit)
        digest = hashlib.sha256(data)
        if len(data) > limit:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return data, digest.hexdigest()


def convert_key(job: Job, raw_sha256: str, file: str, entry: dict) -> str:
    """Cache key of one conversion: raw bytes, converter version, the manifest entry, the code."""
    return key_of({"stage": "convert", "raw": raw_sha256, "file": file, "entry": entry,
                   "converter": job.converter, "code": job.fingerprint})


def convert_task(job: Job, entry: dict) -> dict:
    """Convert the raw file of one manifest entry (or take it from the cache).

    Returns ``{"missing": True}`` when the file does not exist, ``{"refused":
    problem}`` when it is not a regular file (a symbolic link, a FIFO) or
    cannot be read, else the raw file's ``sha256``, the cache ``key``, the
    ``problems`` and a ``summary`` of the article (``None`` when it could not
    be converted).
    """
    from newscorpus.convert import MAX_RAW_BYTES, convert_bytes

    stats = CacheStats()
    path = Path(job.corpus) / "raw" / entry["file"]
    file = f"{job.raw_rel}/{entry['file']}"
    state = file_state(path)
    try:
        raw, sha = _read_raw(path, MAX_RAW_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        return {"missing": True}
    except (OSError, NotRegularFile) as error:
        if path.is_dir() and not path.is_symlink():
            return {"missing": True}  # (as validate says: no raw file of that name)
        return {"refused": refusal(path, file, error).as_dict()}
    if state is not None and file_state(path) != state:
        state = None
    key = convert_key(job, sha, file, entry)
    store = Cache(Path(job.cache))
    hit = store.get("convert", key, stats)
    if hit is not None:
        meta, stored = hit[0], cache_entry_state(store.location("convert", key))
    else:
        article, problems = convert_bytes(raw, file=file, entry=conversion_entry(entry))
        summary = None
        if article is not None:
            problems = problems + article_problems(article, article["provenance"]["rawFile"])
            summary = {
                "id": article["id"],
                "date": article["datePublished"],
                "signature": base64.b64encode(signature(article["body"]["text"]).tobytes()).decode("ascii"),
                "language": article["language"],
                "publisher": article["publisher"]["name"],
                "agency": next((s["name"] for s in article["infoSources"] if s["role"] == "wire"), None),
            }
        meta = {"problems": _problems_out(problems), "summary": summary}
        payload = orjson.dumps(article) if article else b""
        stored = _put(store, "convert", key, meta, payload)
    return {"sha256": sha, "key": key, **meta, "cache": stats, "state": state, "entry": stored}


def load_article(cache_dir: Path, key: str) -> dict:
    """The converted article stored under ``key`` (the scan of this build put it there)."""
    from newscorpus.errors import NewscorpusError

    hit = Cache(cache_dir).get("convert", key, CacheStats())
    if hit is None or not hit[1]:
        raise NewscorpusError(f"cache entry convert/{key[:12]} disappeared during the build; run the build again")
    return orjson.loads(hit[1])


def signature_of(summary: dict) -> np.ndarray:
    """The MinHash signature stored in an article summary."""
    return np.frombuffer(base64.b64decode(summary["signature"]), dtype=np.uint32, count=NUM_PERM)


# ---------------------------------------------------------------- annotation documents (one file)


def document_key(job: Job, text: str, file: str, article_key: str | None) -> str:
    """Cache key of one document check: its text, its file name, the article it was checked against, the code."""
    return key_of({"stage": "document", "text": hashlib.sha256(text.encode("utf-8")).hexdigest(), "file": file,
                   "article": article_key, "code": job.fingerprint})


#: The strings :func:`_shared` has seen, each its own value; emptied past :data:`_SHARED_AT_MOST` (not
#: ``sys.intern``, whose strings Python 3.12 keeps for good: a corpus names ever more people).
_SHARED: dict[str, str] = {}
_SHARED_AT_MOST = 1 << 16


def _shared(value: Any) -> Any:
    """``value``, the same object for equal strings (a worker's batch of results pickles it once): see
    :func:`_summary`."""
    if type(value) is not str:
        return value
    if len(_SHARED) >= _SHARED_AT_MOST:
        _SHARED.clear()
    return _SHARED.setdefault(value, value)


def _summary(data: Any) -> dict:
    """What the corpus-wide checks and the build need from a document, without its spans.

    An entity's id, name, label and Wikidata id, and the annotators' and
    origins' names, are the same strings in many documents: shared, each
    is pickled once per batch of results, not once per document, so the
    main process, which holds about a thousand documents' summaries while
    it checks a set (a segment and the batches in flight), holds one copy
    of each per batch: 4-5 MB less at its peak (docs/scale-history.md)."""
    article = data.get("article") if isinstance(data, dict) else None
    ident = article.get("id") if isinstance(article, dict) else None
    mentions = [mention for _, mention in _items(data, "mentions")]
    quotes = _items(data, "quotes")
    made = mentions + [quote for _, quote in quotes]
    links = [
        [i, j, link.get("article"), link.get("quote")]
        for i, q in quotes if isinstance(q.get("sameAs"), list)
        for j, link in enumerate(q["sameAs"]) if isinstance(link, dict)
    ]
    return {
        "article": ident if isinstance(ident, str) else None,
        "entities": [
            [i, _shared(e["id"]), _shared(e.get("name")), _shared(e.get("label")), _shared(e.get("wikidata"))]
            for i, e in _items(data, "entities") if isinstance(e.get("id"), str)
        ],
        "quote_keys": b"".join(quote_digest(ident, q.get("id")) for _, q in quotes).hex() if isinstance(ident, str) else "",
        "links": links,
        "link_keys": b"".join(quote_digest(article, quote) for _, _, article, quote in links).hex(),
        "annotators": list(map(_shared, sorted({name for item in made if isinstance(name := item.get("annotator"), str)}))),
        "origins": list(map(_shared, sorted({origin for item in made if isinstance(origin := item.get("origin"), str)}))),
        "mentions": len(mentions),
        "quote_count": len(quotes),
    }


def quote_digest(article: Any, quote: Any) -> bytes:
    """8 bytes that stand for quote ``quote`` of article ``article`` (JSON values as a document gives them): what a
    set's checks keep per quote and per ``sameAs`` link, instead of the strings.

    BLAKE2b of the pair's JSON: two different pairs share a digest with
    probability 2^-64 per pair compared.
    """
    return _json_digest([article, quote])


def _json_digest(value: Any, option: int = 0) -> bytes:
    """8 bytes of BLAKE2b of ``value``'s JSON (``option``: orjson's), the same in every process."""
    try:
        text = orjson.dumps(value, option=option)
    except TypeError:  # a lone surrogate, an integer beyond 64 bits (Python's parser reads both)
        text = json.dumps(value, sort_keys=True).encode("utf-8")
    return hashlib.blake2b(text, digest_size=8).digest()


def document_task(job: Job, task: tuple[str, str, str | None, str | None]) -> dict:
    """Check one annotation document against its article (or take the result from the cache).

    ``task`` is ``(path, file, article id, article key)``: the article the
    document is expected to annotate (the one its file name names) and that
    article's cache key (``None`` when it is not in the corpus).  When the
    document names another article the result is ``{"needs": id}``, and the
    caller asks again with that article.
    """
    path, file, expected, article_key = task
    stats = CacheStats()
    state = file_state(Path(path))
    text, read_problems = read_text(Path(path), file, MAX_JSON_BYTES)
    if text is None:
        return {"problems": _problems_out(read_problems), "summary": None, "cache": stats}
    if state is not None and file_state(Path(path)) != state:
        state = None
    key = document_key(job, text, file, article_key)
    store = Cache(Path(job.cache))
    hit = store.get("document", key, stats)
    if hit is not None:
        meta, stored = hit[0], cache_entry_state(store.location("document", key))
    else:
        data, parse_problems = parse_json(text, file)
        payload = b""
        if parse_problems:
            meta = {"problems": _problems_out(parse_problems), "summary": None}
        else:
            summary = _summary(data)
            if summary["article"] != expected:
                return {"needs": summary["article"]}
            article = load_article(Path(job.cache), article_key) if article_key else None
            problems = with_lines(document_problems(data, file, article["body"]["text"] if article else None), text)
            meta = {"problems": _problems_out(problems), "summary": summary}
            if article is not None and os.path.dirname(path) == job.gold and not errors(problems):
                from newscorpus.build import article_line, pack_line

                meta["lines"], payload = pack_line(article_line(article, data))  # what writing its group needs
        stored = _put(store, "document", key, meta, payload)
    # not the rows ("lines"): they stay in the cache entry for the shards
    return {"problems": meta["problems"], "summary": meta["summary"], "key": key, "cache": stats, "state": state,
            "entry": stored}


# ---------------------------------------------------------------- corpus-wide checks, streamed


class Spilled:
    """Fixed-size numbers appended to an unnamed temporary file (gone when closed or when the process ends), read back
    in chunks, as numpy arrays: what the corpus checks collect per document and need only at the end.  Of bytes
    (``"u1"``), it also keeps pieces read back by their span (:meth:`keep`, :meth:`kept`): a build's record of its
    output (:class:`newscorpus.build.WrittenShards`)."""

    BUFFERED = 1 << 16  # bytes

    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype)
        self._file: Any = None
        self._pending = bytearray()
        self._written = 0  # bytes in the file

    def extend(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``, whole numbers of this file's ``dtype``."""
        self._pending += data
        if len(self._pending) >= self.BUFFERED:
            self._flush()

    def append_numbers(self, values: Iterable[int]) -> None:
        """Append ``values``, as numbers of this file's ``dtype``."""
        self.extend(np.fromiter(values, dtype=self.dtype).tobytes())

    def _flush(self) -> None:
        if self._pending:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="newscorpus-checks-")
            self._file.write(self._pending)
            self._written += len(self._pending)
            self._pending.clear()

    def __len__(self) -> int:
        """How many numbers were appended."""
        return (self._written + len(self._pending)) // self.dtype.itemsize

    def keep(self, data: bytes | bytearray | memoryview) -> list[int]:
        """Append the bytes ``data``; where they are, ``[start, length]`` in bytes (:meth:`kept`)."""
        start = self._written + len(self._pending)
        self.extend(data)
        return [start, memoryview(data).nbytes]

    def kept(self, span: list[int]) -> bytes:
        """The bytes :meth:`keep` put at ``span``."""
        start, length = span
        if start >= self._written:  # not written yet
            return bytes(self._pending[start - self._written:start - self._written + length])
        self._flush()
        self._file.flush()
        return os.pread(self._file.fileno(), length, start)

    def __iter__(self) -> Iterator[np.ndarray]:
        """Everything appended, in order, :data:`READ_AT_ONCE` numbers at a time: a cache entry's payload in pieces
        (:data:`newscorpus.cache.Pieces`), each time it is iterated."""
        return self.chunks(READ_AT_ONCE)

    def chunks(self, size: int) -> Iterator[np.ndarray]:
        """Everything appended, in order, ``size`` numbers at a time."""
        self._flush()
        if self._file is None:
            return
        self._file.seek(0)
        try:
            while len(chunk := np.fromfile(self._file, dtype=self.dtype, count=size)):
                yield chunk
        finally:
            self._file.seek(0, os.SEEK_END)

    def close(self) -> None:
        """Remove the file: what was kept is gone (the object is empty again)."""
        if self._file is not None:
            self._file.close()
        self._file, self._pending, self._written = None, bytearray(), 0


def entity_keys(entities: Sequence[str]) -> np.ndarray:
    """What stands for each entity id in a set's checks: 16 bytes of BLAKE2b of its UTF-8 (a ``S16`` array).  The
    same in every process, so a segment's keys are recorded with it (:func:`entity_table`) and never made again; two
    ids share one with probability 2^-128 per pair, as the cache trusts its keys."""
    blake2b = hashlib.blake2b
    return np.array([blake2b(entity.encode("utf-8", "surrogatepass"), digest_size=16).digest() for entity in entities],
                    dtype="S16").reshape(len(entities))


def _canonical(value: Any) -> Any:
    """``value`` (a JSON value) with equal values made the same JSON: numbers that are equal (``1``, ``1.0``,
    ``true``) as one, keys in order (Python's ``==`` on what a document gives)."""
    if isinstance(value, bool | int | float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"\u0000float": repr(value)}  # (orjson writes them as null)
        return int(value) if value == int(value) else value
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    return value


def facts_digest(facts: Sequence[Any]) -> bytes:
    """8 bytes that stand for an entity's facts (name, label, Wikidata id): BLAKE2b of their JSON, the same in every
    process (a segment's are recorded with it); equal facts (``==``) give equal digests, different facts the same
    one with probability 2^-64."""
    values = list(facts)
    if not all(value is None or type(value) is str for value in values):
        values = _canonical(values)
    return _json_digest(values, orjson.OPT_SORT_KEYS)


class FirstDefinitions:
    """The first definition of each entity of a set (its facts, and the file that gave it), compactly: its key
    (:func:`entity_keys`, 16 bytes, in a sorted array with its position: 4), a digest of its facts
    (:func:`facts_digest`, 8 bytes), and where its facts and file are kept, in a temporary file (16 bytes), read
    back only to report a conflict.  A dict of the facts and files took 350 bytes an entity, and a corpus of news
    names hundreds of thousands of entities (the synthetic one, about 1,100).  Keys, not names, are searched: a
    recorded segment gives its entities' keys and digests as bytes, and nothing of it is decoded unless one of its
    entities is new to the set or defined otherwise (decoding and searching 18 segments' names was 110 ms of a
    10,000-article rebuild)."""

    def __init__(self) -> None:
        self._keys = np.zeros(0, dtype="S16")  # sorted
        self._at = np.zeros(0, dtype=np.int32)  # the position of each of them
        self.digests = bytearray()
        self.spans = array("q")
        self.spill = Spilled("u1")

    def __len__(self) -> int:
        return len(self.digests) // 8

    def positions(self, keys: np.ndarray) -> np.ndarray:
        """The position of each of ``keys`` (-1: not defined yet), with one search."""
        if not len(self._keys) or not len(keys):
            return np.full(len(keys), -1, dtype=np.int64)
        places = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[places] == keys, self._at[places].astype(np.int64), -1)

    def digests_at(self, positions: np.ndarray) -> np.ndarray:
        """The facts' digests of the entities at ``positions`` (as ``S8``)."""
        return np.frombuffer(self.digests, dtype="S8")[positions] if len(positions) else np.zeros(0, dtype="S8")  # (a copy)

    def add(self, keys: np.ndarray, digests: bytes, definitions: Iterable[tuple[Sequence[Any], str]]) -> None:
        """Note the first definition ``(facts, file)`` of each entity of ``keys`` (none defined yet, no two equal),
        with its facts' ``digests`` (8 bytes each, in order)."""
        start = len(self)
        order = np.argsort(keys, kind="stable")
        places = np.searchsorted(self._keys, keys[order])
        self._keys = np.insert(self._keys, places, keys[order])
        self._at = np.insert(self._at, places, (start + order).astype(np.int32))
        self.digests += digests
        for facts, file in definitions:
            self.spans.extend(self.spill.keep(pickle.dumps((tuple(facts), file), protocol=pickle.HIGHEST_PROTOCOL)))

    def first(self, at: int) -> tuple[tuple, str]:
        """The facts and file of the entity at position ``at``."""
        return pickle.loads(self.spill.kept(self.spans[2 * at:2 * at + 2]))

    def close(self) -> None:
        self.spill.close()


@dataclass
class SetChecks:
    """The corpus checks of :data:`newscorpus.validate.CORPUS_CHECKS`, fed one segment of document summaries at a time (:meth:`add_segment`).

    What they keep, per document of the set: for each quote of a document that
    names an article, and for each ``sameAs`` link, 8 bytes (:func:`quote_digest`);
    for each link, where it is (its document's number in the set, its place
    among the document's links: 8 bytes), so an unresolved link can be named.
    These go to temporary files (:class:`Spilled`, 14 MB at 100,000 articles), read back when the links are
    resolved, a part of the quotes' digests at a time (:meth:`_unresolved_links`).  The first definition of each
    entity id: :class:`FirstDefinitions`.
    """

    problems: list[Problem] = field(default_factory=list)
    firsts: FirstDefinitions = field(default_factory=FirstDefinitions)
    quotes: Spilled = field(default_factory=lambda: Spilled("<u8"))
    links: Spilled = field(default_factory=lambda: Spilled("<u8"))
    link_documents: Spilled = field(default_factory=lambda: Spilled("<u4"))
    link_places: Spilled = field(default_factory=lambda: Spilled("<u4"))
    #: the articles whose document in the set could not be read, by its file's name: links into them are not
    #: reported (as :func:`newscorpus.validate.check_quote_links`); a few, where a contribution broke a file
    unreadable: set[str] = field(default_factory=set)

    def add_segment(self, start: int, columns: dict, table: dict, whole: Callable[[], Iterator[tuple[str, list]]],
                    positions: list[int]) -> None:
        """Check a segment of documents, just checked or recorded by the index: ``columns`` (its
        :func:`document_columns`; its first document is the set's ``start``-th; ``positions``: the index's position
        of each one's article, -1 for none) and the segment's :func:`entity_table`, each entity once.  When
        an entity's first definition in the segment differs from its first in the set, every definition must be
        reported: ``whole()`` gives each document's entities.  The quotes' digests of the segment are spilled at
        once; the entities known before are compared with theirs only (a set's documents name the same few thousand
        entities: 36,000 comparisons at 10,000 articles, most of them of entities seen before)."""
        files, articles = columns["files"], columns["articles"]
        unknown = [i for i, (ident, at) in enumerate(zip(articles, positions)) if ident is not None and at < 0]
        for i in sorted({*unknown, *columns["named_otherwise"]}):  # (in order, as document by document)
            ident = articles[i]
            if positions[i] < 0:
                self.problems.append(Problem("article-unknown", files[i], "/article/id", f"no article {ident!r} in the corpus manifest"))
            if os.path.basename(files[i]) != f"{ident}.json":
                self.problems.append(Problem("annotation-file-name", files[i], "/article/id", f"the document of article {ident!r} must be named {ident}.json"))
        for i, link_keys in columns["links"]:
            keys = bytes.fromhex(link_keys)
            self.links.extend(keys)
            self.link_documents.append_numbers(itertools.repeat(start + i, len(keys) // 8))
            self.link_places.append_numbers(range(len(keys) // 8))
        self.quotes.extend(bytes.fromhex(columns["quote_keys"]))
        firsts = self.firsts
        keys = np.frombuffer(table["keys"], dtype="S16")
        digests = np.frombuffer(table["digests"], dtype="S8")
        found = firsts.positions(keys)
        known = found >= 0
        if (firsts.digests_at(found[known]) != digests[known]).any():
            for file, defined in whole():
                self._entities(file, defined)
            return
        if not known.all():
            new = np.flatnonzero(~known)
            definitions = table["definitions"]()
            firsts.add(keys[new], digests[new].tobytes(), ((definitions[i][1], definitions[i][2]) for i in new.tolist()))
        for entity, facts, file, i in table["deviations"]:
            other, where = firsts.first(int(firsts.positions(entity_keys([entity]))[0]))
            self.problems.append(Problem("entity-conflict", file, pointer("entities", i), f"entity {entity!r} is {tuple(facts)} here but {other} in {where}"))

    def _entities(self, file: str, found: list) -> None:
        """The checks of one document's entities (``found``: its summary's) against each entity's first definition
        in the set, this document's own first ones among them."""
        firsts = self.firsts
        added: dict[str, tuple[bytes, tuple]] = {}  # this document's first definitions: added at once, at its end
        new: list[int] = []
        keys = entity_keys([row[1] for row in found])
        for n, ((i, entity, name, label, wikidata), at) in enumerate(zip(found, firsts.positions(keys).tolist())):
            facts, digest = (name, label, wikidata), facts_digest((name, label, wikidata))
            if at >= 0:
                if firsts.digests[8 * at:8 * at + 8] == digest:
                    continue
                other, where = firsts.first(at)
            elif entity not in added:
                added[entity] = (digest, facts)
                new.append(n)
                continue
            elif added[entity][0] == digest:
                continue
            else:
                other, where = added[entity][1], file
            self.problems.append(Problem("entity-conflict", file, pointer("entities", i), f"entity {entity!r} is {facts} here but {other} in {where}"))
        if new:  # (one entity at a time copied the sorted keys each time: 0.4 ms an entity at 300,000)
            firsts.add(keys[new], b"".join(digest for digest, _ in added.values()), [(facts, file) for _, facts in added.values()])

    def finish(self, links_of: Callable[[int], tuple[str, list]]) -> list[Problem]:
        """Resolve the sameAs links and return every problem found.  ``links_of(number)``: the file and the links
        (``[i, j, article, quote]``) of the set's ``number``-th document, asked only for a link that is unresolved."""
        unresolved = self._unresolved_links()
        if len(unresolved):
            numbers, places = (_picked(spilled, unresolved).tolist() for spilled in (self.link_documents, self.link_places))
            documents: dict[int, tuple[str, list]] = {}
            for number, place in zip(numbers, places):
                if number not in documents:
                    documents = {number: links_of(number)}
                file, links = documents[number]
                i, j, article, target = links[place]
                if article in self.unreadable:  # its document's own problem says what to fix (validate.check_quote_links)
                    continue
                self.problems.append(Problem("quote-link-unresolved", file, pointer("quotes", i, "sameAs", j), f"no quote {target!r} in the annotations of article {article!r}"))
        for spilled in (self.quotes, self.links, self.link_documents, self.link_places, self.firsts):
            spilled.close()
        return self.problems

    def _unresolved_links(self) -> np.ndarray:
        """The places (in the order appended) of the links whose target is no quote of the set, in order.

        The digests are split by their value modulo a number of parts, so that
        one part of the quotes' digests, sorted, is in memory at a time
        (:data:`RESOLVED_AT_ONCE`); the files are read once per part."""
        if not self.links:
            return np.zeros(0, dtype=np.int64)
        parts = max(1, -(-len(self.quotes) // RESOLVED_AT_ONCE))
        unresolved = []
        for part in range(parts):
            known = np.concatenate([chunk[chunk % parts == part] for chunk in self.quotes.chunks(READ_AT_ONCE)] or [np.zeros(0, "<u8")])
            known.sort()
            offset = 0
            for chunk in self.links.chunks(READ_AT_ONCE):
                mine = np.flatnonzero(chunk % parts == part)
                unresolved.append(offset + mine[~in_sorted(known, chunk[mine])])
                offset += len(chunk)
            del known
        return np.sort(np.concatenate(unresolved))


#: How many quote digests :meth:`SetChecks.finish` sorts at a time (8 bytes each), and how many numbers it reads from
#: a spilled file at a time: what it holds does not grow with the corpus (a million quotes' digests were 8 MB, and
#: sorting them and looking up the links took 15 MB more of the main process at 100,000 articles; a part of 262,144,
#: gathered from the chunks, 4 MB, was its peak: the part's pieces and their copy made the peak grow with the corpus up
#: to 1,000,000 quotes, and the sorted part is no quicker to search than a smaller one).
RESOLVED_AT_ONCE = 1 << 16
READ_AT_ONCE = 1 << 16


def _picked(spilled: Spilled, places: np.ndarray) -> np.ndarray:
    """The numbers of ``spilled`` at ``places`` (sorted), read a chunk at a time."""
    picked, offset = [], 0
    for chunk in spilled.chunks(READ_AT_ONCE):
        lo, hi = np.searchsorted(places, [offset, offset + len(chunk)]).tolist()
        picked.append(chunk[places[lo:hi] - offset])
        offset += len(chunk)
    return np.concatenate(picked) if picked else np.zeros(0, dtype=spilled.dtype)


def _differing(firsts: dict[str, tuple[tuple, str]], file: str, found: list) -> Iterator[tuple[int, str, tuple]]:
    """Note each entity's first definition ``(facts, file)`` in ``firsts``; yield ``(index, entity, facts)`` of each
    definition in ``found`` (a summary's entities) that differs from its entity's first."""
    for i, entity, name, label, wikidata in found:
        facts = (name, label, wikidata)
        if firsts.setdefault(entity, (facts, file))[0] != facts:
            yield i, entity, facts


def entity_table(rows: list[dict]) -> dict:
    """The entities of a segment of documents, each once: the keys (:func:`entity_keys`) and facts' digests
    (:func:`facts_digest`) of their first definitions, as bytes; a function that gives those definitions
    ``[entity, facts, file]``, in the same order; and the definitions that differ from their entity's first
    ``[entity, facts, file, index]``, in order.  What the index records of the segment (:func:`_record_documents`)."""
    first: dict[str, tuple[tuple, str]] = {}
    deviations = [[entity, facts, row["file"], i] for row in rows if row["summary"] is not None
                  for i, entity, facts in _differing(first, row["file"], row["summary"]["entities"])]
    return {"keys": entity_keys(list(first)).tobytes(), "digests": b"".join(facts_digest(facts) for facts, _ in first.values()),
            "definitions": lambda: [[entity, list(facts), file] for entity, (facts, file) in first.items()],  # (made when asked)
            "deviations": deviations}


#: At most this many answers of the index are held while the items between them wait for the workers
#: (each is a file's whole record, a few KB as Python objects): the bound on the scan's lookahead.
_KNOWN_WINDOW = 2048


def _in_order(mapper: Mapper, fn: Callable[[T], dict], items: Iterable[T], known: Callable[[T], dict | None],
              path_of: Callable[[T], str | None], weight: Callable[[T], int]) -> Iterator[tuple[T, dict, bool]]:
    """``(item, result, from_index)`` in input order: ``known(item)`` when it answers, else ``fn(item)`` on ``mapper``.

    The items the index does not answer go to one map as a stream (``path_of``:
    each item's file, read ahead: :func:`_reading_ahead`), looked up as the
    map asks for them, so the workers always have the next ones: a map per
    window of 4,096 items drained the pool at the end of each, and the
    cores idled while the next window was looked up (at 100,000 articles,
    about 50 times a build).  A map pulls items until it has its batches
    for the workers; the index's answers met on the way are held until their
    turn, and when :data:`_KNOWN_WINDOW` of them are held (an answer counts
    ``weight(item)``: how many files' records it holds) the map is given
    no more items: it ends once the ones it has are done, and the next items
    go to a new one.  Without that bound a rebuild with one changed file
    held the index's answers for every file before it (1.5 GB at 100,000
    articles).
    """
    iterator = iter(items)
    exhausted = False
    held = 0
    pending: deque[tuple[T, dict | None, int]] = deque()  # in input order; None: its result comes from the map

    def todo() -> Iterator[T]:
        nonlocal exhausted, held
        for item in iterator:
            hit = known(item)
            count = 0 if hit is None else weight(item)
            pending.append((item, hit, count))
            if hit is None:
                yield item
            else:
                held += count
                if held >= _KNOWN_WINDOW:
                    return
                if hit is not _PASSING:
                    yield _ANSWERED  # (to the read-ahead: the items it holds go to the map now)
        exhausted = True

    def answers() -> Iterator[tuple[T, dict, bool]]:
        """The answers at the front of ``pending``: up to the next item mapped, or all that are left after a map."""
        nonlocal held
        while pending and pending[0][1] is not None:
            item, hit, count = pending.popleft()
            held -= count
            yield item, hit, True

    while not exhausted:
        stream = _reading_ahead(todo(), path_of)  # (pulled, it fills pending)
        first = next(stream, _NO_ITEM)  # (none: no map call)
        for result in mapper.map(fn, itertools.chain([first], stream)) if first is not _NO_ITEM else ():
            yield from answers()
            yield pending.popleft()[0], result, False
        yield from answers()


#: What :func:`_in_order` finds when no item is left to map (and :meth:`ProcessMapper.map` after the last item).
_NO_ITEM = object()

#: What :func:`_in_order`'s items say to :func:`_reading_ahead` when the index answered one: not an item to map.
_ANSWERED = object()

#: What a ``known`` of :func:`_in_order` answers for an item that is neither mapped nor answered by the index (the
#: end of a segment whose files were mapped, :func:`_segmented`): the read-ahead goes on.  Never changed.
_PASSING: dict = {}


#: Marks the end of a segment in the stream :func:`_segmented` maps.
_END = ("end of segment",)


def _on_item(fn: Callable[[T], R], tagged: tuple[int, T]) -> R:
    """``fn`` of a ``(segment number, item)`` pair (what the workers run for :func:`_segmented`)."""
    return fn(tagged[1])


def _segmented(mapper: Mapper, fn: Callable[[T], dict], segments: Iterable[tuple[S, list[T]]],
               known: Callable[[T], dict | None], path_of: Callable[[T], str | None]) -> Iterator[tuple[S, list[tuple[T, dict, bool]]]]:
    """Each segment with ``(item, result, from_index)`` of its items (:func:`_in_order`), in order, all segments'
    items mapped as one stream: the workers go on with the next segments' items while one segment is being
    recorded (a map per segment drained the pool at every segment: 390 times at 100,000 articles)."""
    held: dict[int, S] = {}
    whole: set[int] = set()  # the segments with nothing to map: answered whole by the index, their records held

    def tagged() -> Iterator[tuple[int, Any]]:
        for number, (segment, items) in enumerate(segments):
            held[number] = segment
            if not items:
                whole.add(number)
            for item in items:
                yield number, item
            yield number, _END

    def answer(pair: tuple[int, Any]) -> dict | None:  # (a segment answered whole: by the index)
        if pair[1] is _END:
            return {} if pair[0] in whole else _PASSING
        return known(pair[1])

    def weight(pair: tuple[int, Any]) -> int:  # a segment answered whole holds the records of its files
        return SEGMENT if pair[1] is _END and pair[0] in whole else 1

    done: list[tuple[T, dict, bool]] = []
    for (number, item), result, indexed in _in_order(mapper, partial(_on_item, fn), tagged(), answer,
                                                     lambda pair: path_of(pair[1]), weight):
        if item is _END:
            whole.discard(number)
            yield held.pop(number), done
            done = []
            release_free_memory()
        else:
            done.append((item, result, indexed))


#: How many items ahead of the workers the scan asks the kernel to read their files (:func:`_reading_ahead`).
READ_AHEAD = 512


def _reading_ahead(items: Iterable[T], path_of: Callable[[T], str | None]) -> Iterator[T]:
    """``items``, as the mapper takes them, each one's file announced to the kernel (``POSIX_FADV_WILLNEED``) when
    it is taken from ``items``, :data:`READ_AHEAD` places before the mapper has it, so it is read from disk while
    the workers are busy with the ones before.

    A worker reads its file and blocks until it is there: a corpus not in
    the page cache (4 GB at 100,000 articles, read at about 130 MB/s here)
    left the cores idle for that time.  The main process announces each
    file once, with the flags readers use (no link followed, a FIFO not
    waited for) and only if it is a regular file; it never reads it.

    Items wait here only while those after them are to be mapped too: when
    ``items`` says the index answered one (:data:`_ANSWERED`, from
    :func:`_in_order`), the items waiting go on at once.  A rebuild's changed
    file waited for the scan to look up the files after it (up to its window
    of the index's answers) before a worker had it.
    """
    ahead: deque[T] = deque()
    for item in items:
        if item is _ANSWERED:  # the scan goes on with what the index answers: those waiting go to the workers now
            while ahead:
                yield ahead.popleft()
            continue
        _announce(path_of(item))
        ahead.append(item)
        if len(ahead) > READ_AHEAD:
            yield ahead.popleft()
    yield from ahead


def _announce(path: str | None) -> None:
    """Ask the kernel to read ``path`` into the page cache, in the background (nothing when it cannot)."""
    if path is None or not hasattr(os, "posix_fadvise"):
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


@cache
def _indexed_hit(namespace: str) -> CacheStats:
    """One hit in ``namespace`` (one shared instance: it is only ever merged into others, never changed)."""
    return CacheStats(hits={namespace: 1})


# ---------------------------------------------------------------- the scan


class SignatureFile:
    """The MinHash signatures of the scanned articles, in order, off the heap: an unnamed temporary file (gone when
    closed or when the process ends), written a few hundred signatures at a time, each such chunk by column group
    of :data:`newscorpus.clusters.COLUMN_GROUPS` (each group's columns of the chunk's signatures, then the next
    group's).  The wire clusters read them one group at a time (12 bytes per article, a piece of each chunk), so
    neither the scan nor the clusters hold the 512 bytes per article (51 MB at 100,000 articles).  (A file per
    group, as before, cost a rebuild 25 ms to make the 43 files, and 43 writes per chunk.)"""

    BUFFERED = 512

    def __init__(self) -> None:
        self._file: Any = None
        self._chunks: list[tuple[int, int]] = []  # (where in the file, signatures) of each chunk written
        self._pending: list[bytes] = []
        self._pending_count = 0
        self.count = 0

    def extend(self, signatures: bytes) -> None:
        """Add the signatures in ``signatures``, one after the other (``4 * NUM_PERM`` bytes each)."""
        count = len(signatures) // (4 * NUM_PERM)
        self._pending.append(signatures)
        self._pending_count += count
        self.count += count
        if self._pending_count >= self.BUFFERED:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="newscorpus-signatures-")
        block = np.frombuffer(b"".join(self._pending), dtype=np.uint32).reshape(self._pending_count, NUM_PERM)
        at = self._file.tell()  # (reads are at their own offsets: the file's position stays at its end)
        self._file.write(b"".join(np.ascontiguousarray(block[:, lo:hi]).tobytes() for lo, hi in COLUMN_GROUPS))
        self._chunks.append((at, self._pending_count))
        self._pending.clear()
        self._pending_count = 0

    def __len__(self) -> int:
        return self.count

    def _pieces(self, lo: int, hi: int) -> Iterator[bytes]:
        """The bytes of columns ``lo:hi`` (one of the column groups) of every signature, a chunk at a time."""
        self._flush()
        if self._file is not None:
            self._file.flush()
            for at, count in self._chunks:  # the groups before this one fill the chunk's first lo columns
                yield os.pread(self._file.fileno(), 4 * count * (hi - lo), at + 4 * count * lo)

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """Columns ``lo:hi`` (one of the column groups) of every signature, read from the file."""
        return np.frombuffer(b"".join(self._pieces(lo, hi)), dtype=np.uint32).reshape(self.count, hi - lo)

    def matrix(self) -> np.ndarray:
        """All signatures as one ``(n, NUM_PERM)`` uint32 array."""
        return np.hstack([self.columns(lo, hi) for lo, hi in COLUMN_GROUPS])

    def update(self, digest: Any) -> None:
        """Feed every signature to ``digest`` (a hashlib object), one column group at a time (each group's columns of
        every signature, in order: the same bytes however the signatures were written in chunks), a piece at a
        time, not as arrays (the columns and their bytes were 14 MB at 100,000 articles)."""
        for lo, hi in COLUMN_GROUPS:
            for piece in self._pieces(lo, hi):
                digest.update(piece)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file, self._chunks, self._pending, self._pending_count = None, [], [], 0


class KeyFile:
    """Cache keys (32 bytes each) in order: in memory up to :attr:`IN_MEMORY` of them, as a table of names is
    (:data:`newscorpus.names._IN_MEMORY`), then in an unnamed temporary file, appended :attr:`BUFFERED` at a time and
    read back one key at a time (``os.pread``), so what the main process holds for them stops growing with the
    corpus (3.2 MB for the articles' and 2.9 MB for the gold documents' at 100,000 articles)."""

    WIDTH = 32
    IN_MEMORY = 1 << 15
    BUFFERED = 2048
    #: How far apart two keys in the file :meth:`hex_at` reads with one call may be (a gap of 64 keys: 2 KB read for nothing).
    GAP = 64
    #: How many keys' bytes :meth:`hex_at` reads with one call at most (128 KB).
    RUN = 4096

    def __init__(self) -> None:
        self._file: Any = None
        self._filed = 0  # keys in the file, before those of the buffer
        self._held = bytearray()

    def __len__(self) -> int:
        return self._filed + len(self._held) // self.WIDTH

    def extend(self, keys: bytes) -> None:
        """Add keys, their bytes one after the other."""
        self._held += keys
        held = len(self._held) // self.WIDTH
        if held > (self.BUFFERED if self._file is not None else self.IN_MEMORY):
            if self._file is None:  # unbuffered: what is written is there for pread
                self._file = tempfile.TemporaryFile(prefix="newscorpus-keys-", buffering=0)
            self._file.write(self._held)
            self._filed += held
            self._held = bytearray()

    def __getitem__(self, at: int) -> bytes:
        if not 0 <= at < len(self):
            raise IndexError("key index out of range")
        if at >= self._filed:
            at -= self._filed
            return bytes(self._held[self.WIDTH * at:self.WIDTH * at + self.WIDTH])
        return os.pread(self._file.fileno(), self.WIDTH, self.WIDTH * at)

    def hex_at(self, positions: Iterable[int]) -> list[str]:
        """The keys at ``positions``, in hexadecimal.  Those in the file are read a run of neighbours at a time: one
        ``pread`` for positions at most :attr:`GAP` apart and :attr:`RUN` in all (a segment's documents and a
        group's articles are mostly neighbours), where a call per key was 0.7 s of a one-file rebuild at 100,000
        articles."""
        positions = list(positions)
        filed = sorted({at for at in positions if 0 <= at < self._filed})
        width, read = self.WIDTH, {}
        first = 0
        while first < len(filed):
            last, low = first, filed[first]
            while last + 1 < len(filed) and filed[last + 1] - filed[last] <= self.GAP and filed[last + 1] - low < self.RUN:
                last += 1
            data = os.pread(self._file.fileno(), width * (filed[last] - low + 1), width * low)
            for at in filed[first:last + 1]:
                read[at] = data[width * (at - low):width * (at - low + 1)]
            first = last + 1
        if positions and not read and self._filed <= min(positions) and max(positions) < len(self):
            # all in memory (a corpus of 10,000 articles): each key's bytes sliced, not a call a key
            width, held, filed = self.WIDTH, self._held, self._filed
            return [held[width * (at - filed):width * (at - filed + 1)].hex() for at in positions]
        return [read[at].hex() if at in read else self[at].hex() for at in positions]


class Coded(collections.abc.Sequence):
    """A sequence of values of which few are distinct (the articles' dates; each document's annotators and origins),
    each item kept as the number of its value's first appearance: 2 bytes an item, 4 once there are more than 65,536
    values, where a list of them held an 8-byte pointer an item (0.8 MB for the dates at 100,000 articles).  Reads as
    the sequence of values (``coded[at]``, ``len``, iteration)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._numbers: dict[Any, int] = {}
        self.codes = array("H")

    def _number(self, value: Any) -> int:
        number = self._numbers.get(value)
        if number is None:
            number = self._numbers[value] = len(self.values)
            self.values.append(value)
        return number

    def extend(self, values: Iterable[Any]) -> None:
        values = values if isinstance(values, (list, tuple)) else list(values)
        try:  # (most values have been seen: a dict lookup each, not a call each)
            numbers = [self._numbers[value] for value in values]
        except KeyError:
            numbers = [self._number(value) for value in values]
        if self.codes.typecode == "H" and len(self.values) > 0x10000:
            self.codes = array("I", self.codes)
        self.codes.extend(numbers)

    def append(self, value: Any) -> None:
        self.extend((value,))

    def __getitem__(self, at: int) -> Any:
        return self.values[self.codes[at]]

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[Any]:
        return map(self.values.__getitem__, self.codes)

    def update(self, digest: Any) -> None:
        """Feed the sequence to ``digest`` (a hashlib object), delimited, the same bytes on every machine: equal
        sequences give equal bytes (values are numbered in the order they first appear), different ones different
        bytes."""
        digest.update(orjson.dumps(self.values))
        digest.update(len(self.codes).to_bytes(8, "little"))
        digest.update(np.asarray(self.codes, dtype="<u4").tobytes())


@dataclass
class ArticleIndex:
    """What the main process keeps per converted article (in manifest order), compactly: its id, its cache key
    (32 bytes), its date (:class:`Coded`: few distinct), its position; its 512-byte signature goes to a
    :class:`SignatureFile`.

    Answers ``ident in index`` and ``index.get(ident)`` (its cache key), like
    a dict from ids to keys.
    """

    ids: NameTable = field(default_factory=NameTable)  # with their positions: 24 bytes per id besides its UTF-8
    dates: Coded = field(default_factory=Coded)
    digests: KeyFile = field(default_factory=KeyFile)
    signatures: SignatureFile = field(default_factory=SignatureFile)
    languages: set[str] = field(default_factory=set)
    publishers: dict[str, int] = field(default_factory=dict)
    agencies: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, summary: dict, signature: bytes) -> None:
        """Record one converted article, with its signature's bytes."""
        self.ids.add(summary["id"])
        self.digests.extend(bytes.fromhex(key))
        self.dates.append(summary["date"])
        self.signatures.extend(signature)
        self.languages.add(summary["language"])
        self.publishers[summary["publisher"]] = self.publishers.get(summary["publisher"], 0) + 1
        agency = summary["agency"] or "none"
        self.agencies[agency] = self.agencies.get(agency, 0) + 1

    def add_segment(self, columns: dict) -> None:
        """Record the converted articles of a segment at once, from its :func:`_segment_columns`."""
        self.ids.extend(columns["articles"])
        self.digests.extend(bytes.fromhex(columns["keys"]))
        self.dates.extend(columns["dates"])
        self.signatures.extend(columns["signatures"])
        self.languages.update(columns["languages"])
        for counts, more in ((self.publishers, columns["publishers"]), (self.agencies, columns["agencies"])):
            for name, count in more.items():
                counts[name] = counts.get(name, 0) + count

    def __contains__(self, ident: object) -> bool:
        return ident in self.ids

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, ident: str) -> str | None:
        """The cache key of article ``ident``, or ``None``."""
        at = self.ids.find(ident)
        return None if at < 0 else self.key(at)

    def positions(self, idents: list[Any]) -> list[int]:
        """The position of each article of ``idents`` (-1: none, or not a string), with one search for all."""
        named = [ident for ident in idents if isinstance(ident, str)]
        found = iter(self.ids.find_many(named))
        return [next(found) if isinstance(ident, str) else -1 for ident in idents]

    def key(self, at: int) -> str:
        """The cache key of the article at position ``at``."""
        return self.digests[at].hex()

    def keys_at(self, positions: Iterable[int]) -> list[str]:
        """The cache keys of the articles at ``positions``."""
        return self.digests.hex_at(positions)

    def signature_matrix(self) -> np.ndarray:
        """All signatures as one ``(n, NUM_PERM)`` uint32 array (read from their file)."""
        return self.signatures.matrix()


#: What :attr:`GoldIndex.rows` notes of a document: it has mentions (rows of the 'entities' config), quotes (of 'quotes').
HAS_MENTIONS, HAS_QUOTES = 1, 2


@dataclass
class GoldIndex:
    """The usable gold documents, compactly: per article (by its position in the :class:`ArticleIndex`) the number of
    its document; per document its cache key (32 bytes), whether it has mentions and quotes, its annotators and
    origins (a :class:`Coded` pair of tuples: few distinct).  Its path is the gold directory's plus ``<article id>.json``
    (the name a usable document has), unless noted otherwise.

    Answers ``gold.of_article[at]`` (the number of the usable document of the index's ``at``-th article, or -1),
    then that document's ``rows`` and ``located_many`` (path, key), and ``len(gold)``.
    About 40 bytes per document where a dict of documents with their strings took 500; 7 bytes besides its key,
    which goes to disk with the others past 32,768 (its figures and people were 16 bytes until the thirty-second
    session: 1.5 MB at 100,000 articles).
    """

    index: ArticleIndex
    directory: str = ""
    rel: str = ""
    of_article: array = field(default_factory=lambda: array("i"))
    keys: KeyFile = field(default_factory=KeyFile)
    #: per document, the rows it gives besides its article's: :data:`HAS_MENTIONS` | :data:`HAS_QUOTES`
    rows: bytearray = field(default_factory=bytearray)
    people: Coded = field(default_factory=Coded)  # (annotators, origins) of each document, tuples of names
    paths: dict[int, tuple[str, str]] = field(default_factory=dict)  # documents not named <article id>.json: path, file
    named_again: dict[int, list[int]] = field(default_factory=dict)  # articles several documents name: their numbers

    def __post_init__(self) -> None:
        self.of_article = array("i", [-1]) * len(self.index)

    def note_segment(self, start: int, columns: dict, positions: list[int]) -> None:
        """Note a segment of the gold set's documents (their :func:`document_columns`; the first is the set's
        ``start``-th; ``positions``: the index's position of each one's article, -1 for none): each readable one is
        usable until :meth:`drop` says not; an unreadable one keeps an empty slot."""
        while len(self.rows) < start:  # segments without a readable document keep empty slots too
            self.keys.extend(bytes(32))
            self.rows.append(0)
            self.people.append(((), ()))
        unreadable = set(columns["unreadable"])
        count = len(columns["files"])
        while count and count - 1 in unreadable:  # (the last documents of a set: no slot, as none follows)
            count -= 1
        self.keys.extend(bytes.fromhex(columns["keys"][:64 * count]))
        figures, people_of = columns["figures"], columns["people_of"]
        self.rows.extend([(figures[2 * i] > 0) * HAS_MENTIONS | (figures[2 * i + 1] > 0) * HAS_QUOTES for i in range(count)])
        people = [tuple(names) for names in columns["people"]]
        self.people.extend([(people[people_of[2 * i]], people[people_of[2 * i + 1]]) for i in range(count)])
        directory, rel = f"{self.directory}/", f"{self.rel}/"
        for i, (ident, at) in enumerate(zip(columns["articles"], positions)):
            if at < 0 or i in unreadable:
                continue
            number = start + i
            if self.of_article[at] >= 0:  # another document of the set names the same article: the last usable one counts
                self.named_again.setdefault(at, [self.of_article[at]]).append(number)
            self.of_article[at] = number
            path, file = columns["paths"][i], columns["files"][i]
            if path != f"{directory}{ident}.json" or file != f"{rel}{ident}.json":
                self.paths[number] = (path, file)

    def drop(self, bad: AbstractSet[str]) -> None:
        """Forget the documents whose files have errors (``bad``: their file names); an article that several
        documents name keeps the last one without errors.  Only the articles whose document may be in ``bad`` are
        looked at: those whose document has a name of its own, and those a bad file is named after (any other
        article's document is ``<its id>.json``, not bad).  Reading every article's id to name its file was 0.3 s
        at 100,000 articles, on disk."""
        prefix = f"{self.rel}/"
        stems = [file[len(prefix):-len(".json")] for file in bad if file.startswith(prefix) and file.endswith(".json")]
        numbers = np.frombuffer(self.of_article, dtype=np.int32)
        own_names = np.fromiter(self.paths, dtype=np.int64, count=len(self.paths))
        suspects = {*self.index.positions(stems), *np.flatnonzero(np.isin(numbers, own_names)).tolist()}
        suspects.discard(-1)
        for at in sorted(suspects):
            number = self.of_article[at]
            if number >= 0 and self._file(at, number) in bad:
                usable = [other for other in self.named_again.get(at, ()) if self._file(at, other) not in bad]
                self.of_article[at] = usable[-1] if usable else -1

    def _file(self, at: int, number: int) -> str:
        return self.paths[number][1] if number in self.paths else f"{self.rel}/{self.index.ids[at]}.json"

    def __len__(self) -> int:
        return sum(1 for number in self.of_article if number >= 0)

    def rows_of(self, articles: array) -> int:
        """The rows the usable documents of ``articles`` (positions in the index) give besides the articles', at
        least one of them: :data:`HAS_MENTIONS` | :data:`HAS_QUOTES`."""
        numbers = np.frombuffer(self.of_article, dtype=np.int32)[np.frombuffer(articles, dtype=np.uint32)]
        return int(np.bitwise_or.reduce(np.frombuffer(self.rows, dtype=np.uint8)[numbers[numbers >= 0]], initial=0))

    def located_many(self, idents: Sequence[str], numbers: Sequence[int]) -> list[tuple[str | None, str | None]]:
        """The path and cache key of each article's gold document: article ``idents[i]``'s is the ``numbers[i]``-th
        (``(None, None)`` for -1, none)."""
        keys = iter(self.keys.hex_at([number for number in numbers if number >= 0]))
        return [((self.paths[number][0] if number in self.paths else f"{self.directory}/{ident}.json"), next(keys))
                if number >= 0 else (None, None) for ident, number in zip(idents, numbers)]

    def contributors(self) -> tuple[set[str], set[str]]:
        """The annotators and the origins of the usable documents: each distinct pair that one of them names, once (with
        numpy: a set of the documents' numbers, 7 MB at 100,000 articles, was the main process's peak of a build)."""
        numbers = np.frombuffer(self.of_article, dtype=self.of_article.typecode)
        codes = np.frombuffer(self.people.codes, dtype=self.people.codes.typecode)[np.unique(numbers[numbers >= 0])]
        annotators: set[str] = set()
        origins: set[str] = set()
        for code in np.unique(codes).tolist():
            who, whence = self.people.values[code]
            annotators.update(who)
            origins.update(whence)
        return annotators, origins

@dataclass
class Scan:
    """The outcome of scanning a corpus: problems, the article index, usable gold documents, cache counts."""

    problems: list[Problem]
    index: ArticleIndex
    gold: GoldIndex
    cache: CacheStats
    #: when the scan's stat index was saved, the cache keys of the files it used but could not record, as their first
    #: 64 bits (:attr:`ScanIndex.unrecorded`; the index's rows and these name every entry the scan used); ``None`` when
    #: it was not saved (another build held it)
    unindexed: array | None = None
    #: the articles whose conversion or document this scan made itself, not the index (:attr:`ScanIndex.remade`):
    #: a one-file rebuild's groups to write are looked for among theirs first; ``None`` when too many
    remade: list[str] | None = None


#: Per directory, for :func:`rel_path`: its resolved relative path, and the names of the symbolic links in it.
RelDirs = dict[Path, tuple[str, "set[str] | None"]]


def _links_in(directory: Path) -> set[str] | None:
    """Names of the symbolic links in ``directory``, from one listing (no stat per file); ``None`` if unlistable."""
    try:
        with os.scandir(directory) as entries:
            return {e.name for e in entries if e.is_symlink()}
    except OSError:
        return None


def _links_of(layout: CorpusLayout, directory: Path, dirs: RelDirs) -> set[str] | None:
    """Names of the symbolic links in ``directory`` (kept in ``dirs``); ``None`` if it cannot be listed."""
    if directory not in dirs:
        dirs[directory] = (layout.rel(directory), _links_in(directory))
    return dirs[directory][1]


def rel_path(layout: CorpusLayout, path: Path, dirs: RelDirs) -> str:
    """``layout.rel(path)`` without resolving or stat-ing every file: a file that is not a symbolic link resolves
    to its resolved directory plus its name (``dirs`` keeps each directory's, for one scan)."""
    if path.name in ("", ".", ".."):
        return layout.rel(path)
    if path.parent not in dirs:
        dirs[path.parent] = (layout.rel(path.parent), _links_in(path.parent))
    resolved, links = dirs[path.parent]
    if (path.name in links) if links is not None else path.is_symlink():
        return layout.rel(path)
    return f"{resolved}/{path.name}"


def _unlisted_raw_files(layout: CorpusLayout, listed: NameTable, seen: ScanIndex) -> list[Path]:
    """The files of ``layout.raw_files()`` whose names are not in ``listed`` (one directory listing, no stat per file,
    one search of ``listed`` for all the names).

    The index answers when the names listed are the same and the raw
    directory has the stat it had: a name added, removed or renamed in a
    directory changes its modification time, editing a file does not.  A
    directory holding a symbolic link is not recorded (what the link points
    to can change without the directory), nor one changed a moment ago.
    Searching 100,000 names in the manifest's was 1.0 s of a one-file rebuild.
    """
    if not layout.raw_dir.is_dir():
        return []
    names_listed = hashlib.blake2b(layout.manifest.name.encode("utf-8"), digest_size=16)
    listed.update(names_listed)
    digest = names_listed.digest()
    recorded = seen.segment(_UNLISTED, 0, digest)
    if recorded is not None:
        return [layout.raw_dir / name for name in recorded["unlisted"]]
    state = file_state(layout.raw_dir)  # (before the listing: a name added meanwhile changes it again)
    manifest = layout.manifest.name
    unlisted: list[str] = []
    links = layout.raw_dir.is_symlink()  # (its stat would be the link's)

    def files(entries: Iterable[os.DirEntry]) -> Iterator[str]:
        nonlocal links
        for entry in entries:
            links = links or entry.is_symlink()
            if entry.name != manifest and not entry.name.startswith(".") and entry.is_file():
                yield entry.name

    with os.scandir(layout.raw_dir) as entries:  # a part at a time: 100,000 names at once took 9 MB of the heap
        names = files(entries)
        while part := list(itertools.islice(names, _LISTED_PART)):
            unlisted += [name for name, at in zip(part, listed.find_many(part)) if at < 0]
    unlisted.sort()
    if not links:
        seen.remember_segment(_UNLISTED, 0, digest, {"unlisted": unlisted}, [(str(layout.raw_dir), state)], [])
    return [layout.raw_dir / name for name in unlisted]


#: The index's kind of record for :func:`_unlisted_raw_files` (checked ahead with the raw files' segments, whose
#: kind it starts with: :func:`_check_segments`).
_UNLISTED = "raw:unlisted"


#: :func:`_unlisted_raw_files` looks up this many names at a time.
_LISTED_PART = 4096


def scan(layout: CorpusLayout, cache_dir: Path, mapper: Mapper) -> Scan:
    """Convert, check and index the whole corpus: the problems ``validate_corpus`` reports, in bounded memory."""
    layout = layout.absolute()
    job = Job.of(layout, cache_dir)
    with closing(ScanIndex.open(job)) as seen, paused_gc():  # millions of short-lived acyclic objects (index records)
        return _scan(layout, job, mapper, seen)


def _scan(layout: CorpusLayout, job: Job, mapper: Mapper, seen: ScanIndex) -> Scan:
    stats = CacheStats()
    problems: list[Problem] = []
    index = ArticleIndex()
    manifest_file = layout.rel(layout.manifest)
    listed = NameTable()  # raw file names the manifest lists (and on which line)
    if not layout.manifest.exists():
        if layout.raw_files():
            problems.append(Problem("file-unreadable", manifest_file, "", "raw files are present but the manifest is missing"))
    else:
        problems.extend(_convert_all(layout, job, mapper, manifest_file, index, listed, stats, seen))
        for path in _unlisted_raw_files(layout, listed, seen):
            problems.append(unlisted(layout.rel(path), path.name, manifest_file))
    del listed  # 6 MB at 100,000 articles, not needed by the documents' checks

    gold = GoldIndex(index)
    sets = [("gold", layout.gold_dir, layout.gold_names),
            *((name, directory, partial(json_names, directory)) for name, directory in layout.annotator_dirs().items())]
    dirs: RelDirs = {}
    for name, directory, listing in sets:
        names, links = _set_listing(layout, seen, name, directory, listing, dirs)  # one set's at a time
        checks = SetChecks()
        found: list[Problem] = []
        if name == "gold" and names:
            gold.directory, gold.rel = str(directory), dirs[directory][0]
        kind = f"documents:{name}"
        segments = _document_segments(layout, seen, name, directory, names, index, links, dirs)
        for (number, digest, chunk, recorded, named), results in _segmented(mapper, partial(document_task, job), segments,
                                                                             partial(_known_document, seen, index), itemgetter(0)):
            start = number * SEGMENT  # the set's number of the segment's first document
            if recorded is None:
                rows, columns, table = _record_documents(job, seen, chunk, results, index, stats, kind, number, digest)
                whole = partial(_entities_in, rows)
            else:
                columns, table = recorded["columns"], _recorded_entities(recorded)
                whole = partial(_entities_of, job, seen, columns, index)
                stats.count("hits", "document", columns["hits"])
            # the position of each document's article, for the checks and the gold index
            articles = _articles_of(index, columns["articles"], named)
            # checked as a segment, its entities by its table (made for the index anyway), whether just checked or recorded:
            # each definition compared once, not once for the table and again document by document
            checks.add_segment(start, columns, table, whole, articles)
            for _, row_problems in columns["problems"]:
                found.extend(problems_in(row_problems))
            for i in columns["unreadable"]:  # (links into its article are not checked)
                checks.unreadable.add(columns["files"][i].rpartition("/")[2].removesuffix(".json"))
            if name == "gold":
                gold.note_segment(start, columns, articles)
            # let go of this segment's rows before the next segment's are made (both at once were the scan's peak)
            rows = columns = table = whole = None
        links_of = partial(_document_links, job, seen, layout, directory, names, index, dirs)
        found.extend(with_lines_from_files(checks.finish(links_of), layout))
        problems.extend(found)
        if name == "gold":
            gold.drop({p.file for p in errors(problems)})
    indexed = seen.save()
    return Scan(problems, index, gold, stats, seen.unrecorded if indexed else None, seen.remade)


#: The number of a set's record of its directory's listing among the set's segments in the index (those of its
#: documents are 0, 1, ...): asked for before them, it is checked before them by the index's child too
#: (:func:`_check_segments`, in the order of their numbers).
LISTING = -1


def _set_listing(layout: CorpusLayout, seen: ScanIndex, name: str, directory: Path, listing: Callable[[], Sequence[str]],
                 dirs: RelDirs) -> tuple[Sequence[str], set[str] | None]:
    """The names of set ``name``'s documents (``listing()``: file names, not paths) and those of the symbolic links
    in its ``directory`` (``None`` when it has no document; each directory's, with its path relative to the layout,
    goes into ``dirs``, :func:`rel_path`).

    The index answers when the directory has the stat it had: a name added, removed or renamed in a directory
    changes its modification time, editing a document does not (as for the raw files, :func:`_unlisted_raw_files`).
    A listing is recorded only when it holds no symbolic link (what one points to can change without the
    directory), when it is held in memory (:class:`~newscorpus.names.SortedNames`, up to 32,768 names: the names
    are kept in the record as they are, not sorted again), and not when the directory changed a moment ago.  Listing
    the gold directory and its links took a one-file rebuild 16 ms at 10,000 articles (0.3 s at 100,000, past the
    names held in memory)."""
    kind = f"documents:{name}"
    try:  # (a name that is not UTF-8, an annotator's directory's: listed every time, as before)
        digest = hashlib.blake2b(orjson.dumps([kind, str(directory), directory.is_symlink(), directory.parent.is_symlink()]),
                                 digest_size=16).digest()  # (a link: the listing is empty, the stat may be as it was)
    except orjson.JSONEncodeError:
        digest = None
    recorded = seen.segment(kind, LISTING, digest) if digest is not None else None
    if recorded is not None:
        try:
            names: Sequence[str] = SortedNames.unpacked(recorded["data"])
        except ValueError:  # (not as packed: listed again, below)
            pass
        else:
            dirs.setdefault(directory, (layout.rel(directory), set()))
            return names, dirs[directory][1]
    state = file_state(directory)  # (before the listing: a name added meanwhile changes it again)
    names = listing()
    links = _links_of(layout, directory, dirs) if names else None
    packed = names.packed() if isinstance(names, SortedNames) and links == set() and digest is not None else None
    if packed is not None:
        seen.remember_segment(kind, LISTING, digest, {}, [(str(directory), state)], [], data=packed)
    return names, links


def _document_segments(layout: CorpusLayout, seen: ScanIndex, name: str, directory: Path, names: Sequence[str],
                       keys: ArticleIndex, links: set[str] | None, dirs: RelDirs) -> Iterator[tuple[tuple, list[tuple]]]:
    """Per segment of the documents of set ``name`` (``names`` in ``directory``): ``(number, digest, paths, recorded)``
    (``recorded``: the index's record of the whole segment, or ``None``) and the :func:`document_task` tasks to run
    (none when recorded)."""
    base = str(directory)
    for number, start in enumerate(range(0, len(names), SEGMENT)):
        part = names[start:start + SEGMENT]
        stems = [file_name[:-5] for file_name in part]  # every name ends with ".json"
        named = keys.positions(stems)  # one search
        hexes = iter(keys.keys_at([at for at in named if at >= 0]))
        article_keys = [next(hexes) if at >= 0 else None for at in named]
        inputs = [base, part, article_keys, [n in links for n in part] if links is not None else None]
        digest = hashlib.blake2b(orjson.dumps([name, inputs]), digest_size=16).digest()
        chunk = [f"{base}/{file_name}" for file_name in part]
        recorded = seen.segment(f"documents:{name}", number, digest)
        tasks = [] if recorded is not None else [
            (path, rel_path(layout, directory / file_name, dirs), stem, key) for path, file_name, stem, key in zip(chunk, part, stems, article_keys)
        ]
        yield (number, digest, chunk, recorded, (stems, named)), tasks


def _articles_of(index: ArticleIndex, idents: list[str | None], named: tuple[list[str], list[int]]) -> list[int]:
    """The index's position of each document's article (``idents``: the ids the documents name; -1: none, or the
    document unreadable), ``named``: the segment's file names' stems and their positions
    (:func:`_document_segments`).  A document names the article its file is named after (else it has a problem):
    only the others are searched, where all were searched again (0.85 s of a one-file rebuild at 100,000 articles)."""
    stems, found = named
    articles = [-1] * len(idents)
    others: list[int] = []
    for i, (ident, stem, at) in enumerate(zip(idents, stems, found, strict=True)):
        if ident is None:
            continue
        if ident == stem:
            articles[i] = at
        else:
            others.append(i)
    for i, at in zip(others, index.positions([idents[i] for i in others])):
        articles[i] = at
    return articles


def _document_links(job: Job, seen: ScanIndex, layout: CorpusLayout, directory: Path, names: Sequence[str],
                    keys: ArticleIndex, dirs: RelDirs, number: int) -> tuple[str, list]:
    """The file and the ``sameAs`` links of the ``number``-th document of a set: from the index's row of the file when
    it holds this scan's result, else checked again (a cache hit)."""
    path = directory / names[number]
    task = (str(path), rel_path(layout, path, dirs), path.stem, keys.get(path.stem))
    result = _known_document(seen, keys, task, keep=False) or document_task(job, task)  # kept when first checked
    if "needs" in result:
        result = document_task(job, (task[0], task[1], result["needs"], keys.get(result["needs"])))
    return task[1], result["summary"]["links"]


def _known_document(seen: ScanIndex, keys: ArticleIndex, task: tuple, keep: bool = True) -> dict | None:
    """The index's answer for one document task, or ``None`` (``keep``: see :meth:`ScanIndex.known`)."""
    # by path: a symbolic link must not be answered with its target's result
    record = seen.known("document", task[0], task[0], lambda r: keys.get(r["article"]) == r["article_key"], keep)
    return None if record is None else {**record["result"], "cache": _indexed_hit("document"),
                                        "state": record["state"], "entry": record["entry"]}


def _record_documents(job: Job, seen: ScanIndex, paths: list[str], results: list[tuple[tuple, dict, bool]],
                      keys: ArticleIndex, stats: CacheStats, kind: str, number: int, digest: bytes) -> tuple[list[dict], dict, dict]:
    """The rows of one segment of checked documents, their :func:`document_columns` and their :func:`entity_table`;
    remember the files in the index, and record the segment when it can be trusted."""
    rows: list[dict] = []
    files: list[tuple[str, list[int] | None]] = []
    memorable = True
    for (path, file, expected, article_key), result, indexed in results:
        if "needs" in result:  # the document names another article: its result depends on that one's key
            memorable = False
            expected, article_key = result["needs"], keys.get(result["needs"])
            result = document_task(job, (path, file, expected, article_key))
        stats.merge(result["cache"])
        if not indexed:
            seen.note_remade(expected)
        if not indexed and "key" in result:
            outcome = {"problems": result["problems"], "summary": result["summary"], "key": result["key"]}
            seen.remember(path, {"state": result["state"], "entry": result["entry"], "key": result["key"],
                                 "article": expected, "article_key": article_key, "result": outcome})
        row = {"file": file, "path": path, "problems": result["problems"], "summary": result["summary"]}
        if "key" in result:
            key = row["key"] = result["key"]
            files += [(path, result["state"]), (seen.store.location("document", key), result["entry"])]
        else:
            memorable = False  # unreadable: nothing to stat that says it is still unreadable
        rows.append(row)
    table = entity_table(rows)
    columns = document_columns(rows)
    if memorable:  # (entities in the segment's table; links read again if unresolved)
        entities = {"count": len(table["digests"]) // 8, "deviations": table["deviations"]}
        seen.remember_segment(kind, number, digest, {"columns": columns, "entities": entities}, files, paths,
                              {"definitions": table["definitions"]()}, table["keys"] + table["digests"])
    return rows, columns, table


def document_columns(rows: list[dict]) -> dict:
    """What a set's checks and the gold index take of a segment of checked documents (``rows``: each one's
    ``file``, ``path``, ``problems``, ``summary`` and ``key``), by column: the index records a segment so, and
    gives it back in one decode, with no dict per document to make and read (the rows, read document by document
    by the checks and the gold index, were 85 ms of a 10,000-article rebuild)."""
    summaries = [row["summary"] for row in rows]
    articles = [None if summary is None else summary["article"] for summary in summaries]
    people: dict[tuple[str, ...], int] = {}
    people_of: list[int] = []
    for summary in summaries:
        for names in ((), ()) if summary is None else (summary["annotators"], summary["origins"]):
            people_of.append(people.setdefault(tuple(names), len(people)))
    return {
        "files": [row["file"] for row in rows],
        "paths": [row["path"] for row in rows],
        "articles": articles,
        "keys": "".join(row.get("key") or "0" * 64 for row in rows),
        "hits": sum("key" in row for row in rows),
        "problems": [[i, row["problems"]] for i, row in enumerate(rows) if row["problems"]],
        "unreadable": [i for i, summary in enumerate(summaries) if summary is None],
        # the quotes' digests of the documents that name an article, in order; the sameAs links' of each document
        "quote_keys": "".join(summary["quote_keys"] for summary, ident in zip(summaries, articles) if ident is not None),
        "links": [[i, summary["link_keys"]] for i, summary in enumerate(summaries) if summary is not None and summary["link_keys"]],
        # the documents whose file is not named after the article they name
        "named_otherwise": [i for i, (row, ident) in enumerate(zip(rows, articles))
                            if ident is not None and os.path.basename(row["file"]) != f"{ident}.json"],
        "figures": [n for summary in summaries for n in ((0, 0) if summary is None else (summary["mentions"], summary["quote_count"]))],
        "people": [list(names) for names in people],
        "people_of": people_of,
    }


def _recorded_entities(recorded: dict) -> dict:
    """The :func:`entity_table` of a segment the index answered: its keys and digests from the record's bytes, its
    definitions decoded only when asked for (when an entity is new to the set)."""
    count, later = recorded["entities"]["count"], recorded["later"]
    return {"keys": recorded["data"][:16 * count], "digests": recorded["data"][16 * count:24 * count],
            "definitions": lambda: orjson.loads(later())["definitions"], "deviations": recorded["entities"]["deviations"]}


def _entities_in(rows: list[dict]) -> Iterator[tuple[str, list]]:
    """(file, entities) of each readable document of a segment just checked (their summaries have them)."""
    return ((row["file"], row["summary"]["entities"]) for row in rows if row["summary"] is not None)


def _entities_of(job: Job, seen: ScanIndex, columns: dict, keys: ArticleIndex) -> Iterator[tuple[str, list]]:
    """(file, entities) of each readable document of a recorded segment (its :func:`document_columns`): from the
    index's row of each file, or from the cache (the documents are unchanged: the segment's stats said so)."""
    unreadable = set(columns["unreadable"])
    for i, (path, file) in enumerate(zip(columns["paths"], columns["files"])):
        if i in unreadable:
            continue
        record = seen._record(path)
        if record is not None and record["key"] == columns["keys"][64 * i:64 * i + 64]:
            yield file, record["result"]["summary"]["entities"]
        else:
            stem = Path(path).stem
            yield file, document_task(job, (path, file, stem, keys.get(stem)))["summary"]["entities"]


def _manifest_segments(layout: CorpusLayout) -> Iterator[list[tuple[int, bytes]]]:
    """The manifest's lines (number, bytes), :data:`SEGMENT` at a time, read one line at a time."""
    with open(layout.manifest, "rb") as handle:
        numbered = enumerate(handle, start=1)
        while segment := list(itertools.islice(numbered, SEGMENT)):
            yield segment


def _manifest_rows(lines: list[tuple[int, bytes]], file: str) -> Iterator[tuple[dict, dict | None]]:
    """One row per non-blank manifest line (its problems, id and file), and its entry when it names a raw file to convert."""
    for number, raw in lines:
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            problem = Problem("json-invalid", file, "", f"not UTF-8: byte {error.start} ({error.reason})", number)
            yield {"line": number, "problems": [problem.as_dict()], "id": None, "file": None}, None
            continue
        if not line.strip():
            continue
        data, found = parse_json(line, file, line_offset=number - 1)
        problems = [p if p.line else p.at(line=number) for p in found]
        if not found:
            problems += [p.at(line=number) for p in schema_problems(data, "manifest", file)]
        data = data if isinstance(data, dict) and not found else {}
        ident, name = data.get("id"), data.get("file")
        row = {"line": number, "problems": _problems_out(problems), "id": ident if isinstance(ident, str) else None,
               "file": name if isinstance(name, str) else None}
        plain = isinstance(name, str) and not ("/" in name or "\\" in name or name.startswith("."))
        yield row, (data if plain else None)


def _convert_all(layout: CorpusLayout, job: Job, mapper: Mapper, manifest_file: str, index: ArticleIndex,
                 listed: NameTable, stats: CacheStats, seen: ScanIndex) -> list[Problem]:
    """Manifest checks and conversion, streamed over the manifest (unchanged segments and files answered by the index)."""
    problems: list[Problem] = []
    found = {"id": NameTable(), "file": listed}  # the line of each id and file name
    raw_dir = str(layout.raw_dir)

    def known(item: tuple[dict, dict]) -> dict | None:
        entry = item[1]
        file = f"{job.raw_rel}/{entry['file']}"
        record = seen.known("convert", file, f"{raw_dir}/{entry['file']}",
                            lambda r: r["key"] == convert_key(job, r["result"]["sha256"], file, entry))
        return None if record is None else {**record["result"], "cache": _indexed_hit("convert"),
                                            "state": record["state"], "entry": record["entry"]}

    segments = _raw_segments(layout, manifest_file, seen)
    raw_rel = layout.rel(layout.raw_dir)
    for (number, digest, rows, recorded), results in _segmented(mapper, partial(_convert_entry, job), segments, known,
                                                                lambda item: f"{raw_dir}/{item[1]['file']}"):
        if recorded is not None:
            columns = {**recorded["columns"], "signatures": recorded["data"]}
            stats.count("hits", "convert", columns["hits"])
        else:
            columns = _record_raw(job, raw_dir, seen, number, digest, rows, results, stats, manifest_file, raw_rel)
        if (columns["unique"] and found["id"].isdisjoint(columns["ids"]) and found["file"].isdisjoint(columns["files"])
                and index.ids.isdisjoint(columns["articles"])):
            # nothing in it names an id or file seen before: its problems and articles at once, as row by row
            found["id"].extend(columns["ids"], columns["id_lines"])
            found["file"].extend(columns["files"], columns["file_lines"])
            problems.extend(problems_in(columns["problems"]))
            index.add_segment(columns)
            continue
        signatures = columns["signatures"]  # a record's rows keep none: they are in the columns
        converted = 0
        for row in rows if rows is not None else orjson.loads(recorded["later"]())["rows"]:
            article = _manifest_row(row, found, problems, manifest_file, raw_rel)
            if article is not None:
                key, summary = article
                signature = signatures[4 * NUM_PERM * converted:4 * NUM_PERM * (converted + 1)]
                converted += 1
                if summary["id"] not in index:
                    index.add(key, summary, signature)
    return problems


def _manifest_row(row: dict, found: dict[str, dict[str, int]] | dict[str, NameTable], problems: list[Problem], manifest_file: str,
                  raw_rel: str) -> tuple[str, dict] | None:
    """Add the problems of one manifest row to ``problems`` (its id and file noted in ``found``, with their line);
    ``(key, summary)`` of its converted article, if any."""
    problems.extend(problems_in(row["problems"]))
    for key in ("id", "file"):
        value = row[key]
        if value is None:
            continue
        line = found[key].setdefault(value, row["line"])
        if line != row["line"]:
            problems.append(Problem("id-duplicate", manifest_file, f"/{key}", f"{key} {value!r} is already listed on line {line}", row["line"]))
    result = row.get("result")
    if result is None:
        return None
    if result.get("missing"):
        problems.append(Problem("raw-missing", manifest_file, "/file", f"{row['file']!r} is not in {raw_rel}", row["line"]))
        return None
    if "refused" in result:
        problems.extend(problems_in([result["refused"]]))
        return None
    if result["mismatch"]:
        problems.append(Problem("raw-sha-mismatch", manifest_file, "/sha256", f"{row['file']} has sha256 {result['sha256']}", row["line"]))
    problems.extend(problems_in(result["problems"]))
    return None if result["summary"] is None else (result["key"], result["summary"])


def _segment_columns(rows: list[dict], manifest_file: str, raw_rel: str) -> dict:
    """What a segment of manifest rows gives the scan when none of its ids or files was seen before it: the problems
    :func:`_manifest_row` reports for its rows in turn, its ids and files with their lines, and its articles'
    columns (ids, keys, dates, signatures, languages, publishers, agencies).  ``unique``: no id, file or article
    id is named twice in it (else the segment is checked row by row)."""
    found: dict[str, dict[str, int]] = {"id": {}, "file": {}}
    problems: list[Problem] = []
    articles = [article for row in rows if (article := _manifest_row(row, found, problems, manifest_file, raw_rel)) is not None]
    ids = [summary["id"] for _, summary in articles]
    publishers: dict[str, int] = {}
    agencies: dict[str, int] = {}
    for _, summary in articles:
        publishers[summary["publisher"]] = publishers.get(summary["publisher"], 0) + 1
        agencies[summary["agency"] or "none"] = agencies.get(summary["agency"] or "none", 0) + 1
    return {
        "unique": len(set(ids)) == len(ids) and not any(p.code == "id-duplicate" for p in problems),
        "problems": _problems_out(problems),
        "ids": list(found["id"]), "id_lines": list(found["id"].values()),
        "files": list(found["file"]), "file_lines": list(found["file"].values()),
        "articles": ids,
        "keys": "".join(key for key, _ in articles),
        "dates": [summary["date"] for _, summary in articles],
        "signatures": b"".join(base64.b64decode(summary["signature"]) for _, summary in articles),
        "languages": sorted({summary["language"] for _, summary in articles}),
        "publishers": publishers,
        "agencies": agencies,
        "hits": sum("result" in row and "missing" not in row["result"] and "refused" not in row["result"] for row in rows),
    }


def _raw_segments(layout: CorpusLayout, manifest_file: str,
                  seen: ScanIndex) -> Iterator[tuple[tuple[int, bytes, list[dict] | None, dict | None], list[tuple[dict, dict]]]]:
    """Per segment of the manifest: ``(number, digest, rows, recorded)`` and the ``(row, entry)`` pairs to convert
    (none when the index recorded the segment whole: ``recorded`` is its record, and ``rows`` is ``None``: the
    recorded rows are read and decoded from ``recorded["later"]()`` only if the segment is taken row by row)."""
    for number, lines in enumerate(_manifest_segments(layout)):
        digest = hashlib.blake2b(orjson.dumps([lines[0][0], manifest_file]) + b"".join(raw for _, raw in lines),
                                 digest_size=16).digest()
        recorded = seen.segment("raw", number, digest)
        if recorded is not None:
            yield (number, digest, None, recorded), []  # its rows are read if it is taken row by row
            continue
        rows: list[dict] = []
        entries: list[tuple[dict, dict]] = []
        for row, entry in _manifest_rows(lines, manifest_file):
            rows.append(row)
            if entry is not None:
                entries.append((row, entry))
        yield (number, digest, rows, None), entries


def _record_raw(job: Job, raw_dir: str, seen: ScanIndex, number: int, digest: bytes, rows: list[dict],
                results: list[tuple[tuple[dict, dict], dict, bool]], stats: CacheStats, manifest_file: str, raw_rel: str) -> dict:
    """Put each conversion's result on its manifest row, remember the files in the index, and record the segment;
    its :func:`_segment_columns`."""
    files: list[tuple[str, list[int] | None]] = []
    kept: list[str] = []
    for (row, entry), result, indexed in results:
        if result.get("missing") or "refused" in result:
            row["result"] = {k: v for k, v in result.items() if k in ("missing", "refused")}
            files.append((f"{raw_dir}/{entry['file']}", None))  # a missing or refused file is looked at again
            continue
        stats.merge(result["cache"])
        file = f"{job.raw_rel}/{entry['file']}"
        if not indexed:
            seen.note_remade((result["summary"] or {}).get("id"))
            outcome = {"sha256": result["sha256"], "key": result["key"], "problems": result["problems"], "summary": result["summary"]}
            seen.remember(file, {"state": result["state"], "entry": result["entry"], "key": result["key"], "result": outcome})
        key = result["key"]
        row["result"] = {"sha256": result["sha256"], "key": key, "problems": result["problems"], "summary": result["summary"],
                         "mismatch": isinstance(entry.get("sha256"), str) and result["sha256"] != entry["sha256"]}
        files += [(f"{raw_dir}/{entry['file']}", result["state"]), (seen.store.location("convert", key), result["entry"])]
        kept.append(file)
    columns = _segment_columns(rows, manifest_file, raw_rel)
    stored = [row if row.get("result", {}).get("summary") is None else  # the signatures are kept once, in the columns
              {**row, "result": {**row["result"], "summary": {k: v for k, v in row["result"]["summary"].items() if k != "signature"}}}
              for row in rows]
    # the rows are read only when the segment is taken row by row; the signatures, 51 MB at 100,000 articles, as bytes
    seen.remember_segment("raw", number, digest, {"columns": {k: v for k, v in columns.items() if k != "signatures"}}, files, kept,
                          later={"rows": stored}, data=columns["signatures"])
    return columns


def _convert_entry(job: Job, item: tuple[dict, dict]) -> dict:
    """:func:`convert_task` of a ``(row, entry)`` pair."""
    return convert_task(job, item[1])
