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

    def _position(self) -> None:
        start = self.scanner.at
        value = self.scanner.zigzag()
        if value:  # (0: not set, as pyarrow's deprecated ColumnChunk.file_offset; it stays 0)
            self.cuts.append((start, self.scanner.at, value))

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
            self._fields(self._meta_field)
        else:
            return False
        return True

    def _meta_field(self, field: int, kind: int) -> bool:
        if field in _META_POSITIONS and kind == _I64:
            self._position()
            return True
        return False


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


def read_footer(footer: bytes | memoryview, name: str = "a part") -> tuple[Frame, tuple[GroupTemplate, ...]]:
    """The frame and the row groups' templates of the footer bytes ``footer`` (what precedes its length)."""
    footer = memoryview(footer)
    scanner, fields, groups, last = _Scanner(footer, name), [], [], 0
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
        elif kind not in (_TRUE, _FALSE):
            scanner.skip(kind)
        kept = b"" if last in (_FILE_NUM_ROWS, _FILE_ROW_GROUPS) else bytes(footer[value:scanner.at])
        fields.append((last, bytes(footer[header:value]), kept))
    if scanner.at != len(footer):
        raise SpliceError(f"{name}: bytes after its footer's end")
    if not {_FILE_NUM_ROWS, _FILE_ROW_GROUPS} <= {field for field, _, _ in fields}:
        raise SpliceError(f"{name}: its footer has no row count or row groups")
    return Frame(tuple(fields)), tuple(groups)


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
    """One Parquet file to splice: its body (the bytes between ``PAR1`` and its footer), its frame and its row
    groups' templates."""

    body: memoryview
    frame: Frame
    groups: tuple[GroupTemplate, ...]

    @classmethod
    def of(cls, data: bytes | memoryview, name: str = "a part") -> "Part":
        view = memoryview(data)
        if len(view) < 12 or view[:4] != MAGIC:
            raise SpliceError(f"{name} is not a Parquet file (no PAR1 at its start)")
        start, _ = footer_span(len(view), bytes(view[-8:]), name)
        frame, groups = read_footer(view[start:-8], name)
        return cls(view[4:start], frame, groups)


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


def spliced_tail(frame: Frame, pieces: Iterable[tuple[int, Iterable[GroupTemplate]]]) -> bytes:
    """What follows the bodies of a spliced file: its footer, its length and ``PAR1``.  The footer is ``frame``'s
    fields with the row groups of ``pieces`` (each its body's length and its templates; the bodies one after the
    other after ``PAR1``), each placed where its body lands, and their rows counted."""
    at, groups, rows = len(MAGIC), [], 0
    for length, templates in pieces:
        for template in templates:
            groups.append(template.at(at))
            rows += template.rows
        at += length
    footer = bytearray()
    for field, header, value in frame.fields:
        footer += header
        if field == _FILE_NUM_ROWS:
            _varint(footer, rows << 1)
        elif field == _FILE_ROW_GROUPS:
            footer += _list_header(len(groups), _STRUCT)
            footer += b"".join(groups)
        else:
            footer += value
    footer.append(_STOP)
    return bytes(footer) + struct.pack("<i", len(footer)) + MAGIC


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
    sink.write(tail)
    return at + len(tail)


def pack_templates(templates: Iterable[GroupTemplate]) -> bytes:
    """Templates as bytes, one after the other (:func:`unpack_templates`): what a build keeps of a group's file."""
    out = bytearray()
    for template in templates:
        data = template.to_bytes()
        _varint(out, len(data))
        out += data
    return bytes(out)


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
