"""Rendering problems for people (text), tools (json) and CI (GitHub annotations)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Iterable

from newscorpus.problems import Problem, sort_key

FORMATS = ("text", "json", "github")


def render(problems: Iterable[Problem], fmt: str = "text") -> str:
    """All problems in one of :data:`FORMATS`, sorted by file, line and pointer."""
    ordered = sorted(problems, key=sort_key)
    if fmt == "json":
        return json.dumps([p.as_dict() for p in ordered], ensure_ascii=False, indent=2) + "\n"
    if fmt == "github":
        return "".join(_github(p) + "\n" for p in ordered)
    if fmt == "text":
        lines = [f"{p.where()}: {p.severity}: {p.code}: {p.message}" for p in ordered]
        return "".join(line + "\n" for line in lines) + summary(ordered) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def summary(problems: Iterable[Problem]) -> str:
    """One line: how many errors and warnings, by code.

    >>> summary([])
    'no problems'
    """
    problems = list(problems)
    if not problems:
        return "no problems"
    counts = Counter(p.severity for p in problems)
    codes = Counter(p.code for p in problems)
    by_code = ", ".join(f"{code} ×{n}" for code, n in sorted(codes.items()))
    return f"{counts['error']} error(s), {counts['warning']} warning(s): {by_code}"


def _escape(value: str, *, property_: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def _github(problem: Problem) -> str:
    """A GitHub Actions workflow command, so the problem shows on the file and line."""
    level = "error" if problem.severity == "error" else "warning"
    props = [f"file={_escape(problem.file, property_=True)}"]
    if problem.line:
        props.append(f"line={problem.line}")
    props.append(f"title={_escape(problem.code, property_=True)}")
    where = f" at {problem.pointer}" if problem.pointer else ""
    return f"::{level} {','.join(props)}::{_escape(problem.message + where)}"
