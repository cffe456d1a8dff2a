"""Giving the C heap's free pages back: glibc's malloc_trim where there is one, nothing elsewhere."""

from __future__ import annotations

import platform
import sys

from newscorpus import heap
from newscorpus.libc import libc_function


def test_freeing_memory_is_a_no_op_without_glibc(monkeypatch) -> None:
    """``release_free_memory`` trims glibc's heap on Linux, and does nothing where there is no ``malloc_trim``."""
    libc_function.cache_clear()
    monkeypatch.setattr(sys, "platform", "win32")
    assert heap._malloc_trim() is None
    heap.release_free_memory(now=True)  # nothing to call: no error
    libc_function.cache_clear()
    monkeypatch.undo()
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert heap._malloc_trim() is not None
    libc_function.cache_clear()
