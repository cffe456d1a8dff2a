"""Schema migrations: bringing annotation documents of an older schemaVersion up to this release's.

Annotation documents are the one durable, hand-made data of the corpus
(articles are re-made from raw files by the converter), so they carry a
``schemaVersion`` and are migrated, never silently reinterpreted.  A change of
the annotation schema that old documents do not meet bumps
:data:`newscorpus.SCHEMA_VERSION`, keeps the old schemas in
``schema/<old version>/``, is described in ``schema/CHANGELOG.md`` and adds
one :class:`Migration` to :data:`MIGRATIONS`: a function from a document of
``source`` (and the article body it was made on, when known) to one of
``target``.  :func:`migrate_document` checks the document against the schemas
of its own version, follows the chain to the current version, and validates
the result before returning it.

A document of a newer version than this release knows is refused (upgrade
newscorpus); one with no chain to the current version is reported as
``migrate-no-path``.  A step that cannot do its work without guessing raises
:class:`StepRefused`, and the document is left as it is.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable

from newscorpus import SCHEMA_VERSION
from newscorpus.problems import Problem, errors, pointer
from newscorpus.schemas import released_versions, schema_problems
from newscorpus.spans import body_sha256, span

_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


class StepRefused(Exception):
    """A step cannot migrate the document without guessing; ``problems`` say where and why.

    The problems' ``file`` is left empty: :func:`migrate_document` fills it in.
    """

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Migration:
    """One step of the annotation schema: documents of ``source`` become documents of ``target``.

    ``apply(doc, body)`` gets a deep copy of a document of ``source`` (valid
    against that version's schemas when they are kept) and the article body the
    document was made on (its SHA-256 is the document's ``bodySha256``), or None
    when that body is not known.  It returns the new document, or raises
    :class:`StepRefused`.
    """

    source: str
    target: str
    summary: str
    apply: Callable[[dict, str | None], dict]


def _span_slots(doc: dict) -> list[tuple[tuple, dict]]:
    """(pointer parts, span) for every span of a schema-valid document: mentions, quote parts, cues, channels."""
    slots: list[tuple[tuple, dict]] = [(("mentions", i), m) for i, m in enumerate(doc["mentions"])]
    for i, quote in enumerate(doc["quotes"]):
        slots.extend((("quotes", i, "content", j), part) for j, part in enumerate(quote["content"]))
        slots.extend((("quotes", i, key), quote[key]) for key in ("cue", "channel") if isinstance(quote.get(key), dict))
    return slots


def _selector_problem(item: dict, body: str, here: str) -> Problem | None:
    """Why ``item``'s selector cannot be derived from ``body`` (None when it can)."""
    start, end, text = item["start"], item["end"], item["text"]
    if start >= end:
        return Problem("span-inverted", "", here + "/end", f"end {end} is not after start {start}; the selector is not derived")
    if end > len(body):
        return Problem("span-out-of-bounds", "", here + "/end", f"end {end} is past the end of the body ({len(body)} code points); the selector is not derived")
    if body[start:end] != text:
        return Problem("span-text-mismatch", "", here + "/text", f"text is {text!r} but the body has {body[start:end]!r} at {start}:{end}; the selector is not derived")
    return None


def _with_selector(item: dict, body: str) -> dict:
    """``item`` with its missing prefix/suffix derived from ``body``, placed right after ``text``.

    A prefix or suffix the item already has is kept as it is.
    """
    derived = span(body, item["start"], item["end"])
    out: dict = {}
    for key, value in item.items():
        if key in ("prefix", "suffix"):
            continue
        out[key] = value
        if key == "text":
            out["prefix"] = item.get("prefix", derived["prefix"])
            out["suffix"] = item.get("suffix", derived["suffix"])
    return out


def require_selectors(doc: dict, body: str | None) -> dict:
    """1.0.0 -> 1.1.0: every span and mention carries its TextQuoteSelector (``prefix`` and ``suffix``).

    A span that lacks one gets it from ``body``, and only where its text is
    ``body[start:end]``; otherwise nothing is changed and every such span is
    reported.  Without a body, a document with such a span is refused
    (``migrate-needs-article``); one whose spans all have their selectors needs
    no body.
    """
    missing = [(parts, item) for parts, item in _span_slots(doc) if "prefix" not in item or "suffix" not in item]
    if not missing:
        return doc
    if body is None:
        first = pointer(*missing[0][0])
        raise StepRefused([Problem(
            "migrate-needs-article", "", first,
            f"{len(missing)} span(s), the first here, have no prefix/suffix: 1.1.0 requires them, and they are "
            "derived from the body the annotations were made on",
        )])
    found = [p for parts, item in missing if (p := _selector_problem(item, body, pointer(*parts))) is not None]
    if found:
        raise StepRefused(found)
    for _, item in missing:
        selected = _with_selector(item, body)
        item.clear()
        item.update(selected)
    return doc


#: Every migration step, oldest first.  Add one line (and one function) per schema change.
MIGRATIONS: list[Migration] = [
    Migration("1.0.0", "1.1.0", "prefix and suffix (the TextQuoteSelector) required on every span and mention", require_selectors),
]


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


def _body_made_on(doc: dict, body: str | None) -> tuple[str | None, str]:
    """The body if it is the one ``doc`` was made on, and what to do when a step needs it but it is not."""
    article = doc.get("article") if isinstance(doc.get("article"), dict) else {}
    ident, recorded = article.get("id"), article.get("bodySha256")
    if body is None:
        return None, f"article {ident!r} is not in the corpus: give its record with --article"
    if body_sha256(body) != recorded:
        return None, (
            f"the corpus body of article {ident!r} is not the one these annotations were made on (bodySha256 differs): "
            "give the record of that body with --article"
        )
    return body, ""


def migrate_document(doc: Any, file: str, body: str | None = None) -> Migrated:
    """Migrate one annotation document to :data:`SCHEMA_VERSION`; pure, ``doc`` is not changed.

    ``body`` is the current text of the document's article, when known; it is
    handed to the steps only if its SHA-256 is the document's ``bodySha256``.
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
    if version in released_versions():
        found = errors(schema_problems(doc, "annotation", file, version=version)) + _float_offsets(doc, file)
        if found:
            return Migrated(None, [], found)
    made_on, advice = _body_made_on(doc, body)
    new = copy.deepcopy(doc)
    for step in steps:
        try:
            new = step.apply(new, made_on)
        except StepRefused as refused:
            return Migrated(None, steps, [
                p.at(file=file, message=f"{p.message}; {advice}" if p.code == "migrate-needs-article" else p.message)
                for p in refused.problems
            ])
        new["schemaVersion"] = step.target
    found = errors(schema_problems(new, "annotation", file))
    if found:
        return Migrated(None, steps, found)
    return Migrated(new, steps, [])


def _float_offsets(doc: dict, file: str) -> list[Problem]:
    """Offsets written as ``12.0``: JSON Schema counts them as integers, slicing a body with them fails."""
    from newscorpus.validate import Document, check_integral_offsets

    return list(check_integral_offsets(Document(file, doc)))
