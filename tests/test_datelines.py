"""Datelines and printed dates, read by newscorpus.datelines (python-dateutil underneath)."""

from __future__ import annotations

import calendar
from datetime import date

import pytest

from newscorpus.datelines import is_date_line, parse_date, parse_date_line, parse_dateline, read_dateline, split_lead_dateline


@pytest.mark.parametrize("text, located, agency, when", [
    ("Seoul (AFP) Oct 19, 2023", "Seoul", "AFP", date(2023, 10, 19)),
    ("Washington DC (UPI) Oct 17, 2023", "Washington DC", "UPI", date(2023, 10, 17)),
    ("Paris (AFP) Jan 5, 2024", "Paris", "AFP", date(2024, 1, 5)),
    ("London, UK (SPX) Mar 01, 2024", "London, UK", "SPX", date(2024, 3, 1)),
    ("Moscow (IANS) Sep 3, 2023", "Moscow", "IANS", date(2023, 9, 3)),
    ("Beijing (XNA) Sept 30, 2023", "Beijing", "XNA", date(2023, 9, 30)),
    ("Tokyo (AFP) 19 October 2023", "Tokyo", "AFP", date(2023, 10, 19)),
    ("Seoul (AFP) Feb 30, 2024", "Seoul", "AFP", None),
])
def test_standalone_dateline(text, located, agency, when):
    found = parse_dateline(text)
    assert found is not None
    assert (found.text, found.located, found.agency, found.date) == (text, located, agency, when)


@pytest.mark.parametrize("text", [
    "Tightening relationship",
    "Seoul (AFP)",
    "Russian Foreign Minister Sergei Lavrov (pictured) said on Thursday, Oct 19, 2023",
    "by AFP Staff Writers",
    "October 20, 2023",
])
def test_not_a_standalone_dateline(text):
    assert parse_dateline(text) is None


@pytest.mark.parametrize("paragraph, text, located, agency, when, rest", [
    ("LONDON (Reuters) - Britain's economy shrank.", "LONDON (Reuters)", "LONDON", "Reuters", None, "Britain's economy shrank."),
    ("WASHINGTON (AP) — The Senate voted.", "WASHINGTON (AP)", "WASHINGTON", "AP", None, "The Senate voted."),
    ("SEOUL, South Korea (AP) -- North Korea fired.", "SEOUL, South Korea (AP)", "SEOUL, South Korea", "AP", None, "North Korea fired."),
    ("New Delhi, Sep 3 (IANS) The government said.", "New Delhi, Sep 3 (IANS)", "New Delhi", "IANS", date(2023, 9, 3), "The government said."),
    ("Oct. 17 (UPI) -- North Korea appears to be.", "Oct. 17 (UPI)", None, "UPI", date(2023, 10, 17), "North Korea appears to be."),
    ("BEIJING, June 25 (Xinhua) -- The capsule landed.", "BEIJING, June 25 (Xinhua)", "BEIJING", "Xinhua", date(2023, 6, 25), "The capsule landed."),
    ("Moscow, Oct 20, 2023 (TASS) - Talks began.", "Moscow, Oct 20, 2023 (TASS)", "Moscow", "TASS", date(2023, 10, 20), "Talks began."),
])
def test_lead_dateline(paragraph, text, located, agency, when, rest):
    found = split_lead_dateline(paragraph, reference=date(2023, 10, 20))
    assert found is not None
    dateline, remainder = found
    assert (dateline.text, dateline.located, dateline.agency, dateline.date, remainder) == (text, located, agency, when, rest)
    again = read_dateline(dateline.text, reference=date(2023, 10, 20))
    assert again == dateline


@pytest.mark.parametrize("paragraph", [
    "Kim Jong Un (pictured) said on Thursday he wants closer ties.",
    "The White House (WH) said nothing.",
    "North Korea's relationship with Russia (AFP) has been tightening.",
    "Reuters (Reuters) reported.",
    "(AFP) without a place or a date.",
])
def test_not_a_lead_dateline(paragraph):
    assert split_lead_dateline(paragraph) is None


def test_lead_dateline_year_comes_from_the_reference_date():
    dateline, _ = split_lead_dateline("Paris, Dec 31 (AFP) - Fireworks lit the sky.", reference=date(2024, 1, 1))
    assert dateline.date == date(2023, 12, 31)
    dateline, _ = split_lead_dateline("Paris, Dec 31 (AFP) - Fireworks lit the sky.")
    assert dateline.date is None


@pytest.mark.parametrize("text, when", [
    ("October 20, 2023", date(2023, 10, 20)),
    ("Oct. 20, 2023", date(2023, 10, 20)),
    ("Updated: Feb. 12, 2024", date(2024, 2, 12)),
    ("Published: August 14, 2023", date(2023, 8, 14)),
    ("Friday, October 20, 2023", date(2023, 10, 20)),
    ("20 October 2023", date(2023, 10, 20)),
    ("2024-06-25 18:20:31", date(2024, 6, 25)),
    ("Oct. 20, 2023 10:45 AM MSK", date(2023, 10, 20)),
    ("Published October 20, 2023 | 14:30", date(2023, 10, 20)),
    ("Last updated on March 4, 2024", date(2024, 3, 4)),
])
def test_date_line(text, when):
    assert is_date_line(text)
    assert parse_date_line(text) == when


@pytest.mark.parametrize("text", [
    "Tightening relationship",
    "By AFP",
    "In 2023 the economy grew",
    "The summit took place on October 20, 2023 in Vladivostok, officials said on Friday.",
    "May",
])
def test_not_a_date_line(text):
    assert not is_date_line(text)


@pytest.mark.parametrize("text", ["October 2023", "Oct 17", "2023", "Feb 30, 2024", "yesterday", ""])
def test_incomplete_or_impossible_dates_are_none(text):
    assert parse_date(text) is None


def _dateutil_date(text: str) -> date | None:
    """parse_date's answer the slow way: dateutil with two defaults, as parse_date falls back to."""
    from datetime import datetime

    from dateutil import parser as dateparser

    found = []
    for default in (datetime(2000, 1, 1), datetime(2001, 2, 2)):
        try:
            found.append(dateparser.parse(text, default=default, ignoretz=True).date())
        except (dateparser.ParserError, ValueError, OverflowError, TypeError):
            return None
    return found[0] if found[0] == found[1] and 1900 <= found[0].year <= 2100 else None


def test_plain_dates_read_without_dateutil_as_dateutil_reads_them():
    """The "Oct 19, 2023" fast path gives dateutil's date for every month name, day and edge year."""
    from dateutil.parser import parserinfo

    from newscorpus.datelines import _plain_date

    months = [(name, number) for number, names in enumerate(parserinfo.MONTHS, start=1) for name in names]
    for month, number in months:
        for day in range(0, 40):
            for printed in {str(day), f"{day:02d}"}:
                for year in (1899, 1900, 2000, 2023, 2024, 2100, 2101):
                    text = f"{month} {printed}, {year}"
                    expected = _dateutil_date(text)
                    assert _plain_date(text) == expected, text
                    assert parse_date(text) == expected, text
                    real = 1900 <= year <= 2100 and 1 <= day <= calendar.monthrange(year, number)[1]
                    assert (expected is not None) == real, text
