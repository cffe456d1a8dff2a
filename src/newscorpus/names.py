"""A table of names (article ids, file names) in the order they were added, each with an integer, off the Python heap.

A ``dict`` from 100,000 ids to their positions took 16 MB of Python objects
(an ``str`` of 80-90 bytes and a dict slot per id, an ``int`` per value), and
a build kept four such maps.  :class:`NameTable` keeps the names' UTF-8 in
one buffer and everything else in flat arrays: 24 bytes per name besides
its UTF-8.  Lookups go through each name's Python ``hash`` (the table lives in
one process and is never stored) in a sorted array, and every match is
confirmed against the name itself, so two names with the same hash are told
apart.

Past :data:`_IN_MEMORY` names a table moves its names and values to disk
(:class:`NameFile`, an unnamed temporary file of blocks of 64 names), and
its search too (:class:`HashFile`: each name's hash and position, sorted, in
another): what it holds then no longer grows with it, an eighth of a byte a
name for each file (where each block starts) and the names added since the
last merge (at most :data:`_RECENT`).  Three such tables with their search in
memory, 12 bytes a name, were 3.6 MB at 100,000 articles while the manifest is
read, the articles' ids 1.2 MB to the end (until the thirty-third session;
with the UTF-8 in memory, 19 MB: most of what a build's main process grew by;
docs/scale-history.md).  Lookups are the same numpy search either way, on
disk over the blocks of hashes read; a match on disk is confirmed by reading
its name by position, with its block.  (Until the nineteenth session the
hashes went to disk as SQLite's index: filling and searching it took about
twice as long as the arrays in memory; the file of blocks, about 1.5 times:
0.3 s more for the manifest's three tables at 100,000 articles, 0.1 s more a
pass of lookups; until the twentieth the names were rows of an SQLite table;
docs/scale-history.md.)
"""

from __future__ import annotations

import errno
import itertools
import os
import sqlite3
import struct
import sys
import tempfile
from array import array
from contextlib import contextmanager
from bisect import bisect_left, bisect_right
from typing import Any, Callable, Iterable, Iterator, Sequence, overload

import numpy as np

#: Names added since the last merge are found through a small dict; the sorted arrays take them in when the dict
#: holds more than this many names, or an eighth of the table (so merging costs O(n log n) over all additions).
_RECENT = 2048


#: :meth:`NameTable.find_many` confirms its matches this many names at a time (a few arrays of names times their width).
_CONFIRMED = 4096

#: Names of at most this many UTF-8 bytes are sorted as fixed-width bytes (:meth:`NameTable.in_order`).
_FIXED_WIDTH = 256

#: A :class:`NameTable` holds this many names in memory (64 bytes a name, their UTF-8 included, 2 MB); past it, its
#: names and values move to a :class:`NameFile`, its search to a :class:`HashFile`.  A corpus of 10,000 articles
#: never gets there: its build and its one-file rebuild do not pay for the files.
_IN_MEMORY = 1 << 15


