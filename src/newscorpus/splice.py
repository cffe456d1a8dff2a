"""Parquet files put together without decoding them: their row groups' bytes copied, one footer written for all.

A Parquet file is ``PAR1``, its column chunks, a footer (``FileMetaData`` in Thrift's compact protocol), the
footer's length and ``PAR1``.  The footer says where each column chunk's pages are by their position in the file,
so the row groups of several files become one file by copying their bytes and writing a footer whose positions
are moved by where each file's bytes landed: :func:`splice`.

Nothing is decoded and re-encoded: a footer is scanned, and every byte of it but the positions (and the row count)
is copied as it was, so fields this module does not know survive.  Each row group's metadata becomes a
:class:`GroupTemplate`, its bytes cut at each position, so placing it elsewhere is a join (:meth:`GroupTemplate.at`):
what a build can keep of a group to splice it again without reading its footer.

Why here and not a library: pyarrow 24 cannot copy row groups (its C++ rewriter, apache/arrow#47628, is not
released); fastparquet's and thriftpy2's Thrift readers decode a footer into the fields they know and write back
only those (both dropped ``ColumnMetaData.size_statistics``, field 16, from pyarrow 24's footers: measured), and
importing them costs 0.3-0.8 s of every build (fastparquet imports pandas).

Only positions in the footer move, so parts whose bytes hold positions of their own are refused: page indexes
(an offset index holds each page's position) and encryption.  Bloom filters are found from the footer, so they
move with it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable

MAGIC = b"PAR1"

# Thrift compact protocol type codes
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)

# Field ids of parquet.thrift (apache/parquet-format) this module reads or moves
_FILE_SCHEMA, _FILE_NUM_ROWS, _FILE_ROW_GROUPS, _FILE_KEY_VALUES, _FILE_COLUMN_ORDERS, _FILE_ENCRYPTION = 2, 3, 4, 5, 7, 8
_GROUP_COLUMNS, _GROUP_NUM_ROWS, _GROUP_FILE_OFFSET = 1, 3, 5
_CHUNK_FILE_PATH, _CHUNK_FILE_OFFSET, _CHUNK_META = 1, 2, 3
#: offset index offset and length, column index offset and length, crypto metadata, encrypted column metadata
_CHUNK_REFUSED = frozenset({4, 5, 6, 7, 8, 9})
_META_POSITIONS = frozenset({9, 10, 11, 14})  # data page, index page, dictionary page, bloom filter
#: The footer fields every part must share: the schema, the key-value metadata (Arrow's schema, the features), the
#: column orders.
_SHARED = (_FILE_SCHEMA, _FILE_KEY_VALUES, _FILE_COLUMN_ORDERS)


class SpliceError(ValueError):
    """Parts that cannot be put together: not Parquet, another schema, positions in their bytes."""


class _Scanner:
    """Walks compact-protocol bytes without building their values."""

    def __init__(self, data: memoryview, name: str) -> None:
        self.data, self.at, self.name = data, 0, name

    def byte(self) -> int:
        try:
            value = self.data[self.at]
        except IndexError:
            raise SpliceError(f"{self.name}: its footer is cut short") from None
        self.at += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise SpliceError(f"{self.name}: a Thrift varint longer than 10 bytes in its footer")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def chunk(self, n: int) -> bytes:
        value = bytes(self.data[self.at:self.at + n])
        if len(value) != n:
            raise SpliceError(f"{self.name} is cut short")
        self.at += n
        return value

    def field(self, last: int) -> tuple[int, int]:
        """The next field's (id, type); type 0 at the struct's end."""
        header = self.byte()
        kind = header & 0x0F
        if kind == _STOP:
            return 0, _STOP
        delta = header >> 4
        return (last + delta if delta else self.zigzag()), kind

    def list_header(self) -> tuple[int, int]:
        header = self.byte()
        n = header >> 4
        return (self.varint() if n == 15 else n), header & 0x0F

    def skip(self, kind: int) -> None:
        if kind in (_TRUE, _FALSE):  # a field's boolean is its type (this is one inside a container: a byte)
            self.at += 1
        elif kind == _BYTE:
            self.at += 1
        elif kind in (_I16, _I32, _I64):
            self.varint()
        elif kind == _DOUBLE:
            self.at += 8
        elif kind == _BINARY:
            length = self.varint()  # (read before ``self.at`` is: the varint moves it)
            self.at += length
        elif kind in (_LIST, _SET):
            n, element = self.list_header()
            for _ in range(n):
                self.skip(element)
        elif kind == _MAP:
            n = self.varint()
            if n:
                types = self.byte()
                for _ in range(n):
                    self.skip(types >> 4)
                    self.skip(types & 0x0F)
        elif kind == _STRUCT:
            last = 0
            while True:
                last, kind = self.field(last)
                if kind == _STOP:
                    break
                if kind not in (_TRUE, _FALSE):
                    self.skip(kind)
        else:
            raise SpliceError(f"{self.name}: an unknown Thrift type {kind} in its footer")
        if self.at > len(self.data):
            raise SpliceError(f"{self.name}: its footer is cut short")


@dataclass(frozen=True)
class GroupTemplate:
    """A row group's metadata as its bytes, cut at each position: ``parts[0] + positions[0] + parts[1] + ...``, each
    position counted from the start of its file's body (after ``PAR1``).  :meth:`at` encodes it for a body that
    starts at ``start`` in the file written."""

    parts: tuple[bytes, ...]
    positions: tuple[int, ...]
    rows: int

    def to_bytes(self) -> bytes:
        """The template as bytes (:meth:`from_bytes`): what a build keeps of each group it wrote."""
        out = bytearray()
        for n in (self.rows, len(self.parts)):
            _varint(out, n)
        for part in self.parts:
            _varint(out, len(part))
            out += part
        for position in self.positions:
            _varint(out, position)
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> "GroupTemplate":
        scanner = _Scanner(memoryview(data), "a row group's template")
        rows, n = scanner.varint(), scanner.varint()
        parts = tuple(scanner.chunk(scanner.varint()) for _ in range(n))
        positions = tuple(scanner.varint() for _ in range(n - 1))
        if scanner.at != len(scanner.data):
            raise SpliceError("a row group's template has bytes after its end")
        return cls(parts, positions, rows)

    def at(self, start: int) -> bytes:
        out = bytearray(self.parts[0])
        for position, part in zip(self.positions, self.parts[1:]):
            _varint(out, (position + start) << 1)  # the zigzag of a position, never negative
            out += part
        return bytes(out)


def _varint(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


class _GroupCutter:
    """Scans one row group's struct, noting where each position's value is (its start, end and value)."""

    def __init__(self, scanner: _Scanner) -> None:
        self.scanner, self.cuts, self.rows = scanner, [], 0
        #: each column chunk's first page's position and its length (``total_compressed_size``)
        self.spans: list[tuple[int | None, int | None]] = []
        self._first = self._length = None

    def _position(self) -> int:
        start = self.scanner.at
        value = self.scanner.zigzag()
        if value:  # (0: not set, as pyarrow's deprecated ColumnChunk.file_offset; it stays 0)
            self.cuts.append((start, self.scanner.at, value))
        return value

    def _fields(self, read: Callable[[int, int], bool]) -> None:
        """Each field of the struct at the scanner: ``read(field id, type)`` reads it and says so, else it is skipped."""
        scanner, last = self.scanner, 0
        while True:
            last, kind = scanner.field(last)
            if kind == _STOP:
                return
            if not read(last, kind) and kind not in (_TRUE, _FALSE):
                scanner.skip(kind)

    def group(self) -> None:
        self._fields(self._group_field)

    def _group_field(self, field: int, kind: int) -> bool:
        if field == _GROUP_COLUMNS and kind == _LIST:
            n, _ = self.scanner.list_header()
            for _ in range(n):
                self._fields(self._chunk_field)
        elif field == _GROUP_FILE_OFFSET and kind == _I64:
            self._position()
        elif field == _GROUP_NUM_ROWS and kind == _I64:
            self.rows = self.scanner.zigzag()
        else:
            return False
        return True

    def _chunk_field(self, field: int, kind: int) -> bool:
        if field in _CHUNK_REFUSED:
            raise SpliceError(f"{self.scanner.name} has page indexes or encrypted columns, whose bytes hold positions")
        if field == _CHUNK_FILE_PATH:
            raise SpliceError(f"{self.scanner.name} has a column chunk in another file")
        if field == _CHUNK_FILE_OFFSET and kind == _I64:
            self._position()
        elif field == _CHUNK_META and kind == _STRUCT:
            self._first = self._length = None
            self._fields(self._meta_field)
            self.spans.append((self._first, self._length))
        else:
            return False
        return True

    def _meta_field(self, field: int, kind: int) -> bool:
        if field in _META_POSITIONS and kind == _I64:
            value = self._position()
            if field in _META_FIRST_PAGES and value and (self._first is None or value < self._first):
                self._first = value
        elif field == _META_COMPRESSED and kind == _I64:
            self._length = self.scanner.zigzag()
        else:
            return False
        return True


@dataclass(frozen=True)
class Frame:
    """A footer's top-level fields but the row count and the row groups, as read: ``(field id, its header's bytes,
    its value's bytes)``, in order (the row count's and the row groups' values empty).  The same for every file of a
    config written by the same code: what a spliced file's footer is made around (:func:`write_spliced`)."""

    fields: tuple[tuple[int, bytes, bytes], ...]

    def shared(self) -> tuple[bytes | None, ...]:
        """The values every part of one file must share (:data:`_SHARED`)."""
        values = {field: value for field, _, value in self.fields}
        return tuple(values.get(field) for field in _SHARED)

    def to_bytes(self) -> bytes:
        out = bytearray()
        for field, header, value in self.fields:
            _varint(out, field)
            for piece in (header, value):
                _varint(out, len(piece))
                out += piece
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> "Frame":
        scanner, fields = _Scanner(memoryview(data), "a frame"), []
        while scanner.at < len(scanner.data):
            field = scanner.varint()
            header, value = scanner.chunk(scanner.varint()), scanner.chunk(scanner.varint())
            fields.append((field, header, value))
        return cls(tuple(fields))


