"""NameTable: a map from names to positions and values, compact, exact whatever the names' hashes; SortedNames: a
sorted listing, compact."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile

import numpy as np
import pytest

import newscorpus.names
from newscorpus.names import HashFile, NameTable, SortedNames


@pytest.fixture(params=["in memory", "on disk"], autouse=True)
def where(request, monkeypatch) -> str:
    """Every test of a table runs twice: as a small table, in memory, and as one that moved to disk after its first
    100 names (with its recent names and sorted arrays as they were then), its search's file in blocks of 4 hashes,
    merged 16 at a time and searched 8 at a time (so that every test crosses their edges)."""
    if request.param == "on disk":
        monkeypatch.setattr(newscorpus.names, "_IN_MEMORY", 100)
        for name, size in (("BLOCK", 4), ("PART", 16), ("ASKED", 8)):
            monkeypatch.setattr(newscorpus.names.HashFile, name, size)
    return request.param


class Colliding(str):
    """A name whose hash is the same as every other Colliding name's: the table must tell them apart by the name."""

    def __hash__(self) -> int:
        return 7


def _names(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"outlet-{rng.randrange(10**9):09d}-{i}" + rng.choice(["", "é", "日本", "🙂"]) for i in range(count)]


@pytest.mark.parametrize("count", [0, 1, 2047, 2049, 20_000])  # below, at and past the merges of recent names
def test_a_table_answers_as_a_dict_of_positions_and_values(count: int) -> None:
    names = _names(count)
    table = NameTable()
    for line, name in enumerate(names, 1):
        assert table.add(name, line) == line - 1
    expected = {name: line for line, name in enumerate(names, 1)}
    assert len(table) == count
    assert list(table) == names
    assert [table[at] for at in range(count)] == names
    assert all(table.find(name) == expected[name] - 1 and table.get(name) == expected[name] for name in names)
    assert all(name in table for name in names)
    for absent in ["", "outlet-", names[0][:-1] if names else "x", "never-added"]:
        assert absent not in table
        assert table.find(absent) == -1
        assert table.get(absent) is None and table.get(absent, -5) == -5
    assert 3 not in table  # not a name
    absent = ["never-added", names[0] + "x" if names else "y"]
    assert table.find_many(names + absent) == [*range(count), -1, -1]  # one search: the sorted arrays and the recent names


def test_names_with_one_hash_are_told_apart() -> None:
    names = [Colliding(f"id-{i}") for i in range(2100)]  # past the first merge into the sorted arrays
    table = NameTable()
    table.extend(names, range(2100))
    assert all(table.find(name) == i for i, name in enumerate(names))
    assert table.find_many([*names[::-7], Colliding("id-2100")]) == [*range(2099, -1, -7), -1]
    assert table.find(Colliding("id-2100")) == -1
    assert table.isdisjoint([Colliding("id-2100"), Colliding("other")])
    assert not table.isdisjoint([Colliding("other"), Colliding("id-2099")])


