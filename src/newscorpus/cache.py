"""The build cache: results of pure work, stored by the hash of everything the work depends on.

::

    build/cache/
      convert/ab/ab12...ef      one converted article: its summary, problems and record
      document/..               one checked annotation document: its problems and summary
      shard/..                  the Parquet shards of one group of articles

An entry's key is the SHA-256 of a canonical JSON of its inputs (orjson, keys sorted) (for a raw
file: the SHA-256 of its bytes, ``CONVERTER_VERSION``, the manifest fields
that reach the record, the schema files), so a changed input or a new
converter is a different key: nothing is ever invalidated by hand.

An entry carries its own checksum.  An entry that is truncated, altered or
unreadable is counted as corrupted, removed and recomputed: it is never
served.  Entries are written to a temporary name and renamed into place, so
readers see whole entries or none; they are not fsync'ed (a crash may leave
an empty or torn entry, which the checksum catches).  An entry's metadata is
JSON written and read with orjson (the scan index is tens of MB of it).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_MAGIC = b"newscorpus-cache 1\n"


def key_of(inputs: Any) -> str:
    """The cache key of some JSON-serialisable inputs: SHA-256 of their canonical JSON.

    >>> key_of({"b": 1, "a": [2]}) == key_of({"a": [2], "b": 1})
    True
    """
    return hashlib.sha256(orjson.dumps(inputs, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class CacheStats:
    """What the cache did during one build, by namespace."""

    hits: dict[str, int] = field(default_factory=dict)
    misses: dict[str, int] = field(default_factory=dict)
    corrupted: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, namespace: str, n: int = 1) -> None:
        """Add ``n`` to the ``kind`` (hits, misses, corrupted) count of ``namespace``."""
        counter = getattr(self, kind)
        counter[namespace] = counter.get(namespace, 0) + n

    def merge(self, other: "CacheStats") -> None:
        """Add another stats object's counts (from a worker) to these."""
        for kind in ("hits", "misses", "corrupted"):
            for namespace, n in getattr(other, kind).items():
                self.count(kind, namespace, n)


@dataclass(frozen=True)
class Cache:
    """A directory of checksummed entries, safe to share between processes."""

    root: Path

    def path(self, namespace: str, key: str) -> Path:
        """Where the entry ``key`` of ``namespace`` is stored."""
        return Path(self.location(namespace, key))

    def location(self, namespace: str, key: str) -> str:
        """:meth:`path` as a string, joined without pathlib (it is wanted for every get and put)."""
        return f"{self.root}/{namespace}/{key[:2]}/{key}"

    def get(self, namespace: str, key: str, stats: CacheStats) -> tuple[dict, bytes] | None:
        """``(meta, payload)`` of a sound entry, or ``None`` (missing, or corrupted and removed)."""
        path = self.location(namespace, key)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            stats.count("misses", namespace)
            return None
        except OSError:
            return self._corrupted(path, namespace, stats)
        entry = _decode(data, key)
        if entry is None:
            return self._corrupted(path, namespace, stats)
        stats.count("hits", namespace)
        return entry

    def put(self, namespace: str, key: str, meta: dict, payload: bytes = b"") -> None:
        """Store an entry (atomically: write a temporary file, rename it into place).

        The temporary file is created with ``O_EXCL`` under a name no other
        process picks (process id and 64 random bits), so it is never shared;
        its directory is made only when the first create finds it missing.
        """
        path = self.location(namespace, key)
        data = _encode(meta, payload, key)
        folder = path[:-len(key) - 1]
        tmp = f"{folder}/.{key[:8]}.{os.getpid()}.{os.urandom(8).hex()}.tmp"
        try:
            fd = os.open(tmp, _CREATE, 0o600)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, _CREATE, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise

    def _corrupted(self, path: str, namespace: str, stats: CacheStats) -> None:
        stats.count("corrupted", namespace)
        _remove(path)
        return None


#: How :meth:`Cache.put` creates its temporary file: a new file only, never through a symbolic link.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _encode(meta: dict, payload: bytes, key: str) -> bytes:
    head = orjson.dumps(meta)
    body = len(head).to_bytes(8, "big") + head + payload
    digest = hashlib.sha256(key.encode("ascii") + body).hexdigest().encode("ascii")
    return _MAGIC + digest + b"\n" + body


def _decode(data: bytes, key: str) -> tuple[dict, bytes] | None:
    """``(meta, payload)``, or ``None`` when the entry is not exactly what was written under ``key``."""
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + 65 + 8:
        return None
    digest, body = data[len(_MAGIC):len(_MAGIC) + 64], data[len(_MAGIC) + 65:]
    if hashlib.sha256(key.encode("ascii") + body).hexdigest().encode("ascii") != digest:
        return None
    size = int.from_bytes(body[:8], "big")
    try:
        meta = orjson.loads(body[8:8 + size])
    except orjson.JSONDecodeError:
        return None
    return (meta, body[8 + size:]) if isinstance(meta, dict) else None