#: Where each column chunk of a row group is in its file's body: ``(start, length)`` per column, in order
#: (``None`` where its metadata does not say).
Spans = tuple[tuple[int | None, int | None], ...]


def read_footer(footer: bytes | memoryview, name: str = "a part") -> tuple[Frame, tuple[GroupTemplate, ...], tuple[Spans, ...]]:
    """The frame, the row groups' templates and their column chunks' spans of the footer bytes ``footer`` (what
    precedes its length)."""
    footer = memoryview(footer)
    scanner, fields, groups, spans, last = _Scanner(footer, name), [], [], [], 0
    while True:
        header = scanner.at
        last, kind = scanner.field(last)
        if kind == _STOP:
            break
        value = scanner.at
        if last == _FILE_ENCRYPTION:
            raise SpliceError(f"{name} is encrypted")
        if last == _FILE_ROW_GROUPS and kind == _LIST:
            n, _ = scanner.list_header()
            for _ in range(n):
                begin, cutter = scanner.at, _GroupCutter(scanner)
                cutter.group()
                groups.append(_template(footer, begin, scanner.at, cutter))
                spans.append(tuple((None if first is None else first - len(MAGIC), length) for first, length in cutter.spans))
        elif kind not in (_TRUE, _FALSE):
            scanner.skip(kind)
        kept = b"" if last in (_FILE_NUM_ROWS, _FILE_ROW_GROUPS) else bytes(footer[value:scanner.at])
        fields.append((last, bytes(footer[header:value]), kept))
    if scanner.at != len(footer):
        raise SpliceError(f"{name}: bytes after its footer's end")
    if not {_FILE_NUM_ROWS, _FILE_ROW_GROUPS} <= {field for field, _, _ in fields}:
        raise SpliceError(f"{name}: its footer has no row count or row groups")
    return Frame(tuple(fields)), tuple(groups), tuple(spans)


