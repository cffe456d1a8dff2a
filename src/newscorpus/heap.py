"""Giving the C heap's free pages back to the system, in a long-running build's main process, in a worker before it
forks the child that writes a group, and wherever a group is made; pausing the cyclic garbage collector where it
would find nothing to free.

Python frees many short-lived objects (workers' results, index records,
numpy temporaries) between long-lived ones, so glibc's heap cannot shrink
from its top and the free pages inside it stay resident.  ``malloc_trim``
returns them (``madvise``); it costs a few milliseconds, and the pages it
returns are faulted in again when used, so it is called between stages and
at most every few seconds, not per object.
"""

from __future__ import annotations

import ctypes
import gc
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from newscorpus.libc import libc_function

#: Seconds at least between two calls of :func:`release_free_memory` that do something.
TRIM_SECONDS = 2.0

_last_trim = [0.0]


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` (another C library: musl, macOS, Windows)."""
    return libc_function("malloc_trim", (ctypes.c_size_t,))


def release_free_memory(now: bool = False) -> None:
    """Give the pages of the C heap that are free back to the system (glibc's ``malloc_trim``; nothing elsewhere),
    at most once every :data:`TRIM_SECONDS` unless ``now`` (between the stages of a build, and before a worker makes
    a group).  Without it, 40-50 MB of the main process's peak at 100,000 articles were free pages."""
    trim = _malloc_trim()
    if trim is not None and (now or time.monotonic() - _last_trim[0] >= TRIM_SECONDS):
        trim(0)
        _last_trim[0] = time.monotonic()


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run a block without the cyclic garbage collector: for blocks that make many small acyclic objects
    (records, rows, a footer's fields), where its passes cost 10-20% and find nothing to free.
    Nested blocks leave it to the outermost."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
