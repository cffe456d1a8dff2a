"""Text cleanup shared by every layout: markup, entities, white space, broken paragraphs, URLs.

Each function maps text to text and says how much markup it removed, so the
caller can record it in ``provenance.removed``.  Nothing here knows a layout.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from html.entities import html5

_HTML_TAGS = (
    "a|abbr|b|big|blockquote|br|cite|code|del|div|em|figcaption|figure|font|h[1-6]|hr|i|img|ins|"
    "li|mark|ol|p|q|s|small|span|strike|strong|sub|sup|tt|u|ul"
)
_TAG = re.compile(rf"</?(?:{_HTML_TAGS})\b(?:\s[^<>]*)?/?>", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\s]*\)")
_MD_LINK = re.compile(r"\[(?P<text>[^\]\n]+)\]\((?:https?://|/|#)[^)\s]*\)")
_MD_STRONG = re.compile(r"(?<![\w*])\*\*(?=\S)(?P<text>.+?)(?<=\S)\*\*(?![\w*])")
_MD_EM = re.compile(r"(?<![\w*])\*(?=[^\s*])(?P<text>[^*]+?)(?<=[^\s*])\*(?![\w*])")
_MD_STRONG_UNDERSCORE = re.compile(r"(?<![\w_])__(?=\S)(?P<text>.+?)(?<=\S)__(?![\w_])")
_MD_EM_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(?P<text>[^_]+?)(?<=[^\s_])_(?![\w_])")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_MD_QUOTE = re.compile(r"^>\s+")
_STRAY_STARS = re.compile(r"\*{2,}")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACE = re.compile(r"[ \t]+")


def _inner_text(match: re.Match[str]) -> str:
    return match["text"]


#: (pattern, a substring every match contains, replacement), applied in this order by :func:`strip_markup`.
_MARKUP = (
    (_COMMENT, "<!--", ""),
    (_TAG, "<", ""),
    (_MD_IMAGE, "](", ""),
    (_MD_LINK, "](", _inner_text),
    (_MD_HEADING, "#", ""),
    (_MD_QUOTE, ">", ""),
    (_MD_STRONG, "**", _inner_text),
    (_MD_STRONG_UNDERSCORE, "__", _inner_text),
    (_MD_EM, "*", _inner_text),
    (_MD_EM_UNDERSCORE, "_", _inner_text),
    (_STRAY_STARS, "**", ""),
)

#: One of these characters is in every needle of :data:`_MARKUP`: a line with none of them has no markup.
_MARKUP_CHARS = "<*_#>]"

#: What may end a sentence or a complete paragraph (closing quotes and brackets included).
_TERMINAL = ".!?…:\"”’')]»"
_OPENERS = "\"“‘'([«"
_CLOSING_QUOTES = "\"”’'»"
_URL = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$")


def strip_markup(text: str) -> tuple[str, int]:
    """``text`` without HTML tags and Markdown emphasis/links, and how many characters went.

    >>> strip_markup("Related article: <u>Ships Seen</u>")
    ('Related article: Ships Seen', 7)
    >>> strip_markup("Lavrov. **Russian Foreign Ministry**")
    ('Lavrov. Russian Foreign Ministry', 4)
    """
    # The characters of _MARKUP_CHARS, written out (six "in" tests are faster than any loop).
    if not ("<" in text or "*" in text or "_" in text or "#" in text or ">" in text or "]" in text):
        return text, 0
    before = len(text)
    # A pattern is tried only when the text holds what every match of it contains.
    for pattern, needle, replacement in _MARKUP:
        if needle in text:
            text = pattern.sub(replacement, text)
    return text, before - len(text)


def strip_tags(text: str) -> str:
    """``text`` without HTML tags and comments (Markdown left alone).

    >>> strip_tags("<p>Lavrov <b>said</b></p>")
    'Lavrov said'
    """
    return _TAG.sub("", _COMMENT.sub("", text))


def unescape_entities(text: str) -> str:
    """Decode HTML character references that end with ``;`` (``&amp;`` -> ``&``).

    References without the semicolon, or naming no entity, are left alone, so
    ``AT&T``, ``R&D`` and ``&notanentity;`` stay as printed.

    >>> unescape_entities("Q&amp;A at AT&T &#8212; &nbsp;ok")
    'Q&A at AT&T — \\xa0ok'
    """
    return _ENTITY.sub(_unescape_one, text) if "&" in text else text


def _unescape_one(match: re.Match[str]) -> str:
    reference = match.group(0)
    if reference[1] == "#" or reference[1:] in html5:
        return html.unescape(reference)
    return reference  # not a whole entity name: html.unescape would read "&notit;" as "¬it;"


def normalise_space(text: str) -> str:
    """Runs of spaces and tabs become one space; ends are stripped.

    >>> normalise_space("  a \\t b  ")
    'a b'
    """
    if "\t" in text or "  " in text:
        text = _SPACE.sub(" ", text)
    return text.strip()


def clean_inline(text: str) -> tuple[str, int]:
    """Markup stripped, entities decoded, white space normalised: ``(text, markup chars removed)``.

    A layout asks this of most lines several times (header, tail rules, inline
    rules, paragraphs), so the answers for lines up to :data:`CACHED_LINE`
    characters are remembered (for the last :data:`CACHED_LINES` lines).
    """
    if len(text) <= CACHED_LINE:
        return _clean_inline_cached(text)
    return _clean_inline(text)


#: Longest line whose :func:`clean_inline` answer is remembered (the memory is then at most a few MB).
CACHED_LINE = 2000
#: How many lines' answers :func:`clean_inline` remembers: every line of a long page.
CACHED_LINES = 2048


def _clean_inline(text: str) -> tuple[str, int]:
    text, removed = strip_markup(text)
    return normalise_space(unescape_entities(text)), removed


_clean_inline_cached = lru_cache(maxsize=CACHED_LINES)(_clean_inline)


def ends_complete(text: str) -> bool:
    """Whether a paragraph ends like a finished sentence (or a quote or an aside).

    >>> ends_complete('he said.'), ends_complete('the KCNA')
    (True, False)
    """
    text = text.rstrip()
    return bool(text) and text[-1] in _TERMINAL


def starts_lowercase(text: str) -> bool:
    """Whether the first letter (after opening quotes or brackets) is lower case.

    >>> starts_lowercase("news agency said"), starts_lowercase("“We oppose")
    (True, False)
    """
    stripped = text.lstrip(_OPENERS + " ")
    return bool(stripped) and stripped[0].islower()


def is_continuation(previous: str, following: str) -> bool:
    """Whether ``following`` continues the sentence ``previous`` leaves unfinished.

    True when ``previous`` does not end a sentence and ``following`` starts in
    lower case, or when ``previous`` ends with a comma (also inside a closing
    quote: ``"We reject this,"``), a semicolon or a hyphen.

    >>> is_continuation('..., the KCNA', 'news agency said, using ...')
    True
    >>> is_continuation('"We reject these claims,"', 'Kremlin spokesman Dmitry Peskov said.')
    True
    >>> is_continuation('Tightening relationship', 'But North Korea ...')
    False
    """
    previous = previous.rstrip()
    if not previous or not following:
        return False
    if previous[-1] in ",;" or previous.rstrip(_CLOSING_QUOTES)[-1:] == ",":
        return True
    if previous[-1] in "-‐" and not previous.endswith(" -"):
        return True
    return not ends_complete(previous) and starts_lowercase(following)


def join_broken(previous: str, following: str) -> str:
    """Join two pieces of one paragraph: with a space, or none after a line-end hyphen.

    >>> join_broken("the KCNA", "news agency said")
    'the KCNA news agency said'
    >>> join_broken("forward-", "looking ties")
    'forward-looking ties'
    """
    previous = previous.rstrip()
    following = following.lstrip()
    if previous.endswith(("-", "‐")) and not previous.endswith(" -") and following[:1].isalnum():
        return previous + following
    return previous + " " + following


def looks_like_subheading(text: str) -> bool:
    """Whether a paragraph of its own is an inter-title ("Weapons transfers").

    Short (at most 10 words, 80 characters), starting with a capital or a
    digit, and not ending like a sentence; a question ("What comes next?")
    counts unless it is quoted speech.

    >>> looks_like_subheading("Weapons transfers"), looks_like_subheading("He left.")
    (True, False)
    >>> looks_like_subheading("What comes next?"), looks_like_subheading('"Why now?"')
    (True, False)
    """
    text = text.strip()
    if not text or len(text) > 80 or len(text.split()) > 10:
        return False
    first = text.lstrip(_OPENERS)[:1]
    if not (first.isupper() or first.isdigit()):
        return False
    if text.endswith("?"):
        return text[0] not in _OPENERS
    return text[-1] not in _TERMINAL + ",;-–—"


def looks_like_headline(text: str) -> bool:
    """Whether a line can be a headline: 1-30 words, at most 250 characters, one sentence.

    >>> looks_like_headline("N. Korea's Kim Wants 'Forward-Looking' Ties With Russia")
    True
    >>> looks_like_headline("He came. He saw. He left after a long day at the office.")
    False
    """
    text = text.strip()
    if not text or len(text) > 250 or len(text.split()) > 30:
        return False
    sentences = re.findall(r"[a-z0-9\"”’')][.!?]\s+[A-Z“\"]", text)
    return len(sentences) == 0 and not _URL.match(text)


def repair_url(text: str) -> str | None:
    """A printed URL with stray white space, wrapping ``<>`` or Markdown link syntax removed.

    Returns None when what is left is not an http(s) URL.

    >>> repair_url("https://www.themoscowtimes.com/2023/10/20/ties-a8 2808")
    'https://www.themoscowtimes.com/2023/10/20/ties-a82808'
    """
    text = text.strip()
    link = re.fullmatch(r"\[[^\]]*\]\((?P<url>[^)]*)\)", text)
    if link:
        text = link["url"]
    text = re.sub(r"\s+", "", text).strip("<>").rstrip(".,;")
    return text if _URL.match(text) else None
