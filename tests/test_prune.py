"""Pruning the cache: a build with ``prune_cache`` leaves what a cold build would have made, and nothing it used goes."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import pytest

import newscorpus.build
import newscorpus.pipeline
from newscorpus import cli
from newscorpus.build import CACHE_NAMESPACES, build
from newscorpus.cache import Cache, CacheLock, LiveEntries, key_prefixes, prune
from newscorpus.corpus import CorpusLayout
from newscorpus.pipeline import Job, ProcessMapper, ScanIndex

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synth import generate  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def names(cache: Path) -> set[str]:
    """The cache's entries, by path relative to it (temporary files aside)."""
    return {str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file() and not p.name.endswith(".tmp")}


def inode(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino


def age(cache: Path) -> None:
    """Date every file of the cache an hour back, as if the last build were not a moment ago (what was written since
    a pruning build began is kept)."""
    then = time.time_ns() - 3600 * 10**9
    for path in cache.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(then, then))


def run(corpus: Path, out: Path, cache: Path, **kwargs):
    return build(CorpusLayout(corpus), out, cache_dir=cache, mapper=ProcessMapper(2), group_articles=8, **kwargs)


class _LaterClock:
    """The ``time`` module, but for ``time_ns``, which is ahead by a minute."""

    def __getattr__(self, name: str):
        return getattr(time, name)

    @staticmethod
    def time_ns() -> int:
        return time.time_ns() + 60 * 10**9


def run_pruning_strictly(corpus: Path, out: Path, cache: Path, monkeypatch: pytest.MonkeyPatch):
    """A pruning build that believes it began a minute from now: no entry is kept for being new, so each one kept is
    kept because the build named it as used."""
    with monkeypatch.context() as patch:
        patch.setattr(newscorpus.build, "time", _LaterClock())
        return run(corpus, out, cache, prune_cache=True)


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------- what changed since the last build, and what stays


