"""Rebase: stale annotation documents are re-anchored by their selectors, or left alone and reported."""

from __future__ import annotations

import copy
import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newscorpus import SCHEMA_VERSION
from newscorpus.cli import main
from newscorpus.rebase import locate, rebase_document
from newscorpus.spans import body_sha256, span
from newscorpus.validate import document_problems

BODY = (
    "North Korean leader Kim Jong Un said Thursday he wants to build a \"forward-looking\" relationship "
    "with Russia as he met with Foreign Minister Sergei Lavrov, state media reported.\n\n"
    "The veteran envoy's two-day visit is expected to lay the groundwork for a trip by Vladimir Putin.\n\n"
    "\"Like our North Korean friends, we are seriously worried,\" Lavrov told journalists, "
    "according to Russian news agencies."
)


def at(body: str, text: str, nth: int = 0) -> tuple[int, int]:
    """Offsets of the nth occurrence of text in body."""
    start = -1
    for _ in range(nth + 1):
        start = body.index(text, start + 1)
    return start, start + len(text)


def make_document(body: str, lavrov: str = "Sergei Lavrov") -> dict:
    """A valid annotation document on ``body``: three mentions, two quotes with cues and a channel."""
    mentions = [
        {"id": "m1", **span(body, *at(body, "Kim Jong Un")), "label": "PERSON", "entity": "e-kim", "annotator": "ann-01", "origin": "human"},
        {"id": "m2", **span(body, *at(body, lavrov)), "label": "PERSON", "entity": "e-lavrov", "annotator": "ann-01", "origin": "human"},
        {"id": "m3", **span(body, *at(body, "Lavrov", 1)), "label": "PERSON", "entity": "e-lavrov", "annotator": "ann-01", "origin": "human"},
    ]
    quotes = [
        {
            "id": "q1", "type": "indirect",
            "content": [span(body, *at(body, "he wants to build a \"forward-looking\" relationship with Russia"))],
            "cue": span(body, *at(body, "said")), "speaker": "m1", "annotator": "ann-01", "origin": "human",
            "channel": span(body, *at(body, "state media reported")),
        },
        {
            "id": "q2", "type": "direct",
            "content": [span(body, *at(body, "Like our North Korean friends, we are seriously worried,"))],
            "cue": span(body, *at(body, "told journalists")), "speaker": "m3", "annotator": "ann-01", "origin": "human",
        },
    ]
    return {
        "schemaVersion": SCHEMA_VERSION,
        "article": {"id": "moscowtimes-2023-10-20-1e425f2c", "bodySha256": body_sha256(body)},
        "entities": [
            {"id": "e-kim", "name": "Kim Jong Un", "label": "PERSON"},
            {"id": "e-lavrov", "name": "Sergei Lavrov", "label": "PERSON"},
        ],
        "mentions": mentions,
        "quotes": quotes,
    }


def texts(doc: dict) -> list[str]:
    """Every span text of a document, in document order."""
    out = [m["text"] for m in doc["mentions"]]
    for quote in doc["quotes"]:
        out += [p["text"] for p in quote["content"]] + [quote[k]["text"] for k in ("cue", "channel") if quote.get(k)]
    return out


def test_the_fixture_document_is_valid():
    assert document_problems(make_document(BODY), "a.json", BODY) == []


def test_a_current_document_is_returned_as_it_is():
    doc = make_document(BODY)
    result = rebase_document(doc, BODY, "a.json")
    assert result.document is doc and result.problems == []


def test_a_paragraph_inserted_before_moves_every_span():
    doc = make_document(BODY)
    new_body = "Pyongyang, Oct 20.\n\n" + BODY
    assert [p.code for p in document_problems(doc, "a.json", new_body)] == ["annotation-stale"]
    result = rebase_document(doc, new_body, "a.json")
    assert result.ok and result.problems == []
    assert result.moved == len(texts(doc))
    assert texts(result.document) == texts(doc)
    assert result.document["article"]["bodySha256"] == body_sha256(new_body)
    assert document_problems(result.document, "a.json", new_body) == []


def test_the_input_document_is_not_changed():
    doc = make_document(BODY)
    before = copy.deepcopy(doc)
    rebase_document(doc, "Intro.\n\n" + BODY, "a.json")
    assert doc == before


def test_rebasing_twice_changes_nothing_more():
    new_body = BODY.replace("Thursday", "on Thursday")
    once = rebase_document(make_document(BODY), new_body, "a.json").document
    assert rebase_document(once, new_body, "a.json").document is once


