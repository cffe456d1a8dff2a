"""Schema migrations: bringing annotation documents of an older schemaVersion up to this release's.

Annotation documents are the one durable, hand-made data of the corpus
(articles are re-made from raw files by the converter), so they carry a
``schemaVersion`` and are migrated, never silently reinterpreted.  A change of
the annotation schema that old documents do not meet bumps
:data:`newscorpus.SCHEMA_VERSION` and adds one :class:`Migration` to
:data:`MIGRATIONS`: a pure function from a document of ``source`` to one of
``target``.  :func:`migrate_document` follows the chain from the document's
version to the current one and validates the result before returning it.

1.0.0 is the first published schema, so the table is empty: every document
written so far is current.  A document of a newer version than this release
knows is refused (upgrade newscorpus); one with no chain to the current
version is reported as ``migrate-no-path``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable

from newscorpus import SCHEMA_VERSION
from newscorpus.problems import Problem, errors
from newscorpus.schemas import schema_problems

_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


@dataclass(frozen=True)
class Migration:
    """One step of the annotation schema: documents of ``source`` become documents of ``target``."""

    source: str
    target: str
    summary: str
    apply: Callable[[dict], dict]


#: Every migration step, oldest first.  Add one line (and one function) per schema change.
MIGRATIONS: list[Migration] = []


def version_key(version: str) -> tuple[int, int, int]:
    """A SemVer 2.0.0 core version as a sortable tuple.

    >>> version_key("1.10.0") > version_key("1.9.3")
    True
    """
    match = _SEMVER.match(version)
    if not match:
        raise ValueError(f"{version!r} is not a MAJOR.MINOR.PATCH version")
    return int(match[1]), int(match[2]), int(match[3])


def migration_path(version: str, target: str = SCHEMA_VERSION) -> list[Migration] | None:
    """The steps from ``version`` to ``target`` (empty when equal), or None when there is no chain."""
    steps: list[Migration] = []
    by_source = {m.source: m for m in MIGRATIONS}
    while version != target:
        step = by_source.get(version)
        if step is None or step in steps:
            return None
        steps.append(step)
        version = step.target
    return steps


@dataclass
class Migrated:
    """The outcome for one document: the new document (None when it cannot be migrated), steps and problems."""

    document: dict | None
    steps: list[Migration]
    problems: list[Problem]


def migrate_document(doc: Any, file: str) -> Migrated:
    """Migrate one annotation document to :data:`SCHEMA_VERSION`; pure, ``doc`` is not changed.

    A current document is returned as it is (the same object).
    """
    version = doc.get("schemaVersion") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not _SEMVER.match(version):
        found = [p for p in schema_problems(doc, "annotation", file) if p.code in ("schema-type", "schema-required", "schema-pattern")]
        return Migrated(None, [], found or [Problem("schema-invalid", file, "/schemaVersion", "the document has no valid schemaVersion")])
    if version == SCHEMA_VERSION:
        return Migrated(doc, [], [])
    if version_key(version) > version_key(SCHEMA_VERSION):
        return Migrated(None, [], [Problem(
            "schema-version-unsupported", file, "/schemaVersion",
            f"schemaVersion {version} is newer than this release reads ({SCHEMA_VERSION}); upgrade newscorpus",
        )])
    steps = migration_path(version)
    if steps is None:
        return Migrated(None, [], [Problem(
            "migrate-no-path", file, "/schemaVersion",
            f"no migration leads from schemaVersion {version} to {SCHEMA_VERSION}",
        )])
    new = copy.deepcopy(doc)
    for step in steps:
        new = step.apply(new)
        new["schemaVersion"] = step.target
    found = errors(schema_problems(new, "annotation", file))
    if found:
        return Migrated(None, steps, found)
    return Migrated(new, steps, [])
