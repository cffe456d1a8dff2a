"""Any other news page: a headline, then byline, date, dateline and captions in any order, then paragraphs.

The fallback layout: it takes every file no other layout recognises (the
converter then warns ``layout-unknown``).  It reads plain text, hard-wrapped
text, and Markdown or HTML residue (``# Headline``, ``*By Jane Doe*``,
``<b>``, ``&amp;``); a wire dateline opening the first paragraph
(``LONDON (Reuters) -``) becomes the dateline.  The publisher is the host of
the printed URL when there is one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from newscorpus.layouts import Draft
from newscorpus.layouts.page import numbered, read_page
from newscorpus.layouts.rules import (
    CAPTION_RULES,
    COPYRIGHT,
    INLINE_RULES,
    SUBHEADING_RULES,
    URL_LINE,
    PageRules,
    RuleSet,
)

name = "generic"

RULES = PageRules(
    tail=RuleSet([URL_LINE, COPYRIGHT]),
    inline=INLINE_RULES,
    captions=CAPTION_RULES,
    subheadings=SUBHEADING_RULES,
)


def detect(lines: list[str]) -> bool:
    """Every page can be read as a generic one."""
    return True


def parse(lines: list[str]) -> Draft:
    """Read a page of no known layout."""
    draft = read_page(numbered(lines), RULES)
    if draft.url:
        host = urlsplit(draft.url).hostname or ""
        draft.site = host.removeprefix("www.") or None
    return draft
