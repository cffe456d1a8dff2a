"""Line rules: what a line of a raw page is, as tables of patterns.

A layout is mostly a choice of rules.  Three kinds:

* :class:`Rule` names a kind of boilerplate line (``related-article``,
  ``copyright``...).  *Inline* rules remove one line and the body goes on;
  *tail* rules mark where the article ends and name each block after it.
* :class:`CaptionRule` reads a photo caption and its credit.
* :class:`SubheadingRule` reads an explicitly marked inter-title (``- X -``,
  ``## X``).

Boilerplate rules match the line once markup is stripped (``<p>Related
article: <u>...</u></p>`` is a related-article line); caption and subheading
rules see the markup, which is often what marks them.

Every line of a page meets several of these tables, so they are built to be
cheap without changing what they accept: a layout's boilerplate rules are a
:class:`RuleSet` (one compiled alternation), and a rule can carry a quick
test that turns away lines its pattern could never match (``hint``,
``ends``, ``starts``).  ``tests/test_convert_shortcuts.py`` checks each
shortcut against trying the patterns one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from newscorpus.layouts.cleanup import clean_inline, strip_tags


@dataclass(frozen=True)
class Rule:
    """A kind of boilerplate line and the pattern that finds it.

    ``hint``, when given, is a cheap test that every line the pattern matches
    passes (``copyright`` lines start with a mark or end "reserved"): a line
    failing it is not tried against a costly pattern.  It must never reject
    a line the pattern would match.
    """

    kind: str
    pattern: re.Pattern[str]
    hint: Callable[[str], bool] | None = None

    def matches(self, text: str) -> bool:
        """Whether the line ``text`` (markup stripped) is of this kind."""
        plain = clean_inline(text)[0]
        return (self.hint is None or self.hint(plain)) and bool(self.pattern.match(plain))


@dataclass(frozen=True)
class CaptionRule:
    """A photo caption line: the pattern's groups ``text`` and (optional) ``credit``.

    ``ends``, when given, lists what every line the pattern matches ends with
    (``"**"`` for a pattern ending ``\\*\\*$``): a line ending otherwise is not
    tried, which spares the pattern most body paragraphs.  It must never
    reject a line the pattern would match.
    """

    pattern: re.Pattern[str]
    ends: tuple[str, ...] | None = None

    def read(self, text: str) -> tuple[str, str | None] | None:
        """``(caption text, credit)`` as printed (markup not yet removed), or None.

        The line is tried as it is, then without its HTML tags (``<p>... (Photo: X)</p>``).
        """
        match = self._match(text.strip())
        if match is None and "<" in text:  # without a "<" there is no tag to strip
            match = self._match(strip_tags(text).strip())
        if match is None:
            return None
        credit = match.groupdict().get("credit")
        return match["text"], credit.strip() if credit else None

    def _match(self, text: str) -> re.Match[str] | None:
        if self.ends is not None and not text.endswith(self.ends):
            return None
        return self.pattern.match(text)


@dataclass(frozen=True)
class SubheadingRule:
    """An explicitly marked inter-title: the pattern's group ``text`` is the title.

    ``starts``, when given, lists what every line the pattern matches starts
    with (its opening mark): other lines are not tried.  It must never reject
    a line the pattern would match.
    """

    pattern: re.Pattern[str]
    starts: tuple[str, ...] | None = None

    def read(self, text: str) -> str | None:
        """The inter-title as printed inside its marks, or None."""
        text = text.strip()
        if self.starts is not None and not text.startswith(self.starts):
            return None
        match = self.pattern.match(text)
        return match["text"] if match else None


class RuleSet:
    """Boilerplate rules tried in order, compiled into one alternation.

    ``first(text)`` is the first rule (in the given order) whose pattern
    matches the line: each rule is one branch of a single pattern, and a
    match of an earlier branch is always taken before a later branch is
    tried, so the answer is the one trying the patterns one at a time
    gives, for the cost of one ``match`` call.  A rule's pattern must have no
    capturing groups (use ``(?:...)``), and only the flags i, m and s.  Rules
    with a ``hint`` are left out of the alternation for a line failing it
    (one compiled alternation per combination of hints passed).

    >>> rules = RuleSet([rule("tweet", r"^tweet$"), rule("share", r"^(?:tweet|share)$")])
    >>> rules.first("<b>Share</b>").kind, rules.first("Tweet").kind, rules.first("Shared")
    ('share', 'tweet', None)
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._branches = [_scoped(r.pattern) for r in self.rules]
        #: (bit, hint) of each rule with a hint; the bits of the hints a line fails say which rules to leave out.
        self._hinted = [(1 << index, r.hint) for index, r in enumerate(self.rules) if r.hint is not None]
        #: The alternation (and its rules) for each such set of bits, made when first needed.
        self._alternations: dict[int, tuple[re.Pattern[str] | None, tuple[Rule, ...]]] = {0: self._alternation(0)}

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __add__(self, other: RuleSet) -> RuleSet:
        return RuleSet(self.rules + other.rules)

    def __repr__(self) -> str:
        return f"RuleSet({[r.kind for r in self.rules]!r})"

    def first(self, text: str) -> Rule | None:
        """The first rule that the line ``text`` (markup stripped) matches, or None."""
        return self.first_plain(clean_inline(text)[0])

    def first_plain(self, plain: str) -> Rule | None:
        """The first rule that ``plain`` (text already cleaned with ``clean_inline``) matches, or None."""
        skipped = 0
        for bit, hint in self._hinted:
            if not hint(plain):
                skipped |= bit
        found = self._alternations.get(skipped)
        if found is None:
            found = self._alternations[skipped] = self._alternation(skipped)
        pattern, rules = found
        match = pattern.match(plain) if pattern is not None else None
        return rules[match.lastindex - 1] if match else None

    def _alternation(self, skipped: int) -> tuple[re.Pattern[str] | None, tuple[Rule, ...]]:
        kept = [index for index in range(len(self.rules)) if not skipped & (1 << index)]
        if not kept:
            return None, ()
        pattern = re.compile("|".join(f"({self._branches[index]})" for index in kept))
        return pattern, tuple(self.rules[index] for index in kept)


