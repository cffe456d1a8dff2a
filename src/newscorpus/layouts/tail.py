"""The end of a page: where the article stops, and what each block after it is.

The tail starts at the first line a layout's tail rule matches.  From there,
every line a rule matches opens a block of that kind, and the lines after it
(blank or not) belong to it until the next match.  Every block is recorded as
removed; copyright blocks also give the notice (verbatim, only HTML tags and
character references undone) and URL blocks the article URL (repaired).
"""

from __future__ import annotations

from newscorpus.layouts import Draft, Line
from newscorpus.layouts.cleanup import repair_url, strip_tags, unescape_entities
from newscorpus.layouts.rules import URL_LABEL, RuleSet


def find_start(lines: list[Line], start: int, rules: RuleSet) -> int:
    """Index of the first line at or after ``start`` that a tail rule matches (``len(lines)`` if none)."""
    for index in range(start, len(lines)):
        if lines[index].text.strip() and rules.first(lines[index].text):
            return index
    return len(lines)


def read(lines: list[Line], draft: Draft, rules: RuleSet) -> None:
    """Record every block of the tail ``lines`` as removed; take the copyright notice and the URL."""
    kind: str | None = None
    block: list[Line] = []
    for line in lines:
        matched = rules.first(line.text) if line.text.strip() else None
        if matched is not None:
            _close(kind, block, draft)
            kind, block = matched.kind, [line]
        elif kind is not None:
            block.append(line)
        elif line.text.strip():
            kind, block = "page-furniture", [line]
    _close(kind, block, draft)


def _close(kind: str | None, block: list[Line], draft: Draft) -> None:
    if kind is None or not block:
        return
    draft.remove(kind, block)
    if kind == "copyright":
        notice = "\n".join(unescape_entities(strip_tags(line.text)).strip() for line in block if line.text.strip())
        draft.copyright = notice if draft.copyright is None else draft.copyright + "\n" + notice
    elif kind == "url-line" and draft.url is None:
        _read_url(block, draft)


def _read_url(block: list[Line], draft: Draft) -> None:
    """The URL printed after an "Original url:" label: on its line or the next, maybe broken."""
    pieces: list[Line] = []
    label, rest = block[0], URL_LABEL.sub("", block[0].text.strip())
    candidates = ([Line(label.number, rest)] if rest else []) + [line for line in block[1:] if line.text.strip()]
    for line in candidates:
        text = line.text.strip()
        if not pieces:
            pieces.append(line)
        elif line.number == pieces[-1].number + 1 and " " not in text and not text.lower().startswith("http"):
            pieces.append(line)  # the URL goes on on the next line
        else:
            break
    if not pieces:
        draft.warn("url-unreadable", label.number, "an URL label is printed but no URL follows it")
        return
    url = repair_url("".join(line.text.strip() for line in pieces))
    if url is None:
        draft.warn("url-unreadable", pieces[0].number, f"{pieces[0].text.strip()[:200]!r} is not an http(s) URL")
        return
    draft.url, draft.url_line = url, pieces[0].number