def footer_span(size: int, tail: bytes, name: str = "a part") -> tuple[int, int]:
    """Where the footer of a Parquet file of ``size`` bytes starts, and its length, from the file's last 8 bytes."""
    if size < 12 or len(tail) != 8 or tail[4:] != MAGIC:
        raise SpliceError(f"{name} is not a Parquet file (no PAR1 at its end; an encrypted footer ends in PARE)")
    (length,) = struct.unpack("<i", tail[:4])
    start = size - 8 - length
    if length <= 0 or start < 4:
        raise SpliceError(f"{name}: its footer's length ({length}) does not fit the file")
    return start, length


@dataclass(frozen=True)
class Part:
    """One Parquet file to splice: its body (the bytes between ``PAR1`` and its footer), its frame, its row
    groups' templates and where each of their column chunks is in the body (:func:`merged_group` lays them out)."""

    body: memoryview
    frame: Frame
    groups: tuple[GroupTemplate, ...]
    spans: tuple[Spans, ...]

    @classmethod
    def of(cls, data: bytes | memoryview, name: str = "a part") -> "Part":
        view = memoryview(data)
        if len(view) < 12 or view[:4] != MAGIC:
            raise SpliceError(f"{name} is not a Parquet file (no PAR1 at its start)")
        start, _ = footer_span(len(view), bytes(view[-8:]), name)
        return cls(view[4:start], *read_footer(view[start:-8], name))


def _template(footer: memoryview, begin: int, end: int, cutter: _GroupCutter) -> GroupTemplate:
    parts, positions, at = [], [], begin
    for start, stop, value in cutter.cuts:
        parts.append(bytes(footer[at:start]))
        positions.append(value - len(MAGIC))
        at = stop
    parts.append(bytes(footer[at:end]))
    return GroupTemplate(tuple(parts), tuple(positions), cutter.rows)


