"""The JSON Schemas of ``schema/``: loading them, and turning violations into problems.

One validator per document kind is built once and reused.  Errors become
:class:`~newscorpus.problems.Problem` values whose code names the broken
keyword and whose pointer is an RFC 6901 JSON Pointer built from
``error.absolute_path`` (``error.json_path`` is JSONPath).

Two validators per kind, one verdict:

* the **reference** validator is python-jsonschema's draft 2020-12 validator,
  with ``pattern`` evaluated with ECMA-262 semantics (``$`` is the end of the
  string, as JSON Schema requires; Python's ``$`` also matches before a final
  newline, which let ``"id\n"`` pass as an id) and ``format`` enforced.  It
  says what is wrong, so it makes every problem;
* the **fast path** is jsonschema-rs (Rust, about 100x faster) on the same
  schemas and registry.  Most documents are valid, and for them its "valid" is
  the whole answer; anything it rejects, or cannot take (a lone surrogate), goes
  to the reference validator.  tests/test_fast_path.py checks on generated
  documents that the two agree.

The schemas of this release's :data:`~newscorpus.SCHEMA_VERSION` are the
``*.schema.json`` files of :func:`schema_dir`; those of every older released
version stay in a subdirectory named after it (``schema/1.0.0/``), each set
with its own registry (their ``$id`` paths name their version), so that
``newscorpus migrate`` can check a document against the version it claims.
Every function taking ``version`` defaults to the current one.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import jsonschema_rs

from newscorpus import SCHEMA_VERSION
from newscorpus.problems import Problem, pointer

if TYPE_CHECKING:  # python-jsonschema and referencing take 0.1 s to import: only when a document is found invalid
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

#: A directory of an older release's schemas is named after its version.
_VERSION_DIR = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

#: Document kinds and their schema files.
KINDS = ("article", "annotation", "manifest", "entity", "mention", "quote", "common")


def schema_dir(version: str = SCHEMA_VERSION) -> Path:
    """The directory holding the ``*.schema.json`` files of ``version`` (default: this release's).

    Installed wheels ship them as package data (``newscorpus/schema``); a
    source checkout reads the top-level ``schema/`` directory.  Older versions
    are its subdirectories named after them.
    """
    packaged = resources.files("newscorpus") / "schema"
    root = Path(str(packaged)) if packaged.is_dir() else Path(__file__).resolve().parents[2] / "schema"
    return root if version == SCHEMA_VERSION else root / version


@cache
def released_versions() -> tuple[str, ...]:
    """Every schema version whose schemas this release holds, oldest first (the current one last).

    >>> released_versions()[-1] == SCHEMA_VERSION
    True
    """
    older = [
        p.name for p in schema_dir().iterdir()
        if p.is_dir() and _VERSION_DIR.match(p.name) and (p / "annotation.schema.json").is_file()
    ]
    return tuple(sorted(older, key=lambda v: tuple(int(n) for n in v.split(".")))) + (SCHEMA_VERSION,)


@cache
def load_schema(kind: str, version: str = SCHEMA_VERSION) -> dict:
    """The schema of one document kind (of ``version``), as a dict."""
    if kind not in KINDS:
        raise ValueError(f"unknown schema kind {kind!r}")
    path = schema_dir(version) / f"{kind}.schema.json"
    if not path.is_file():
        raise ValueError(f"no schemas of version {version!r} (released: {', '.join(released_versions())})")
    return json.loads(path.read_text(encoding="utf-8"))


def _without_dialect(schema: dict) -> dict:
    """``schema`` without ``$schema``: every schema here is draft 2020-12 (tests/test_schema.py checks).

    python-jsonschema picks the validator class of a ``$ref``'d resource from its
    ``$schema``, which would swap :func:`reference_validator_class` for the stock class
    inside ``mention.schema.json`` and the like.
    """
    return {key: value for key, value in schema.items() if key != "$schema"}


@cache
def registry(version: str = SCHEMA_VERSION) -> Registry:
    """A referencing registry holding every schema of ``version`` under its ``$id`` (as draft 2020-12)."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources_ = [
        (load_schema(k, version)["$id"], Resource(contents=_without_dialect(load_schema(k, version)), specification=DRAFT202012))
        for k in KINDS
    ]
    return Registry().with_resources(resources_)


