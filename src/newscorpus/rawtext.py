"""Raw bytes to clean text: decoding, line ends, NFC, control characters.

Decoding tries UTF-8 first (a byte order mark is dropped and the encoding
recorded as ``utf-8-sig``), then charset-normalizer's best guess among the
single-byte encodings the article schema records (cp1252, latin-1), so that
cp1252 smart quotes ``b"\\x93...\\x94"`` come out as ``“...”``.  Text in any
other encoding (UTF-16, cp1251, Shift JIS...) is refused with a message
saying what it looks like, rather than turned into mojibake.

Line ends (``\\r\\n``, lone ``\\r``) become ``\\n``; the text is normalised to
NFC; control characters other than newline and tab (and stray byte order
marks) are dropped, and each line that lost some says how many.  Vertical
tab, form feed, NEL and the Unicode line and paragraph separators become a
space instead, so that the words they stood between stay apart (and no
reader splitting lines with ``str.splitlines`` breaks a record in two).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from newscorpus.problems import Problem

#: Single-byte encodings newscorpus falls back to, as charset-normalizer and the article schema name them.
FALLBACK_ENCODINGS = {"cp1252": "cp1252", "latin_1": "latin-1"}
_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16",
}
#: C0 control bytes that never occur in text (all but tab, newline, vertical tab, form feed, return, escape).
_BINARY_BYTES = bytes([*range(0x00, 0x09), *range(0x0e, 0x1b), *range(0x1c, 0x20), 0x7f])
#: Controls and separators that stand between words: they become a space.
_SPACED = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")
#: Other control characters (and stray byte order marks): dropped.
_DROPPED = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff]")
#: The ASCII characters either pattern finds, as bytes.
_ASCII_CONTROLS = bytes(code for code in range(128) if _SPACED.match(chr(code)) or _DROPPED.match(chr(code)))
#: The C1 controls (U+0080-U+009F) in UTF-8, and the UTF-8 of the other non-ASCII characters either pattern finds.
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_OTHER_UTF8 = tuple(character.encode("utf-8") for character in "\u2028\u2029\ufeff")


@dataclass
class RawText:
    """Decoded, normalised text of one raw file."""

    lines: list[str]
    encoding: str
    #: ``(line, how many characters were dropped)`` for each line that lost control characters.
    dropped: list[tuple[int, int]] = field(default_factory=list)


def line_of_byte(raw: bytes, offset: int) -> int:
    """1-based line of the byte at ``offset`` (counting ``\\n``, ``\\r\\n`` and lone ``\\r``).

    >>> line_of_byte(b"a\\r\\nb\\rc", 5)
    3
    """
    head = raw[:offset]
    return head.count(b"\n") + head.replace(b"\r\n", b"\n").count(b"\r") + 1


def _wide_encoding(raw: bytes) -> str | None:
    """``"UTF-16 LE"``, ``"UTF-16 BE"``, ``"UTF-32 LE"`` or ``"UTF-32 BE"`` when the first 4 KiB of ``raw`` decode in it
    as mostly ASCII text, 16 characters or more (as a scrape saved by a Windows tool without a byte order mark), else
    None: binary data also holds NUL bytes, but not at one place of every 2- or 4-byte unit, nor decoding to
    printable text, and UTF-8 text with a stray NUL decodes to CJK characters (two ASCII bytes a unit).

    >>> _wide_encoding("Headline\\n\\nBody text.\\n".encode("utf-16-le")), _wide_encoding(b"\\x00\\x01\\x02PK\\x03\\x04" * 50)
    ('UTF-16 LE', None)
    """
    head = raw[:4096]
    for unit, codec, name in ((4, "utf-32-le", "UTF-32 LE"), (4, "utf-32-be", "UTF-32 BE"),
                              (2, "utf-16-le", "UTF-16 LE"), (2, "utf-16-be", "UTF-16 BE")):
        try:
            text = head[:len(head) - len(head) % unit].decode(codec)
        except UnicodeDecodeError:
            continue
        readable = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r")
        if len(text) >= 16 and readable >= 0.95 * len(text) and sum(1 for ch in text if ch.isascii()) >= 0.8 * len(text):
            return name
    return None


def decode(raw: bytes, file: str) -> tuple[str | None, str | None, list[Problem]]:
    """``(text, encoding, problems)``; text is None when the bytes are not text newscorpus reads."""
    for bom, name in _BOMS.items():
        if raw.startswith(bom):
            return None, None, [Problem(
                "raw-undecodable", file, "",
                f"the file is {name} text (it starts with a {name} byte order mark); re-save it as UTF-8", 1,
            )]
    nul = raw.find(b"\x00")
    wide = _wide_encoding(raw) if nul >= 0 else None
    if wide is not None:
        return None, None, [Problem(
            "raw-undecodable", file, "",
            f"the file looks like {wide} text without a byte order mark (a NUL byte beside each ASCII character); "
            "re-save it as UTF-8", 1,
        )]
    if nul >= 0:
        return None, None, [Problem(
            "raw-binary", file, "", f"NUL byte at offset {nul}: this is binary data, not a text article",
            line_of_byte(raw, nul),
        )]
    head = raw[:65536]
    binary = len(head) - len(head.translate(None, _BINARY_BYTES))
    if binary > max(8, len(head) // 100):
        return None, None, [Problem(
            "raw-binary", file, "", f"{binary} control bytes in the first 64 KiB: this is binary data, not text",
        )]
    try:
        if raw.startswith(b"\xef\xbb\xbf"):
            return raw[3:].decode("utf-8"), "utf-8-sig", []
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as error:
        bad = error.start
    from charset_normalizer import from_bytes  # (for the few files that are not UTF-8: its import is 14 ms)

    best = from_bytes(raw, cp_isolation=list(FALLBACK_ENCODINGS)).best()
    if best is None or best.encoding not in FALLBACK_ENCODINGS:
        guess = from_bytes(raw).best()
        looks = f"it looks like {guess.encoding}" if guess is not None else "no encoding fits it"
        return None, None, [Problem(
            "raw-undecodable", file, "",
            f"not UTF-8 (byte {bad}) nor Western European text ({looks}); re-save it as UTF-8",
            line_of_byte(raw, bad),
        )]
    encoding = FALLBACK_ENCODINGS[best.encoding]
    return raw.decode(encoding), encoding, [Problem(
        "raw-encoding-fallback", file, "",
        f"not UTF-8 (byte {bad}); decoded as {encoding}, charset-normalizer's best guess",
        line_of_byte(raw, bad), "warning",
    )]


def normalise(text: str, encoding: str) -> RawText:
    """Line ends to ``\\n``, control characters dropped (newline and tab kept), NFC."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _is_clean(text):
        return RawText(text.split("\n"), encoding, [])
    lines = text.split("\n")
    dropped: list[tuple[int, int]] = []
    for index, line in enumerate(lines):
        clean, spaced = _SPACED.subn(" ", line)
        clean, count = _DROPPED.subn("", clean)
        if count + spaced:
            dropped.append((index + 1, count + spaced))
        lines[index] = unicodedata.normalize("NFC", clean)
    return RawText(lines, encoding, dropped)


