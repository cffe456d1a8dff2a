"""Parquet files spliced without decoding them (``newscorpus.splice``): the same rows, row groups and metadata as the
parts, every byte of a footer kept, and parts that cannot be spliced refused by name."""

from __future__ import annotations

import copy
import io
import os
import random
import struct
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

from newscorpus.build import PARQUET_OPTIONS, features, parquet_options
from newscorpus.splice import (_BINARY, _BYTE, _DOUBLE, _FALSE, _I16, _I32, _I64, _LIST, _SET, _STOP, _STRUCT, _TRUE, Frame, Part,
                              SpliceError, _read_struct, _Scanner, _write_struct, fields_template, group_fields, leaf_orders, merged_fields,
                              merged_group, pack_templates, splice, templates_rows, unpack_templates, write_spliced)


#: the options that stand for the build's own, for each table (:func:`newscorpus.build.parquet_options`)
AS_BUILT = {"as_built": True}


def _parquet(table: pa.Table, **options) -> bytes:
    if options.pop("as_built", False):
        options = parquet_options(table.schema)
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
    "as the build writes": AS_BUILT,
    "integers in lists delta-encoded": dict(PARQUET_OPTIONS, column_encoding={
        "mentions.list.element.start": "DELTA_BINARY_PACKED", "mentions.list.element.end": "DELTA_BINARY_PACKED"}),
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
    blobs = [_parquet(table, **AS_BUILT) for table in tables]
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


def _merged_body(parts: list[Part]) -> bytes:
    """The parts' (one row group each) column chunks column by column, each column's in the parts' order: the body
    :func:`merged_group` describes, as a build lays it out."""
    return b"".join(bytes(part.body[start:start + length])
                    for column in range(len(parts[0].spans[0])) for part in parts
                    for start, length in [part.spans[0][column]])


def _merged(blobs: list[bytes]) -> bytes | None:
    """The parts (one row group each) as one row group; or ``None`` when :func:`merged_group` refuses them."""
    parts = [Part.of(blob) for blob in blobs]
    merged = merged_group([part.groups[0] for part in parts], leaf_orders(parts[0].frame))
    if merged is None:
        return None
    sink = io.BytesIO()
    write_spliced(parts[0].frame, [(_merged_body(parts), [merged])], sink)
    return sink.getvalue()


def _ordered(n: int, seed: int) -> pa.Table:
    """A column of each sort order a merge compares: signed and unsigned integers (above 2**31 and 2**63, where the
    two orders differ), floats, strings beyond ASCII (compared as UTF-8 bytes), booleans, dates, timestamps; and a
    column null in some parts."""
    rng = random.Random(seed)
    return pa.table({
        "signed": pa.array([rng.randrange(-2**31, 2**31) for _ in range(n)], pa.int32()),
        # each part's values in a quarter of the range: a signed order would take the upper half's for the least
        "unsigned": pa.array([rng.randrange(seed % 4 << 30, (seed % 4 + 1) << 30) for _ in range(n)], pa.uint32()),
        "big": pa.array([rng.randrange(seed % 4 << 62, (seed % 4 + 1) << 62) for _ in range(n)], pa.uint64()),
        "long": pa.array([rng.randrange(-2**63, 2**63) for _ in range(n)], pa.int64()),
        "real": pa.array([rng.uniform(-1e6, 1e6) for _ in range(n)], pa.float32()),
        "name": [rng.choice(["Łavrov", "Kim", "Пхеньян", "Zürich", "", "a"]) + str(rng.random()) for _ in range(n)],
        "flag": [rng.random() < 0.5 for _ in range(n)] if seed % 2 else [True] * n,
        "day": pa.array([rng.randrange(0, 20000) for _ in range(n)], pa.date32()),
        "at": pa.array([rng.randrange(-2**40, 2**40) for _ in range(n)], pa.timestamp("us", tz="UTC")),
        "sometimes": pa.array([None] * n if seed % 3 == 0 else [rng.random() for _ in range(n)], pa.float64()),
    })


#: writer options whose parts merge (no dictionary pages)
MERGED = {
    "as the build writes": OPTIONS["as the build writes"],
    "snappy": dict(use_dictionary=False),
    "small pages": dict(use_dictionary=False, data_page_size=512),
    "format 1.0, data page v2": dict(use_dictionary=False, version="1.0", data_page_version="2.0"),
    "uncompressed, no statistics": dict(use_dictionary=False, compression="none", write_statistics=False),
}


