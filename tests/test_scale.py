"""Scale: the synthetic corpus, the streaming sharded build, its cache, and its equivalence to the in-memory path."""

from __future__ import annotations

import ast
import errno
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
from array import array
from collections import Counter
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import newscorpus.build
import newscorpus.pipeline

from newscorpus.build import ARTICLE_COLUMN, CONFIGS, article_row, build, entity_rows, features, group_bounds, quote_rows
from newscorpus.cache import Cache, CacheStats, key_of
from newscorpus.clusters import split_of, wire_clusters
from newscorpus.corpus import CorpusLayout
from newscorpus.pipeline import ProcessMapper
from newscorpus.problems import sort_key
from newscorpus.schemas import quote_types
from newscorpus.validate import validate_corpus

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synth import generate  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """A 60-article synthetic corpus (wire copies, three layouts, gold documents)."""
    return generate(tmp_path_factory.mktemp("synth"), 60, seed=11)


def build_once(corpus: Path, out: Path, **kwargs):
    return build(CorpusLayout(corpus), out / "dataset", cache_dir=out / "cache", mapper=ProcessMapper(kwargs.pop("workers", 1)), **kwargs)


# ---------------------------------------------------------------- the generator


def test_generator_is_deterministic_and_seeded(tmp_path):
    a, b, c = (generate(tmp_path / name, 25, seed=seed) for name, seed in (("a", 3), ("b", 3), ("c", 4)))
    assert tree_digest(a) == tree_digest(b)
    assert tree_digest(a) != tree_digest(c)


