"""Migrate: annotation documents of older schema versions are brought up to date, or refused with a reason.

The real history (1.0.0 -> 1.1.0: selectors required) is tested on a committed document of each older
version (tests/fixtures/migrate/<version>/), which must migrate to tests/fixtures/migrate/<current>/ byte
for byte; the chain mechanics on a made-up three-version history.
"""

from __future__ import annotations

import copy
import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newscorpus import SCHEMA_VERSION
from newscorpus import migrate as migrate_module
from newscorpus.cli import main
from newscorpus.jsonio import dumps
from newscorpus.migrate import Migration, migrate_document, migration_path, require_selectors, version_key
from newscorpus.schemas import is_valid, released_versions
from newscorpus.spans import body_sha256, span
from newscorpus.validate import document_problems

from conftest import FIXTURES
from test_rebase import BODY, make_document, reported

MIGRATE = FIXTURES / "migrate"
FIXTURE_CORPUS = FIXTURES / "corpus"
OLDER = released_versions()[:-1]


def as_1_0_0(doc: dict) -> dict:
    """``doc`` written at 1.0.0 with no selector on any span (1.0.0 allowed that)."""
    old = copy.deepcopy(doc)
    old["schemaVersion"] = "1.0.0"
    for item in _spans(old):
        item.pop("prefix", None)
        item.pop("suffix", None)
    return old


def _spans(doc: dict) -> list[dict]:
    out = list(doc["mentions"])
    for quote in doc["quotes"]:
        out += quote["content"] + [quote[k] for k in ("cue", "channel") if quote.get(k)]
    return out


