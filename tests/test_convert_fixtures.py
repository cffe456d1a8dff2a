"""Raw articles of each layout under tests/fixtures/raw/<layout>/, each checked against its sidecar.

``<name>.txt`` is the raw file; ``<name>.expected.json`` says what its record
must hold.  Keys of the sidecar (all but ``paragraphs`` optional):

* ``entry``: the manifest entry to convert with (else none);
* ``layout``, ``id``, ``headline``, ``subheadlines``, ``by``, ``agency`` (the
  wire names of infoSources), ``dateline``, ``datePublished``, ``uri``,
  ``publisher``, ``section``, ``usageTerms``, ``encoding``;
* ``paragraphs`` (count), ``subheadings`` (texts, in order), ``captions``;
* ``first_paragraph_starts``, ``in_body`` and ``not_in_body`` (strings);
* ``copyright_starts``; ``removed_kinds`` (the set of provenance.removed kinds)
  and ``removed_count`` (how many entries of a kind);
* ``warnings``: the exact set of problem codes (all warnings) expected.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from newscorpus.convert import convert_path
from newscorpus.layouts import LAYOUTS
from newscorpus.rawtext import read_text
from recordcheck import assert_well_formed, unaccounted_lines

FIXTURES = Path(__file__).parent / "fixtures" / "raw"
CASES = sorted(FIXTURES.glob("*/*.txt"))


def _expected(raw: Path) -> dict:
    return json.loads(raw.with_name(raw.stem + ".expected.json").read_text(encoding="utf-8"))


def test_every_layout_has_at_least_three_fixtures_each_with_a_sidecar():
    by_layout = Counter(raw.parent.name for raw in CASES)
    assert {layout.name for layout in LAYOUTS} <= set(by_layout)
    assert all(count >= 3 for count in by_layout.values()), by_layout
    sidecars = sorted(FIXTURES.glob("*/*.expected.json"))
    assert len(sidecars) == len(CASES)
    for raw in CASES:
        assert _expected(raw)["paragraphs"] > 0


@pytest.mark.parametrize("raw", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_converts_as_its_sidecar_says(raw: Path):
    expected = _expected(raw)
    record, problems = convert_path(raw, file=raw.name, entry=expected.get("entry"))
    assert record is not None, problems
    assert_well_formed(record)
    text, _ = read_text(raw.read_bytes(), raw.name)
    assert unaccounted_lines(record, text.lines) == []
    assert all(p.severity == "warning" for p in problems), problems
    assert sorted({p.code for p in problems}) == sorted(expected.get("warnings", []))
    assert all(p.file == raw.name for p in problems)

    body = record["body"]["text"]
    paragraphs = [(body[p["start"]:p["end"]], p["role"]) for p in record["body"]["paragraphs"]]
    assert len(paragraphs) == expected["paragraphs"], [text[:60] for text, _ in paragraphs]
    assert [text for text, role in paragraphs if role == "subheading"] == expected.get("subheadings", [])
    assert record["provenance"]["layout"] == expected.get("layout", raw.parent.name)

    assert record["headlines"][0] == {"role": "main", "value": expected["headline"]}
    assert [h["value"] for h in record["headlines"][1:]] == expected.get("subheadlines", [])
    assert record["by"] == expected["by"]
    wires = [source["name"] for source in record["infoSources"] if source["role"] == "wire"]
    assert wires == expected["agency"]
    assert record["infoSources"][-1] == {"name": record["publisher"]["name"], "role": "publisher"}
    assert record["dateline"] == expected["dateline"]
    assert record["located"] == (expected["dateline"] or {}).get("located")
    assert record["datePublished"] == expected["datePublished"]
    assert record["uri"] == expected["uri"]
    assert record["captions"] == expected.get("captions", [])
    for key, field in (("publisher", None), ("section", "articleSection"), ("id", "id"),
                       ("usageTerms", "usageTerms"), ("encoding", None)):
        if key in expected:
            actual = {
                "publisher": record["publisher"]["name"],
                "encoding": record["provenance"]["encoding"],
            }.get(key, record.get(field or key))
            assert actual == expected[key], key

    if "first_paragraph_starts" in expected:
        assert paragraphs[0][0].startswith(expected["first_paragraph_starts"])
    for text in expected.get("in_body", []):
        assert text in body, text
    for text in expected.get("not_in_body", []):
        assert text not in body, text
    if "copyright_starts" in expected:
        assert record["copyrightNotice"].startswith(expected["copyright_starts"])
    else:
        assert record["copyrightNotice"] is None
    kinds = Counter(item["kind"] for item in record["provenance"]["removed"])
    assert set(kinds) == set(expected.get("removed_kinds", []))
    for kind, count in expected.get("removed_count", {}).items():
        assert kinds[kind] == count, kind