class NameTable:
    """Names in order, each with an ``int`` value (its line in a file, say): ``table.add(name, value)``, then
    ``name in table``, ``table.find(name)`` (its position, or -1), ``table.get(name)`` (its value), ``table[at]``
    (the name at a position) and ``iter(table)`` (the names, in order).  A name is added once (callers check)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._utf8 = bytearray()
        self._ends = array("Q")
        self._values = array("i")  # lines, positions: below 2**31
        self._hashes = array("q")  # sorted (an array: bisect reads it item by item faster than numpy's scalar search)
        self._order = array("i")  # the positions of the hashes in that order
        self._recent: dict[str, int] = {}  # name -> position, for names not yet in the sorted arrays
        self._disk: NameFile | None = None  # past _IN_MEMORY names: the names and values
        self._search: HashFile | None = None  # and the search (the two arrays above, emptied)
        self.extend(list(names))

    def __len__(self) -> int:
        return len(self._ends) if self._disk is None else len(self._disk)

    def __getitem__(self, at: int) -> str:
        if self._disk is not None:
            return self._disk[at]
        return _decoded(self._utf8, self._ends, at)

    def __iter__(self) -> Iterator[str]:
        if self._disk is not None:
            yield from self._disk
            return
        data, start = self._utf8, 0
        for end in self._ends:
            yield data[start:end].decode("utf-8", "surrogatepass")
            start = end

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) >= 0

    def names_at(self, positions: Iterable[int]) -> list[str]:
        """The names at ``positions``: ``[table[at] for at in positions]``; on disk each read with its block of
        :attr:`NameFile.BLOCK` names, neighbouring blocks together (one SQLite query per name was 1.5 s of a rebuild
        at 100,000 articles)."""
        if self._disk is not None:
            return self._disk.names_at(list(positions))
        return [_decoded(self._utf8, self._ends, at) for at in positions]

    def each_at(self, positions: Sequence[int]) -> Iterator[str]:
        """The names at ``positions``, one after the other, made :data:`_CONFIRMED` at a time (not all at once: 100,000
        ``str`` were 8 MB)."""
        for lo in range(0, len(positions), _CONFIRMED):
            yield from self.names_at(positions[lo:lo + _CONFIRMED])

    def add(self, name: str, value: int = 0) -> int:
        """Add ``name`` (not in the table) with ``value``; its position."""
        self.extend([name], [value])
        return len(self) - 1

    def extend(self, names: Sequence[str], values: Iterable[int] | None = None) -> None:
        """Add each of ``names`` (none in the table, no two equal), with its value in ``values`` (default 0)."""
        encoded = [name.encode("utf-8", "surrogatepass") for name in names]  # any str: JSON may hold a lone surrogate
        if self._disk is None and len(self._ends) + len(encoded) > _IN_MEMORY:
            self._spill()
        start = len(self)
        try:
            if self._disk is not None:
                self._disk.extend(encoded, values)
            else:
                self._ends.extend(itertools.accumulate(map(len, encoded), initial=len(self._utf8)))
                self._ends.pop(start)  # the initial value: where the first new name starts
                self._utf8 += b"".join(encoded)
                if values is None:
                    self._values.frombytes(bytes(self._values.itemsize * len(encoded)))
                else:
                    self._values.extend(values)
        finally:  # (a refused write keeps the names in the file's last block: in the table, so found)
            self._recent.update(zip(names, range(start, len(self))))
        # (on disk, the recent names' str are most of what the table holds: merged every _RECENT, O(n) each)
        if len(self._recent) > (_RECENT if self._disk is not None else max(_RECENT, len(self._ends) >> 3)):
            self._merge()

    def value(self, at: int) -> int:
        """The value of the name at position ``at``."""
        return self._values[at] if self._disk is None else self._disk.value(at)

    def get(self, name: str, default: int | None = None) -> int | None:
        """The value of ``name``, or ``default``."""
        at = self.find(name)
        return default if at < 0 else self.value(at)

    def setdefault(self, name: str, value: int) -> int:
        """The value of ``name``; if it is not in the table, add it with ``value`` first (as ``dict.setdefault``)."""
        at = self.find(name)
        if at < 0:
            at = self.add(name, value)
        return self.value(at)

    def find(self, name: str) -> int:
        """The position of ``name``, or -1 (the names of its hash read :attr:`NameFile.PART` at a time)."""
        at = self._recent.get(name)
        if at is not None:
            return at
        key = hash(name)
        if self._search is not None:
            candidates = self._search.positions_of(key)
        else:
            hashes = self._hashes
            candidates = self._order[bisect_left(hashes, key):bisect_right(hashes, key)]
        for start in range(0, len(candidates), NameFile.PART):
            positions = candidates[start:start + NameFile.PART].tolist()
            for at, held in zip(positions, self.names_at(positions)):
                if held == name:
                    return at
        return -1

    def find_many(self, names: Sequence[str]) -> list[int]:
        """The position of each of ``names``, or -1: :meth:`find` for many names, with one search for all of them, and
        each match confirmed by comparing UTF-8 with numpy, :data:`_CONFIRMED` names at a time (one at a time in
        Python took 5 us a name: 60 ms of a 10,000-article rebuild); on disk, each match's name read by position,
        :meth:`NameFile.names_at` (SQLite's index of the names' hashes took twice as long)."""
        part_of = self._find_part if self._disk is None else self._find_part_on_disk
        found: list[int] = []
        for lo in range(0, len(names), _CONFIRMED):
            found += part_of(names[lo:lo + _CONFIRMED])
        return found

    def _find_part_on_disk(self, names: Sequence[str]) -> list[int]:
        found = [self._recent.get(name, -1) for name in names]
        hit, candidates = self._searched(names)
        asked = [i for i in np.flatnonzero(hit).tolist() if found[i] < 0]
        held = self._disk.names_at(candidates[asked].tolist())
        for i, name in zip(asked, held):
            found[i] = int(candidates[i]) if name == names[i] else self.find(names[i])  # equal hashes, another name?
        return found

    def _find_part(self, names: Sequence[str]) -> list[int]:
        recent = np.fromiter(map(self._recent.get, names, itertools.repeat(-1)), dtype=np.int64, count=len(names))
        hit, candidates = self._searched(names)
        at = candidates.astype(np.int64)
        same = hit & (recent < 0)
        if same.any():
            joined = "".join(names).encode("utf-8", "surrogatepass")
            sizes = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
            if len(joined) != int(sizes.sum()):  # not all ASCII: each name's UTF-8 is longer than its characters
                sizes = np.fromiter((len(name.encode("utf-8", "surrogatepass")) for name in names), dtype=np.int64, count=len(names))
            ends = np.frombuffer(self._ends, dtype=np.uint64).astype(np.int64)
            starts = np.where(at > 0, ends[at - 1], 0)
            same &= ends[at] - starts == sizes
            if same.any():
                width = int(sizes[same].max())
                offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
                columns = np.arange(width)
                inside = columns < sizes[:, None]
                asked = np.frombuffer(joined + bytes(width), dtype=np.uint8)
                held = np.frombuffer(self._utf8, dtype=np.uint8)  # (a view: released before the table can grow)
                left = np.where(inside, asked[offsets[:, None] + columns], 0)
                right = np.where(inside, held[np.minimum(starts[:, None] + columns, len(held) - 1)], 0)
                del held
                same &= (left == right).all(axis=1)
        found = np.where(recent >= 0, recent, np.where(same, at, -1))
        for i in np.flatnonzero(hit & ~same & (recent < 0)).tolist():  # equal hashes, another name: look at all of them
            found[i] = self.find(names[i])
        return found.tolist()

    def isdisjoint(self, names: Iterable[str]) -> bool:
        """Whether none of ``names`` is in the table (one search for all of them)."""
        names = list(names)
        if not names or not len(self):
            return True
        return all(at < 0 for at in self.find_many(names))  # (only a name whose hash is there is read and compared)

    def _searched(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``names``, whether the sorted arrays (on disk: the :class:`HashFile`) hold its hash, and the
        position of the first name there with that hash (one ``searchsorted`` for all)."""
        if self._search is not None:
            return self._search.search(np.fromiter(map(hash, names), dtype=np.int64, count=len(names)))
        if not len(self._hashes):
            return np.zeros(len(names), dtype=bool), np.zeros(len(names), dtype=np.int32)
        hashes = np.frombuffer(self._hashes, dtype=np.int64)
        keys = np.fromiter(map(hash, names), dtype=np.int64, count=len(names))
        places = np.minimum(np.searchsorted(hashes, keys), len(hashes) - 1)
        return hashes[places] == keys, np.frombuffer(self._order, dtype=np.int32)[places]

    def in_order(self) -> np.ndarray:
        """The positions, in the order of their names (``sorted`` order of ``str``: by code point, as their UTF-8).

        Sorted as fixed-width bytes by numpy, not as 100,000 ``str`` made for
        ``sorted`` (13 MB at 100,000 articles): :func:`_utf8_order`; on disk, by the database's index of the names.
        """
        if self._disk is not None:
            return self._disk.in_order()
        return _utf8_order(self._utf8, self._ends, self.__getitem__)

    def update(self, digest: Any) -> None:
        """Feed the names, in order, to ``digest`` (a hashlib object): the same bytes in memory or on disk."""
        if self._disk is not None:
            self._disk.update(digest)
            return
        digest.update(len(self._ends).to_bytes(8, "little"))
        digest.update(self._ends.tobytes())
        digest.update(self._utf8)

    def _spill(self) -> None:
        """Move the names and values to a :class:`NameFile` and the search to a :class:`HashFile`, and let go of their
        arrays (made whole before the table uses them: refused, the table stays in memory)."""
        disk = NameFile()
        for lo in range(0, len(self._ends), _CONFIRMED):
            hi = min(lo + _CONFIRMED, len(self._ends))
            first = self._ends[lo - 1] if lo else 0
            bounds = [end - first for end in self._ends[lo:hi]]
            region = bytes(self._utf8[first:self._ends[hi - 1]])
            disk.extend([region[a:b] for a, b in zip([0, *bounds[:-1]], bounds)], self._values[lo:hi])
        search = HashFile()
        search.merge(np.frombuffer(self._hashes, dtype=np.int64), np.frombuffer(self._order, dtype=np.int32))
        self._disk, self._search = disk, search
        self._utf8, self._ends, self._values = bytearray(), array("Q"), array("i")
        self._hashes, self._order = array("q"), array("i")

    def _merge(self) -> None:
        """Take the recent names into the sorted arrays, or the :class:`HashFile` (sorted among themselves, then
        inserted: O(n) a merge)."""
        recent = self._recent
        keys = np.fromiter(map(hash, recent), dtype=np.int64, count=len(recent))
        positions = np.fromiter(recent.values(), dtype=np.int32, count=len(recent))
        by_key = np.argsort(keys, kind="stable")
        keys, positions = keys[by_key], positions[by_key]
        if self._search is not None:
            self._search.merge(keys, positions)  # (refused: the recent names stay recent, the file as it was)
            self._recent = {}
            return
        hashes = np.frombuffer(self._hashes, dtype=np.int64)
        places = np.searchsorted(hashes, keys, side="right")
        merged = np.insert(hashes, places, keys), np.insert(np.frombuffer(self._order, dtype=np.int32), places, positions)
        del hashes  # (a view of the array replaced below)
        self._hashes, self._order = array("q"), array("i")
        self._hashes.frombytes(merged[0].tobytes())
        self._order.frombytes(merged[1].tobytes())
        self._recent = {}


