"""Exceptions the library raises and the CLI turns into one-line messages, in one place."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator


class NewscorpusError(Exception):
    """Something went wrong that the user can act on; the message says what to do."""


class UsageError(NewscorpusError):
    """The command was called wrongly (exit code 2)."""


@contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """Let an :class:`OSError` raised in the block without a file name name ``path``: a failed ``write`` or ``fsync``
    (a full disk, a file too large, an I/O error) names none, and the CLI's one line would not say where.

    >>> with naming("/data/out.json"):
    ...     raise OSError(28, "No space left on device")
    Traceback (most recent call last):
    OSError: [Errno 28] No space left on device: '/data/out.json'
    """
    try:
        yield
    except OSError as error:
        if error.filename is None:
            error.filename = os.fspath(path)
        raise
