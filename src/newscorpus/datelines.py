"""Datelines and printed dates: ``Seoul (AFP) Oct 19, 2023``, ``October 20, 2023``.

A *dateline* is the wire-service line naming where (and when) a story was
filed and which agency filed it.  Outlets print it either on its own line
(Space Media Network: ``London, UK (SPX) Mar 01, 2024``) or at the start of the
first paragraph (``LONDON (Reuters) - ...``, ``New Delhi, Sep 3 (IANS) ...``,
``Oct. 17 (UPI) -- ...``).  A *date line* is the outlet's own publication date
printed on a line of its own (``October 20, 2023``, ``Updated: Oct. 20, 2023``).

The regular expressions only find where a date is; python-dateutil reads it.
Only complete dates (year, month and day all printed) are returned.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from datetime import date, datetime

from dateutil import parser as dateparser

from newscorpus.bylines import is_agency

#: A month name or abbreviation as datelines print it ("Oct", "Oct.", "Sept", "October").
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}\.?"
#: A full date as a dateline prints it: "Oct 19, 2023", "19 October 2023".
_FULL_DATE = rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH},?\s+\d{{4}})"
#: A date a lead dateline prints, often without the year: "Sep 3", "Oct. 17, 2023".
_SHORT_DATE = rf"(?:{_MONTH}\s+\d{{1,2}}(?:,\s*\d{{4}})?)"

_STANDALONE = re.compile(
    rf"^(?P<place>[^\s()][^()]{{0,79}}?)\s*\((?P<agency>[^\s()][^()]{{0,39}}?)\)\s*(?P<date>{_FULL_DATE})$"
)
_PLACE_WORD = r"[A-Z][\w.'’&-]*"
#: A dateline opening a paragraph: "LONDON (Reuters)", "New Delhi, Sep 3 (IANS)", "Oct. 17 (UPI)".
_LEAD_HEAD = (
    rf"(?:(?P<place>{_PLACE_WORD}(?:(?:\s+|,\s*){_PLACE_WORD}){{0,5}}),?\s+)??"
    rf"(?:(?P<date>{_SHORT_DATE})\s*)?"
    rf"\((?P<agency>[A-Za-z][A-Za-z .&-]{{0,39}})\)"
)
_LEAD = re.compile(rf"^(?P<text>{_LEAD_HEAD})\s*(?P<sep>--|[-–—:])?\s*(?P<rest>\S.*)$", re.DOTALL)
_LEAD_ALONE = re.compile(rf"^{_LEAD_HEAD}$")
_DATE_LINE = re.compile(
    r"^(?:(?:last\s+)?(?:published|updated|posted|modified)(?:\s+on)?\s*:?\s*)?(?P<date>.{6,60})$",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_MONTH_OR_NUMERIC = re.compile(rf"\b{_MONTH}|\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b|\b\d{{1,2}}[./]\d{{1,2}}[./]\d{{4}}\b")
_SEPARATORS = re.compile(r"\s+(?:\||·|•|at)\s+")


@dataclass(frozen=True)
class Dateline:
    """A dateline as printed, split into place, agency and date."""

    text: str
    located: str | None
    agency: str | None
    date: date | None
    #: The date as printed in the dateline ("Oct 19, 2023"), or None when none is printed.
    date_text: str | None


#: Month names as dateutil reads them (``parserinfo.MONTHS``), title case, with their numbers.
_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(dateparser.parserinfo.MONTHS, start=1)
    for name in names
}
#: The commonest printed date, "Oct 19, 2023" / "October 19, 2023", read without dateutil.
_PLAIN_DATE = re.compile(rf"({'|'.join(_MONTH_NUMBERS)}) ([0-9]{{1,2}}), ([0-9]{{4}})")


@lru_cache(maxsize=4096)
def parse_date(text: str) -> date | None:
    """The calendar date ``text`` prints, when it prints a complete one (year, month and day).

    Remembered per text (the same few date strings recur across a corpus; dateutil is slow),
    and a plain "Oct 19, 2023" naming a real day is read directly (dateutil reads it the same).

    >>> parse_date("Oct 19, 2023")
    datetime.date(2023, 10, 19)
    >>> parse_date("October 2023") is None
    True
    """
    text = text.strip()
    if not text or len(text) > 80:
        return None
    plain = _plain_date(text)
    if plain is not None:
        return plain
    found = []
    for default in (datetime(2000, 1, 1), datetime(2001, 2, 2)):
        try:
            found.append(dateparser.parse(text, default=default, ignoretz=True).date())
        except (dateparser.ParserError, ValueError, OverflowError, TypeError):
            return None
    if found[0] != found[1] or not 1900 <= found[0].year <= 2100:
        return None  # a part of the date was filled in from the default: not printed
    return found[0]


def _plain_date(text: str) -> date | None:
    """The date of "Oct 19, 2023" (a real day of 1900-2100), else None: dateutil decides."""
    match = _PLAIN_DATE.fullmatch(text)
    if match is None or not 1900 <= int(match[3]) <= 2100:
        return None
    try:
        return date(int(match[3]), _MONTH_NUMBERS[match[1]], int(match[2]))
    except ValueError:
        return None


def parse_dateline(text: str) -> Dateline | None:
    """A dateline printed on its own line (``Seoul (AFP) Oct 19, 2023``), or None.

    The date is None when it is printed but is not a real date (``Feb 30, 2024``).

    >>> parse_dateline("London, UK (SPX) Mar 01, 2024").located
    'London, UK'
    """
    if "(" not in text:  # the agency's brackets; most lines have none
        return None
    match = _STANDALONE.match(text.strip())
    if not match or len(match["place"].split()) > 8:
        return None
    return Dateline(
        text=text.strip(),
        located=match["place"].strip(" ,"),
        agency=match["agency"].strip(),
        date=parse_date(match["date"]),
        date_text=match["date"],
    )


def split_lead_dateline(paragraph: str, reference: date | None = None) -> tuple[Dateline, str] | None:
    """``(dateline, rest of the paragraph)`` when the paragraph opens with a wire dateline.

    Only agencies :func:`newscorpus.bylines.is_agency` knows count, so that
    ``Kim (pictured) said`` is not taken for one.  A date printed without a
    year takes the year of ``reference`` (the article's own date), the year
    before when that would put it more than a month after ``reference``.

    >>> line, rest = split_lead_dateline("LONDON (Reuters) - Britain said on Monday.")
    >>> (line.text, line.located, line.agency, rest)
    ('LONDON (Reuters)', 'LONDON', 'Reuters', 'Britain said on Monday.')
    """
    match = _LEAD.match(paragraph)
    if not match or not is_agency(match["agency"].strip()):
        return None
    place = match["place"]
    if not (match["sep"] or match["date"] or (place and place.isupper())):
        return None
    dateline = _lead(match, reference)
    return (dateline, match["rest"]) if dateline is not None else None


def read_dateline(text: str, reference: date | None = None) -> Dateline | None:
    """A dateline as a layout found it, on its own line or taken from a paragraph's start.

    >>> read_dateline("New Delhi, Sep 3 (IANS)", date(2023, 9, 4)).date
    datetime.date(2023, 9, 3)
    """
    standalone = parse_dateline(text)
    if standalone is not None:
        return standalone
    match = _LEAD_ALONE.match(text.strip())
    return _lead(match, reference) if match else None


def _lead(match: re.Match[str], reference: date | None) -> Dateline | None:
    place = match["place"]
    if not place and not match["date"]:
        return None
    when = None
    if match["date"]:
        when = parse_date(match["date"])
        if when is None and reference is not None and not _YEAR.search(match["date"]):
            when = _with_year(match["date"], reference)
    head = match.group(0) if match.re is _LEAD_ALONE else match["text"]
    return Dateline(
        text=head.strip(),
        located=place.strip(" ,") if place else None,
        agency=match["agency"].strip(),
        date=when,
        date_text=match["date"],
    )


def _with_year(text: str, reference: date) -> date | None:
    """``text`` (a day and month) in the year of ``reference``, or the year before."""
    for year in (reference.year, reference.year - 1):
        when = parse_date(f"{text.rstrip(', ')} {year}")
        if when is not None and (when - reference).days <= 31:
            return when
    return None


def prints_year(text: str) -> bool:
    """Whether ``text`` prints a four-digit year.

    >>> prints_year("Oct 19, 2023"), prints_year("Sep 3")
    (True, False)
    """
    return bool(_YEAR.search(text))


def is_date_line(text: str) -> bool:
    """Whether ``text`` looks like a printed publication date (``October 20, 2023``).

    >>> is_date_line("Updated: Oct. 20, 2023"), is_date_line("Tightening relationship")
    (True, False)
    """
    match = _DATE_LINE.match(text.strip())
    if not match:
        return False
    value = match["date"]
    return bool(_YEAR.search(value) and _MONTH_OR_NUMERIC.search(value)) and len(value.split()) <= 10


def parse_date_line(text: str) -> date | None:
    """The date a date line prints, or None when it cannot be read.

    >>> parse_date_line("Published: Friday, October 20, 2023 | 14:30")
    datetime.date(2023, 10, 20)
    """
    match = _DATE_LINE.match(text.strip())
    if not match:
        return None
    value = match["date"]
    return parse_date(value) or parse_date(_SEPARATORS.split(value)[0])