def _list_header(n: int, element: int) -> bytes:
    out = bytearray()
    if n < 15:
        out.append(n << 4 | element)
    else:
        out.append(0xF0 | element)
        _varint(out, n)
    return bytes(out)


def spliced_tail(frame: Frame, pieces: Iterable[tuple[int, Iterable[GroupTemplate]]]) -> list[bytes]:
    """What follows the bodies of a spliced file, in pieces to write one after the other: its footer, its length and
    ``PAR1``.  The footer is ``frame``'s fields with the row groups of ``pieces`` (each its body's length and its
    templates; the bodies one after the other after ``PAR1``), each placed where its body lands, and their rows
    counted.  In pieces, not joined: the footer grows with the file's row groups (500 KB for the 'quotes' of the
    train split at 100,000 articles), and joined it was held three times more."""
    at, groups, rows = len(MAGIC), [], 0
    for length, templates in pieces:
        for template in templates:
            groups.append(template.at(at))
            rows += template.rows
        at += length
    tail: list[bytes] = []
    for field, header, value in frame.fields:
        tail.append(header)
        if field == _FILE_NUM_ROWS:
            count = bytearray()
            _varint(count, rows << 1)
            tail.append(bytes(count))
        elif field == _FILE_ROW_GROUPS:
            tail.append(_list_header(len(groups), _STRUCT))
            tail += groups
        else:
            tail.append(value)
    tail.append(bytes([_STOP]))
    return tail + [struct.pack("<i", sum(map(len, tail))), MAGIC]


def write_spliced(frame: Frame, pieces: Iterable[tuple[bytes | memoryview, Iterable[GroupTemplate]]], sink: BinaryIO) -> int:
    """Write ``PAR1``, each piece's body and the tail around ``frame`` (:func:`spliced_tail`).  Return the bytes
    written."""
    sink.write(MAGIC)
    placed, at = [], len(MAGIC)
    for body, templates in pieces:
        sink.write(body)
        placed.append((len(body), templates))
        at += len(body)
    tail = spliced_tail(frame, placed)
    sink.writelines(tail)
    return at + sum(map(len, tail))


def pack_templates(templates: Iterable[GroupTemplate]) -> bytes:
    """Templates as bytes, one after the other (:func:`unpack_templates`): what a build keeps of a group's file."""
    out = bytearray()
    for template in templates:
        data = template.to_bytes()
        _varint(out, len(data))
        out += data
    return bytes(out)


def templates_rows(data: bytes | memoryview) -> int:
    """The rows of the row groups of packed templates (:func:`pack_templates`), without unpacking them."""
    scanner, rows = _Scanner(memoryview(data), "a group's templates"), 0
    while scanner.at < len(scanner.data):
        rows += _Scanner(scanner.chunk(scanner.varint()), "a row group's template").varint()
    return rows


def unpack_templates(data: bytes | memoryview) -> list[GroupTemplate]:
    scanner, found = _Scanner(memoryview(data), "a group's templates"), []
    while scanner.at < len(scanner.data):
        found.append(GroupTemplate.from_bytes(scanner.chunk(scanner.varint())))
    return found


def splice(parts: Iterable[bytes | memoryview], sink: BinaryIO, names: Iterable[str] | None = None) -> int:
    """Write into ``sink`` one Parquet file holding the row groups of ``parts``, in order, their bytes as they are;
    return the bytes written.  The footer is the first part's, with every part's row groups and their rows; its
    other fields (``created_by``) are the first part's.  Raises :class:`SpliceError` when a part is not Parquet, has
    another schema or key-value metadata than the first, or holds positions in its bytes (page indexes,
    encryption)."""
    names = iter(names) if names is not None else None
    first, pieces = None, []
    for number, data in enumerate(parts):
        name = next(names) if names is not None else f"part {number}"
        part = Part.of(data, name)
        if first is None:
            first = part
        elif part.frame.shared() != first.frame.shared():
            raise SpliceError(f"{name} has another schema or key-value metadata than the first part")
        pieces.append((part.body, part.groups))
    if first is None:
        raise SpliceError("nothing to splice: no parts")
    return write_spliced(first.frame, pieces, sink)


# Merging row groups: the pages of several row groups' column chunks joined into one row group's chunks.
#
# A column chunk is its pages, each of which says how many values it holds, so the chunks of one column in
# several row groups become one chunk by putting their pages one after the other, when none has a dictionary page
# (a chunk has at most one, before its pages).  The merged chunk's metadata is the members' with their counts and
# sizes added up and their statistics joined; the row group's, with its rows added up.  Fields this module does not
# know cannot be joined, so a row group that has one is not merged (:func:`merged_group` returns ``None``).

