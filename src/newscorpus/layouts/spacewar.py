"""Space Media Network pages: SpaceWar.com, SpaceDaily, TerraDaily and their sister sites::

    Military Space News                          site banner (removed: site-banner)
    NUKEWARS                                     section (articleSection)
    Russia's Lavrov slams 'dangerous' US ...     headline, often printed twice
    Russia's Lavrov slams 'dangerous' US ...     (the repeat is removed: repeated-headline)
    by AFP Staff Writers                         byline ("by Staff Writers", "by Darryl Coote")
    Seoul (AFP) Oct 19, 2023                     dateline: place (agency) date
    <blank>
    Russian Foreign Minister Sergei Lavrov ...   body; "- Weapons transfers -" is an inter-title
    Related Links                                the tail: related-links, newsletter, share-buttons,
    Learn about ... at SpaceWar.com              related-content (teasers of other stories),
    Subscribe Free To Our Daily Newsletters      support-appeal, and the network's copyright
    Tweet                                        notice (copyrightNotice, verbatim)
    RELATED CONTENT
    ...
    The content herein, unless otherwise known to be public domain, are Copyright ...
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from newscorpus.bylines import parse_byline
from newscorpus.datelines import parse_dateline
from newscorpus.layouts import Draft, Line, header
from newscorpus.layouts.cleanup import clean_inline, looks_like_headline
from newscorpus.layouts.page import numbered, read_rest
from newscorpus.layouts.rules import (
    CAPTION_RULES,
    COPYRIGHT,
    INLINE_RULES,
    SUBHEADING_RULES,
    URL_LINE,
    CaptionRule,
    PageRules,
    RuleSet,
    rule,
)

name = "spacewar"
#: The publisher when the page does not say which site of the network it is from.
NETWORK = "Space Media Network"
#: Site banners and the site each one heads; a page under another banner is credited to the network
#: unless its manifest entry names the site.
BANNERS = {"Military Space News": "SpaceWar.com"}
#: How many non-blank lines from the top the dateline may be.
HEADER_LINES = 15
#: How many lines the site banner above the section may take.
MAX_BANNER_LINES = 4

_COPYRIGHT_NOTICE = r"^the content herein, unless otherwise known to be public domain"
RULES = PageRules(
    tail=RuleSet([
        rule("related-links", r"^related links$"),
        rule("newsletter", r"^subscribe free to our daily newsletters$"),
        rule("share-buttons", r"^(?:tweet|share|email this article|comment on this article)$"),
        rule("related-content", r"^related content$"),
        rule("support-appeal", r"^thanks for being (?:here|there)\b"),
        rule("copyright", _COPYRIGHT_NOTICE),
        COPYRIGHT,
        URL_LINE,
    ]),
    inline=INLINE_RULES,
    captions=[
        # "illustration only", "File image of a Hwasong-17 launch." under the picture
        CaptionRule(re.compile(
            r"^(?P<text>(?:file|stock)\s+(?:image|photo|picture|illustration)\b.*|illustration\s+only\.?)$",
            re.IGNORECASE,
        )),
        *CAPTION_RULES,
    ],
    subheadings=SUBHEADING_RULES,
)
_SECTION = re.compile(r"^[A-Z0-9][A-Z0-9 &/'.,-]{1,59}$")
_NOTICE = re.compile(_COPYRIGHT_NOTICE + r".*space media network", re.IGNORECASE)


@dataclass(frozen=True)
class _Header:
    """Indices (into the numbered lines) of the header's parts."""

    banner: list[int]
    section: int | None
    headline: int
    repeats: list[int]
    byline: int | None
    dateline: int


def _find_header(lines: list[str]) -> _Header | None:
    """The banner / SECTION / headline (x2) / by-line / dateline stack at the top, if there is one.

    ``lines`` are the raw lines; the indices returned are theirs (and the numbered lines').
    """
    nonblank = list(itertools.islice((index for index, line in enumerate(lines) if line.strip()), HEADER_LINES))
    for position, index in enumerate(nonblank):
        if parse_dateline(lines[index]) is None:
            continue
        before = nonblank[:position]
        byline = before.pop() if before and parse_byline(lines[before[-1]]) else None
        if not before or not looks_like_headline(clean_inline(lines[before[-1]])[0]):
            return None
        headline = before.pop()
        repeats: list[int] = []
        while before and lines[before[-1]].strip() == lines[headline].strip():
            repeats.insert(0, headline)
            headline = before.pop()
        section = before.pop() if before and _is_section(lines[before[-1]]) else None
        if len(before) > MAX_BANNER_LINES or any(len(lines[i].strip()) > 100 for i in before):
            return None  # prose above the headline: this is not a page header
        return _Header(before, section, headline, repeats, byline, index)
    return None


def _is_section(text: str) -> bool:
    text = text.strip()
    return bool(_SECTION.match(text)) and sum(c.isalpha() for c in text) >= 2


def detect(lines: list[str]) -> bool:
    """Whether the page has the network's header stack or its copyright notice.

    A headline over a dateline alone is not enough (other outlets print that
    too): the stack must also have a by-line, a SECTION line or the repeated headline.
    """
    found = _find_header(lines)
    if found is not None and (found.byline is not None or found.section is not None or found.repeats):
        return True
    return any(_NOTICE.match(line.strip()) for line in lines)


def parse(lines: list[str]) -> Draft:
    """Read a Space Media Network page."""
    page = numbered(lines)
    draft = Draft()
    found = _find_header(lines)
    if found is None:
        draft.warn("layout-unexpected", 1, "no Space Media Network header (headline, by-line, dateline) at the top; read it as a plain page")
        start = header.read(page, 0, draft, RULES)
    else:
        start = _read_header(page, found, draft)
    read_rest(page, start, draft, RULES)
    banner = " ".join(page[index].text.strip() for index in found.banner) if found else ""
    draft.site = BANNERS.get(banner, NETWORK)
    return draft


def _read_header(lines: list[Line], found: _Header, draft: Draft) -> int:
    if found.banner:
        draft.remove("site-banner", lines[found.banner[0]:found.banner[-1] + 1])
    if found.section is not None:
        draft.section = lines[found.section].text.strip()
    header.read_headline(lines[found.headline], draft)
    for index in found.repeats:
        draft.remove("repeated-headline", [lines[index]])
    if found.byline is not None:
        text, markup = clean_inline(lines[found.byline].text)
        draft.by = parse_byline(text)
        draft.remove_chars("markup", lines[found.byline].number, markup)
    draft.dateline = lines[found.dateline].text.strip()
    draft.dateline_line = lines[found.dateline].number
    return found.dateline + 1

