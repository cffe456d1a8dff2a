"""Convert raw news files to clean article records (JSON), one <id>.json per article.

Each RAW is a raw text file, or a directory whose files are all converted
(manifest.jsonl and dot files skipped).  With --manifest, each file takes its
id, outlet, url, rights and layout from the manifest line naming it.  A file
that cannot be converted is reported and the others are converted all the
same.  Problems go to stderr; exit status 0 when every file converted
without errors, 1 otherwise, 2 on usage errors.

examples:
  newscorpus convert corpus/raw --manifest corpus/raw/manifest.jsonl --out build/articles
  newscorpus convert scraped/article.txt --out -          (JSON Lines on stdout)
  newscorpus convert corpus/raw --out build/articles --format github
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newscorpus.convert import convert_path
from newscorpus.errors import UsageError
from newscorpus.jsonio import dumps_line, load_jsonl, write_json_atomic
from newscorpus.problems import Problem, errors
from newscorpus.report import FORMATS, render

MANIFEST_NAME = "manifest.jsonl"


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``newscorpus convert``."""
    parser.add_argument("raw", nargs="+", metavar="RAW", help="raw text file, or directory of raw files")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="directory to write <id>.json files to, or - for JSON Lines on stdout")
    parser.add_argument("--manifest", metavar="PATH", help="manifest.jsonl giving each file's id, outlet, url and rights")
    parser.add_argument("--format", choices=FORMATS, default="text", help="how to print problems (default: text)")


def run(args: argparse.Namespace) -> int:
    """Convert every RAW file; write the records; report problems."""
    entries, problems = _manifest(args.manifest)
    paths, found = _raw_files(args.raw)
    problems.extend(found)
    out = None if args.out == "-" else Path(args.out)
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"cannot use --out {args.out}: {error.strerror or error}") from error
    written: dict[str, str] = {}
    for path in paths:
        name = str(path)
        entry = entries.get(path.name)
        if args.manifest and entry is None:
            problems.append(Problem("raw-unlisted", name, "", f"not in {args.manifest}; converted without a manifest entry", severity="warning"))
        record, found = convert_path(path, file=name, entry=entry)
        problems.extend(found)
        if record is None:
            continue
        article_id = record["id"]
        if article_id in written:
            problems.append(Problem("id-duplicate", name, "/id", f"id {article_id!r} is already the id of {written[article_id]}; not written"))
            continue
        written[article_id] = name
        if out is None:
            sys.stdout.write(dumps_line(record))
        else:
            write_json_atomic(out / f"{article_id}.json", record)
    report = render(problems, args.format)
    if args.format == "text":
        where = "stdout" if out is None else str(out)
        report += f"converted {len(written)} of {len(paths)} file(s) to {where}\n"
    sys.stderr.write(report)
    return 1 if errors(problems) else 0


def _manifest(path: str | None) -> tuple[dict[str, dict], list[Problem]]:
    """Manifest entries by raw file name (the first line naming a file wins)."""
    if path is None:
        return {}, []
    if not Path(path).is_file():
        raise UsageError(f"manifest {path} not found")
    rows, problems = load_jsonl(Path(path), path)
    entries: dict[str, dict] = {}
    for _, data in rows:
        if isinstance(data, dict) and isinstance(data.get("file"), str):
            entries.setdefault(data["file"], data)
    return entries, problems


def _raw_files(arguments: list[str]) -> tuple[list[Path], list[Problem]]:
    """The raw files the arguments name: files as given, directories expanded (sorted)."""
    paths: list[Path] = []
    problems: list[Problem] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            paths.extend(sorted(
                child for child in path.iterdir()
                if child.is_file() and child.name != MANIFEST_NAME and not child.name.startswith(".")
            ))
        elif path.exists():
            paths.append(path)
        else:
            problems.append(Problem("file-unreadable", argument, "", "no such file or directory"))
    return paths, problems