_GROUP_TOTAL_BYTES, _GROUP_SORTING, _GROUP_COMPRESSED, _GROUP_ORDINAL = 2, 4, 6, 7
_GROUP_KNOWN = frozenset({_GROUP_COLUMNS, _GROUP_TOTAL_BYTES, _GROUP_NUM_ROWS, _GROUP_SORTING, _GROUP_FILE_OFFSET,
                          _GROUP_COMPRESSED, _GROUP_ORDINAL})
_META_TYPE, _META_ENCODINGS, _META_NUM_VALUES, _META_DATA_PAGE = 1, 2, 5, 9
_META_UNCOMPRESSED, _META_COMPRESSED, _META_STATISTICS, _META_ENCODING_STATS, _META_SIZES = 6, 7, 12, 13, 16
_META_FIRST_PAGES = frozenset({_META_DATA_PAGE, 11})  # a chunk starts at its data page, or its dictionary page before it
#: type, path in the schema, codec, key-value metadata: the same in every member
_META_SAME = frozenset({_META_TYPE, 3, 4, 8})
_META_SUMMED = frozenset({_META_NUM_VALUES, _META_UNCOMPRESSED, _META_COMPRESSED})
#: index page, dictionary page, bloom filter offset and length, geospatial statistics: not merged
_META_KNOWN = frozenset({*_META_SAME, *_META_SUMMED, _META_ENCODINGS, _META_DATA_PAGE, _META_STATISTICS,
                         _META_ENCODING_STATS, _META_SIZES})
_STATS_MAX, _STATS_MIN, _STATS_NULLS, _STATS_MAX_VALUE, _STATS_MIN_VALUE, _STATS_MAX_EXACT, _STATS_MIN_EXACT = 1, 2, 3, 5, 6, 7, 8
_STATS_KNOWN = frozenset({_STATS_MAX, _STATS_MIN, _STATS_NULLS, 4, _STATS_MAX_VALUE, _STATS_MIN_VALUE, _STATS_MAX_EXACT,
                          _STATS_MIN_EXACT})

_Fields = list  # a struct read by :func:`_read_struct`: ``[(field id, type, value), ...]``


def _read_value(scanner: _Scanner, kind: int, contained: bool = False) -> object:
    """The value of ``kind`` at the scanner: an int, bytes, ``(element type, [values])`` for a list or a set,
    :data:`_Fields` for a struct, a map's bytes as they are; a struct field's boolean is its type (``None``)."""
    return _read(scanner, _value_at, kind, contained)


def _read_struct(scanner: _Scanner) -> _Fields:
    """The struct at the scanner, as :data:`_Fields`."""
    return _read(scanner, _struct_at)


def _read(scanner: _Scanner, read: Callable, *args: object) -> object:
    """``read(data, at, name, *args)`` on the scanner's bytes from where it is, the scanner moved past what it read.

    A merged row group's members are read whole (:func:`merged_group`): their
    values a method call each (:class:`_Scanner`) took 60% of a merge, which
    is most of a one-file rebuild's splice.  The functions below read from a
    ``bytes`` with a local position, ints inline; they give the same values
    and refuse the same footers with the same messages."""
    data = bytes(scanner.data[scanner.at:])
    try:
        value, at = read(data, 0, scanner.name, *args)
    except IndexError:
        raise SpliceError(f"{scanner.name}: its footer is cut short") from None
    scanner.at += at
    return value


def _varint_at(data: bytes, at: int, name: str) -> tuple[int, int]:
    b = data[at]
    if b < 0x80:
        return b, at + 1
    result, shift, at = b & 0x7F, 7, at + 1
    while True:
        b = data[at]
        at += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, at
        shift += 7
        if shift > 63:
            raise SpliceError(f"{name}: a Thrift varint longer than 10 bytes in its footer")


def _bytes_at(data: bytes, at: int, n: int, name: str) -> tuple[bytes, int]:
    value = data[at:at + n]
    if len(value) != n:
        raise SpliceError(f"{name} is cut short")
    return value, at + n