def change_converter(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new converter version, as a new release runs it: a new code fingerprint (computed once per process)."""
    monkeypatch.setattr(newscorpus, "CONVERTER_VERSION", newscorpus.CONVERTER_VERSION + "+pruned")
    newscorpus.pipeline.code_fingerprint.cache_clear()


@pytest.fixture(autouse=True)
def _fingerprint_of_the_code_as_it_is():
    yield
    newscorpus.pipeline.code_fingerprint.cache_clear()


def change_one_raw_file(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    path = corpus / "raw" / entries[5]["file"]
    path.write_text(path.read_text(encoding="utf-8").replace(" the ", " teh ", 1), encoding="utf-8")
    entries[5]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")


def remove_one_raw_file(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = corpus / "raw" / "manifest.jsonl"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    gone = json.loads(lines.pop(7))
    (corpus / "raw" / gone["file"]).unlink()
    for document in (corpus / "annotations").rglob("*.json"):
        if json.loads(document.read_text(encoding="utf-8")).get("article", {}).get("id") == gone["id"]:
            document.unlink()
    manifest.write_text("".join(lines), encoding="utf-8")


def nothing(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pass


@pytest.mark.parametrize("recorded", [True, False], ids=["files-recorded-in-the-index", "files-just-written"])
@pytest.mark.parametrize("change", [change_converter, change_one_raw_file, remove_one_raw_file, nothing],
                         ids=lambda f: f.__name__)
def test_a_pruned_cache_holds_what_a_cold_build_makes_and_serves_the_next_build_whole(tmp_path, monkeypatch, change,
                                                                                     recorded):
    """Files are used from the index's rows, or (changed a moment ago, so not recorded by their stat) from what the
    scan saw."""
    if recorded:
        monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 24, seed=41)
    out, cache = tmp_path / "dataset", tmp_path / "cache"
    run(corpus, out, cache)
    before = names(cache)
    change(corpus, monkeypatch)
    pruned = run_pruning_strictly(corpus, out, cache, monkeypatch)
    assert pruned.pruned is not None and not pruned.pruned.skipped
    kept = names(cache)
    output = tree(out)

    cold_cache = tmp_path / "cold"
    run(corpus, out, cold_cache)
    cold = names(cold_cache)
    assert tree(out) == output
    assert cold <= kept, "an entry this build used was removed"
    # what stays besides is a name of a pack one of whose other names is in use (removing it would free nothing)
    live_inodes = {inode(cache / name) for name in cold}
    extra = kept - cold
    assert all(inode(cache / name) in live_inodes for name in extra), sorted(extra)
    assert pruned.pruned.entries == len(before | kept) - len(kept)
    if change is nothing:
        assert pruned.pruned.entries == 0 and kept == before
    if change is change_converter:
        assert extra == set() and pruned.pruned.nbytes > 0

    again = run(corpus, out, cache)
    assert again.cache.misses == {} and tree(out) == output


def test_entries_another_build_is_writing_are_kept_and_only_old_temporary_files_go(tmp_path, monkeypatch):
    corpus = generate(tmp_path / "c", 10, seed=43)
    out, cache = tmp_path / "dataset", tmp_path / "cache"
    run(corpus, out, cache)
    store = Cache(cache)
    store.put("convert", "ab" * 32, {"from": "another build"})  # written while this one runs
    written = store.path("convert", "ab" * 32)
    stale, fresh = cache / "convert" / f".pack.1.{'d' * 16}.tmp", cache / "shard" / "ab" / f".abcdef01.2.{'e' * 16}.tmp"
    fresh.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"left by a killed build")
    fresh.write_bytes(b"being written")
    os.utime(stale, ns=(time.time_ns() - 2 * 3600 * 10**9,) * 2)
    since = time.time_ns() - 10**12  # the pruning build began before the other wrote its entry
    os.utime(written, ns=(since + 10**9,) * 2)
    os.utime(fresh, ns=(since - 1800 * 10**9,) * 2)  # a long write (half an hour before the build began) may still run
    monkeypatch.setattr(time, "time_ns", lambda: since)
    result = run(corpus, out, cache, prune_cache=True)
    assert written.exists() and fresh.exists() and not stale.exists()
    assert result.pruned.entries == 1


def built_with_an_unused_entry(tmp_path: Path, seed: int) -> tuple[Path, Path, Path, Path]:
    """A built corpus whose cache also holds an old entry no build uses: the corpus, output, cache and that entry."""
    corpus = generate(tmp_path / "c", 10, seed=seed)
    out, cache = tmp_path / "dataset", tmp_path / "cache"
    run(corpus, out, cache)
    Cache(cache).put("convert", "cd" * 32, {"from": "an older version"})
    unused = Cache(cache).path("convert", "cd" * 32)
    os.utime(unused, ns=(time.time_ns() - 10**12,) * 2)
    return corpus, out, cache, unused


def test_nothing_is_pruned_when_another_build_held_the_scans_index(tmp_path, monkeypatch):
    """Without its own saved index the build does not know every entry it used: it prunes nothing, and says so."""
    import sqlite3

    import newscorpus.pipeline

    corpus, out, cache, unused = built_with_an_unused_entry(tmp_path, 47)
    path = ScanIndex.path_of(Job.of(CorpusLayout(corpus), cache.resolve()))
    monkeypatch.setattr(newscorpus.pipeline, "_INDEX_BUSY_SECONDS", 0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        held = run(corpus, out, cache, prune_cache=True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "held the scan's index" in held.pruned.skipped and held.pruned.entries == 0 and unused.exists()
    age(cache)
    assert run(corpus, out, cache, prune_cache=True).pruned.entries == 1 and not unused.exists()


def test_nothing_is_pruned_while_another_build_uses_the_cache(tmp_path):
    """A build between its scan and its write (or reading its index) holds the cache: what it found must stay found."""
    corpus, out, cache, unused = built_with_an_unused_entry(tmp_path, 61)
    other = CacheLock(cache)  # another build, in another process or this one: its own open file, its shared hold
    try:
        result = run(corpus, out, cache, prune_cache=True)
    finally:
        other.close()
    assert result.pruned.skipped == "another build is using the cache" and unused.exists()
    assert run(corpus, out, cache, prune_cache=True).pruned.entries == 1 and not unused.exists()


def test_a_build_waits_for_a_prune(tmp_path):
    import threading

    cache = tmp_path / "cache"
    pruner = CacheLock(cache)
    assert pruner.exclusive()
    started = threading.Event()
    done = threading.Event()

    def another_build() -> None:
        started.set()
        CacheLock(cache).close()
        done.set()

    thread = threading.Thread(target=another_build)
    thread.start()
    started.wait()
    assert not done.wait(0.3)  # held up while the prune runs
    pruner.close()
    assert done.wait(5)
    thread.join()


def test_an_index_that_cannot_be_read_whole_names_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)  # the files just made are recorded by their stat
    corpus = generate(tmp_path / "c", 6, seed=59)
    run(corpus, tmp_path / "dataset", tmp_path / "cache")
    job = Job.of(CorpusLayout(corpus), (tmp_path / "cache").resolve())
    used = {path.name for path in (tmp_path / "cache").glob("[cd]o*/*/*") if path.is_file()}  # convert/, document/
    assert len(used) > 6 and sorted(ScanIndex.keys(job).tolist()) == sorted(int(name[:16], 16) for name in used)
    ScanIndex.path_of(job).write_bytes(b"not a database" * 100)
    assert ScanIndex.keys(job) is None


# --------------------------------------------------------------- the sweep itself, on a made-up cache


def test_a_pack_goes_when_every_name_of_it_is_unused_and_stays_whole_otherwise(tmp_path):
    store = Cache(tmp_path)
    keys = [f"{i:064x}" for i in range(6)]
    store.put_many("convert", [(k, {}, b"x" * 1000) for k in keys[:3]])
    store.put_many("document", [(k, {}, b"y" * 1000) for k in keys[3:]])
    (tmp_path / "README").write_text("not the cache's")
    (tmp_path / "convert" / "notes.txt").write_text("not an entry")
    old = time.time_ns() - 10 * 10**9
    for path in tmp_path.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))
    live = LiveEntries({store.location("document", keys[4])}, key_prefixes([]), frozenset({"convert", "document"}))
    result = prune(tmp_path, live, old + 5 * 10**9, CACHE_NAMESPACES)
    assert names(tmp_path) == {"README", "convert/notes.txt", *(f"document/{k[:2]}/{k}" for k in keys[3:])}
    assert result.entries == 3 and result.nbytes == store.path("document", keys[4]).stat().st_size


def test_only_the_caches_own_names_are_removed_and_no_link_is_followed(tmp_path):
    """``--cache .`` puts the corpus beside the namespaces; a namespace may be a link; names may look almost like keys."""
    store = Cache(tmp_path)
    store.put("convert", "ab" * 32, {})
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    keep = [
        tmp_path / "corpus" / "ab" / ("ab" * 32),  # not a namespace
        tmp_path / "convert" / "xy" / ("ab" * 32),  # not a folder of entries
        tmp_path / "convert" / "abc" / ("abc" + "d" * 61),  # nor this
        tmp_path / "convert" / "ab" / ("cd" * 32),  # not its folder's
        tmp_path / "convert" / "ab" / ("ab" + "0" * 13 + "_" + "0" * 48),  # not hex (int() would take it)
        tmp_path / "convert" / "ab" / "notes.tmp",  # not a temporary name the cache makes
        outside / "ab" / ("ab" * 32),  # reached through a link
    ]
    for path in keep:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not the cache's")
    (tmp_path / "shard").symlink_to(outside, target_is_directory=True)
    (tmp_path / "document").mkdir()
    (tmp_path / "document" / "ab").symlink_to(outside / "ab", target_is_directory=True)
    old = time.time_ns() - 7200 * 10**9
    for path in [*keep, store.path("convert", "ab" * 32)]:
        os.utime(path, ns=(old, old))
    result = prune(tmp_path, LiveEntries(set(), key_prefixes([]), frozenset({"convert", "document"})), time.time_ns(),
                   CACHE_NAMESPACES)
    assert result.entries == 1 and not store.path("convert", "ab" * 32).exists()
    assert all(path.exists() for path in keep)


def test_a_name_that_is_not_a_key_is_never_live_by_key():
    live = LiveEntries(set(), key_prefixes(["ab" * 32]), frozenset({"convert"}))
    almost = "ab" * 8 + "_" + "0" * 47  # int() reads "abababababababab"; the name is no key
    assert live.live("convert", "/c/convert/ab", ["ab" * 32, almost, "ab" * 31, ("ab" * 32).upper()]) == [True, False, False, False]
    assert live.live("shard", "/c/shard/ab", ["ab" * 32]) == [False]


def test_a_name_that_cannot_be_removed_is_counted_and_the_rest_go(tmp_path, monkeypatch):
    import newscorpus.cache

    store = Cache(tmp_path)
    keys = ["ab" * 32, "cd" * 32]
    for key in keys:
        store.put("convert", key, {})
        os.utime(store.path("convert", key), ns=(10**18, 10**18))
    real = os.unlink

    def unlink(path, *args, **kwargs):
        if str(path).endswith(keys[0]):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(newscorpus.cache.os, "unlink", unlink)
    result = prune(tmp_path, LiveEntries(set(), key_prefixes([]), frozenset({"convert"})), time.time_ns(), CACHE_NAMESPACES)
    assert (result.entries, result.failed) == (1, 1)
    assert store.path("convert", keys[0]).exists() and not store.path("convert", keys[1]).exists()


def test_a_temporary_name_of_a_pack_in_use_stays(tmp_path):
    store = Cache(tmp_path)
    keys = [f"{i:064x}" for i in range(3)]
    store.put_many("convert", [(k, {}, b"x") for k in keys])
    leftover = tmp_path / "convert" / "00" / f"{keys[0]}.123.{'0' * 16}.tmp"  # a killed _link's
    os.link(store.path("convert", keys[0]), leftover)
    old = time.time_ns() - 7200 * 10**9
    for path in tmp_path.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))
    result = prune(tmp_path, LiveEntries({store.location("convert", keys[1])}, key_prefixes([]), frozenset()), time.time_ns(),
                   CACHE_NAMESPACES)
    assert result.entries == 0 and leftover.exists()


def test_entries_are_found_live_by_the_first_64_bits_of_their_key_in_keyed_namespaces_only(tmp_path):
    store = Cache(tmp_path)
    live_key, dead_key, twin = "ab" * 32, "cd" * 32, "ab" * 8 + "ef" * 24  # the twin shares the live key's first 64 bits
    for namespace in ("convert", "shard"):
        for key in (live_key, dead_key, twin):
            store.put(namespace, key, {})
    old = time.time_ns() - 10 * 10**9
    for path in tmp_path.rglob("*"):
        os.utime(path, ns=(old, old))
    result = prune(tmp_path, LiveEntries(set(), key_prefixes([live_key]), frozenset({"convert"})), old + 5 * 10**9,
                   CACHE_NAMESPACES)
    assert names(tmp_path) == {f"convert/{live_key[:2]}/{live_key}", f"convert/{twin[:2]}/{twin}"}
    assert result.entries == 4


def test_the_cli_prunes_on_request_and_says_what_it_freed(tmp_path, monkeypatch, capsys):
    corpus = generate(tmp_path / "c", 10, seed=53)
    out, cache = tmp_path / "dataset", tmp_path / "cache"
    args = ["build", "--corpus", str(corpus), "--out", str(out), "--cache", str(cache), "--workers", "1"]
    assert cli.main(args) == 0
    age(cache)
    change_converter(corpus, monkeypatch)
    capsys.readouterr()
    assert cli.main([*args, "--prune-cache"]) == 0
    printed = capsys.readouterr().out
    assert "cache: pruned " in printed and " unused entries, " in printed and "MB freed" in printed
    assert "cache: pruned 0 " not in printed
    other = CacheLock(cache)
    try:
        assert cli.main([*args, "--prune-cache"]) == 0
    finally:
        other.close()
    assert "cache: not pruned: another build is using the cache; run again to prune" in capsys.readouterr().out


def test_the_cli_prunes_a_corpus_named_by_a_relative_path(tmp_path, monkeypatch, capsys):
    """The scan's index is kept per absolute corpus directory; the prune reads the same one (a relative --corpus
    named another, and nothing was ever pruned)."""
    corpus = generate(tmp_path / "c", 10, seed=54)
    monkeypatch.chdir(tmp_path)
    args = ["build", "--corpus", str(corpus.relative_to(tmp_path)), "--out", "dataset", "--workers", "1"]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert cli.main([*args, "--prune-cache"]) == 0
    printed = capsys.readouterr().out
    assert "cache: pruned 0 unused entries, 0.0 MB freed" in printed, printed
