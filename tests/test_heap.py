"""Giving the C heap's free pages back: glibc's malloc_trim where there is one, nothing elsewhere."""

from __future__ import annotations

import gc
import platform
import sys

import pytest

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


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_collector_is_paused_in_the_block_and_left_as_it_was_after_it_even_on_an_error(enabled_before) -> None:
    """``paused_gc`` turns the cyclic collector off for its block, nested blocks leave it to the outermost, and it is
    back as it was afterwards, after an exception too (a collector left off by a failed build would grow a caller's
    memory with every cycle it makes)."""
    seen = []
    (gc.enable if enabled_before else gc.disable)()
    try:
        with pytest.raises(RuntimeError, match="in the block"):
            with heap.paused_gc():
                seen.append(gc.isenabled())
                with heap.paused_gc():
                    seen.append(gc.isenabled())
                seen.append(gc.isenabled())  # the inner block's end leaves it off
                raise RuntimeError("in the block")
        assert seen == [False, False, False]
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()