def _value_at(data: bytes, at: int, name: str, kind: int, contained: bool = False) -> tuple[object, int]:
    if kind in (_I16, _I32, _I64):
        n, at = _varint_at(data, at, name)
        return (n >> 1) ^ -(n & 1), at
    if kind == _STRUCT:
        return _struct_at(data, at, name)
    if kind == _BINARY:
        n, at = _varint_at(data, at, name)
        return _bytes_at(data, at, n, name)
    if kind in (_LIST, _SET):
        header = data[at]
        n, element = header >> 4, header & 0x0F
        at += 1
        if n == 15:
            n, at = _varint_at(data, at, name)
        values = []
        for _ in range(n):
            value, at = _value_at(data, at, name, element, True)
            values.append(value)
        return (element, values), at
    if kind in (_TRUE, _FALSE):
        return (data[at] == _TRUE, at + 1) if contained else (None, at)
    if kind == _BYTE:
        return data[at], at + 1
    if kind == _DOUBLE:
        return _bytes_at(data, at, 8, name)
    scanner = _Scanner(memoryview(data), name)  # (a map, or an unknown type: refused there)
    scanner.at = at
    scanner.skip(kind)
    return data[at:scanner.at], scanner.at


def _struct_at(data: bytes, at: int, name: str) -> tuple[_Fields, int]:
    fields: _Fields = []
    last = 0
    while True:
        header = data[at]
        at += 1
        kind = header & 0x0F
        if kind == _STOP:
            return fields, at
        if header >> 4:
            last += header >> 4
        else:
            n, at = _varint_at(data, at, name)
            last = (n >> 1) ^ -(n & 1)
        if kind in (_I16, _I32, _I64):  # most of a footer's values: read here, not by a call
            b = data[at]
            if b < 0x80:
                at += 1
            else:
                b, at = _varint_at(data, at, name)
            fields.append((last, kind, (b >> 1) ^ -(b & 1)))
        else:
            value, at = _value_at(data, at, name, kind)
            fields.append((last, kind, value))


def _write_value(out: bytearray, kind: int, value: object, contained: bool = False) -> None:
    if kind in (_TRUE, _FALSE):
        if contained:
            out.append(_TRUE if value else _FALSE)
    elif kind == _BYTE:
        out.append(value & 0xFF)
    elif kind in (_I16, _I32, _I64):
        _varint(out, (value << 1) ^ (value >> 63))
    elif kind == _BINARY:
        _varint(out, len(value))
        out += value
    elif kind in (_LIST, _SET):
        element, values = value
        out += _list_header(len(values), element)
        for item in values:
            _write_value(out, element, item, True)
    elif kind == _STRUCT:
        _write_struct(out, value)
    else:  # a double's or a map's bytes
        out += value


def _write_struct(out: bytearray, fields: _Fields) -> None:
    last = 0
    for field, kind, value in fields:
        if 0 < field - last <= 15:
            out.append((field - last) << 4 | kind)
        else:
            out.append(kind)
            _varint(out, (field << 1) ^ (field >> 15))
        _write_value(out, kind, value)
        last = field
    out.append(_STOP)


def _value(fields: _Fields, field: int, default: object = None) -> object:
    for number, kind, value in fields:
        if number == field:
            return (kind == _TRUE) if kind in (_TRUE, _FALSE) else value
    return default


def _entry(fields: _Fields, field: int) -> tuple[int, int, object] | None:
    return next((entry for entry in fields if entry[0] == field), None)


#: Physical types of parquet.thrift
_BOOLEAN, _INT32, _INT64, _INT96, _FLOAT, _DOUBLE_TYPE, _BYTE_ARRAY = range(7)
_CONVERTED_DECIMAL, _CONVERTED_UNSIGNED = 5, frozenset({11, 12, 13, 14})
_LOGICAL_DECIMAL, _LOGICAL_INTEGER, _LOGICAL_UNORDERED = 5, 10, frozenset({16, 17, 18})  # variant, geometry, geography


def _order(element: _Fields) -> Callable[[bytes], object] | None:
    """How a leaf's statistics compare (parquet-format's sort orders), as a key on their bytes; ``None`` where this
    module does not compare them (INT96, fixed-length byte arrays, decimals stored as bytes, geospatial types)."""
    physical, converted = _value(element, 1), _value(element, 6)
    logical = _value(element, 10) or []
    kind = logical[0][0] if logical else None
    if physical == _BOOLEAN:
        return bytes
    if physical in (_INT32, _INT64):
        unsigned = converted in _CONVERTED_UNSIGNED or (kind == _LOGICAL_INTEGER and not _value(logical[0][2], 2, True))
        code = ("<I" if unsigned else "<i") if physical == _INT32 else ("<Q" if unsigned else "<q")
        return lambda data: struct.unpack(code, data)[0]
    if physical in (_FLOAT, _DOUBLE_TYPE):
        code = "<f" if physical == _FLOAT else "<d"
        return lambda data: struct.unpack(code, data)[0]
    if physical == _BYTE_ARRAY and converted != _CONVERTED_DECIMAL and kind != _LOGICAL_DECIMAL and kind not in _LOGICAL_UNORDERED:
        return bytes
    return None


