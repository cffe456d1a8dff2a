"""The JSON Schemas of ``schema/``: loading them, and turning violations into problems.

One :class:`jsonschema.Draft202012Validator` per document kind is built once
and reused.  Errors become :class:`~newscorpus.problems.Problem` values whose
code names the broken keyword and whose pointer is an RFC 6901 JSON Pointer
built from ``error.absolute_path`` (``error.json_path`` is JSONPath).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from newscorpus.problems import Problem, pointer

#: Document kinds and their schema files.
KINDS = ("article", "annotation", "manifest", "entity", "mention", "quote", "common")


def schema_dir() -> Path:
    """The directory holding the ``*.schema.json`` files.

    Installed wheels ship them as package data (``newscorpus/schema``); a
    source checkout reads the top-level ``schema/`` directory.
    """
    packaged = resources.files("newscorpus") / "schema"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schema"


@cache
def load_schema(kind: str) -> dict:
    """The schema of one document kind, as a dict."""
    if kind not in KINDS:
        raise ValueError(f"unknown schema kind {kind!r}")
    return json.loads((schema_dir() / f"{kind}.schema.json").read_text(encoding="utf-8"))


@cache
def registry() -> Registry:
    """A referencing registry holding every schema under its ``$id``."""
    resources_ = [(load_schema(k)["$id"], Resource.from_contents(load_schema(k))) for k in KINDS]
    return Registry().with_resources(resources_)


@cache
def validator(kind: str) -> Draft202012Validator:
    """The one reused validator for a document kind (formats enforced)."""
    return Draft202012Validator(
        load_schema(kind),
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@cache
def entity_labels() -> tuple[str, ...]:
    """The 18 OntoNotes 5 labels, as the schema lists them."""
    return tuple(load_schema("common")["$defs"]["entityLabel"]["enum"])


@cache
def quote_types() -> tuple[str, ...]:
    """Quote types (direct, indirect, mixed), as the schema lists them."""
    return tuple(load_schema("quote")["properties"]["type"]["enum"])


_KEYWORD_CODES = {
    "required": "schema-required",
    "type": "schema-type",
    "additionalProperties": "schema-unknown-property",
    "unevaluatedProperties": "schema-unknown-property",
    "enum": "schema-enum",
    "pattern": "schema-pattern",
    "format": "schema-format",
    "minimum": "schema-range",
    "maximum": "schema-range",
    "exclusiveMinimum": "schema-range",
    "exclusiveMaximum": "schema-range",
    "minLength": "schema-size",
    "maxLength": "schema-size",
    "minItems": "schema-size",
    "maxItems": "schema-size",
    "uniqueItems": "schema-duplicate-item",
    "const": "schema-const",
}


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors that say what is wrong, looking inside ``anyOf``/``oneOf``.

    A nullable field (``anyOf: [X, null]``) holding a broken X is reported by
    everything that is wrong with the X, not by "is not valid under any schema".
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    real = [
        subs for subs in branches.values()
        if not all(e.validator == "type" and e.validator_value == "null" for e in subs)
    ]
    if len(real) == 1:
        return [leaf for sub in real[0] for leaf in _leaves(sub)]
    return _leaves(best_match(error.context))


def code_of(error: ValidationError) -> str:
    """The stable problem code for one jsonschema error."""
    if error.validator == "enum" and tuple(error.validator_value) == entity_labels():
        return "label-unknown"
    return _KEYWORD_CODES.get(str(error.validator), "schema-invalid")


def _message(error: ValidationError) -> str:
    message = error.message
    if len(message) > 300:
        message = message[:297] + "..."
    return message


@cache
def fast_validator(kind: str) -> Any:
    """A jsonschema-rs validator for ``kind`` (about 500x faster), used only to skip valid documents.

    ``jsonschema`` stays the reference: whenever the fast validator finds a
    document invalid, :func:`schema_problems` asks ``jsonschema`` what is wrong.
    """
    import jsonschema_rs

    registry_ = jsonschema_rs.Registry([(load_schema(k)["$id"], load_schema(k)) for k in KINDS])
    return jsonschema_rs.Draft202012Validator(load_schema(kind), registry=registry_, validate_formats=True)


def schema_problems(instance: Any, kind: str, file: str) -> Iterator[Problem]:
    """Every schema violation of ``instance`` as a problem (one per error, deepest branch)."""
    if fast_validator(kind).is_valid(instance):
        return
    for leaf in (leaf for error in validator(kind).iter_errors(instance) for leaf in _leaves(error)):
        path = list(leaf.absolute_path)
        if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
            allowed = set(leaf.schema.get("properties", {}))
            extra = sorted(k for k in leaf.instance if k not in allowed)
            for key in extra:
                yield Problem("schema-unknown-property", file, pointer(*path, key), f"property {key!r} is not allowed here")
            continue
        yield Problem(code_of(leaf), file, pointer(*path), _message(leaf))


def is_valid(instance: Any, kind: str) -> bool:
    """Whether ``instance`` is valid against the schema of ``kind``."""
    return validator(kind).is_valid(instance)