def test_generator_has_realistic_shape(synthetic):
    manifest = [json.loads(line) for line in (synthetic / "raw" / "manifest.jsonl").read_text().splitlines()]
    assert len(manifest) == 60
    sizes = sorted((synthetic / "raw" / e["file"]).stat().st_size for e in manifest)
    assert 2500 < sizes[len(sizes) // 2] < 9000
    assert {e["outlet"] for e in manifest} >= {"The Moscow Times", "SpaceWar.com"} or len({e["outlet"] for e in manifest}) >= 3
    docs = [json.loads(p.read_text()) for p in (synthetic / "annotations" / "gold").glob("*.json")]
    assert len(docs) >= 45
    assert sum(len(d["mentions"]) for d in docs) / len(docs) >= 24
    assert 6 <= sum(len(d["quotes"]) for d in docs) / len(docs) <= 16
    assert {q["type"] for d in docs for q in d["quotes"]} == {"direct", "indirect", "mixed"}
    assert any(q.get("sameAs") for d in docs for q in d["quotes"])


def test_generated_corpus_validates_cleanly_and_has_wire_clusters(synthetic):
    problems, articles = validate_corpus(CorpusLayout(synthetic))
    assert problems == []
    clusters = wire_clusters({i: a["body"]["text"] for i, a in articles.items()}, {i: a["datePublished"] for i, a in articles.items()})
    assert len(set(clusters.values())) < len(clusters)


# ---------------------------------------------------------------- the cache


def read_entry(cache: Cache, reader: str, namespace: str, key: str, stats: CacheStats) -> tuple[dict, bytes] | None:
    """An entry as ``reader`` reads it: ``"get"`` whole, or ``"get_streamed"`` (its payload in pieces, joined here)."""
    if reader == "get":
        return cache.get(namespace, key, stats)
    pieces: list[bytes] = []
    meta = cache.get_streamed(namespace, key, stats, pieces.append)
    return None if meta is None else (meta, b"".join(pieces))


READERS = ["get", "get_streamed"]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("damage", ["flip-byte", "flip-byte-in-the-meta", "size-beyond-the-file", "truncate", "cut-in-the-head",
                                    "empty", "other-key"])
def test_corrupted_cache_entry_is_detected_removed_and_not_served(tmp_path, damage, reader):
    cache, stats = Cache(tmp_path), CacheStats()
    key, other = key_of({"n": 1}), key_of({"n": 2})
    cache.put("convert", key, {"id": "a"}, b"payload bytes")
    cache.put("convert", other, {"id": "b"}, b"other payload")
    path = cache.path("convert", key)
    data = path.read_bytes()
    if damage == "flip-byte":
        path.write_bytes(data[:-3] + bytes([data[-3] ^ 1]) + data[-2:])
    elif damage == "flip-byte-in-the-meta":
        at = data.index(b'"a"') + 1
        path.write_bytes(data[:at] + b"b" + data[at + 1:])
    elif damage == "size-beyond-the-file":  # the meta's size, read before the checksum can be: its top byte set
        at = data.index(b"{") - 8
        path.write_bytes(data[:at] + b"\xff" + data[at + 1:])
    elif damage == "truncate":
        path.write_bytes(data[:-5])
    elif damage == "cut-in-the-head":  # (the meta's size is read, then fewer bytes than it says)
        path.write_bytes(data[:data.index(b"{") + 3])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(cache.path("convert", other).read_bytes())
    assert read_entry(cache, reader, "convert", key, stats) is None
    assert stats.corrupted == {"convert": 1}
    assert not path.exists()
    assert read_entry(cache, reader, "convert", other, stats) == ({"id": "b"}, b"other payload")
    assert read_entry(cache, reader, "convert", key, stats) is None and stats.misses == {"convert": 1}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("size", [0, 2, 2 << 20, 5 << 20 | 3])  # none, a few bytes, two whole pieces, and a part of one
def test_cache_round_trip_and_miss(tmp_path, reader, size):
    cache, stats = Cache(tmp_path), CacheStats()
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert read_entry(cache, reader, "shard", key_of("x"), stats) is None
    cache.put("shard", key_of("x"), {"rows": 3}, payload)
    assert read_entry(cache, reader, "shard", key_of("x"), stats) == ({"rows": 3}, payload)
    assert stats.misses == {"shard": 1} and stats.hits == {"shard": 1}


def test_a_streamed_payload_comes_in_pieces_of_at_most_a_megabyte(tmp_path):
    """Read from its own file, or from a pack (put with others: read whole, then given in pieces as well)."""
    cache, stats = Cache(tmp_path), CacheStats()
    cache.put("output", key_of("x"), {}, os.urandom((5 << 20) + 3))
    cache.put_many("convert", [(key_of(n), {"n": n}, os.urandom((2 << 20) + n)) for n in (1, 2)])
    for namespace, key, expected in (("output", key_of("x"), [1 << 20] * 5 + [3]), ("convert", key_of(2), [1 << 20] * 2 + [2])):
        sizes: list[int] = []
        assert cache.get_streamed(namespace, key, stats, lambda piece: sizes.append(len(piece))) is not None
        assert sizes == expected
    assert cache.path("convert", key_of(1)).stat().st_ino == cache.path("convert", key_of(2)).stat().st_ino  # a pack


def test_a_sinks_own_error_is_raised_and_the_entry_kept(tmp_path):
    """The sink failing (a full disk under the record's temporary file) is not damage to the entry: its error is
    raised, the entry stays, and nothing is counted."""
    cache, stats = Cache(tmp_path), CacheStats()
    cache.put("output", key_of("x"), {}, os.urandom(3 << 20))

    def full(piece):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        cache.get_streamed("output", key_of("x"), stats, full)
    assert cache.path("output", key_of("x")).exists() and stats.corrupted == {} and stats.misses == {}
    assert read_entry(cache, "get_streamed", "output", key_of("x"), stats)[0] == {}


def traced(call: Callable[[], Any]) -> tuple[Any, int, int]:
    """``call()``, with what it left allocated and what it allocated at most, in bytes (``tracemalloc``)."""
    tracemalloc.start()
    try:
        result = call()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, held, peak


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_a_payload_given_as_a_buffer_is_stored_as_the_same_bytes(tmp_path, kind):
    """A payload may be a buffer (a bytearray, a memoryview: stored as it is, not copied): the entry's file is byte for
    byte the one its bytes make, and reads back as them."""
    cache, stats = Cache(tmp_path), CacheStats()
    key, payload = key_of("record"), bytes(range(256)) * 40
    cache.put("output", key, {"rows": 3}, payload)
    as_bytes = cache.path("output", key).read_bytes()
    cache.put("output", key, {"rows": 3}, kind(bytearray(payload)))
    assert cache.path("output", key).read_bytes() == as_bytes
    assert cache.get("output", key, stats) == ({"rows": 3}, payload)
    # and it is not copied: storing 4 MB allocates far less than 4 MB (joined, it was two copies, 8 MB)
    large = kind(bytearray(4 << 20))
    _, _, peak = traced(lambda: cache.put("output", key, {"rows": 3}, large))
    assert peak < 1 << 20, peak


_BUFFERED = newscorpus.pipeline.Spilled.BUFFERED


@pytest.mark.parametrize("sizes", [
    [0, 1, 5, 0],  # all in the buffer
    [_BUFFERED - 1, 1, 3],  # the buffer filled exactly by the second, written; the third buffered after it
    [_BUFFERED, 2, _BUFFERED + 7],  # each big one fills the buffer: written with what came before it
    [10, 3 * _BUFFERED, 10],  # a big one after a buffered one: both in the file, in order; the last buffered
])
def test_bytes_kept_in_a_spilled_file_read_back_by_their_span(sizes):
    """Pieces kept in a :class:`Spilled` of bytes read back by their spans, in any order, whether they are still in its
    buffer, in its file, or across both; iterating it gives them all, in order, each time (it is a cache payload
    written in pieces)."""
    spilled = newscorpus.pipeline.Spilled("u1")
    pieces = [bytes([i + 1]) * size for i, size in enumerate(sizes)]
    spans = [spilled.keep(piece) for piece in pieces]
    assert [span[1] for span in spans] == sizes and len(spilled) == sum(sizes)
    for span, piece in reversed(list(zip(spans, pieces))):
        assert spilled.kept(span) == piece
    assert spilled.kept([spans[0][0], sum(sizes)]) == b"".join(pieces)  # a span across pieces, buffer and file
    for _ in range(2):
        assert b"".join(bytes(chunk) for chunk in spilled) == b"".join(pieces)
    after = spilled.keep(b"after")  # appended at the end after it was read through, and read back
    assert after == [sum(sizes), 5] and spilled.kept(after) == b"after" and spilled.kept(spans[-1]) == pieces[-1]
    spilled.close()


def test_a_payload_given_in_pieces_is_stored_as_the_same_bytes(tmp_path):
    """A payload may be given in pieces that can be read twice (a build's record of its output, from its temporary
    file): the entry's file is byte for byte the one its joined bytes make, reads back as them, and is written
    without its bytes in memory at once."""
    cache, stats = Cache(tmp_path), CacheStats()
    key, payload = key_of("record"), bytes(range(256)) * 1000
    cache.put("output", key, {"rows": 3}, payload)
    as_bytes = cache.path("output", key).read_bytes()
    spilled = newscorpus.pipeline.Spilled("u1")
    spilled.keep(payload)
    cache.put("output", key, {"rows": 3}, spilled)
    assert cache.path("output", key).read_bytes() == as_bytes
    assert cache.get("output", key, stats) == ({"rows": 3}, payload)
    spilled.keep(bytes(4 << 20))
    _, _, peak = traced(lambda: cache.put("output", key, {"rows": 3}, spilled))
    assert peak < 1 << 20, peak
    assert cache.get("output", key, stats)[1] == payload + bytes(4 << 20)
    spilled.close()
    # pieces from an iterator would be read up by the checksum and written as nothing: refused, nothing stored
    with pytest.raises(TypeError, match="iterator"):
        cache.put("output", key_of("other"), {}, iter([b"piece"]))
    assert not cache.path("output", key_of("other")).exists()


def test_a_big_entry_is_read_back_with_one_copy_of_its_payload(tmp_path):
    """Reading a 4 MB entry holds its file's bytes and its payload's, no more: checked and parsed in place (joining
    the head and the rest, slicing the body and hashing it with its key were four copies, 16 MB, of a rebuild's
    record of its output at 100,000 articles)."""
    cache, stats = Cache(tmp_path), CacheStats()
    key, size = key_of("record"), 4 << 20
    cache.put("output", key, {"rows": 3}, bytes(range(256)) * (size // 256))
    (meta, payload), _, peak = traced(lambda: cache.get("output", key, stats))
    assert meta == {"rows": 3} and payload == bytes(range(256)) * (size // 256)
    assert peak < 2.25 * size, peak / size


def test_a_build_s_record_of_its_output_keeps_its_payload_off_the_heap(tmp_path):
    """The record of what a build wrote keeps its payload (the row groups' templates, 3.7 MB at 100,000 articles) in
    a temporary file, as it is made and when it is loaded by the next build: what it holds in memory is its
    per-group figures, and each piece reads back as kept."""
    from newscorpus.build import WrittenShards
    from newscorpus.pipeline import Job

    out = tmp_path / "out"
    out.mkdir()
    job = Job(corpus=str(tmp_path), raw_rel="raw", cache=str(tmp_path / "cache"), converter="c", fingerprint="f" * 64)
    record = WrittenShards()
    pieces = [os.urandom(n) for n in (3, 70_000, 0, 1 << 20)]
    spans, held, _ = traced(lambda: [record.keep(piece) for piece in pieces] + [record.keep(bytes(3 << 20))])
    assert held < 256 << 10, held
    record.frames["articles"] = spans[1]
    record.save(job, out)
    loaded, held, peak = traced(lambda: WrittenShards.load(job, out))
    # streamed into its file a piece at a time: read whole, then copied, the load peaked at twice its 4 MB payload
    assert held < 256 << 10 and peak < 5 << 19, (held, peak)  # 2.5 MB
    assert loaded.frames == {"articles": spans[1]}
    assert [loaded.kept(span) for span in spans[:4]] == pieces
    record.close()
    loaded.close()


def _packed(cache: Cache, n: int, payload: bytes = b"p" * 5000) -> list[str]:
    keys = [key_of({"n": i}) for i in range(n)]
    cache.put_many("convert", [(key, {"id": str(i)}, payload + bytes([i])) for i, key in enumerate(keys)])
    return keys


def test_entries_put_together_are_one_file_each_named_by_its_key(tmp_path):
    """One pack for the batch, a hard link per entry, no temporary name left; each entry reads back as put."""
    cache, stats = Cache(tmp_path), CacheStats()
    keys = _packed(cache, 5)
    assert len({cache.path("convert", key).stat().st_ino for key in keys}) == 1
    assert cache.path("convert", keys[0]).stat().st_nlink == 5
    assert sorted(p.name for p in (tmp_path / "convert").rglob("*") if p.is_file()) == sorted(keys)
    for i, key in enumerate(keys):
        assert cache.get("convert", key, stats) == ({"id": str(i)}, b"p" * 5000 + bytes([i]))
    assert stats.hits == {"convert": 5} and stats.corrupted == {}
    cache.put_many("convert", [(keys[2], {"id": "again"}, b"")])  # one entry: a file of its own, replacing the name
    assert cache.get("convert", keys[2], stats) == ({"id": "again"}, b"")
    assert cache.path("convert", keys[0]).stat().st_nlink == 4
    cache.put_many("convert", [(keys[0], {"id": "new"}, b"n"), (key_of("fresh"), {"id": "fresh"}, b"f")])  # a name replaced
    assert cache.get("convert", keys[0], stats) == ({"id": "new"}, b"n")
    assert cache.get("convert", keys[1], stats) == ({"id": "1"}, b"p" * 5000 + bytes([1]))
    assert cache.path("convert", keys[1]).stat().st_nlink == 3
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_without_hard_links_entries_put_together_are_a_file_each(tmp_path, monkeypatch):
    """A file system that refuses links (a mounted bucket) gets one file per entry, as :meth:`Cache.put` writes."""
    def refused(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(os, "link", refused)
    cache, stats = Cache(tmp_path), CacheStats()
    keys = _packed(cache, 4)
    assert len({cache.path("convert", key).stat().st_ino for key in keys}) == 4
    assert [p.name for p in (tmp_path / "convert").iterdir() if p.is_file()] == []  # no pack left behind
    assert [cache.get("convert", key, stats)[0] for key in keys] == [{"id": str(i)} for i in range(4)]


def _pack_offsets(data: bytes) -> list[tuple[int, int]]:
    start = data.index(b"\n") + 1 + 4
    count = int.from_bytes(data[start - 4:start], "big")
    rows = [data[start + 80 * i:start + 80 * (i + 1)] for i in range(count)]
    return [(int.from_bytes(row[64:72], "big"), int.from_bytes(row[72:80], "big")) for row in rows]


@pytest.mark.parametrize("damage", ["flip-byte-in-the-third", "cut-in-the-fourth", "key-in-the-table", "empty",
                                    "count-beyond-the-file", "length-beyond-the-file"])
def test_a_damaged_pack_is_damage_to_the_entries_it_reaches_each_detected(tmp_path, damage):
    """An entry of a pack is checked by its own checksum: the entries the damage reaches are corrupted, removed and
    not served; the others are served as put."""
    cache, stats = Cache(tmp_path), CacheStats()
    keys = _packed(cache, 5)
    path = cache.path("convert", keys[0])
    data = bytearray(path.read_bytes())
    places = _pack_offsets(bytes(data))
    if damage == "flip-byte-in-the-third":
        data[places[2][0] + places[2][1] - 3] ^= 1
        reached = {2}
    elif damage == "cut-in-the-fourth":
        del data[places[3][0] + 10:]
        reached = {3, 4}
    elif damage == "key-in-the-table":
        at = data.index(keys[1].encode())
        data[at + 10] = ord("0") if data[at + 10] != ord("0") else ord("1")
        reached = {1}
    elif damage == "count-beyond-the-file":  # nothing past the file is read, however large the table says it is
        start = data.index(b"\n") + 1
        data[start:start + 4] = (2**32 - 1).to_bytes(4, "big")
        reached = set(range(5))
    elif damage == "length-beyond-the-file":
        at = data.index(keys[4].encode()) + 72
        data[at:at + 8] = (2**62).to_bytes(8, "big")
        reached = {4}
    else:
        data = bytearray()
        reached = set(range(5))
    path.write_bytes(bytes(data))
    for i, key in enumerate(keys):  # read whole, or streamed (an entry of a pack is read whole, then given at once)
        got = read_entry(cache, READERS[i % 2], "convert", key, stats)
        assert got == (None if i in reached else ({"id": str(i)}, b"p" * 5000 + bytes([i])))
        assert cache.path("convert", key).exists() == (i not in reached)
    assert stats.corrupted == {"convert": len(reached)}


def test_a_cold_scan_writes_one_file_per_batch_of_entries(synthetic, tmp_path):
    """Every conversion and document check of a batch goes into one file: a new file costs far more than a link."""
    result = build_once(synthetic, tmp_path)
    for namespace in ("convert", "document"):
        names = [p for p in (tmp_path / "cache" / namespace).rglob("*") if p.is_file()]
        assert len(names) == result.cache.misses[namespace] > 32
        assert len({p.stat().st_ino for p in names}) == -(-len(names) // ProcessMapper.batch)
    again = build(CorpusLayout(synthetic), tmp_path / "again", cache_dir=tmp_path / "cache", mapper=ProcessMapper(2))
    assert again.cache.misses == {} and tree_digest(again.out) == tree_digest(result.out)


def test_the_index_notices_any_name_of_a_pack_removed(tmp_path, monkeypatch):
    """The stat index checks one name per pack (the others share its file): a name removed from a pack changes that
    file's link count, so the segment is not trusted and the removed entries alone are made again."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 70, seed=31)
    first = build_once(corpus, tmp_path)
    before = tree_digest(first.out)
    packs: dict[int, list[Path]] = {}
    for path in (tmp_path / "cache" / "convert").rglob("*"):
        if path.is_file():
            packs.setdefault(path.stat().st_ino, []).append(path)
    assert len(packs) == 3
    for names in packs.values():
        max(names).unlink()
    again = build(CorpusLayout(corpus), tmp_path / "again", cache_dir=tmp_path / "cache", mapper=ProcessMapper(1))
    assert again.cache.misses == {"convert": 3} and again.cache.hits["convert"] == 67
    assert tree_digest(again.out) == before


# ---------------------------------------------------------------- the streaming build


def row_groups(paths, columns=None):
    """``((file, number), table)`` of each row group of the Parquet files ``paths`` (sorted): a run of groups' rows
    each (:func:`article_groups` tells the groups)."""
    import pyarrow.parquet as pq

    for path in sorted(paths):
        parquet = pq.ParquetFile(path)
        for number in range(parquet.metadata.num_row_groups):
            yield (path, number), parquet.read_row_group(number, columns=columns)


def article_groups(out: Path, group_articles: int) -> list[tuple[str, list[str]]]:
    """Each group's split and article ids, in the order of the splits' files, as the build cut them
    (:func:`~newscorpus.build.group_bounds` over a split's sorted ids)."""
    from newscorpus.build import group_bounds

    groups = []
    for path in sorted((out / "data" / "articles").glob("*.parquet")):
        ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        bounds = group_bounds(ids, group_articles)
        groups += [(path.name.split("-")[0], ids[a:b]) for a, b in zip([0, *bounds], bounds)]
    return groups


def test_sharded_build_holds_exactly_the_in_memory_rows(synthetic, tmp_path):
    result = build_once(synthetic, tmp_path, group_articles=7)
    assert result.problems == []
    problems, articles = validate_corpus(CorpusLayout(synthetic))
    gold = {json.loads(p.read_text())["article"]["id"]: json.loads(p.read_text()) for p in (synthetic / "annotations" / "gold").glob("*.json")}
    clusters = wire_clusters({i: a["body"]["text"] for i, a in articles.items()}, {i: a["datePublished"] for i, a in articles.items()})
    makers = {"articles": lambda a, d, c: [article_row(a, d, c)], "entities": entity_rows, "quotes": quote_rows}
    data = result.out / "data"
    for config in CONFIGS:
        for split in ("train", "validation", "test"):
            expected = [row for i in sorted(articles) if split_of(clusters[i]) == split for row in makers[config](articles[i], gold.get(i), clusters[i])]
            shards = sorted((data / config).glob(f"{split}-*.parquet"))
            assert [p.name for p in shards] == ([f"{split}-00000-of-00001.parquet"] if expected else [])  # one file a split
            got = [row for p in shards for row in pq.read_table(p, schema=features()[config].arrow_schema).to_pylist()]
            assert got == expected, (config, split)


def _span_at(start: int, text: str) -> dict:
    return {"start": start, "end": start + len(text), "text": text}


def _quoted_article(ident: str, entities: list[dict], mentions: list[dict], quotes: list[dict]) -> dict:
    """An 'articles' row with only what its quotes rows are made of (the other columns null)."""
    row: dict[str, Any] = {f.name: None for f in features()["articles"].arrow_schema}
    provenance = {"annotator": "ann-01", "origin": "human", "model_version": None, "score": None}
    return {**row, "id": ident, "wire_cluster": f"cluster-{ident}", "entities": entities,
            "mentions": [{"kind": "name", "label": "PERSON", **provenance, **m} for m in mentions],
            "quotes": [{"speaker": None, "speaker_text": None, "speaker_entity": None, "addressee": None, "channel": None,
                        "same_as": [], "type": "direct", **provenance, **q} for q in quotes]}


#: Articles whose quotes rows take every branch: a quote in parts, one with neither speaker nor addressee, one
#: with both, a model's with its version and score, two starting at one place (ordered by id), and two articles
#: whose mentions and entities share ids (each quote's names and texts are its own article's).
QUOTED_ARTICLES = [
    _quoted_article(
        "a1",
        [{"id": "e1", "name": "Kim Jong Un", "label": "PERSON", "wikidata": "Q56226"}],
        [{"id": "m1", **_span_at(0, "Kim"), "entity": "e1"}, {"id": "m2", **_span_at(40, "Lavrov"), "entity": "e1"}],
        [{"id": "q3", "type": "indirect", "content": [_span_at(50, "we are"), _span_at(70, "worried")], "cue": _span_at(60, "said"),
          "channel": _span_at(90, "on TV"), "same_as": ["a2#q1"], "origin": "model", "model_version": "v1", "score": 0.75},
         {"id": "q2", "content": [_span_at(10, "yes")], "cue": _span_at(5, "told"), "speaker": "m1", "speaker_text": "Kim",
          "speaker_entity": "e1", "addressee": "m2"},
         {"id": "q1", "content": [_span_at(10, "yes")], "cue": _span_at(5, "told"), "speaker": "m2", "speaker_text": "Lavrov",
          "speaker_entity": "e1"}],
    ),
    _quoted_article("a0", [], [], []),
    _quoted_article(
        "a2",
        [{"id": "e1", "name": "Sergei Lavrov", "label": "PERSON", "wikidata": None}],
        [{"id": "m1", **_span_at(3, "Sergei Lavrov"), "entity": "e1"}, {"id": "m2", **_span_at(30, "Pyongyang"), "entity": "e1"}],
        [{"id": "q1", "content": [_span_at(40, "friends")], "cue": _span_at(20, "said"), "speaker": "m1", "speaker_text": "Sergei Lavrov",
          "speaker_entity": "e1", "addressee": "m2"}],
    ),
]


def test_the_quotes_rows_flattened_in_arrow_take_every_branch_as_in_python(monkeypatch):
    """_quote_table in Arrow gives the table of quote_rows_of's rows: content text joined, the speaker's entity's name
    and the addressee's text looked up in the quote's own article, rows ordered by article, start and id; and
    _entity_table that of entity_rows_of's.  Slices too: their lists start past their values' first (the article
    without mentions or quotes alone has none, though its list's values are its neighbours')."""
    schemas = {config: features()[config].arrow_schema for config in ("articles", "entities", "quotes")}
    lines = b"".join(json.dumps(row).encode("utf-8") + b"\n" for row in QUOTED_ARTICLES)
    articles = newscorpus.build._table_from_lines(lines, schemas["articles"])
    expected = [row for article in QUOTED_ARTICLES for row in newscorpus.build.quote_rows_of(article)]
    assert [(r["article_id"], r["quote_id"]) for r in expected] == [("a1", "q1"), ("a1", "q2"), ("a1", "q3"), ("a2", "q1")]
    assert [(r["content_text"], r["speaker_entity_name"], r["addressee_text"]) for r in expected] == [
        ("yes", "Kim Jong Un", None), ("yes", "Kim Jong Un", "Lavrov"), ("we are … worried", None, None),
        ("friends", "Sergei Lavrov", "Pyongyang")]
    for threshold in (0, 10**9):  # in Arrow, in Python
        monkeypatch.setattr(newscorpus.build, "FLATTENED_IN_ARROW", threshold)
        for (config, table_of, rows_of), (start, stop) in itertools.product(
                (("quotes", newscorpus.build._quote_table, newscorpus.build.quote_rows_of),
                 ("entities", newscorpus.build._entity_table, newscorpus.build.entity_rows_of)),
                ((0, 3), (0, 1), (1, 2), (1, 3), (2, 3))):  # (1, 2): no mention, no quote
            table = table_of(articles.slice(start, stop - start), schemas[config])
            rows = [row for article in QUOTED_ARTICLES[start:stop] for row in rows_of(article)]
            if not rows:
                assert table is None, (config, threshold, start, stop)
                continue
            assert table.to_pylist() == rows and table.schema.equals(schemas[config]), (config, threshold, start, stop)


def _quote_rows_from_document(article: dict, doc: dict, cluster: str) -> list[dict]:
    """The 'quotes' rows as they were made from the document itself until the thirty-eighth session (quote_rows
    makes them from the article's row now): the test below's reference."""
    mentions = {m["id"]: m for m in doc["mentions"]}
    entities = {e["id"]: e for e in doc["entities"]}
    rows = []
    for q in sorted(doc["quotes"], key=lambda q: (q["content"][0]["start"], q["id"])):
        speaker = mentions[q["speaker"]] if q["speaker"] else {}
        addressee = mentions[q["addressee"]] if q.get("addressee") else {}
        span = (lambda v: None if v is None else {"start": v["start"], "end": v["end"], "text": v["text"]})
        rows.append({
            "article_id": article["id"], "quote_id": q["id"], "type": list(quote_types()).index(q["type"]),
            "content": [span(part) for part in q["content"]], "content_text": " … ".join(part["text"] for part in q["content"]),
            "cue": span(q["cue"]), "speaker_mention_id": q["speaker"], "speaker_text": speaker.get("text"),
            "speaker_entity_id": speaker.get("entity"), "speaker_entity_name": entities.get(speaker.get("entity"), {}).get("name"),
            "addressee_mention_id": q.get("addressee"), "addressee_text": addressee.get("text"), "channel": span(q.get("channel")),
            "same_as": [f"{link['article']}#{link['quote']}" for link in q.get("sameAs", [])],
            "annotator": q["annotator"], "origin": q["origin"], "model_version": q.get("modelVersion"), "score": q.get("score"),
            "wire_cluster": cluster,
        })
    return rows


def _harder(doc: dict) -> dict:
    """``doc`` with its first quotes given what the synthetic corpus never has: content in two parts, no speaker but an
    addressee, a model's version and score."""
    doc = json.loads(json.dumps(doc))
    first, second, third = doc["quotes"][:3]
    part = first["content"][0]
    first["content"] = [{**part, "end": part["start"] + 1, "text": part["text"][:1]},
                        {**part, "start": part["start"] + 1, "text": part["text"][1:]}]
    second["speaker"], second["addressee"] = None, doc["mentions"][0]["id"]
    third.update(origin="model", modelVersion="m-1", score=0.5)
    return doc


def test_the_quotes_rows_made_from_an_article_s_row_are_those_made_from_its_document(synthetic):
    _, articles = validate_corpus(CorpusLayout(synthetic))
    quoted = 0
    for path in sorted((synthetic / "annotations" / "gold").glob("*.json")):
        doc = json.loads(path.read_text())
        article = articles[doc["article"]["id"]]
        for each in (doc, _harder(doc)) if len(doc["quotes"]) >= 3 else (doc,):
            assert quote_rows(article, each, "cluster") == _quote_rows_from_document(article, each, "cluster"), path.name
        quoted += len(doc["quotes"])
    assert quoted > 100


def test_the_entities_and_quotes_flattened_in_arrow_are_those_made_in_python(synthetic, tmp_path, monkeypatch):
    """A group's entities and quotes tables are its articles' mentions and quotes flattened: with pyarrow.compute for
    a large group, in Python (entity_rows_of, quote_rows_of) for a small one.  Both give the same bytes, and the rows
    of entity_rows and quote_rows (the test above)."""
    def never(row):
        raise AssertionError("a large group's mentions and quotes are flattened in Arrow")

    monkeypatch.setattr(newscorpus.build, "FLATTENED_IN_ARROW", 0)
    monkeypatch.setattr(newscorpus.build, "entity_rows_of", never)
    monkeypatch.setattr(newscorpus.build, "quote_rows_of", never)
    in_arrow = build_once(synthetic, tmp_path / "arrow", group_articles=7)
    monkeypatch.undo()
    monkeypatch.setattr(newscorpus.build, "FLATTENED_IN_ARROW", 10**9)
    in_python = build_once(synthetic, tmp_path / "python", group_articles=7)
    for config in ("entities", "quotes"):
        assert in_arrow.counts[config] == in_python.counts[config] and sum(in_arrow.counts[config].values()) > 100
    assert tree_digest(in_arrow.out) == tree_digest(in_python.out)


def test_a_group_s_lines_parsed_a_block_at_a_time_give_the_same_bytes(synthetic, tmp_path, monkeypatch):
    """A group's 'articles' table is parsed from its lines a block of about LINES_BLOCK bytes at a time, an
    article's lines never cut, and the blocks' tables joined: the same output bytes as parsed whole.  With a block
    of one byte, each parse is one article's lines; with a block of a few articles' lines, a group's last block is a
    short one."""
    parsed: list[int] = []
    parse = newscorpus.build._table_from_lines

    def counted(data, schema):
        parsed.append(len(data))
        return parse(data, schema)

    monkeypatch.setattr(newscorpus.build, "_table_from_lines", counted)
    monkeypatch.setattr(newscorpus.build, "FLATTENED_IN_ARROW", 0)  # (in Python, a group's entities and quotes are parsed too)
    monkeypatch.setattr(newscorpus.build, "LINES_BLOCK", 10**9)
    whole = build_once(synthetic, tmp_path / "whole", workers=1, group_articles=9)
    whole_parses, largest = len(parsed), max(parsed)
    parsed.clear()
    monkeypatch.setattr(newscorpus.build, "LINES_BLOCK", 1)
    single = build_once(synthetic, tmp_path / "single", workers=1, group_articles=9)
    articles = sum(single.counts["articles"].values())
    assert articles > 20 and whole_parses < articles
    assert len(parsed) == articles
    assert tree_digest(single.out) == tree_digest(whole.out)
    single_parses, one_article = len(parsed), max(parsed)
    parsed.clear()
    monkeypatch.setattr(newscorpus.build, "LINES_BLOCK", largest // 4)  # (a few articles' lines: most groups in 3-5 blocks)
    blocks = build_once(synthetic, tmp_path / "blocks", workers=1, group_articles=9)
    assert whole_parses < len(parsed) < single_parses
    assert max(parsed) < largest // 4 + one_article  # a block ends with the article that reaches LINES_BLOCK
    assert tree_digest(blocks.out) == tree_digest(whole.out)


def test_sharded_output_loads_with_datasets_offline(synthetic, tmp_path):
    import datasets

    result = build_once(synthetic, tmp_path, group_articles=9)
    card = (result.out / "README.md").read_text()
    assert "path: data/articles/train-*" in card
    for config in CONFIGS:
        loaded = datasets.load_dataset(str(result.out), config)
        assert {s: loaded[s].num_rows for s in loaded} == {s: n for s, n in result.counts[config].items() if n}
        assert loaded["train"].features == features()[config]


#: Each config's columns written delta-encoded (``DELTA_BINARY_PACKED``): its integers outside lists, no others.
DELTA_ENCODED = {
    "articles": set(),
    "entities": {"start", "end", "label"},
    "quotes": {"type", "cue.start", "cue.end", "channel.start", "channel.end"},
}


def test_no_shard_is_dictionary_encoded_and_integers_outside_lists_are_delta_encoded(synthetic, tmp_path):
    """No column of any config is dictionary-encoded: a row group's dictionary page cannot be joined to another's,
    and the 'entities' row groups, dictionary-encoded, stayed one a group (and read twice as slowly as runs).  The
    integers outside lists are delta-encoded, in every row group, merged or not (smaller files, read as fast)."""
    import pyarrow.parquet as pq

    result = build_once(synthetic, tmp_path, group_articles=8)
    for config in CONFIGS:
        shards = sorted((result.out / "data" / config).glob("*.parquet"))
        assert shards
        metadata = {path: pq.read_metadata(path) for path in shards}
        groups = [(path, g) for path, meta in metadata.items() for g in range(meta.num_row_groups)]
        chunks = [metadata[path].row_group(g).column(c) for path, g in groups for c in range(metadata[path].num_columns)]
        assert not [chunk.path_in_schema for chunk in chunks if chunk.has_dictionary_page], config
        delta = {chunk.path_in_schema for chunk in chunks if "DELTA_BINARY_PACKED" in chunk.encodings}
        assert delta == DELTA_ENCODED[config]
        assert all("DELTA_BINARY_PACKED" in chunk.encodings for chunk in chunks if chunk.path_in_schema in delta)
        # a row group of more articles than a group holds (2 * 8) joined the pages of several groups
        files = {path: pq.ParquetFile(path) for path in shards}
        articles = [len(set(files[path].read_row_group(g, columns=[ARTICLE_COLUMN[config]]).column(0).to_pylist()))
                    for path, g in groups]
        assert max(articles) > 2 * 8, (config, articles)


def test_parallel_and_serial_builds_are_byte_identical(synthetic, tmp_path):
    serial = build_once(synthetic, tmp_path / "one", workers=1, group_articles=8)
    parallel = build_once(synthetic, tmp_path / "two", workers=2, group_articles=8)
    assert tree_digest(serial.out) == tree_digest(parallel.out)


def test_a_build_forks_one_pool_and_stops_it(synthetic, tmp_path, monkeypatch):
    """Conversion, checks and shards share one pool, started once and stopped when the build ends."""
    started: list[int] = []
    import concurrent.futures

    real = concurrent.futures.ProcessPoolExecutor
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", lambda n, **kw: started.append(n) or real(n, **kw))
    mapper = ProcessMapper(2)
    result = build(CorpusLayout(synthetic), tmp_path / "dataset", cache_dir=tmp_path / "cache", mapper=mapper, group_articles=8)
    assert started == [2] and mapper._pool is None
    assert result.cache.misses["convert"] == 60 and result.cache.misses["shard"] > 2


def _pid_of(_: object) -> int:
    return os.getpid()


def test_work_too_small_for_a_pool_runs_here_unless_the_pool_is_started():
    """Starting a pool for a rebuild's single changed file costs more than the work; a pool already started (a build
    starts its own first thing) takes it, in a worker."""
    mapper = ProcessMapper(2)
    try:
        assert list(mapper.map(_pid_of, ["one"])) == [os.getpid()] and mapper._pool is None
        mapper.start()
        here = os.getpid()
        assert all(pid != here for pid in mapper.map(_pid_of, ["one"]))
    finally:
        mapper.close()


#: Run in a fresh interpreter (which never imports pyarrow) by the tests of a pool's turns: starts a pool of two
#: workers with ``HELD_SECONDS`` set (argv[1]), gives it a one-item map, then does what argv[2] says ("wake": a map of
#: two items; "submit": a task sent while another runs; "close": close it; "wait": nothing), and prints, as JSON,
#: which workers have warmed up (each writes its pid to the file argv[3] as it computes the MinHash permutations, what
#: a worker's warm-up does after importing the converter; pyarrow's modules it imports after its first task)
#: after the one-item map and after that, whether the close ended (given a minute), and how many workers began
#: their warm-up.
_TURNS_SCRIPT = """
import json, sys, threading, time
import os
import newscorpus.clusters as clusters
import newscorpus.pipeline as pipeline
pipeline.HELD_SECONDS = float(sys.argv[1])
warm_up = clusters._permutations
def noted():
    with open(sys.argv[3], 'a') as pids:
        pids.write(f'{os.getpid()}\\n')
    return warm_up()
clusters._permutations = noted
def warmed():
    return open(sys.argv[3]).read().split() if os.path.exists(sys.argv[3]) else []
def loaded(mapper):
    return sorted(str(pid) in warmed() for pid in mapper._pool._processes)
def settled(mapper, want):
    end = time.monotonic() + 60
    while loaded(mapper) != want and time.monotonic() < end:
        time.sleep(0.05)
    return loaded(mapper)
mapper = pipeline.ProcessMapper(2)
mapper.start()
list(mapper.map(len, ['one']))
settled(mapper, [False, True])
time.sleep(0.5)
seen = {'first': loaded(mapper), 'closed': None}
if sys.argv[2] == 'wake':
    list(mapper.map(len, ['one', 'two'], batch=1))
    seen['then'] = settled(mapper, [True, True])
elif sys.argv[2] == 'submit':
    running = mapper.submit(time.sleep, 2.0)
    mapper.submit(len, 'one').result()
    seen['then'] = settled(mapper, [True, True])
elif sys.argv[2] == 'wait':
    seen['then'] = settled(mapper, [True, True])
closing = threading.Thread(target=mapper.close, daemon=True)
closing.start()
closing.join(60)
seen['closed'] = not closing.is_alive()
seen['warmed'] = len(warmed())
print(json.dumps(seen))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="turns are given to forked workers")
@pytest.mark.parametrize(("held", "then", "expected"), [
    (3600, "close", None),  # a worker never woken leaves at once when the pool closes, having imported nothing
    (3600, "wake", [True, True]),  # a map of more than one task wakes the other
    (3600, "submit", [True, True]),  # so does a task sent while another is in flight (a rebuild's groups)
    (0.5, "wait", [True, True]),  # a worker never woken nor closed takes its turn after HELD_SECONDS
])
def test_a_pool_s_first_worker_gets_ready_at_once_and_the_others_when_work_for_them_comes(held, then, expected, tmp_path):
    """A rebuild's tasks come one at a time: a pool's first worker imports what tasks run as it starts, the others
    wait for work for two (two workers importing at once slowed a one-file rebuild's scan on two cores)."""
    env = {**os.environ, "PYTHONPATH": str(Path(newscorpus.pipeline.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", _TURNS_SCRIPT, str(held), then, str(tmp_path / "warmed")], capture_output=True,
                          text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    if then != "wait":
        assert seen["first"] == [False, True]  # one worker ready, the other still waiting half a second later
    assert seen["closed"] is True
    assert seen["warmed"] == (1 if expected is None else 2)
    if expected is not None:
        assert seen["then"] == expected


#: Starts a pool of two workers in a fresh interpreter and prints, as JSON, whether pyarrow's Parquet module is in the
#: worker's modules for its first task, run there (argv[1] "here") or in a child forked for it ("forked", as a group's
#: shards are written: ``run_forked``), and for a task after it (given a minute).
_ARROW_SCRIPT = """
import json, sys, time
from functools import partial
import newscorpus.pipeline as pipeline
def arrow_here(_):
    return 'pyarrow.parquet' in sys.modules
task = arrow_here if sys.argv[1] == 'here' else partial(pipeline.run_forked, arrow_here)
mapper = pipeline.ProcessMapper(2)
mapper.start()
first = list(mapper.map(task, ['first']))[0]
end = time.monotonic() + 60
while not (then := list(mapper.map(arrow_here, ['then']))[0]) and time.monotonic() < end:
    time.sleep(0.05)
mapper.close()
print(json.dumps({'here': 'pyarrow' in sys.modules, 'first': first, 'then': then}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a forked child")
@pytest.mark.parametrize(("where", "first"), [
    ("here", False),  # a rebuild's first task, its changed file converted, does not wait for pyarrow's imports
    ("forked", True),  # a child forked for a task finds them done (none forked while they run: their locks)
])
def test_a_pool_s_worker_imports_pyarrow_after_its_first_task_and_before_it_forks(where, first):
    """A pool's worker imports pyarrow's modules (70-85 ms) in a thread once its first task is done: the main process
    had waited for them before a one-file rebuild's changed file was converted.  A task that forks waits for them."""
    env = {**os.environ, "PYTHONPATH": str(Path(newscorpus.pipeline.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", _ARROW_SCRIPT, where], capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"here": False, "first": first, "then": True}


#: What :func:`_forked_task` leaves in its process's heap each time it runs (kept for good: a module's list).
_LEFT: list[bytes] = []


def _forked_task(what: str) -> object:
    """A task for :func:`~newscorpus.pipeline.run_forked`, doing ``what``."""
    import resource

    if what == "pid":
        return os.getpid()
    if what == "leave":  # 64 MB more of this process's heap, kept; its RSS and peak once it is touched
        _LEFT.append(os.urandom(1 << 26))
        rss = int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1]) // 1024
        return rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    if what == "raise":
        raise ValueError("the group's rows do not parse")
    if what == "raise-unpicklable":
        error = ValueError("an error holding a lock")
        error.lock = threading.Lock()
        raise error
    if what == "raise-unrebuildable":
        raise _TwoPartError("no rows", "in the group")
    if what == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    if what == "exit":
        os._exit(3)
    raise AssertionError(what)


def _not_made_again(message: str) -> BaseException:
    raise TypeError(f"an error that cannot be made again: {message}")


class _TwoPartError(Exception):
    """An error that pickles but is not made again from what pickles.  (An ``__init__`` of two parts alone is not
    enough: once ``distributed`` is imported, as the Dask tests do, such errors come back whole.)"""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} {second}")

    def __reduce__(self) -> tuple:
        return _not_made_again, (str(self),)


def _forked_then(how: str) -> object:
    """In a worker: :func:`~newscorpus.pipeline.run_forked` of ``_forked_task("pid")``, ``how`` the fork goes;
    ``(the pid it ran in, this worker's pid, the collector's frozen objects after)``."""
    import gc

    from newscorpus.pipeline import run_forked

    real = os.fork
    if how == "fork-fails":
        def refused() -> int:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        os.fork = refused
    try:
        ran = run_forked(_forked_task, "pid")
    finally:
        os.fork = real
    return ran, os.getpid(), gc.get_freeze_count()


def _in_worker(mapper: ProcessMapper, what: str) -> object:
    """``run_forked(_forked_task, what)`` in one of ``mapper``'s workers, with the worker's process id."""
    from newscorpus.pipeline import run_batch, run_forked

    return mapper.start().submit(run_batch, partial(run_forked, _forked_task), [what]).result()[0]


def _worker_pids(mapper: ProcessMapper) -> set[int]:
    return set(mapper.start()._processes)


def test_a_task_run_forked_in_a_worker_leaves_nothing_in_the_worker():
    """A pool's worker runs each big task (a group's shards) in a child forked for it: what the task leaves in the
    heap goes with the child, so the worker's tenth task starts where its first did (docs/scale.md, item 3)."""
    mapper = ProcessMapper(2)
    try:
        workers = _worker_pids(mapper)
        pids = [_in_worker(mapper, "pid") for _ in range(4)]
        assert not set(pids) & (workers | {os.getpid()}) and len(set(pids)) == 4
        answers = [_in_worker(mapper, "leave") for _ in range(6)]
        # each child holds its 64 MB, and none holds the last ones': every RSS and peak within 32 MB of the first
        assert all(rss >= 64 for rss, _ in answers)
        assert max(rss for rss, _ in answers) - min(rss for rss, _ in answers) < 32, answers
        assert max(peak for _, peak in answers) - min(peak for _, peak in answers) < 32, answers
        assert _worker_pids(mapper) == workers  # the workers themselves go on
    finally:
        mapper.close()


@pytest.mark.parametrize(("how", "here"), [("forked", False), ("fork-fails", True)])
def test_a_worker_that_cannot_fork_runs_the_task_itself_and_its_collector_is_left_as_it_was(how, here):
    """A fork refused (too many processes, no memory for the page tables) is not an error: the task runs in the
    worker; either way the worker's collector is not left frozen."""
    mapper = ProcessMapper(2)
    try:
        ran, worker, frozen = mapper.start().submit(_forked_then, how).result()
        assert (ran == worker) is here and frozen == 0
    finally:
        mapper.close()


def test_a_forked_task_runs_here_outside_a_pools_worker():
    """In one process (``ProcessMapper(1)``, a Dask worker), nothing is forked: the task runs in the process asking."""
    from newscorpus.pipeline import run_forked

    assert run_forked(_forked_task, "pid") == os.getpid()


def test_the_peak_of_a_forked_task_counts_in_the_builds_children():
    """The child is reaped by its worker, and the worker by the build: the child's peak is in the build's
    ``RUSAGE_CHILDREN``, which the benchmark reports as the largest worker's (a fresh interpreter: its own count)."""
    code = ("import resource, sys; sys.path[:0] = [sys.argv[1], sys.argv[2]];"
            "from newscorpus.pipeline import ProcessMapper; import test_scale as t;"
            "m = ProcessMapper(2); answer = t._in_worker(m, 'leave'); m.close();"
            "print(answer[1], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    src = Path(newscorpus.__file__).parent.parent
    done = subprocess.run([sys.executable, "-c", code, str(src), str(Path(__file__).parent)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    child_peak, counted = map(int, done.stdout.split())
    assert child_peak >= 64 and counted >= child_peak


@pytest.mark.parametrize(("what", "raised", "says"), [
    ("raise", ValueError, "the group's rows do not parse"),
    ("raise-unpicklable", RuntimeError, "an error holding a lock"),
    ("raise-unrebuildable", RuntimeError, "_TwoPartError('no rows in the group')"),
    ("killed", "ForkedTaskError", "ended without an answer (killed by SIGKILL)"),
    ("exit", "ForkedTaskError", "ended without an answer (exit status 3)"),
], ids=["error", "error-that-does-not-pickle", "error-that-does-not-unpickle", "killed", "exited"])
def test_a_forked_task_that_fails_raises_in_the_worker_and_the_build(what, raised, says):
    """An error in the child is raised where the task was asked for, with the child's traceback as its cause; a child
    that ends without answering (the out-of-memory killer) is an error that says how it ended, never a result."""
    import newscorpus.pipeline

    raised = getattr(newscorpus.pipeline, raised) if isinstance(raised, str) else raised
    mapper = ProcessMapper(2)
    try:
        with pytest.raises(raised, match=re.escape(says)) as caught:
            _in_worker(mapper, what)
        if what.startswith("raise"):
            assert "_forked_task" in str(caught.value.__cause__)
        assert _in_worker(mapper, "pid") > 0  # the worker goes on
    finally:
        mapper.close()


@pytest.mark.parametrize("edits", [1, 2, 16, 17], ids=["one-file", "two-files", "as-many-as-the-scan-names", "more"])
def test_a_rebuild_sends_the_groups_of_the_articles_it_made_again_first(tmp_path, monkeypatch, edits):
    """A rebuild knows from its scan which articles it converted or checked again (a few: past
    :data:`~newscorpus.pipeline.REMADE_AT_MOST`, none are named): their groups go to the pool's workers before the other
    groups' items and keys are made, which the workers would have waited for; the output is a cold build's."""
    from newscorpus.pipeline import REMADE_AT_MOST

    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 60, seed=27)
    build_once(corpus, tmp_path, workers=2, group_articles=8)
    manifest = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    edited = [entries[i * 59 // max(1, edits - 1)] if edits > 1 else entries[30] for i in range(edits)]
    for entry in edited:
        path = corpus / "raw" / entry["file"]
        path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[0] + " (updated)\n" + path.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    events: list[str] = []
    real_key, real_started = newscorpus.build.shard_key, newscorpus.build._groups_started
    monkeypatch.setattr(newscorpus.build, "shard_key", lambda job, group: events.append("key") or real_key(job, group))

    def groups_started(*args):
        real_started(*args)
        events.append(f"started {len(args[-1])}")  # (what it sent, by plan number)

    monkeypatch.setattr(newscorpus.build, "_groups_started", groups_started)
    again = build_once(corpus, tmp_path, workers=2, group_articles=8)
    cold = build_once(corpus, tmp_path / "cold", group_articles=8)
    assert tree_digest(again.out) == tree_digest(cold.out) and again.problems == cold.problems
    started = next(int(event.split()[1]) for event in events if event.startswith("started"))
    written = again.cache.misses["shard"]
    if edits > REMADE_AT_MOST:  # (a cold build's every article: its groups are not looked for first)
        assert started == 0 and events.index("started 0") == 0
    else:  # the groups made again were sent (as many as the pool has workers) before any other group's key was made
        first = events.index(f"started {started}")
        assert started == min(written, 2) > 0 and events[:first] == ["key"] * first and started <= first <= edits


#: :func:`newscorpus.build.group_task`, for :func:`_slow_group_task`
_GROUP_TASK = newscorpus.build.group_task


def _slow_group_task(*args):
    """A group's task that keeps the main process waiting half a second first (in a worker: module-level, so picklable)."""
    import time

    time.sleep(0.5)
    return _GROUP_TASK(*args)


@pytest.mark.parametrize("edits", ["one", "two-in-one-run"])
def test_a_rebuild_merges_the_changed_run_from_its_other_members_merged_while_the_group_is_written(tmp_path, monkeypatch, edits):
    """While the main process waits for a changed group's worker, the other members of the merged runs that held the
    group are merged ahead (:class:`~newscorpus.build.Premerges`, all of it before the group comes when it takes
    half a second); the runs are then merged from them and the new group, and the output is a cold build's, byte for
    byte.  Two changed groups in one run: neither run of the plan is the run laid out, and it is merged from all its
    members, as before."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 120, seed=31)
    first = build_once(corpus, tmp_path, workers=2, group_articles=8)
    record = newscorpus.build.WrittenShards.load(newscorpus.pipeline.Job.of(CorpusLayout(corpus).absolute(), (tmp_path / "cache").resolve()),
                                                 first.out.resolve())
    record.close()  # (its payload: only the groups and files are read here)
    name = newscorpus.build.data_file("articles", "train")
    run = max((keys for keys, _ in record.files[name]["runs"]), key=len)
    assert len(run) > 2
    # the articles of one group in the middle of the longest run (and, for two edits, of the group after it)
    ids = pq.read_table(first.out / name, columns=["id"]).column("id").to_pylist()
    order = record.files[name]["keys"]
    rows = {key: record.groups[key]["meta"]["configs"]["articles"]["rows"] for key in order}
    middle = len(run) // 2
    at = sum(rows[key] for key in order[:order.index(run[middle])])
    edited = {ids[at]} if edits == "one" else {ids[at], ids[at + rows[run[middle]]]}
    manifest = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    for entry in entries:
        if entry["id"] in edited:
            path = corpus / "raw" / entry["file"]
            text = path.read_text(encoding="utf-8")
            longest = max(text.splitlines(), key=len)
            path.write_text(text.replace(longest, longest + " (corrected)", 1), encoding="utf-8")
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    taken: list[tuple[str, bool]] = []
    real_take, real_ahead = newscorpus.build.Premerges.take, newscorpus.build.Premerges.ahead
    monkeypatch.setattr(newscorpus.build.Premerges, "take",
                        lambda self, *args: (lambda got: taken.append((args[0], got is not None)) or got)(real_take(self, *args)))
    made_ahead: list[str] = []  # the files whose runs were merged while the main process waited

    def ahead(self, until):
        real_ahead(self, until)
        made_ahead.extend(file for file, _ in self._made)

    monkeypatch.setattr(newscorpus.build.Premerges, "ahead", ahead)
    monkeypatch.setattr(newscorpus.build, "group_task", _slow_group_task)  # (before the build forks its workers)
    again = build_once(corpus, tmp_path, workers=2, group_articles=8)
    monkeypatch.setattr(newscorpus.build, "group_task", _GROUP_TASK)
    cold = build_once(corpus, tmp_path / "cold", group_articles=8)
    assert tree_digest(again.out) == tree_digest(cold.out) and again.problems == cold.problems
    assert again.cache.misses["shard"] == len(edited)
    if edits == "one":
        assert (name, True) in taken and name in made_ahead
    else:
        assert (name, False) in taken and (name, True) not in taken


def test_a_group_sent_first_that_fails_fails_the_build_and_leaves_the_last_output(tmp_path, monkeypatch):
    """A group sent to the workers first (above) whose task fails: the build fails with its error once the task
    has ended (nothing still writes into the staging directory when it is deleted), and the last output is as it was."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 40, seed=28)
    first = build_once(corpus, tmp_path, workers=2, group_articles=8)
    before = tree_digest(first.out)
    change_headline(corpus)

    def broken(cls, *args, **kwargs):
        raise OSError(errno.EIO, "Input/output error (made by the test)")

    monkeypatch.setattr(newscorpus.build.Part, "of", classmethod(broken))  # (the workers are forked after this)
    started: list[int] = []
    real_started = newscorpus.build._groups_started
    monkeypatch.setattr(newscorpus.build, "_groups_started", lambda *a: real_started(*a) or started.append(len(a[-1])))
    with pytest.raises(OSError, match="made by the test"):
        build_once(corpus, tmp_path, workers=2, group_articles=8)
    assert started == [1]
    assert tree_digest(first.out) == before
    assert sorted(p.name for p in first.out.parent.iterdir() if p.name.startswith(f".{first.out.name}.")) == [f".{first.out.name}.lock"]


class _InProcess:
    """A mapper of another engine's kind (not a local pool): runs each batch here, as the Mapper protocol allows."""

    def map(self, fn, items, batch=None):
        for item in items:
            yield from newscorpus.pipeline.run_batch(fn, [item])


@pytest.mark.parametrize("engine, fails_in", [("pool", None), ("pool", "_write_card"), ("another", None)])
def test_a_build_on_a_pool_runs_without_the_cyclic_collector_and_gives_it_back_as_it_was(tmp_path, monkeypatch, engine, fails_in):
    """On a local pool the main process builds with the cyclic garbage collector off, every stage (its passes took
    30-36 ms of a one-file rebuild at 10,000 articles: the footers merged while the shards are spliced make many
    small objects), and it is on again after the build, after a failed one too.  On another engine's mapper (Dask's
    client runs threads in this process, whose garbage may be cyclic) only the scan runs without it, as before."""
    import gc

    corpus = generate(tmp_path / "c", 24, seed=27)
    stages = ["scan", "cached_clusters", "plan_groups", "splice_split", "_write_card"]
    seen: dict[str, list[bool]] = {}
    for name in stages:
        real = getattr(newscorpus.build, name)

        def noting(*args, _name=name, _real=real, **kwargs):
            seen.setdefault(_name, []).append(gc.isenabled())
            if _name == fails_in:
                raise OSError(f"{_name} failed (made by the test)")
            return _real(*args, **kwargs)

        monkeypatch.setattr(newscorpus.build, name, noting)
    scanning = []
    real_scan = newscorpus.pipeline._scan
    monkeypatch.setattr(newscorpus.pipeline, "_scan", lambda *a: scanning.append(gc.isenabled()) or real_scan(*a))

    def once():
        if engine == "pool":
            return build_once(corpus, tmp_path, group_articles=8)
        return build(CorpusLayout(corpus), tmp_path / "dataset", cache_dir=tmp_path / "cache", mapper=_InProcess(), group_articles=8)

    assert gc.isenabled()
    if fails_in is None:
        once()
        once()  # and a rebuild
    else:
        with pytest.raises(OSError, match="made by the test"):
            once()
    assert gc.isenabled()
    assert sorted(seen) == sorted(stages)
    assert all(len(seen[name]) >= (1 if fails_in else 2) for name in stages)
    assert scanning and not any(scanning)  # the scan, on either engine
    if engine == "pool":
        assert not any(state for states in seen.values() for state in states)
    else:
        assert all(state for name in stages if name != "scan" for state in seen[name])


def test_a_rebuild_s_tasks_run_in_workers_ready_for_them_and_the_main_process_never_imports_the_converter(tmp_path, monkeypatch):
    """A build starts its pool first thing, and its workers import the converter while the main process scans (the
    Parquet writer once their first task is done: a rebuild's changed file does not wait for it): a one-file rebuild
    converts the file, checks its document and patches its group there, so the main process imports neither the
    converter nor pyarrow (134 MB at 10,000 articles with them, 72 without)."""
    import subprocess

    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)  # files count as settled at once: the index answers for them
    corpus = generate(tmp_path / "c", 24, seed=26)
    build_once(corpus, tmp_path, group_articles=12)
    change_headline(corpus)
    script = (
        "import json, sys; from pathlib import Path; from newscorpus.build import build; from newscorpus.corpus import CorpusLayout;"
        "import newscorpus.pipeline; from newscorpus.pipeline import ProcessMapper; newscorpus.pipeline.RACY_NS = 0;"
        "warm = ProcessMapper(2); warm.start();"  # fresh workers, forked before this process imported either
        "ready = list(warm.map(imported, [('newscorpus.convert', 'pyarrow.parquet')] * 2, batch=1)); warm.close();"
        f"r = build(CorpusLayout(Path({str(corpus)!r})), Path({str(tmp_path / 'dataset')!r}), cache_dir=Path({str(tmp_path / 'cache')!r}),"
        " mapper=ProcessMapper(2), group_articles=12);"
        "print(json.dumps({'ready': ready, 'misses': r.cache.misses, 'here': [m in sys.modules for m in ('newscorpus.convert', 'pyarrow')]}))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(newscorpus.build.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", "def imported(names): import os, sys; return [os.getpid(), *(n in sys.modules for n in names)]\n" + script],
                          capture_output=True, text=True, env=env, check=True)
    seen = json.loads(done.stdout.splitlines()[-1])
    firsts = {}  # each worker's first task: the converter imported, the Parquet writer not yet
    for pid, *modules in seen["ready"]:
        firsts.setdefault(pid, modules)
        assert modules[0] is True  # (a worker's second task: its Parquet writer imported, or being imported)
    assert list(firsts.values()) == [[True, False]] * len(firsts)
    assert seen["misses"]["convert"] == 1 and seen["misses"]["shard"] == 1
    assert seen["here"] == [False, False]


def _touch(path: str) -> str:
    if path.endswith("early-0"):
        time.sleep(0.3)  # (running while the items after it come)
    Path(path).touch()
    return path


@pytest.mark.parametrize("before", [0, 1, 1 + ProcessMapper.batch], ids=["first", "after-one", "after-a-batch"])
def test_a_started_pool_is_sent_an_item_as_it_comes_while_no_task_runs(tmp_path, before):
    """With the pool started (a build starts it first thing), an item goes to a worker as soon as the stream gives
    it while no task runs, not once the stream has given a whole batch (or ended): a rebuild's one changed file,
    found early in the scan, is converted while the scan goes on.  The stream waits after the item for the worker
    to have run it: had the item waited for the batch, the stream would wait for good (10 s here).  The items
    before it (the first alone, then a whole batch while it ran) have run by then."""
    mapper = ProcessMapper(2)
    mapper.start()
    late = tmp_path / "late"
    early = [tmp_path / f"early-{i}" for i in range(before)]
    seen: list[bool] = []

    def ran(paths: list[Path]) -> bool:
        """Whether the items of ``paths`` ran within 10 s: their files made, and (a task's file is made before its
        result is back) the pool told of their end, as the map asks it (the executor's work still pending)."""
        deadline = time.monotonic() + 10
        while (not all(path.exists() for path in paths) or mapper._pool._pending_work_items) and time.monotonic() < deadline:
            time.sleep(0.01)
        return all(path.exists() for path in paths)

    def stream():
        yield from map(str, early)
        seen.append(ran(early))
        yield str(late)
        seen.append(ran([late]))
        yield str(tmp_path / "after")

    try:
        assert list(mapper.map(_touch, stream())) == [*map(str, early), str(late), str(tmp_path / "after")]
    finally:
        mapper.close()
    assert seen == [True, True]


def test_the_read_ahead_lets_its_items_go_when_the_index_answers_one():
    """Items wait in the read-ahead while the items after them are to be mapped; once the index answers one (a
    rebuild's unchanged files), those waiting go on at once; the answered ones are not items to map."""
    from newscorpus.pipeline import READ_AHEAD, _ANSWERED, _reading_ahead

    pulled: list[object] = []

    def items():
        for item in ["a", "b", _ANSWERED, "c", *range(READ_AHEAD + 1), _ANSWERED, _ANSWERED, "d"]:
            pulled.append(item)
            yield item

    stream = _reading_ahead(items(), lambda item: None)
    assert next(stream) == "a" and pulled[-1] is _ANSWERED and len(pulled) == 3  # released by the first answer
    assert next(stream) == "b" and len(pulled) == 3
    assert next(stream) == "c" and len(pulled) == 4 + READ_AHEAD  # READ_AHEAD items pulled after it
    assert list(stream) == [*range(READ_AHEAD + 1), "d"]


class _RecordingMapper:
    """A mapper in this process that notes, as it takes each item, how many items ``known`` has been asked about and
    how many files have been announced by then."""

    def __init__(self, asked: list, announced: list) -> None:
        self.asked, self.announced, self.took = asked, announced, []

    def map(self, fn, items, batch=None):
        for item in items:
            self.took.append((item, len(self.asked), len(self.announced)))
            yield fn(item)


def test_an_item_the_index_does_not_answer_goes_to_the_map_at_the_next_answer():
    """A rebuild's one changed file among files the index answers reaches the map as soon as the index answers the
    file after it, not once the scan has looked up the rest of its window (the answers after it, here 30)."""
    from newscorpus.pipeline import _in_order

    asked: list = []
    items = [f"known-{i}" for i in range(10)] + ["changed"] + [f"known-{i}" for i in range(11, 41)]
    known = lambda item: asked.append(item) or (None if item == "changed" else {"from": "index"})
    mapper = _RecordingMapper(asked, [])
    out = list(_in_order(mapper, lambda item: {"made": item}, items, known, lambda item: None, lambda item: 1))
    assert [item for item, _, _ in out] == items
    assert [result for item, result, _ in out if item == "changed"] == [{"made": "changed"}]
    assert mapper.took == [("changed", 12, 0)]  # the ten before it, itself, and the one after it


def test_a_cold_scan_announces_each_file_read_ahead_across_its_segments():
    """In a cold scan (nothing answered by the index) each file is announced :data:`READ_AHEAD` files before the map
    takes it, across the ends of its segments (which the index does not answer either)."""
    from newscorpus.pipeline import READ_AHEAD, _segmented

    announced: list = []
    segments = [(number, [f"s{number}-{i}" for i in range(300)]) for number in range(4)]
    mapper = _RecordingMapper([], announced)
    done = list(_segmented(mapper, lambda item: {"made": item}, segments, lambda item: None,
                           lambda item: announced.append(item) or None))
    assert [number for number, _ in done] == [0, 1, 2, 3]
    assert [len(results) for _, results in done] == [300] * 4
    total = 4 * 300
    assert [announced_then for _, _, announced_then in mapper.took] == [min(at + 1 + READ_AHEAD, total) for at in range(total)]


def test_the_cache_s_format_is_part_of_every_key(monkeypatch):
    """A cache of another entry format is not read (its entries would be counted as damaged): the format is part of
    the code's fingerprint, which every key holds."""
    import newscorpus.cache

    newscorpus.pipeline.code_fingerprint.cache_clear()
    before = newscorpus.pipeline.code_fingerprint()
    monkeypatch.setattr(newscorpus.cache, "_MAGIC", b"newscorpus-cache 0\n")
    newscorpus.pipeline.code_fingerprint.cache_clear()
    try:
        assert newscorpus.pipeline.code_fingerprint() != before
    finally:
        monkeypatch.undo()
        newscorpus.pipeline.code_fingerprint.cache_clear()
    assert newscorpus.pipeline.code_fingerprint() == before


def _arrow_pool_of(_: int) -> str:
    import pyarrow as pa

    return pa.default_memory_pool().backend_name


def test_the_pool_s_workers_allocate_arrow_memory_with_jemalloc_and_the_caller_keeps_its_own():
    """jemalloc returns the pages a group's JSON parse and Parquet write free (mimalloc, pyarrow's default, kept
    them: +20-30 MB a worker); the pool's workers use it, the process that imports newscorpus keeps its default."""
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow wheel has no jemalloc")
    before = pa.default_memory_pool().backend_name
    mapper = ProcessMapper(2)
    try:
        assert set(mapper.map(_arrow_pool_of, range(8), batch=1)) == {"jemalloc"}
    finally:
        mapper.close()
    assert pa.default_memory_pool().backend_name == before


#: Run by a fresh interpreter: a pool's workers each hold 64 MB of Arrow memory, written, then free it; printed:
#: each one's Arrow memory pool and anonymous RSS (MB) before, while and after.
_ARROW_MEMORY_SCRIPT = """
import json
from newscorpus.pipeline import ProcessMapper

def anon():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon")) >> 10

def around(size):
    import numpy as np
    import pyarrow as pa
    before = anon()
    buffers = [pa.allocate_buffer(1 << 20) for _ in range(size >> 20)]
    for buffer in buffers:
        np.frombuffer(buffer, dtype=np.uint8)[:] = 1
    held = anon()
    del buffers, buffer
    return pa.default_memory_pool().backend_name, before, held, anon()

mapper = ProcessMapper(2)
print(json.dumps(list(mapper.map(around, [64 << 20] * 4, batch=1))))
mapper.close()
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="RSS read from /proc")
def test_a_worker_gives_back_the_arrow_memory_it_frees_at_once():
    """A worker's jemalloc returns freed pages to the system as they are freed (decay 0,
    ``pipeline.WORKER_JEMALLOC_CONF``): with pyarrow's own decay of a second, a worker kept 41-53 MB of the 64 MB
    it freed, under the next group's peak (docs/scale.md).  jemalloc reads its options when pyarrow is loaded, so
    the pool is started by a fresh interpreter that has not imported pyarrow, as a build's main process has not
    (this one has)."""
    import subprocess

    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow wheel has no jemalloc")
    env = {**os.environ, "PYTHONPATH": str(Path(newscorpus.build.__file__).parents[1])}
    env.pop("JE_ARROW_MALLOC_CONF", None)
    done = subprocess.run([sys.executable, "-c", _ARROW_MEMORY_SCRIPT], capture_output=True, text=True, env=env,
                          check=True, timeout=120)
    seen = json.loads(done.stdout.splitlines()[-1])
    assert {pool for pool, *_ in seen} == {"jemalloc"}  # each worker's first task's too
    for _, before, held, after in seen:
        assert held - before >= 60
        assert after - before <= 8


def test_a_worker_keeps_the_jemalloc_options_it_was_given(monkeypatch):
    """``JE_ARROW_MALLOC_CONF`` set by the user is theirs: a worker sets it only where it is not set."""
    import pyarrow as pa

    def missing() -> None:
        raise NotImplementedError("built without jemalloc")

    monkeypatch.setattr(pa, "jemalloc_memory_pool", missing)  # this process keeps its own pool
    monkeypatch.setenv("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:500")
    newscorpus.pipeline._worker_arrow_pool()
    assert os.environ["JE_ARROW_MALLOC_CONF"] == "dirty_decay_ms:500"
    monkeypatch.delenv("JE_ARROW_MALLOC_CONF")
    newscorpus.pipeline._worker_arrow_pool()
    assert os.environ["JE_ARROW_MALLOC_CONF"] == newscorpus.pipeline.WORKER_JEMALLOC_CONF


def test_a_worker_keeps_pyarrow_s_default_pool_where_the_wheel_has_no_jemalloc(monkeypatch):
    """Without jemalloc (a wheel built without it), a worker starts with pyarrow's default pool, and no error."""
    import pyarrow as pa

    def missing() -> None:
        raise NotImplementedError("built without jemalloc")

    before = pa.default_memory_pool().backend_name
    monkeypatch.setattr(pa, "jemalloc_memory_pool", missing)
    newscorpus.pipeline._worker_arrow_pool()
    assert pa.default_memory_pool().backend_name == before


def change_headline(corpus: Path) -> str:
    """Edit one raw file's headline (not its body) and its manifest line; return the article id."""
    manifest_path = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest_path.read_text().splitlines()]
    entry = next(e for e in entries if e["outlet"] not in ("The Moscow Times", "SpaceWar.com", "SpaceDaily", "TerraDaily"))
    path = corpus / "raw" / entry["file"]
    lines = path.read_text().split("\n")
    lines[0] = lines[0] + " (updated)"
    path.write_text("\n".join(lines))
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    return entry["id"]


def test_rebuild_after_one_raw_change_redoes_only_that_work(tmp_path):
    corpus = generate(tmp_path / "c", 40, seed=5)
    first = build_once(corpus, tmp_path, group_articles=10)
    assert first.cache.misses["convert"] == 40 and first.cache.hits.get("convert", 0) == 0
    again = build_once(corpus, tmp_path, group_articles=10)
    assert again.cache.misses == {} and again.cache.hits["convert"] == 40
    change_headline(corpus)
    third = build_once(corpus, tmp_path, group_articles=10)
    assert third.cache.misses["convert"] == 1
    assert third.cache.misses["shard"] == 1
    assert third.cache.misses.get("document", 0) <= 1
    assert third.problems == []
    assert "(updated)" in "".join(r["headline"] for p in (third.out / "data" / "articles").glob("*.parquet") for r in pq.read_table(p).to_pylist())


def test_the_card_is_rendered_again_only_when_what_it_shows_changed(tmp_path):
    """The README is cached under the key of what it shows: a rebuild that changed nothing writes the last one again
    (rendering it imports huggingface_hub, 0.1 s); a new agreement report renders it again."""
    corpus = generate(tmp_path / "c", 16, seed=29)
    first = build_once(corpus, tmp_path, group_articles=6)
    readme = (first.out / "README.md").read_bytes()
    again = build_once(corpus, tmp_path, group_articles=6)
    assert first.cache.misses["card"] == 1 and again.cache.hits["card"] == 1 and "card" not in again.cache.misses
    assert (again.out / "README.md").read_bytes() == readme
    (corpus / "annotations" / "agreement.md").write_text("Cohen's kappa 0.91 on the gold set.\n", encoding="utf-8")
    third = build_once(corpus, tmp_path, group_articles=6)
    assert third.cache.misses["card"] == 1 and "Cohen's kappa 0.91" in (third.out / "README.md").read_text(encoding="utf-8")


def test_a_patched_group_is_the_group_made_afresh(tmp_path, monkeypatch):
    """After one raw file changed, its group is patched from the last build's shards (only that article's rows made
    again), and the output is byte for byte a cold build of the changed corpus."""
    corpus = generate(tmp_path / "c", 40, seed=17)
    build_once(corpus, tmp_path / "warm", group_articles=10)
    change_headline(corpus)
    made: list[int] = []
    real = newscorpus.build._make_group
    monkeypatch.setattr(newscorpus.build, "_make_group", lambda *a: made.append(1) or real(*a))
    patched = build_once(corpus, tmp_path / "warm", group_articles=10)
    assert patched.cache.misses["shard"] == 1 and made == []
    monkeypatch.setattr(newscorpus.build, "PATCH_SHARE", 0.0)  # nothing is patched: every group made afresh
    cold = build_once(corpus, tmp_path / "cold", group_articles=10)
    assert len(made) == cold.cache.misses["shard"] > 1
    assert tree_digest(patched.out) == tree_digest(cold.out) and patched.counts == cold.counts


def change_an_annotated_body(corpus: Path) -> None:
    """Change one word of a raw file's body as the benchmark does (``touch_one``: "teh" for "the", the same length):
    the middle file's, which a gold document annotates (seed 17).  The document's ``bodySha256`` no longer matches,
    so it is stale and its rows go, whichever word changed."""
    from bench_build import touch_one

    touch_one(corpus)


def change_an_unannotated_body(corpus: Path) -> None:
    """Change one word of the body of an article no gold document annotates (and its manifest line)."""
    from bench_build import typo_fixed

    manifest_path = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest_path.read_text().splitlines()]
    entry = next(e for e in entries if not (corpus / "annotations" / "gold" / f"{e['id']}.json").exists())
    path = corpus / "raw" / entry["file"]
    path.write_text(typo_fixed(path.read_text(encoding="utf-8")), encoding="utf-8")
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))


def change_an_annotator(corpus: Path) -> None:
    """Say another annotator made the first mention of a gold document (its rows in 'articles' and 'entities')."""
    path = sorted((corpus / "annotations" / "gold").glob("*.json"))[0]
    document = json.loads(path.read_text(encoding="utf-8"))
    mention = document["mentions"][0]
    mention["annotator"] = "ann-01" if mention["annotator"] != "ann-01" else "ann-02"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")


#: An edit, and the configs whose shards a patched group writes again after it (the others' rows are as they were).
EDITS = {
    "a headline": (change_headline, ["articles"]),
    "a word of a body no document annotates": (change_an_unannotated_body, ["articles"]),
    "a word of an annotated body (its document stale)": (change_an_annotated_body, ["articles", "entities", "quotes"]),
    "a mention's annotator": (change_an_annotator, ["articles", "entities"]),
}


@pytest.mark.parametrize("edit, written", EDITS.values(), ids=EDITS.keys())
def test_a_patched_group_writes_again_only_the_configs_whose_rows_changed(tmp_path, monkeypatch, edit, written):
    """A config whose rows the edit left as they were keeps its last shard, bytes and figures (writing it again made
    the same bytes: about 22 ms of a one-file rebuild at 10,000 articles for 'entities' and 'quotes'); the output is byte
    for byte a cold build of the edited corpus."""
    corpus = generate(tmp_path / "c", 40, seed=17)
    build_once(corpus, tmp_path / "warm", group_articles=10)
    edit(corpus)
    configs: list[str] = []
    real = newscorpus.build._parquet
    config_of = {tuple(features()[config]): config for config in CONFIGS}  # (a table's config, by its columns)
    monkeypatch.setattr(newscorpus.build, "_parquet", lambda table: configs.append(config_of[tuple(table.column_names)]) or real(table))
    patched = build_once(corpus, tmp_path / "warm", group_articles=10)
    assert patched.cache.misses["shard"] == 1 and configs == written
    monkeypatch.setattr(newscorpus.build, "PATCH_SHARE", 0.0)  # every group made afresh
    cold = build_once(corpus, tmp_path / "cold", group_articles=10)
    assert tree_digest(patched.out) == tree_digest(cold.out) and patched.counts == cold.counts
    assert patched.problems == cold.problems
    assert [p.code for p in patched.problems] == (["annotation-stale"] if edit is change_an_annotated_body else [])


SCORES = {  # a mention's score, in lists of structs as 'articles' holds it: old and new rows, in chunks; kept or not
    "the same": ([[[{"score": 0.5}], None]], [[[{"score": 0.5}], None]], True),
    "the same, in other chunks": ([[[{"score": 0.5}], None]], [[[{"score": 0.5}]], [None]], True),
    "the sign of a zero": ([[[{"score": 0.0}]]], [[[{"score": -0.0}]]], False),
    "a NaN each": ([[[{"score": float("nan")}]]], [[[{"score": float("nan")}]]], False),
    "none against an empty list": ([[None]], [[[]]], False),
    "another score": ([[[{"score": 0.5}]]], [[[{"score": 0.25}]]], False),
}


@pytest.mark.parametrize("old, new, same", SCORES.values(), ids=SCORES.keys())
def test_a_configs_rows_are_kept_only_when_the_writer_would_write_them_the_same(old, new, same):
    """``ChunkedArray.equals`` takes -0.0 for 0.0, which the writer does not: such rows are written again."""
    import pyarrow as pa

    kind = pa.list_(pa.struct([("score", pa.float32())]))
    column = lambda chunks: pa.chunked_array([pa.array(rows, kind) for rows in chunks], kind)
    assert newscorpus.build._same_rows(column(old), column(new)) is same


@pytest.mark.parametrize("config", CONFIGS)
def test_a_group_whose_last_shard_cannot_be_patched_is_made_afresh(tmp_path, monkeypatch, config):
    """A patched group is made one config at a time; when a later config's last shard turns out unpatchable (an
    article's rows not one run), what was made for the earlier ones is dropped and the group is made afresh."""
    corpus = generate(tmp_path / "c", 40, seed=17)
    build_once(corpus, tmp_path / "warm", group_articles=10)
    change_headline(corpus)
    made: list[int] = []
    real_make, real_runs = newscorpus.build._make_group, newscorpus.build._runs
    monkeypatch.setattr(newscorpus.build, "_make_group", lambda *a: made.append(1) or real_make(*a))
    old_reads: list[int] = []  # the old shards' id columns are read in the order of CONFIGS, one column each

    def runs(table, column):
        if table.num_columns == 1:
            old_reads.append(1)
            if len(old_reads) == CONFIGS.index(config) + 1:
                return None
        return real_runs(table, column)

    monkeypatch.setattr(newscorpus.build, "_runs", runs)
    patched = build_once(corpus, tmp_path / "warm", group_articles=10)
    monkeypatch.setattr(newscorpus.build, "_runs", real_runs)
    assert patched.cache.misses["shard"] == 1 and made == [1]
    cold = build_once(corpus, tmp_path / "cold", group_articles=10)
    assert tree_digest(patched.out) == tree_digest(cold.out) and patched.counts == cold.counts


def _id_table(chunks: list[list[str | None]], encoded: bool):
    import pyarrow as pa

    arrays = [pa.array(chunk, pa.string()) for chunk in chunks]
    if encoded:
        arrays = [pa.DictionaryArray.from_arrays(pa.array([sorted(set(chunk)).index(v) for v in chunk], pa.int32()),
                                                 pa.array(sorted(set(chunk)), pa.string())) for chunk in chunks]
    return pa.table({"article_id": pa.chunked_array(arrays, arrays[0].type)})


@pytest.mark.parametrize("encoded", [False, True], ids=["strings", "dictionary"])
@pytest.mark.parametrize("chunks, runs", [
    ([["a", "a", "b", "c", "c", "c"]], {"a": (0, 2), "b": (2, 3), "c": (3, 6)}),
    ([["b", "a", "a"]], {"b": (0, 1), "a": (1, 3)}),
    ([["a"], ["a", "b"], ["b"]], {"a": (0, 2), "b": (2, 4)}),  # runs that go on into the next chunk
    ([["a", "b", "a"]], None),  # an article's rows in two runs
    ([["a", "b"], ["a"]], None),
    ([["a"], ["b"], ["a"]], None),
    ([[]], {}),
], ids=["runs", "unsorted", "across-chunks", "split-run", "split-across-chunks", "split-by-a-chunk", "empty"])
def test_an_articles_rows_are_found_as_one_run_or_not_at_all(chunks, runs, encoded):
    """What a patched group keeps of an old shard: each article's rows, found from the ids as strings or from a
    dictionary's codes (the old shards' ids are read so), the same either way."""
    from newscorpus.build import _runs

    assert _runs(_id_table(chunks, encoded), "article_id") == runs


@pytest.mark.parametrize("chunks, tally", [
    ([[0, 2, 2], [2]], {"PER": 1, "LOC": 3}),
    ([[1]], {"ORG": 1}),
    ([[]], {}),
], ids=["chunks", "one", "none"])
def test_a_groups_labels_are_tallied_in_their_order(chunks, tally):
    import pyarrow as pa

    from newscorpus.build import _tally

    column = pa.chunked_array([pa.array(chunk, pa.int64()) for chunk in chunks], pa.int64())
    names = ["PER", "ORG", "LOC"]
    assert list(_tally(column, names).items()) == list(tally.items())
    part = column.slice(1)  # a column that starts inside its buffers
    assert _tally(part, names) == dict(Counter(names[i] for i in part.to_pylist()))


def _groups(ids: list[str], size: int) -> list[tuple[str, ...]]:
    from newscorpus.build import group_bounds

    bounds = group_bounds(ids, size)
    return [tuple(ids[start:end]) for start, end in zip([0, *bounds], bounds)]


@pytest.mark.parametrize("size", [4, 10, 50, 1000])
def test_one_id_more_or_less_changes_about_one_group(size):
    """Groups are cut where the ids say, so one id added or removed leaves the other groups as they were
    (but for a rare short run of neighbours, where the minimum size moves a cut); cutting every ``size``
    ids would change every group after it."""
    import random

    rng = random.Random(size)
    ids = sorted(f"outlet-2024-{rng.randrange(1, 13):02d}-{rng.getrandbits(32):08x}" for _ in range(20 * size))
    before = _groups(ids, size)
    assert [i for g in before for i in g] == ids
    assert all(size // 2 <= len(g) <= 2 * size for g in before[:-1])
    assert 0.7 * size <= len(ids) / len(before) <= 1.3 * size
    lost = []
    for trial in range(40):
        at = rng.randrange(len(ids))
        changed = ids[:at] + ids[at + 1:] if trial % 2 else sorted({*ids, f"{ids[at]}-x"})
        assert [i for g in _groups(changed, size) for i in g] == changed
        lost.append(len(set(before) - set(_groups(changed, size))))
    assert min(lost) == 1 and sum(lost) / len(lost) <= 1.5 and max(lost) <= 5, lost


@pytest.mark.parametrize("shape", ["all", "articles-only", "one-split", "no-quotes-in-test"])
def test_the_cards_dataset_info_is_what_datasets_writes(tmp_path, shape):
    """The card's dataset_info, filled into a cached layout without importing datasets, equals datasets' own."""
    from huggingface_hub import DatasetCardData

    from newscorpus.build import SPLIT_NAMES, dataset_info, dataset_info_by_datasets
    from newscorpus.pipeline import Job

    counts = {c: {s: 100 * (i + 1) + j for j, s in enumerate(SPLIT_NAMES)} for i, c in enumerate(CONFIGS)}
    if shape == "articles-only":
        counts["entities"] = counts["quotes"] = dict.fromkeys(SPLIT_NAMES, 0)
    elif shape == "one-split":
        counts = {c: {s: (n if s == "train" else 0) for s, n in v.items()} for c, v in counts.items()}
    elif shape == "no-quotes-in-test":
        counts["quotes"]["test"] = 0
    nbytes = {c: {s: n * 4099 + 7 for s, n in v.items()} for c, v in counts.items()}
    job = Job("corpus", "corpus/raw", str(tmp_path / "cache"), "v", "f" * 64)
    expected = DatasetCardData()
    dataset_info_by_datasets(counts, nbytes, expected)
    for _ in range(2):  # the layout made, then read from the cache
        ours = DatasetCardData(dataset_info=dataset_info(counts, nbytes, job))
        assert ours.to_yaml() == expected.to_yaml()


@pytest.mark.parametrize("shape", ["all", "articles-only", "one-split"])
def test_the_cards_yaml_is_what_huggingface_hub_writes(tmp_path, monkeypatch, shape):
    """The card's YAML, its metadata rendered once and ``dataset_info`` dumped after it, is the text
    ``DatasetCardData.to_yaml`` gives for the whole."""
    from newscorpus.build import SPLIT_NAMES, card_metadata, card_yaml, dataset_info
    from newscorpus.pipeline import Job

    counts = {c: {s: (0 if shape == "one-split" and s != "train" else 1000 + j) for j, s in enumerate(SPLIT_NAMES)}
              for c in CONFIGS}
    if shape == "articles-only":
        counts["entities"] = counts["quotes"] = dict.fromkeys(SPLIT_NAMES, 0)
    nbytes = {c: {s: n * 5003 for s, n in v.items()} for c, v in counts.items()}
    present = {c: [s for s in SPLIT_NAMES if counts[c][s]] for c in CONFIGS}
    info = dataset_info(counts, nbytes, Job("corpus", "corpus/raw", str(tmp_path / "cache"), "v", "f" * 64))
    whole = card_metadata({"en", "fr", "ru"}, 3000, present, {"human", "model"})
    whole["dataset_info"] = info
    metadata = card_metadata({"en", "fr", "ru"}, 3000, present, {"human", "model"}).to_yaml()
    assert card_yaml(metadata, info) == whole.to_yaml()
    # dumped with placeholders for the sizes into the cache, then the sizes written into the cached text: the same
    store, stats = Cache(tmp_path / "cache"), CacheStats()
    dumped = []
    real = newscorpus.build._dumped_info
    monkeypatch.setattr(newscorpus.build, "_dumped_info", lambda info: dumped.append(1) or real(info))
    for sizes in (1, 7, 10**12):  # (sizes of other lengths than the placeholders')
        resized = [{**config, "splits": [{**split, "num_bytes": split["num_bytes"] * sizes, "num_examples": split["num_examples"] + sizes}
                                         for split in config["splits"]]} for config in (info if isinstance(info, list) else [info])]
        resized = resized if isinstance(info, list) else resized[0]
        assert card_yaml(metadata, resized, (store, "k" * 64, stats)) == card_yaml(metadata, resized)
    assert stats.misses == {"card-metadata": 1} and stats.hits == {"card-metadata": 2}
    assert len(dumped) == 1 + 3  # once into the cache, then only for the comparisons
    Cache(tmp_path / "cache").put("card-metadata", "k" * 64, {}, b"dataset_info: a text of another shape")  # damaged
    assert card_yaml(metadata, info, (store, "k" * 64, stats)) == whole.to_yaml()  # dumped again, and kept
    assert len(dumped) == 5 and Cache(tmp_path / "cache").get("card-metadata", "k" * 64, CacheStats())[1] != b"dataset_info: a text of another shape"
    job = Job("corpus", "corpus/raw", str(tmp_path / "cache"), "v", "f" * 64)
    shapes = {repr(shown): shown for shown in (present, {**present, "quotes": []}, {**present, "articles": ["train"]},
                                               {**present, "entities": list(SPLIT_NAMES)})}  # (those that differ)
    assert len(shapes) >= 2 and len({newscorpus.build._info_yaml_key(shown, job) for shown in shapes.values()}) == len(shapes)


def test_shard_schemas_are_the_declared_features(tmp_path):
    from newscorpus.build import arrow_schemas

    for _ in range(2):  # made, then read from the cache
        arrow_schemas.cache_clear()
        schemas = arrow_schemas(str(tmp_path / "cache"), "e" * 64)
        assert all(schemas[c].equals(features()[c].arrow_schema, check_metadata=True) for c in CONFIGS)


def test_converter_change_invalidates_every_conversion(tmp_path, monkeypatch):
    import newscorpus

    corpus = generate(tmp_path / "c", 12, seed=2)
    build_once(corpus, tmp_path)
    monkeypatch.setattr(newscorpus, "CONVERTER_VERSION", newscorpus.CONVERTER_VERSION + "+changed")
    rebuilt = build_once(corpus, tmp_path)
    assert rebuilt.cache.misses["convert"] == 12 and rebuilt.cache.hits.get("convert", 0) == 0


@pytest.mark.parametrize("indexed", [False, True], ids=["files-just-written", "stat-index-trusted"])
def test_corrupted_cache_entries_are_rebuilt_and_the_output_is_unchanged(tmp_path, monkeypatch, indexed):
    if indexed:  # files count as settled at once, so the rebuild takes unchanged files from the stat index
        monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 15, seed=8)
    first = build_once(corpus, tmp_path, group_articles=5)
    before = tree_digest(first.out)
    entries = sorted(p for p in (tmp_path / "cache").rglob("*") if p.is_file())
    named = [p for p in entries if p.parent.parent.name in ("convert", "document", "shard")]
    damaged = named[::7]
    for path in damaged:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    # a name shares its file with the other entries of its batch: the damage reaches those past the cut too
    shutil.copytree(tmp_path / "cache", tmp_path / "probe")
    probe = Cache(tmp_path / "probe")
    unsound = sum(probe.get(p.parent.parent.name, p.name, CacheStats()) is None for p in named)
    assert unsound >= len(damaged)
    # into another directory: a build into the same one links unchanged shards from it and reads no shard entry
    second = build(CorpusLayout(corpus), tmp_path / "elsewhere", cache_dir=tmp_path / "cache", mapper=ProcessMapper(1),
                   group_articles=5)
    assert sum(second.cache.corrupted.values()) == unsound > 0
    assert tree_digest(second.out) == before


def test_a_damaged_record_of_the_output_is_not_served_and_the_rebuild_writes_every_file_again(tmp_path, monkeypatch):
    """The record of the last output is streamed from the cache into a file, checked only at its end: a byte flipped
    in its payload (a row group's template) is found, the record dropped, and every file written again from the
    shard cache, the same bytes, none linked from the old output on the damaged record's word."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 30, seed=12)
    first = build_once(corpus, tmp_path, group_articles=5)
    shards = sorted((first.out / "data").rglob("*.parquet"))
    before, inodes = tree_digest(first.out), {p: p.stat().st_ino for p in shards}
    (record,) = [p for p in (tmp_path / "cache" / "output").rglob("*") if p.is_file()]
    data = bytearray(record.read_bytes())
    data[-10] ^= 1
    record.write_bytes(bytes(data))
    second = build_once(corpus, tmp_path, group_articles=5)
    assert tree_digest(second.out) == before
    assert all(p.stat().st_ino != inodes[p] for p in shards)  # written, not linked
    assert second.cache.misses == {}  # the shards read from their cache entries


def test_a_rebuild_links_unchanged_shards_and_rewrites_edited_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 30, seed=12)
    first = build_once(corpus, tmp_path, group_articles=5)
    shards = sorted((first.out / "data").rglob("*.parquet"))
    before, inodes = tree_digest(first.out), {p: p.stat().st_ino for p in shards}
    second = build_once(corpus, tmp_path, group_articles=5)
    assert {p: p.stat().st_ino for p in shards} == inodes  # linked, not written again
    assert second.cache.misses == {} and tree_digest(second.out) == before
    edited, truncated = shards[0], shards[-1]
    edited.write_bytes(edited.read_bytes().replace(b"PAR1", b"PAR2", 1))  # same size: only its stat tells
    truncated.write_bytes(truncated.read_bytes()[:100])
    third = build_once(corpus, tmp_path, group_articles=5)
    assert tree_digest(third.out) == before
    assert edited.stat().st_ino != inodes[edited] and truncated.stat().st_ino != inodes[truncated]
    # the groups of the two files (one shard per config each) are written again; every other shard is linked
    assert len(shards) - 6 <= sum(p.stat().st_ino == inodes[p] for p in shards) <= len(shards) - 2


# ---------------------------------------------------------------- same problems as validate


def break_corpus(corpus: Path) -> None:
    """Damage a synthetic corpus in the ways validate reports across files."""
    raw, gold = corpus / "raw", corpus / "annotations" / "gold"
    entries = [json.loads(line) for line in (raw / "manifest.jsonl").read_text().splitlines()]
    (raw / entries[0]["file"]).unlink()                                       # raw-missing
    entries[1]["sha256"] = "0" * 64                                           # raw-sha-mismatch
    entries.append(dict(entries[2]))                                          # id-duplicate (id and file)
    (raw / "stray.txt").write_text("Stray\n\nA stray file nobody listed.\n")  # raw-unlisted
    (raw / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries) + "{not json\n")
    docs = sorted(gold.glob("*.json"))
    first = json.loads(docs[3].read_text())
    first["mentions"][0]["text"] = "not the body"                            # span-text-mismatch
    first["entities"][0]["name"] = "Someone Else"                            # entity-conflict (if shared)
    docs[3].write_text(json.dumps(first, indent=2))
    linked = next(p for p in docs if any(q.get("sameAs") for q in json.loads(p.read_text())["quotes"]))
    doc = json.loads(linked.read_text())
    next(q for q in doc["quotes"] if q.get("sameAs"))["sameAs"][0]["quote"] = "q999"  # quote-link-unresolved
    linked.write_text(json.dumps(doc, indent=2))
    (gold / "misnamed.json").write_text(docs[5].read_text())                 # annotation-file-name
    (gold / "broken.json").write_text('{"a": 1, "a": 2}')                    # json-duplicate-key
    (gold / "linked.json").symlink_to(docs[6])                               # file-not-regular (a symbolic link)
    secret = corpus.parent / "secret.txt"                                     # a raw file that is a link out of the corpus:
    secret.write_text("SECRET headline\n\nTOKEN=abc123, on the runner.\n")    # file-not-regular, left out
    (raw / entries[4]["file"]).unlink()
    (raw / entries[4]["file"]).symlink_to(secret)


def test_build_reports_exactly_what_validate_reports(tmp_path):
    corpus = generate(tmp_path / "c", 30, seed=4)
    break_corpus(corpus)
    expected = sorted(validate_corpus(CorpusLayout(corpus))[0], key=sort_key)
    codes = {p.code for p in expected}
    assert {"raw-missing", "raw-sha-mismatch", "id-duplicate", "raw-unlisted", "json-invalid", "span-text-mismatch",
            "quote-link-unresolved", "annotation-file-name", "json-duplicate-key", "file-not-regular"} <= codes
    linked = json.loads((corpus / "raw" / "manifest.jsonl").read_text().splitlines()[4])["file"]
    assert any(p.code == "file-not-regular" and p.file == f"corpus/raw/{linked}" for p in expected)  # the link, by its name
    for workers in (1, 2):
        result = build_once(corpus, tmp_path / f"w{workers}", workers=workers)
        assert sorted(result.problems, key=sort_key) == expected
        shards = sorted((result.out / "data").rglob("*.parquet"))
        assert shards and not any(b"abc123" in pq.read_table(f).to_pandas().to_json().encode() for f in shards)



def _unlisted(result) -> list[str]:
    return sorted(p.file for p in result.problems if p.code == "raw-unlisted")


@pytest.mark.parametrize("change", ["a-raw-file-edited", "a-stray-file-added", "the-stray-file-removed", "a-stray-file-renamed",
                                    "the-stray-file-listed", "the-stray-link-s-target-removed"])
def test_the_unlisted_raw_files_are_answered_by_the_index_only_while_the_directory_keeps_its_names(tmp_path, monkeypatch, change):
    """A one-file rebuild takes the raw files the manifest does not list from the index, without searching the
    manifest's names for the directory's; a file added, removed or renamed is seen; a directory holding a symbolic
    link is listed again every time (its target can go without the directory changing)."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)  # the directory's stat is trusted at once
    corpus = generate(tmp_path / "c", 8, seed=5)
    raw = corpus / "raw"
    (raw / "stray.txt").write_text("Stray\n\nA stray file nobody listed.\n")
    if change == "the-stray-link-s-target-removed":
        (tmp_path / "target.txt").write_text("Target\n\nOutside the corpus.\n")
        (raw / "link.txt").symlink_to(tmp_path / "target.txt")
    first = build_once(corpus, tmp_path)
    expected = _unlisted(first)
    assert expected == sorted(["corpus/raw/stray.txt"] + (["corpus/raw/link.txt"] if "link" in change else []))
    entry = json.loads((raw / "manifest.jsonl").read_text().splitlines()[3])
    if change == "a-raw-file-edited":  # in place: the directory keeps its names and its stat
        (raw / entry["file"]).write_text((raw / entry["file"]).read_text() + "\nA line added.\n")
    elif change == "a-stray-file-added":
        (raw / "another.txt").write_text("Another\n\nNobody listed this one either.\n")
        expected = sorted([*expected, "corpus/raw/another.txt"])
    elif change == "the-stray-file-removed":
        (raw / "stray.txt").unlink()
        expected = []
    elif change == "the-stray-file-listed":  # the directory keeps its stat, the manifest's names change
        listed_entry = {**entry, "id": "stray-2023-10-19-0001", "file": "stray.txt",
                        "sha256": hashlib.sha256((raw / "stray.txt").read_bytes()).hexdigest()}
        with open(raw / "manifest.jsonl", "a", encoding="utf-8") as manifest:
            manifest.write(json.dumps(listed_entry) + "\n")
        expected = []
    elif change == "a-stray-file-renamed":
        (raw / "stray.txt").rename(raw / "strayed.txt")
        expected = ["corpus/raw/strayed.txt"]
    else:
        (tmp_path / "target.txt").unlink()  # the link is no file now: not reported
        expected = ["corpus/raw/stray.txt"]
    listed = []
    scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path=".": listed.append(path) or scandir(path))
    again = build_once(corpus, tmp_path)
    assert any(isinstance(path, (str, os.PathLike)) and Path(path) == raw for path in listed) == (change != "a-raw-file-edited")
    assert _unlisted(again) == expected == sorted(p.file for p in validate_corpus(CorpusLayout(corpus))[0] if p.code == "raw-unlisted")


@pytest.mark.parametrize("change", ["a-document-edited", "a-document-added", "a-document-removed", "a-document-renamed",
                                    "a-link-added", "the-directory-changed-a-moment-ago"])
def test_a_set_s_listing_is_answered_by_the_index_only_while_its_directory_keeps_its_names(tmp_path, monkeypatch, change):
    """A rebuild takes the names of a set's documents from the index (``pipeline._set_listing``), without listing its
    directory, while the directory has the stat it had: a document edited in place keeps it; one added, removed or
    renamed is seen, and the rebuild finds what a cold build of the corpus finds.  A directory holding a symbolic
    link, or changed a moment ago (the racy rule), is listed again every time."""
    # the directory's stat trusted at once, or never: every directory of the test changed "a moment ago"
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 10**12 if change == "the-directory-changed-a-moment-ago" else 0)
    corpus = generate(tmp_path / "c", 8, seed=5)
    gold = corpus / "annotations" / "gold"
    first = build_once(corpus, tmp_path)
    time.sleep(0.05)  # (a later tick of the file system's clock: a change gives the directory another stat)
    documents = sorted(gold.glob("*.json"))
    if change == "a-document-edited":  # in place (laid out again): the directory keeps its names and its stat
        documents[0].write_text(json.dumps(json.loads(documents[0].read_text()), indent=1))
    elif change == "a-document-added":  # (named after no article: reported)
        shutil.copyfile(documents[0], gold / "copy-of-a-document.json")
    elif change == "a-document-removed":
        documents[1].unlink()
    elif change == "a-document-renamed":
        documents[2].rename(gold / "renamed.json")
    elif change == "a-link-added":
        documents[3].rename(tmp_path / "outside.json")
        (gold / documents[3].name).symlink_to(tmp_path / "outside.json")
    listed = []
    scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path=".": listed.append(path) or scandir(path))

    def gold_listed() -> bool:
        return any(isinstance(path, (str, os.PathLike)) and Path(path) == gold for path in listed)

    again = build_once(corpus, tmp_path)
    assert gold_listed() == (change != "a-document-edited")
    cold = build_once(corpus, tmp_path / "cold")
    assert sorted(again.problems, key=sort_key) == sorted(cold.problems, key=sort_key)
    assert again.counts == cold.counts
    assert (again.counts != first.counts or again.problems != first.problems) == (change in ("a-document-added", "a-document-removed",
                                                                                            "a-document-renamed", "a-link-added"))
    listed.clear()
    build_once(corpus, tmp_path)  # and once more: listed again only where it cannot be recorded
    assert gold_listed() == (change in ("a-link-added", "the-directory-changed-a-moment-ago"))
    if change == "a-document-edited":  # a record not as packed (another version's): listed again, the same result
        real = newscorpus.names.SortedNames.unpacked
        monkeypatch.setattr(newscorpus.names.SortedNames, "unpacked", classmethod(lambda cls, data: real(data[:-1])))
        listed.clear()
        once_more = build_once(corpus, tmp_path)
        assert gold_listed() and once_more.problems == again.problems and once_more.counts == again.counts


@pytest.mark.parametrize("racy_ns", [0, 10**12], ids=["settled", "changed-a-moment-ago"])
def test_the_index_records_the_unlisted_files_only_for_a_directory_not_changed_a_moment_ago(tmp_path, monkeypatch, racy_ns):
    """The racy rule holds for the raw directory as for a file: a directory whose stat is within RACY_NS of now
    (here 1,000 s: every directory of the test) is not recorded, since a name added in the same tick of its
    clock would not change its stat; the next build lists it again."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", racy_ns)
    corpus = generate(tmp_path / "c", 4, seed=6)
    (corpus / "raw" / "stray.txt").write_text("Stray\n\nA stray file nobody listed.\n")
    assert _unlisted(build_once(corpus, tmp_path)) == ["corpus/raw/stray.txt"]
    [index] = (tmp_path / "cache" / "index").glob("*/*.sqlite")
    with closing(sqlite3.connect(index)) as db:
        recorded = db.execute("SELECT count(*) FROM segments WHERE kind = 'raw:unlisted'").fetchone()[0]
    assert recorded == (racy_ns == 0)
    (corpus / "raw" / "stray.txt").unlink()
    assert _unlisted(build_once(corpus, tmp_path)) == []


@pytest.mark.parametrize("rows, expected", [
    ([], []),
    ([("a1", "a1")], [1]),                               # named after its article: the file's search answers
    ([("a1", None)], [-1]),                              # unreadable
    ([("a1", "")], [-1]),                                # (a summary without an article)
    ([("a1", "a2")], [2]),                               # misnamed: its article searched
    ([("a1", "zz")], [-1]),                              # misnamed, naming no article
    ([("a0", "a0"), ("a1", "a3"), ("a2", None), ("a3", "a3"), ("x", 7)], [0, 3, -1, 3, -1]),
])
def test_a_document_s_article_is_found_by_its_file_s_name_unless_it_names_another(rows, expected):
    from newscorpus.pipeline import ArticleIndex, _articles_of

    index = ArticleIndex()
    for i in range(4):
        index.add(f"{i:064x}", {"id": f"a{i}", "date": None, "language": "en", "publisher": "p", "agency": None}, b"")
    stems = [stem for stem, _ in rows]
    idents = [None if article in (None, "") else article for _, article in rows]  # (as document_columns gives them)
    assert _articles_of(index, idents, (stems, index.positions(stems))) == expected
    with pytest.raises(ValueError):  # a row per file, or it is a bug
        _articles_of(index, idents + [None], (stems, index.positions(stems)))


@pytest.mark.parametrize("positions, reads", [
    ([], 0),
    ([3], 1),
    ([5, 6, 7], 1),
    ([199, 0, 100, 3, 3, 150], 2),   # out of order and repeated: 0 and 3, then 100 to 199 (97 apart)
    ([0, 64, 128, 192], 2),          # at most GAP apart, at most RUN keys a read
    ([0, 65, 130], 3),               # farther apart: a read each
    (list(range(205)), 2),           # the file's 200 in two reads, the buffer's 5 read in memory
    ([204, 0, 202], 1),
    ([201], 0),                      # in the buffer only
    ([204, 202, 202], 0),
])
def test_the_key_file_reads_neighbouring_keys_together(positions, reads, monkeypatch):
    from newscorpus.pipeline import KeyFile

    monkeypatch.setattr(KeyFile, "IN_MEMORY", 40)
    monkeypatch.setattr(KeyFile, "BUFFERED", 16)
    monkeypatch.setattr(KeyFile, "RUN", 100)
    keys = [hashlib.sha256(str(i).encode()).digest() for i in range(205)]
    table = KeyFile()
    table.extend(b"".join(keys[:200]))  # past IN_MEMORY: to the file
    table.extend(b"".join(keys[200:]))  # in the buffer
    calls = []
    pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, at: calls.append(n) or pread(fd, n, at))
    assert table.hex_at(positions) == [keys[at].hex() for at in positions]
    assert len(calls) == reads
    for outside in ([205], [-1], [3, 205]):
        with pytest.raises(IndexError):
            table.hex_at(outside)

@pytest.mark.parametrize("positions", [[0], [4, 0, 4, 2], [3, 4], list(range(5))[::-1], [0, 99], [99, 50, 0, 99]])
def test_the_key_file_in_memory_answers_each_position(positions):
    """Neighbours or keys far apart, in any order, each key's own bytes."""
    from newscorpus.pipeline import KeyFile

    keys = [hashlib.sha256(str(i).encode()).digest() for i in range(100)]
    table = KeyFile()
    table.extend(b"".join(keys))
    assert table.hex_at(positions) == [keys[at].hex() for at in positions]
    assert table.hex_at([]) == []
    for outside in ([100], [-1], [3, 100], [-1, 2]):
        with pytest.raises(IndexError):
            table.hex_at(outside)


@pytest.mark.parametrize("kind", ["a-link-to-a-file", "a-link-to-nothing", "a-fifo"])
def test_a_raw_file_that_is_not_a_regular_file_is_reported_and_left_out(tmp_path, kind):
    """A raw file must be a regular file: a symbolic link could point anywhere (a runner's secrets), a FIFO would
    block a reader.  The build and validate report it by its own name, and nothing of it is built."""
    corpus = generate(tmp_path / "c", 6, seed=7)
    entries = [json.loads(line) for line in (corpus / "raw" / "manifest.jsonl").read_text().splitlines()]
    raw = corpus / "raw" / entries[2]["file"]
    raw.unlink()
    if kind == "a-fifo":
        os.mkfifo(raw)
    else:
        (tmp_path / "target.txt").write_text("Target headline\n\nTOKEN=abc123 from outside the corpus.\n")
        raw.symlink_to(tmp_path / ("target.txt" if kind == "a-link-to-a-file" else "nothing.txt"))
    expected = sorted(validate_corpus(CorpusLayout(corpus))[0], key=sort_key)
    assert [(p.code, p.file) for p in expected if p.code != "article-unknown"] == [("file-not-regular", f"corpus/raw/{raw.name}")]
    result = build_once(corpus, tmp_path / "out", workers=1)
    again = build_once(corpus, tmp_path / "out", workers=1)  # and again, from the scan's index
    assert sorted(result.problems, key=sort_key) == sorted(again.problems, key=sort_key) == expected
    ids = {row["id"] for f in (result.out / "data" / "articles").glob("*.parquet") for row in pq.read_table(f, columns=["id"]).to_pylist()}
    assert entries[2]["id"] not in ids and len(ids) == 5


def test_the_cards_wire_clusters_per_split_are_those_in_the_shards(tmp_path):
    """The card counts each split's wire clusters (``build.cluster_counts``, from one byte per article): the distinct
    ``wire_cluster`` values of that split's articles, as written."""
    corpus = generate(tmp_path / "c", 120, seed=6)
    result = build_once(corpus, tmp_path / "out", workers=1)
    in_shards = {split: len({cluster for f in sorted((result.out / "data" / "articles").glob(f"{split}-*.parquet"))
                             for cluster in pq.read_table(f, columns=["wire_cluster"]).column(0).to_pylist()})
                 for split in ("train", "validation", "test")}
    card = (result.out / "README.md").read_text()
    rows = {line.split("|")[1].strip(): int(line.split("|")[3]) for line in card.splitlines()
            if line.startswith(("| train |", "| validation |", "| test |"))}
    assert rows == in_shards and sum(rows.values()) < 120  # wire copies share clusters


def test_the_clusters_splits_are_kept_with_them_and_a_rebuild_takes_both_from_the_cache(tmp_path, monkeypatch):
    """Each wire cluster's split is kept in the clusters' cache entry (``build.cached_clusters``): a build whose ids,
    dates and signatures are unchanged takes the clusters and their splits from it, computing neither, and they are
    what computing them gives; an entry without the splits (4 bytes an article, as before) is made again."""
    from newscorpus.build import SPLIT_NAMES, cached_clusters, splits_of
    from newscorpus.clusters import firsts_of_pairs
    from newscorpus.pipeline import Job, scan

    corpus = generate(tmp_path / "c", 60, seed=6)
    build_once(corpus, tmp_path / "out", workers=1)
    layout, cache = CorpusLayout(corpus).absolute(), (tmp_path / "out" / "cache").resolve()
    found, job = scan(layout, cache, ProcessMapper(1)), Job.of(layout, cache)
    computed = []
    monkeypatch.setattr(newscorpus.build, "splits_of", lambda *a: computed.append("splits") or splits_of(*a))
    monkeypatch.setattr(newscorpus.build, "firsts_of_pairs", lambda *a: computed.append("clusters") or firsts_of_pairs(*a))
    firsts, splits = cached_clusters(found, job)
    assert computed == [] and found.cache.hits.get("clusters") == 1
    assert splits.tolist() == splits_of(found, firsts).tolist()
    assert len(splits) == len(firsts) == 60 and set(splits.tolist()) - {len(SPLIT_NAMES)}  # (each cluster's first a split)
    (entry,) = [path for path in (cache / "clusters").rglob("*")  # 4 bytes an article: made again
                if path.is_file() and path.name != newscorpus.build._last_pairs_key(job)]
    short = Cache(cache).get("clusters", entry.name, CacheStats())
    Cache(cache).put("clusters", entry.name, short[0], bytes(short[1])[:4 * 60])
    again = cached_clusters(found, job)
    assert computed == ["clusters", "splits"] and again[0] == firsts and again[1].tolist() == splits.tolist()


def _edit_raw(corpus: Path, number: int, edit: Callable[[dict, list[dict]], None]) -> None:
    """Apply ``edit(entry, entries)`` to the ``number``-th line of the manifest (it may rewrite the entry's file), and
    write the manifest again with the file's sha256."""
    manifest_path = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest_path.read_text().splitlines()]
    edit(entries[number], entries)
    entries[number]["sha256"] = hashlib.sha256((corpus / "raw" / entries[number]["file"]).read_bytes()).hexdigest()
    manifest_path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))


def _rewrite_a_body(corpus: Path, number: int) -> None:
    """Put another article's longest line in place of the longest line of the ``number``-th raw file of the
    manifest: its body's signature changes."""
    def edit(entry: dict, entries: list[dict]) -> None:
        path, other = (corpus / "raw" / e["file"] for e in (entry, entries[(number + len(entries) // 2) % len(entries)]))
        text = path.read_text(encoding="utf-8")
        longest = max(text.splitlines(), key=len)
        path.write_text(text.replace(longest, max(other.read_text(encoding="utf-8").splitlines(), key=len), 1), encoding="utf-8")
    _edit_raw(corpus, number, edit)


def _copy_a_body(corpus: Path, number: int) -> None:
    """Make the ``number``-th raw file of the manifest a copy of another's text: a new similar pair, its wire cluster
    changed."""
    def edit(entry: dict, entries: list[dict]) -> None:
        (corpus / "raw" / entry["file"]).write_bytes((corpus / "raw" / entries[(number + 7) % len(entries)]["file"]).read_bytes())
    _edit_raw(corpus, number, edit)


def _rename_an_article(corpus: Path, number: int) -> None:
    """Give the ``number``-th article of the manifest another id (its file and body as they were)."""
    _edit_raw(corpus, number, lambda entry, entries: entry.update(id=entry["id"][:-8] + "0badc0de"))


@pytest.mark.parametrize("edit", ["a-body-rewritten", "a-body-made-a-copy", "an-article-renamed", "the-last-entry-damaged"])
def test_a_rebuild_finds_the_pairs_of_changed_signatures_alone_and_builds_what_a_cold_build_does(tmp_path, monkeypatch, edit):
    """After an edit, a rebuild's clusters start from the pairs, fingerprints and splits the last build left
    (``build._last_pairs_key``): the bands of every article are not sorted again, and the output is a cold build's
    (a body rewritten; a body made a copy of another's, a new pair; an article renamed, its signature the same and
    the splits of the ids computed again); a last entry of another shape is not used (all found again). A build
    that took its clusters from the cache and pruned it keeps the last entry."""
    import newscorpus.clusters as clusters
    from newscorpus.build import _last_pairs_key, cached_clusters
    from newscorpus.pipeline import Job, scan

    corpus = generate(tmp_path / "c", 200, seed=6)
    build_once(corpus, tmp_path / "out", workers=1)
    layout, cache = CorpusLayout(corpus).absolute(), (tmp_path / "out" / "cache").resolve()
    job = Job.of(layout, cache)
    before = cached_clusters(scan(layout, cache, ProcessMapper(1)), job)[0]
    everything, splits_computed = [], []
    real, real_split = clusters._similar_pairs, newscorpus.build.split_of
    monkeypatch.setattr(clusters, "_similar_pairs", lambda *a: everything.append(1) or real(*a))
    monkeypatch.setattr(newscorpus.build, "split_of", lambda ident: splits_computed.append(ident) or real_split(ident))
    {"a-body-rewritten": partial(_rewrite_a_body, corpus, 100), "a-body-made-a-copy": partial(_copy_a_body, corpus, 100),
     "an-article-renamed": partial(_rename_an_article, corpus, 100), "the-last-entry-damaged": partial(_rewrite_a_body, corpus, 40)}[edit]()
    if edit == "the-last-entry-damaged":  # (a pair too many for its count)
        last = Cache(cache).get("clusters", _last_pairs_key(job), CacheStats())
        Cache(cache).put("clusters", _last_pairs_key(job), last[0], bytes(last[1]) + b"\0" * 8)
    again = build_once(corpus, tmp_path / "out", workers=1)
    assert again.cache.misses.get("clusters") == 1 and everything == ([1] if edit == "the-last-entry-damaged" else [])
    # the splits of the firsts already known kept, where the ids are the same
    assert (len(splits_computed) > 50) == (edit in ("an-article-renamed", "the-last-entry-damaged"))
    after = cached_clusters(scan(layout, cache, ProcessMapper(1)), job)[0]
    assert (after != before) == (edit == "a-body-made-a-copy")  # (a new pair: its cluster changed)
    cold = build_once(corpus, tmp_path / "cold", workers=1)
    assert tree_digest(again.out) == tree_digest(cold.out) and again.counts == cold.counts
    build_once(corpus, tmp_path / "out", workers=1, prune_cache=True)  # the clusters from the cache: the entry kept
    assert Path(Cache(cache).location("clusters", _last_pairs_key(job))).is_file()


def test_the_last_pairs_entry_is_read_back_as_written_and_refused_when_not_of_its_shape():
    """``build._last_pairs`` gives back the fingerprints, ids' digest, splits and pairs written; a payload of
    another length, a pair out of range, reversed, repeated or out of order, a split past the last, or a meta
    without a field is refused (the pairs are then found from every signature)."""
    import numpy as np
    from newscorpus.build import SPLIT_NAMES, _last_pairs

    count = 10
    fingerprints = np.arange(count, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    splits = np.array([0, 3, 1, 3, 2, 3, 3, 3, 0, 3], dtype=np.uint8)
    pairs = np.array([[0, 1], [0, 5], [2, 9], [4, 6]], dtype=np.int32)

    def entry(pairs=pairs, splits=splits, extra=b"", **meta):
        return ({"articles": count, "width": 4, "ids": "d" * 64, "pairs": len(pairs), **meta},
                fingerprints.astype("<u8").tobytes() + splits.tobytes() + pairs.astype("<i4").tobytes() + extra)

    similar, ids, got_splits = _last_pairs(entry())
    assert np.array_equal(similar.fingerprints, fingerprints) and similar.pairs.tolist() == pairs.tolist()
    assert ids == "d" * 64 and got_splits.tolist() == splits.tolist() and len(SPLIT_NAMES) == 3
    assert _last_pairs(entry(pairs=np.zeros((0, 2), dtype=np.int32))) is not None
    for damaged in (entry(extra=b"\0" * 8), entry(pairs=np.array([[0, 10]])), entry(pairs=np.array([[1, 0]])),
                    entry(pairs=np.array([[0, 5], [0, 1]])), entry(pairs=np.array([[0, 1], [0, 1]])),
                    entry(pairs=np.array([[-1, 1]])), entry(splits=np.full(count, 4, dtype=np.uint8)),
                    entry(width=8), entry(ids=None), entry(pairs=pairs, extra=b"", articles=11), None):
        assert _last_pairs(damaged) is None


def _unlink_quotes(corpus: Path, every: int) -> int:
    """Point every ``every``-th sameAs link of the gold documents at a quote that does not exist; how many."""
    broken = seen = 0
    for path in sorted((corpus / "annotations" / "gold").glob("*.json")):
        doc = json.loads(path.read_text())
        for quote in doc["quotes"]:
            for link in quote.get("sameAs", []):
                seen += 1
                if seen % every == 0:
                    link["quote"], broken = "q999", broken + 1
        path.write_text(json.dumps(doc, indent=2))
    return broken


@pytest.mark.parametrize("at_once", [(1 << 18, 1 << 16), (5, 3), (1, 1)], ids=["one-part", "parts", "a-digest-a-part"])
def test_sameas_links_resolved_a_part_at_a_time_are_those_validate_reports(tmp_path, monkeypatch, at_once):
    """The quotes' digests are sorted a part at a time (their value modulo the number of parts) and the spilled files
    read in chunks: whatever the sizes, the unresolved links are the ones validate reports."""
    corpus = generate(tmp_path / "c", 30, seed=8)
    broken = _unlink_quotes(corpus, 3)
    assert broken >= 3
    expected = sorted(validate_corpus(CorpusLayout(corpus))[0], key=sort_key)
    monkeypatch.setattr(newscorpus.pipeline, "RESOLVED_AT_ONCE", at_once[0])
    monkeypatch.setattr(newscorpus.pipeline, "READ_AT_ONCE", at_once[1])
    monkeypatch.setattr(newscorpus.pipeline.Spilled, "BUFFERED", 16)
    result = build_once(corpus, tmp_path / "out", workers=1)
    assert sum(p.code == "quote-link-unresolved" for p in result.problems) == broken
    assert sorted(result.problems, key=sort_key) == expected


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 10_000])
@pytest.mark.parametrize("buffered", [8, 24, 1 << 16])
def test_spilled_numbers_come_back_in_order_a_chunk_at_a_time(monkeypatch, chunk, buffered):
    """What the corpus checks spill (appended in pieces of any size, partly still in the buffer) is counted and read
    back whole, in order, in chunks of at most ``chunk`` numbers; reading leaves the file ready for more."""
    import numpy as np

    monkeypatch.setattr(newscorpus.pipeline.Spilled, "BUFFERED", buffered)
    spilled = newscorpus.pipeline.Spilled("<u4")
    assert not spilled and len(spilled) == 0 and list(spilled.chunks(chunk)) == []
    expected: list[int] = []
    for size in (1, 5, 0, 2, 9, 3):
        values = list(range(len(expected), len(expected) + size))
        spilled.append_numbers(values)
        expected += values
        read = list(spilled.chunks(chunk))
        assert len(spilled) == len(expected) and all(0 < len(part) <= chunk for part in read)
        assert np.concatenate(read or [np.zeros(0, "<u4")]).tolist() == expected
    spilled.close()
    assert len(spilled) == 0


def _redefine(doc: Path, entity: str, name: str) -> None:
    data = json.loads(doc.read_text())
    for item in data["entities"]:
        if item["id"] == entity:
            item["name"] = name
    doc.write_text(json.dumps(data, indent=2))


def _named(ident: str, *entities: dict) -> dict:
    mention = {"annotator": _fresh("annotator-1"), "origin": _fresh("human")}
    return {"article": {"id": ident}, "entities": list(entities), "mentions": [mention, dict(mention)], "quotes": []}


def _fresh(text: str) -> str:
    """An equal string that is another object (as each document's parse makes)."""
    return "".join(list(text))


@pytest.mark.parametrize("name", ["Kim Il Sung", None, 7, ["not", "a", "name"]], ids=["str", "none", "int", "list"])
def test_a_batch_of_summaries_holds_each_entity_s_strings_once(name):
    """Two documents' summaries, sent as one batch of results (pickled as the pool sends them): each entity's id,
    name, label and Wikidata id, and the annotators' and origins' names, are one object in both, whatever object
    each document's parse made, and equal to what the documents say; a name that is not a string (an invalid
    document) is carried as it is."""
    from multiprocessing.reduction import ForkingPickler

    def entity() -> dict:
        return {"id": _fresh("person-kim-il-sung"), "name": _fresh(name) if isinstance(name, str) else name,
                "label": _fresh("PERSON"), "wikidata": _fresh("Q39464")}

    docs = [_named("a", entity()), _named("b", {"id": "gpe-seoul", "name": "Seoul", "label": "GPE"}, entity())]
    sent = [newscorpus.pipeline._summary(doc) for doc in docs]
    first, second = ForkingPickler.loads(ForkingPickler.dumps(sent))
    (_, *facts_a), (_, *facts_b) = first["entities"][0], second["entities"][1]
    assert facts_a == facts_b == ["person-kim-il-sung", name, "PERSON", "Q39464"]
    assert [a is b for a, b in zip(facts_a, facts_b) if isinstance(a, str)] == [True] * (4 if isinstance(name, str) else 3)
    assert second["entities"][0] == [0, "gpe-seoul", "Seoul", "GPE", None]
    assert first["annotators"] == ["annotator-1"] and first["origins"] == ["human"]
    assert first["annotators"][0] is second["annotators"][0] and first["origins"][0] is second["origins"][0]


def test_the_strings_shared_between_summaries_are_bounded(monkeypatch):
    """A worker keeps at most ``_SHARED_AT_MOST`` strings to share, whatever the number of distinct names it sees,
    and what it gives back is always equal to what it was given."""
    monkeypatch.setattr(newscorpus.pipeline, "_SHARED", {})
    monkeypatch.setattr(newscorpus.pipeline, "_SHARED_AT_MOST", 3)
    shared = newscorpus.pipeline._shared
    repeated = [_fresh(f"person-{i % 2}") for i in range(20)]
    given = [shared(name) for name in repeated]
    assert given == repeated and all(given[i] is given[i % 2] for i in range(20))
    distinct = [_fresh(f"person-{i}") for i in range(100)]
    assert [shared(name) for name in distinct] == distinct and len(newscorpus.pipeline._SHARED) <= 3


def test_a_set_s_checks_hold_a_few_bytes_per_entity_and_still_name_its_first_definition(monkeypatch):
    """The first definition of each entity of a set is kept compactly (:class:`newscorpus.pipeline.FirstDefinitions`):
    under 64 bytes an entity stay in memory (a real corpus names hundreds of thousands), where a dict of each entity's facts and file held 143 here (350 with longer names and files); a later
    definition that differs is still reported with the first one's facts and file."""
    from newscorpus.pipeline import SetChecks, document_columns, entity_table

    def document(number: int, entities: list[tuple[str, str]]) -> dict:
        return {"file": f"corpus/annotations/gold/a-{number:06d}.json", "path": f"/c/annotations/gold/a-{number:06d}.json",
                "problems": [], "key": f"{number:064x}",
                "summary": {"article": None, "quote_keys": "", "link_keys": "", "mentions": len(entities), "quote_count": 0,
                            "annotators": [], "origins": [],
                            "entities": [[i, entity, name, "PERSON", None] for i, (entity, name) in enumerate(entities)]}}

    def segment(checks: SetChecks, start: int, rows: list[dict]) -> None:
        checks.add_segment(start, document_columns(rows), entity_table(rows),
                           lambda: ((row["file"], row["summary"]["entities"]) for row in rows), [-1] * len(rows))

    checks = SetChecks()
    segment(checks, 0, [document(0, [("person-warm-up", "Warm Up")])])  # the tables' first allocations
    rows = [document(d, [(f"person-{d}-{k}", f"Person {d} {k}") for k in range(10)]) for d in range(1, 601)]

    def fill() -> None:
        for start in range(0, len(rows), 50):
            segment(checks, 1 + start, rows[start:start + 50])

    _, held, _ = traced(fill)
    del rows
    assert held / 6000 < 64, held / 6000  # 51 measured (a file's 64 KB buffer among them); 143 with a dict
    segment(checks, 601, [document(601, [("person-7-3", "Someone Else"), ("person-new", "New")])])
    assert [(p.code, p.file, p.pointer, p.message) for p in checks.problems] == [
        ("entity-conflict", "corpus/annotations/gold/a-000601.json", "/entities/0",
         "entity 'person-7-3' is ('Someone Else', 'PERSON', None) here but ('Person 7 3', 'PERSON', None) in corpus/annotations/gold/a-000007.json")]


#: Facts of an entity (name, label, Wikidata id), and whether each pair is equal (``==``, as a set's checks compare them).
FACTS = [
    (("Kim Il Sung", "PERSON", None), ("Kim Il Sung", "PERSON", None), True),
    (("Kim Il Sung", "PERSON", None), ("Kim Sung Il", "PERSON", None), False),
    (("Kim Il Sung", "PERSON", None), ("Kim Il Sung", "PERSON", "Q39031"), False),
    (("Kim Il Sung", None, None), (None, "Kim Il Sung", None), False),
    (("1", "CARDINAL", None), (1, "CARDINAL", None), False),
    ((1, "CARDINAL", None), (1.0, "CARDINAL", None), True),
    ((True, "CARDINAL", None), (1, "CARDINAL", None), True),
    ((2**70, "CARDINAL", None), (float(2**70), "CARDINAL", None), True),
    ((2**70, "CARDINAL", None), (2**70 + 1, "CARDINAL", None), False),
    (({"a": 1, "b": [2]}, "ORG", None), ({"b": [2.0], "a": 1}, "ORG", None), True),
    (([1, 2], "ORG", None), ([2, 1], "ORG", None), False),
    (("\ud800", "PERSON", None), ("\ud800", "PERSON", None), True),
    (("\ud800", "PERSON", None), ("\udc00", "PERSON", None), False),
    ((float("inf"), "CARDINAL", None), (float("inf"), "CARDINAL", None), True),
    ((float("inf"), "CARDINAL", None), (float("-inf"), "CARDINAL", None), False),
    ((0.5, "CARDINAL", None), (0.25, "CARDINAL", None), False),
]


@pytest.mark.parametrize("first, second, equal", FACTS)
def test_equal_facts_give_equal_digests_and_different_facts_different_ones(first, second, equal):
    """An entity's facts are checked across segments by their digest (:func:`newscorpus.pipeline.facts_digest`):
    equal as a document's values compare (keys in any order, ``1`` and ``1.0``), equal digests; any other
    difference, another digest. A lone surrogate or an integer beyond 64 bits (which Python's parser reads) too."""
    from newscorpus.pipeline import facts_digest

    assert first == second if equal else first != second  # (the table says what Python's == says)
    assert (facts_digest(first) == facts_digest(second)) is equal
    assert len(facts_digest(first)) == 8


def test_entity_keys_and_facts_digests_are_the_same_in_another_process():
    """A segment's entity keys and facts' digests are recorded by one build and compared by the next: they must not
    depend on the process (Python's ``hash`` of a ``str`` does, with its random seed)."""
    import pickle
    import subprocess

    from newscorpus.pipeline import entity_keys, facts_digest

    entities = ["person-kim-il-sung", "Лавров", "\ud800", ""]
    facts = [first for first, _, _ in FACTS]
    code = ("import pickle, sys; from newscorpus.pipeline import entity_keys, facts_digest;"
            "entities, facts = pickle.loads(bytes.fromhex(sys.argv[1]));"
            "print(entity_keys(entities).tobytes().hex(), *(facts_digest(f).hex() for f in facts))")
    made = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(newscorpus.pipeline.__file__).parents[1])}
        done = subprocess.run([sys.executable, "-c", code, pickle.dumps([entities, facts]).hex()], env=env,
                              capture_output=True, text=True, check=True)
        made.append(done.stdout.split())
    here = [entity_keys(entities).tobytes().hex(), *(facts_digest(f).hex() for f in facts)]
    assert made == [here, here]
    assert len(set(here[0][i:i + 32] for i in range(0, len(here[0]), 32))) == len(entities)


def test_a_recorded_segment_s_definitions_are_decoded_only_when_it_defines_an_entity_first(tmp_path, monkeypatch):
    """A rebuild compares a recorded segment's entities by their keys and digests (bytes); their definitions (JSON)
    are decoded only for a segment that defines an entity no segment before it did: decoding every segment's was
    80 ms of a 10,000-article rebuild."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 3)
    corpus = generate(tmp_path / "c", 30, seed=16)
    docs = sorted((corpus / "annotations" / "gold").glob("*.json"))
    seen: set[str] = set()
    first_defining = set()
    for i, doc in enumerate(docs):
        entities = {e["id"] for e in json.loads(doc.read_text())["entities"]}
        if entities - seen:
            first_defining.add(i // 3)
        seen |= entities
    assert 0 < len(first_defining) < len(range(0, len(docs), 3))  # (the corpus has both kinds)
    build_once(corpus, tmp_path, group_articles=4)
    decoded: list[int] = []
    real = newscorpus.pipeline._recorded_entities

    def recorded_entities(recorded: dict) -> dict:
        table = real(recorded)
        definitions, number = table["definitions"], len(asked)
        asked.append(number)
        table["definitions"] = lambda: decoded.append(number) or definitions()
        return table

    asked: list[int] = []
    monkeypatch.setattr(newscorpus.pipeline, "_recorded_entities", recorded_entities)
    build_once(corpus, tmp_path, group_articles=4)
    assert asked == list(range(len(range(0, len(docs), 3))))  # every segment from the index
    assert set(decoded) == first_defining


def test_entity_conflicts_from_recorded_segments_are_the_ones_validate_reports(tmp_path, monkeypatch):
    """Recorded segments check each entity once: a definition that differs from the set's first is reported from the
    segment's table, and a segment whose first definition differs is checked document by document again."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 3)
    corpus = generate(tmp_path / "c", 24, seed=16)
    docs = sorted((corpus / "annotations" / "gold").glob("*.json"))
    segment = {doc: i // 3 for i, doc in enumerate(docs)}
    common = [entity for entity, _ in Counter(e["id"] for d in docs for e in json.loads(d.read_text())["entities"]).most_common(10)]
    holders = {entity: [d for d in docs if any(e["id"] == entity for e in json.loads(d.read_text())["entities"])] for entity in common}
    # a definition that differs from an earlier one in its own segment: reported from the segment's table
    within, deviant = next((entity, h[k]) for entity in common for h in [holders[entity]] for k in range(1, len(h))
                           if segment[h[k]] == segment[h[k - 1]])
    _redefine(deviant, within, "Someone Else")
    # every later definition of another entity differs, a segment's first among them: rechecked document by document
    later = next(entity for entity in common if entity != within and len(holders[entity]) >= 4)
    redefined = [doc for doc in holders[later][len(holders[later]) // 2:] if segment[doc] != segment[deviant]]
    for doc in redefined:
        _redefine(doc, later, "Another Name")
    expected = sorted(validate_corpus(CorpusLayout(corpus))[0], key=sort_key)
    assert sum(p.code == "entity-conflict" for p in expected) == 1 + len(redefined) > 1
    rechecked: list[str] = []
    real = newscorpus.pipeline._entities_of
    monkeypatch.setattr(newscorpus.pipeline, "_entities_of",
                        lambda job, seen, columns, keys: rechecked.extend(columns["files"]) or real(job, seen, columns, keys))
    for _ in range(2):  # cold, then from the recorded segments
        result = build_once(corpus, tmp_path, group_articles=4)
        assert sorted(result.problems, key=sort_key) == expected
    assert any(file.endswith(doc.name) for file in rechecked for doc in redefined)
    assert not any(file.endswith(deviant.name) for file in rechecked)  # its conflict came from the segment's table
    assert any(p.code == "entity-conflict" and p.file.endswith(deviant.name) for p in result.problems)


def test_every_entity_first_defined_in_a_recorded_segment_is_checked_against_later_ones(tmp_path, monkeypatch):
    """Each entity's first definition in a set, wherever it came from (a recorded segment's table), is the one later
    definitions are checked against: every entity that two segments define is redefined in its last document,
    and a rebuild from the recorded segments reports the conflicts ``validate`` reports."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 3)
    corpus = generate(tmp_path / "c", 24, seed=18)
    docs = sorted((corpus / "annotations" / "gold").glob("*.json"))
    segment = {doc: i // 3 for i, doc in enumerate(docs)}
    holders: dict[str, list[Path]] = {}
    for doc in docs:
        for entity in dict.fromkeys(e["id"] for e in json.loads(doc.read_text())["entities"]):
            holders.setdefault(entity, []).append(doc)
    build_once(corpus, tmp_path, group_articles=4)  # the segments recorded, then the last documents redefined
    redefined = {entity: h[-1] for entity, h in holders.items() if segment[h[-1]] != segment[h[0]]}
    for entity, doc in redefined.items():
        _redefine(doc, entity, f"Not {entity}")
    expected = sorted(validate_corpus(CorpusLayout(corpus))[0], key=sort_key)
    assert sum(p.code == "entity-conflict" for p in expected) >= len(redefined) > 10
    result = build_once(corpus, tmp_path, group_articles=4)
    assert sorted(result.problems, key=sort_key) == expected


def _datasketch_signature(text: str):
    """datasketch's MinHash of the text's shingles, hashed one by one with the documented shingle hash."""
    from datasketch import MinHash

    import numpy as np
    from newscorpus.clusters import NUM_PERM, SHINGLE, _WORD, shingle_hash

    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    reference = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=shingle_hash)
    reference.update_batch([s.encode("utf-8") for s in shingles])
    return reference.hashvalues.astype(np.uint32)


SIGNED_TEXTS = {
    "empty": "",
    "one word": "one",
    "four words": "four words, no more",
    "only punctuation": " -- !? ",
    "repeated": "Lavrov said the talks were useful. " * 40,
    "unicode": "ü 😀 Ünïcode wörds, and more words here",
    "astral letters and digits": "𝐀𝐁𝐂 𐐨𐐩 𝟙𝟚 x_y 😀😀 and 🇺🇦 flags",
    "expanding lower case": "İSTANBUL ǅemal ΣΑΣ ﬁnal ẞ straße",
    "digits and underscores": "a_b 12_000 3.14 __init__ x2 ٣٤ ૪",
    "combining marks": "cafe\u0301 naïve e\u0301e\u0301 \u0301",
    "whitespace kinds": "tab\there\nnew line\r\nand\u00a0nbsp\u2003em",
}


@pytest.mark.parametrize("text", SIGNED_TEXTS.values(), ids=SIGNED_TEXTS.keys())
def test_signature_is_datasketchs_minhash(text):
    """The bulk-computed signature is datasketch's MinHash of the same shingles with the documented shingle hash."""
    import numpy as np
    from newscorpus.clusters import signature

    assert np.array_equal(signature(text), _datasketch_signature(text))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
       | st.lists(st.sampled_from(["the", "Talks", "said", "ü", "😀", "x_1", "𝐀b", " ", ", ", "\n", "İ", "-"]),
                  max_size=80).map("".join))
@settings(max_examples=150, deadline=None)
def test_signature_is_datasketchs_minhash_on_any_text(text):
    import numpy as np
    from newscorpus.clusters import signature

    assert np.array_equal(signature(text), _datasketch_signature(text))


@pytest.mark.parametrize("texts", [
    ["plain words", "Ünïcödé wörds — and Ελληνικά", "北京 и Москва", "emoji 😀 𝐀b x_1"],
    ["😀", "ab", "abc abd", "İstanbul", "a" * 3 + " b"],
    ["北京", "ab", "Москва — “quoted”", "Ｆｕｌｌ ｗｉｄｔｈ", "", "ab"],  # a high block first, then those below it
], ids=["scripts", "repeats", "high-first"])
def test_the_word_characters_made_a_block_at_a_time_are_those_of_the_regex(monkeypatch, texts):
    """The table of word characters is made as texts need its blocks: the words found are ``re.findall``'s, and
    each block made is the regex's, whatever the order in which texts come."""
    import re

    import numpy as np
    import newscorpus.clusters as clusters
    from newscorpus.clusters import word_hash

    monkeypatch.setattr(clusters, "_WORD_TABLE", np.zeros(0x10000, dtype=bool))
    monkeypatch.setattr(clusters, "_BLOCKS_MADE", np.zeros(0x10000 // 256, dtype=bool))
    monkeypatch.setattr(clusters, "_MADE_BELOW", [0])
    for text in texts:
        assert clusters._word_hashes(text).tolist() == [word_hash(w) for w in re.findall(r"\w+", text)]
        below = clusters._MADE_BELOW[0]  # every block below it made, the next not
        assert clusters._BLOCKS_MADE[:below].all() and (below == 0x100 or not clusters._BLOCKS_MADE[below])
    made = np.flatnonzero(clusters._BLOCKS_MADE)
    assert 0 < len(made) < 0x100
    for block in made.tolist():
        chars = [chr(c) for c in range(block * 256, block * 256 + 256)]
        assert clusters._WORD_TABLE[block * 256:block * 256 + 256].tolist() == [re.match(r"\w", c) is not None for c in chars]


def test_signature_of_a_body_longer_than_the_shared_table_of_powers(monkeypatch):
    """Bodies longer than the shared table get their own powers (and the same MinHash as datasketch)."""
    import numpy as np
    import newscorpus.clusters

    monkeypatch.setattr(newscorpus.clusters, "_shared_powers", lambda: newscorpus.clusters._power_tables(64))
    text = "Lavrov said the talks in Geneva were useful, and ü 😀 more words followed them. " * 5
    assert len(text) > 64
    assert np.array_equal(newscorpus.clusters.signature(text), _datasketch_signature(text))


def test_shingle_hash_tells_word_order_and_boundaries_apart():
    """The shingle hash depends on the words, their order and where one ends: no cheap collisions."""
    from newscorpus.clusters import shingle_hash

    shingles = ["a b c d e", "b a c d e", "ab c d e", "a bc d e", "a b c d", "a b c d e f", "", "e d c b a"]
    assert len({shingle_hash(s) for s in shingles}) == len(shingles)
    assert all(0 <= shingle_hash(s) < 1 << 32 for s in shingles)


# ---------------------------------------------------------------- the stat index


@pytest.fixture
def read_counter(monkeypatch):
    """Files the scan reads (raw files and annotation documents), by name; files count as settled at once."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    reads: list[str] = []
    real_raw, real_text = newscorpus.pipeline._read_raw, newscorpus.pipeline.read_text
    monkeypatch.setattr(newscorpus.pipeline, "_read_raw", lambda path, limit: reads.append(path.name) or real_raw(path, limit))
    monkeypatch.setattr(newscorpus.pipeline, "read_text", lambda path, *a: reads.append(path.name) or real_text(path, *a))
    return reads


def test_unchanged_files_are_not_read_again(tmp_path, read_counter):
    corpus = generate(tmp_path / "c", 20, seed=6)
    first = build_once(corpus, tmp_path, group_articles=6)
    before = tree_digest(first.out)
    documents = first.cache.misses["document"]
    assert len(read_counter) == 20 + documents
    read_counter.clear()
    again = build_once(corpus, tmp_path, group_articles=6)
    assert read_counter == []
    assert tree_digest(again.out) == before
    assert again.cache.hits["convert"] == 20 and again.cache.hits["document"] == documents and again.cache.misses == {}
    assert again.problems == first.problems == []
    ident = change_headline(corpus)
    third = build_once(corpus, tmp_path, group_articles=6)
    raw_file = next(e["file"] for e in map(json.loads, (corpus / "raw" / "manifest.jsonl").read_text().splitlines()) if e["id"] == ident)
    assert sorted(read_counter) == sorted([raw_file, f"{ident}.json"])  # the article, and its document (new body key)
    assert third.cache.misses["convert"] == 1
    assert "(updated)" in "".join(r["headline"] for p in (third.out / "data" / "articles").glob("*.parquet") for r in pq.read_table(p).to_pylist())


def test_a_same_size_edit_with_the_old_mtime_is_still_seen(tmp_path, read_counter):
    corpus = generate(tmp_path / "c", 8, seed=9)
    build_once(corpus, tmp_path)
    entry = json.loads((corpus / "raw" / "manifest.jsonl").read_text().splitlines()[2])
    path = corpus / "raw" / entry["file"]
    before = path.stat()
    text = path.read_text()
    path.write_text(text.replace(text[0], "Q" if text[0] != "Q" else "R", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    read_counter.clear()
    rebuilt = build_once(corpus, tmp_path)
    assert entry["file"] in read_counter
    assert rebuilt.cache.misses["convert"] == 1
    assert any(p.code == "raw-sha-mismatch" for p in rebuilt.problems) or "sha256" not in entry


def test_files_changed_a_moment_ago_are_read_again(tmp_path, monkeypatch):
    """A file whose timestamps are within RACY_NS of the scan is not remembered by its stat."""
    corpus = generate(tmp_path / "c", 6, seed=10)
    build_once(corpus, tmp_path)
    reads: list[str] = []
    real_raw = newscorpus.pipeline._read_raw
    monkeypatch.setattr(newscorpus.pipeline, "_read_raw", lambda path, limit: reads.append(path.name) or real_raw(path, limit))
    again = build_once(corpus, tmp_path)
    assert len(reads) == 6 and again.cache.hits["convert"] == 6


def _index_database(cache: Path) -> Path:
    (path,) = (cache / "index").rglob("*.sqlite")
    return path


def _garble_database(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the header's tail and the first page: SQLite must refuse the file
    path.write_bytes(bytes(data))


def _edit_one_index_row(path: Path) -> None:
    """Change one file's recorded result in place (its checksum left as it was): a row the index must not trust.
    The segments are dropped, so the files' rows are asked."""
    import sqlite3

    with sqlite3.connect(path) as db:
        file, record = db.execute("SELECT file, record FROM files WHERE file LIKE '%/raw/%' ORDER BY file LIMIT 1").fetchone()
        db.execute("UPDATE files SET record = ? WHERE file = ?", (record.replace(b'"problems":[]', b'"problems":[] '), file))
        db.execute("DELETE FROM segments")


FORGED = b'"problems":[{"code":"raw-missing","file":"forged","pointer":"","message":"forged","line":null,"severity":"error"}]'


def _forge_one_segment(path: Path) -> None:
    """Add a problem to a recorded segment of manifest lines (its checksum left as it was): trusted, it would be reported."""
    import sqlite3

    with sqlite3.connect(path) as db:
        number, record = db.execute("SELECT number, record FROM segments WHERE kind = 'raw' LIMIT 1").fetchone()
        assert b'"problems":[]' in record
        db.execute("UPDATE segments SET record = ? WHERE kind = 'raw' AND number = ?",
                   (record.replace(b'"problems":[]', FORGED, 1), number))


@pytest.mark.parametrize("damage, reads", [(_garble_database, "all"), (_edit_one_index_row, 1), (_forge_one_segment, 0)],
                         ids=["database-unreadable", "row-checksum-mismatch", "segment-checksum-mismatch"])
def test_a_damaged_stat_index_is_not_trusted(tmp_path, read_counter, damage, reads):
    """An index SQLite cannot read is deleted and rebuilt; a row that fails its checksum is ignored (its file read again)."""
    corpus = generate(tmp_path / "c", 12, seed=12)
    first = build_once(corpus, tmp_path, group_articles=4)
    before, total = tree_digest(first.out), len(read_counter)
    damage(_index_database(tmp_path / "cache"))
    read_counter.clear()
    again = build_once(corpus, tmp_path, group_articles=4)
    assert len(read_counter) == (total if reads == "all" else reads)
    assert tree_digest(again.out) == before and again.problems == first.problems
    read_counter.clear()
    build_once(corpus, tmp_path, group_articles=4)
    assert read_counter == []  # the index was written afresh


def test_unchanged_segments_are_answered_whole_and_a_changed_one_file_by_file(tmp_path, monkeypatch, read_counter):
    """The index answers a segment of unchanged files with one row; in a segment with a changed file, the other files
    are answered by their own rows, and only the changed file is read."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 16, seed=15)
    first = build_once(corpus, tmp_path, group_articles=4)
    asked: list[str] = []
    real_known = newscorpus.pipeline.ScanIndex.known
    monkeypatch.setattr(newscorpus.pipeline.ScanIndex, "known",
                        lambda self, namespace, file, *rest: asked.append(file) or real_known(self, namespace, file, *rest))
    read_counter.clear()
    again = build_once(corpus, tmp_path, group_articles=4)
    assert asked == [] and read_counter == [] and again.problems == first.problems
    raw = sorted(p for p in (corpus / "raw").iterdir() if p.name != "manifest.jsonl")
    raw[5].write_bytes(raw[5].read_bytes() + b"\n")  # the manifest is unchanged: only the file's stat tells
    third = build_once(corpus, tmp_path, group_articles=4)
    assert read_counter[0] == raw[5].name and len(read_counter) <= 2  # and its document, checked against the new record
    assert len([f for f in asked if "/raw/" in f]) <= 4  # the files of one segment of manifest lines
    assert {p.code for p in third.problems} == {"raw-sha-mismatch"}


def _ends_at_once(uri: str, out: int, parent: int) -> None:
    pass


def _cuts_a_line_short(uri: str, out: int, parent: int) -> None:
    os.write(out, b'["raw", 0, "')


def _wedges(uri: str, out: int, parent: int) -> None:
    import time

    time.sleep(600)


def _vouches_for_other_rows(uri: str, out: int, parent: int) -> None:
    """Every segment whole and unchanged, for rows of other checksums: a scan that took these would miss a change."""
    import sqlite3

    with closing(sqlite3.connect(uri, uri=True)) as db:
        for kind, number in db.execute("SELECT kind, number FROM segments"):
            os.write(out, json.dumps([kind, number, "00" * 16, True]).encode() + b"\n")


@pytest.mark.timeout(120)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the segments are checked ahead on Linux only")
@pytest.mark.parametrize("child", [None, _ends_at_once, _cuts_a_line_short, _vouches_for_other_rows, _wedges],
                         ids=["checks", "ends-at-once", "cuts-a-line-short", "vouches-for-other-rows", "wedges"])
def test_the_segments_checked_ahead_by_a_child_are_taken_only_for_the_rows_read(tmp_path, monkeypatch, read_counter, child):
    """A rebuild's recorded segments are checked (checksums, a ``stat`` per file) by a child process ahead of the
    scan, and the scan then checks only its first itself (as the child starts).  It takes a child's verdict only for the row it read (the same
    checksum), and checks a segment itself when the child gave none: the child ended at once, cut its line short,
    vouched for other rows, or wrote nothing for a while (it is then stopped).  Whatever the child does, a changed file is seen, the rebuild is a cold build,
    and the child is reaped when the scan ends."""
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 16, seed=15)
    first = build_once(corpus, tmp_path, group_articles=4)
    import sqlite3

    with closing(sqlite3.connect(_index_database(tmp_path / "cache"))) as db:
        segments = db.execute("SELECT count(*) FROM segments").fetchone()[0]
    if child is not None:
        monkeypatch.setattr(newscorpus.pipeline, "_check_segments", child)
    monkeypatch.setattr(newscorpus.pipeline, "_AHEAD_PATIENCE", 0.3)
    checked_here: list[int] = []  # (the child's own calls are counted in its copy of this list)
    real_unchanged = newscorpus.pipeline.files_unchanged
    monkeypatch.setattr(newscorpus.pipeline, "files_unchanged", lambda files: checked_here.append(1) or real_unchanged(files))
    children: list[int] = []
    real_start = newscorpus.pipeline.SegmentsChecked.start
    monkeypatch.setattr(newscorpus.pipeline.SegmentsChecked, "start",
                        staticmethod(lambda path: (lambda started: children.append(started.pid) or started)(real_start(path))))
    read_counter.clear()
    again = build_once(corpus, tmp_path, group_articles=4)
    assert read_counter == [] and again.problems == first.problems and tree_digest(again.out) == tree_digest(first.out)
    assert len(children) == 1 and not Path(f"/proc/{children[0]}").exists()  # started, ended and reaped
    assert segments > 0 and len(checked_here) == (1 if child is None else segments)  # (its first: CHECKED_HERE)
    raw = sorted(p for p in (corpus / "raw").iterdir() if p.name != "manifest.jsonl")
    raw[5].write_bytes(raw[5].read_bytes() + b"\n")  # the manifest is unchanged: only the file's stat tells
    third = build_once(corpus, tmp_path, group_articles=4)
    assert read_counter[0] == raw[5].name and {p.code for p in third.problems} == {"raw-sha-mismatch"}
    cold = build_once(corpus, tmp_path / "cold", group_articles=4)
    assert tree_digest(third.out) == tree_digest(cold.out) and third.problems == cold.problems


def _locks_held_while_reading(uri: str, out: int, parent: int) -> None:
    """A checker that reads the index as the real one does and notes how many file locks its process holds then."""
    import sqlite3

    with closing(sqlite3.connect(uri, uri=True, timeout=0)) as db:
        reading = db.execute("SELECT kind FROM segments")
        assert reading.fetchone() is not None  # a statement under way, with rows to go: SQLite holds its shared lock
        held = [line for line in Path("/proc/locks").read_text().splitlines() if line.split()[4] == str(os.getpid())]
        Path(os.environ["NEWSCORPUS_TEST_LOCKS"]).write_text(str(len(held)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the segments are checked ahead on Linux only")
def test_the_segments_checker_reads_the_index_under_sqlites_locks(tmp_path, monkeypatch):
    """The checker is forked before the scan connects to the index: forked after, it inherited SQLite's record of
    the scan's shared lock and read without taking any, so it could read a row the scan was writing half-written."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)  # the files just made are recorded by their stat
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 16, seed=15)
    build_once(corpus, tmp_path, group_articles=4)
    monkeypatch.setenv("NEWSCORPUS_TEST_LOCKS", str(tmp_path / "locks"))
    monkeypatch.setattr(newscorpus.pipeline, "_check_segments", _locks_held_while_reading)
    build_once(corpus, tmp_path, group_articles=4)
    assert int((tmp_path / "locks").read_text()) >= 1


def test_a_scan_that_cannot_fork_its_checker_checks_the_segments_itself(tmp_path, monkeypatch):
    """No process can be forked (a limit on processes, no memory): the scan goes on, checking every segment itself."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 16, seed=15)
    first = build_once(corpus, tmp_path, group_articles=4)

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(newscorpus.pipeline.os, "fork", no_fork)
    checked_here: list[int] = []
    real_unchanged = newscorpus.pipeline.files_unchanged
    monkeypatch.setattr(newscorpus.pipeline, "files_unchanged", lambda files: checked_here.append(1) or real_unchanged(files))
    fds = len(os.listdir("/proc/self/fd")) if sys.platform.startswith("linux") else 0
    again = build_once(corpus, tmp_path, group_articles=4)
    assert again.problems == first.problems and tree_digest(again.out) == tree_digest(first.out) and checked_here
    assert not sys.platform.startswith("linux") or len(os.listdir("/proc/self/fd")) == fds  # the pipe closed


def _indexed_files(cache: Path) -> set[str]:
    import sqlite3

    with closing(sqlite3.connect(_index_database(cache))) as db:
        return {row[0] for row in db.execute("SELECT file FROM files")}


def test_the_index_keeps_the_rows_of_files_seen_and_drops_those_of_files_gone(tmp_path, monkeypatch):
    """A rebuild whose segments the index answers whole lists no file, and keeps every row; once a raw file and a
    gold document are gone, their rows are dropped, and the rows left are those of the files there."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)  # files written a moment ago are trusted (see RACY_NS)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 14, seed=43)
    build_once(corpus, tmp_path, group_articles=5)
    rows = _indexed_files(tmp_path / "cache")
    assert len(rows) == 14 + len(list((corpus / "annotations" / "gold").glob("*.json")))
    listed: list[str] = []
    real_keep = newscorpus.pipeline.ScanIndex._keep
    monkeypatch.setattr(newscorpus.pipeline.ScanIndex, "_keep", lambda self, file: listed.append(file) or real_keep(self, file))
    build_once(corpus, tmp_path, group_articles=5)
    assert listed == [] and _indexed_files(tmp_path / "cache") == rows
    manifest = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    gone = entries.pop(6)
    (corpus / "raw" / gone["file"]).unlink()
    manifest.write_text("".join(json.dumps(e) + "\n" for e in entries))
    document = sorted((corpus / "annotations" / "gold").glob("*.json"))[-1]
    document.unlink()
    build_once(corpus, tmp_path, group_articles=5)
    left = _indexed_files(tmp_path / "cache")
    assert not any(f.endswith("/" + gone["file"]) or f.endswith("/" + document.name) for f in left)
    assert len(left) == len(rows) - 2


class _Vouching:
    """In place of a scan's child (:class:`newscorpus.pipeline.SegmentsChecked`): a verdict for every row as it is,
    at once (the real child may be late on a busy machine, and the scan then checks the row itself)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def verdict(self, kind: str, number: int) -> tuple[bytes, bool]:
        with closing(sqlite3.connect(self.path)) as db:
            return db.execute("SELECT checksum FROM segments WHERE kind = ? AND number = ?", (kind, number)).fetchone()[0], True

    def stop(self) -> None:
        pass


def _vouched_for(seen, path: Path):
    seen._stop_ahead()
    seen.ahead = _Vouching(path)
    return seen


@pytest.mark.parametrize("error", [sqlite3.OperationalError("database or disk is full"),
                                   sqlite3.DatabaseError("database disk image is malformed")])
def test_a_segment_answered_whole_still_gives_its_rows_after_the_index_is_abandoned(tmp_path, monkeypatch, error):
    """A segment the index answered whole is read in two steps: its record at once, its rows (JSON, a third of its
    bytes) only if asked for.  Should the scan abandon the index in between (a full disk, a damaged file: the file is
    then deleted), the rows asked for are still the ones recorded, read through the connection it had."""
    from newscorpus.pipeline import Job, ScanIndex, _raw_segments

    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 10, seed=43)
    build_once(corpus, tmp_path, group_articles=5)
    path = _index_database(tmp_path / "cache")
    with closing(sqlite3.connect(path)) as db:
        recorded_rows = db.execute("SELECT later FROM segments WHERE kind = 'raw' AND number = 1").fetchone()[0]
    layout = CorpusLayout(corpus).absolute()
    seen = _vouched_for(ScanIndex.open(Job.of(layout, tmp_path / "cache")), path)
    try:
        segments = _raw_segments(layout, layout.rel(layout.manifest), seen)
        answered = [next(segments)[0][3] for _ in range(2)]
        assert all(recorded is not None for recorded in answered)
        assert answered[1]["later"].func == seen._later  # (read when asked for, not with the record)
        seen._abandon(error)
        assert seen.db is None and path.exists() == isinstance(error, sqlite3.OperationalError)
        assert answered[1]["later"]() == recorded_rows and json.loads(recorded_rows)["rows"]
    finally:
        seen.close()


def test_a_segment_s_rows_changed_by_another_build_after_the_index_was_abandoned_stop_the_build(tmp_path, monkeypatch):
    """The connection kept after the index is abandoned holds no lock: another build may change the rows meanwhile.
    Rows asked for then are not taken (another checksum, or none): the build stops and says to run it again."""
    from newscorpus.errors import NewscorpusError
    from newscorpus.pipeline import Job, ScanIndex, _raw_segments

    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 10, seed=43)
    build_once(corpus, tmp_path, group_articles=5)
    path = _index_database(tmp_path / "cache")
    layout = CorpusLayout(corpus).absolute()
    for change in ("UPDATE segments SET checksum = zeroblob(16) WHERE kind = 'raw' AND number = 1",
                   "DELETE FROM segments WHERE kind = 'raw' AND number = 1"):
        seen = _vouched_for(ScanIndex.open(Job.of(layout, tmp_path / "cache")), path)
        try:
            segments = _raw_segments(layout, layout.rel(layout.manifest), seen)
            answered = [next(segments)[0][3] for _ in range(2)]
            seen._abandon(sqlite3.OperationalError("database is locked"))
            with closing(sqlite3.connect(path)) as db:  # another build, once the lock is let go
                db.execute(change)
                db.commit()
            with pytest.raises(NewscorpusError, match="changed by another build during this scan; run the build again"):
                answered[1]["later"]()
        finally:
            seen.close()
        build_once(corpus, tmp_path, group_articles=5)  # (the index made whole again)


def test_a_file_edited_a_moment_before_a_rebuild_loses_its_row_and_no_file_is_listed(tmp_path, monkeypatch):
    """A raw file edited just before a rebuild is converted again but not recorded (its stat cannot be trusted yet):
    its old row goes at once, so the rows left are those the scan kept and none has to be found by listing them all
    (which each such rebuild did: 0.1 s at 10,000 articles); the next build, once the stat can be trusted, records it."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 14, seed=43)
    build_once(corpus, tmp_path, group_articles=5)
    rows = _indexed_files(tmp_path / "cache")
    from bench_build import touch_one

    touch_one(corpus)  # (the raw file in the middle of the manifest, and its line)
    lines = (corpus / "raw" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[len(lines) // 2])
    edited, document = corpus / "raw" / entry["file"], corpus / "annotations" / "gold" / f"{entry['id']}.json"
    assert document.exists()  # (checked again too: its article's key changed)
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 10**18)  # every stat taken as a moment old: none recorded
    listings: list[bool] = []
    real = newscorpus.pipeline.ScanIndex._drop_unseen_files

    def drop_unseen_files(self) -> int:
        rows_now = self.db.execute("SELECT count(*) FROM files").fetchone()[0]
        kept = self.db.execute("SELECT count(*) FROM temp.kept").fetchone()[0]
        listings.append(rows_now > kept + self.covered)
        return real(self)

    monkeypatch.setattr(newscorpus.pipeline.ScanIndex, "_drop_unseen_files", drop_unseen_files)
    result = build_once(corpus, tmp_path, group_articles=5)
    assert result.cache.misses["convert"] == 1 and listings == [False]
    forgotten = {f"corpus/raw/{edited.name}", str(document)}
    assert forgotten <= rows and _indexed_files(tmp_path / "cache") == rows - forgotten
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    build_once(corpus, tmp_path, group_articles=5)
    assert _indexed_files(tmp_path / "cache") == rows and listings == [False, False]


def test_recorded_segments_give_what_their_rows_give(tmp_path, monkeypatch, read_counter):
    """A segment of manifest lines the index answers whole gives its problems and articles at once when none of its
    ids or files was named before it, and row by row when one was (a duplicate in a later segment): either way the
    problems validate reports and the same dataset as a cold build."""
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    corpus = generate(tmp_path / "c", 24, seed=41)
    manifest = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    entries[9]["sha256"] = "0" * 64  # raw-sha-mismatch, in a segment answered at once
    entries.insert(17, dict(entries[2]))  # id-duplicate (id and file), naming a line three segments back
    manifest.write_text("".join(json.dumps(e) + "\n" for e in entries))
    expected = sorted(validate_corpus(CorpusLayout(corpus))[0], key=sort_key)
    assert {p.code for p in expected} == {"raw-sha-mismatch", "id-duplicate"}
    cold = build_once(corpus, tmp_path / "a", group_articles=5)
    at_once: list[int] = []
    real = newscorpus.pipeline.ArticleIndex.add_segment
    monkeypatch.setattr(newscorpus.pipeline.ArticleIndex, "add_segment", lambda self, columns: at_once.append(len(columns["articles"])) or real(self, columns))
    read_counter.clear()
    warm = build_once(corpus, tmp_path / "a", group_articles=5)
    assert read_counter == [] and "convert" not in warm.cache.misses
    assert sum(at_once) == 24 - 3 and len(at_once) == 6  # every segment but the one with the duplicate (3 articles)
    for result in (cold, warm):
        assert sorted(result.problems, key=sort_key) == expected
    fresh = build_once(corpus, tmp_path / "b", group_articles=5)
    assert tree_digest(warm.out) == tree_digest(cold.out) == tree_digest(fresh.out)


def test_an_index_held_by_another_build_is_left_alone(tmp_path, read_counter, monkeypatch):
    """While another build holds the index for writing, a scan runs without it and leaves it as it was."""
    import sqlite3

    corpus = generate(tmp_path / "c", 6, seed=13)
    first = build_once(corpus, tmp_path)
    path = _index_database(tmp_path / "cache")
    monkeypatch.setattr(newscorpus.pipeline, "_INDEX_BUSY_SECONDS", 0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        read_counter.clear()
        again = build_once(corpus, tmp_path)
        assert len(read_counter) > 0 and again.problems == first.problems
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert path.exists()
    read_counter.clear()
    build_once(corpus, tmp_path)
    assert read_counter == []


@pytest.mark.parametrize(("known", "maps"), [(set(), 1), (set(range(40)), 0), (set(range(0, 40, 2)), None), (set(range(5, 30)), 2)],
                         ids=["none-known", "all-known", "every-other-known", "a-run-known"])
def test_the_scan_maps_what_the_index_does_not_answer_as_one_stream_holding_at_most_a_window_of_answers(monkeypatch, known, maps):
    """Every item comes out in order, from the index or from the map; the unanswered ones go to the workers in one
    map, however many (a map per window drained the pool at each window's end), unless a run of answers fills the
    window: then the map ends and a new one takes the items after them, so no more answers are ever held."""
    monkeypatch.setattr(newscorpus.pipeline, "_KNOWN_WINDOW", 5)
    monkeypatch.setattr(newscorpus.pipeline, "READ_AHEAD", 3)
    held, most, calls = [0], [0], [0]

    def answer(item: int) -> dict | None:
        if item not in known:
            return None
        held[0] += 1
        most[0] = max(most[0], held[0])
        return {"n": item, "from": "index"}

    class Counting(ProcessMapper):
        def map(self, fn, items, batch=None):
            calls[0] += 1
            return super().map(fn, items, batch)

    out = []
    for item, result, indexed in newscorpus.pipeline._in_order(Counting(1, batch=4), lambda i: {"n": i, "from": "map"}, range(40),
                                                                 answer, lambda item: None, lambda item: 1):
        held[0] -= indexed
        out.append((item, result["n"], result["from"], indexed))
    assert out == [(i, i, "index" if i in known else "map", i in known) for i in range(40)]
    assert 0 < most[0] <= 5 if known else most[0] == 0
    if maps is not None:  # a run of answers: a map for the items before it, none while it fills windows, one after
        assert calls[0] == maps


def test_small_scan_windows_change_nothing(tmp_path, monkeypatch, read_counter):
    """The scan's windows (bounding what it holds from the index) give the same problems and bytes as one window."""
    corpus = generate(tmp_path / "c", 16, seed=14)
    break_corpus(corpus)
    whole = [build_once(corpus, tmp_path / "whole", workers=2, group_articles=5) for _ in range(2)]
    monkeypatch.setattr(newscorpus.pipeline, "_KNOWN_WINDOW", 3)
    read_counter.clear()
    cold = build_once(corpus, tmp_path / "windows", workers=2, group_articles=5)
    read_counter.clear()
    edited = sorted((corpus / "annotations" / "gold").glob("*.json"))[-1]
    edited.write_text(json.dumps(json.loads(edited.read_text()), indent=1))  # other bytes, same document
    warm = build_once(corpus, tmp_path / "windows", workers=1, group_articles=5)  # reads are counted in this process
    assert sorted(cold.problems, key=sort_key) == sorted(whole[0].problems, key=sort_key)  # as ever, in an order of their own
    assert tree_digest(cold.out) == tree_digest(whole[0].out)
    lines = (corpus / "raw" / "manifest.jsonl").read_text().splitlines()
    missing, raw_link = (json.loads(lines[at])["file"] for at in (0, 4))  # tried every time, as the document's link
    assert sorted(read_counter) == sorted([missing, raw_link, "linked.json", edited.name])
    assert warm.cache.misses == {"document": 1, "shard": 1}
    fresh = build_once(corpus, tmp_path / "fresh", workers=1, group_articles=5)
    assert sorted(warm.problems, key=sort_key) == sorted(fresh.problems, key=sort_key)
    assert tree_digest(warm.out) == tree_digest(fresh.out)


def test_lsh_bands_are_the_ones_datasketch_picks():
    from datasketch import MinHashLSH

    from newscorpus.clusters import LSH_BANDS, LSH_ROWS, NUM_PERM, THRESHOLD

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    assert (LSH_BANDS, LSH_ROWS) == (lsh.b, lsh.r)


@pytest.mark.parametrize("days, scrambled", [(28, False), (2, True)])  # ids in position order, or not; few dates: many ties
def test_clusters_are_the_components_of_similar_band_sharing_pairs(monkeypatch, days, scrambled):
    """cluster_signatures against brute force over all pairs, on signatures with planted near-copies; a cluster's id
    is its earliest article's, the smallest id among several of the earliest date."""
    import numpy as np
    from newscorpus.clusters import COLUMN_GROUPS, LSH_BANDS, LSH_ROWS, NUM_PERM, THRESHOLD, cluster_signatures

    rng = np.random.default_rng(3)
    n = 120
    signatures = rng.integers(0, 50, size=(n, NUM_PERM), dtype=np.uint32)
    for i in range(0, n, 3):  # near-copies: some share a lot, some share little but a band
        j = (i * 7 + 5) % n
        keep = rng.random(NUM_PERM) < rng.choice([0.2, 0.35, 0.9])
        signatures[j, keep] = signatures[i, keep]
    signatures[10] = signatures[11] = signatures[12]  # a bucket of three identical
    ids = [f"a{(i * 37) % n if scrambled else i:03d}" for i in range(n)]
    dates = [None if i % 5 == 0 else "9999-99-99" if i % 7 == 0 else f"2024-01-{1 + i % days:02d}" for i in range(n)]
    bands, rows = LSH_BANDS, LSH_ROWS
    parent = list(range(n))

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for i in range(n):
        for j in range(i + 1, n):
            shared_band = any((signatures[i, b * rows:(b + 1) * rows] == signatures[j, b * rows:(b + 1) * rows]).all() for b in range(bands))
            if shared_band and (signatures[i] == signatures[j]).mean() >= THRESHOLD:
                parent[max(root(i), root(j))] = min(root(i), root(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    expected = {ids[i]: ids[min(g, key=lambda k: (dates[k] or "9999-99-99", ids[k]))] for g in groups.values() for i in g}
    got = cluster_signatures(ids, signatures, dates)
    assert got == expected
    assert len(set(got.values())) < n - 5
    on_disk = newscorpus.pipeline.SignatureFile()
    monkeypatch.setattr(on_disk, "BUFFERED", 7)  # several blocks, the last one partial
    for row in signatures:
        on_disk.extend(np.ascontiguousarray(row, dtype=np.uint32).tobytes())
    assert cluster_signatures(ids, on_disk, dates) == expected  # read a column group at a time, from the scan's files
    assert np.array_equal(on_disk.matrix(), signatures)
    read, held = hashlib.sha256(), hashlib.sha256()
    on_disk.update(read)  # the files' bytes, a block at a time
    for lo, hi in COLUMN_GROUPS:
        held.update(np.ascontiguousarray(signatures[:, lo:hi]).tobytes())
    assert read.digest() == held.digest()
    on_disk.close()


def _planted_signatures(n: int, seed: int):
    """Signatures with planted near-copies (some sharing much, some little but a band) and a bucket of three identical."""
    import numpy as np
    from newscorpus.clusters import NUM_PERM

    rng = np.random.default_rng(seed)
    signatures = rng.integers(0, 50, size=(n, NUM_PERM), dtype=np.uint32)
    for i in range(0, n, 3):
        j = (i * 7 + 5) % n
        keep = rng.random(NUM_PERM) < rng.choice([0.2, 0.35, 0.9])
        signatures[j, keep] = signatures[i, keep]
    signatures[10] = signatures[11] = signatures[12]
    return signatures


@pytest.mark.parametrize("change", ["none", "a-copy-made-of-another", "a-copy-edited-away", "one-of-three-identical-edited",
                                    "two-changed-into-each-other", "many-changed", "rows-added", "no-last"])
def test_the_similar_pairs_found_again_for_the_changed_signatures_are_those_found_from_all(monkeypatch, change):
    """``similar_pairs`` from the last pairs and fingerprints (a rebuild after an edit) gives exactly what finding
    them from every signature gives: pairs a changed row gains or loses, pairs between changed rows, rows of a
    bucket; past the share of changed rows it updates, or with rows of another number, it finds them all again."""
    import numpy as np
    import newscorpus.clusters as clusters
    from newscorpus.clusters import LSH_BANDS, LSH_ROWS, NUM_PERM, Matrix, _similar_pairs, row_fingerprints, similar_pairs

    n = 300
    before = _planted_signatures(n, 5)
    last = similar_pairs(Matrix(before))
    assert last.pairs.tolist() == _similar_pairs(Matrix(before), LSH_BANDS, LSH_ROWS).tolist() and len(last.pairs) > 20
    after = before.copy()
    rng = np.random.default_rng(9)
    paired = sorted({int(i) for pair in last.pairs.tolist() for i in pair})
    if change == "a-copy-made-of-another":  # a lone row becomes a near-copy of a paired one
        lone = next(i for i in range(n) if i not in paired)
        keep = rng.random(NUM_PERM) < 0.8
        after[lone, keep] = before[paired[0], keep]
    elif change == "a-copy-edited-away":
        after[paired[0]] = rng.integers(1000, 2000, NUM_PERM, dtype=np.uint32)
    elif change == "one-of-three-identical-edited":
        after[11, :LSH_ROWS] += 7  # still similar to its two twins, no longer in band 0's bucket with them
    elif change == "two-changed-into-each-other":
        a, b = [i for i in range(n) if i not in paired][:2]
        after[a] = after[b] = rng.integers(3000, 4000, NUM_PERM, dtype=np.uint32)
    elif change == "many-changed":  # past the share: all found again
        after[::10] = rng.integers(0, 50, size=after[::10].shape, dtype=np.uint32)
    elif change == "rows-added":
        after = np.vstack([before, before[:3]])
    full = []
    real = clusters._similar_pairs
    monkeypatch.setattr(clusters, "_similar_pairs", lambda *a: full.append(1) or real(*a))
    got = similar_pairs(Matrix(after), None if change == "no-last" else last)
    expected = real(Matrix(after), LSH_BANDS, LSH_ROWS)
    assert got.pairs.tolist() == expected.tolist() and got.pairs.dtype == expected.dtype
    assert np.array_equal(got.fingerprints, row_fingerprints(Matrix(after)))
    changed = len(after) == n and int((got.fingerprints != last.fingerprints).sum())
    assert changed == {"none": 0, "a-copy-made-of-another": 1, "a-copy-edited-away": 1, "one-of-three-identical-edited": 1,
                       "two-changed-into-each-other": 2, "many-changed": 30, "rows-added": False, "no-last": 0}[change]
    assert bool(full) == (change in ("many-changed", "rows-added", "no-last"))  # (30 of 300: past 5%)
    if change not in ("none", "no-last", "one-of-three-identical-edited"):  # (that one keeps its pairs: still similar)
        assert got.pairs.tolist() != last.pairs.tolist()  # (the change mattered to the pairs)


def test_a_signature_s_fingerprint_changes_with_any_one_value():
    """Each value of a signature changed by one, swapped with its neighbour or with the value half the signature
    away, or two values changed by the same bits: each changes its fingerprint."""
    import numpy as np
    from newscorpus.clusters import NUM_PERM, Matrix, row_fingerprints

    row = np.random.default_rng(2).integers(0, 2**32, NUM_PERM, dtype=np.uint32)
    variants = [row]
    for at in range(NUM_PERM):
        bumped = row.copy()
        bumped[at] += np.uint32(1)
        swapped = row.copy()
        swapped[[at, (at + 1) % NUM_PERM]] = row[[(at + 1) % NUM_PERM, at]]
        variants += [bumped, swapped]
    for at in range(NUM_PERM // 2):  # (columns half the signature apart: an XOR of one term a column cancelled these)
        swapped = row.copy()
        swapped[[at, at + NUM_PERM // 2]] = row[[at + NUM_PERM // 2, at]]
        variants.append(swapped)
    rng = np.random.default_rng(4)
    for _ in range(500):  # two values changed by the same bits
        p, q = rng.choice(NUM_PERM, 2, replace=False)
        flipped = row.copy()
        flipped[[p, q]] ^= np.uint32(rng.integers(1, 2**32))
        variants.append(flipped)
    prints = row_fingerprints(Matrix(np.stack(variants))).tolist()
    assert len(set(prints)) == len(prints) == 1 + 2 * NUM_PERM + NUM_PERM // 2 + 500


@pytest.mark.parametrize("step", [1, -1])  # the chain's positions rising or falling
def test_a_chain_of_near_copies_each_similar_only_to_the_next_is_one_cluster(step):
    """Articles each a near-copy of the one before (a band and about half the values kept) and of no other: the
    labels take several rounds to settle along the chain, and every article of it is in its earliest one's cluster."""
    import numpy as np
    from newscorpus.clusters import LSH_BANDS, LSH_ROWS, NUM_PERM, _similar_pairs, Matrix, cluster_signatures

    rng = np.random.default_rng(8)
    n, chain = 40, list(range(3, 39, 3))[::step]
    signatures = rng.integers(0, 2**32, size=(n, NUM_PERM), dtype=np.uint32)
    for k, (before, at) in enumerate(zip(chain, chain[1:])):
        keep = rng.random(NUM_PERM) < 0.5
        keep[k * LSH_ROWS:(k + 1) * LSH_ROWS] = True  # band k, shared with the one before only
        if k:  # not band k - 1, which the one before shares with its own before
            keep[(k - 1) * LSH_ROWS:k * LSH_ROWS] = False
        signatures[at] = np.where(keep, signatures[before], rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32))
    pairs = _similar_pairs(Matrix(signatures), LSH_BANDS, LSH_ROWS).tolist()
    assert pairs == sorted(sorted(pair) for pair in zip(chain, chain[1:]))  # each only with the next
    ids = [f"a{i:02d}" for i in range(n)]
    dates = [f"2024-02-{1 + i % 9:02d}" for i in range(n)]
    earliest = min(chain, key=lambda i: (dates[i], ids[i]))
    got = cluster_signatures(ids, signatures, dates)
    assert got == {ids[i]: ids[earliest] if i in chain else ids[i] for i in range(n)}


@pytest.mark.parametrize("ordered", [[], [4], [1, 2, 3], [5, 5], [1, 1, 2], [1, 2, 2], [1, 1, 1, 2, 3, 3, 4, 4, 4, 4],
                                     [7, 7, 8, 8, 9, 10, 10, 10], [0] * 9])
def test_the_runs_of_equal_band_keys_are_every_run_of_two_or_more(ordered):
    """Each run of equal sorted keys that makes a bucket (two or more), where it starts and how long it is: at the
    start, at the end, runs side by side, one run of everything, none."""
    import numpy as np
    from newscorpus.clusters import _runs_of_equals

    runs: list[tuple[int, int]] = []
    at = 0
    for _, same in itertools.groupby(ordered):
        size = len(list(same))
        if size > 1:
            runs.append((at, size))
        at += size
    lows, sizes = _runs_of_equals(np.array(ordered, dtype=np.uint64))
    assert list(zip(lows.tolist(), sizes.tolist())) == runs


@pytest.mark.parametrize("count", [0, 5, 40, 41, 200])  # in memory, at the limit, past it: in a file, with a buffer
def test_the_key_file_answers_every_key_as_it_was_added(count, monkeypatch):
    from newscorpus.pipeline import KeyFile

    monkeypatch.setattr(KeyFile, "IN_MEMORY", 40)
    monkeypatch.setattr(KeyFile, "BUFFERED", 16)
    keys = [hashlib.sha256(str(i).encode()).digest() for i in range(count)]
    table = KeyFile()
    added = 0
    for size in itertools.cycle([1, 3, 7, 20]):  # added some at a time, each read back as soon as it is there
        if added >= count:
            break
        table.extend(b"".join(keys[added:added + size]))
        added = min(added + size, count)
        assert len(table) == added and table[added - 1] == keys[added - 1]
    assert [table[at] for at in range(count)] == keys
    assert (table._file is not None) == (count > 40) and len(table._held) <= 32 * 40
    for outside in (-1, count):
        with pytest.raises(IndexError):
            table[outside]


# ---------------------------------------------------------------- rows made in the scan, and one stream of work


def test_groups_are_written_from_the_rows_the_scan_made(tmp_path, monkeypatch):
    """The scan keeps each gold document's rows in its cache entry; the groups are written from them, without
    reading any article or gold document again, and the bytes are those of rows made afresh from both."""
    corpus = generate(tmp_path / "c", 30, seed=21)
    loaded: list[str] = []
    real_load = newscorpus.build.load_article
    monkeypatch.setattr(newscorpus.build, "load_article", lambda *a: loaded.append(a[1]) or real_load(*a))
    from_scan = build_once(corpus, tmp_path / "scan", group_articles=10)
    documents = {p.stem for p in (corpus / "annotations" / "gold").glob("*.json")}
    assert len(documents) > 20 and len(loaded) == 30 - len(documents)  # only the articles without a gold document
    # the same build, with every document entry stripped of its rows: all made again from the article and document
    cache = Cache(tmp_path / "scan" / "cache")
    stripped = 0
    for path in (tmp_path / "scan" / "cache" / "document").rglob("*"):
        if path.is_file():
            meta, _ = cache.get("document", path.name, CacheStats())
            stripped += meta.pop("lines", None) is not None
            cache.put("document", path.name, meta)
    assert stripped == len(documents)
    shutil.rmtree(tmp_path / "scan" / "cache" / "shard")  # the groups are made again, not taken from the cache
    loaded.clear()
    again = build(CorpusLayout(corpus), tmp_path / "again", cache_dir=tmp_path / "scan" / "cache", mapper=ProcessMapper(1),
                  group_articles=10)
    assert len(loaded) == 30  # every article read again
    assert tree_digest(again.out) == tree_digest(from_scan.out)


def test_a_misnamed_copy_after_the_right_document_does_not_unseat_it(tmp_path):
    """Two gold documents name one article: the misnamed one has an error (annotation-file-name), so the article
    keeps its own document, whichever of the two comes later in the directory."""
    corpus = generate(tmp_path / "c", 12, seed=43)
    gold = corpus / "annotations" / "gold"
    clean = build_once(corpus, tmp_path / "clean")
    right = sorted(gold.glob("*.json"))[0]
    (gold / "zz-misnamed.json").write_text(right.read_text())  # sorts after every synthetic id
    copied = build_once(corpus, tmp_path / "copied")
    assert [(p.code, p.file.rsplit("/", 1)[-1]) for p in copied.problems] == [("annotation-file-name", "zz-misnamed.json")]
    data = lambda out: {k: v for k, v in tree_digest(out).items() if k.startswith("data/")}  # noqa: E731
    assert data(copied.out) == data(clean.out)


def test_a_document_with_errors_has_no_rows_and_its_article_is_built_without_it(tmp_path):
    """Rows are made only for a gold document without errors; its article is then built unannotated."""
    corpus = generate(tmp_path / "c", 12, seed=22)
    doc = sorted((corpus / "annotations" / "gold").glob("*.json"))[0]
    data = json.loads(doc.read_text())
    data["mentions"][0]["end"] = 10**6  # beyond the body: an error
    doc.write_text(json.dumps(data))
    result = build_once(corpus, tmp_path, group_articles=4)
    assert any(p.file.endswith(doc.name) and p.severity == "error" for p in result.problems)
    cache = Cache(tmp_path / "cache")
    with_lines = [path.name for path in (tmp_path / "cache" / "document").rglob("*") if path.is_file()
                  and "lines" in cache.get("document", path.name, CacheStats())[0]]
    assert len(with_lines) == len(list((corpus / "annotations" / "gold").glob("*.json"))) - 1
    rows = {r["id"]: r for p in (result.out / "data" / "articles").glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    assert rows[doc.stem]["annotated"] is False and rows[doc.stem]["mentions"] == []


def test_the_scan_maps_every_segment_in_one_stream(tmp_path, monkeypatch):
    """The segments' items go to the workers as one stream (one map per window, not one per segment, which drained
    the pool at every segment); the output and problems are those of one segment."""
    corpus = generate(tmp_path / "c", 24, seed=23)
    break_corpus(corpus)
    whole = build_once(corpus, tmp_path / "whole", group_articles=5)

    class Counting(ProcessMapper):
        calls = 0

        def map(self, fn, items, batch=None):
            Counting.calls += 1
            return super().map(fn, items, batch)

    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    segmented = build(CorpusLayout(corpus), tmp_path / "seg" / "dataset", cache_dir=tmp_path / "seg" / "cache",
                      mapper=Counting(1), group_articles=5)
    sets = 1 + len(CorpusLayout(corpus).annotator_files())
    groups = sum(pq.read_metadata(p).num_row_groups for p in (segmented.out / "data" / "articles").glob("*.parquet"))
    assert Counting.calls == 1 + sets + 1  # the manifest, each set of documents, the groups (24 lines: 6 segments)
    assert sorted(segmented.problems, key=sort_key) == sorted(whole.problems, key=sort_key)
    assert tree_digest(segmented.out) == tree_digest(whole.out) and groups > 1


def test_the_files_the_workers_read_are_announced_once_ahead_of_them(tmp_path, monkeypatch):
    """Every raw file and document that goes to the workers is announced to the kernel once (read-ahead), none that
    the index answers; a warm rebuild announces nothing."""
    monkeypatch.setattr(newscorpus.pipeline, "READ_AHEAD", 3)
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)  # files just written are trusted by their stat
    announced: list[str] = []
    monkeypatch.setattr(newscorpus.pipeline, "_announce", lambda path: announced.append(path))
    corpus = generate(tmp_path / "c", 12, seed=24)
    build_once(corpus, tmp_path, group_articles=4)
    raw = [str(p) for p in (corpus / "raw").iterdir() if p.name != "manifest.jsonl"]
    documents = [str(p) for p in (corpus / "annotations" / "gold").glob("*.json")]
    assert sorted(announced) == sorted(raw + documents)
    announced.clear()
    build_once(corpus, tmp_path, group_articles=4)
    assert announced == []


@pytest.mark.parametrize("kind", ["regular", "fifo", "symlink", "missing", "directory"])
def test_only_a_regular_file_is_announced_and_nothing_blocks(tmp_path, kind, monkeypatch):
    """A regular file is announced to the kernel; a FIFO (opened without waiting for a writer), a symbolic link
    (not followed, even to a regular file), a directory or a missing path is not, and nothing raises."""
    advised: list[int] = []
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, length, advice: advised.append(advice))
    target = tmp_path / "thing"
    if kind == "regular":
        target.write_text("x")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        (tmp_path / "real").write_text("x")
        target.symlink_to(tmp_path / "real")
    elif kind == "directory":
        target.mkdir()
    newscorpus.pipeline._announce(str(target))
    newscorpus.pipeline._announce(None)
    assert advised == ([os.POSIX_FADV_WILLNEED] if kind == "regular" else [])


def test_what_a_failed_child_was_to_make_is_made_here():
    """A child that fails (no ``datasets`` it can import, a full disk) costs the memory it was to save, not the build."""
    import subprocess

    made: list[str] = []
    child = newscorpus.build._child("no_such_function", "x")
    newscorpus.build._waited(child, lambda: made.append("here"))
    assert child.returncode != 0 and made == ["here"]
    newscorpus.build._waited(subprocess.Popen([sys.executable, "-c", "pass"]), lambda: made.append("again"))
    assert made == ["here"]


def test_the_main_process_never_imports_datasets_and_a_rebuild_imports_only_what_it_needs(tmp_path):
    """A cold cache: the Arrow schemas and the card's layout are made by a child process that imports ``datasets``
    (a second, 70 MB the main process and its workers would hold); a rebuild after one change finds them cached.
    Neither imports ``datasets`` nor ``pandas`` in the main process; a rebuild not even ``pyarrow.compute`` to patch
    its group, nor python-jsonschema for a valid document, nor ``huggingface_hub`` for a card whose metadata did not
    change, nor ``importlib.metadata`` for the libraries' versions (0.06, 0.1, 0.03 and 0.025 s), nor charset-normalizer
    for UTF-8 raw files (14 ms), nor ``concurrent.futures`` for work too small for the pool (10 ms), nor PyYAML for a card
    whose figures changed (its text kept with placeholders, 20 ms).  The build runs from a script without a
    ``__main__`` guard, as users write them: the child runs only its own work, not the script again."""
    import subprocess

    corpus = generate(tmp_path / "c", 24, seed=25)
    script = tmp_path / "unguarded.py"
    script.write_text(
        "print('script started'); import sys; from pathlib import Path; import newscorpus.build as b; from newscorpus.corpus import CorpusLayout;"
        "from newscorpus.pipeline import ProcessMapper; patch = b._patch_group; patched = [];"
        "b.FLATTENED_IN_ARROW = int(sys.argv[1]) if sys.argv[1:] else b.FLATTENED_IN_ARROW;"
        "b._patch_group = lambda *a: patched.append(patch(*a)) or patched[-1];"
        f"b.build(CorpusLayout(Path({str(corpus)!r})), Path({str(tmp_path / 'out')!r}), cache_dir=Path({str(tmp_path / 'cache')!r}),"
        " mapper=ProcessMapper(1), group_articles=12);"
        "print(sum(p is not None for p in patched), 'patched');"
        "print(sorted(m for m in ('datasets', 'pandas', 'pyarrow.compute', 'jsonschema', 'huggingface_hub', 'importlib.metadata',"
        " 'charset_normalizer', 'concurrent.futures', 'yaml')"
        " if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(newscorpus.build.__file__).parents[1])}
    # cold: every group's entities flattened with pyarrow.compute (pa.array, pa.scalar and pa.table would import pandas)
    cold = subprocess.run([sys.executable, str(script), "0"], capture_output=True, text=True, env=env, check=True)
    assert set(ast.literal_eval(cold.stdout.split("\n")[-2])) == {"pyarrow.compute", "huggingface_hub", "yaml"}
    assert cold.stdout.count("script started") == 1
    declared = list((tmp_path / "cache" / "declared").rglob("*"))
    assert any(p.is_file() for p in declared)
    change_headline(corpus)
    warm = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, check=True)
    # the changed group is patched, without pandas; the card, whose figures changed, made without PyYAML
    assert warm.stdout.split("\n")[-3:-1] == ["1 patched", "[]"]
    declare = (
        "import sys; from pathlib import Path; from newscorpus.build import arrow_schemas, declare_aside, features;"
        "from newscorpus.corpus import CorpusLayout; from newscorpus.pipeline import Job;"
        f"job = Job.of(CorpusLayout(Path({str(corpus)!r})), Path(sys.argv[1])); declaring = declare_aside(job);"
        "declaring and declaring(); child = declaring is not None; imported = 'datasets' in sys.modules;"
        "made = arrow_schemas(job.cache, job.fingerprint);"
        "print(child, imported, all(made[c].equals(f.arrow_schema, check_metadata=True) for c, f in features().items()))"
    )
    for cache, expected in ((tmp_path / "fresh", "True False True"), (tmp_path / "fresh", "False False True"),
                            (tmp_path / "cache", "False False True")):
        done = subprocess.run([sys.executable, "-c", declare, str(cache)], capture_output=True, text=True, env=env, check=True)
        assert done.stdout.strip() == expected  # made by a child, then found in the cache: datasets' own schemas


@pytest.mark.parametrize("dist_infos", [["1.0"], ["1.0", "0.9"], []], ids=["one", "two-left-side-by-side", "none"])
def test_a_librarys_version_is_the_one_importlib_metadata_gives(tmp_path, monkeypatch, dist_infos):
    """The versions in the cache keys: read from the ``<name>-<version>.dist-info`` directory beside the package when
    it is alone there, else from ``importlib.metadata``; the same answer either way."""
    from importlib.metadata import PackageNotFoundError, version

    from newscorpus.build import installed_version

    for name in ("datasets", "pyarrow", "huggingface_hub"):
        assert installed_version(name) == version(name)
    assert installed_version("yaml", "pyyaml") == version("PyYAML")  # (a package named otherwise than its distribution)
    (tmp_path / "newscorpus_fake").mkdir()
    (tmp_path / "newscorpus_fake" / "__init__.py").write_text("")
    for number in dist_infos:
        info = tmp_path / f"newscorpus_fake-{number}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: newscorpus_fake\nVersion: {number}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    if not dist_infos:
        with pytest.raises(PackageNotFoundError):
            installed_version("newscorpus_fake")
    else:
        assert installed_version("newscorpus_fake") == version("newscorpus_fake")


def test_a_rebuild_holds_a_few_recorded_segments_at_a_time(tmp_path, monkeypatch):
    """Segments answered whole by the index are read a few at a time ahead of their use (a window counts each as
    its files), not all of them before the first is used (the whole index held: 850 MB at 100,000 articles)."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 2)
    monkeypatch.setattr(newscorpus.pipeline, "_KNOWN_WINDOW", 4)
    corpus = generate(tmp_path / "c", 30, seed=26)
    build_once(corpus, tmp_path, group_articles=5)
    events: list[int] = []
    real_segment, real_add = newscorpus.pipeline.ScanIndex.segment, newscorpus.pipeline.SetChecks.add_segment

    def segment(self, kind, number, digest):
        found = real_segment(self, kind, number, digest)
        if kind == "documents:gold" and number >= 0 and found is not None:  # (not the set's listing: LISTING)
            events.append(+1)
        return found

    monkeypatch.setattr(newscorpus.pipeline.ScanIndex, "segment", segment)
    monkeypatch.setattr(newscorpus.pipeline.SetChecks, "add_segment", lambda *a: events.append(-1) or real_add(*a))
    build_once(corpus, tmp_path, group_articles=5)
    ahead = list(itertools.accumulate(events))
    assert events.count(+1) == events.count(-1) >= 10 and max(ahead) <= 3  # 4 files' worth, and the one being read


_SCAN_HEAP = """
import json, sys, tracemalloc
from pathlib import Path
from typing import Any, Callable
import newscorpus.names as names
import newscorpus.pipeline as pipeline
from newscorpus.corpus import CorpusLayout
from synth import generate

pipeline._KNOWN_WINDOW, pipeline.SEGMENT, pipeline.SignatureFile.BUFFERED = 16, 16, 16
pipeline.Spilled.BUFFERED = 64
pipeline._KEPT_BATCH = 16  # the stat index's batch of kept files: flushed as in a large corpus
names._RECENT = 16  # names go to the sorted arrays as they would in a large corpus, not to the dict of recent ones
root, on_disk, sizes = Path(sys.argv[1]), sys.argv[2] == "on disk", [int(n) for n in sys.argv[3:]]
if on_disk:  # the tables of names and keys past their limits, as at 100,000 articles
    names._IN_MEMORY, pipeline.KeyFile.IN_MEMORY, pipeline.KeyFile.BUFFERED = 64, 64, 16


def heap(corpus, cache):
    mapper = pipeline.ProcessMapper(2, batch=2)  # forked workers: what they allocate is not counted here
    tracemalloc.start()
    found = pipeline.scan(CorpusLayout(corpus), cache, mapper)
    retained = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    mapper.close()
    assert len(found.index) > 0 and len(found.gold) > 0
    return retained


corpora = {n: generate(root / f"c{n}", n, seed=31) for n in sizes}
heap(corpora[sizes[-1]], root / "warm-up")  # what the first scan imports, and tables that only grow (interned strings)
# the interpreter's table of interned strings (the names Python interns as it runs) is global and doubles when full: grown once
# here, so that no measured scan pays for a resize (940 KB, whenever the table happens to fill)
grown = [sys.intern(f"newscorpus-heap-test-{i}") for i in range(200_000)]
print(json.dumps({n: [heap(corpora[n], root / f"cache{n}") for run in ("cold", "warm")] for n in sizes}))
"""


@pytest.mark.parametrize("where, most", [("in memory", 400), ("on disk", 200)])
def test_the_scan_holds_a_few_bytes_per_article(tmp_path, where, most):
    """What the main process holds after a scan grows with the corpus by ids, keys and 8-byte digests only: under 400
    bytes per article more, whether the workers convert and check everything (cold) or the index answers (warm); once
    the tables of names and keys are on disk (past 32,768 articles), by less: under 200 (54-116 measured since the
    thirty-third session, whose tables on disk keep no hash in memory; 53-166 before: each
    article's date and gold document and each document's rows and people, 9 bytes (28 until the thirty-second
    session); the rest is the first definition of
    each entity, which a corpus this small still adds to, and the last results in flight; between 200 and 800
    articles, warm, the heap held 56 bytes an article less).  Measured in a fresh interpreter (tracemalloc), with
    small windows and buffers so that both corpora fill many: what the scan holds on the way is bounded by them,
    whatever the corpus."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(newscorpus.build.__file__).parents[1]),
                                                         str(Path(__file__).resolve().parents[1] / "benchmarks")])}
    done = subprocess.run([sys.executable, "-c", _SCAN_HEAP, str(tmp_path), where, "100", "400"], capture_output=True,
                          text=True, env=env, check=True)
    heaps = json.loads(done.stdout)
    for run in (0, 1):
        assert (heaps["400"][run] - heaps["100"][run]) / 300 < most, (run, heaps)  # in memory 232-244; 1,260 in the 5th session


_WRITE_HEAP = """
import json, sys, tracemalloc
from pathlib import Path
from typing import Any, Callable
import newscorpus.build as build
import newscorpus.pipeline as pipeline
from newscorpus.corpus import CorpusLayout
from synth import generate

root, sizes = Path(sys.argv[1]), [int(n) for n in sys.argv[2:]]
peaks = []
write_shards = build._write_shards


def measured(*args, **kwargs):  # what the write stage allocates in this process, at its most
    tracemalloc.start()
    try:
        return write_shards(*args, **kwargs)
    finally:
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


build._write_shards = measured
corpora = {n: generate(root / f"c{n}", n, seed=31) for n in sizes}
mapper = pipeline.ProcessMapper(2, batch=2)  # forked workers: what they allocate is not counted here
build.build(CorpusLayout(corpora[sizes[0]]), root / "warm-up", cache_dir=root / "warm-up-cache", mapper=mapper, group_articles=5)
for n in sizes:
    build.build(CorpusLayout(corpora[n]), root / f"out{n}", cache_dir=root / f"cache{n}", mapper=mapper, group_articles=5)
mapper.close()
print(json.dumps(dict(zip(sizes, peaks[1:]))))
"""


def test_the_write_stage_holds_about_a_footer_per_group(tmp_path):
    """What the main process holds at most while the groups are written and spliced grows with their number by the
    output files' own footers (each row group's metadata, 3-8 KB a config) and each group's figures, not by the
    templates the build keeps of every group: those go to temporary files.  Groups of 5 articles, 20 and 120 of
    them: 14-17 KB more a group measured (with the templates in memory, each kept twice, in the record and in the
    split's pieces, 48-53 KB: the main process's peak at 100,000 articles was in this stage, 3 MB above the scan's)."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(newscorpus.build.__file__).parents[1]),
                                                         str(Path(__file__).resolve().parents[1] / "benchmarks")])}
    done = subprocess.run([sys.executable, "-c", _WRITE_HEAP, str(tmp_path), "100", "600"], capture_output=True,
                          text=True, env=env, check=True)
    peaks = json.loads(done.stdout)
    assert (peaks["600"] - peaks["100"]) / 100 < 32 << 10, peaks


def fix_typos(corpus: Path, ids: set[str]) -> None:
    """Fix a typo in some articles' bodies, as ``benchmarks/bench_build.py`` does in one (a word of their longest line),
    and their manifest lines."""
    manifest_path = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest_path.read_text().splitlines()]
    for entry in entries:
        if entry["id"] in ids:
            path = corpus / "raw" / entry["file"]
            text = path.read_text()
            longest = max(text.splitlines(), key=len)
            fixed = longest.replace(" the ", " teh ", 1) if " the " in longest else longest + " (corrected)"
            path.write_text(text.replace(longest, fixed, 1))
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))


def test_a_group_patched_at_its_ends_and_in_a_stretch_is_the_group_made_afresh(tmp_path, monkeypatch):
    """The patch keeps each unchanged stretch of a group as one slice of its old shard: changed articles at a group's
    first and last rows, and two neighbours in another group's middle, give the bytes of a cold build."""
    import pyarrow.parquet as pq

    corpus = generate(tmp_path / "c", 60, seed=17)
    warm = build_once(corpus, tmp_path / "warm", group_articles=10)
    groups = [ids for _, ids in article_groups(warm.out, 10)]
    ends, inner = [ids for ids in groups if len(ids) >= 8][:2]
    fix_typos(corpus, {ends[0], ends[-1], inner[3], inner[4]})
    made: list[int] = []
    real = newscorpus.build._make_group
    monkeypatch.setattr(newscorpus.build, "_make_group", lambda *a: made.append(1) or real(*a))
    patched = build_once(corpus, tmp_path / "warm", group_articles=10)
    assert patched.cache.misses["shard"] == 2 and made == []
    monkeypatch.setattr(newscorpus.build, "PATCH_SHARE", 0.0)
    cold = build_once(corpus, tmp_path / "cold", group_articles=10)
    assert len(made) == cold.cache.misses["shard"] > 2
    assert tree_digest(patched.out) == tree_digest(cold.out) and patched.counts == cold.counts


def test_a_group_patched_where_an_article_lost_its_quotes_is_the_group_made_afresh(tmp_path, monkeypatch):
    """An annotator removes every quote of an article in a group's middle: its rows vanish from the 'quotes' shard,
    so the unchanged stretches before and after it are two slices, not one (``build._merged``)."""
    import pyarrow.parquet as pq

    corpus = generate(tmp_path / "c", 60, seed=17)
    warm = build_once(corpus, tmp_path / "warm", group_articles=10)
    gold = corpus / "annotations" / "gold"
    linked = " ".join(path.read_text() for path in gold.glob("*.json"))
    groups = list(row_groups((warm.out / "data" / "quotes").glob("*.parquet"), ["article_id"]))
    ids = [i for _, table in groups for i in dict.fromkeys(table.column("article_id").to_pylist())]
    # an article with quotes between two others with quotes in the same group, whose quotes no other document links to
    group_of = {i: number for number, (_, members) in enumerate(article_groups(warm.out, 10)) for i in members}
    target = next(i for before, i, after in zip(ids, ids[1:], ids[2:])
                  if group_of[before] == group_of[i] == group_of[after] and f"{i}#" not in linked)
    document = json.loads((gold / f"{target}.json").read_text())
    assert document["quotes"]
    (gold / f"{target}.json").write_text(json.dumps({**document, "quotes": []}, ensure_ascii=False, indent=2))
    made: list[int] = []
    real = newscorpus.build._make_group
    monkeypatch.setattr(newscorpus.build, "_make_group", lambda *a: made.append(1) or real(*a))
    patched = build_once(corpus, tmp_path / "warm", group_articles=10)
    assert patched.cache.misses["shard"] == 1 and made == [] and not patched.problems
    assert patched.counts["quotes"] != warm.counts["quotes"]
    monkeypatch.setattr(newscorpus.build, "PATCH_SHARE", 0.0)
    cold = build_once(corpus, tmp_path / "cold", group_articles=10)
    assert tree_digest(patched.out) == tree_digest(cold.out) and patched.counts == cold.counts


@pytest.mark.parametrize("values", [
    pytest.param(["2023-10-19", None, "2023-10-19", "2023-10-20", None], id="dates and none"),
    pytest.param([(0, 0), (1, 2), (0, 0), (2, 1)], id="pairs of numbers"),
    pytest.param([f"v{i % 70_000}" for i in range(70_500)], id="past 65,536 distinct values"),
    pytest.param([f"v{i}" for i in range(65_536)] * 2, id="65,536 distinct values: the last code 2 bytes"),
    pytest.param([f"v{i}" for i in range(65_537)], id="65,537 distinct values: widened"),
    pytest.param([], id="empty"),
])
def test_coded_values_read_back_as_the_sequence_and_digest_as_it(values):
    """:class:`Coded` keeps each item as the number of its value (2 bytes an item, 4 past 65,536 values) and reads back
    as the sequence it was given, however it was given (one at a time or in parts); equal sequences give equal
    digests, and changing, adding or moving one item changes it (the wire clusters' cache key is made from it)."""
    from newscorpus.pipeline import Coded

    def coded(items, parts):
        made = Coded()
        size = max(1, -(-len(items) // parts))
        for start in range(0, len(items), size):
            made.extend(items[start:start + size])
        return made

    def digest(made):
        hashed = hashlib.sha256()
        made.update(hashed)
        return hashed.hexdigest()

    whole, pieces = coded(values, 1), coded(values, 7)
    single = Coded()
    for value in values:
        single.append(value)
    for made in (whole, pieces, single):
        assert list(made) == values and len(made) == len(values)
        assert [made[at] for at in range(len(values))] == values
        assert made.codes.typecode == ("I" if len(set(values)) > 65_536 else "H")
    assert digest(whole) == digest(pieces) == digest(single)
    others = [values + [values[0] if values else "x"], values[::-1] if len(set(values)) > 1 else values + [None]]
    if values:
        others.append([*values[:-1], "changed"])
    assert all(digest(coded(other, 1)) != digest(whole) for other in others)


@pytest.mark.parametrize("where", ["in memory", "on disk"])
def test_the_gold_index_drops_exactly_the_documents_with_errors_and_names_the_kept_ones_contributors(where, monkeypatch):
    """``GoldIndex.drop`` looks only at the articles whose document may be bad (a bad file is named after it, or its
    document has a name of its own); what it keeps is what looking at every article keeps, in memory or on disk."""
    from newscorpus.clusters import NUM_PERM
    from newscorpus.pipeline import ArticleIndex, GoldIndex, document_columns

    if where == "on disk":
        monkeypatch.setattr(newscorpus.names, "_IN_MEMORY", 2)
        monkeypatch.setattr(newscorpus.pipeline.KeyFile, "IN_MEMORY", 2)
    index = ArticleIndex()
    ids = [f"a{i}" for i in range(8)]
    for i, ident in enumerate(ids):
        index.add(f"{i:064x}", {"id": ident, "date": None, "language": "en", "publisher": "p", "agency": None}, bytes(4 * NUM_PERM))
    gold = GoldIndex(index, directory="/c/annotations/gold", rel="annotations/gold")
    summary = lambda ident, number: {"article": ident, "mentions": number % 2, "quote_count": number % 3,  # noqa: E731
                                     "annotators": [f"ann-{number}"], "origins": [f"origin-{number % 4}"],
                                     "quote_keys": "", "link_keys": ""}
    documents = [("a0.json", "a0"), ("a1.json", "a1"), ("own-name.json", "a2"), ("a3.json", "a3"), ("a3-copy.json", "a3"),
                 ("a4.json", "a4"), ("a4-copy.json", "a4"), ("a5.json", "a5"), ("a6.json", "a6")]
    rows = [{"path": f"/c/annotations/gold/{name}", "file": f"annotations/gold/{name}", "problems": [],
             "summary": summary(ident, number), "key": f"{number:064x}"} for number, (name, ident) in enumerate(documents)]
    for start in (0, 4):  # two segments
        part = rows[start:start + 4] if start == 0 else rows[start:]
        gold.note_segment(start, document_columns(part), index.positions([row["summary"]["article"] for row in part]))
    bad = {"annotations/gold/a1.json", "annotations/gold/own-name.json", "annotations/gold/a3-copy.json",
           "annotations/gold/a4.json", "annotations/gold/a4-copy.json", "annotations/gold/a7.json", "elsewhere/a5.json"}
    gold.drop(bad)
    #         a0  a1  a2  a3 (copy bad: the first)  a4 (both bad)  a5 (bad elsewhere)  a6  a7 (no document)
    assert list(gold.of_article) == [0, -1, -1, 3, -1, 7, 8, -1]
    assert len(gold) == 4
    assert gold.located_many(["a0", "a3", "a7"], [0, 3, -1]) == [("/c/annotations/gold/a0.json", f"{0:064x}"),
                                                              ("/c/annotations/gold/a3.json", f"{3:064x}"), (None, None)]
    assert index.keys_at([7, 0]) == [f"{7:064x}", f"{0:064x}"] and index.ids.names_at([7, 0]) == ["a7", "a0"]
    assert list(index.ids.each_at(list(range(8)))) == ids
    # the card's contributors: those of the documents kept, not of those dropped
    assert gold.contributors() == ({"ann-0", "ann-3", "ann-7", "ann-8"}, {"origin-0", "origin-3"})
    # the rows a group's kept documents give (document n: n % 2 mentions, n % 3 quotes): a6's is document 8, a5's 7
    for articles, rows in (([], 0), ([0], 0), ([0, 1, 2, 7], 0), ([3], 1), ([0, 6], 2), ([3, 6], 3), ([5], 3), ([1, 4], 0)):
        assert gold.rows_of(array("I", articles)) == rows, articles


# ---------------------------------------------------------------- one file per split and config, spliced


def _inodes(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_ino for p in sorted((out / "data").rglob("*.parquet"))}


def test_a_one_file_rebuild_rewrites_its_splits_files_and_links_the_others(tmp_path, monkeypatch):
    """The files of the changed article's split are spliced again (the other groups' row groups copied from the old
    files); the other splits' files are the old ones, linked; the bytes are a cold build's."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 60, seed=17)
    first = build_once(corpus, tmp_path / "warm", group_articles=5)
    before = _inodes(first.out)
    assert all(name.endswith("-00000-of-00001.parquet") for name in before)
    target_split = "train"
    ids = pq.read_table(first.out / "data" / "articles" / "train-00000-of-00001.parquet", columns=["id"]).column("id").to_pylist()
    fix_typos(corpus, {ids[len(ids) // 2]})
    second = build_once(corpus, tmp_path / "warm", group_articles=5)
    assert second.cache.misses["shard"] == 1
    after = _inodes(second.out)
    assert set(after) == set(before)
    rewritten = {name for name in before if after[name] != before[name]}
    assert rewritten and all(f"/{target_split}-" in name for name in rewritten)  # the edited split's files only
    assert f"data/articles/{target_split}-00000-of-00001.parquet" in rewritten
    cold = build_once(corpus, tmp_path / "cold", group_articles=5)
    assert tree_digest(second.out) == tree_digest(cold.out)
    ids = pq.read_table(second.out / "data" / "articles" / f"{target_split}-00000-of-00001.parquet", columns=["id"]).column("id")
    assert len(group_bounds(ids.to_pylist(), 5)) > 1  # the other groups were copied into the new file, not only the edited one
    assert not any(p.name == newscorpus.build.PARTS for p in tmp_path.rglob("*"))  # no part left anywhere


def test_a_splice_that_fails_leaves_the_last_output_as_it_was(tmp_path, monkeypatch):
    """A full disk while a split's file is spliced: the build fails naming the file, and the last output is whole;
    the next build makes what a cold build makes."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    corpus = generate(tmp_path / "c", 40, seed=5)
    first = build_once(corpus, tmp_path / "warm", group_articles=5)
    before = tree_digest(first.out)
    fix_typos(corpus, {pq.read_table(next((first.out / "data" / "articles").glob("train-*")), columns=["id"]).column("id")[3].as_py()})

    def full(source, target, start, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(newscorpus.build, "_copy_range", full)
    with pytest.raises(OSError, match="No space left on device") as failed:
        build_once(corpus, tmp_path / "warm", group_articles=5)
    assert failed.value.filename is not None and failed.value.filename.endswith(".parquet")
    assert tree_digest(first.out) == before
    assert not [p for p in (tmp_path / "warm").iterdir() if p.name.startswith(".dataset.") and p.is_dir()]  # no staging left
    monkeypatch.undo()
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    again = build_once(corpus, tmp_path / "warm", group_articles=5)
    assert tree_digest(again.out) == tree_digest(build_once(corpus, tmp_path / "cold", group_articles=5).out)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=1, max_value=1000), st.integers(min_value=0, max_value=5000)), max_size=80),
       st.integers(min_value=1, max_value=20000))
def test_a_files_row_groups_are_its_runs_cut_to_about_a_size_and_the_first_holds_the_most_rows(groups, most):
    """The row groups are :func:`~newscorpus.build.group_bounds`' runs of the identities, each cut between groups
    into the fewest row groups of about ``most`` bytes, near equal shares (none empty, none larger than a share and
    a group); but for the first, which takes the groups after it, in order, until it holds as many rows as any later
    row group, and takes no more."""
    from newscorpus.build import RUN_GROUPS, group_bounds, group_runs

    rows, sizes = [r for r, _ in groups], [b for _, b in groups]
    identities = [f"group-{i}" for i in range(len(rows))]
    runs, ends = group_bounds(identities, RUN_GROUPS), group_runs(identities, rows, sizes, most)
    if not rows:
        assert ends == []
        return
    natural = group_runs(identities, [0] * len(rows), sizes, most)  # (no rows: the first row group takes none)
    assert natural == sorted(set(natural)) and natural[0] > 0 and natural[-1] == len(rows)
    assert set(runs) <= set(natural)
    for a, b in zip([0, *runs], runs):
        inner = [a, *(end for end in natural if a < end <= b)]
        total, n = sum(sizes[a:b]), max(1, -(-sum(sizes[a:b]) // most))
        assert len(inner) - 1 <= n and (n > 1 or inner == [a, b])
        assert all(sum(sizes[x:y]) <= total / n + max(sizes[x:y]) for x, y in zip(inner, inner[1:]))
    first = ends[0]
    assert ends[1:] == [end for end in natural if end > first]  # the later row groups as cut, one perhaps taken from
    counts = [sum(rows[a:b]) for a, b in zip([0, *ends], ends)]
    assert all(counts[0] >= count for count in counts[1:])
    if first > natural[0]:  # it took a group: without the last it took, a later row group had more rows
        after = [end for end in natural if end > first - 1]
        assert sum(rows[:first - 1]) < max(sum(rows[a:b]) for a, b in zip([first - 1, *after], after))


@pytest.mark.parametrize("copies, joined", [
    pytest.param([("a", 4, 10), ("a", 14, 6)], [("a", 4, 16)], id="a-chunk-that-continues-the-last-is-joined-to-it"),
    pytest.param([("a", 4, 10), ("a", 15, 6)], [("a", 4, 10), ("a", 15, 6)], id="a-gap-between-chunks-keeps-them-apart"),
    pytest.param([("a", 4, 10), ("b", 14, 6)], [("a", 4, 10), ("b", 14, 6)], id="another-file-at-the-same-offset-is-not-joined"),
    pytest.param([("a", 20, 5), ("a", 4, 16)], [("a", 20, 5), ("a", 4, 16)], id="a-chunk-that-ends-where-the-last-starts-is-not-joined"),
    pytest.param([("a", 4, 10), ("b", 0, 3), ("a", 14, 6)], [("a", 4, 10), ("b", 0, 3), ("a", 14, 6)],
                 id="only-the-last-copy-is-continued"),
    pytest.param([("a", 4, 10), ("a", 14, 0), ("a", 14, 6)], [("a", 4, 16)], id="an-empty-chunk-joins-and-is-joined"),
])
def test_a_files_copies_are_joined_where_one_continues_the_last(copies, joined):
    """The splice's copies (source, start, length) are listed as they are laid out, one a column chunk, and joined
    where a chunk continues the last copy in the same file (a group's chunks written one after the other: one
    copy); equal paths that are different objects join too, as the old file's pieces each name it afresh."""
    from newscorpus.build import _Copies

    made = _Copies()
    for source, start, length in copies:
        made.add(Path("/parts") / source, start, length)
    assert list(made) == [(Path("/parts") / source, start, length) for source, start, length in joined]


def test_datasets_reads_a_splits_file_of_each_config_in_a_few_batches(tmp_path):
    """``datasets`` (5.2) reads a Parquet file in batches of its first row group's rows, a batch never spanning two
    row groups, and pays for each (a read, a cast to the features, a write to its Arrow cache); read here with the
    same pyarrow call its Parquet builder makes (``to_batches`` of a fragment, no read-ahead): a split's file of
    each config is read in a batch a row group (the first row group is the largest), far fewer than the split has
    groups, the unit the build writes (runs of 2 to 10 groups, the first often the smallest, and 'quotes' and
    'entities' a row group a group, took about half as many batches as groups, and as many)."""
    import pyarrow.dataset as ds

    corpus = generate(tmp_path / "c", 360, seed=8)
    result = build_once(corpus, tmp_path, group_articles=3)
    groups = sum(split == "train" for split, _ in article_groups(result.out, 3))
    assert groups >= 80
    for config in CONFIGS:
        with open(result.out / "data" / config / "train-00000-of-00001.parquet", "rb") as file:
            fragment = ds.ParquetFileFormat().make_fragment(file)  # (as datasets' Parquet builder reads)
            batches = sum(1 for _ in fragment.to_batches(batch_size=fragment.row_groups[0].num_rows, batch_readahead=0,
                                                         fragment_readahead=0))
        assert batches == fragment.num_row_groups <= groups / 4, (config, batches, fragment.num_row_groups, groups)


@pytest.mark.parametrize("most", [None, 100_000], ids=["row-groups-of-24-mb", "runs-cut-to-100-kb"])
def test_each_row_group_of_a_splits_file_is_a_run_of_groups(tmp_path, monkeypatch, most):
    """A row group of each config is a run of groups, cut to about :data:`~newscorpus.build.ROW_GROUP_BYTES`
    (:func:`~newscorpus.build.group_runs` over their identities, rows and sizes: each group's rows written alone, as
    its worker writes them), its column chunks the groups' pages joined: the rows of a group, the unit a rebuild
    copies or makes again, are never split across row groups, and a run larger than the size is cut."""
    from newscorpus.build import _parquet, group_bounds, group_runs

    if most is not None:
        monkeypatch.setattr(newscorpus.build, "ROW_GROUP_BYTES", most)
    corpus = generate(tmp_path / "c", 90, seed=8)
    result = build_once(corpus, tmp_path, group_articles=3)
    groups = article_groups(result.out, 3)
    merged, cut = Counter(), Counter()
    for config in CONFIGS:
        column = "id" if config == "articles" else "article_id"
        for split in ("train", "validation", "test"):
            path = result.out / "data" / config / f"{split}-00000-of-00001.parquet"
            if not path.exists():
                continue
            counts = Counter(pq.read_table(path, columns=[column]).column(column).to_pylist())
            present = set(counts)
            ours = [ids for name, ids in groups if name == split and present & set(ids)]
            rows = [sum(counts[i] for i in ids) for ids in ours]
            table = pq.read_table(path)
            sizes = [_parquet(table.slice(start, n))[1] for start, n in zip(itertools.accumulate(rows, initial=0), rows)]
            identities = [key_of([split, ids]) for ids in ours]
            ends = group_runs(identities, rows, sizes, most)
            runs = [[i for ids in ours[a:b] for i in ids if i in present] for a, b in zip([0, *ends], ends)]
            parquet = pq.ParquetFile(path)
            found = [list(dict.fromkeys(parquet.read_row_group(i, columns=[column]).column(column).to_pylist()))
                     for i in range(parquet.metadata.num_row_groups)]
            assert found == runs, (config, split)
            merged[config] += sum(b - a > 1 for a, b in zip([0, *ends], ends))
            cut[config] += len(set(ends) - set(group_bounds(identities, newscorpus.build.RUN_GROUPS)))
    assert all(merged[config] >= 2 for config in CONFIGS), merged  # (runs were made, and merged)
    if most is None:
        assert not +cut, cut  # (a run of 90 articles is far below 24 MB: one row group, the first aside)
    else:
        assert cut["articles"] >= 3 and cut["entities"] >= 3, cut  # (runs were cut)
