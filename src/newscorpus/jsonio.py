"""Reading JSON strictly and writing files atomically: the file-system edge.

Strict reading turns every way a contribution can be broken (not JSON,
duplicate keys, NaN, absurd integers, absurd nesting, absurd size) into a
:class:`~newscorpus.problems.Problem` instead of a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import math
import os
import re
import stat
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import orjson

from newscorpus.errors import naming
from newscorpus.problems import Problem

#: Largest JSON document newscorpus reads (an annotation document of a very long article).
MAX_JSON_BYTES = 64 * 1024 * 1024
#: More digits than any offset or count.
MAX_INT_DIGITS = 18


class _Rejected(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    """One JSON object; a key given twice is rejected (the object is built in C, the loop runs only then)."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Rejected("json-duplicate-key", f"key {key!r} appears twice in one object")
            seen.add(key)
    return value


def _constant(name: str) -> float:
    raise _Rejected("json-constant", f"{name} is not a JSON value")


def _float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _Rejected("json-number-too-large", f"number {literal[:40]} is too large for a float")
    return value


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _Rejected("json-number-too-large", f"integer with {len(digits)} digits")
    return int(digits)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether a string (or key) of ``value`` holds a lone UTF-16 surrogate (:func:`_located` says where)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not _encodable(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def parse_json(text: str, file: str, *, line_offset: int = 0) -> tuple[Any, list[Problem]]:
    """Parse ``text`` strictly; return ``(value, [])`` or ``(None, [problem])``.

    Most texts are valid: orjson parses them, and :func:`_plain_value` makes
    sure the strict parser would have given the same value.  Anything else
    goes to the strict parser (:func:`parse_json_strict`), which says what is
    wrong.

    >>> parse_json('{"a": 1, "a": 2}', "x.json")[1][0].code
    'json-duplicate-key'
    """
    value = _plain_value(text)
    if value is _UNSURE:
        return parse_json_strict(text, file, line_offset=line_offset)
    return value, []


_UNSURE = object()
#: ASCII digits to ``0``, every other byte to ``x``: a run of ``MAX_INT_DIGITS + 1`` zeros is a long number.
_DIGITS_TO_ZERO = bytes(48 if 48 <= byte < 58 else 120 for byte in range(256))
_LONG_NUMBER = b"0" * (MAX_INT_DIGITS + 1)


def _plain_value(text: str) -> Any:
    """orjson's value of ``text`` when the strict parser is sure to give the same one, else ``_UNSURE``.

    orjson rejects what the strict parser rejects (NaN, infinite numbers, lone
    surrogates, control characters, invalid JSON) except three things,
    checked here at C speed, without walking the value:

    * a key given twice (orjson keeps the last): outside strings, a colon
      separates a key from its value, so ``text`` holds as many colons as keys
      plus those inside its strings, and orjson's serialisation of the value
      (which writes every colon as it is) holds as many exactly when no key
      was dropped.  A colon written as an escape (``\\u003a``) is not counted
      in ``text``, so such texts are left to the strict parser;
    * an integer of more than :data:`MAX_INT_DIGITS` digits (orjson makes a
      float of one beyond 64 bits): any run of that many ASCII digits, even in
      a string, sends the text to the strict parser;
    * nesting deeper than the strict parser can follow (Python's recursion
      limit, about 1,000 levels less the caller's frames): orjson reads 1,024
      levels but writes only 254, so a deeper value is left to the strict parser.
    """
    try:
        value = orjson.loads(text)
        written = orjson.dumps(value)
    except orjson.JSONDecodeError:
        return _UNSURE
    except TypeError:  # orjson.dumps refuses a value nested deeper than 254 levels
        return _UNSURE
    data = text.encode("utf-8")  # (a colon, a backslash and a digit are one byte in UTF-8, and no other character's bytes hold one)
    suspect = _suspect_in_numpy if NUMPY_FROM <= len(data) < NUMPY_UP_TO else _suspect
    return _UNSURE if suspect(data, written) else value


#: Texts of at least ``NUMPY_FROM`` bytes and fewer than ``NUMPY_UP_TO`` are checked with numpy
#: (:func:`_suspect_in_numpy`), the others with bytes' methods (:func:`_suspect`): quicker on a few hundred bytes
#: (a manifest's line), and holding one copy of a text, where numpy's positions of its digits take 8 bytes each (a
#: text of 64 MB of digits would have taken over 1 GB).  An annotation document of 45 KB: 0.47 ms parsed and
#: checked with numpy, 0.56 with bytes' methods, of which orjson's parse 0.22.
NUMPY_FROM, NUMPY_UP_TO = 4096, 1 << 20


def _suspect(data: bytes, written: bytes) -> bool:
    """Whether the UTF-8 ``data`` may hold what orjson takes where the strict parser would not (see
    :func:`_plain_value`), ``written`` being orjson's serialisation of its value."""
    return b"\\u003" in data or data.count(b":") != written.count(b":") or _LONG_NUMBER in data.translate(_DIGITS_TO_ZERO)


def _suspect_in_numpy(data: bytes, written: bytes) -> bool:
    """:func:`_suspect`, with numpy: each check is one pass over an array of bytes."""
    import numpy as np

    at = np.frombuffer(data, dtype=np.uint8)
    if np.count_nonzero(at == ord(":")) != np.count_nonzero(np.frombuffer(written, dtype=np.uint8) == ord(":")):
        return True
    slashes = np.flatnonzero(at[:-4] == ord("\\"))  # a "\\u003" escape: the backslash and four bytes after it
    if len(slashes) and ((at[slashes + 1] == ord("u")) & (at[slashes + 2] == ord("0")) & (at[slashes + 3] == ord("0"))
                         & (at[slashes + 4] == ord("3"))).any():
        return True
    digits = np.flatnonzero(at - np.uint8(ord("0")) < 10)  # (bytes below "0" wrap round to 208 and more)
    return len(digits) > MAX_INT_DIGITS and bool((digits[MAX_INT_DIGITS:] - digits[:-MAX_INT_DIGITS] == MAX_INT_DIGITS).any())


def parse_json_strict(text: str, file: str, *, line_offset: int = 0) -> tuple[Any, list[Problem]]:
    """:func:`parse_json` with Python's own parser and hooks only: slower, and the one that names the problem
    (code, line, pointer) when ``text`` is not acceptable."""
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_float,
        )
    except _Rejected as rejected:
        where, at = _located(text, rejected.code)
        line = line_offset + text.count("\n", 0, at) + 1 if at is not None else (line_offset + 1 if line_offset else None)
        return None, [Problem(rejected.code, file, where, rejected.message, line)]
    except json.JSONDecodeError as error:
        return None, [Problem("json-invalid", file, "", error.msg + f" (column {error.colno})", line_offset + error.lineno)]
    except RecursionError:
        return None, [Problem("json-too-deep", file, "", "nested too deep to read", line_offset + 1 if line_offset else None)]
    except ValueError as error:
        return None, [Problem("json-invalid", file, "", str(error), line_offset + 1 if line_offset else None)]
    if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(value):
        where, at = _located(text, "lone-surrogate")
        message = "a \\u escape encodes a lone UTF-16 surrogate, which is not a Unicode character"
        return None, [Problem("json-invalid", file, where, message, line_offset + text.count("\n", 0, at or 0) + 1)]
    return value, []


