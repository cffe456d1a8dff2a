"""Checks every converted article record must pass, shared by the converter's tests.

* it is valid against schema/article.schema.json;
* body.text is its paragraphs joined by a blank line, and each paragraph's
  offsets are code point offsets of its text;
* every non-blank raw line is accounted for: it is inside a removed block, or
  its text is in the record (body, inter-title in its marks, headline,
  byline, dateline, section, caption, printed date).
"""

from __future__ import annotations

from newscorpus.datelines import parse_date_line
from newscorpus.layouts.cleanup import clean_inline
from newscorpus.schemas import is_valid, schema_problems

#: Removed kinds that take part of a line only: the rest of the line must still be in the record.
PARTIAL_KINDS = {"markup", "control-characters", "repeated-dateline"}


def assert_well_formed(record: dict) -> None:
    """Schema-valid, and body text and paragraph offsets agree."""
    assert is_valid(record, "article"), list(schema_problems(record, "article", "record"))
    body = record["body"]
    texts = [body["text"][p["start"]:p["end"]] for p in body["paragraphs"]]
    assert "\n\n".join(texts) == body["text"]
    assert all(text and text == text.strip() and "\n" not in text for text in texts)
    position = 0
    for paragraph in body["paragraphs"]:
        assert paragraph["start"] == position
        position = paragraph["end"] + 2


def covered_lines(record: dict, lines: list[str]) -> set[int]:
    """Raw line numbers inside whole-block removed entries."""
    covered: set[int] = set()
    for item in record["provenance"]["removed"]:
        if item["kind"] in PARTIAL_KINDS:
            continue
        number, remaining = item["line"], item["chars"]
        while number <= len(lines):
            covered.add(number)
            remaining -= len(lines[number - 1])
            if remaining <= 0:
                break
            remaining -= 1
            number += 1
        assert remaining <= 0, f"removed block at line {item['line']} runs past the end of the file"
    return covered


def unaccounted_lines(record: dict, lines: list[str]) -> list[tuple[int, str]]:
    """Non-blank raw lines neither removed nor found in the record."""
    covered = covered_lines(record, lines)
    repeats = {item["line"]: item["chars"] for item in record["provenance"]["removed"] if item["kind"] == "repeated-dateline"}
    body = record["body"]["text"]
    dateline = (record["dateline"] or {}).get("text")
    exact = {h["value"] for h in record["headlines"]} | {record["articleSection"]} | {dateline}
    subheadings = [body[p["start"]:p["end"]] for p in record["body"]["paragraphs"] if p["role"] == "subheading"]
    missing = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or number in covered:
            continue
        text = clean_inline(line)[0]
        if (
            text in body
            or (number in repeats and text[repeats[number]:] in body)
            or text in exact
            or any(title in text for title in subheadings)
            or (record["by"] and text.lower() == f"by {record['by']}".lower())
            or (record["by"] and text.lower().startswith(f"by {record['by']}".lower())
                and str(parse_date_line(text[3 + len(record["by"]):].strip(" |·•—–-,"))) == record["datePublished"])
            or (dateline and text.startswith(dateline) and text[len(dateline):].strip(" -–—:") in body)
            or (dateline and _straddles(text, dateline, body))  # a lead dateline hard-wrapped over lines
            or any(c["text"] in text and (c["credit"] or "") in text for c in record["captions"])
            or (record["datePublished"] and str(parse_date_line(text)) == record["datePublished"])
        ):
            continue
        missing.append((number, line))
    return missing


def _straddles(text: str, dateline: str, body: str) -> bool:
    """Whether ``text`` is a line of a hard-wrapped first paragraph that opened with the dateline."""
    squeeze = str.maketrans("", "", " -–—:")
    return text.translate(squeeze) in (dateline + body.split("\n\n")[0]).translate(squeeze)
