"""Migrate: annotation documents of older schema versions are brought up to date, or refused with a reason."""

from __future__ import annotations

import json

import pytest

from newscorpus import SCHEMA_VERSION
from newscorpus import migrate as migrate_module
from newscorpus.cli import main
from newscorpus.migrate import Migration, migrate_document, migration_path, version_key
from newscorpus.validate import document_problems

from test_rebase import BODY, make_document


def _rename_people_to_entities(doc: dict) -> dict:
    """0.8.0 called the entities 'people'."""
    doc["entities"] = doc.pop("people")
    return doc


def _drop_tool(doc: dict) -> dict:
    """0.9.0 recorded the annotation tool; 1.0.0 does not."""
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


def test_the_shipped_table_leads_every_version_it_names_to_the_current_one():
    for step in migrate_module.MIGRATIONS:
        assert migration_path(step.source) is not None
    assert migration_path(SCHEMA_VERSION) == []


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
    doc["tool"] = "x"
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
