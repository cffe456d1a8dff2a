"""Validate raw files, the manifest, articles and annotation documents.

With no PATH, validates the whole corpus directory (--corpus, default ./corpus):
the raw manifest against raw/, every raw file's conversion, and every annotation
document (gold and each annotator's set) against the schema and beyond it
(offsets inside the body, span text, unique ids, references, stale bodies).

Exit status: 0 when there are no errors, 1 when there are, 2 on usage errors.

examples:
  newscorpus validate
  newscorpus validate corpus/annotations/gold/moscowtimes-2023-10-20-1e425f2c.json
  newscorpus validate --format github          # annotations on the pull request's files
  newscorpus validate --format json > problems.json
  newscorpus validate --changed-since origin/main --format github   # only what a pull request touches
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newscorpus.changes import changed_files
from newscorpus.corpus import CorpusLayout
from newscorpus.errors import UsageError
from newscorpus.problems import errors
from newscorpus.report import FORMATS, render, summary
from newscorpus.validate import validate_changed, validate_corpus, validate_paths


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``newscorpus validate``."""
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories to validate (default: the corpus)")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus directory the annotations refer to (default: corpus)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    parser.add_argument(
        "--changed-since", metavar="REF",
        help="validate only what the files changed since the merge base of git REF and HEAD touch "
             "(changed raw files and the documents of their articles, changed annotation sets)",
    )


def run(args: argparse.Namespace) -> int:
    """Validate and print the report; 0 clean, 1 errors found."""
    layout = CorpusLayout(args.corpus)
    if not args.paths and not args.corpus.is_dir():
        raise UsageError(f"no corpus directory at {args.corpus}; pass --corpus DIR or PATHs")
    if args.changed_since is not None:
        if args.paths:
            raise UsageError("give either PATHs or --changed-since, not both")
        changed = changed_files(args.changed_since, args.corpus)
        problems = validate_changed(layout, changed)
        print(f"{len(changed)} changed file(s) since {args.changed_since}", file=sys.stderr)
    else:
        problems = validate_paths(args.paths, layout) if args.paths else validate_corpus(layout)[0]
    sys.stdout.write(render(problems, args.format))
    if args.format == "github":
        print(summary(problems), file=sys.stderr)
    return 1 if errors(problems) else 0
