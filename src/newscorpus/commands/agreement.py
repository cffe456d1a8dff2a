"""Measure inter-annotator agreement between two sets of annotation documents.

A and B are directories of annotation documents (<article id>.json) or two
single documents; documents are paired by article id.  B is measured against
A: precision = share of B's items found in A, recall = share of A's items found
in B (F1 is symmetric).  Reported: mention precision/recall/F1 per OntoNotes
label and micro-averaged, with exact and with overlap matching; entity-id and
coreference-link agreement; quote content, cue and channel P/R/F1; Cohen's
kappa on quote type and speaker/addressee accuracy on matched quotes.  The
matching rules are in ANNOTATION_GUIDELINES.md ("Measuring agreement").

Articles annotated on one side only are left out (warning).  Documents of one
article made on different bodies, duplicates and invalid documents are
errors and are not compared.  Exit 0: figures computed, no errors; 1: errors
(the figures cover the rest); 2: usage error.

example:
  newscorpus agreement corpus/annotations/annotators/ann-01 corpus/annotations/annotators/ann-02
  newscorpus agreement A/ B/ --format markdown --output build/agreement.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from newscorpus import agreement as agreement_
from newscorpus.errors import UsageError
from newscorpus.jsonio import load_json, line_of, write_text_atomic
from newscorpus.problems import Problem, errors
from newscorpus.report import render as render_problems
from newscorpus.schemas import schema_problems


def register(parser: argparse.ArgumentParser) -> None:
    """Add the agreement arguments."""
    parser.add_argument("a", type=Path, metavar="A", help="reference annotations: a directory of *.json or one file")
    parser.add_argument("b", type=Path, metavar="B", help="annotations measured against A: a directory or one file")
    parser.add_argument("--format", choices=agreement_.FORMATS, default="text",
                        help="text for people, json for tools, markdown for the dataset card (default: text)")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="write the report to FILE (atomically) instead of standard output")


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.json") if p.is_file() and not p.name.startswith("."))
    if path.is_file():
        return [path]
    raise UsageError(f"{path} is neither a directory of annotation documents nor a file")


def read_side(path: Path) -> tuple[dict[str, dict], list[Problem]]:
    """The valid annotation documents under ``path`` (``{file: document}``) and the problems of the others."""
    documents: dict[str, dict] = {}
    problems: list[Problem] = []
    for file_path in _files(path):
        file = str(file_path)
        value, text, found = load_json(file_path, file)
        if found:
            problems.extend(found)
            continue
        found = list(schema_problems(value, "annotation", file))
        if found:
            problems.extend(p.at(line=line_of(text, p.pointer)) for p in found)
            continue
        found = agreement_.reference_problems(value, file)
        if found:
            problems.extend(p.at(line=line_of(text, p.pointer)) for p in found)
            continue
        documents[file] = value
    return documents, problems


def run(args: argparse.Namespace) -> int:
    """Compare A and B, print the figures (and problems on standard error)."""
    side_a, problems = read_side(args.a)
    side_b, problems_b = read_side(args.b)
    problems.extend(problems_b)
    pairs, found = agreement_.pair_documents(side_a, side_b)
    problems.extend(found)
    result = agreement_.compare(pairs) if pairs else None
    if result is None:
        problems.append(Problem("agreement-nothing-compared", str(args.a), "",
                                f"no article has a valid annotation document both in {args.a} and in {args.b}"))
    if args.format == "json":
        report = json.dumps(
            {"agreement": result.as_dict() if result else None, "problems": [p.as_dict() for p in problems]},
            ensure_ascii=False, indent=2,
        ) + "\n"
    else:
        report = agreement_.render(result, args.format) if result else ""
        if problems:
            sys.stderr.write(render_problems(problems, "text"))
    if args.output is not None:
        write_text_atomic(args.output, report)
    else:
        sys.stdout.write(report)
    return 1 if errors(problems) else 0
