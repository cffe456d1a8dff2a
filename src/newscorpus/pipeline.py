"""The streaming scan of a corpus: convert every raw file and check every annotation document, in parallel,
cached, without holding the corpus in memory.

The work is a pure map over files (:func:`convert_task`, :func:`document_task`),
run by a :class:`Mapper`: :class:`ProcessMapper` uses the cores of this
machine; :mod:`newscorpus.engines.dask` runs the same functions on a Dask
cluster.  Results come back in input order, so everything is deterministic.
What the main process keeps per article is small: its id, cache keys, date
and MinHash signature (about 0.7 KB); bodies and annotations stay in the
cache and are read again, group by group, when the shards are written.

The problems found are the ones :func:`newscorpus.validate.validate_corpus`
finds (the same check functions are called; the corpus-wide checks are
streamed over small per-document summaries).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

import numpy as np

from newscorpus.cache import Cache, CacheStats, key_of
from newscorpus.clusters import NUM_PERM, signature
from newscorpus.corpus import CorpusLayout
from newscorpus.jsonio import MAX_JSON_BYTES, parse_json, read_text
from newscorpus.problems import Problem, errors, pointer
from newscorpus.schemas import schema_dir, schema_problems
from newscorpus.validate import _items, article_problems, document_problems, with_lines, with_lines_from_files

T = TypeVar("T")
R = TypeVar("R")

#: Bump when what the scan stores in the cache changes shape.
PIPELINE_VERSION = "1"


# ---------------------------------------------------------------- mapping


class Mapper(Protocol):
    """Runs a pure function over items, yielding results in input order."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn(item)`` for every item, in order."""


def run_batch(fn: Callable[[T], R], batch: list[T]) -> list[R]:
    """``fn`` over one batch (what a worker runs per task)."""
    return [fn(item) for item in batch]


@dataclass(frozen=True)
class ProcessMapper:
    """The cores of this machine: a process pool fed in batches, with a bounded number in flight.

    ``workers=1`` runs in this process (no pool).
    """

    workers: int = 2
    batch: int = 32

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn(item)`` for every item, in order; at most ``4 * workers`` batches are pending."""
        if self.workers <= 1:
            yield from map(fn, items)
            return
        with ProcessPoolExecutor(self.workers) as pool:
            pending: deque = deque()
            iterator = iter(items)
            while batch := list(itertools.islice(iterator, self.batch)):
                pending.append(pool.submit(run_batch, fn, batch))
                if len(pending) >= 4 * self.workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()


# ---------------------------------------------------------------- what a worker needs


@cache
def code_fingerprint() -> str:
    """SHA-256 of the schema files and of the code whose output is cached (a change invalidates the cache)."""
    import newscorpus.build
    import newscorpus.clusters
    import newscorpus.convert
    import newscorpus.schemas
    import newscorpus.spans
    import newscorpus.validate

    digest = hashlib.sha256(PIPELINE_VERSION.encode())
    for path in sorted(schema_dir().glob("*.schema.json")):
        digest.update(path.read_bytes())
    for module in (newscorpus.build, newscorpus.clusters, newscorpus.schemas, newscorpus.spans, newscorpus.validate):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(newscorpus.convert.CONVERTER_VERSION.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to know about one build (small and picklable)."""

    corpus: str
    raw_rel: str
    cache: str
    converter: str
    fingerprint: str

    @classmethod
    def of(cls, layout: CorpusLayout, cache_dir: Path) -> "Job":
        """The job of building ``layout`` with the cache in ``cache_dir``."""
        from newscorpus.convert import CONVERTER_VERSION

        return cls(
            str(layout.root), layout.rel(layout.raw_dir),
            str(cache_dir), CONVERTER_VERSION, code_fingerprint(),
        )


def _problems_out(problems: Iterable[Problem]) -> list[dict]:
    return [p.as_dict() for p in problems]


def problems_in(rows: Iterable[dict]) -> list[Problem]:
    """Problems back from their ``as_dict`` form."""
    return [Problem(**row) for row in rows]


# ---------------------------------------------------------------- conversion (one raw file)