def _article_record(tmp_path, body: str, name: str = "article.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"id": "moscowtimes-2023-10-20-1e425f2c", "body": {"text": body, "paragraphs": []}}), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the shipped history


def test_every_older_released_version_has_a_chain_and_a_committed_example():
    assert OLDER, "1.0.0 is kept for migration"
    for version in OLDER:
        assert migration_path(version), version
    for step in migrate_module.MIGRATIONS:
        assert migration_path(step.source) is not None
        assert step.source in released_versions(), f"the schemas of {step.source} are kept in schema/{step.source}/"
    assert migration_path(SCHEMA_VERSION) == []
    assert sorted(p.name for p in MIGRATE.iterdir()) == sorted(released_versions())


@pytest.mark.parametrize("version", OLDER)
def test_each_older_example_is_a_document_of_its_own_version(version):
    for path in sorted((MIGRATE / version).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["schemaVersion"] == version
        assert is_valid(doc, "annotation", version)
        assert not is_valid(doc, "annotation"), "the example must need the migration"


@pytest.mark.parametrize("version", OLDER)
def test_cli_migrates_each_older_example_to_the_current_one_byte_for_byte(version, tmp_path, capsys):
    folder = tmp_path / version
    shutil.copytree(MIGRATE / version, folder)
    assert main(["migrate", str(folder), "--corpus", str(FIXTURE_CORPUS), "--check"]) == 1
    assert main(["migrate", str(folder), "--corpus", str(FIXTURE_CORPUS)]) == 0
    expected = sorted((MIGRATE / SCHEMA_VERSION).glob("*.json"))
    assert expected and sorted(p.name for p in folder.iterdir()) == [p.name for p in expected]
    for path in expected:
        assert (folder / path.name).read_bytes() == path.read_bytes(), path.name
    assert main(["migrate", str(folder), "--corpus", str(FIXTURE_CORPUS), "--check"]) == 0
    assert f"migrated {version} -> " in capsys.readouterr().err


def test_the_current_example_is_the_valid_fixture_document():
    current = (MIGRATE / SCHEMA_VERSION / "moscowtimes-2023-10-20-1e425f2c.json").read_bytes()
    assert current == (FIXTURE_CORPUS / "annotations" / "gold" / "moscowtimes-2023-10-20-1e425f2c.json").read_bytes()


def test_validate_on_a_1_0_0_document_says_to_migrate_it(tmp_path, capsys):
    path = tmp_path / "moscowtimes-2023-10-20-1e425f2c.json"
    shutil.copyfile(MIGRATE / "1.0.0" / path.name, path)
    assert main(["validate", str(path), "--corpus", str(FIXTURE_CORPUS), "--format", "json"]) == 1
    (problem,) = json.loads(capsys.readouterr().out)
    assert problem["code"] == "schema-version-unsupported"
    assert "run `newscorpus migrate`" in problem["message"]


def test_a_1_0_0_document_is_checked_against_its_own_schemas():
    doc = as_1_0_0(make_document(BODY))
    assert [p.code for p in document_problems(doc, "a.json", BODY)] == ["schema-version-unsupported"]
    doc["mentions"][0]["colour"] = "red"
    assert {p.code for p in document_problems(doc, "a.json", BODY)} == {"schema-version-unsupported", "schema-unknown-property"}


# ---------------------------------------------------------------- 1.0.0 -> 1.1.0


def test_selectors_are_derived_from_the_body_the_document_was_made_on():
    current = make_document(BODY)
    result = migrate_document(as_1_0_0(current), "a.json", BODY)
    assert result.problems == [] and [s.target for s in result.steps] == ["1.1.0"]
    assert dumps(result.document) == dumps(current), "same values, same key order"
    assert document_problems(result.document, "a.json", BODY) == []


def test_the_input_document_is_not_changed():
    old = as_1_0_0(make_document(BODY))
    before = copy.deepcopy(old)
    migrate_document(old, "a.json", BODY)
    assert old == before


def test_selectors_a_span_has_are_kept():
    old = as_1_0_0(make_document(BODY))
    old["mentions"][0]["suffix"] = " said"  # shorter than the 32 code points derived: the annotator's own
    result = migrate_document(old, "a.json", BODY)
    mention = result.document["mentions"][0]
    assert mention["suffix"] == " said"
    assert mention["prefix"] == BODY[max(0, mention["start"] - 32):mention["start"]]
    assert list(mention)[:6] == ["id", "start", "end", "text", "prefix", "suffix"]


@pytest.mark.parametrize(
    ("body", "text", "prefix", "suffix"),
    [
        ("Lavrov said it", "Lavrov", "", " said it"),  # at the very start: empty prefix
        ("It was Lavrov", "Lavrov", "It was ", ""),  # at the very end: empty suffix
        ("Lavrov", "Lavrov", "", ""),  # the whole body
        ("👨🏻‍🚒 🇰🇵 Lavrov said 😀", "Lavrov", "👨🏻‍🚒 🇰🇵 ", " said 😀"),  # code points, not UTF-16 units
        ("Line one\r\nLavrov said", "Lavrov", "Line one\r\n", " said"),  # \r\n counts as two
        ("x" * 40 + "Lavrov" + "y" * 40, "Lavrov", "x" * 32, "y" * 32),  # 32 code points of context
    ],
)
def test_selector_edges(body, text, prefix, suffix):
    start = body.index(text)
    doc = {"schemaVersion": "1.0.0", "article": {"id": "a-1", "bodySha256": body_sha256(body)},
           "entities": [{"id": "e", "name": "Lavrov", "label": "PERSON"}],
           "mentions": [{"id": "m1", "start": start, "end": start + len(text), "text": text, "label": "PERSON",
                         "entity": "e", "annotator": "ann-01", "origin": "human"}],
           "quotes": []}
    result = migrate_document(doc, "a.json", body)
    assert result.problems == []
    mention = result.document["mentions"][0]
    assert (mention["prefix"], mention["suffix"]) == (prefix, suffix)
    assert document_problems(result.document, "a.json", body) == []


def test_a_document_whose_spans_all_have_selectors_needs_no_body():
    old = make_document(BODY)
    old["schemaVersion"] = "1.0.0"
    result = migrate_document(old, "a.json", None)
    assert result.problems == []
    assert result.document == {**old, "schemaVersion": SCHEMA_VERSION}


def test_without_the_body_a_span_without_selector_is_not_guessed():
    result = migrate_document(as_1_0_0(make_document(BODY)), "a.json", None)
    assert result.document is None
    (problem,) = result.problems
    assert (problem.code, problem.file, problem.pointer) == ("migrate-needs-article", "a.json", "/mentions/0")
    assert "not in the corpus" in problem.message and "--article" in problem.message


def test_a_body_other_than_the_one_annotated_is_not_used():
    new_body = "Pyongyang, Oct 20.\n\n" + BODY  # every text is still there, at other offsets: using it would be a guess
    result = migrate_document(as_1_0_0(make_document(BODY)), "a.json", new_body)
    assert result.document is None
    (problem,) = result.problems
    assert problem.code == "migrate-needs-article" and "bodySha256 differs" in problem.message


@pytest.mark.parametrize(
    ("edit", "code", "pointer"),
    [
        (lambda d: d["mentions"][1].__setitem__("text", "Sergei Lavrof"), "span-text-mismatch", "/mentions/1/text"),
        (lambda d: d["quotes"][1]["cue"].update(start=10, end=26), "span-text-mismatch", "/quotes/1/cue/text"),
        (lambda d: d["quotes"][0]["content"][0].update(start=len(BODY) - 3, end=len(BODY) + 50), "span-out-of-bounds", "/quotes/0/content/0/end"),
        (lambda d: d["mentions"][2].update(start=d["mentions"][2]["end"], end=d["mentions"][2]["start"]), "span-inverted", "/mentions/2/end"),
    ],
)
def test_a_span_whose_text_is_not_the_body_there_is_reported_and_nothing_changes(edit, code, pointer):
    old = as_1_0_0(make_document(BODY))
    edit(old)
    result = migrate_document(old, "a.json", BODY)
    assert result.document is None
    assert [(p.code, p.pointer) for p in result.problems] == [(code, pointer)]


def test_every_mismatched_span_is_reported_at_once():
    old = as_1_0_0(make_document(BODY))
    old["mentions"][0]["text"] = "Kim Jong-un"
    old["quotes"][0]["cue"]["text"] = "says"
    assert [p.pointer for p in migrate_document(old, "a.json", BODY).problems] == ["/mentions/0/text", "/quotes/0/cue/text"]


def test_a_span_that_keeps_its_selectors_is_not_checked_against_the_body():
    old = as_1_0_0(make_document(BODY))
    old["mentions"][0].update(prefix="x", suffix="y")
    old["mentions"][0]["text"] = "Kim Jong-un"  # validate reports it; the migration has nothing to derive here
    result = migrate_document(old, "a.json", BODY)
    assert result.problems == [] and result.document["mentions"][0]["prefix"] == "x"


def test_a_document_invalid_in_its_own_version_is_not_migrated():
    old = as_1_0_0(make_document(BODY))
    old["quotes"][0]["confidence"] = 1
    result = migrate_document(old, "a.json", BODY)
    assert result.document is None and result.steps == []
    assert [(p.code, p.pointer) for p in result.problems] == [("schema-unknown-property", "/quotes/0/confidence")]


def test_offsets_written_as_floats_are_refused_not_sliced():
    old = as_1_0_0(make_document(BODY))
    old["mentions"][0]["start"] = float(old["mentions"][0]["start"])
    result = migrate_document(old, "a.json", BODY)
    assert [(p.code, p.pointer) for p in result.problems] == [("schema-type", "/mentions/0/start")]


body_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=120)


@settings(max_examples=60, deadline=None)
@given(body=body_text, data=st.data())
def test_migration_derives_exactly_the_selectors_spans_span_makes(body, data):
    bounds = st.integers(min_value=0, max_value=len(body) - 1)
    starts = data.draw(st.lists(bounds, min_size=1, max_size=5))
    spans = []
    for start in starts:
        end = data.draw(st.integers(min_value=start + 1, max_value=len(body)))
        spans.append(span(body, start, end))
    current = {"schemaVersion": SCHEMA_VERSION, "article": {"id": "a-1", "bodySha256": body_sha256(body)},
               "entities": [{"id": "e", "name": "E", "label": "ORG"}],
               "mentions": [{"id": f"m{i}", **s, "label": "ORG", "entity": "e", "annotator": "ann-01", "origin": "human"}
                            for i, s in enumerate(spans)],
               "quotes": [{"id": "q1", "type": "indirect", "content": spans, "cue": None, "speaker": None,
                           "annotator": "ann-01", "origin": "human"}]}
    result = migrate_document(as_1_0_0(current), "a.json", body)
    assert result.problems == []
    assert dumps(result.document) == dumps(current)


def test_require_selectors_leaves_a_complete_document_alone():
    doc = make_document(BODY)
    assert require_selectors(copy.deepcopy(doc), None) == doc


# ---------------------------------------------------------------- the command


def test_cli_takes_the_body_from_an_article_record(tmp_path, capsys):
    doc_path = tmp_path / "docs" / "moscowtimes-2023-10-20-1e425f2c.json"
    doc_path.parent.mkdir()
    doc_path.write_text(dumps(as_1_0_0(make_document(BODY))), encoding="utf-8")
    record = _article_record(tmp_path, BODY)
    assert main(["migrate", str(doc_path), "--corpus", str(tmp_path / "none")]) == 1
    assert "migrate-needs-article" in capsys.readouterr().out
    assert json.loads(doc_path.read_text(encoding="utf-8"))["schemaVersion"] == "1.0.0"
    assert main(["migrate", str(doc_path), "--article", str(record)]) == 0
    assert doc_path.read_text(encoding="utf-8") == dumps(make_document(BODY))


def test_cli_leaves_a_document_with_a_mismatched_span_as_it_is(tmp_path, capsys):
    old = as_1_0_0(make_document(BODY))
    old["mentions"][1]["text"] = "Sergei Lavrof"
    doc_path = tmp_path / "moscowtimes-2023-10-20-1e425f2c.json"
    doc_path.write_text(dumps(old), encoding="utf-8")
    before = doc_path.read_bytes()
    assert main(["migrate", str(doc_path), "--article", str(_article_record(tmp_path, BODY)), "--format", "json"]) == 1
    assert [(p["code"], p["pointer"]) for p in json.loads(capsys.readouterr().out)] == [("span-text-mismatch", "/mentions/1/text")]
    assert doc_path.read_bytes() == before


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_cli_check_reports_each_document_to_migrate_as_a_problem_in_every_format(tmp_path, capsys, fmt):
    folder = tmp_path / "docs"
    folder.mkdir()
    old = folder / "moscowtimes-2023-10-20-1e425f2c.json"
    old.write_text(dumps(as_1_0_0(make_document(BODY))), encoding="utf-8")
    (folder / "current.json").write_text(dumps(make_document(BODY)), encoding="utf-8")
    line = old.read_text(encoding="utf-8").splitlines().index('  "schemaVersion": "1.0.0",') + 1
    record = _article_record(tmp_path, BODY)
    assert main(["migrate", str(folder), "--article", str(record), "--check", "--format", fmt]) == 1
    out = capsys.readouterr().out
    assert reported(fmt, out) == [("schema-version-unsupported", str(old), line)]
    if fmt == "text":
        assert f"1.0.0 -> {SCHEMA_VERSION}" in out and "no problems" not in out
    assert main(["migrate", str(folder), "--article", str(record)]) == 0
    capsys.readouterr()
    assert main(["migrate", str(folder), "--article", str(record), "--check", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert reported(fmt, out) == []
    assert out == {"text": "no problems\n", "json": "[]\n", "github": ""}[fmt]


def test_cli_does_not_read_bodies_when_every_document_is_current(tmp_path, capsys):
    doc_path = tmp_path / "current.json"
    doc_path.write_text(dumps(make_document(BODY)), encoding="utf-8")
    broken_record = tmp_path / "broken.json"
    broken_record.write_text("{", encoding="utf-8")
    assert main(["migrate", str(doc_path), "--article", str(broken_record)]) == 0


# ---------------------------------------------------------------- the chain, on a made-up history


def _rename_people_to_entities(doc: dict, body: str | None) -> dict:
    """0.8.0 called the entities 'people'."""
    doc["entities"] = doc.pop("people")
    return doc


def _drop_tool(doc: dict, body: str | None) -> dict:
    """0.9.0 recorded the annotation tool; later versions do not."""
    doc.pop("tool")
    return doc


@pytest.fixture
def two_step_history(monkeypatch):
    """A schema history 0.8.0 -> 0.9.0 -> current, as a release with two migrations would have."""
    steps = [
        Migration("0.8.0", "0.9.0", "rename people to entities", _rename_people_to_entities),
        Migration("0.9.0", SCHEMA_VERSION, "drop tool", _drop_tool),
    ]
    monkeypatch.setattr(migrate_module, "MIGRATIONS", steps)
    return steps


def old_document() -> dict:
    """A document as schemaVersion 0.8.0 wrote it."""
    doc = make_document(BODY)
    doc["schemaVersion"] = "0.8.0"
    doc["people"] = doc.pop("entities")
    doc["tool"] = "label-studio 1.10"
    return doc


def test_version_order_is_numeric_not_textual():
    assert version_key("1.10.0") > version_key("1.9.0") > version_key("1.0.10") > version_key("1.0.9")
    with pytest.raises(ValueError):
        version_key("1.0")


def test_a_current_document_is_returned_as_it_is():
    doc = make_document(BODY)
    result = migrate_document(doc, "a.json")
    assert result.document is doc and result.steps == [] and result.problems == []


def test_an_old_document_is_migrated_through_every_step(two_step_history):
    doc = old_document()
    result = migrate_document(doc, "a.json")
    assert [s.target for s in result.steps] == ["0.9.0", SCHEMA_VERSION]
    assert result.problems == []
    assert result.document["schemaVersion"] == SCHEMA_VERSION
    assert document_problems(result.document, "a.json", BODY) == []
    assert doc["schemaVersion"] == "0.8.0" and "people" in doc, "the input must not change"


def test_a_document_midway_starts_from_its_own_version(two_step_history):
    doc = old_document()
    doc["schemaVersion"] = "0.9.0"
    doc["entities"] = doc.pop("people")
    assert [s.source for s in migrate_document(doc, "a.json").steps] == ["0.9.0"]


def test_a_migration_that_yields_an_invalid_document_writes_nothing(two_step_history):
    doc = old_document()
    doc["colour"] = "red"  # nothing migrates this away
    result = migrate_document(doc, "a.json")
    assert result.document is None
    assert [(p.code, p.pointer) for p in result.problems] == [("schema-unknown-property", "/colour")]


def test_a_newer_document_is_refused():
    doc = make_document(BODY)
    doc["schemaVersion"] = "99.0.0"
    result = migrate_document(doc, "a.json")
    assert result.document is None
    assert [p.code for p in result.problems] == ["schema-version-unsupported"]
    assert "upgrade newscorpus" in result.problems[0].message


def test_an_old_version_without_a_chain_is_reported(two_step_history):
    doc = old_document()
    doc["schemaVersion"] = "0.7.0"
    assert [p.code for p in migrate_document(doc, "a.json").problems] == ["migrate-no-path"]


@pytest.mark.parametrize("version", [None, 7, "1.0", "v1.0.0"])
def test_a_missing_or_malformed_version_is_a_schema_problem(version):
    doc = make_document(BODY)
    if version is None:
        del doc["schemaVersion"]
    else:
        doc["schemaVersion"] = version
    result = migrate_document(doc, "a.json")
    assert result.document is None
    assert [p.code for p in result.problems] in (["schema-required"], ["schema-type"], ["schema-pattern"])


def test_validate_advises_migrate_only_when_a_chain_exists(two_step_history):
    doc = old_document()
    (problem,) = [p for p in document_problems(doc, "a.json", None) if p.code == "schema-version-unsupported"]
    assert "newscorpus migrate" in problem.message
    doc["schemaVersion"] = "2.0.0"
    (problem,) = [p for p in document_problems(doc, "a.json", None) if p.code == "schema-version-unsupported"]
    assert "upgrade newscorpus" in problem.message


def test_cli_migrates_a_directory_in_place(tmp_path, two_step_history, capsys):
    folder = tmp_path / "contrib"
    folder.mkdir()
    (folder / "old.json").write_text(json.dumps(old_document()), encoding="utf-8")
    current = json.dumps(make_document(BODY))
    (folder / "current.json").write_text(current, encoding="utf-8")
    assert main(["migrate", str(folder), "--check"]) == 1
    assert json.loads((folder / "old.json").read_text(encoding="utf-8"))["schemaVersion"] == "0.8.0"
    assert main(["migrate", str(folder)]) == 0
    assert json.loads((folder / "old.json").read_text(encoding="utf-8"))["schemaVersion"] == SCHEMA_VERSION
    assert (folder / "current.json").read_text(encoding="utf-8") == current, "current documents are not rewritten"
    assert main(["migrate", str(folder), "--check"]) == 0
    assert "0.8.0 -> 0.9.0 -> " in capsys.readouterr().err


def test_cli_reports_a_newer_document_and_exits_1(tmp_path, capsys):
    doc = make_document(BODY)
    doc["schemaVersion"] = "2.0.0"
    path = tmp_path / "new.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["migrate", str(path), "--format", "json"]) == 1
    assert [p["code"] for p in json.loads(capsys.readouterr().out)] == ["schema-version-unsupported"]
