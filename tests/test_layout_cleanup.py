"""Shared cleanup of layouts: markup, entities, joins, inter-titles, headlines, URLs, bylines."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newscorpus.bylines import credited_agencies, parse_byline
from newscorpus.layouts.cleanup import (
    _MARKUP,
    _MARKUP_CHARS,
    clean_inline,
    is_continuation,
    join_broken,
    looks_like_headline,
    looks_like_subheading,
    normalise_space,
    repair_url,
    strip_markup,
    unescape_entities,
)


@pytest.mark.parametrize("raw, clean, removed", [
    ("Related article: <u>Ships Seen</u>", "Related article: Ships Seen", 7),
    ("Lavrov in Pyongyang. **Russian Foreign Ministry Press Service**", "Lavrov in Pyongyang. Russian Foreign Ministry Press Service", 4),
    ("the *Big Circle Line*, completing", "the Big Circle Line, completing", 2),
    ("named <b>Kestrel-2</b>, ran", "named Kestrel-2, ran", 7),
    ("<p>The mission was <strong>a success</strong>.<br/></p>", "The mission was a success.", 29),
    ("# UK economy shrinks", "UK economy shrinks", 2),
    ("See [the report](https://example.com/r) here", "See the report here", 25),
    ("![chart](https://example.com/c.png) Growth slowed", "Growth slowed", 35),
    ("stray ** stars", "stray stars", 2),
    ("a <!-- ad --> b", "a b", 11),
    ("5 * 3 = 15 and snake_case_name stay", "5 * 3 = 15 and snake_case_name stay", 0),
    ("x < y > z and a<b", "x < y > z and a<b", 0),
    ("__important__ and _quiet_", "important and quiet", 6),
])
def test_clean_inline(raw, clean, removed):
    assert clean_inline(raw) == (clean, removed)


@pytest.mark.parametrize("raw, text", [
    ("Q&amp;A", "Q&A"),
    ("AT&T and R&D", "AT&T and R&D"),
    ("Chang&#8217;e-6", "Chang’e-6"),
    ("&#x201C;hi&#x201D;", "“hi”"),
    ("&mdash; &copy", "— &copy"),
    ("&notanentity;", "&notanentity;"),
])
def test_unescape_entities(raw, text):
    assert unescape_entities(raw) == text


@pytest.mark.parametrize("previous, following, expected", [
    ('"... in the new era," the KCNA', "news agency said, using the official acronym.", True),
    ('"We categorically reject these claims,"', "Kremlin spokesman Dmitry Peskov said.", True),
    ("He said the talks were useful;", "others disagreed.", True),
    ("a forward-", "looking relationship", True),
    ("Tightening relationship", "But North Korea's relationship with Russia...", False),
    ("Lavrov said Thursday.", "the next day he left.", False),
    ('He called it "dangerous."', "Moscow disagreed.", False),
    ("Weapons transfers", "Kim traveled to Russia.", False),
    ("He asked:", '"Why now?"', False),
])
def test_is_continuation(previous, following, expected):
    assert is_continuation(previous, following) is expected


def test_join_broken():
    assert join_broken("the KCNA ", " news agency") == "the KCNA news agency"
    assert join_broken("forward-", "looking") == "forward-looking"
    assert join_broken("said -", "and left") == "said - and left"


@pytest.mark.parametrize("text, expected", [
    ("Weapons transfers", True),
    ("Tightening relationship", True),
    ("2024 outlook", True),
    ("'Not proud at all'", False),
    ("He left.", False),
    ("the KCNA", False),
    ("What comes next?", True),
    ('"Why now?"', False),
    ("A very long line that goes on and on with many words to be an inter-title at all", False),
])
def test_looks_like_subheading(text, expected):
    assert looks_like_subheading(text) is expected


@pytest.mark.parametrize("text, expected", [
    ("N. Korea's Kim Wants 'Forward-Looking' Ties With Russia", True),
    ("U.S. Navy destroyer shoots down missiles, drones heading north toward Israel", True),
    ("Russia's Lavrov slams 'dangerous' US policy on North Korea", True),
    ("He came. He saw. He left after a long day at the office.", False),
    ("https://www.example.com/a", False),
    ("", False),
    ("word " * 31, False),
])
def test_looks_like_headline(text, expected):
    assert looks_like_headline(text) is expected


@pytest.mark.parametrize("printed, url", [
    ("https://www.themoscowtimes.com/2023/10/20/n-koreas-kim-wants-forward-looking-ties-with-russia-a8 2808",
     "https://www.themoscowtimes.com/2023/10/20/n-koreas-kim-wants-forward-looking-ties-with-russia-a82808"),
    ("<https://example.com/a>", "https://example.com/a"),
    ("[https://example.com/a](https://example.com/a)", "https://example.com/a"),
    ("https://example.com/a.", "https://example.com/a"),
    ("http://example.com", "http://example.com"),
    ("not a url", None),
    ("ftp://example.com/a", None),
    ("https://", None),
])
def test_repair_url(printed, url):
    assert repair_url(printed) == url


@pytest.mark.parametrize("line, by", [
    ("by AFP Staff Writers", "AFP Staff Writers"),
    ("By Reuters", "Reuters"),
    ("BY JANE DOE", "JANE DOE"),
    ("Bystanders said so.", None),
    ("by", None),
])
def test_parse_byline(line, by):
    assert parse_byline(line) == by


@pytest.mark.parametrize("by, agencies", [
    ("AFP Staff Writers", ["AFP"]),
    ("AFP", ["AFP"]),
    ("Staff Writers", []),
    ("The Moscow Times", []),
    ("Darryl Coote", []),
    ("Jane Doe for UPI", ["UPI"]),
    ("Jane Doe, Reuters", ["Reuters"]),
    ("AFP and Reuters", ["AFP", "Reuters"]),
    ("Agence France-Presse and AFP", ["Agence France-Presse"]),
    ("Maria Lopez | Associated Press", ["Associated Press"]),
    ("Sophie Laurent with Marc Dubois in Berlin", []),
    ("REUTERS", ["REUTERS"]),
    (None, []),
])
def test_credited_agencies(by, agencies):
    assert credited_agencies(by) == agencies


# Markup-ish alphabet: the characters the patterns look for, in runs that make and break matches.
_MARKUP_TEXT = st.lists(
    st.sampled_from(list("<>!-[]()*_#/ ab\n") + ["<b>", "</u>", "<!--", "-->", "](https://x.y)", "**", "__"]), max_size=24,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_MARKUP_TEXT)
def test_strip_markup_skips_only_patterns_that_cannot_match(text):
    """The guarded strip_markup gives what applying every pattern in order gives."""
    expected = text
    for pattern, _, replacement in _MARKUP:
        expected = pattern.sub(replacement, expected)
    assert strip_markup(text) == (expected, len(text) - len(expected))


@given(st.text(alphabet=st.sampled_from(list(" \t\u00a0ab")), max_size=20))
def test_normalise_space_matches_the_pattern(text):
    assert normalise_space(text) == re.sub(r"[ \t]+", " ", text).strip()


def test_every_markup_needle_holds_a_character_the_quick_test_looks_for():
    assert all(any(character in needle for character in _MARKUP_CHARS) for _, needle, _ in _MARKUP)

@pytest.mark.parametrize("text", ["[a](/x)", "# a", "> a", "*a*", "_a_"])
def test_markup_with_a_single_quick_test_character_is_still_stripped(text):
    """Each of these holds one character of _MARKUP_CHARS only (a tag always holds both "<" and ">")."""
    assert sum(character in text for character in _MARKUP_CHARS) == 1
    assert strip_markup(text)[1] > 0
