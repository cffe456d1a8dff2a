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

An entry carries its own checksum (XXH3, 128 bits, over its key and
contents: it detects damage, which is all it is for, the entry being named by
SHA-256; SHA-256 until the forty-fifth session, at 1.3 GB/s where XXH3 runs at
20: a cold build at 100,000 articles checksums about 4 GB of entries, written
and read).  An entry that is truncated, altered or
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

Nothing expires by itself: a new converter or code version leaves the last
version's entries where they were (3 GB at 100,000 articles).
:func:`prune`, after a build (``newscorpus build --prune-cache``), removes
every entry that build did not use.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import xxhash

from newscorpus.errors import naming

#: What an entry's payload may be: bytes, or a buffer of them (written as it is, not copied).
BytesLike = bytes | bytearray | memoryview

#: A payload :meth:`Cache.put` may also take: its bytes in pieces (buffers), from an iterable that gives them again
#: each time it is iterated (checksummed, then written), so an entry is stored without its bytes in memory at once.
#: Anything that is a buffer itself (bytes, an ``array``, a numpy array) is one piece.
Pieces = Iterable[Any]

if TYPE_CHECKING:
    import numpy as np

_MAGIC = b"newscorpus-cache 2\n"
#: Where an entry's body starts (its meta's size, its meta, its payload): after the magic, its checksum in 32 hex
#: digits (:func:`_checksum`) and a newline.
_BODY = len(_MAGIC) + 33
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
    """A directory of checksummed entries, safe to share between processes (and between builds, which :func:`prune`
    waits for: :class:`CacheLock`)."""

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
        self._hit(path, namespace, stats)
        return entry

    def get_streamed(self, namespace: str, key: str, stats: CacheStats, sink: Callable[[bytes], object]) -> dict | None:
        """The meta of a sound entry, its payload given to ``sink`` a piece of at most :data:`STREAMED` bytes at a
        time, or ``None`` (missing, or corrupted and removed).  The checksum is known only once the last piece is
        read: when ``None`` comes back, ``sink`` may have had pieces of a damaged payload, and the caller drops
        them.  For an entry of megabytes read into a file (a build's record of its output): :meth:`get` holds the
        entry and its payload's copy at once, 7 MB at 100,000 articles, and they were a rebuild's peak memory."""
        path = self.location(namespace, key)
        try:
            with open(path, "rb") as handle:
                meta = _streamed(handle, key, _Sink(sink))
        except FileNotFoundError:
            stats.count("misses", namespace)
            return None
        except _SinkFailed as failed:  # the sink's own error (a full disk under its file): not the entry's damage
            raise failed.__cause__ from None
        except OSError:
            return self._corrupted(path, namespace, stats)
        if meta is _PACKED:  # an entry in a pack (never one of megabytes): read as a get reads it
            entry = self.get(namespace, key, stats)
            if entry is None:
                return None
            payload = memoryview(entry[1])
            for at in range(0, len(payload), STREAMED):
                sink(payload[at:at + STREAMED])
            return entry[0]
        if meta is None:
            return self._corrupted(path, namespace, stats)
        self._hit(path, namespace, stats)
        return meta

    def put(self, namespace: str, key: str, meta: dict, payload: BytesLike | Pieces = b"") -> None:
        """Store an entry (atomically: write a temporary file, :func:`_written`, and rename it into place)."""
        path = self.location(namespace, key)
        tmp = _written(path[:-len(key) - 1], f".{key[:8]}", *_encoded(meta, payload, key))
        try:
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
        if _noted.get() is not None:
            _note(namespace, path)

    def put_many(self, namespace: str, entries: list[tuple[str, dict, bytes]]) -> None:
        """Store several entries ``(key, meta, payload)`` of ``namespace`` with one new file, a pack (see the module);
        each payload is bytes (not :data:`Pieces`: a pack's table says each entry's length first).

        The pack is written under a temporary name, each entry's name is
        made a hard link to it (replacing an entry of that name, as
        :meth:`put` does), then the temporary name is removed: a reader sees
        an entry whole or not at all.
        """
        if len(entries) <= 1:
            for entry in entries:
                self.put(namespace, *entry)
            return
        encoded = [_encoded(meta, payload, key) for key, meta, payload in entries]
        table, offset = bytearray(), len(_PACK_MAGIC) + 4 + _ROW * len(entries)
        for (key, _, _), pieces in zip(entries, encoded):
            size = sum(memoryview(piece).nbytes for piece in pieces)
            table += key.encode("ascii") + offset.to_bytes(8, "big") + size.to_bytes(8, "big")
            offset += size
        tmp = _written(f"{self.root}/{namespace}", ".pack", _PACK_MAGIC, len(entries).to_bytes(4, "big"), table,
                       *itertools.chain.from_iterable(encoded))
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

    def _hit(self, path: str, namespace: str, stats: CacheStats) -> None:
        """Count a sound entry read, and note its use for :func:`prune` when a build is noting them."""
        stats.count("hits", namespace)
        if _noted.get() is not None:
            _note(namespace, path)

    def _corrupted(self, path: str, namespace: str, stats: CacheStats) -> None:
        stats.count("corrupted", namespace)
        _remove(path)
        return None


