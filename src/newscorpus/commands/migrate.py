"""Migrate annotation documents to the schemaVersion of this release.

Follows the chain of migrations from each document's schemaVersion to the
current one, validates the result against the current schema, and writes the
document back (atomically). Documents that are current are not touched. A
document made by a newer newscorpus (`schema-version-unsupported`) or of a
version no migration starts from (`migrate-no-path`) is reported and left
as it is.

Exit status: 0 when every document is current or was migrated, 1 when one
could not be (or, with --check, would change), 2 on usage errors.

examples:
  newscorpus migrate                        # every annotation document of ./corpus
  newscorpus migrate contributions/ --check # CI: fail when a document needs migrating
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newscorpus import SCHEMA_VERSION
from newscorpus.commands._documents import annotation_paths
from newscorpus.corpus import CorpusLayout
from newscorpus.jsonio import load_json, write_json_atomic
from newscorpus.migrate import migrate_document
from newscorpus.problems import errors
from newscorpus.report import FORMATS, render


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``newscorpus migrate``."""
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="annotation documents or directories of them (default: every document of the corpus)")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus directory (default: corpus)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a document needs migrating")
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")


def run(args: argparse.Namespace) -> int:
    """Migrate (or check) the documents and print the report."""
    layout = CorpusLayout(args.corpus)
    problems = []
    outdated = 0
    for path in annotation_paths(args.paths, layout):
        file = layout.rel(path)
        data, _, read_problems = load_json(path, file)
        if read_problems:
            problems.extend(read_problems)
            continue
        result = migrate_document(data, file)
        problems.extend(result.problems)
        if result.document is None or result.document is data:
            continue
        outdated += 1
        chain = " -> ".join([result.steps[0].source] + [s.target for s in result.steps])
        if args.check:
            print(f"{file}: needs migrating {chain}", file=sys.stderr)
        else:
            write_json_atomic(path, result.document)
            print(f"{file}: migrated {chain}", file=sys.stderr)
    sys.stdout.write(render(problems, args.format))
    if not args.check and not problems:
        print(f"every document is at schemaVersion {SCHEMA_VERSION}", file=sys.stderr)
    return 1 if errors(problems) or (args.check and outdated) else 0
