"""What the document-rewriting commands (rebase, migrate) share: finding documents and bodies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newscorpus.corpus import CorpusLayout, convert_corpus
from newscorpus.errors import UsageError
from newscorpus.jsonio import load_json, write_json_atomic
from newscorpus.problems import Problem


def annotation_paths(paths: list[Path], layout: CorpusLayout) -> list[Path]:
    """The annotation documents named by ``paths`` (directories give their ``*.json``, recursively).

    With no paths: every gold and annotator document of the corpus.
    """
    if not paths:
        if not layout.root.is_dir():
            raise UsageError(f"no corpus directory at {layout.root}; pass --corpus DIR or PATHs")
        return layout.gold_files() + [p for files in layout.annotator_files().values() for p in files]
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory")
    return found


def article_bodies(article_files: list[Path], layout: CorpusLayout) -> tuple[dict[str, str], list[Problem]]:
    """Article id -> body text, from article record files when given, else by converting the corpus."""
    if not article_files:
        if not layout.raw_dir.is_dir():
            raise UsageError(f"{layout.root} is not a corpus directory (no raw/ inside); pass --corpus DIR or --article FILE")
        articles, problems = convert_corpus(layout)
        return {ident: article["body"]["text"] for ident, article in articles.items()}, problems
    bodies: dict[str, str] = {}
    problems: list[Problem] = []
    for path in article_files:
        file = str(path)
        data, _, read_problems = load_json(path, file)
        problems.extend(read_problems)
        body = data.get("body") if isinstance(data, dict) else None
        if read_problems:
            continue
        if not (isinstance(data.get("id"), str) and isinstance(body, dict) and isinstance(body.get("text"), str)):
            problems.append(Problem("schema-required", file, "", "an article record needs an id and body.text"))
            continue
        bodies[data["id"]] = body["text"]
    return bodies, problems


def add_document_arguments(parser: argparse.ArgumentParser, check_help: str) -> None:
    """The arguments ``rebase`` and ``migrate`` share: documents, where bodies come from, --check, --format."""
    from newscorpus.report import FORMATS

    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="annotation documents or directories of them (default: every document of the corpus)")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus directory whose raw files give the bodies (default: corpus)")
    parser.add_argument("--article", type=Path, action="append", default=[], metavar="ARTICLE", help="an article record (JSON) to take the body from instead of converting the corpus; repeatable")
    parser.add_argument("--check", action="store_true", help=check_help)
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")


def rewrite_or_report(check: bool, path: Path, file: str, document: dict, would: Problem, done: str) -> list[Problem]:
    """A document the command changed: with ``--check``, the problem saying it ``would`` change; else it is
    rewritten (atomically) and ``done`` is said on stderr."""
    if check:
        return [would]
    write_json_atomic(path, document)
    print(f"{file}: {done}", file=sys.stderr)
    return []