_TOKEN = re.compile(r"-?(?:0|[1-9][0-9]*)(?:(\.[0-9]+)?([eE][+-]?[0-9]+)?)|NaN|-?Infinity|true|false|null")


def _located(text: str, code: str) -> tuple[str, int | None]:
    """The JSON Pointer and the offset in ``text`` of the first place that gives ``code`` (``json-duplicate-key``: the
    member whose key its object already has; ``json-constant``, ``json-number-too-large``: the value;
    ``lone-surrogate``: the string or key), read as the strict parser reads up to it; ``("", None)`` if not found.
    Only for a text the strict parser refused: a contributor is told where in a document of thousands of lines."""
    from json.decoder import scanstring

    from newscorpus.problems import pointer

    stack: list[list] = []  # per open container: [is object, its keys, the current key or index, expecting a key]

    def path(*more: Any) -> str:
        return pointer(*(frame[2] for frame in stack if frame[2] is not None), *more)

    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char in " \t\n\r:":
            at += 1
        elif char == "{":
            stack.append([True, set(), None, True])
            at += 1
        elif char == "[":
            stack.append([False, None, 0, False])
            at += 1
        elif char in "}]":
            stack.pop()
            at += 1
        elif char == ",":
            frame = stack[-1]
            if frame[0]:
                frame[3] = True
            else:
                frame[2] += 1
            at += 1
        elif char == '"':
            string, after = scanstring(text, at + 1, True)
            frame = stack[-1] if stack else None
            if frame is not None and frame[0] and frame[3]:  # a key
                if code == "json-duplicate-key" and string in frame[1]:
                    frame[2] = None
                    return path(string), at
                if code == "lone-surrogate" and not _encodable(string):
                    frame[2] = None
                    return path(), at
                frame[1].add(string)
                frame[2], frame[3] = string, False
            elif code == "lone-surrogate" and not _encodable(string):
                return path(), at
            at = after
        else:
            token = _TOKEN.match(text, at)
            if token is None:
                return "", None
            literal = token.group()
            if code == "json-constant" and literal.lstrip("-") in ("NaN", "Infinity"):
                return path(), at
            if code == "json-number-too-large" and literal[-1:].isdigit():
                integer = token.group(1) is None and token.group(2) is None
                if (len(literal.lstrip("-")) > MAX_INT_DIGITS) if integer else math.isinf(float(literal)):
                    return path(), at
            at = token.end()
    return "", None


