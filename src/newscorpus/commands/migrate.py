"""Migrate annotation documents to the schemaVersion of this release.

Checks each document against the schemas of its own schemaVersion, follows
the chain of migrations to the current one (see schema/CHANGELOG.md),
validates the result against the current schema, and writes the document back
(atomically). Documents that are current are not touched. A document made by
a newer newscorpus (`schema-version-unsupported`) or of a version no
migration starts from (`migrate-no-path`) is reported and left as it is.

Some steps need the article body the annotations were made on: 1.0.0 -> 1.1.0
derives the prefix/suffix selector of spans that lack one from it, and only
where a span's text is the body's text at its offsets (else
`span-text-mismatch`). Bodies come from converting the corpus's raw files, or
from article records given with --article (as `newscorpus convert --out DIR`
writes them); a body whose SHA-256 is not the document's bodySha256 is not
used (`migrate-needs-article`).

Exit status: 0 when every document is current or was migrated, 1 when one
could not be (or, with --check, would change: each such document is reported
as `schema-version-unsupported` at its schemaVersion), 2 on usage errors.

examples:
  newscorpus migrate                        # every annotation document of ./corpus
  newscorpus migrate contributions/ --check # CI: fail when a document needs migrating
  newscorpus migrate old/ --article build/articles/moscowtimes-2023-10-20-1e425f2c.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newscorpus import SCHEMA_VERSION
from newscorpus.commands._documents import add_document_arguments, annotation_paths, article_bodies, rewrite_or_report
from newscorpus.corpus import CorpusLayout
from newscorpus.jsonio import load_json
from newscorpus.migrate import migrate_document
from newscorpus.problems import Problem, errors
from newscorpus.report import render
from newscorpus.validate import with_lines


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``newscorpus migrate``."""
    add_document_arguments(parser, "write nothing; exit 1 when a document needs migrating")


class _Bodies:
    """Article bodies, read (by converting the corpus, or from --article records) only when a document is outdated."""

    def __init__(self, article_files: list[Path], layout: CorpusLayout):
        self.article_files = article_files
        self.layout = layout
        self.bodies: dict[str, str] | None = None
        self.problems: list[Problem] = []

    def get(self, data: object) -> str | None:
        """The body of the document's article, or None when it is not known."""
        if self.bodies is None:
            if self.article_files or self.layout.raw_dir.is_dir():
                self.bodies, self.problems = article_bodies(self.article_files, self.layout)
            else:
                self.bodies = {}
        article = data.get("article") if isinstance(data, dict) else None
        ident = article.get("id") if isinstance(article, dict) else None
        return self.bodies.get(ident) if isinstance(ident, str) else None


def run(args: argparse.Namespace) -> int:
    """Migrate (or check) the documents and print the report."""
    layout = CorpusLayout(args.corpus)
    bodies = _Bodies(args.article, layout)
    problems = []
    for path in annotation_paths(args.paths, layout):
        file = layout.rel(path)
        data, text, read_problems = load_json(path, file)
        if read_problems:
            problems.extend(read_problems)
            continue
        if isinstance(data, dict) and data.get("schemaVersion") == SCHEMA_VERSION:
            continue
        result = migrate_document(data, file, bodies.get(data))
        found = list(result.problems)
        if result.document is not None and result.document is not data:
            chain = " -> ".join([result.steps[0].source] + [s.target for s in result.steps])
            found += rewrite_or_report(args.check, path, file, result.document, Problem(
                "schema-version-unsupported", file, "/schemaVersion",
                f"schemaVersion {result.steps[0].source} is older than this release's; `newscorpus migrate` would migrate it ({chain})",
            ), f"migrated {chain}")
        problems.extend(with_lines(found, text))
    problems = bodies.problems + problems
    sys.stdout.write(render(problems, args.format))
    if not args.check and not problems:
        print(f"every document is at schemaVersion {SCHEMA_VERSION}", file=sys.stderr)
    return 1 if errors(problems) else 0
