"""Parquet files spliced without decoding them (``newscorpus.splice``): the same rows, row groups and metadata as the
parts, every byte of a footer kept, and parts that cannot be spliced refused by name."""

from __future__ import annotations

import io
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newscorpus.build import PARQUET_ZSTD_LEVEL, features
from newscorpus.splice import Frame, Part, SpliceError, pack_templates, splice, unpack_templates, write_spliced


def _parquet(table: pa.Table, **options) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    return sink.getvalue().to_pybytes()


def _nested(n: int, seed: int) -> pa.Table:
    """Rows of nested lists and structs, strings, nulls, booleans, doubles: what the footers of the configs hold."""
    rng = random.Random(seed)
    return pa.table({
        "id": [f"a{seed}-{i}" for i in range(n)],
        "flag": [rng.random() < 0.5 for _ in range(n)],
        "score": [rng.random() if i % 3 else None for i in range(n)],
        "mentions": [[{"start": j, "end": j + 3, "text": rng.choice(["Lavrov", "Kim", "Pyongyang"])} for j in range(i % 5)]
                     for i in range(n)],
        "noise": [os.urandom(rng.randrange(10, 400)).hex() for _ in range(n)],  # incompressible: large positions
    })


#: pyarrow's writer options a part may have been written with
OPTIONS = {
    "as the build writes (zstd, no dictionary)": dict(compression="zstd", compression_level=PARQUET_ZSTD_LEVEL, use_dictionary=False),
    "dictionaries": dict(compression="zstd", use_dictionary=True),
    "snappy, datasets' default": dict(),
    "uncompressed, no statistics": dict(compression="none", write_statistics=False),
    "small pages, several row groups": dict(data_page_size=512, row_group_size=40),
    "format 1.0, data page v2": dict(version="1.0", data_page_version="2.0"),
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_a_part_spliced_alone_is_the_same_file(options):
    """Every byte of the footer is copied but the positions, which stay where they were: nothing is lost."""
    data = _parquet(_nested(120, 1), **options)
    sink = io.BytesIO()
    assert splice([data], sink) == len(data)
    assert sink.getvalue() == data


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("parts", [2, 20])  # 20: the row groups' list has a long header (15 or more)
def test_spliced_parts_are_their_rows_in_order_in_their_row_groups(options, parts):
    tables = [_nested(30 + 17 * i, i) for i in range(parts)]
    blobs = [_parquet(table, **options) for table in tables]
    sink = io.BytesIO()
    written = splice(blobs, sink)
    data = sink.getvalue()
    assert written == len(data)
    spliced = pq.ParquetFile(pa.BufferReader(data))
    assert spliced.read().equals(pa.concat_tables(tables))
    groups = [pq.ParquetFile(pa.BufferReader(blob)).metadata for blob in blobs]
    assert spliced.metadata.num_row_groups == sum(m.num_row_groups for m in groups)
    assert spliced.metadata.num_rows == sum(table.num_rows for table in tables)
    sizes = [spliced.metadata.row_group(i).num_rows for i in range(spliced.metadata.num_row_groups)]
    assert sizes == [m.row_group(i).num_rows for m in groups for i in range(m.num_row_groups)]
    # each row group is read alone from its place (its positions moved by where its part landed)
    last = spliced.metadata.num_row_groups - 1
    assert spliced.read_row_group(last).equals(pq.ParquetFile(pa.BufferReader(blobs[-1])).read_row_group(groups[-1].num_row_groups - 1))
    column = spliced.metadata.row_group(last).column(0)
    original = groups[-1].row_group(groups[-1].num_row_groups - 1).column(0)
    assert column.statistics == original.statistics
    assert column.file_offset == original.file_offset == 0  # pyarrow's deprecated position, unset: not moved
    assert column.data_page_offset > original.data_page_offset  # moved by where its part landed


@pytest.mark.parametrize("config", ["articles", "entities", "quotes"])
def test_a_configs_shards_spliced_keep_its_features(config):
    """Parts as the build writes them, with the features in their metadata: the same schema and metadata."""
    schema = features()[config].arrow_schema
    tables = [pa.table({f.name: pa.nulls(3 + i, f.type) for f in schema}, schema=schema) for i in range(3)]
    blobs = [_parquet(table, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL, use_dictionary=False) for table in tables]
    sink = io.BytesIO()
    splice(blobs, sink)
    spliced = pq.read_table(pa.BufferReader(sink.getvalue()))
    assert spliced.schema.metadata == tables[0].schema.metadata and b"huggingface" in spliced.schema.metadata
    assert spliced.equals(pa.concat_tables(tables))


def _footer_cut(data: bytes, keep: float) -> bytes:
    """``data`` with its footer cut to ``keep`` of its bytes (its length said accordingly)."""
    length = int.from_bytes(data[-8:-4], "little")
    start, kept = len(data) - 8 - length, int(length * keep)
    return data[:start + kept] + kept.to_bytes(4, "little") + b"PAR1"


REFUSED = {
    "no-magic": (lambda: [b"hello, this is not a Parquet file at all"], "part 0 is not a Parquet file"),
    "no-magic-at-the-end": (lambda: [_parquet(_nested(5, 0))[:-1] + b"E"], "part 0 is not a Parquet file"),
    "footer-longer-than-the-file": (lambda: [b"PAR1" + (1 << 20).to_bytes(4, "little") + b"PAR1"], "part 0: its footer's length"),
    "footer-cut-short": (lambda: [_footer_cut(_parquet(_nested(5, 0)), 0.5)], "part 0: its footer is cut short"),
    "another-schema": (lambda: [_parquet(_nested(5, 0)), _parquet(_nested(5, 0).drop_columns(["noise"]))],
                       "part 1 has another schema"),
    "page-index": (lambda: [_parquet(_nested(5, 0), write_page_index=True)], "page indexes"),
    "nothing": (lambda: [], "no parts"),
}


@pytest.mark.parametrize("parts, message", REFUSED.values(), ids=REFUSED.keys())
def test_parts_that_cannot_be_spliced_are_refused_by_name(parts, message):
    with pytest.raises(SpliceError, match=message):
        splice(parts(), io.BytesIO())


def test_a_refused_part_is_named_as_given():
    with pytest.raises(SpliceError, match="data/articles/train-00001-of-00002.parquet has another schema"):
        splice([_parquet(_nested(5, 0)), _parquet(_nested(5, 0).drop_columns(["flag"]))], io.BytesIO(),
               names=["data/articles/train-00000-of-00002.parquet", "data/articles/train-00001-of-00002.parquet"])


def test_a_parts_templates_place_its_row_groups_anywhere():
    """What a build keeps of a group (its templates) makes the same footer as reading the part again."""
    blobs = [_parquet(_nested(40, i), row_group_size=15) for i in range(3)]
    parts = [Part.of(blob) for blob in blobs]
    assert [len(p.groups) for p in parts] == [3, 3, 3]
    assert [t.rows for p in parts for t in p.groups] == [15, 15, 10] * 3
    again, sink = io.BytesIO(), io.BytesIO()
    splice(blobs, again)
    write_spliced(parts[0].frame, [(p.body, p.groups) for p in parts], sink)
    assert sink.getvalue() == again.getvalue()
    # kept as bytes and read back (as a build keeps them between builds), they make the same file again
    kept = Frame.from_bytes(parts[0].frame.to_bytes()), [unpack_templates(pack_templates(p.groups)) for p in parts]
    assert kept[0] == parts[0].frame and kept[1] == [list(p.groups) for p in parts]
    once_more = io.BytesIO()
    write_spliced(kept[0], [(p.body, groups) for p, groups in zip(parts, kept[1])], once_more)
    assert once_more.getvalue() == again.getvalue()