@pytest.mark.parametrize("options", MERGED.values(), ids=MERGED.keys())
@pytest.mark.parametrize("table", [_nested, _ordered])
def test_merged_row_groups_are_their_rows_with_the_statistics_of_one_row_group(options, table):
    """Parts merged into one row group hold their rows in order, and each column's statistics, count of values and
    encodings are those pyarrow writes for the same rows in one row group."""
    tables = [table(20 + 13 * i, i) for i in range(5)]
    data = _merged([_parquet(t, **options) for t in tables])
    merged = pq.ParquetFile(pa.BufferReader(data))
    rows = pa.concat_tables(tables)
    assert merged.metadata.num_row_groups == 1 and merged.metadata.num_rows == rows.num_rows
    one = pq.ParquetFile(pa.BufferReader(_parquet(rows, **options)))  # (format 1.0 reads uint32 back as int64)
    assert merged.read().equals(one.read())
    native = one.metadata.row_group(0)
    ours = merged.metadata.row_group(0)
    assert ours.num_rows == native.num_rows
    for number in range(native.num_columns):
        a, b = ours.column(number), native.column(number)
        assert (a.path_in_schema, a.num_values, a.encodings) == (b.path_in_schema, b.num_values, b.encodings)
        assert a.is_stats_set == b.is_stats_set, a.path_in_schema
        if b.is_stats_set:
            sa, sb = a.statistics, b.statistics
            assert (sa.has_min_max, sa.null_count) == (sb.has_min_max, sb.null_count), a.path_in_schema
            if sb.has_min_max:
                assert (sa.min, sa.max) == (sb.min, sb.max), a.path_in_schema


#: members whose merge lacks a field some of them have: statistics written by some members only (dropped), page
#: statistics of other pages (and in each, columns all null in some members: ``_ordered``'s "sometimes")
MIXED = {
    "statistics in some members only": [dict(use_dictionary=False), dict(use_dictionary=False, write_statistics=False)],
    "pages of several sizes": [dict(use_dictionary=False), dict(use_dictionary=False, data_page_size=512)],
}


def _merged_ahead_everywhere(fields: list, orders: tuple, whole) -> None:
    """The members but one merged on either side of it, then with it, make ``whole``, wherever that one is."""
    for changed in range(len(fields)):
        sides = [merged_fields(side, orders) if side else None for side in (fields[:changed], fields[changed + 1:])]
        joined = merged_fields([f for f in (sides[0], fields[changed], sides[1]) if f is not None], orders)
        assert fields_template(joined) == whole, changed


@pytest.mark.parametrize("options", [*([o] for o in MERGED.values()), *MIXED.values()], ids=[*MERGED, *MIXED])
@pytest.mark.parametrize("table", [_nested, _ordered])
def test_members_merged_ahead_stand_for_them_in_a_later_merge(options, table):
    """A run's members but one, merged ahead on either side of it (while the changed one is written), then merged
    with it, make the row group their merge in one go makes, byte for byte, wherever the changed one is."""
    parts = [Part.of(_parquet(table(15 + 11 * i, i), **options[i % len(options)])) for i in range(6)]
    orders = leaf_orders(parts[0].frame)
    whole = merged_group([part.groups[0] for part in parts], orders)
    assert whole is not None  # (each option above merges)
    _merged_ahead_everywhere([group_fields(part.groups[0]) for part in parts], orders, whole)


def _statistics(group: list, column: int) -> list:
    """The statistics of column ``column`` of a row group's fields (:func:`group_fields`), as fields."""
    chunks = next(value for field, _, value in group if field == 1)[1]
    meta = next(value for field, _, value in chunks[column] if field == 3)
    return next(value for field, _, value in meta if field == 12)


def test_a_nan_extreme_is_left_out_of_any_merge_that_holds_it():
    """A member whose maximum is NaN (pyarrow leaves NaN out; another writer may not): the merge has no maximum
    there, however its members are grouped (a pick among NaN would hang on their order), and keeps the minimum."""
    parts = [Part.of(_parquet(_ordered(15 + 11 * i, i), use_dictionary=False)) for i in range(6)]
    orders = leaf_orders(parts[0].frame)
    fields = [group_fields(part.groups[0]) for part in parts]
    real = _ordered(2, 0).column_names.index("real")  # (a flat table: its columns are the leaves)
    fields[2] = copy.deepcopy(fields[2])
    stats = _statistics(fields[2], real)
    stats[:] = [(f, kind, struct.pack("<f", float("nan")) if f in (1, 5) else value) for f, kind, value in stats]
    whole = merged_fields(fields, orders)
    merged = {f for f, _, _ in _statistics(whole, real)}
    assert 5 not in merged and 1 not in merged and 6 in merged  # no maximum; the least minimum
    assert {f for f, _, _ in _statistics(whole, real - 1)} >= {5, 6}  # (the other columns as before)
    _merged_ahead_everywhere(fields, orders, fields_template(whole))


