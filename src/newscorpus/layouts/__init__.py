"""Layout parsers: one module per page layout a raw file can have, chosen by a table.

Each module in :data:`LAYOUTS` has a ``name``, ``detect(lines) -> bool`` and
``parse(lines) -> Draft``.  ``lines`` are the raw file's lines (already
decoded, NFC-normalised, with ``\\n`` line ends); line ``n`` of the file is
``lines[n - 1]``.  The first layout whose ``detect`` says yes parses the file;
:data:`FALLBACK` parses what none recognises.  A manifest entry's ``layout``
forces one (:func:`by_name`).

Adding a layout is one module and one line in :data:`LAYOUTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import NamedTuple


class Line(NamedTuple):
    """One line of the raw file and its 1-based line number."""

    number: int
    text: str


@dataclass
class Draft:
    """What a layout parser read from one raw file, before it becomes an article record.

    Text fields are clean (no markup) except ``copyright``, which is verbatim.
    ``removed`` lists every block of raw text left out of the record as
    ``(kind, line, chars)``; ``warnings`` lists ``(problem code, line, message)``.
    """

    headline: str | None = None
    headline_line: int | None = None
    subheadlines: list[str] = field(default_factory=list)
    by: str | None = None
    #: The dateline exactly as printed ("Seoul (AFP) Oct 19, 2023"), or None.
    dateline: str | None = None
    dateline_line: int | None = None
    #: The outlet's printed publication date line ("October 20, 2023"), or None.
    date_line: str | None = None
    date_line_line: int | None = None
    section: str | None = None
    #: The outlet as the page itself names it, when it does ("SpaceWar.com").
    site: str | None = None
    paragraphs: list[tuple[str, str]] = field(default_factory=list)
    captions: list[tuple[str, str | None]] = field(default_factory=list)
    copyright: str | None = None
    #: The article URL as printed (repaired), or None.
    url: str | None = None
    url_line: int | None = None
    removed: list[tuple[str, int, int]] = field(default_factory=list)
    warnings: list[tuple[str, int | None, str]] = field(default_factory=list)

    def remove(self, kind: str, lines: list[Line]) -> None:
        """Record raw ``lines`` (one block, blank lines at the ends ignored) as removed ``kind``."""
        text_lines = [line for line in lines if line.text.strip()]
        if not text_lines:
            return
        first, last = text_lines[0].number, text_lines[-1].number
        chars = sum(len(line.text) for line in lines if first <= line.number <= last) + (last - first)
        self.removed.append((kind, first, chars))

    def remove_chars(self, kind: str, line: int, chars: int) -> None:
        """Record ``chars`` characters of raw line ``line`` as removed ``kind`` (nothing when 0)."""
        if chars > 0:
            self.removed.append((kind, line, chars))

    def warn(self, code: str, line: int | None, message: str) -> None:
        """Add a warning for the converter to report."""
        self.warnings.append((code, line, message))


from newscorpus.layouts import generic, moscowtimes, spacewar  # noqa: E402  (they import Draft)

#: Layouts in the order they are tried; the last one, :data:`FALLBACK`, takes anything.
LAYOUTS: list[ModuleType] = [spacewar, moscowtimes, generic]
FALLBACK: ModuleType = generic


def by_name(name: str) -> ModuleType | None:
    """The layout called ``name``, or None."""
    return next((layout for layout in LAYOUTS if layout.name == name), None)


def detect(lines: list[str]) -> ModuleType | None:
    """The first layout that recognises ``lines``, or None when only the fallback would take them."""
    return next((layout for layout in LAYOUTS if layout is not FALLBACK and layout.detect(lines)), None)
