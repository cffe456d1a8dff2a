"""The two seed articles (corpus/raw) convert exactly as the project requires."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newscorpus.convert import convert_bytes, convert_path
from newscorpus.jsonio import dumps, load_jsonl
from recordcheck import assert_well_formed, unaccounted_lines

RAW = Path(__file__).resolve().parents[1] / "corpus" / "raw"
SPACEWAR = "000_aa6e04d9d268f344.txt"
MOSCOWTIMES = "004_1e425f2c2345ce0e.txt"
MT_URL = "https://www.themoscowtimes.com/2023/10/20/n-koreas-kim-wants-forward-looking-ties-with-russia-a82808"


def _entry(name: str) -> dict:
    rows, problems = load_jsonl(RAW / "manifest.jsonl")
    assert not problems
    return next(data for _, data in rows if data["file"] == name)


def _convert(name: str, entry: dict | None = None) -> tuple[dict, list]:
    record, problems = convert_path(RAW / name, file=name, entry=entry if entry is not None else _entry(name))
    assert record is not None, problems
    assert_well_formed(record)
    return record, problems


def _paragraphs(record: dict) -> list[tuple[str, str]]:
    body = record["body"]
    return [(body["text"][p["start"]:p["end"]], p["role"]) for p in body["paragraphs"]]


def _removed(record: dict, kind: str) -> list[dict]:
    return [item for item in record["provenance"]["removed"] if item["kind"] == kind]


@pytest.fixture(scope="module")
def spacewar() -> dict:
    record, problems = _convert(SPACEWAR)
    assert problems == []
    return record


@pytest.fixture(scope="module")
def moscowtimes() -> dict:
    record, problems = _convert(MOSCOWTIMES)
    assert problems == []
    return record


def test_spacewar_header(spacewar):
    headline = "Russia's Lavrov slams 'dangerous' US policy on North Korea"
    assert spacewar["headlines"] == [{"role": "main", "value": headline}]
    assert _removed(spacewar, "repeated-headline") == [{"kind": "repeated-headline", "line": 4, "chars": len(headline)}]
    assert spacewar["by"] == "AFP Staff Writers"
    assert spacewar["infoSources"] == [{"name": "AFP", "role": "wire"}, {"name": "SpaceWar.com", "role": "publisher"}]
    assert spacewar["dateline"] == {"text": "Seoul (AFP) Oct 19, 2023", "located": "Seoul", "agency": "AFP", "date": "2023-10-19"}
    assert spacewar["located"] == "Seoul"
    assert spacewar["datePublished"] == "2023-10-19"
    assert spacewar["articleSection"] == "NUKEWARS"
    assert spacewar["publisher"] == {"name": "SpaceWar.com"}
    assert spacewar["id"] == "spacewar-2023-10-19-aa6e04d9"
    assert spacewar["uri"] is None
    assert spacewar["usageTerms"] == _entry(SPACEWAR)["rights"]
    assert _removed(spacewar, "site-banner") == [{"kind": "site-banner", "line": 1, "chars": len("Military Space News")}]


def test_spacewar_body_is_the_article_only(spacewar):
    body = spacewar["body"]["text"]
    raw_lines = (RAW / SPACEWAR).read_text(encoding="utf-8").split("\n")
    tail_start = raw_lines.index("Related Links")
    for line in raw_lines[tail_start:]:
        if line.strip():
            assert line not in body, line  # link lists, teasers, banners, copyright
    for text in ("Related Links", "RELATED CONTENT", "Subscribe Free To Our Daily Newsletters", "Tweet",
                 "at SpaceWar.com", "read more", "Space Media Network", "Military Space News", "Copyright"):
        assert text not in body
    assert "Kim Sung Il" in body  # kept as printed
    assert spacewar["copyrightNotice"] == raw_lines[-1]
    assert spacewar["copyrightNotice"].startswith("The content herein, unless otherwise known to be public domain")
    kinds = {item["kind"] for item in spacewar["provenance"]["removed"]}
    assert {"related-links", "newsletter", "share-buttons", "related-content", "copyright"} <= kinds


def test_spacewar_paragraphs(spacewar):
    paragraphs = _paragraphs(spacewar)
    assert len(paragraphs) == 25
    assert [text for text, role in paragraphs if role == "subheading"] == ["Weapons transfers"]
    assert ("Weapons transfers", "subheading") in paragraphs
    assert "- Weapons transfers -" not in spacewar["body"]["text"]
    assert paragraphs[0][0].startswith("Russian Foreign Minister Sergei Lavrov slammed US policy")
    assert paragraphs[-1][0] == (
        "Moscow this week denounced the allegations, insisting Washington had no proof that weapons were being shipped."
    )


def test_moscowtimes_header(moscowtimes):
    assert moscowtimes["headlines"] == [{"role": "main", "value": "N. Korea's Kim Wants 'Forward-Looking' Ties With Russia"}]
    assert moscowtimes["by"] == "AFP"
    assert moscowtimes["infoSources"] == [{"name": "AFP", "role": "wire"}, {"name": "The Moscow Times", "role": "publisher"}]
    assert moscowtimes["datePublished"] == "2023-10-20"
    assert moscowtimes["dateline"] is None
    assert moscowtimes["located"] is None
    assert moscowtimes["articleSection"] is None
    assert moscowtimes["copyrightNotice"] is None
    assert moscowtimes["uri"] == MT_URL


def test_moscowtimes_caption_is_outside_the_body(moscowtimes):
    assert moscowtimes["captions"] == [{
        "text": "Russian Foreign Minister Sergei Lavrov in Pyongyang, North Korea.",
        "credit": "Russian Foreign Ministry Press Service",
    }]
    body = moscowtimes["body"]["text"]
    assert "Press Service" not in body
    assert "Lavrov in Pyongyang, North Korea." not in body


def test_moscowtimes_markup_and_boilerplate_are_gone(moscowtimes):
    dumped = dumps(moscowtimes)
    assert "**" not in dumped and "<u>" not in dumped and "</u>" not in dumped
    body = moscowtimes["body"]["text"]
    assert "Related article" not in body and "Russian Ships Seen Unloading" not in body
    assert _removed(moscowtimes, "related-article") == [{
        "kind": "related-article", "line": 28,
        "chars": len("Related article: <u>Russian Ships Seen Unloading N. Korean Cargo Near Ukraine in 'Likely' Arms Shipment</u>"),
    }]
    assert "Original url" not in body and "themoscowtimes.com" not in body
    assert [item["line"] for item in _removed(moscowtimes, "url-line")] == [72]


def test_moscowtimes_paragraphs(moscowtimes):
    paragraphs = _paragraphs(moscowtimes)
    assert len(paragraphs) == 27
    assert [text for text, role in paragraphs if role == "subheading"] == ["Tightening relationship", "Weapons transfers"]
    joined = [text for text, _ in paragraphs if "the KCNA news agency said, using" in text]
    assert len(joined) == 1 and joined[0].endswith("using the official acronym for North Korea.")
    assert "Kim Il Sung" in moscowtimes["body"]["text"]
    assert not any(text.startswith("news agency said") for text, _ in paragraphs)


@pytest.mark.parametrize("name", [SPACEWAR, MOSCOWTIMES])
def test_nothing_is_dropped_without_a_removed_entry(name):
    record, _ = _convert(name)
    lines = (RAW / name).read_text(encoding="utf-8").split("\n")
    assert unaccounted_lines(record, lines) == []


def test_moscowtimes_url_is_repaired_without_a_manifest():
    record, problems = _convert(MOSCOWTIMES, entry={})
    assert record["uri"] == MT_URL
    assert record["id"] == "raw-" + _entry(MOSCOWTIMES)["sha256"][:16]
    assert record["publisher"] == {"name": "The Moscow Times"}
    assert record["usageTerms"] is None and record["language"] == "en"
    assert problems == []


def test_spacewar_without_a_manifest_takes_the_site_from_its_banner():
    record, problems = _convert(SPACEWAR, entry={})
    assert record["publisher"] == {"name": "SpaceWar.com"}
    assert record["id"] == "raw-defdc04db8baa21a"
    assert problems == []


def test_manifest_url_wins_over_a_different_printed_url():
    entry = {**_entry(MOSCOWTIMES), "url": "https://www.themoscowtimes.com/2023/10/20/other-a1"}
    record, problems = _convert(MOSCOWTIMES, entry=entry)
    assert record["uri"] == entry["url"]
    assert [(p.code, p.severity, p.line) for p in problems] == [("url-mismatch", "warning", 74)]


@pytest.mark.parametrize("name", [SPACEWAR, MOSCOWTIMES])
def test_conversion_is_deterministic(name):
    raw = (RAW / name).read_bytes()
    first = dumps(convert_bytes(raw, file=name, entry=_entry(name))[0])
    second = dumps(convert_bytes(bytes(raw), file=name, entry=json.loads(json.dumps(_entry(name))))[0])
    assert first == second