#: What ``link`` fails with on a file system that has no hard links (FUSE mounts of object storage, some network file
#: systems).
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}

#: How :meth:`Cache.put` creates its temporary file: a new file only, never through a symbolic link.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


#: While :func:`noting_use` runs (in this thread): the process running it, the namespaces noted, the entries noted (a
#: worker forked meanwhile notes nothing).
_noted: ContextVar[tuple[int, frozenset[str], set[str]] | None] = ContextVar("newscorpus_cache_noted", default=None)


@contextmanager
def noting_use(namespaces: frozenset[str]) -> Iterator[set[str]]:
    """Collect the paths of the entries of ``namespaces`` this process reads or writes (:meth:`Cache.get`'s hits,
    :meth:`Cache.put`, and :func:`note_use`) while the block runs: what :func:`prune` must keep besides what a build's
    records name."""
    token = _noted.set((os.getpid(), namespaces, set()))
    try:
        yield _noted.get()[2]
    finally:
        _noted.reset(token)


def note_use(namespace: str, key: str, root: Path) -> None:
    """Count an entry as used (see :func:`noting_use`) though it was not read."""
    if _noted.get() is not None:
        _note(namespace, Cache(root).location(namespace, key))


def _note(namespace: str, path: str) -> None:
    noted = _noted.get()
    if noted is not None and namespace in noted[1] and noted[0] == os.getpid():
        noted[2].add(path)


@contextmanager
def exclusive_lock(path: Path, waiting: Callable[[], None]) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (made if missing; never deleted, so every holder locks the same
    file): the operating system's ``flock``, released with the process, so a killed holder blocks nothing.
    ``waiting()`` is called once, when another process holds it, before waiting for it.  Where there is no
    ``flock`` (Windows), filelock's lock; importing filelock for ``flock`` alone was 26 ms of every rebuild."""
    try:
        import fcntl
    except ImportError:
        from filelock import FileLock, Timeout

        lock = FileLock(path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            waiting()
            lock.acquire()
        try:
            yield
        finally:
            lock.release()  # (once: ``with lock`` after ``acquire`` would have taken it twice and released it once)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # (releases the lock)


class CacheLock:
    """A build's hold on its cache: a shared ``flock`` on ``<cache>/.lock`` from its start to its end, so that no
    :func:`prune` runs while it may read or write entries (builds share the cache with each other, never with a
    prune); :meth:`exclusive` turns it into the only hold, to prune.  The operating system releases it with the
    process, so a killed build blocks nothing.  Where there is no ``flock`` (Windows), it holds nothing and never
    becomes exclusive: nothing is pruned there."""

    def __init__(self, root: Path) -> None:
        self.fd: int | None = None
        try:
            import fcntl
        except ImportError:
            return
        root.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_SH)  # (waits while a prune runs)
        except BaseException:
            self.close()
            raise

    def exclusive(self) -> bool:
        """Whether this is now the only hold on the cache (no other build runs, and none can start until
        :meth:`close`); when another build holds it, this hold stays shared."""
        if self.fd is None:
            return False
        import fcntl

        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # (a shared hold is converted: released, then taken)
        except BlockingIOError:
            fcntl.flock(self.fd, fcntl.LOCK_SH)
            return False
        return True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@dataclass(frozen=True)
