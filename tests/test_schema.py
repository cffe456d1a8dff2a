"""The JSON Schemas are valid draft 2020-12, versioned, documented, and agree with the code."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from newscorpus import SCHEMA_VERSION
from newscorpus.migrate import version_key
from newscorpus.schemas import KINDS, entity_labels, load_schema, released_versions, schema_dir
from newscorpus.spans import CONTEXT


#: Every (version, kind) of the schemas this release holds: the current ones and those kept for migration.
VERSIONED = [(version, kind) for version in released_versions() for kind in KINDS]


@pytest.mark.parametrize(("version", "kind"), VERSIONED)
def test_schema_is_valid_against_the_metaschema(version, kind):
    schema = load_schema(kind, version)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(("version", "kind"), VERSIONED)
def test_schema_has_id_and_version(version, kind):
    schema = load_schema(kind, version)
    assert schema["version"] == version
    assert schema["$id"] == f"https://newscorpus.github.io/schema/{version}/{kind}.schema.json"


def test_the_current_version_is_the_newest():
    versions = released_versions()
    assert versions[-1] == SCHEMA_VERSION
    assert sorted(versions, key=version_key) == list(versions) and len(set(versions)) == len(versions)


@pytest.mark.parametrize("version", released_versions())
def test_every_schema_file_is_a_known_kind(version):
    assert sorted(p.name.removesuffix(".schema.json") for p in schema_dir(version).glob("*.schema.json")) == sorted(KINDS)


def test_the_schema_directory_holds_the_current_schemas_the_changelog_and_released_versions_only():
    names = {p.name for p in schema_dir().iterdir()}
    expected = {f"{kind}.schema.json" for kind in KINDS} | {"CHANGELOG.md"} | set(released_versions()[:-1])
    assert names == expected


def test_an_unknown_version_has_no_schemas():
    with pytest.raises(ValueError, match="no schemas of version"):
        load_schema("annotation", "0.1.0")


def test_the_changelog_has_one_section_per_released_version_newest_first():
    text = (schema_dir() / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, flags=re.M)
    assert sections == list(reversed(released_versions()))


@pytest.mark.parametrize("key", ["prefix", "suffix"])
def test_since_1_1_0_every_span_and_mention_requires_its_selector(key):
    assert key in load_schema("common")["$defs"]["span"]["required"]
    assert key in load_schema("mention")["required"]
    assert key not in load_schema("common", "1.0.0")["$defs"]["span"]["required"]
    context = load_schema("common")["$defs"]["selectorContext"]
    assert context["maxLength"] == CONTEXT and "minLength" not in context, "an empty selector marks the body's start or end"


def test_labels_are_the_18_ontonotes_types():
    assert len(entity_labels()) == 18
    assert {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "WORK_OF_ART", "CARDINAL"} <= set(entity_labels())


def test_every_article_field_names_the_standard_it_follows():
    properties = load_schema("article")["properties"]
    for name, spec in properties.items():
        description = spec.get("description", "")
        assert any(std in description for std in ("ninjs", "schema.org", "newscorpus's own")), name


@pytest.mark.parametrize("kind", ["article", "annotation", "mention", "quote", "entity", "manifest"])
def test_objects_refuse_unknown_properties(kind):
    def objects(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                yield node
            for value in node.values():
                yield from objects(value)
        elif isinstance(node, list):
            for value in node:
                yield from objects(value)

    found = list(objects(load_schema(kind)))
    assert found
    assert all(o.get("additionalProperties") is False for o in found), json.dumps(found)[:300]