def _encodable(string: str) -> bool:
    try:
        string.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading in binary, refusing anything but a regular file (symlinks, FIFOs, devices).

    Raises :class:`NotRegularFile` or :class:`OSError`.  A FIFO is opened
    without blocking, so a contribution holding one cannot hang a reader.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"not a regular file ({_kind(mode)})")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """The bytes of an open file, at most ``limit + 1`` of them (one more than ``limit`` says the file is larger).

    Read as far as the file's size now and one byte more (it may have grown since; a pipe's size is 0, so it is read
    up to the limit): asked for ``limit + 1`` bytes
    at once, Python makes room for them first, 64 MB for a document of 45 KB: :func:`read_text` took 68-77 us a
    document (read and decoded, from the page cache), 39-41 this way."""
    size = os.fstat(handle.fileno()).st_size
    data = handle.read(min(size, limit) + 1)
    if size < len(data) <= limit:  # grown since: the rest, up to the limit
        data += handle.read(limit + 1 - len(data))
    return data


class NotRegularFile(Exception):
    """The path is a directory, FIFO, device or socket."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def refusal(path: Path, file: str, error: Exception) -> Problem:
    """The problem for a path :func:`open_regular` refused."""
    if isinstance(error, NotRegularFile):
        code = "file-unreadable" if path.is_dir() else "file-not-regular"
        return Problem(code, file, "", str(error))
    if isinstance(error, OSError) and error.errno == errno.ELOOP and path.is_symlink():  # O_NOFOLLOW met a symlink
        return Problem("file-not-regular", file, "", "a symbolic link; contributions hold regular files only")
    return Problem("file-unreadable", file, "", getattr(error, "strerror", None) or str(error))


def sha256_file(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    """SHA-256 of a regular file's bytes, read in chunks (memory stays small for any size)."""
    digest = hashlib.sha256()
    try:
        with open_regular(path) as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, NotRegularFile) as error:
        return None, [refusal(path, file, error)]
    return digest.hexdigest(), []