class Pruned:
    """What :func:`prune` removed: entries (names) and the bytes freed (files none of whose names is left); how many
    names or folders it could not remove or list (``failed``); or why it removed nothing (``skipped``)."""

    entries: int = 0
    nbytes: int = 0
    failed: int = 0
    skipped: str = ""


#: Temporary files older than this before the build started are a killed process's leftovers, not a write in progress.
_STALE_TEMPORARY_NS = 3600 * 10**9
#: How far a file's time may lag the clock it is compared with (Linux stamps files with a coarse clock, a tick behind).
_CLOCK_SLACK_NS = 10**9


@dataclass(frozen=True)
class LiveEntries:
    """The entries :func:`prune` keeps: ``paths`` (as :meth:`Cache.location` gives them), and in the namespaces of
    many entries (``keyed``), every entry whose key's first 64 bits are in ``keys`` (sorted, unique: 8 bytes a key
    where a set of paths took about 150; two keys that share their first 64 bits keep each other, which costs a
    stale entry's bytes, never a live entry)."""

    paths: set[str]
    keys: "np.ndarray"
    keyed: frozenset[str]

    def live(self, namespace: str, folder: str, names: list[str]) -> list[bool]:
        """Whether each entry ``names`` of ``folder`` (in ``namespace``) is live."""
        import numpy as np

        flags = [f"{folder}/{name}" in self.paths for name in names]
        if namespace in self.keyed and len(self.keys):
            keyed = [_KEY.fullmatch(name) is not None for name in names]
            prefixes = np.array([key_prefix(name) if is_key else 0 for name, is_key in zip(names, keyed)], dtype=np.uint64)
            at = np.minimum(np.searchsorted(self.keys, prefixes), len(self.keys) - 1)
            found = (self.keys[at] == prefixes) & np.array(keyed, dtype=bool)
            flags = [flag or bool(hit) for flag, hit in zip(flags, found.tolist())]
        return flags


def key_prefix(key: str) -> int:
    """The first 64 bits of a key (64 hex digits): what :class:`LiveEntries` knows a key by."""
    return int(key[:16], 16)


def key_prefixes(keys: Iterable[str]) -> "np.ndarray":
    """The sorted, unique :func:`key_prefix` of ``keys``, for :class:`LiveEntries`."""
    import numpy as np

    return np.unique(np.fromiter(map(key_prefix, keys), dtype=np.uint64))


#: The names :func:`prune` may remove: a folder of entries (two hex digits), an entry (its key, whose first two digits
#: are its folder's; an index, ``<key>.sqlite`` and its journal), a temporary file :func:`_written` or :func:`_link`
#: made.  Nothing else in the cache's directory is touched (``--cache .`` holds the corpus too).
_FOLDER = re.compile(r"[0-9a-f]{2}")
_KEY = re.compile(r"[0-9a-f]{64}")
_ENTRY = re.compile(r"[0-9a-f]{64}(?:\.sqlite(?:-journal)?)?")
_TEMPORARY = re.compile(r"(?:\.[0-9a-f]{8}|\.pack|[0-9a-f]{64})\.[0-9]+\.[0-9a-f]{16}\.tmp")