@pytest.mark.parametrize("count", [10, 3000])
def test_isdisjoint_is_exact(count: int) -> None:
    names = _names(count)
    table = NameTable(names)
    others = _names(count, seed=2)
    assert table.isdisjoint(others)
    assert table.isdisjoint([])
    assert NameTable().isdisjoint(names)
    for name in (names[0], names[-1], names[count // 2]):
        assert not table.isdisjoint([*others, name])


def test_setdefault_adds_once_and_answers_the_first_value() -> None:
    table = NameTable()
    assert table.setdefault("a", 1) == 1
    assert table.setdefault("b", 2) == 2
    assert table.setdefault("a", 3) == 1
    assert list(table) == ["a", "b"] and table.value(0) == 1 and table.value(1) == 2


def test_the_digest_changes_with_any_name_and_their_order() -> None:
    def digest(names: list[str]) -> str:
        h = hashlib.sha256()
        NameTable(names).update(h)
        return h.hexdigest()

    assert digest(["ab", "c"]) == digest(["ab", "c"])
    assert len({digest(["ab", "c"]), digest(["a", "bc"]), digest(["c", "ab"]), digest(["ab", "c", ""]), digest([])}) == 5


HARD_ORDERS = [
    [],
    ["b"],
    ["b", "a", "c"],
    ["é", "z", "a", "Z", "日本", "🙂", "\uffff", "\ud7ff", "\ue000"],
    ["a\x00", "a", "a\x00\x00", "b"],  # equal as fixed-width bytes: sorted as str
    ["\ud800x", "\udfff", "\ud7ff", "\ue000"],  # lone surrogates, as a JSON string may hold
    ["x" * 300, "x" * 299 + "a", "b"],  # longer than the fixed width
    _names(10_000, seed=3),
]


@pytest.mark.parametrize("names", HARD_ORDERS)
def test_in_order_is_the_sorted_order_of_the_names(names: list[str]) -> None:
    table = NameTable(names)
    assert [table[at] for at in table.in_order().tolist()] == sorted(names)
    assert list(table) == names


def test_a_name_costs_its_utf8_and_a_few_words(where: str) -> None:
    """The point of the table: 24 bytes per name besides its UTF-8 (and a dict of the last few thousand added), where
    a dict of ``str`` to ``int`` costs about 140 bytes per name more than its UTF-8 (measured on these names); on disk,
    neither its UTF-8 nor its hash and position (12 bytes a name until the thirty-third session), which are in
    temporary files: where each block of names starts and the first hash of each block of hashes stay, 8 bytes per
    64 names each, with the recent names' dict (6 bytes a name measured, where the search in memory made it 17)."""
    import tracemalloc

    count = 20_000
    names = _names(count, seed=4)
    utf8 = sum(len(name.encode("utf-8")) for name in names)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table = NameTable()
    for line, name in enumerate(names):
        table.add(f"{name}", line)  # a copy: the table keeps only the recent names' str
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(table) == count
    if where == "in memory":
        assert (held - utf8) / count < 50, held
    else:
        recent = newscorpus.names._RECENT * 200  # at most that many recent names, their str and dict slots
        assert held < recent < utf8, held  # the names' UTF-8 alone is 600 KB
        assert held < 12 * count, held  # their hashes and positions alone, 240 KB (the search in memory: 340 measured)
        assert os.fstat(table._disk._fd).st_size > utf8 - 64 * 100  # the names but the last block's are in the file


MANY_HARD = [*dict.fromkeys([*(name for hard in HARD_ORDERS for name in hard), *(f"{i}\x00{i}" for i in range(5_000))])]


@pytest.mark.parametrize("names", [*HARD_ORDERS, ["", "a", "ab", "\udc80.json", "\udcff"], _names(9_000, seed=5), MANY_HARD,
                                   MANY_HARD[::-1]])
def test_sorted_names_are_what_sorted_gives(names: list[str], where: str) -> None:
    listing = SortedNames(iter(names))  # taken a part at a time, as from a directory's listing
    assert (listing._disk is not None) == (where == "on disk" and len(names) > 100)
    expected = sorted(names)
    assert len(listing) == len(expected) and list(listing) == expected and listing == expected
    assert [listing[at] for at in range(len(expected))] == expected
    if expected:
        assert listing[-1] == expected[-1]
    for lo, hi in [(0, 1024), (1, 3), (len(expected) - 2, len(expected) + 5), (5, 2), (0, len(expected))]:
        assert listing[lo:hi] == expected[lo:hi]
    assert listing[::3] == expected[::3]
    with pytest.raises(IndexError):
        listing[len(expected)]
    packed = listing.packed()  # (what the scan's index keeps of a directory's listing held in memory)
    assert (packed is None) == (listing._disk is not None)
    if packed is not None:
        again = SortedNames.unpacked(packed)
        assert again == listing and list(again) == expected and again[1:3] == expected[1:3] and len(again) == len(expected)
        with pytest.raises(ValueError):  # (bytes not as packed: the scan lists the directory again)
            SortedNames.unpacked(packed[:-1])


def test_a_sorted_listing_costs_its_utf8_and_a_word() -> None:
    """The point of it: 8 bytes per name besides its UTF-8, where a list of ``str`` costs about 60 bytes more."""
    import tracemalloc

    names = _names(20_000, seed=6)
    utf8 = sum(len(name.encode("utf-8")) for name in names)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    listing = SortedNames(f"{name}" for name in names)  # copies, as a directory's listing makes them
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(listing) == 20_000
    assert (held - utf8) / len(names) < 12, held


def test_a_table_moved_to_disk_answers_as_one_in_memory(monkeypatch) -> None:
    """The same names, values, order, lookups and digest (a cache key is made from it), whether a table stayed in
    memory or moved to disk part of the way through (hard names included: NULs, lone surrogates, long names)."""
    names = [*dict.fromkeys(name for hard in HARD_ORDERS for name in hard)]
    monkeypatch.setattr(newscorpus.names, "_IN_MEMORY", 1 << 20)
    memory = NameTable()
    memory.extend(names, range(len(names)))
    monkeypatch.setattr(newscorpus.names, "_IN_MEMORY", 2_500)
    disk = NameTable()
    for lo in range(0, len(names), 1_000):
        disk.extend(names[lo:lo + 1_000], range(lo, min(lo + 1_000, len(names))))
    assert memory._disk is None and disk._disk is not None
    digests = []
    for table in (memory, disk):
        h = hashlib.sha256()
        table.update(h)
        digests.append(h.hexdigest())
    assert digests[0] == digests[1]
    assert memory.in_order().tolist() == disk.in_order().tolist()
    assert list(memory) == list(disk) == names
    probe = [*names[::97], "never-added", "a\x00\x00\x00"]
    assert memory.find_many(probe) == disk.find_many(probe) == [memory.find(name) for name in probe]
    assert [disk.get(name) for name in probe] == [memory.get(name) for name in probe]


@pytest.mark.parametrize("spread", [3, 50, 2**62])  # hashes mostly equal (runs across blocks and parts), some, none
def test_the_search_on_disk_answers_as_sorted_arrays(spread: int) -> None:
    """A :class:`HashFile` filled by merges of sorted batches answers as one sorted array of all of them would: for each
    hash, whether it is there, the first position with it, and all of them in order (a later merge's after an
    earlier's), whatever the blocks, parts and searches' sizes (the fixture's on disk: 4, 16 and 8)."""
    rng = np.random.default_rng(spread)
    search, added = HashFile(), []
    for size in (0, 1, 5, 40, 300, 17):
        keys = np.sort(rng.integers(-spread, spread, size=size, dtype=np.int64), kind="stable")
        positions = np.arange(len(added), len(added) + size, dtype=np.int32)
        search.merge(keys, positions)
        added += list(zip(keys.tolist(), positions.tolist()))
    reference = sorted(added, key=lambda pair: pair[0])  # (stable: equal hashes in the order they came)
    probe = np.array([*{key for key, _ in added}, -spread - 1, spread + 1, 0, 1, -1], dtype=np.int64)
    hit, first = search.search(probe)
    for key, found, at in zip(probe.tolist(), hit.tolist(), first.tolist()):
        positions = [position for held, position in reference if held == key]
        assert found == bool(positions) and (not found or at == positions[0])
        assert search.positions_of(key).tolist() == positions
    assert len(search) == len(added)


def test_a_refused_merge_leaves_the_search_as_it_was(monkeypatch, where: str) -> None:
    """A full disk under the search's file (a merge of recent names) is the system's refusal, and leaves the table
    answering as before: the names it could not merge are still found, and merged by the next merge."""
    import errno

    monkeypatch.setattr(newscorpus.names, "_IN_MEMORY", 10)
    before, more, extra = _names(3_000), _names(2_100, seed=9), _names(2_100, seed=10)
    table = NameTable(before)
    real = HashFile._write_part

    def full(self, *args):
        raise newscorpus.names._refused(OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(HashFile, "_write_part", full)
    with pytest.raises(OSError) as refused:
        table.extend(more, range(3_000, 5_100))
    assert refused.value.errno == errno.ENOSPC and tempfile.gettempdir() in str(refused.value)
    names = before + more
    assert table.find_many(names) == list(range(5_100)) and table.find(more[-1]) == 5_099
    monkeypatch.setattr(HashFile, "_write_part", real)
    table.extend(extra)
    assert len(table._recent) < newscorpus.names._RECENT  # merged
    assert table.find_many(names + extra + ["never-added"]) == [*range(7_200), -1]


def test_a_full_disk_under_a_table_on_disk_is_the_system_s_refusal(monkeypatch) -> None:
    """A full disk under a table's temporary file, or SQLite's "database or disk is full" under a sorted listing, is
    an OSError (ENOSPC) naming the directory, which the command reports in one line, as a full disk under any
    temporary file (the build stops there); a refused write leaves the table as it was, and a short write is
    written on."""
    import errno

    monkeypatch.setattr(newscorpus.names, "_IN_MEMORY", 10)
    before, more = _names(2_000), _names(5_000, seed=9)
    table = NameTable(before)
    pwrite, short = os.pwrite, {"writes": 0, "full": False}

    def disk(fd: int, data, offset: int) -> int:
        if short["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        short["writes"] += 1
        return pwrite(fd, data[:max(1, len(data) // 3)], offset)  # a third at most each time

    monkeypatch.setattr(newscorpus.names.os, "pwrite", disk)
    short["full"] = True
    with pytest.raises(OSError) as refused:
        table.extend(more)
    assert refused.value.errno == errno.ENOSPC and "temporary file of names" in str(refused.value)
    assert tempfile.gettempdir() in str(refused.value)
    kept = before + more  # the names refused a block stay in the table's last block, in memory, and are found
    assert list(table) == kept and table.names_at(range(0, len(kept), 7)) == kept[::7]
    assert table.find_many(kept) == list(range(len(kept))) and table.find(more[-1]) == len(kept) - 1
    short["full"] = False
    extra = [f"extra-{i}" for i in range(300)]
    table.extend(extra, range(300))
    assert short["writes"] > 1 and list(table) == kept + extra  # each write short: written on until whole
    assert table.find_many(extra[::31] + before[::97]) == [len(kept) + i for i in range(0, 300, 31)] + list(range(0, 2_000, 97))
    assert [table.value(table.find(name)) for name in extra[:5]] == list(range(5))
    real = newscorpus.names._temporary_database

    def small(cache_kib: int):
        db = real(cache_kib)
        db.execute("PRAGMA max_page_count = 3")
        return db

    monkeypatch.setattr(newscorpus.names, "_temporary_database", small)
    with pytest.raises(OSError) as refused:
        SortedNames(iter(_names(5_000, seed=9)))  # a sorted listing on disk
    assert refused.value.errno == errno.ENOSPC
