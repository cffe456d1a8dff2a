"""Raw files to article records (``schema/article.schema.json``).

::

    raw bytes --rawtext--> lines --layouts (table)--> Draft --assemble--> article record

The conversion is pure and deterministic: the same bytes and manifest entry
always give the same record, byte for byte once dumped.  A file that cannot
be converted gives no record and problems naming it; warnings never stop a
record.  Every block of raw text left out of the record is listed in
``provenance.removed``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from types import ModuleType

import newscorpus
from newscorpus import SCHEMA_VERSION, layouts, rawtext
from newscorpus.bylines import agency_key, credited_agencies
from newscorpus.datelines import Dateline, parse_date_line, prints_year, read_dateline
from newscorpus.jsonio import read_at_most
from newscorpus.layouts import Draft
from newscorpus.problems import Problem
from newscorpus.schemas import schema_problems

#: Largest raw file converted.  A news article is a few hundred KiB at most.
MAX_RAW_BYTES = 8 * 1024 * 1024
#: publisher.name when neither the manifest nor the page names the outlet.
UNKNOWN_PUBLISHER = "unknown"
#: Longest copyright notice kept (the schema's limit).
MAX_NOTICE = 20000


def convert_path(path: Path, *, file: str | None = None, entry: dict | None = None) -> tuple[dict | None, list[Problem]]:
    """Convert the raw file at ``path``; ``file`` is how problems and provenance name it.

    At most :data:`MAX_RAW_BYTES` + 1 bytes are ever read: a larger file is
    rejected as ``raw-too-large`` without being read whole.
    """
    name = file if file is not None else str(path)
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_RAW_BYTES:
                return None, [_too_large(name, info.st_size)]
            raw = read_at_most(handle, MAX_RAW_BYTES)
    except OSError as error:
        return None, [Problem("file-unreadable", name, "", error.strerror or str(error))]
    return convert_bytes(raw, file=name, entry=entry)


def convert_bytes(raw: bytes, *, file: str, entry: dict | None = None) -> tuple[dict | None, list[Problem]]:
    """The article record of one raw file (or None) and the problems met converting it.

    ``entry`` is the file's manifest line (id, outlet, url, rights, optional
    layout and language).  Without it the id is ``raw-`` + the first 16 hex
    digits of the bytes' SHA-256, the publisher and URL come from the page,
    usageTerms is null and the language English.
    """
    entry = entry if isinstance(entry, dict) else {}
    if len(raw) > MAX_RAW_BYTES:
        return None, [_too_large(file, len(raw))]
    sha256 = hashlib.sha256(raw).hexdigest()
    problems: list[Problem] = []
    expected = entry.get("sha256")
    if isinstance(expected, str) and expected != sha256:
        problems.append(Problem(
            "raw-sha-mismatch", file, "",
            f"the bytes' sha256 is {sha256}, the manifest says {expected}: the raw file changed",
        ))
    text, found = rawtext.read_text(raw, file)
    problems.extend(found)
    if text is None:
        return None, problems
    layout, found = choose_layout(text.lines, entry, file)
    problems.extend(found)
    if layout is None:
        return None, problems
    draft = layout.parse(text.lines)
    for line, count in text.dropped:
        draft.remove_chars("control-characters", line, count)
    record, found = assemble(draft, text.lines, layout=layout.name, file=file, sha256=sha256,
                             encoding=text.encoding, entry=entry)
    problems.extend(found)
    return record, problems


def choose_layout(lines: list[str], entry: dict, file: str) -> tuple[ModuleType | None, list[Problem]]:
    """The layout that parses ``lines``: the entry's ``layout``, else the first that detects them."""
    forced = entry.get("layout")
    if forced is not None:
        layout = layouts.by_name(forced) if isinstance(forced, str) else None
        if layout is None:
            known = ", ".join(layout.name for layout in layouts.LAYOUTS)
            return None, [Problem("layout-invalid", file, "", f"the manifest asks for layout {forced!r}; known layouts: {known}")]
        return layout, []
    layout = layouts.detect(lines)
    if layout is not None:
        return layout, []
    return layouts.FALLBACK, [Problem(
        "layout-unknown", file, "",
        f"no layout parser recognised {file}; it was read with the {layouts.FALLBACK.name} parser",
        severity="warning",
    )]