def prune(root: Path, live: LiveEntries, since_ns: int, namespaces: frozenset[str]) -> Pruned:
    """Remove from the cache at ``root`` (its ``namespaces``) every entry that is not ``live`` and was not written
    since ``since_ns`` (``time.time_ns()`` when the build began), and temporary files left an hour before that.  The
    caller holds the cache alone (:meth:`CacheLock.exclusive`).

    A pack's names go together or not at all: one live name keeps its
    siblings and a temporary name of it (removing them would free no
    byte, and would change the pack's link count, which the scan's index
    reads as the live entries changed).  Two passes over the cache's
    layout (``<namespace>/<2 hex digits>/<key>``, temporary files also in
    ``<namespace>/``; any other name is left alone, and no symbolic link
    is followed): the first notes the files (inodes) with a live name, the
    second removes the names of the others.  What either holds is 8 bytes
    a live file.  A name that cannot be removed, or a folder that cannot
    be listed, is counted (``failed``) and left.
    """
    import numpy as np

    device = os.stat(root).st_dev
    inodes = array("Q")
    failed = 0
    for namespace, folder, entries, unlisted in _layout(str(root), namespaces):
        failed += unlisted
        entries = [e for e in entries if _is_entry(e.name, folder)]
        for entry, live_name in zip(entries, live.live(namespace, folder, [e.name for e in entries])):
            if live_name:
                inodes.append(entry.inode())
    kept = np.unique(np.frombuffer(inodes, dtype=np.uint64))
    del inodes
    removed = freed = 0
    for namespace, folder, entries, _ in _layout(str(root), namespaces, with_temporary=True):
        entries = [e for e in entries if _TEMPORARY.fullmatch(e.name) or _is_entry(e.name, folder)]
        numbers = np.fromiter((e.inode() for e in entries), dtype=np.uint64, count=len(entries))
        at = np.minimum(np.searchsorted(kept, numbers), max(len(kept) - 1, 0))
        in_use = (kept[at] == numbers).tolist() if len(kept) else [False] * len(entries)
        for entry, used in zip(entries, in_use):
            if used:
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:  # removed meanwhile
                continue
            temporary = entry.name.endswith(".tmp")
            if stat.st_dev != device:
                continue
            if stat.st_mtime_ns >= since_ns - (_STALE_TEMPORARY_NS if temporary else _CLOCK_SLACK_NS):
                continue
            gone = _unlinked(entry.path)
            if gone is None:
                failed += 1
            elif gone:
                removed += 1
                freed += stat.st_size if stat.st_nlink == 1 else 0
    return Pruned(removed, freed, failed)


def _is_entry(name: str, folder: str) -> bool:
    """Whether ``name`` in ``folder`` is an entry: a key (or an index) whose first digits are the folder's (never in
    a namespace's own folder: no key starts with a namespace's name)."""
    return _ENTRY.fullmatch(name) is not None and name.startswith(os.path.basename(folder))


def _layout(root: str, namespaces: frozenset[str],
            with_temporary: bool = False) -> Iterator[tuple[str, str, list[os.DirEntry], int]]:
    """Each folder of entries of the cache at ``root``: its namespace, its path, its files, and 1 when it could not
    be listed (with ``with_temporary``, the namespaces' own folders too, where packs are written before they are
    linked)."""
    for name in sorted(namespaces):
        namespace = os.path.join(root, name)
        if not os.path.isdir(namespace) or os.path.islink(namespace):
            continue
        folders, unlisted = _directories(namespace)
        if with_temporary:
            files, missed = _files(namespace)
            yield name, namespace, files, missed
        elif unlisted:
            yield name, namespace, [], unlisted
        for folder in folders:
            if _FOLDER.fullmatch(os.path.basename(folder)):
                files, missed = _files(folder)
                yield name, folder, files, missed


def _directories(path: str) -> tuple[list[str], int]:
    listed, unlisted = _listing(path)
    return sorted(e.path for e in listed if e.is_dir(follow_symlinks=False)), unlisted


def _files(path: str) -> tuple[list[os.DirEntry], int]:
    listed, unlisted = _listing(path)
    return [e for e in listed if e.is_file(follow_symlinks=False)], unlisted


def _listing(path: str) -> tuple[list[os.DirEntry], int]:
    """What ``path`` holds, and 1 when it cannot be listed (a folder gone meanwhile holds nothing)."""
    try:
        with os.scandir(path) as entries:
            return list(entries), 0
    except FileNotFoundError:
        return [], 0
    except OSError:
        return [], 1


