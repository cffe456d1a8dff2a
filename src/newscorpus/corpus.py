"""The corpus directory: where raw files, the manifest and annotation documents live.

::

    corpus/
      raw/manifest.jsonl             one line per raw file: id, file, sha256, outlet, url, rights
      raw/*.txt                      raw scrapes, as received
      annotations/gold/<id>.json     the adjudicated annotation document of article <id>
      annotations/annotators/<annotator>/<id>.json   each annotator's own set

This module is the file-system edge of the pipeline: it reads, the stages map.
"""

from __future__ import annotations

import os
import re

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from newscorpus.jsonio import load_jsonl
from newscorpus.problems import Problem


@dataclass(frozen=True)
class CorpusLayout:
    """Paths of one corpus directory."""

    root: Path

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def manifest(self) -> Path:
        return self.raw_dir / "manifest.jsonl"

    @property
    def gold_dir(self) -> Path:
        return self.root / "annotations" / "gold"

    @property
    def annotators_dir(self) -> Path:
        return self.root / "annotations" / "annotators"

    def absolute(self) -> "CorpusLayout":
        """This layout at its absolute path (symbolic links kept): a build's workers read by it, from any working
        directory, and the stat index is kept per corpus directory, not per name (two corpora both called ``corpus``)."""
        return self if self.root.is_absolute() else CorpusLayout(self.root.absolute())

    def rel(self, path: Path) -> str:
        """``path`` as reported in problems: relative to the corpus's parent when possible.  Its directory is resolved,
        not the file itself: a symbolic link is reported by its own name, not its target's (which may be anywhere)."""
        located = path.resolve() if path.name in ("", ".", "..") else path.parent.resolve() / path.name
        try:
            return str(located.relative_to(self.root.resolve().parent))
        except ValueError:
            return str(path)

    def raw_files(self) -> list[Path]:
        """Raw files present in ``raw/`` (everything but the manifest and dot files), sorted."""
        if not self.raw_dir.is_dir():
            return []
        return sorted(
            p for p in self.raw_dir.iterdir()
            if p.is_file() and p.name != self.manifest.name and not p.name.startswith(".")
        )

    def gold_files(self) -> list[Path]:
        """Gold annotation documents, sorted (none when the gold directory is a symbolic link)."""
        return [self.gold_dir / name for name in self.gold_names()]

    def annotator_files(self) -> dict[str, list[Path]]:
        """Each annotator's documents, by annotator id."""
        return {name: _json_files(d) for name, d in self.annotator_dirs().items()}

    def annotator_dirs(self) -> dict[str, Path]:
        """Each annotator's directory, by annotator id (none that is a symbolic link)."""
        if not self.annotators_dir.is_dir() or self.annotators_dir.is_symlink() or self.annotators_dir.parent.is_symlink():
            return {}
        return {d.name: d for d in sorted(self.annotators_dir.iterdir()) if d.is_dir() and not d.is_symlink()}

    def gold_names(self) -> Sequence[str]:
        """The names of :meth:`gold_files`, without a ``Path`` per file (a corpus of 100,000 has 30 MB of them)."""
        if not self.gold_dir.is_dir() or self.gold_dir.is_symlink() or self.gold_dir.parent.is_symlink():
            return []
        return json_names(self.gold_dir)

    def linked_dirs(self) -> list[Path]:
        """Directories of the layout that are symbolic links: never followed (they could point anywhere)."""
        candidates = [self.raw_dir, self.gold_dir.parent, self.gold_dir, self.annotators_dir]
        if self.annotators_dir.is_dir() and not self.annotators_dir.is_symlink():
            candidates += sorted(self.annotators_dir.iterdir())
        return [d for d in candidates if d.is_symlink()]


@dataclass(frozen=True)
class ManifestEntry:
    """One manifest line, with the line number it was read from."""

    line: int
    data: dict

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def file(self) -> str:
        return self.data["file"]


def read_manifest(layout: CorpusLayout) -> tuple[list[ManifestEntry], list[Problem]]:
    """Parse ``raw/manifest.jsonl`` strictly (schema checks are :mod:`newscorpus.validate`'s)."""
    if not layout.manifest.exists():
        return [], []
    rows, problems = load_jsonl(layout.manifest, layout.rel(layout.manifest))
    return [ManifestEntry(line, data) for line, data in rows], problems


#: The names a manifest line may give a raw file (``manifest.schema.json``'s ``file``).
RAW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


def unlisted(file: str, name: str, manifest_file: str) -> Problem:
    """``raw-unlisted`` for the raw file ``name`` (reported as ``file``): what to do about it."""
    if RAW_NAME.fullmatch(name):
        return Problem("raw-unlisted", file, "", f"add a line for {name} to {manifest_file}")
    return Problem("raw-unlisted", file, "", f"rename it (a raw file's name is letters, digits, '.', '_' and '-', starting "
                                             f"with a letter or digit) and add a line for it to {manifest_file}")


def iter_raw(layout: CorpusLayout, entries: list[ManifestEntry]) -> Iterator[tuple[ManifestEntry, Path]]:
    """(entry, path) for every manifest entry whose raw file name is safe."""
    for entry in entries:
        if isinstance(entry.data, dict) and isinstance(entry.data.get("file"), str):
            name = entry.data["file"]
            if "/" in name or "\\" in name or name.startswith("."):
                continue
            yield entry, layout.raw_dir / name


def convert_corpus(layout: CorpusLayout) -> tuple[dict[str, dict], list[Problem]]:
    """Convert every raw file the manifest lists: ``({article id: article}, problems)``.

    A raw file that cannot be converted yields problems naming it and no
    article; the others are converted all the same.
    """
    entries, problems = read_manifest(layout)
    articles, found = convert_entries(layout, entries)
    return articles, problems + found


def conversion_entry(entry: dict) -> dict:
    """The manifest line as the converter is given it inside a corpus: without ``sha256``.

    The corpus checks compare the manifest's sha256 with the bytes and report a
    mismatch once, on the manifest line; given the sha256, the converter would
    report the same mismatch a second time, on the raw file.
    """
    return {key: value for key, value in entry.items() if key != "sha256"}


def convert_entries(layout: CorpusLayout, entries: list[ManifestEntry]) -> tuple[dict[str, dict], list[Problem]]:
    """Convert the raw files of the given manifest entries (missing files are skipped)."""
    from newscorpus.convert import convert_path

    problems: list[Problem] = []
    articles: dict[str, dict] = {}
    for entry, path in iter_raw(layout, entries):
        if not path.is_file() or path.is_symlink():
            continue  # reported as raw-missing or file-not-regular by validate
        article, found = convert_path(path, file=layout.rel(path), entry=conversion_entry(entry.data))
        problems.extend(found)
        if article is not None and article["id"] not in articles:
            articles[article["id"]] = article
    return articles, problems


def _json_files(directory: Path) -> list[Path]:
    """What ``sorted(directory.glob("*.json"))`` gives, from one listing (sorting names, not paths: 10x faster)."""
    return [directory / name for name in json_names(directory)]


def json_names(directory: Path) -> Sequence[str]:
    """The names of :func:`_json_files`, sorted (a :class:`~newscorpus.names.SortedNames`: off the Python heap)."""
    from newscorpus.names import SortedNames  # (numpy: not for every command that reads a layout)

    with os.scandir(directory) as entries:
        return SortedNames(e.name for e in entries if e.name.endswith(".json") and not e.name.startswith("."))