def leaf_orders(frame: Frame) -> tuple[Callable[[bytes], object] | None, ...]:
    """Each column's sort order (:func:`_order`), from the schema in ``frame``."""
    values = {field: value for field, _, value in frame.fields}
    scanner = _Scanner(memoryview(values.get(_FILE_SCHEMA, _list_header(0, _STRUCT))), "a frame's schema")
    _, elements = _read_value(scanner, _LIST)
    return tuple(_order(element) for element in elements if _value(element, 1) is not None)


def _extreme(stats: list[_Fields], value_field: int, exact_field: int, order: Callable, pick: Callable) -> list:
    """The fields of the least (``pick=min``) or greatest value of ``stats`` (all of which have one), the first where
    several are; none where one is NaN (not ordered: Parquet leaves NaN out of a minimum or a maximum, and the pick
    would hang on the order the members come in)."""
    keys = [order(_value(fields, value_field)) for fields in stats]
    if any(key != key for key in keys):
        return []
    best = stats[keys.index(pick(keys))]
    return [entry for entry in best if entry[0] in (value_field, exact_field)]


def _merged_statistics(metas: list[_Fields], order: Callable | None) -> _Fields | None:
    """The statistics of the members' chunks joined: nulls added up, the least minimum and the greatest maximum
    (chunks without values, all nulls, have none and take no part), or ``None`` where they cannot be joined (a
    member without statistics, a field not known, an order not known): a chunk may have no statistics."""
    stats = [_value(meta, _META_STATISTICS) for meta in metas]
    if any(s is None or any(entry[0] not in _STATS_KNOWN for entry in s) for s in stats):
        return None
    merged: _Fields = []
    nulls = [_value(s, _STATS_NULLS) for s in stats]
    valued = [s for s, n, meta in zip(stats, nulls, metas) if n is None or n < _value(meta, _META_NUM_VALUES)]
    if order is not None:
        for value_field, exact_field, pick in ((_STATS_MAX, None, max), (_STATS_MIN, None, min),
                                               (_STATS_MAX_VALUE, _STATS_MAX_EXACT, max),
                                               (_STATS_MIN_VALUE, _STATS_MIN_EXACT, min)):
            if valued and all(_value(s, value_field) is not None for s in valued):
                merged += _extreme(valued, value_field, exact_field, order, pick)
    if None not in nulls:
        merged.append((_STATS_NULLS, _I64, sum(nulls)))
    merged.sort(key=lambda entry: entry[0])
    return merged or None


def _merged_page_counts(lists: list[tuple[int, list[_Fields]]]) -> tuple[int, list[_Fields]] | None:
    """``PageEncodingStats`` lists joined: the pages of one type and encoding counted together, in the order first
    seen; ``None`` where an item has a field this module does not know."""
    if any(entry[0] not in (1, 2, 3) for _, items in lists for item in items for entry in item):
        return None
    totals: dict[tuple, list] = {}
    for _, items in lists:
        for item in items:
            kind = (_value(item, 1), _value(item, 2))
            if kind in totals:
                totals[kind][1] += _value(item, 3)
            else:
                totals[kind] = [item, _value(item, 3)]
    return lists[0][0], [[entry if entry[0] != 3 else (3, entry[1], count) for entry in item] for item, count in totals.values()]


def _merged_sizes(sizes: list[_Fields]) -> _Fields | None:
    """``SizeStatistics`` joined: the bytes of byte-array values and the levels' histograms added up."""
    if any(entry[0] not in (1, 2, 3) for s in sizes for entry in s):
        return None
    merged = []
    for field in (1, 2, 3):
        values = [_entry(s, field) for s in sizes]
        if any(v is None for v in values):
            if any(v is not None for v in values):
                return None
            continue
        kind = values[0][1]
        if kind == _I64:
            merged.append((field, kind, sum(v[2] for v in values)))
        else:
            histograms = [v[2][1] for v in values]
            if len({len(h) for h in histograms}) != 1:
                return None
            merged.append((field, kind, (values[0][2][0], [sum(column) for column in zip(*histograms)])))
    return merged