@pytest.mark.parametrize("sizes", [[], [7], [30, 30, 1], [1000, 3]], ids=["none", "one", "three", "large-and-small"])
def test_packed_templates_tell_their_rows_without_being_unpacked(sizes):
    """:func:`templates_rows` is the sum of the rows of the templates packed: what a file's runs are cut by."""
    templates = [group for n in sizes for group in Part.of(_parquet(_ordered(n, n), use_dictionary=False)).groups]
    assert templates_rows(pack_templates(templates)) == sum(t.rows for t in unpack_templates(pack_templates(templates))) == sum(sizes)


def test_a_merged_template_places_its_row_group_anywhere():
    """A merged row group's template, kept as bytes and placed after other bytes, is read from there."""
    tables = [_ordered(30, i) for i in range(3)]
    parts = [Part.of(_parquet(t, use_dictionary=False)) for t in tables]
    merged = merged_group([part.groups[0] for part in parts], leaf_orders(parts[0].frame))
    kept = unpack_templates(pack_templates([merged]))[0]
    assert kept == merged and kept.rows == 90
    lone = _parquet(_ordered(7, 9), use_dictionary=False)
    sink = io.BytesIO()
    first = Part.of(lone)
    write_spliced(first.frame, [(first.body, first.groups), (_merged_body(parts), [kept])], sink)
    spliced = pq.ParquetFile(pa.BufferReader(sink.getvalue()))
    assert spliced.metadata.num_row_groups == 2
    assert spliced.read_row_group(1).equals(pa.concat_tables(tables))
    # what pyarrow does not read back: each column's pages counted by type and encoding, and the bytes and levels
    # of its values (SizeStatistics), added up
    def metas(template):
        group = dict((f, v) for f, _, v in _read_struct(_Scanner(memoryview(template.at(0)), "a row group")))
        return [dict((f, v) for f, _, v in dict((f, v) for f, _, v in chunk)[3]) for chunk in group[1][1]]

    def pages(meta):
        return {(e[1], e[2]): e[3] for e in (dict((f, v) for f, _, v in item) for item in meta[13][1])}

    def sizes(meta):
        found = dict((f, v) for f, _, v in meta[16])
        return [found.get(1)] + [found[f][1] if f in found else None for f in (2, 3)]

    for number, meta in enumerate(metas(merged)):
        members = [metas(part.groups[0])[number] for part in parts]
        assert pages(meta) == dict(sum((Counter(pages(m)) for m in members), Counter()))
        joined = [sizes(m) for m in members]
        assert sizes(meta)[0] == (None if joined[0][0] is None else sum(j[0] for j in joined))
        assert sizes(meta)[2] == [sum(levels) for levels in zip(*(j[2] for j in joined))]
    # the row group's own position (not read by pyarrow) is its first page's
    placed = _read_struct(_Scanner(memoryview(kept.at(1000)), "a row group"))
    first = dict((f, v) for f, _, v in dict((f, v) for f, _, v in placed)[1][1][0])[3]
    assert dict((f, v) for f, _, v in placed)[5] == dict((f, v) for f, _, v in first)[9] == 1000


def test_a_row_groups_fields_read_and_written_again_are_its_bytes():
    """The struct reader and writer a merge uses make pyarrow's bytes again: nothing of a field is lost."""
    for options in OPTIONS.values():
        for template in Part.of(_parquet(_ordered(50, 1), **options)).groups:
            data = template.at(0)
            out = bytearray()
            _write_struct(out, _read_struct(_Scanner(memoryview(data), "a row group")))
            assert bytes(out) == data


def _walked(scanner: _Scanner, kind: int = _STRUCT, contained: bool = False) -> object:
    """The oracle of :func:`_read_value`: the value at ``scanner`` read with its methods, a call a byte, as the
    splice read footers until the thirtieth session."""
    if kind == _STRUCT:
        fields, last = [], 0
        while True:
            last, kind = scanner.field(last)
            if kind == _STOP:
                return fields
            fields.append((last, kind, _walked(scanner, kind)))
    if kind in (_TRUE, _FALSE):
        return scanner.byte() == _TRUE if contained else None
    if kind == _BYTE:
        return scanner.byte()
    if kind in (_I16, _I32, _I64):
        return scanner.zigzag()
    if kind == _DOUBLE:
        return scanner.chunk(8)
    if kind == _BINARY:
        return scanner.chunk(scanner.varint())
    if kind in (_LIST, _SET):
        n, element = scanner.list_header()
        return element, [_walked(scanner, element, True) for _ in range(n)]
    start = scanner.at
    scanner.skip(kind)
    return bytes(scanner.data[start:scanner.at])