def _read_raw(path: Path, limit: int) -> tuple[bytes, str]:
    """At most ``limit + 1`` bytes of the raw file, and the SHA-256 of all of it."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
        digest = hashlib.sha256(data)
        if len(data) > limit:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return data, digest.hexdigest()


def convert_key(job: Job, raw_sha256: str, file: str, entry: dict) -> str:
    """Cache key of one conversion: raw bytes, converter version, the manifest entry, the code."""
    return key_of({"stage": "convert", "raw": raw_sha256, "file": file, "entry": entry,
                   "converter": job.converter, "code": job.fingerprint})


def convert_task(job: Job, entry: dict) -> dict:
    """Convert the raw file of one manifest entry (or take it from the cache).

    Returns ``{"missing": True}`` when the file does not exist, else the raw
    file's ``sha256``, the cache ``key``, the ``problems`` and a ``summary``
    of the article (``None`` when it could not be converted).
    """
    from newscorpus.convert import MAX_RAW_BYTES, convert_bytes

    stats = CacheStats()
    path = Path(job.corpus) / "raw" / entry["file"]
    file = f"{job.raw_rel}/{entry['file']}"
    try:
        raw, sha = _read_raw(path, MAX_RAW_BYTES)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return {"missing": True}
    key = convert_key(job, sha, file, entry)
    store = Cache(Path(job.cache))
    hit = store.get("convert", key, stats)
    if hit is not None:
        meta = hit[0]
    else:
        article, problems = convert_bytes(raw, file=file, entry=entry)
        summary = None
        if article is not None:
            problems = problems + article_problems(article, article["provenance"]["rawFile"])
            summary = {
                "id": article["id"],
                "date": article["datePublished"],
                "signature": base64.b64encode(signature(article["body"]["text"]).tobytes()).decode("ascii"),
                "language": article["language"],
                "publisher": article["publisher"]["name"],
                "agency": next((s["name"] for s in article["infoSources"] if s["role"] == "wire"), None),
            }
        meta = {"problems": _problems_out(problems), "summary": summary}
        payload = json.dumps(article, ensure_ascii=False, separators=(",", ":")).encode("utf-8") if article else b""
        store.put("convert", key, meta, payload)
    return {"sha256": sha, "key": key, **meta, "cache": stats}


def load_article(cache_dir: Path, key: str) -> dict:
    """The converted article stored under ``key`` (the scan of this build put it there)."""
    from newscorpus.errors import NewscorpusError

    hit = Cache(cache_dir).get("convert", key, CacheStats())
    if hit is None or not hit[1]:
        raise NewscorpusError(f"cache entry convert/{key[:12]} disappeared during the build; run the build again")
    return json.loads(hit[1])


def signature_of(summary: dict) -> np.ndarray:
    """The MinHash signature stored in an article summary."""
    return np.frombuffer(base64.b64decode(summary["signature"]), dtype=np.uint32, count=NUM_PERM)


# ---------------------------------------------------------------- annotation documents (one file)


def document_key(job: Job, text: str, file: str, article_key: str | None) -> str:
    """Cache key of one document check: its text, its file name, the article it was checked against, the code."""
    return key_of({"stage": "document", "text": hashlib.sha256(text.encode("utf-8")).hexdigest(), "file": file,
                   "article": article_key, "code": job.fingerprint})


def _summary(data: Any) -> dict:
    """What the corpus-wide checks and the build need from a document, without its spans."""
    article = data.get("article") if isinstance(data, dict) else None
    ident = article.get("id") if isinstance(article, dict) else None
    quotes = list(_items(data, "quotes"))
    return {
        "article": ident if isinstance(ident, str) else None,
        "entities": [
            [i, e["id"], e.get("name"), e.get("label"), e.get("wikidata")]
            for i, e in _items(data, "entities") if isinstance(e.get("id"), str)
        ],
        "quotes": [q.get("id") for _, q in quotes],
        "links": [
            [i, j, link.get("article"), link.get("quote")]
            for i, q in quotes if isinstance(q.get("sameAs"), list)
            for j, link in enumerate(q["sameAs"]) if isinstance(link, dict)
        ],
        "annotators": sorted({item["annotator"] for key in ("mentions", "quotes") for _, item in _items(data, key)
                              if isinstance(item.get("annotator"), str)}),
        "origins": sorted({item["origin"] for key in ("mentions", "quotes") for _, item in _items(data, key)
                           if isinstance(item.get("origin"), str)}),
        "mentions": len(list(_items(data, "mentions"))),
        "quote_count": len(quotes),
    }


def document_task(job: Job, task: tuple[str, str, str | None, str | None]) -> dict:
    """Check one annotation document against its article (or take the result from the cache).

    ``task`` is ``(path, file, article id, article key)``: the article the
    document is expected to annotate (the one its file name names) and that
    article's cache key (``None`` when it is not in the corpus).  When the
    document names another article the result is ``{"needs": id}``, and the
    caller asks again with that article.
    """
    path, file, expected, article_key = task
    stats = CacheStats()
    text, read_problems = read_text(Path(path), file, MAX_JSON_BYTES)
    if text is None:
        return {"problems": _problems_out(read_problems), "summary": None, "cache": stats}
    key = document_key(job, text, file, article_key)
    store = Cache(Path(job.cache))
    hit = store.get("document", key, stats)
    if hit is not None:
        return {**hit[0], "key": key, "cache": stats}
    data, parse_problems = parse_json(text, file)
    if parse_problems:
        meta = {"problems": _problems_out(parse_problems), "summary": None}
    else:
        summary = _summary(data)
        if summary["article"] != expected:
            return {"needs": summary["article"]}
        body = load_article(Path(job.cache), article_key)["body"]["text"] if article_key else None
        meta = {"problems": _problems_out(with_lines(document_problems(data, file, body), text)), "summary": summary}
    store.put("document", key, meta)
    return {**meta, "key": key, "cache": stats}


# ---------------------------------------------------------------- corpus-wide checks, streamed


@dataclass
class SetChecks:
    """The corpus checks of :data:`newscorpus.validate.CORPUS_CHECKS`, fed one document summary at a time.

    Memory: the first definition of each entity id, the sameAs links, and the
    cache key of each document; the quote ids of link targets are read back
    from the cache at the end.
    """

    articles: set[str]
    problems: list[Problem] = field(default_factory=list)
    entities: dict[str, tuple[tuple, str]] = field(default_factory=dict)
    links: list[tuple[str, int, int, Any, Any]] = field(default_factory=list)
    keys_of: dict[str, list[str]] = field(default_factory=dict)

    def add(self, file: str, summary: dict, key: str) -> None:
        """Check one readable document."""
        ident = summary["article"]
        if ident is not None:
            self.keys_of.setdefault(ident, []).append(key)
            if ident not in self.articles:
                self.problems.append(Problem("article-unknown", file, "/article/id", f"no article {ident!r} in the corpus manifest"))
            if Path(file).name != f"{ident}.json":
                self.problems.append(Problem("annotation-file-name", file, "/article/id", f"the document of article {ident!r} must be named {ident}.json"))
        for i, entity, name, label, wikidata in summary["entities"]:
            facts = (name, label, wikidata)
            if entity not in self.entities:
                self.entities[entity] = (facts, file)
            elif self.entities[entity][0] != facts:
                other, where = self.entities[entity]
                self.problems.append(Problem("entity-conflict", file, pointer("entities", i), f"entity {entity!r} is {facts} here but {other} in {where}"))
        self.links.extend((file, i, j, article, quote) for i, j, article, quote in summary["links"])

    def finish(self, cache_dir: Path) -> list[Problem]:
        """Resolve the sameAs links and return every problem found."""
        quotes: dict[Any, set] = {}
        for article in sorted({link[3] for link in self.links if link[3] in self.keys_of}):
            ids: set = set()
            for key in self.keys_of[article]:
                hit = Cache(cache_dir).get("document", key, CacheStats())
                if hit is None:
                    from newscorpus.errors import NewscorpusError

                    raise NewscorpusError(f"cache entry document/{key[:12]} disappeared during the build; run the build again")
                ids.update(hit[0]["summary"]["quotes"])
            quotes[article] = ids
        for file, i, j, article, target in self.links:
            if article not in quotes or target not in quotes[article]:
                self.problems.append(Problem("quote-link-unresolved", file, pointer("quotes", i, "sameAs", j), f"no quote {target!r} in the annotations of article {article!r}"))
        return self.problems


# ---------------------------------------------------------------- the scan


@dataclass
class ArticleIndex:
    """What the main process keeps per converted article (in manifest order)."""

    ids: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    dates: list[str | None] = field(default_factory=list)
    signatures: list[bytes] = field(default_factory=list)
    languages: set[str] = field(default_factory=set)
    publishers: dict[str, int] = field(default_factory=dict)
    agencies: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, summary: dict) -> None:
        """Record one converted article."""
        self.ids.append(summary["id"])
        self.keys.append(key)
        self.dates.append(summary["date"])
        self.signatures.append(base64.b64decode(summary["signature"]))
        self.languages.add(summary["language"])
        self.publishers[summary["publisher"]] = self.publishers.get(summary["publisher"], 0) + 1
        agency = summary["agency"] or "none"
        self.agencies[agency] = self.agencies.get(agency, 0) + 1

    def signature_matrix(self) -> np.ndarray:
        """All signatures as one ``(n, NUM_PERM)`` uint32 array."""
        return np.frombuffer(b"".join(self.signatures), dtype=np.uint32).reshape(len(self.ids), NUM_PERM)


@dataclass
class GoldDocument:
    """A gold document the build may use: where it is, its cache key and its figures."""

    file: str
    path: str
    article: str
    key: str
    annotators: list[str]
    origins: list[str]
    mentions: int
    quotes: int


@dataclass
class Scan:
    """The outcome of scanning a corpus: problems, the article index, usable gold documents, cache counts."""

    problems: list[Problem]
    index: ArticleIndex
    gold: dict[str, GoldDocument]
    cache: CacheStats


def _iter_manifest(layout: CorpusLayout, file: str, problems: list[Problem]) -> Iterator[tuple[int, Any]]:
    """(line, value) of each manifest line, read one line at a time (strict JSON, problems appended)."""
    with open(layout.manifest, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                problems.append(Problem("json-invalid", file, "", f"not UTF-8: byte {error.start} ({error.reason})", number))
                continue
            if not line.strip():
                continue
            value, found = parse_json(line, file, line_offset=number - 1)
            problems.extend(p if p.line else p.at(line=number) for p in found)
            if not found:
                yield number, value


def scan(layout: CorpusLayout, cache_dir: Path, mapper: Mapper) -> Scan:
    """Convert, check and index the whole corpus: the problems ``validate_corpus`` reports, in bounded memory."""
    job = Job.of(layout, cache_dir)
    stats = CacheStats()
    problems: list[Problem] = []
    index = ArticleIndex()
    manifest_file = layout.rel(layout.manifest)
    listed: set[str] = set()
    if not layout.manifest.exists():
        if layout.raw_files():
            problems.append(Problem("file-unreadable", manifest_file, "", "raw files are present but the manifest is missing"))
    else:
        problems.extend(_convert_all(layout, job, mapper, manifest_file, index, listed, stats, problems))
        for path in layout.raw_files():
            if path.name not in listed:
                problems.append(Problem("raw-unlisted", layout.rel(path), "", f"add a line for {path.name} to {manifest_file}"))

    keys = dict(zip(index.ids, index.keys))
    gold: dict[str, GoldDocument] = {}
    sets = {"gold": layout.gold_files(), **layout.annotator_files()}
    for name, paths in sets.items():
        checks = SetChecks(set(keys))
        found: list[Problem] = []
        readable: list[tuple[str, str, dict]] = []
        tasks = ((str(path), layout.rel(path), path.stem, keys.get(path.stem)) for path in paths)
        for path, result in zip(paths, mapper.map(partial(document_task, job), tasks)):
            file = layout.rel(path)
            if "needs" in result:
                result = document_task(job, (str(path), file, result["needs"], keys.get(result["needs"])))
            stats.merge(result["cache"])
            found.extend(problems_in(result["problems"]))
            if result["summary"] is not None:
                checks.add(file, result["summary"], result["key"])
                readable.append((str(path), file, result))
        found.extend(with_lines_from_files(checks.finish(cache_dir), layout))
        problems.extend(found)
        if name == "gold":
            bad = {p.file for p in errors(problems)}
            for path, file, result in readable:
                article = result["summary"]["article"]
                if file not in bad and article in keys:
                    gold[article] = GoldDocument(
                        file, path, article, result["key"], result["summary"]["annotators"],
                        result["summary"]["origins"], result["summary"]["mentions"], result["summary"]["quote_count"],
                    )
    return Scan(problems, index, gold, stats)


def _convert_all(layout: CorpusLayout, job: Job, mapper: Mapper, manifest_file: str, index: ArticleIndex,
                 listed: set[str], stats: CacheStats, read_problems: list[Problem]) -> list[Problem]:
    """Manifest checks and conversion, streamed over the manifest."""
    problems: list[Problem] = []
    seen: dict[str, dict[str, int]] = {"id": {}, "file": {}}
    articles: set[str] = set()
    convertible: deque[tuple[int, dict]] = deque()

    def entries() -> Iterator[dict]:
        for line, data in _iter_manifest(layout, manifest_file, read_problems):
            problems.extend(p.at(line=line) for p in schema_problems(data, "manifest", manifest_file))
            if not isinstance(data, dict):
                continue
            for key in ("id", "file"):
                value = data.get(key)
                if isinstance(value, str):
                    if value in seen[key]:
                        problems.append(Problem("id-duplicate", manifest_file, f"/{key}", f"{key} {value!r} is already listed on line {seen[key][value]}", line))
                    else:
                        seen[key][value] = line
            name = data.get("file")
            if isinstance(name, str):
                listed.add(name)
                if not ("/" in name or "\\" in name or name.startswith(".")):
                    convertible.append((line, data))
                    yield data

    for result in mapper.map(partial(convert_task, job), entries()):
        line, entry = convertible.popleft()
        if result.get("missing"):
            problems.append(Problem("raw-missing", manifest_file, "/file", f"{entry['file']!r} is not in {layout.rel(layout.raw_dir)}", line))
            continue
        stats.merge(result["cache"])
        if isinstance(entry.get("sha256"), str) and result["sha256"] != entry["sha256"]:
            problems.append(Problem("raw-sha-mismatch", manifest_file, "/sha256", f"{entry['file']} has sha256 {result['sha256']}", line))
        problems.extend(problems_in(result["problems"]))
        summary = result["summary"]
        if summary is not None and summary["id"] not in articles:
            articles.add(summary["id"])
            index.add(result["key"], summary)
    return problems