def test_an_edit_inside_a_span_is_placed_by_its_context_and_reported():
    old_body = BODY.replace("Sergei Lavrov", "Sergei\nLavrov")  # a line break the new converter joins
    doc = make_document(old_body, lavrov="Sergei\nLavrov")
    result = rebase_document(doc, BODY, "a.json")
    assert result.ok
    assert [(p.code, p.pointer, p.severity) for p in result.problems] == [("rebase-text-changed", "/mentions/1/text", "warning")]
    assert result.document["mentions"][1]["text"] == "Sergei Lavrov"
    assert document_problems(result.document, "a.json", BODY) == []


def test_a_deleted_sentence_leaves_the_document_alone_and_names_the_spans():
    new_body = BODY.replace("The veteran envoy's two-day visit is expected to lay the groundwork for a trip by Vladimir Putin.\n\n", "")
    doc = make_document(BODY)
    doc["mentions"].append({"id": "m4", **span(BODY, *at(BODY, "Vladimir Putin")), "label": "PERSON", "entity": "e-kim", "annotator": "ann-01", "origin": "human"})
    result = rebase_document(doc, new_body, "a.json")
    assert result.document is None and not result.ok
    assert [(p.code, p.pointer) for p in result.problems] == [("rebase-unresolved", "/mentions/3")]


def test_a_repeated_passage_makes_its_spans_ambiguous_not_guessed():
    paragraphs = BODY.split("\n\n")
    new_body = "\n\n".join(paragraphs[1:] + paragraphs)  # a converter bug printing two paragraphs twice
    doc = make_document(BODY)
    doc["mentions"].append({"id": "m4", **span(BODY, *at(BODY, "Vladimir Putin")), "label": "PERSON", "entity": "e-kim", "annotator": "ann-01", "origin": "human"})
    result = rebase_document(doc, new_body, "a.json")
    assert result.document is None
    assert {p.code for p in result.problems} == {"rebase-ambiguous"}
    assert {p.pointer for p in result.problems} == {"/mentions/2", "/mentions/3", "/quotes/1/content/0", "/quotes/1/cue"}


def test_context_picks_the_right_one_of_several_occurrences():
    body = "Lavrov said no. Then Lavrov said yes, twice. Lavrov said maybe."
    item = span(body, *at(body, "said", 1))
    new_body = "Earlier: " + body.replace("Then", "And then")
    where = locate(item, new_body)
    assert new_body[where.start:where.end] == "said"
    assert new_body[where.end:].startswith(" yes")


def test_a_span_at_the_very_start_keeps_its_place_by_its_short_prefix():
    body = "Lavrov said no to it."
    item = span(body, 0, 6)
    assert item["prefix"] == ""
    assert locate(item, "Lavrof said no to it.").how == "text-changed"


def test_a_document_with_schema_errors_is_not_rebased():
    doc = make_document(BODY)
    del doc["mentions"][0]["label"]
    result = rebase_document(doc, "X " + BODY, "a.json")
    assert result.document is None
    assert [p.code for p in result.problems] == ["schema-required"]


