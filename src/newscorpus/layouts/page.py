"""A page read top to bottom: header, body, tail; the steps every layout shares."""

from __future__ import annotations

from newscorpus.layouts import Draft, Line, body, header, tail
from newscorpus.layouts.rules import PageRules


def numbered(lines: list[str]) -> list[Line]:
    """``lines`` with their 1-based line numbers.

    >>> numbered(["a", "b"])[1]
    Line(number=2, text='b')
    """
    return [Line(number, text) for number, text in enumerate(lines, start=1)]


def read_rest(lines: list[Line], start: int, draft: Draft, rules: PageRules) -> None:
    """Read the body from ``lines[start:]`` up to the tail, then the tail."""
    end = tail.find_start(lines, start, rules.tail)
    body.read(lines[start:end], draft, rules)
    tail.read(lines[end:], draft, rules.tail)


def read_page(lines: list[Line], rules: PageRules) -> Draft:
    """A :class:`Draft` of a page whose header :mod:`newscorpus.layouts.header` reads."""
    draft = Draft()
    start = header.read(lines, 0, draft, rules)
    read_rest(lines, start, draft, rules)
    return draft
