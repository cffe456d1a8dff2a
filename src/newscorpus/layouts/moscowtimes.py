"""The Moscow Times, as its pages are scraped to text::

    N. Korea's Kim Wants 'Forward-Looking' Ties With Russia     headline
    By AFP                                                       byline ("By Reuters", "By The Moscow Times")
    October 20, 2023                                             printed date (datePublished)
    Lavrov in Pyongyang. **Russian Foreign Ministry Press Service**   caption **credit**
    North Korean leader Kim Jong Un said ...                     body, inter-titles on lines of their own
    Related article: <u>Russian Ships Seen ...</u>               removed (related-article)
    Original url:                                                removed (url-line); the URL, repaired,
    https://www.themoscowtimes.com/2023/10/20/...-a8 2808        becomes the record's uri

Each element stands on its own line between blank lines; a paragraph can
be broken mid-sentence across a blank line (it is joined again).
"""

from __future__ import annotations

import re

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
    rule,
)

name = "moscowtimes"
#: The outlet, as schema.org publisher.name.
SITE = "The Moscow Times"

#: The site's name, tagline and menu, which a scrape can carry above the headline.
_PAGE_CHROME = (
    r"^(?:(?:the\s+)?moscow\s+times|independent news from russia|support the moscow times!?|contribute today"
    r"|my account|sign\s?out|sign\s?in|×|sections|home|ukraine war|news|climate|opinion|business|arts and life"
    r"|regions|podcasts|galleries|newsletters|tmt lecture series|archive|multimedia projects|meanwhile|ru|en)$"
)
RULES = PageRules(
    tail=RuleSet([
        URL_LINE,
        rule("support-appeal", r"^(?:a message from the moscow times\b|support the moscow times\b|contribute today\b)"),
        rule("tags", r"^read more about\s*:"),
        COPYRIGHT,
    ]),
    inline=INLINE_RULES,
    captions=CAPTION_RULES,
    subheadings=SUBHEADING_RULES,
    banners=RuleSet([rule("site-banner", _PAGE_CHROME)]),
)
_MARKS = (
    re.compile(r"themoscowtimes\.com", re.IGNORECASE),
    re.compile(r"^\s*by\s+the\s+moscow\s+times\s*$", re.IGNORECASE),
    re.compile(r"^\s*a message from the moscow times\b", re.IGNORECASE),
)


def detect(lines: list[str]) -> bool:
    """Whether the page names The Moscow Times: its domain, its byline or its appeal to readers."""
    return any(mark.search(line) for line in lines for mark in _MARKS)


def parse(lines: list[str]) -> Draft:
    """Read a Moscow Times page."""
    draft = read_page(numbered(lines), RULES)
    draft.site = SITE
    return draft