words = st.text(alphabet="abcdefghij ,.\n", min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(insert=words, where=st.integers(min_value=0, max_value=len(BODY)))
def test_an_insertion_outside_the_spans_keeps_every_text_and_shifts_the_offsets(insert, where):
    doc = make_document(BODY)
    starts = sorted((s, e) for s, e in ((m["start"], m["end"]) for m in doc["mentions"]))
    if any(s < where < e for s, e in starts) or any(
        p["start"] < where < p["end"] for q in doc["quotes"] for p in q["content"] + [q["cue"]] + ([q["channel"]] if q.get("channel") else [])
    ):
        return
    new_body = BODY[:where] + insert + BODY[where:]
    result = rebase_document(doc, new_body, "a.json")
    assert result.ok, result.problems
    for old, new in zip(doc["mentions"], result.document["mentions"]):
        assert new["text"] == old["text"]
        assert new["start"] == old["start"] + (len(insert) if where <= old["start"] else 0)
    assert document_problems(result.document, "a.json", new_body) == []


def _files(tmp_path, doc: dict, body: str):
    doc_path = tmp_path / "gold" / "moscowtimes-2023-10-20-1e425f2c.json"
    doc_path.parent.mkdir()
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    article = tmp_path / "article.json"
    article.write_text(json.dumps({"id": "moscowtimes-2023-10-20-1e425f2c", "body": {"text": body, "paragraphs": []}}), encoding="utf-8")
    return doc_path, article


def test_cli_check_reports_a_stale_document_and_writes_nothing(tmp_path, capsys):
    doc_path, article = _files(tmp_path, make_document(BODY), "Intro.\n\n" + BODY)
    before = doc_path.read_bytes()
    assert main(["rebase", str(doc_path), "--article", str(article), "--check"]) == 1
    assert "annotation-stale" in capsys.readouterr().out
    assert doc_path.read_bytes() == before


def test_cli_rebases_in_place_and_then_is_clean(tmp_path, capsys):
    new_body = "Intro.\n\n" + BODY
    doc_path, article = _files(tmp_path, make_document(BODY), new_body)
    assert main(["rebase", str(doc_path.parent), "--article", str(article)]) == 0
    rebased = json.loads(doc_path.read_text(encoding="utf-8"))
    assert rebased["article"]["bodySha256"] == body_sha256(new_body)
    assert document_problems(rebased, "a.json", new_body) == []
    assert main(["rebase", str(doc_path), "--article", str(article), "--check"]) == 0
    assert not list(doc_path.parent.glob(".*.tmp"))



@pytest.mark.parametrize("mode", [0o644, 0o640], ids=oct)
def test_cli_rebase_keeps_the_permission_bits_of_the_document(tmp_path, capsys, mode):
    doc_path, article = _files(tmp_path, make_document(BODY), "Intro.\n\n" + BODY)
    os.chmod(doc_path, mode)
    assert main(["rebase", str(doc_path), "--article", str(article)]) == 0
    assert stat.S_IMODE(doc_path.stat().st_mode) == mode

def test_cli_unresolved_span_exits_1_and_leaves_the_file(tmp_path, capsys):
    doc_path, article = _files(tmp_path, make_document(BODY), BODY.replace("Kim Jong Un", "the leader"))
    before = doc_path.read_bytes()
    assert main(["rebase", str(doc_path), "--article", str(article)]) == 1
    assert "rebase-unresolved" in capsys.readouterr().out
    assert doc_path.read_bytes() == before


def test_cli_document_of_an_unknown_article(tmp_path, capsys):
    doc = make_document(BODY)
    doc["article"]["id"] = "another-article"
    doc_path, article = _files(tmp_path, doc, BODY)
    assert main(["rebase", str(doc_path), "--article", str(article), "--format", "json"]) == 1
    assert [p["code"] for p in json.loads(capsys.readouterr().out)] == ["article-unknown"]


@pytest.mark.parametrize("args", [["nowhere.json"], []])
def test_cli_usage_errors(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    assert main(["rebase", *args]) == 2


def reported(fmt: str, out: str) -> list[tuple]:
    """(code, file, line) of each problem ``out``, a report in format ``fmt``, lists (tests/test_migrate.py too)."""
    if fmt == "json":
        return [(p["code"], p["file"], p["line"]) for p in json.loads(out)]
    if fmt == "github":
        found = []
        for line in out.splitlines():
            props = dict(kv.split("=", 1) for kv in line.split("::")[1].split(" ", 1)[1].split(","))
            found.append((props["title"], props["file"], int(props["line"]) if "line" in props else None))
        return found
    lines = out.splitlines()
    assert lines[-1] != "no problems" or len(lines) == 1, out
    found = []
    for line in lines[:-1]:
        place, _, code, _ = line.split(": ", 3)
        file, _, rest = place.partition(":")
        found.append((code, file, int(rest.split("#")[0]) if rest else None))
    return found


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_cli_check_reports_each_stale_document_as_a_problem_in_every_format(tmp_path, capsys, fmt):
    new_body = "Intro.\n\n" + BODY
    doc_path, article = _files(tmp_path, make_document(BODY), new_body)
    current = doc_path.with_name("current.json")
    current.write_text(json.dumps(make_document(new_body), indent=2), encoding="utf-8")
    doc_path.write_text(json.dumps(make_document(BODY), indent=2), encoding="utf-8")
    line = doc_path.read_text(encoding="utf-8").splitlines().index(f'    "bodySha256": "{body_sha256(BODY)}"') + 1
    assert main(["rebase", str(doc_path.parent), "--article", str(article), "--check", "--format", fmt]) == 1
    out = capsys.readouterr().out
    assert reported(fmt, out) == [("annotation-stale", str(doc_path), line)]
    if fmt == "text":
        assert "would re-anchor" in out and "no problems" not in out
    rebased = main(["rebase", str(doc_path.parent), "--article", str(article)])
    capsys.readouterr()
    assert rebased == 0
    assert main(["rebase", str(doc_path.parent), "--article", str(article), "--check", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert reported(fmt, out) == []
    assert out == {"text": "no problems\n", "json": "[]\n", "github": ""}[fmt]
