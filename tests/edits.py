"""Edits of a synthetic corpus (and of its cache and output) the ways contributors, tools and accidents make them,
and a build's whole outcome: what ``tests/test_build_safety.py`` and ``tests/soak_build.py`` compare with a cold build."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

from newscorpus.build import build
from newscorpus.corpus import CorpusLayout
from newscorpus.pipeline import ProcessMapper


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def outcome(corpus: Path, out: Path, cache: Path, workers: int = 1, group_articles: int = 4) -> tuple:
    """What a build of ``corpus`` gives: its problems, its counts and every file it wrote."""
    result = build(CorpusLayout(corpus), out, cache_dir=cache, mapper=ProcessMapper(workers), group_articles=group_articles)
    problems = sorted((p.code, p.file, p.pointer, p.message) for p in result.problems)
    return problems, result.counts, tree_digest(out)


class Editor:
    """Edits a synthetic corpus (and the cache and output) the ways contributors, tools and accidents do."""

    def __init__(self, corpus: Path, out: Path, cache: Path, rng: random.Random) -> None:
        self.corpus, self.out, self.cache, self.rng = corpus, out, cache, rng
        self.raw, self.gold = corpus / "raw", corpus / "annotations" / "gold"
        self.original = corpus.parent / "original"
        shutil.copytree(corpus, self.original)

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in (self.raw / "manifest.jsonl").read_text().splitlines()]

    def write(self, entries: list[dict]) -> None:
        (self.raw / "manifest.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))

    def edit_body(self, entries, e, sha=True):
        path = self.raw / e["file"]
        text = path.read_text()
        longest = max(text.splitlines(), key=len)
        path.write_text(text.replace(longest, longest.replace(" the ", " teh ", 1) + " (corrected)", 1))
        if sha:
            e["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
            self.write(entries)
        return f"body of {e['id']}" + ("" if sha else ", manifest not updated")

    def edit_body_not_manifest(self, entries, e):
        return self.edit_body(entries, e, sha=False)

    def same_size_edit_old_mtime(self, entries, e):
        path = self.raw / e["file"]
        stat, data = path.stat(), path.read_bytes()
        data = data.replace(b" the ", b" THE ", 1) if b" the " in data else data[:-1] + b"!"
        path.write_bytes(data)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # only the change time tells (the manifest does not)
        return f"same-size edit of {e['file']}, mtime put back, manifest not updated"

    def touch(self, entries, e):
        path = self.raw / e["file"]
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
        return f"touched {e['file']}"

    def remove_article(self, entries, e):
        (self.raw / e["file"]).unlink()
        self.write([x for x in entries if x is not e])
        return f"removed {e['id']} (its document stays)"

    def remove_document(self, entries, e):
        doc = self.gold / f"{e['id']}.json"
        doc.unlink(missing_ok=True)
        return f"removed the document of {e['id']}"

    def unlist(self, entries, e):
        self.write([x for x in entries if x is not e])
        return f"{e['id']} left out of the manifest, its raw file kept (unlisted)"

    def stray(self, entries, e):
        path = self.raw / f"stray-{self.rng.getrandbits(32):08x}.txt"
        path.write_text("Stray\n\nA file nobody listed.\n")
        return f"{path.name} added, listed nowhere"

    def restore(self, entries, e):
        original = [json.loads(line) for line in (self.original / "raw" / "manifest.jsonl").read_text().splitlines()]
        back = self.rng.choice(original)
        shutil.copy2(self.original / "raw" / back["file"], self.raw / back["file"])
        kept = [x for x in entries if x["id"] != back["id"] and x["file"] != back["file"]]
        kept.insert(self.rng.randrange(len(kept) + 1), back)
        self.write(kept)
        doc = self.original / "annotations" / "gold" / f"{back['id']}.json"
        if doc.exists():
            shutil.copy2(doc, self.gold / doc.name)
        return f"restored {back['id']} as it was"

    def wire_copy(self, entries, e):
        tag = f"{self.rng.getrandbits(32):08x}"
        copy = {**e, "id": f"{e['id'].rsplit('-', 1)[0]}-{tag}", "file": f"9{tag}.txt"}
        shutil.copyfile(self.raw / e["file"], self.raw / copy["file"])
        entries.insert(self.rng.randrange(len(entries) + 1), copy)
        self.write(entries)
        return f"{copy['id']}, a copy of {e['id']}"

    def reorder(self, entries, e):
        self.rng.shuffle(entries)
        self.write(entries)
        return "manifest reordered"

    def edit_document(self, entries, e):
        path = self.gold / f"{e['id']}.json"
        if not path.exists():
            return "no document to edit"
        doc = json.loads(path.read_text())
        change = self.rng.choice(["entity name", "mention text", "quote dropped"])
        if change == "entity name" and doc["entities"]:
            doc["entities"][0]["name"] += " Jr."
        elif change == "mention text" and doc["mentions"]:
            doc["mentions"][-1]["text"] = "not the body"
        elif doc["quotes"]:
            doc["quotes"].pop()
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
        return f"document of {e['id']}: {change}"

    def damage_cache(self, entries, e):
        files = sorted(p for p in self.cache.rglob("*") if p.is_file() and p.suffix != ".sqlite")
        path = self.rng.choice(files)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return f"cache entry {path.parent.parent.name}/{path.name[:12]} cut in half"

    def damage_output(self, entries, e):
        path = self.rng.choice(sorted((self.out / "data").rglob("*.parquet")))
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        return f"output file {path.name} edited"

    def nothing(self, entries, e):
        return "nothing changed"

    EDITS = ("edit_body", "edit_body_not_manifest", "same_size_edit_old_mtime", "touch", "remove_article", "remove_document",
             "unlist", "stray", "restore", "wire_copy", "reorder", "edit_document", "damage_cache", "damage_output", "nothing")

    def edit(self, name: str) -> str:
        """Make the edit ``name`` (one of :data:`EDITS`) to an article the editor picks; say what it did."""
        entries = self.entries()
        return getattr(self, name)(entries, self.rng.choice(entries))