def _merged_meta(metas: list[_Fields], order: Callable | None, at: int) -> _Fields | None:
    """One column's chunk metadata for its members' pages put one after the other from position ``at``."""
    if any(entry[0] not in _META_KNOWN for meta in metas for entry in meta):
        return None
    first = metas[0]
    if any([entry for entry in meta if entry[0] in _META_SAME] != [entry for entry in first if entry[0] in _META_SAME]
           for meta in metas):
        return None
    merged: _Fields = []
    for field, kind, value in first:
        if field in _META_SUMMED:
            values = [_value(meta, field) for meta in metas]
            if None in values:
                return None
            merged.append((field, kind, sum(values)))
        elif field == _META_ENCODINGS:
            seen = dict.fromkeys(code for meta in metas for code in _value(meta, field, (0, []))[1])
            merged.append((field, kind, (value[0], list(seen))))
        elif field == _META_DATA_PAGE:
            merged.append((field, kind, at))
        elif field == _META_STATISTICS:
            stats = _merged_statistics(metas, order)
            if stats is not None:
                merged.append((field, kind, stats))
        elif field in (_META_ENCODING_STATS, _META_SIZES):  # (optional: left out where they cannot be joined)
            values = [_value(meta, field) for meta in metas]
            joined = None if None in values else (_merged_page_counts if field == _META_ENCODING_STATS else _merged_sizes)(values)
            if joined is not None:
                merged.append((field, kind, joined))
        else:
            merged.append((field, kind, value))
    return merged


def group_fields(template: GroupTemplate) -> _Fields:
    """A template's row group as fields (what :func:`merged_fields` joins), its positions counted from the start of
    its body."""
    return _read_struct(_Scanner(memoryview(template.at(0)), "a row group's template"))


def merged_group(templates: list[GroupTemplate], orders: tuple[Callable[[bytes], object] | None, ...]) -> GroupTemplate | None:
    """One row group of the rows of ``templates``' row groups, in order, for a body that is their column chunks
    column by column, each column's chunks in the members' order (:attr:`Part.spans` says where each is in its
    member's body).  ``orders``: each column's sort order (:func:`leaf_orders`).  ``None`` when they cannot be merged:
    a dictionary page, a bloom filter, other sorting columns, a field this module does not know."""
    merged = merged_fields([group_fields(template) for template in templates], orders)
    return None if merged is None else fields_template(merged)


def merged_fields(groups: list[_Fields], orders: tuple[Callable[[bytes], object] | None, ...]) -> _Fields | None:
    """:func:`merged_group` on row groups read as fields (:func:`group_fields`), as fields.  Joining is associative:
    the fields of some consecutive members, merged, stand for them in a later merge, which gives the same row group,
    byte for byte (a test), so a run with one member changed is merged from its other members merged ahead
    (:class:`newscorpus.build.Premerges`).  Counts and sizes are added up, statistics joined (the first of equal
    extremes), encodings and pages listed in the order first seen, the first member's other fields kept; a statistic
    one member lacks or cannot join is left out of any merge that holds it, and a count one lacks, or a field not
    known, refuses it."""
    if any(entry[0] not in _GROUP_KNOWN for group in groups for entry in group):
        return None
    if len({repr(_value(group, _GROUP_SORTING)) for group in groups}) != 1:
        return None
    chunks = [_value(group, _GROUP_COLUMNS, (_STRUCT, []))[1] for group in groups]
    if len({len(columns) for columns in chunks}) != 1 or len(chunks[0]) != len(orders):
        return None
    columns, at = [], len(MAGIC)  # (positions as in a file of its own, so that none is 0: see _GroupCutter)
    for number, order in enumerate(orders):
        members = [member[number] for member in chunks]
        if any(entry[0] not in (_CHUNK_FILE_OFFSET, _CHUNK_META) for chunk in members for entry in chunk):
            return None
        meta = _merged_meta([_value(chunk, _CHUNK_META, []) for chunk in members], order, at)
        if meta is None:
            return None
        columns.append([entry if entry[0] != _CHUNK_META else (_CHUNK_META, _STRUCT, meta) for entry in members[0]])
        at += _value(meta, _META_COMPRESSED)
    merged: _Fields = []
    for field, kind, value in groups[0]:
        if field == _GROUP_COLUMNS:
            value = (value[0], columns)
        elif field in (_GROUP_TOTAL_BYTES, _GROUP_NUM_ROWS, _GROUP_COMPRESSED):
            values = [_value(group, field) for group in groups]
            if None in values:
                return None
            value = sum(values)
        elif field == _GROUP_FILE_OFFSET:
            value = len(MAGIC)
        merged.append((field, kind, value))
    return merged


def fields_template(fields: _Fields) -> GroupTemplate:
    """The template of a row group given as fields (:func:`merged_fields`)."""
    out = bytearray()
    _write_struct(out, fields)
    view = memoryview(bytes(out))
    cutter = _GroupCutter(_Scanner(view, "a merged row group"))
    cutter.group()
    return _template(view, 0, len(view), cutter)