def _unlinked(path: str) -> bool | None:
    """Whether ``path`` was removed by this call (``False``: another process removed it first; ``None``: it cannot be
    removed, e.g. no permission)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return True


def _written(folder: str, prefix: str, *data: BytesLike | Pieces) -> str:
    """A new file in ``folder`` holding the pieces of ``data``, one after the other, under a temporary name no other
    process picks (``prefix``, process id and 64 random bits; created with ``O_EXCL``, so never shared); the folder
    is made only when the create finds it missing.  Its name."""
    tmp = f"{folder}/{prefix}.{os.getpid()}.{os.urandom(8).hex()}.tmp"
    try:
        fd = os.open(tmp, _CREATE, 0o600)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, _CREATE, 0o600)
    try:
        with naming(tmp), os.fdopen(fd, "wb") as handle:
            for piece in data:
                handle.writelines(_pieces(piece))
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


#: The largest piece of a payload :meth:`Cache.get_streamed` gives its sink.
STREAMED = 1 << 20

#: What :func:`_streamed` returns for an entry in a pack.
_PACKED: Any = object()


class _SinkFailed(Exception):
    """An error of :meth:`Cache.get_streamed`'s sink (its ``__cause__``), told apart from the entry's own read errors."""


@dataclass(frozen=True)
class _Sink:
    """A sink whose errors are :class:`_SinkFailed`."""

    give: Callable[[bytes], object]

    def __call__(self, piece: bytes) -> None:
        try:
            self.give(piece)
        except Exception as error:
            raise _SinkFailed() from error


def _streamed(handle: Any, key: str, sink: Callable[[bytes], object]) -> dict | None:
    """The meta of entry ``key`` from its open file (a file of its own, not a pack: :data:`_PACKED`), its payload
    given to ``sink`` in pieces, or ``None`` when the entry is not exactly what was written under ``key``."""
    start = _BODY
    head = handle.read(start + 8)
    if head.startswith(_PACK_MAGIC):
        return _PACKED
    if not head.startswith(_MAGIC) or len(head) < start + 8:
        return None
    digest = _checksum(key)
    digest.update(head[start:])
    size = int.from_bytes(head[start:], "big")
    if size > os.fstat(handle.fileno()).st_size - len(head):  # (a damaged size: nothing past the file is asked for)
        return None
    body = handle.read(size)
    if len(body) != size:
        return None
    digest.update(body)
    while piece := handle.read(STREAMED):
        digest.update(piece)
        sink(piece)
    if digest.hexdigest().encode("ascii") != head[len(_MAGIC):start - 1]:
        return None
    try:
        meta = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return meta if isinstance(meta, dict) else None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _pieces(payload: BytesLike | Pieces) -> Iterable[Any]:
    """The pieces of a payload: itself when it is a buffer, else what it gives (:data:`Pieces`)."""
    try:
        memoryview(payload)
    except TypeError:
        if iter(payload) is payload:  # read once, a second read (the write after the checksum) would find nothing
            raise TypeError("a payload in pieces must give them each time it is iterated, not be an iterator") from None
        return payload
    return (payload,)


def _encoded(meta: dict, payload: BytesLike | Pieces, key: str) -> list[BytesLike | Pieces]:
    """An entry's bytes as pieces, ``payload`` among them, not copied (:func:`_written` writes them one after the
    other): an entry of megabytes (a build's record of its output, 4 MB at 100,000 articles) was joined twice, and
    its copies were a build's peak memory; a pack's entries were joined, then the pack.  A payload of
    :data:`Pieces` is read once here and once when written."""
    head = orjson.dumps(meta)
    size = len(head).to_bytes(8, "big")
    digest = _checksum(key)
    for piece in itertools.chain((size, head), _pieces(payload)):
        digest.update(piece)
    return [_MAGIC, digest.hexdigest().encode("ascii"), b"\n", size, head, payload]


def cache_format() -> bytes:
    """What tells this cache's entries' format (their magic, and their packs'): part of every key
    (:func:`newscorpus.pipeline.code_fingerprint`), so a cache written in another format is not read."""
    return _MAGIC + _PACK_MAGIC


def _checksum(key: str) -> Any:
    """The checksum of entry ``key``, its body still to be fed to it (``update``; ``hexdigest``: 32 hex digits)."""
    return xxhash.xxh3_128(key.encode("ascii"))


def _decode(data: bytes, key: str) -> tuple[dict, bytes] | None:
    """``(meta, payload)``, or ``None`` when the entry is not exactly what was written under ``key``."""
    if not data.startswith(_MAGIC) or len(data) < _BODY + 8:
        return None
    start = _BODY  # the body: the meta's size, the meta, the payload
    body = memoryview(data)[start:]  # checked and parsed in place: the payload is the only copy made
    digest = _checksum(key)
    digest.update(body)
    if digest.hexdigest().encode("ascii") != data[len(_MAGIC):start - 1]:
        return None
    size = int.from_bytes(body[:8], "big")
    try:
        meta = orjson.loads(body[8:8 + size])
    except orjson.JSONDecodeError:
        return None
    return (meta, data[start + 8 + size:]) if isinstance(meta, dict) else None
