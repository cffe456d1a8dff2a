"""Problems are data: a stable code, the file, a JSON Pointer, a line, a message.

Checks yield :class:`Problem` values and never print; :mod:`newscorpus.report`
renders them.  Every code is documented in :data:`CODES` (and in the README),
and every code has an invalid fixture named after it under ``tests/fixtures``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Literal

Severity = Literal["error", "warning"]

#: Every problem code, with the one-line explanation shown in the docs.
CODES: dict[str, str] = {
    # reading files
    "file-unreadable": "The file cannot be read (missing, a directory, no permission).",
    "file-not-regular": "The path is a symbolic link, FIFO, device or socket; contributions hold regular files only.",
    "file-too-large": "The file is larger than the limit for its kind; it was not read whole.",
    "json-invalid": "The file is not valid JSON (or a JSON Lines line is not).",
    "json-duplicate-key": "An object has the same key twice; JSON parsers disagree on which wins.",
    "json-constant": "NaN, Infinity or -Infinity appear: they are not JSON.",
    "json-number-too-large": "An integer has more digits than any offset or count can have.",
    "json-too-deep": "The JSON nests deeper than any newscorpus document can.",
    # schema
    "schema-required": "A required property is missing.",
    "schema-type": "A value has the wrong JSON type.",
    "schema-unknown-property": "A property the schema does not define (additionalProperties: false).",
    "schema-enum": "A value is not one of the allowed values.",
    "schema-pattern": "A string does not match the required pattern (ids, hashes, versions).",
    "schema-format": "A string is not a valid date, URI or other declared format.",
    "schema-range": "A number is below the minimum or above the maximum.",
    "schema-size": "A string, array or object is shorter or longer than allowed.",
    "schema-duplicate-item": "An array that must hold unique items holds the same item twice.",
    "schema-const": "A value differs from the one constant the schema allows.",
    "schema-invalid": "The document breaks another rule of the schema.",
    "schema-version-unsupported": "The document's schemaVersion is not one this release reads; run `newscorpus migrate`.",
    "label-unknown": "An entity label is not one of the 18 OntoNotes 5 types.",
    # spans and references
    "span-inverted": "A span's start is not before its end.",
    "span-out-of-bounds": "A span ends after the end of the article body.",
    "span-text-mismatch": "A span's text is not the body text at its offsets (body[start:end]).",
    "selector-mismatch": "A span's prefix or suffix is not the body text just before or after it.",
    "id-duplicate": "Two items of one document, or two manifest entries, share an id.",
    "mention-duplicate": "Two mentions of one document have the same span (start and end); a stretch of text is one mention.",
    "mention-nested": "A name mention lies inside another name mention; names are flat (guidelines B4, B5, C4).",
    "entity-unknown": "A mention refers to an entity id the document does not define.",
    "speaker-unknown": "A quote's speaker is not the id of a mention in the document.",
    "addressee-unknown": "A quote's addressee is not the id of a mention in the document.",
    "quote-link-unresolved": "A quote's sameAs names an article or quote that is not in the corpus (a link into an article whose document cannot be read is checked once it can).",
    "entity-conflict": "One entity id has different names, labels or Wikidata ids in different documents.",
    "model-fields-on-human": "modelVersion or score is set on an item whose origin is human.",
    # annotation documents against the corpus
    "annotation-stale": "The article body changed since the annotations were made (body sha256 mismatch); run `newscorpus rebase`.",
    "article-unknown": "An annotation document names an article that is not in the corpus.",
    "annotation-file-name": "An annotation document's file name is not its article id.",
    # comparing two annotation sets (newscorpus agreement)
    "agreement-body-mismatch": "The two sides annotated one article on different bodies (bodySha256 differs); that article is not compared.",
    "agreement-duplicate-article": "One side of a comparison holds two documents for the same article; that article is not compared.",
    "agreement-unpaired": "An article is annotated on one side of a comparison only; it is left out of the figures.",
    "agreement-nothing-compared": "No article is annotated (validly) on both sides, so there is nothing to compare.",
    # rebase and migrate
    "rebase-unresolved": "A span's text and selector (prefix, suffix) are not found in the new body; place it by hand.",
    "rebase-ambiguous": "A span's text and selector fit several places of the new body equally well; place it by hand.",
    "rebase-text-changed": "A span was re-anchored by its prefix and suffix, but its text changed; check it.",
    "migrate-no-path": "No chain of migrations leads from the document's schemaVersion to this release's.",
    "migrate-needs-article": "Migrating the document needs the article body it was made on (to derive span selectors), and that body is not known.",
    # raw files and the manifest
    "raw-missing": "The manifest lists a raw file that does not exist.",
    "raw-unlisted": "A raw file is not listed in the manifest.",
    "raw-sha-mismatch": "A raw file's bytes do not match the sha256 in the manifest.",
    "raw-empty": "A raw file is empty or holds only white space.",
    "raw-binary": "A raw file holds NUL bytes or other binary data, not text.",
    "raw-too-large": "A raw file is larger than any news article; it was not converted.",
    "raw-encoding-fallback": "A raw file is not UTF-8; it was decoded with the encoding named in the message.",
    "raw-undecodable": "A raw file's bytes are not text in any encoding tried.",
    "layout-unknown": "No layout parser recognised the file; the generic parser was used.",
    "layout-unexpected": "The layout parser met a line it did not expect; it was kept in the body.",
    "headline-missing": "No headline could be found.",
    "body-empty": "After removing boilerplate nothing is left of the body.",
    "date-unparsed": "A dateline or date line was found but its date could not be parsed.",
    "raw-control-characters": "Control characters (other than newline and tab) were removed from a raw file.",
    "layout-invalid": "The manifest names a layout parser that does not exist.",
    "url-unreadable": "The article URL printed in a raw file is not an http(s) URL; it was not used.",
    "url-mismatch": "The article URL printed in a raw file differs from the manifest url; the manifest url was used.",
    "publisher-unknown": "Neither the manifest nor the page names the outlet; publisher.name is 'unknown'.",
    # Label Studio sync
    "studio-result-invalid": "A Label Studio annotation cannot be read as mentions and quotes (unlabelled region, dangling relation, quote without type).",
    "studio-body-changed": "An article's body changed since its task was pushed; its labels are on the old text (pull, then push --replace-changed).",
    "studio-conflict": "An annotation document changed both locally and in Label Studio since the last sync.",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of one file.

    >>> Problem("span-inverted", "corpus/annotations/gold/a.json", "/mentions/0").where()
    'corpus/annotations/gold/a.json#/mentions/0'
    """

    code: str
    file: str
    pointer: str = ""
    message: str = ""
    line: int | None = None
    severity: Severity = "error"

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"undocumented problem code {self.code!r}")

    def where(self) -> str:
        """``file:line#pointer``, leaving out what is not known."""
        place = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{place}#{self.pointer}" if self.pointer else place

    def at(self, **changes: object) -> "Problem":
        """A copy with some fields changed (e.g. ``line`` once it is known)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def as_dict(self) -> dict:
        """JSON-ready form, as ``--format json`` prints it."""
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "pointer": self.pointer,
            "message": self.message,
        }


def pointer(*parts: str | int) -> str:
    """RFC 6901 JSON Pointer from path parts, escaping ``~`` and ``/``.

    >>> pointer("quotes", 0, "content", "a/b~c")
    '/quotes/0/content/a~1b~0c'
    """
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The problems of severity ``error``."""
    return [p for p in problems if p.severity == "error"]


def sort_key(problem: Problem) -> tuple:
    """Stable report order: file, line, pointer, code."""
    return (problem.file, problem.line or 0, problem.pointer, problem.code, problem.message)