#: Inline flags a rule's pattern may have, as a scoped group writes them.
_SCOPED_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s"}


def _scoped(pattern: re.Pattern[str]) -> str:
    """``pattern`` as a group carrying its own flags, to be one branch of a larger pattern."""
    if pattern.groups:
        raise ValueError(f"a boilerplate rule's pattern cannot have capturing groups (use (?:...)): {pattern.pattern!r}")
    flags = pattern.flags & ~re.UNICODE
    letters = "".join(letter for flag, letter in _SCOPED_FLAGS.items() if flags & flag)
    if flags & ~sum(_SCOPED_FLAGS):
        raise ValueError(f"a boilerplate rule's pattern can only have the flags i, m and s: {pattern.pattern!r}")
    return f"(?{letters}:{pattern.pattern})"


@dataclass(frozen=True)
class PageRules:
    """The rules one layout reads a page with."""

    #: Rules whose first match ends the article; each names a block of the tail.
    tail: RuleSet
    #: Boilerplate lines removed wherever they stand in the body.
    inline: RuleSet
    captions: list[CaptionRule]
    subheadings: list[SubheadingRule]
    #: Lines above the headline naming the site ("The Moscow Times"), removed as site-banner.
    banners: RuleSet = field(default_factory=lambda: RuleSet(()))

    @cached_property
    def stop(self) -> RuleSet:
        """Tail rules, then inline rules: a line either matches is no sub-headline."""
        return self.tail + self.inline


def rule(kind: str, pattern: str, flags: int = re.IGNORECASE) -> Rule:
    """A :class:`Rule` from a regular expression (case-insensitive unless told)."""
    return Rule(kind, re.compile(pattern, flags))


