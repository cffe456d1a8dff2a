"""The top of a page: headline, sub-headlines, byline, date line, dateline, lead captions.

Shared by layouts whose header is a headline followed, in any order, by a
byline (``By AFP``), a printed date (``October 20, 2023``), a dateline and
photo captions, each on its own line.  Lines between the headline and the
first of those are sub-headlines (a standfirst); the first other line after
them starts the body.
"""

from __future__ import annotations

import re

from newscorpus.bylines import parse_byline
from newscorpus.datelines import is_date_line, parse_date_line, parse_dateline
from newscorpus.layouts import Draft, Line
from newscorpus.layouts.cleanup import clean_inline, looks_like_headline
from newscorpus.layouts.rules import CaptionRule, PageRules

#: What separates a byline from a date printed on its line.
_BY_DATE_SEPARATOR = re.compile(r"\s*(?:\||·|•|—|–|\s-|,)\s*")

#: How many non-blank lines after the headline can still belong to the header.
HEADER_LINES = 8
#: How many lines may stand between the headline and the byline or date as sub-headlines.
MAX_SUBHEADLINES = 2
#: Longest sub-headline (standfirst); a longer line is the first paragraph.
MAX_SUBHEADLINE = 300
#: Longest caption text; a longer "caption" is a paragraph that ends in bold.
MAX_CAPTION = 600
#: Most captions an article record holds (the schema's limit).
MAX_CAPTIONS = 100
_CAPTIONS_FULL = f"more than {MAX_CAPTIONS} photo captions; from here on they are kept in the body"
#: Longest picture credit.
MAX_CREDIT = 300


def read_headline(line: Line, draft: Draft) -> bool:
    """Take ``line`` as the headline when it looks like one; say whether it did."""
    text, markup = clean_inline(line.text)
    if not looks_like_headline(text) or parse_byline(text) or is_date_line(text) or parse_dateline(text):
        return False
    draft.headline, draft.headline_line = text, line.number
    draft.remove_chars("markup", line.number, markup)
    return True


def read_caption(line: Line, draft: Draft, rules: list[CaptionRule]) -> bool:
    """Take ``line`` as a photo caption when a caption rule reads it; say whether it did."""
    for caption_rule in rules:
        found = caption_rule.read(line.text)
        if found is None:
            continue
        text, text_markup = clean_inline(found[0])
        credit, credit_markup = clean_inline(found[1]) if found[1] else (None, 0)
        if not text or len(text) > MAX_CAPTION or (credit is not None and len(credit) > MAX_CREDIT):
            continue
        if len(draft.captions) == MAX_CAPTIONS:
            if not any(message == _CAPTIONS_FULL for _, _, message in draft.warnings):
                draft.warn("layout-unexpected", line.number, _CAPTIONS_FULL)
            return False
        wrapper = len("".join(line.text.split())) - len("".join(found[0].split())) - len("".join((found[1] or "").split()))
        draft.captions.append((text, credit or None))
        draft.remove_chars("markup", line.number, text_markup + credit_markup + wrapper)
        return True
    return False


def read(lines: list[Line], start: int, draft: Draft, rules: PageRules) -> int:
    """Read the header from ``lines[start:]`` into ``draft``; return the index where the body starts.

    Site banners above the headline are removed.  The layout's tail and
    inline rules end the header: such a line is never taken for a sub-headline.
    """
    nonblank = [index for index in range(start, len(lines)) if lines[index].text.strip()]
    while nonblank and rules.banners.first(lines[nonblank[0]].text):
        draft.remove("site-banner", [lines[nonblank.pop(0)]])
    if not nonblank:
        return len(lines)
    captions, stop = rules.captions, rules.stop
    if not read_headline(lines[nonblank[0]], draft):
        return nonblank[0]
    pending: list[int] = []
    seen_meta = False
    candidates = nonblank[1:1 + HEADER_LINES]
    body: int | None = None
    for index in candidates:
        line = lines[index]
        text, markup = clean_inline(line.text)
        if text == draft.headline and not pending and not seen_meta:
            draft.remove("repeated-headline", [line])
        elif _read_meta(line, text, markup, draft):
            seen_meta = True
        elif pending or not read_caption(line, draft, captions):
            if (seen_meta or stop.first(line.text) or len(pending) == MAX_SUBHEADLINES
                    or len(text) > MAX_SUBHEADLINE):
                body = index
                break
            pending.append(index)
    if body is None:
        rest = nonblank[1 + len(candidates):]
        body = rest[0] if rest else len(lines)
    if not seen_meta:
        return pending[0] if pending else body
    for sub in pending:
        text, markup = clean_inline(lines[sub].text)
        draft.subheadlines.append(text)
        draft.remove_chars("markup", lines[sub].number, markup)
    return body


def split_dated_byline(by: str) -> tuple[str, str] | None:
    """``(byline, date)`` when a byline also prints the date, else None.

    >>> split_dated_byline("Jane Smith | March 4, 2024")
    ('Jane Smith', 'March 4, 2024')
    >>> split_dated_byline("AFP, Reuters, Oct 20, 2023")
    ('AFP, Reuters', 'Oct 20, 2023')
    >>> split_dated_byline("Jane Smith, Reuters") is None
    True
    """
    for separator in _BY_DATE_SEPARATOR.finditer(by):
        name, when = by[:separator.start()].strip(), by[separator.end():].strip()
        if name and is_date_line(when) and parse_date_line(when) is not None:
            return name, when
    return None


def _read_meta(line: Line, text: str, markup: int, draft: Draft) -> bool:
    """Take a byline, dateline or date line (in that order: a dateline holds a date); say whether ``line`` was one."""
    by = parse_byline(text)
    if by is not None and draft.by is None:
        draft.by = by
        dated = split_dated_byline(by) if draft.date_line is None else None
        if dated is not None:
            draft.by, draft.date_line = dated
            draft.date_line_line = line.number
    elif parse_dateline(text) is not None:
        if draft.dateline is not None:
            return False
        draft.dateline, draft.dateline_line = text, line.number
    elif is_date_line(text):
        if draft.date_line is not None:
            draft.remove("date-line", [line])  # a second date ("Updated: ..."); the first is datePublished
            return True
        draft.date_line, draft.date_line_line = text, line.number
    else:
        return False
    draft.remove_chars("markup", line.number, markup)
    return True
