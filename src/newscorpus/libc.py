"""Functions of the C library that Python does not wrap, through ctypes, on Linux: ``None`` elsewhere (another
system or C library, or an older glibc without the function), so that each caller has its fallback."""

from __future__ import annotations

import ctypes
import sys
from functools import cache
from typing import Any, Callable


@cache
def libc_function(name: str, argtypes: tuple[Any, ...], restype: Any = ctypes.c_int) -> Callable[..., int] | None:
    """The C library's function ``name`` with these argument and result types, ``errno`` kept for
    :func:`ctypes.get_errno`; ``None`` off Linux or where the library has no such function."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = restype
    return function