def _is_clean(text: str) -> bool:
    """Whether :func:`normalise` would change no line of ``text`` (its line ends already ``\\n``).

    "\\n" never combines with a neighbour, so the lines are NFC exactly when the
    whole text is.  The characters either pattern finds are looked for in the
    UTF-8 bytes, which is much faster than a regular expression over the
    text: ASCII ones by deleting them, the others by their byte sequences
    (UTF-8 never shows one inside another character).  ASCII text is NFC.
    """
    data = text.encode("utf-8", "surrogatepass")
    if len(data.translate(None, _ASCII_CONTROLS)) != len(data):
        return False
    if len(data) == len(text):
        return True
    if _C1_UTF8.search(data) is not None or any(sequence in data for sequence in _OTHER_UTF8):
        return False
    return unicodedata.is_normalized("NFC", text)


def read_text(raw: bytes, file: str) -> tuple[RawText | None, list[Problem]]:
    """Decode and normalise ``raw``: ``(text, problems)``, text None when unreadable or empty."""
    text, encoding, problems = decode(raw, file)
    if text is None or encoding is None:
        return None, problems
    if not text.strip():
        what = "empty" if not raw else "only white space"
        return None, problems + [Problem("raw-empty", file, "", f"the file is {what}")]
    result = normalise(text, encoding)
    if result.dropped:
        total = sum(count for _, count in result.dropped)
        problems.append(Problem(
            "raw-control-characters", file, "",
            f"{total} control character(s) on {len(result.dropped)} line(s) removed",
            result.dropped[0][0], "warning",
        ))
    if not any(line.strip() for line in result.lines):
        return None, problems + [Problem("raw-empty", file, "", "the file holds only control characters and white space")]
    return result, problems