def assemble(draft: Draft, lines: list[str], *, layout: str, file: str, sha256: str, encoding: str,
             entry: dict) -> tuple[dict | None, list[Problem]]:
    """The article record a :class:`~newscorpus.layouts.Draft` describes, validated against the schema."""
    problems = [Problem(code, file, "", message, line, "warning") for code, line, message in draft.warnings]
    if draft.headline is None:
        first = next((number for number, text in enumerate(lines, start=1) if text.strip()), None)
        problems.append(Problem("headline-missing", file, "", "no line at the top reads as a headline", first))
        return None, problems
    if not draft.paragraphs:
        problems.append(Problem("body-empty", file, "", "nothing is left of the body once boilerplate is removed", draft.headline_line))
        return None, problems

    published = None
    if draft.date_line is not None:
        published = parse_date_line(draft.date_line)
        if published is None and draft.date_line_line is not None:
            problems.append(Problem("date-unparsed", file, "", f"cannot read the date {draft.date_line!r}", draft.date_line_line, "warning"))
            draft.remove_chars("date-line", draft.date_line_line, len(lines[draft.date_line_line - 1]))
    dateline = read_dateline(draft.dateline, published) if draft.dateline else None
    if dateline is not None and dateline.date is None and dateline.date_text and prints_year(dateline.date_text):
        problems.append(Problem("date-unparsed", file, "", f"the dateline's date {dateline.date_text!r} is not a real date", draft.dateline_line, "warning"))

    publisher = _text(entry, "outlet") or draft.site
    if publisher is None:
        publisher = UNKNOWN_PUBLISHER
        problems.append(Problem("publisher-unknown", file, "", "give the outlet in the manifest", severity="warning"))
    uri = _text(entry, "url")
    if uri is None:
        uri = draft.url
    elif draft.url is not None and draft.url != uri:
        problems.append(Problem(
            "url-mismatch", file, "", f"the page prints {draft.url} but the manifest says {uri}", draft.url_line, "warning",
        ))
    copyright_notice = draft.copyright
    if copyright_notice is not None and len(copyright_notice) > MAX_NOTICE:
        problems.append(Problem("layout-unexpected", file, "", f"a copyright notice of {len(copyright_notice)} characters was not kept", severity="warning"))
        copyright_notice = None

    body_text, paragraphs = _body(draft.paragraphs)
    date_published = published or (dateline.date if dateline is not None else None)
    record = {
        "schemaVersion": SCHEMA_VERSION,
        "id": _text(entry, "id") or f"raw-{sha256[:16]}",
        "uri": uri,
        "headlines": [{"role": "main", "value": draft.headline}]
        + [{"role": "sub", "value": sub} for sub in draft.subheadlines],
        "by": draft.by,
        "infoSources": _info_sources(dateline, draft.by, publisher),
        "dateline": _dateline(dateline),
        "located": dateline.located if dateline is not None else None,
        "datePublished": date_published.isoformat() if date_published else None,
        "language": _text(entry, "language") or "en",
        "publisher": {"name": publisher},
        "articleSection": draft.section,
        "body": {"text": body_text, "paragraphs": paragraphs},
        "captions": [{"text": text, "credit": credit} for text, credit in draft.captions],
        "copyrightNotice": copyright_notice,
        "usageTerms": _text(entry, "rights"),
        "provenance": {
            "rawFile": file,
            "sha256": sha256,
            "encoding": encoding,
            "layout": layout,
            "converter": {"name": "newscorpus", "version": newscorpus.CONVERTER_VERSION},
            "removed": [
                {"kind": kind, "line": line, "chars": chars}
                for kind, line, chars in sorted(draft.removed, key=lambda r: (r[1], r[0], r[2]))
            ],
        },
    }
    invalid = list(schema_problems(record, "article", file))
    if invalid:
        return None, problems + invalid
    return record, problems


def _body(paragraphs: list[tuple[str, str]]) -> tuple[str, list[dict]]:
    """Body text (paragraphs joined by a blank line) and each paragraph's code point offsets."""
    spans = []
    offset = 0
    for text, role in paragraphs:
        spans.append({"start": offset, "end": offset + len(text), "role": role})
        offset += len(text) + 2
    return "\n\n".join(text for text, _ in paragraphs), spans


def _info_sources(dateline: Dateline | None, by: str | None, publisher: str) -> list[dict]:
    """The wire agencies the dateline and byline credit (each agency once, as first printed), then the publisher."""
    wires: dict[str, str] = {}
    if dateline is not None and dateline.agency:
        wires[agency_key(dateline.agency) or dateline.agency] = dateline.agency
    for agency in credited_agencies(by):
        wires.setdefault(agency_key(agency) or agency, agency)
    return [{"name": name, "role": "wire"} for name in wires.values()] + [{"name": publisher, "role": "publisher"}]


def _dateline(dateline: Dateline | None) -> dict | None:
    if dateline is None:
        return None
    return {
        "text": dateline.text,
        "located": dateline.located,
        "agency": dateline.agency,
        "date": dateline.date.isoformat() if dateline.date else None,
    }


def _text(entry: dict, key: str) -> str | None:
    """A non-empty string field of the manifest entry, or None."""
    value = entry.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _too_large(file: str, size: int) -> Problem:
    return Problem(
        "raw-too-large", file, "",
        f"{size} bytes; no news article is larger than {MAX_RAW_BYTES} bytes ({MAX_RAW_BYTES // (1024 * 1024)} MiB)",
    )

