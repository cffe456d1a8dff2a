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

The entries a worker makes in one batch (a conversion or a document check
each) are written together (:meth:`Cache.put_many`): one file, a *pack*, with
a table of its entries' places, and each entry's name a hard link to it.  A
new file costs 0.4-1 ms of kernel time on the ext4 disks this was measured
on (a link, 20-30 us): one file per entry was about a third of a cold
build's CPU.  A name is still one entry to every reader: :meth:`Cache.get`
reads the pack's table and that entry's bytes only, and checks that entry's
own checksum; damage to a pack is damage to the entries it reaches (a
flipped byte, one; a cut, those after it), each detected when read.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_MAGIC = b"newscorpus-cache 1\n"
_PACK_MAGIC = b"newscorpus-cache-pack 1\n"
#: A pack's table row: the entry's key (64 hex digits), its offset and its length in the pack.
_ROW = 64 + 8 + 8
#: Bytes a get reads first: a small entry whole, or a pack's table.
_HEAD = 1 << 14


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
                data = _read_entry(handle, key)
        except FileNotFoundError:
            stats.count("misses", namespace)
            return None
        except OSError:
            return self._corrupted(path, namespace, stats)
        entry = None if data is None else _decode(data, key)
        if entry is None:
            return self._corrupted(path, namespace, stats)
        stats.count("hits", namespace)
        return entry

    def put(self, namespace: str, key: str, meta: dict, payload: bytes = b"") -> None:
        """Store an entry (atomically: write a temporary file, :func:`_written`, and rename it into place)."""
        path = self.location(namespace, key)
        tmp = _written(path[:-len(key) - 1], f".{key[:8]}", _encode(meta, payload, key))
        try:
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise

    def put_many(self, namespace: str, entries: list[tuple[str, dict, bytes]]) -> None:
        """Store several entries ``(key, meta, payload)`` of ``namespace`` with one new file, a pack (see the module).

        The pack is written under a temporary name, each entry's name is
        made a hard link to it (replacing an entry of that name, as
        :meth:`put` does), then the temporary name is removed: a reader sees
        an entry whole or not at all.
        """
        if len(entries) <= 1:
            for entry in entries:
                self.put(namespace, *entry)
            return
        blobs = [_encode(meta, payload, key) for key, meta, payload in entries]
        table, offset = bytearray(), len(_PACK_MAGIC) + 4 + _ROW * len(entries)
        for (key, _, _), blob in zip(entries, blobs):
            table += key.encode("ascii") + offset.to_bytes(8, "big") + len(blob).to_bytes(8, "big")
            offset += len(blob)
        pack = b"".join([_PACK_MAGIC, len(entries).to_bytes(4, "big"), table, *blobs])
        tmp = _written(f"{self.root}/{namespace}", ".pack", pack)
        try:
            for at, (key, _, _) in enumerate(entries):
                try:
                    _link(tmp, self.location(namespace, key))
                except OSError as error:
                    if error.errno not in _NO_LINKS:
                        raise
                    for entry in entries[at:]:  # a file system without hard links (a mounted bucket): a file each
                        self.put(namespace, *entry)
                    break
        finally:
            _remove(tmp)

    def _corrupted(self, path: str, namespace: str, stats: CacheStats) -> None:
        stats.count("corrupted", namespace)
        _remove(path)
        return None


#: What ``link`` fails with on a file system that has no hard links (FUSE mounts of object storage, some network file
#: systems).
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}

#: How :meth:`Cache.put` creates its temporary file: a new file only, never through a symbolic link.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _written(folder: str, prefix: str, data: bytes) -> str:
    """A new file in ``folder`` holding ``data``, under a temporary name no other process picks (``prefix``, process id
    and 64 random bits; created with ``O_EXCL``, so never shared); the folder is made only when the create finds it
    missing.  Its name."""
    tmp = f"{folder}/{prefix}.{os.getpid()}.{os.urandom(8).hex()}.tmp"
    try:
        fd = os.open(tmp, _CREATE, 0o600)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, _CREATE, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _link(source: str, path: str) -> None:
    """Make ``path`` a name of ``source``'s file, replacing what ``path`` named."""
    try:
        try:
            os.link(source, path)
        except FileNotFoundError:  # its directory is made when the first link finds it missing
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.link(source, path)
    except FileExistsError:
        tmp = f"{path}.{os.getpid()}.{os.urandom(8).hex()}.tmp"
        os.link(source, tmp)
        try:
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise


def _read_entry(handle: Any, key: str) -> bytes | None:
    """The bytes of entry ``key`` from its open file: the whole file, or its slice of a pack (``None``: a pack
    without it, or whose table or places are beyond its end: nothing is read past the file's size, whatever a
    damaged table says)."""
    data = handle.read(_HEAD)
    if not data.startswith(_PACK_MAGIC):
        return data + handle.read() if len(data) == _HEAD else data
    size = os.fstat(handle.fileno()).st_size
    start = len(_PACK_MAGIC) + 4
    count = int.from_bytes(data[start - 4:start], "big")
    if start + _ROW * count > size:
        return None
    if len(data) < start + _ROW * count:
        data += handle.read(start + _ROW * count - len(data))
    end = min(start + _ROW * count, len(data))
    at = data.find(key.encode("ascii"), start, end)
    while at >= 0 and (at - start) % _ROW:  # a key's digits at a row's start only
        at = data.find(key.encode("ascii"), at + 1, end)
    if at < 0 or at + _ROW > end:
        return None
    offset = int.from_bytes(data[at + 64:at + 72], "big")
    length = int.from_bytes(data[at + 72:at + 80], "big")
    if offset + length > size:
        return None
    if offset + length <= len(data):
        return data[offset:offset + length]
    return os.pread(handle.fileno(), length, offset)


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