def read_text(path: Path, file: str, limit: int | None = None) -> tuple[str | None, list[Problem]]:
    """Read a UTF-8 text file of at most ``limit`` bytes (default :data:`MAX_JSON_BYTES`), or say why not."""
    limit = MAX_JSON_BYTES if limit is None else limit
    try:
        with open_regular(path) as handle:
            data = read_at_most(handle, limit)
    except (OSError, NotRegularFile) as error:
        return None, [refusal(path, file, error)]
    if len(data) > limit:
        return None, [Problem("file-too-large", file, "", f"larger than {limit} bytes")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        return None, [Problem("json-invalid", file, "", f"not UTF-8: byte {error.start} ({error.reason})")]


def load_json(path: Path, file: str | None = None) -> tuple[Any, str | None, list[Problem]]:
    """Read and strictly parse one JSON file: ``(value, text, problems)``."""
    name = file or str(path)
    text, problems = read_text(path, name)
    if text is None:
        return None, None, problems
    value, problems = parse_json(text, name)
    return value, text, problems


def load_jsonl(path: Path, file: str | None = None) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """Read a JSON Lines file: ``([(line, value), ...], problems)``; blank lines are skipped."""
    name = file or str(path)
    text, problems = read_text(path, name)
    if text is None:
        return [], problems
    rows: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value, line_problems = parse_json(line, name, line_offset=number - 1)
        problems.extend(p if p.line else p.at(line=number) for p in line_problems)
        if not line_problems:
            rows.append((number, value))
    return rows, problems


def line_of(text: str, json_pointer: str) -> int | None:
    """1-based line where the value at ``json_pointer`` starts in ``text``, if found.

    Uses json-source-map, which is only called when there is a problem to place; a key that occurs once in the
    document is found without it (:func:`_unique_key_line`: a stale document's ``/article/bodySha256``, 1 ms where
    mapping a document of 200 mentions takes 40).
    """
    found = _unique_key_line(text, json_pointer)
    if found is not None:
        return found
    entries = _source_map(text)
    if entries is None:
        return None
    while True:
        entry = entries.get(json_pointer if json_pointer else "")
        if entry is not None:
            return entry.value_start.line + 1
        if not json_pointer:
            return None
        json_pointer = json_pointer.rsplit("/", 1)[0]


def _unique_key_line(text: str, json_pointer: str) -> int | None:
    """The line of the value at ``json_pointer`` if its last token is a key that the document has once, in one
    object, written as itself; else None (and :func:`line_of` maps the text).

    The key's text ``"key":`` is then found once too: inside a string its quotes would be escaped (``\\"``), so
    ``"key"`` followed by ``:`` is that key (a key written with an escape is not found, and the text is mapped)."""
    tokens = [token.replace("~1", "/").replace("~0", "~") for token in json_pointer.split("/")[1:]]
    if not tokens:
        return None
    parsed = _keys_of(text)
    if parsed is None or parsed[1].get(tokens[-1]) != 1:
        return None
    node: Any = parsed[0]
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and (token == "0" or token[0] != "0") and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    if not (isinstance(node, dict) and tokens[-1] in node):
        return None
    return _key_line(text, tokens[-1])


@lru_cache(maxsize=4)
def _keys_of(text: str) -> tuple[Any, dict[str, int]] | None:
    """``text``'s value and how many times each key occurs in its objects (None if orjson does not parse it)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    counts: dict[str, int] = {}
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                counts[key] = counts.get(key, 0) + 1
                if isinstance(item, (dict, list)):
                    pending.append(item)
        elif isinstance(node, list):
            pending.extend(item for item in node if isinstance(item, (dict, list)))
    return value, counts


@lru_cache(maxsize=64)
def _key_line(text: str, key: str) -> int | None:
    """The line where the value of the one ``"key":`` of ``text`` starts (None unless written once as itself)."""
    written = json.dumps(key, ensure_ascii=False)
    if "\\" in written:  # (a key with a quote, backslash or control character: left to the source map)
        return None
    found = [match.end() for match in itertools.islice(re.finditer(re.escape(written) + r'[ \t\r\n]*:[ \t\r\n]*', text), 2)]
    return text.count("\n", 0, found[0]) + 1 if len(found) == 1 else None


@lru_cache(maxsize=4)
def _source_map(text: str) -> dict | None:
    """json-source-map's pointer table of ``text``, computed once per text (a file with 10,000
    problems is mapped once, not 10,000 times)."""
    from json_source_map import calculate

    try:
        return calculate(text)
    except Exception:  # json-source-map raises its own error types (and RecursionError) on odd input
        return None


def dumps(value: Any) -> str:
    """The one way newscorpus writes JSON: UTF-8, 2-space indent, newline at the end."""
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def dumps_line(value: Any) -> str:
    """One JSON Lines line, keys in their given order."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def umask() -> int:
    """The process's umask, read without changing it: from ``/proc/self/status`` where the system has it (Linux), else
    by setting and restoring it (a moment in which another thread's new file would get the mask 0o022).

    >>> 0 <= umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: Path) -> int:
    """The permission bits a rewrite of ``path`` gets: those it has, else those ``open(path, "w")`` would give it
    (0o666 without the umask's bits)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return 0o666 & ~umask()


@contextmanager
def atomic_path(path: Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    The new file has permission bits ``mode`` if given (a secret: ``0o600``), else those of the file it replaces, else
    those a plain ``open(path, "w")`` would give.  The temporary file is 0o600 (:func:`tempfile.mkstemp`'s) while it
    is written, so a secret is never readable by others, not even for a moment.  On any exception the temporary
    file is removed and ``path`` is untouched.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:  # (a file where the directory should be: "File exists" would puzzle)
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), error.filename) from error
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with naming(path):  # (a full disk fails a write or the fsync, naming no file)
            yield tmp_path
            os.chmod(tmp_path, new_file_mode(path) if mode is None else mode)
            with open(tmp_path, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` atomically, with permission bits ``mode`` (a secret: ``0o600``) or, by default,
    those of the file it replaces or of a new file (see :func:`atomic_path`)."""
    with atomic_path(path, mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, value: Any) -> None:
    """Write ``value`` as newscorpus JSON to ``path`` atomically."""
    write_text_atomic(path, dumps(value))
