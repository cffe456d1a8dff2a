"""ANNOTATION_GUIDELINES.md maps one-to-one onto the annotation schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newscorpus.schemas import entity_labels, load_schema

GUIDELINES = Path(__file__).resolve().parents[1] / "ANNOTATION_GUIDELINES.md"


@pytest.fixture(scope="module")
def guidelines() -> str:
    """The guidelines' text."""
    return GUIDELINES.read_text(encoding="utf-8")


def test_the_type_table_lists_exactly_the_schemas_labels_in_order(guidelines):
    section = guidelines.split("## 2 Entity types", 1)[1].split("\n## ", 1)[0]
    labels = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE)
    assert labels == list(entity_labels())


@pytest.mark.parametrize("schema, path", [
    ("quote", ("properties", "type", "enum")),
    ("mention", ("properties", "kind", "enum")),
])
def test_every_enumerated_value_of_the_schema_is_defined(guidelines, schema, path):
    node = load_schema(schema)
    for key in path:
        node = node[key]
    for value in node:
        assert f"`{value}`" in guidelines, value


@pytest.mark.parametrize("field", ["type", "content", "cue", "speaker", "addressee", "channel", "sameAs"])
def test_every_quote_field_has_a_row(guidelines, field):
    assert re.search(rf"^\| `{field}` \|", guidelines, flags=re.MULTILINE)


def test_the_readme_links_the_guidelines():
    readme = (GUIDELINES.parent / "README.md").read_text(encoding="utf-8")
    assert "(ANNOTATION_GUIDELINES.md)" in readme


def test_internal_links_point_at_headings(guidelines):
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", guidelines, flags=re.MULTILINE)
    }
    for target in re.findall(r"\]\(#([^)]+)\)", guidelines):
        assert target in anchors, target
