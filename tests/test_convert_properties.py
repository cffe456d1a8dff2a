"""Properties of the converter on generated input: no crash, valid records, nothing silently dropped."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newscorpus.convert import convert_bytes
from newscorpus.jsonio import dumps
from newscorpus.rawtext import read_text
from recordcheck import assert_well_formed, unaccounted_lines

_WORD = st.text(alphabet=st.characters(categories=("L", "N"), exclude_characters="\x00"), min_size=1, max_size=9)
_SENTENCE = st.lists(_WORD, min_size=3, max_size=14).map(lambda words: " ".join(words).capitalize() + ".")
_PARAGRAPH = st.lists(_SENTENCE, min_size=1, max_size=3).map(" ".join)
_TITLE = st.lists(_WORD, min_size=2, max_size=8).map(lambda words: " ".join(words).title())

#: Elements raw pages are made of, in any order.
_ELEMENT = st.one_of(
    _PARAGRAPH,
    _PARAGRAPH,
    _TITLE,
    _TITLE.map(lambda t: f"By {t}"),
    st.sampled_from(["October 20, 2023", "Updated: Feb. 12, 2024", "2024-06-25 18:20:31", "Feb 30, 2024"]),
    st.sampled_from(["Seoul (AFP) Oct 19, 2023", "London, UK (SPX) Mar 01, 2024", "Nowhere (XYZ) Feb 30, 2023"]),
    _PARAGRAPH.map(lambda p: f"LONDON (Reuters) - {p}"),
    st.tuples(_SENTENCE, _TITLE).map(lambda c: f"{c[0]} **{c[1]}**"),
    _TITLE.map(lambda t: f"- {t} -"),
    _TITLE.map(lambda t: f"Related article: <u>{t}</u>"),
    _PARAGRAPH.map(lambda p: f"<p>{p} &amp; <b>more</b></p>"),
    st.sampled_from([
        "Related Links", "Subscribe Free To Our Daily Newsletters", "Tweet", "RELATED CONTENT", "NUKEWARS",
        "Original url:", "https://www.themoscowtimes.com/2023/10/20/a-b-a8 2808", "© 2024 Reuters. All rights reserved.",
        "Military Space News", "A Message from The Moscow Times:", "Read more about: Kremlin", "***", "<br>",
        "The content herein, unless otherwise known to be public domain, are Copyright 1995-2024 - Space Media Network.",
    ]),
    _SENTENCE.map(lambda s: s[:-1].lower() + ","),
    st.text(max_size=40),
)
_PAGE = st.tuples(
    st.lists(_ELEMENT, min_size=1, max_size=25),
    st.lists(st.sampled_from(["\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r"]), min_size=25, max_size=25),
    st.sampled_from(["", "\ufeff"]),
).map(lambda page: page[2] + "".join(e + end for e, end in zip(page[0], page[1])))

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(raw: bytes) -> None:
    record, problems = convert_bytes(raw, file="generated.txt")
    assert all(p.file == "generated.txt" for p in problems)
    if record is None:
        assert any(p.severity == "error" for p in problems), problems
        return
    assert_well_formed(record)
    text, _ = read_text(raw, "generated.txt")
    assert text is not None
    assert unaccounted_lines(record, text.lines) == []
    again, again_problems = convert_bytes(raw, file="generated.txt")
    assert dumps(again) == dumps(record) and again_problems == problems


@_SETTINGS
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_record_or_an_error(raw):
    _check(raw)


@_SETTINGS
@given(st.text(max_size=3000))
def test_any_text_gives_a_record_or_an_error(text):
    _check(text.encode("utf-8", "surrogatepass") if not _has_surrogates(text) else text.encode("utf-8", "replace"))


@_SETTINGS
@given(_PAGE)
def test_generated_pages_give_well_formed_records(page):
    _check(page.encode("utf-8"))


@_SETTINGS
@given(_PAGE)
def test_generated_pages_in_cp1252_decode_as_in_utf8(page):
    try:
        raw = page.encode("cp1252")
    except UnicodeEncodeError:
        return
    _check(raw)


def _has_surrogates(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)
