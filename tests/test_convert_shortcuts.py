"""The converter's shortcuts give the answers the plain way gives.

Boilerplate rules run as one compiled alternation (:class:`RuleSet`) with
cheap hints; caption and inter-title rules skip lines that cannot match;
raw text that is already clean skips line-by-line normalisation.  Each is
checked against the plain way on lines generated to match the rules'
patterns, and on the same lines cut, padded or wrapped so they just miss.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newscorpus import layouts
from newscorpus.layouts.cleanup import strip_tags
from newscorpus.layouts.rules import CaptionRule, Rule, RuleSet, SubheadingRule, rule
from newscorpus.rawtext import _DROPPED, _SPACED, normalise


def _unique(items):
    seen, found = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            found.append(item)
    return found


RULE_SETS: list[RuleSet] = _unique(
    rules for layout in layouts.LAYOUTS
    for rules in (layout.RULES.tail, layout.RULES.inline, layout.RULES.banners, layout.RULES.stop)
)
RULES: list[Rule] = _unique(r for rules in RULE_SETS for r in rules)
CAPTIONS: list[CaptionRule] = _unique(r for layout in layouts.LAYOUTS for r in layout.RULES.captions)
SUBHEADINGS: list[SubheadingRule] = _unique(r for layout in layouts.LAYOUTS for r in layout.RULES.subheadings)

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
_NOISE = st.lists(
    st.sampled_from(list(" \t\n.*-#<>()[]:©ſKaZ9\u0301") + ["<b>", "</b>", "**", "reserved"]), max_size=4,
).map("".join)


def _near(patterns: list[re.Pattern[str]]) -> st.SearchStrategy[str]:
    """Lines a pattern matches, as they are or cut, padded or with noise added, so some just miss."""
    matching = st.one_of(*(st.from_regex(pattern) for pattern in patterns))
    return st.one_of(
        matching,
        st.tuples(matching, st.integers(0, 400), _NOISE, st.sampled_from(["cut", "prefix", "suffix", "wrap"])).map(_edit),
        st.text(max_size=60),
    )


def _edit(parts: tuple[str, int, str, str]) -> str:
    text, where, noise, how = parts
    if how == "cut":
        return text[:where]
    if how == "prefix":
        return noise + text
    if how == "suffix":
        return text + noise
    return f"<p>{text}</p>{noise}"


def _first_one_by_one(rules: RuleSet, plain: str) -> Rule | None:
    return next((r for r in rules if r.pattern.match(plain)), None)


@_SETTINGS
@given(st.data())
def test_rule_sets_answer_as_trying_each_rule_in_turn(data):
    """RuleSet.first_plain is the first rule whose own pattern matches, hints and all."""
    line = data.draw(_near([r.pattern for r in RULES]))
    for rules in RULE_SETS:
        assert rules.first_plain(line) is _first_one_by_one(rules, line), (rules, line)


@_SETTINGS
@given(st.data())
def test_rule_hints_never_turn_away_a_matching_line(data):
    hinted = [r for r in RULES if r.hint is not None]
    assert hinted, "no rule has a hint any more: drop this test"
    line = data.draw(_near([r.pattern for r in hinted]))
    for r in hinted:
        if r.pattern.match(line):
            assert r.hint(line), (r.kind, line)


@pytest.mark.parametrize("line, kind", [
    ("© 2024 Reuters", "copyright"),
    ("Copyright 2023 AFP. All rights reserved.", "copyright"),
    ("Text by the agency. all rights reserved\n", "copyright"),
    ("Text by the agency. ALL RIGHTS RESERVED.\n", "copyright"),  # "$" stands before a last newline
    ("Related article: Ships Seen", "related-article"),
    ("All rights reserved by nobody", None),
    ("x" * 201 + " all rights reserved", None),
])
def test_the_generic_tail_and_inline_rules_on_known_lines(line, kind):
    found = (layouts.FALLBACK.RULES.stop).first_plain(line)
    assert (found.kind if found else None) == kind
    assert found is _first_one_by_one(layouts.FALLBACK.RULES.stop, line)


def test_a_rule_set_refuses_patterns_it_cannot_combine():
    with pytest.raises(ValueError, match="capturing groups"):
        RuleSet([rule("x", r"^(a)\1$")])
    with pytest.raises(ValueError, match="flags"):
        RuleSet([rule("x", r"^a b$", re.VERBOSE)])
    assert RuleSet([]).first_plain("anything") is None


def _caption_one_by_one(caption: CaptionRule, text: str) -> tuple[str, str | None] | None:
    match = caption.pattern.match(text.strip()) or caption.pattern.match(strip_tags(text).strip())
    if not match:
        return None
    credit = match.groupdict().get("credit")
    return match["text"], credit.strip() if credit else None


@_SETTINGS
@given(st.data())
def test_caption_rules_skip_only_lines_they_cannot_read(data):
    line = data.draw(_near([c.pattern for c in CAPTIONS]))
    for caption in CAPTIONS:
        assert caption.read(line) == _caption_one_by_one(caption, line), line


@_SETTINGS
@given(st.data())
def test_subheading_rules_skip_only_lines_they_cannot_read(data):
    line = data.draw(_near([s.pattern for s in SUBHEADINGS]))
    for subheading in SUBHEADINGS:
        match = subheading.pattern.match(line.strip())
        assert subheading.read(line) == (match["text"] if match else None), line


def _normalise_line_by_line(text: str, encoding: str):
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    dropped = []
    for index, line in enumerate(lines):
        clean, spaced = _SPACED.subn(" ", line)
        clean, count = _DROPPED.subn("", clean)
        if count + spaced:
            dropped.append((index + 1, count + spaced))
        lines[index] = unicodedata.normalize("NFC", clean)
    return lines, dropped


_RAW_TEXT = st.lists(st.one_of(
    st.sampled_from(list("ab \t\n\r\x0b\x0c\x1b\x7f\x85\x9f\u2028\u2029\ufeff\u0301\u0308e\u00e9\u1e9b\u0323")),
    st.characters(),
), max_size=30).map("".join)


@_SETTINGS
@given(_RAW_TEXT)
def test_clean_text_skips_line_by_line_normalisation_only_when_it_changes_nothing(text):
    result = normalise(text, "utf-8")
    assert (result.lines, result.dropped) == _normalise_line_by_line(text, "utf-8")


def test_the_utf8_shortcut_knows_every_character_the_patterns_change():
    """Every code point _SPACED or _DROPPED finds is an ASCII control, a C1 control or one of _OTHER_UTF8."""
    from newscorpus.rawtext import _ASCII_CONTROLS, _C1_UTF8, _OTHER_UTF8

    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        character = chr(code)
        changed = _SPACED.match(character) is not None or _DROPPED.match(character) is not None
        encoded = character.encode("utf-8")
        known = (code < 128 and encoded in _ASCII_CONTROLS) or _C1_UTF8.fullmatch(encoded) is not None or encoded in _OTHER_UTF8
        assert changed == known, hex(code)