#: "Original url:" and friends: the line (and the URL after it) that says where the page was.
URL_LABEL = re.compile(r"^(?:original\s+url|source\s+url|original\s+link|url)\s*:\s*", re.IGNORECASE)
URL_LINE = Rule("url-line", re.compile(URL_LABEL.pattern + r"(?:<?https?://.*)?$", re.IGNORECASE))
_COPYRIGHT_MARK = re.compile(r"©|\(c\)|copyright", re.IGNORECASE)
_RESERVED = re.compile(r"reserved\.?$", re.IGNORECASE)


def _may_be_copyright(plain: str) -> bool:
    """What every line :data:`COPYRIGHT` matches has: a mark at the start, or "reserved" at the end.

    Only the last 10 characters are searched: "reserved." and the newline
    ``$`` may stand before.  (The notice's ``.{0,200}`` is what makes its
    pattern slow on the long lines of a body.)
    """
    return _COPYRIGHT_MARK.match(plain) is not None or _RESERVED.search(plain[-10:]) is not None


#: A copyright notice: "© 2024 Reuters", "Copyright 2023 AFP. All rights reserved."
COPYRIGHT = Rule("copyright", re.compile(
    r"^(?:©|\(c\)\s*(?:19|20)\d{2}|copyright\s*(?:©|\(c\)|(?:19|20)\d{2}))|^.{0,200}\ball rights reserved\.?$",
    re.IGNORECASE,
), hint=_may_be_copyright)

#: Lines removed wherever they stand in the body.
INLINE_RULES = RuleSet([
    rule("related-article", r"^(?:related(?:\s+article|\s+story|\s+stories)?|read\s+(?:more|also)|see\s+also|also\s+read)\s*:\s*\S"),
    rule("advertisement", r"^(?:advertisement|advertising|sponsored(?:\s+content)?)(?:\s*·\s*scroll to continue)?$"),
    rule("publisher-notice", r"^our standards:\s*the thomson reuters trust principles\.?$"),
    rule("share-buttons", r"^(?:tweet|share(?:\s+this(?:\s+article|\s+story)?)?|share\s+on\s+(?:facebook|twitter|x|linkedin)|email\s+this\s+article|print(?:\s+this\s+article)?)$"),
    rule("newsletter", r"^(?:subscribe\s+free\s+to\s+our\s+daily\s+newsletters|sign\s+up\s+for\s+(?:our|the)\b.*\bnewsletter\b.*|subscribe\s+to\s+our\s+newsletter\b.*)$"),
    rule("separator", r"^(?:[-*_=~·•]\s*){3,}$"),
    rule("link", r"^<?https?://\S+>?$"),
])

#: Captions every layout understands.
CAPTION_RULES: list[CaptionRule] = [
    # "Lavrov in Pyongyang. **Russian Foreign Ministry Press Service**" (The Moscow Times)
    CaptionRule(re.compile(r"^(?P<text>.*?[^\s*])\s+\*\*(?P<credit>[^*]+?)\*\*$"), ends=("**",)),
    # "Lavrov in Pyongyang. (Photo: Reuters/John Smith)"
    CaptionRule(re.compile(
        r"^(?P<text>.*?\S)\s*[\(\[](?:photo|image|picture|photograph|credit|photo\s+credit)s?\s*:\s*(?P<credit>[^()\[\]]+)[\)\]]$",
        re.IGNORECASE,
    ), ends=(")", "]")),
]

#: Inter-titles every layout understands.
SUBHEADING_RULES: list[SubheadingRule] = [
    SubheadingRule(re.compile(r"^-\s+(?P<text>[^\s-].{0,98}?)\s+-$"), starts=("-",)),
    SubheadingRule(re.compile(r"^#{1,6}\s+(?P<text>[^#].{0,98}?)\s*#*$"), starts=("#",)),
    SubheadingRule(re.compile(r"^\*\*(?P<text>[^*]{1,100})\*\*$"), starts=("**",)),
    SubheadingRule(re.compile(r"^<(?P<tag>h[1-6]|b|strong)>(?P<text>[^<]{1,100})</(?P=tag)>$", re.IGNORECASE), starts=("<",)),
]