def _outcome(read, data: bytes, at: int) -> tuple:
    """What reading a struct at ``at`` of ``data`` gives: its value and where the scanner stops, or the refusal."""
    scanner = _Scanner(memoryview(data), "a footer")
    scanner.at = at
    try:
        return read(scanner), scanner.at
    except SpliceError as error:
        return ("refused", str(error))


def _footers() -> list[bytes]:
    """Whole footers (a file's metadata: schema, row groups, key-value metadata, column orders) of every option."""
    footers = []
    for options in OPTIONS.values():
        data = _parquet(_ordered(50, 1), **options)
        length = int.from_bytes(data[-8:-4], "little")
        footers.append(data[-8 - length:-8])
    return footers


FOOTERS = _footers()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(FOOTERS))), st.data())
def test_the_footer_reader_reads_what_a_byte_at_a_time_walk_reads_and_refuses_what_it_refuses(which, draw):
    """Row groups' templates are read whole to be merged: the reader is a function over bytes with its position in a
    local, not a method call per byte; it must give the same fields, stop at the same place and refuse a damaged
    footer (cut, a byte changed, read from the middle) with the same message."""
    data = bytearray(FOOTERS[which])
    change = draw.draw(st.sampled_from(["none", "cut", "flip", "from-inside"]))
    at = 0
    if change == "cut":
        del data[draw.draw(st.integers(0, len(data) - 1)):]
    elif change == "flip":
        place = draw.draw(st.integers(0, len(data) - 1))
        data[place] = draw.draw(st.integers(0, 255))
    elif change == "from-inside":
        at = draw.draw(st.integers(0, len(data) - 1))
    assert _outcome(_read_struct, bytes(data), at) == _outcome(_walked, bytes(data), at)
    if change == "none":
        assert _outcome(_read_struct, bytes(data), 0)[1] == len(data)


DAMAGED_STRUCTS = {
    "an i32 of eleven bytes": (b"\x15" + b"\xff" * 11, "varint longer than 10 bytes"),
    "a field id of eleven bytes": (b"\x05" + b"\xff" * 11, "varint longer than 10 bytes"),
    "a list's size of eleven bytes": (b"\x19\xf5" + b"\xff" * 11, "varint longer than 10 bytes"),
    "a binary cut short": (b"\x18\x05ab", "a footer is cut short"),
    "a double cut short": (b"\x17\x00\x00\x00", "a footer is cut short"),
    "an unknown type": (b"\x1d\x00", "unknown Thrift type 13"),
    "no stop": (b"\x15\x02", "its footer is cut short"),
    "a list of elements of type 0": (b"\x19\x10\x00", "unknown Thrift type 0"),
    "a map, kept as its bytes": (b"\x1b\x01\x55\x02\x04\x00", [(1, 11, b"\x01\x55\x02\x04")]),
    "a list of booleans": (b"\x19\x21\x01\x02\x00", [(1, 9, (1, [True, False]))]),
    "a negative i32, a boolean field": (b"\x15\x01\x11\x00", [(1, 5, -1), (2, 1, None)]),
}


@pytest.mark.parametrize("data, expected", DAMAGED_STRUCTS.values(), ids=DAMAGED_STRUCTS.keys())
def test_a_damaged_struct_is_refused_as_a_byte_at_a_time_walk_refuses_it(data, expected):
    """Each refusal by its message (a str); a sound struct read as its fields (a list)."""
    read = _outcome(_read_struct, data, 0)
    assert read == _outcome(_walked, data, 0)
    if isinstance(expected, list):
        assert read == (expected, len(data))
    else:
        assert read[0] == "refused" and expected in read[1]


UNMERGED = {
    "a dictionary page": (dict(use_dictionary=True), dict(use_dictionary=True)),
    "other sorting columns": (dict(use_dictionary=False, sorting_columns=[pq.SortingColumn(0)]), dict(use_dictionary=False)),
    "another codec": (dict(use_dictionary=False, compression="zstd"), dict(use_dictionary=False, compression="snappy")),
}


@pytest.mark.parametrize("first, second", UNMERGED.values(), ids=UNMERGED.keys())
def test_row_groups_that_cannot_be_merged_are_not(first, second):
    """Parts whose chunks cannot be joined page to page (a dictionary page comes first in its chunk), or whose
    metadata differ where it must be the same, are left as row groups of their own."""
    assert _merged([_parquet(_ordered(20, 1), **first), _parquet(_ordered(20, 2), **second)]) is None
