"""The JSON Schemas are valid draft 2020-12, versioned, documented, and agree with the code."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from newscorpus import SCHEMA_VERSION
from newscorpus.schemas import KINDS, entity_labels, load_schema, schema_dir


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_against_the_metaschema(kind):
    schema = load_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_has_id_and_version(kind):
    schema = load_schema(kind)
    assert schema["version"] == SCHEMA_VERSION
    assert f"/{SCHEMA_VERSION}/{kind}.schema.json" in schema["$id"]


def test_every_schema_file_is_a_known_kind():
    assert sorted(p.name.removesuffix(".schema.json") for p in schema_dir().glob("*.schema.json")) == sorted(KINDS)


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