@cache
def ecma_regex(pattern: str) -> re.Pattern:
    """A JSON Schema (ECMA-262) ``pattern`` compiled for Python: an unescaped ``$`` outside a class is ``\\Z``.

    >>> bool(ecma_regex("^[a-z]+$").search("abc\\n"))
    False
    """
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator_: Draft202012Validator, pattern: str, instance: Any, schema: dict) -> Iterator[ValidationError]:
    """The ``pattern`` keyword with ECMA-262 end-of-string semantics."""
    from jsonschema.exceptions import ValidationError

    if validator_.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def reference_validator_class() -> type[Draft202012Validator]:
    """python-jsonschema's draft 2020-12 validator with the ECMA-262 ``pattern``."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": _pattern})


@cache
def validator(kind: str, version: str = SCHEMA_VERSION) -> Draft202012Validator:
    """The one reused reference validator for a document kind (formats enforced)."""
    from jsonschema import Draft202012Validator

    return reference_validator_class()(
        _without_dialect(load_schema(kind, version)),
        registry=registry(version),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def fast_validator(kind: str, version: str = SCHEMA_VERSION) -> jsonschema_rs.Draft202012Validator:
    """The jsonschema-rs validator for a document kind: same schemas, same registry, formats enforced.  One per kind
    and version however it is asked for (``functools.cache`` keys a call by its arguments as passed: ``(kind,)`` and
    ``(kind, SCHEMA_VERSION)`` had each compiled one)."""
    return _fast_validator(kind, version)


@cache
def _fast_validator(kind: str, version: str) -> jsonschema_rs.Draft202012Validator:
    resources = jsonschema_rs.Registry([(load_schema(k, version)["$id"], load_schema(k, version)) for k in KINDS])
    return jsonschema_rs.Draft202012Validator(load_schema(kind, version), registry=resources, validate_formats=True)


def fast_is_valid(instance: Any, kind: str, version: str = SCHEMA_VERSION) -> bool:
    """jsonschema-rs's verdict; False also when it cannot take the value (the reference decides then)."""
    try:
        return fast_validator(kind, version).is_valid(instance)
    except ValueError:  # a string with a lone surrogate, a non-JSON value
        return False


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
    from jsonschema.exceptions import best_match

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


def schema_problems(instance: Any, kind: str, file: str, *, fast: bool = True, version: str = SCHEMA_VERSION) -> Iterator[Problem]:
    """Every schema violation of ``instance`` as a problem (one per error, deepest branch).

    With ``fast`` (the default) a document jsonschema-rs finds valid is not
    looked at again; ``fast=False`` runs only the reference validator (the
    differential tests and the benchmark compare the two).  ``version`` picks
    the schemas of an older release (see :func:`released_versions`).
    """
    if fast and fast_is_valid(instance, kind, version):
        return
    for leaf in (leaf for error in validator(kind, version).iter_errors(instance) for leaf in _leaves(error)):
        path = list(leaf.absolute_path)
        if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
            allowed = set(leaf.schema.get("properties", {}))
            extra = sorted(k for k in leaf.instance if k not in allowed)
            for key in extra:
                yield Problem("schema-unknown-property", file, pointer(*path, key), f"property {key!r} is not allowed here")
            continue
        yield Problem(code_of(leaf), file, pointer(*path), _message(leaf))


def is_valid(instance: Any, kind: str, version: str = SCHEMA_VERSION) -> bool:
    """Whether ``instance`` is valid against the schema of ``kind`` (of ``version``)."""
    return fast_is_valid(instance, kind, version) or validator(kind, version).is_valid(instance)