class HashFile:
    """The search of a :class:`NameTable` on disk: its names' hashes, sorted, each with its name's position, in an
    unnamed temporary file (12 bytes a name), and in memory the first hash of every block of :attr:`BLOCK` of
    them (8 bytes a block: an eighth of a byte a name), so that what a table on disk holds does not grow with it.

    A lookup reads, for each hash asked, the block where it would be (and
    the next, when that one starts with it), neighbouring blocks in one
    read: the blocks read, in order, are a sorted part of the file, searched
    as the arrays in memory are.  Names are added :data:`_RECENT` at a time
    (:meth:`merge`): the file is rewritten into a new one, a part at a time,
    with them inserted in order, and replaces it only when it is whole, so a
    write that fails (a full disk) leaves the search as it was.  (Until the
    thirty-third session the sorted hashes and positions stayed in memory:
    12 bytes a name, 1.2 MB for the articles' ids at 100,000, 3.6 MB for the
    three tables while the manifest is read; docs/scale-history.md.)"""

    #: hashes a block: a block read is 768 bytes
    BLOCK = 64
    #: the hashes one search looks up at a time (at most twice as many blocks read at once, 0.8 MB, and their join)
    ASKED = 512
    #: the hashes a merge reads and writes at a time (0.4 MB; with the recent ones inserted and their bytes, 1.2 MB)
    PART = 1 << 15

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="newscorpus-hashes-")
        self._count = 0
        self._firsts = np.zeros(0, dtype=np.int64)  # the first hash of each block

    def __len__(self) -> int:
        return self._count

    def search(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``keys`` (hashes), whether the file holds it, and the position of the first name there with that
        hash (as :meth:`NameTable._searched`)."""
        hit, found = np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int32)
        if not self._count or not len(keys):
            return hit, found
        by_key = np.argsort(keys, kind="stable")
        for lo in range(0, len(keys), self.ASKED):
            asked = by_key[lo:lo + self.ASKED]
            wanted = keys[asked]
            held = self._read(self._blocks_of(wanted))
            places = np.minimum(np.searchsorted(held["hash"], wanted), len(held) - 1)
            hit[asked] = held["hash"][places] == wanted
            found[asked] = held["at"][places]
        return hit, found

    def positions_of(self, key: int) -> np.ndarray:
        """The positions of the names whose hash is ``key``, in order (more than one: names with equal hashes)."""
        if not self._count:
            return np.zeros(0, dtype=np.int32)
        first = max(int(self._firsts.searchsorted(key)) - 1, 0)
        last = max(int(self._firsts.searchsorted(key, side="right")), first + 1)  # and the blocks that start with it
        held = self._read_records(first * self.BLOCK, min(last * self.BLOCK, self._count))
        hashes = held["hash"]
        return held["at"][hashes.searchsorted(key):hashes.searchsorted(key, side="right")].copy()

    def merge(self, keys: np.ndarray, positions: np.ndarray) -> None:
        """Add the hashes ``keys`` (sorted) of names at ``positions``: each after those with the same hash already there
        (the file rewritten, a :attr:`PART` at a time, into a new one; refused: the old one stays)."""
        new = np.empty(len(keys), dtype=_PAIR)
        new["hash"], new["at"] = keys, positions
        merged = tempfile.TemporaryFile(prefix="newscorpus-hashes-")
        firsts, done, taken = [], 0, 0
        try:
            for lo in range(0, self._count, self.PART):
                part = self._read_records(lo, min(lo + self.PART, self._count))
                last = self._count <= lo + self.PART
                # (a new hash equal to the part's last goes after every old one, which may go on in the next part)
                upto = len(new) if last else int(np.searchsorted(new["hash"], part["hash"][-1]))
                coming = new[taken:upto]
                part = np.insert(part, np.searchsorted(part["hash"], coming["hash"], side="right"), coming)
                taken = upto
                done = self._write_part(merged, part, done, firsts)
            if taken < len(new):
                done = self._write_part(merged, new[taken:], done, firsts)
        except BaseException:
            merged.close()
            raise
        self._file.close()
        self._file, self._count = merged, done
        self._firsts = np.concatenate(firsts) if firsts else np.zeros(0, dtype=np.int64)

    def _write_part(self, file: Any, part: np.ndarray, done: int, firsts: list[np.ndarray]) -> int:
        """Write ``part`` after the ``done`` records written; note the first hash of each block that starts in it."""
        _write_all(file.fileno(), part.tobytes(), done * _PAIR.itemsize)
        firsts.append(part["hash"][(-done) % self.BLOCK::self.BLOCK].copy())
        return done + len(part)

    def _blocks_of(self, keys: np.ndarray) -> np.ndarray:
        """For each of ``keys`` (sorted), the block where the first name with that hash is, or would be; the block
        after it too when that one starts with it (a run of equal hashes across blocks): the numbers, ascending."""
        firsts = self._firsts
        blocks = np.maximum(np.searchsorted(firsts, keys) - 1, 0)
        after = blocks + 1
        spill = after[(after < len(firsts)) & (firsts[np.minimum(after, len(firsts) - 1)] == keys)]
        return np.unique(np.concatenate([blocks, spill]))

    def _read(self, blocks: np.ndarray) -> np.ndarray:
        """The records of ``blocks`` (ascending), in order: neighbouring blocks in one read (and one array of all
        the reads: an array per read, and their concatenation, took twice as long as the reads)."""
        if not len(blocks):
            return np.zeros(0, dtype=_PAIR)
        breaks = np.flatnonzero(np.diff(blocks) > 1) + 1
        size, fd = self.BLOCK * _PAIR.itemsize, self._file.fileno()
        starts = blocks[np.r_[0, breaks]] * size
        sizes = np.minimum((blocks[np.r_[breaks - 1, -1]] + 1) * size, self._count * _PAIR.itemsize) - starts
        return np.frombuffer(b"".join([_read_all(fd, n, at) for n, at in zip(sizes.tolist(), starts.tolist())]), dtype=_PAIR)

    def _read_records(self, lo: int, hi: int) -> np.ndarray:
        """The records ``lo`` to ``hi`` (one read)."""
        return np.frombuffer(_read_all(self._file.fileno(), (hi - lo) * _PAIR.itemsize, lo * _PAIR.itemsize), dtype=_PAIR)


#: A record of a :class:`HashFile`: a name's hash and its position.
_PAIR = np.dtype([("hash", "<i8"), ("at", "<i4")])


class NameFile:
    """The names of a :class:`NameTable` past :data:`_IN_MEMORY`, with their values, in an unnamed temporary file,
    :attr:`BLOCK` names a block: a block is where its names' UTF-8 ends (4 bytes each, from the first name's start),
    their values (4 bytes each), then their UTF-8.  What it holds in memory is where each block starts (8 bytes a
    block: an eighth of a byte a name) and the last block until it is full; a block is written whole, so a write
    that fails (a full disk) leaves the table as it was.  A name is read with its block, neighbouring blocks in one
    read.
    Its order, when asked (:meth:`in_order`), is SQLite's sort of the names as ``BLOB``s in a temporary database,
    compared as bytes: the code point order of the ``str``, as :func:`_utf8_order` has it.  The file goes with its
    handle (unnamed: ``O_TMPFILE``, or unlinked when made).  A process that forks keeps it: the children never
    touch it.

    (Until the twentieth session the names were rows of an SQLite table, read by rowid 512 a statement: reading
    and writing them took 3-4 s of a 10-15 s one-file rebuild at 100,000 articles; docs/scale-history.md.)"""

    #: names a block (a name read costs the read of its block: about 64 times 40 bytes)
    BLOCK = 64
    #: the most bytes one read takes in (neighbouring blocks)
    READ = 1 << 18
    #: the names of one hash :meth:`NameTable.find` reads at a time
    PART = 512
    #: the page cache of the database that sorts the names (:meth:`in_order`)
    PAGE_CACHE_KIB = 1024

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="newscorpus-names-")  # (its OSError names the directory)
        self._fd = self._file.fileno()
        self._starts = array("Q", [0])  # block k is the file's bytes _starts[k]:_starts[k + 1]
        self._tail: list[bytes] = []  # the names after the last full block, and their values
        self._tail_values = array("i")
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def extend(self, encoded: Sequence[bytes], values: Iterable[int] | None) -> None:
        """Add names (their UTF-8) with their values (default 0), after those already there."""
        self._tail.extend(encoded)
        if values is None:
            self._tail_values.frombytes(bytes(4 * len(encoded)))
        else:
            self._tail_values.extend(itertools.islice(values, len(encoded)))
        self._count += len(encoded)
        full = len(self._tail) - len(self._tail) % self.BLOCK
        if not full:
            return
        parts, starts = [], [self._starts[-1]]
        for lo in range(0, full, self.BLOCK):
            names = self._tail[lo:lo + self.BLOCK]
            ends = array("I", itertools.accumulate(map(len, names)))
            parts += [ends.tobytes(), self._tail_values[lo:lo + self.BLOCK].tobytes(), *names]
            starts.append(starts[-1] + 8 * self.BLOCK + ends[-1])
        _write_all(self._fd, b"".join(parts), starts[0])  # (refused: the names stay in the tail, the blocks unrecorded)
        self._starts.extend(starts[1:])
        del self._tail[:full], self._tail_values[:full]

    def _blocks(self, numbers: Iterable[int]) -> Iterator[tuple[int, bytes, int]]:
        """Each full block of ``numbers`` (ascending): its number, the bytes read that hold it, where it starts
        in them (neighbouring blocks read together, :attr:`READ` bytes at most)."""
        starts, run = self._starts, []
        for number in itertools.chain(numbers, [None]):
            if run and (number is None or number != run[-1] + 1 or starts[number + 1] - starts[run[0]] > self.READ):
                base = starts[run[0]]
                try:  # (not a context manager: a block is read for each name looked up, 2 us a read)
                    data = os.pread(self._fd, starts[run[-1] + 1] - base, base)
                except OSError as error:
                    raise _refused(error) from error
                for held in run:
                    yield held, data, starts[held] - base
                run = []
            if number is not None:
                run.append(number)

    def _raw(self) -> Iterator[bytes]:
        """Every name's UTF-8, in order."""
        for _, data, at in self._blocks(range(len(self._starts) - 1)):
            ends = array("I")
            ends.frombytes(data[at:at + 4 * self.BLOCK])
            first = at + 8 * self.BLOCK
            yield from (data[first + a:first + b] for a, b in zip(itertools.chain([0], ends), ends))
        yield from self._tail

    def __getitem__(self, at: int) -> str:
        return self.names_at([at])[0]

    def __iter__(self) -> Iterator[str]:
        for name in self._raw():
            yield name.decode("utf-8", "surrogatepass")

    def names_at(self, positions: Sequence[int]) -> list[str]:
        found: list[str] = [""] * len(positions)
        asked: dict[int, list[int]] = {}
        count, block, on_file = self._count, self.BLOCK, (len(self._starts) - 1) * self.BLOCK
        for i, at in enumerate(positions):
            if not 0 <= at < count:
                raise IndexError("name index out of range")
            if at >= on_file:
                found[i] = self._tail[at - on_file].decode("utf-8", "surrogatepass")
            else:
                asked.setdefault(at // block, []).append(i)
        unpack = _U4.unpack_from
        for number, data, start in self._blocks(sorted(asked)):
            first = start + 8 * block
            for i in asked[number]:
                j = positions[i] % block
                lo = unpack(data, start + 4 * j - 4)[0] if j else 0
                found[i] = data[first + lo:first + unpack(data, start + 4 * j)[0]].decode("utf-8", "surrogatepass")
        return found

    def value(self, at: int) -> int:
        on_file = (len(self._starts) - 1) * self.BLOCK
        if not 0 <= at < self._count:
            raise IndexError("name index out of range")
        if at >= on_file:
            return self._tail_values[at - on_file]
        _, data, start = next(self._blocks([at // self.BLOCK]))
        return _I4.unpack_from(data, start + 4 * self.BLOCK + 4 * (at % self.BLOCK))[0]

    def in_order(self) -> np.ndarray:
        """The positions in the order of their names: sorted by SQLite in a temporary database (its page cache and
        sorter's memory bounded), not in memory."""
        db = _temporary_database(self.PAGE_CACHE_KIB)
        try:
            with _as_os_error():
                db.execute("CREATE TABLE names (name BLOB NOT NULL)")
                db.execute("BEGIN")
                db.executemany("INSERT INTO names (rowid, name) VALUES (?, ?)", enumerate(self._raw()))
                db.execute("COMMIT")
                rows = db.execute("SELECT rowid FROM names ORDER BY name")
                return np.fromiter((at for (at,) in rows), dtype=np.int64, count=self._count)
        finally:
            db.close()

    def update(self, digest: Any) -> None:
        """As :meth:`NameTable.update`: the count, the names' ends (8 bytes each, little-endian), their UTF-8."""
        digest.update(self._count.to_bytes(8, "little"))
        end = 0
        for part in _batched(self._raw(), _CONFIRMED):
            ends = np.cumsum(np.fromiter(map(len, part), dtype=np.uint64, count=len(part))) + np.uint64(end)
            digest.update(ends.astype("<u8").tobytes())
            end = int(ends[-1])
        for part in _batched(self._raw(), _CONFIRMED):
            digest.update(b"".join(part))


_U4, _I4 = struct.Struct("=I"), struct.Struct("=i")  # (native order, as the arrays written: the file is this process's)


def _refused(error: OSError) -> OSError:
    """A temporary file's failed write or read (a nameless errno) as an ``OSError`` naming its directory."""
    return OSError(error.errno, f"the build's temporary file of names, in {tempfile.gettempdir()}: {error.strerror}")


def _write_all(fd: int, data: bytes, offset: int) -> None:
    """Write ``data`` at ``offset`` of a temporary file, short writes written on (refused: :func:`_refused`)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.pwrite(fd, view, offset + len(data) - len(view)):]
    except OSError as error:
        raise _refused(error) from error


def _read_all(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset`` of a temporary file this process wrote (fewer: an ``EIO``, :func:`_refused`)."""
    try:
        data = os.pread(fd, size, offset)
    except OSError as error:
        raise _refused(error) from error
    if len(data) != size:
        raise _refused(OSError(errno.EIO, "short read"))
    return data


def _batched(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    items = iter(items)
    while part := list(itertools.islice(items, size)):
        yield part


@contextmanager
def _as_os_error() -> Iterator[None]:
    """A temporary database's full disk or failed read is the system's refusal, as a temporary file's is: an
    ``OSError`` naming the directory (which the command reports in one line), not SQLite's ``OperationalError``."""
    try:
        yield
    except sqlite3.OperationalError as error:
        for words, code in (("full", errno.ENOSPC), ("disk I/O error", errno.EIO)):
            if words in str(error):
                raise OSError(code, f"the build's temporary database of names, in {tempfile.gettempdir()}: {error}") from error
        raise


def _temporary_database(cache_kib: int) -> sqlite3.Connection:
    """An unnamed temporary SQLite database (on disk, gone with its connection), with a page cache of ``cache_kib``,
    never synced and without a journal: nothing in it outlives the process, so nothing needs recovering.  A write
    that fails (a full disk: an ``OSError``, :func:`_as_os_error`) leaves it unusable, and the build stops there;
    a journal in memory, which would roll it back, made filling a table 45% slower."""
    db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
    for pragma in (f"cache_size = -{cache_kib}", "journal_mode = OFF", "synchronous = OFF", "locking_mode = EXCLUSIVE"):
        db.execute(f"PRAGMA {pragma}")
    return db


class SortedFile:
    """The names of a :class:`SortedNames` past :data:`_IN_MEMORY`, sorted by SQLite (``BLOB``s of their UTF-8:
    ``str``'s order) in an unnamed temporary database: the name at position ``at`` is the row ``at + 1``."""

    def __init__(self, parts: Iterable[Sequence[bytes]]) -> None:
        self._db = _temporary_database(NameFile.PAGE_CACHE_KIB)
        with _as_os_error():
            self._db.execute("CREATE TABLE listed (name BLOB NOT NULL)")
            self._db.execute("BEGIN")
            for part in parts:
                self._db.executemany("INSERT INTO listed (name) VALUES (?)", ((name,) for name in part))
            self._db.execute("CREATE TABLE names (name BLOB NOT NULL)")
            self._db.execute("INSERT INTO names (name) SELECT name FROM listed ORDER BY name")  # rowids 1, 2, ... in order
            self._db.execute("DROP TABLE listed")
            self._db.execute("COMMIT")
        self._count = self._db.execute("SELECT count(*) FROM names").fetchone()[0]

    def __len__(self) -> int:
        return self._count

    def name(self, at: int) -> str:
        return self._db.execute("SELECT name FROM names WHERE rowid = ?", (at + 1,)).fetchone()[0].decode("utf-8", "surrogatepass")

    def names(self, lo: int, hi: int) -> list[str]:
        rows = self._db.execute("SELECT name FROM names WHERE rowid > ? AND rowid <= ? ORDER BY rowid", (lo, hi))
        return [name.decode("utf-8", "surrogatepass") for (name,) in rows]


def _utf8_order(utf8: bytearray, ends: array, name_at: Callable[[int], str]) -> np.ndarray:
    """The order of the names whose UTF-8 is ``utf8``, each ending at its entry of ``ends``: positions, as ``sorted``
    orders the names as ``str`` (by code point, which is the order of their UTF-8, lone surrogates encoded with
    ``surrogatepass`` included).

    Sorted as fixed-width bytes by numpy (``count`` times the longest name's
    bytes, for a moment).  Names longer than :data:`_FIXED_WIDTH` bytes, or
    differing only by trailing NUL characters (which fixed-width bytes do not
    tell apart), are sorted as ``str`` (``name_at``: the name at a position).
    """
    count = len(ends)
    offsets = np.frombuffer(ends, dtype=np.uint64).astype(np.int64) if count else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], offsets[:-1]]) if count else offsets
    width = int((offsets - starts).max()) if count else 0
    if count > 1 and width <= _FIXED_WIDTH:
        fixed = np.empty(count, dtype=f"S{max(width, 1)}")
        view = memoryview(utf8)
        for lo in range(0, count, 4096):
            fixed[lo:lo + 4096] = [view[a:b].tobytes() for a, b in zip(starts[lo:lo + 4096].tolist(), offsets[lo:lo + 4096].tolist())]
        del view
        order = np.argsort(fixed, kind="stable")
        # names are distinct: equal here means trailing NULs; compared a stretch at a time, not as a sorted copy
        if not any((fixed[order[lo + 1:lo + 4097]] == fixed[order[lo:lo + 4096][:count - lo - 1]]).any()
                   for lo in range(0, count - 1, 4096)):
            return order
    return np.array(sorted(range(count), key=name_at), dtype=np.int64)


class SortedNames(Sequence[str]):
    """Distinct names in ``sorted`` order, off the Python heap: their UTF-8 in one buffer, their ends in an array
    (8 bytes a name besides its UTF-8).  ``names[at]`` is a name, ``names[lo:hi]`` a list of them, made when asked.

    For the listing of a directory of 100,000 files: as a list of ``str``
    it took 9 MB of the Python heap, and the build's main process kept the
    memory it had been in (the allocator's arenas stayed, held by the objects
    made while the list was alive).  Taken :data:`_CONFIRMED` names at a time,
    sorted as fixed-width bytes by numpy: the order of their UTF-8, which is
    ``sorted``'s order of ``str`` (by code point; lone surrogates, from
    undecodable file names, encoded with ``surrogatepass``).  Names with a NUL
    character, which fixed-width bytes do not tell apart from their end, are
    sorted as ``str``.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._disk: SortedFile | None = None  # past _IN_MEMORY names: all of them
        parts: list[np.ndarray] = []
        names = iter(names)
        count = 0
        for part in _parts(names):
            encoded = [name.encode("utf-8", "surrogatepass") for name in part]
            count += len(part)
            if count > _IN_MEMORY:  # (no NUL in the parts so far: their bytes are the names' UTF-8)
                rest = ([name.encode("utf-8", "surrogatepass") for name in more] for more in _parts(names))
                self._disk = SortedFile(itertools.chain((p.tolist() for p in parts), [encoded], rest))
                self._utf8, self._ends = bytearray(), array("Q")
                return
            if "\0" in "".join(part):
                self._set(sorted([*itertools.chain.from_iterable(_texts(p) for p in parts), *part, *names]))
                return
            parts.append(np.array(encoded, dtype=bytes))
            del part, encoded
        width = max((p.dtype.itemsize for p in parts), default=1)
        fixed = np.empty(sum(map(len, parts)), dtype=f"S{width}")
        at = 0
        while parts:  # each part copied, then let go
            part = parts.pop(0)
            fixed[at:at + len(part)] = part
            at += len(part)
            del part
        fixed.sort()  # (distinct names: no order among equals to keep)
        self._utf8, self._ends = bytearray(), array("Q")
        for lo in range(0, len(fixed), _CONFIRMED):
            block = fixed[lo:lo + _CONFIRMED]
            grid = block.view(np.uint8).reshape(len(block), width)
            sizes = width - np.argmax(grid[:, ::-1] != 0, axis=1)  # trailing NULs are padding
            sizes[~grid.any(axis=1)] = 0
            self._ends.frombytes((np.cumsum(sizes, dtype=np.uint64) + np.uint64(len(self._utf8))).tobytes())
            self._utf8 += grid[np.arange(width) < sizes[:, None]].tobytes()

    def packed(self) -> bytes | None:
        """The names as bytes (where each one's UTF-8 ends, 8 bytes each, little-endian, then their UTF-8), which
        :meth:`unpacked` takes back; ``None`` for names on disk (past :data:`_IN_MEMORY`)."""
        if self._disk is not None:
            return None
        ends = array("Q", self._ends)
        if sys.byteorder != "little":
            ends.byteswap()
        return len(ends).to_bytes(8, "little") + ends.tobytes() + bytes(self._utf8)

    @classmethod
    def unpacked(cls, data: bytes) -> "SortedNames":
        """The names :meth:`packed` gave ``data`` for, not sorted again."""
        names = cls()
        count = int.from_bytes(data[:8], "little")
        if len(data) < 8 + 8 * count:
            raise ValueError("packed names shorter than their count says")
        names._ends = array("Q")
        names._ends.frombytes(data[8:8 + 8 * count])
        if sys.byteorder != "little":
            names._ends.byteswap()
        names._utf8 = bytearray(data[8 + 8 * count:])
        if (names._ends[-1] if count else 0) != len(names._utf8):
            raise ValueError("packed names whose UTF-8 is not as long as their ends say")
        return names

    def _set(self, names: list[str]) -> None:
        encoded = [name.encode("utf-8", "surrogatepass") for name in names]
        self._utf8 = bytearray(b"".join(encoded))
        self._ends = array("Q", itertools.accumulate(map(len, encoded)))

    def __len__(self) -> int:
        return len(self._ends) if self._disk is None else len(self._disk)

    @overload
    def __getitem__(self, at: int) -> str: ...

    @overload
    def __getitem__(self, at: slice) -> list[str]: ...

    def __getitem__(self, at: int | slice) -> str | list[str]:
        if isinstance(at, slice):
            lo, hi, step = at.indices(len(self))
            if step != 1 or hi <= lo:
                return [self[i] for i in range(lo, hi, step)]
            return _texts_of(self._utf8, self._ends, lo, hi) if self._disk is None else self._disk.names(lo, hi)
        if at < 0:
            at += len(self)
        if not 0 <= at < len(self):
            raise IndexError("name index out of range")
        return _decoded(self._utf8, self._ends, at) if self._disk is None else self._disk.name(at)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SortedNames) and self._disk is None and other._disk is None:
            return self._ends == other._ends and self._utf8 == other._utf8
        if isinstance(other, (SortedNames, list, tuple)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        return f"SortedNames({self[:3]!r}{'...' if len(self) > 3 else ''}, {len(self)} names)"


def _decoded(utf8: bytearray, ends: array, at: int) -> str:
    return utf8[ends[at - 1] if at > 0 else 0:ends[at]].decode("utf-8", "surrogatepass")


def _texts_of(utf8: bytearray, ends: array, lo: int, hi: int) -> list[str]:
    """The names at positions ``lo:hi`` (``lo < hi``): decoded at once when they are ASCII."""
    first = ends[lo - 1] if lo > 0 else 0
    region = utf8[first:ends[hi - 1]]
    if region.isascii():
        text = region.decode("ascii")
        bounds = [end - first for end in ends[lo:hi]]
        return [text[a:b] for a, b in zip([0, *bounds[:-1]], bounds)]
    return [_decoded(utf8, ends, i) for i in range(lo, hi)]


def _parts(names: Iterator[str]) -> Iterator[list[str]]:
    while part := list(itertools.islice(names, _CONFIRMED)):
        yield part


def _texts(part: np.ndarray) -> list[str]:
    return [name.decode("utf-8", "surrogatepass") for name in part.tolist()]
