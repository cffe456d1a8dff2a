"""Validation: schema checks plus the checks a schema cannot express.

Per-document checks are small functions listed in :data:`DOCUMENT_CHECKS`;
corpus-wide checks (cross-file references, consistency of entity ids) are
listed in :data:`CORPUS_CHECKS`.  Adding a check is one function and one line.
Every check yields :class:`~newscorpus.problems.Problem` values and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Iterator

from newscorpus import SCHEMA_VERSION
from newscorpus.corpus import CorpusLayout, convert_entries, iter_raw, read_manifest, unlisted
from newscorpus.jsonio import NotRegularFile, line_of, load_json, open_regular, read_text, refusal, sha256_file
from newscorpus.problems import Problem, pointer
from newscorpus.schemas import released_versions, schema_problems
from newscorpus.spans import body_sha256

#: Schema versions this release reads without migration.
SUPPORTED_VERSIONS = (SCHEMA_VERSION,)


@dataclass(frozen=True)
class Document:
    """An annotation document as read from ``file``, with the body it annotates (if known)."""

    file: str
    data: Any
    body: str | None = None

    @cached_property
    def slots(self) -> list[tuple[tuple, Any]]:
        """:func:`span_slots` of the data, found once for all the checks."""
        return span_slots(self.data)

    @cached_property
    def offsets(self) -> list[tuple[tuple, dict, Any, Any]]:
        """``(pointer parts, item, start, end)`` of each slot that holds an object, read once for the checks."""
        return [(parts, item, item.get("start"), item.get("end")) for parts, item in self.slots if isinstance(item, dict)]

    @cached_property
    def _lists(self) -> dict[str, list[tuple[int, dict]]]:
        return {key: _items(self.data, key) for key in ("entities", "mentions", "quotes")}

    def items(self, key: str) -> list[tuple[int, dict]]:
        """(index, item) of the dict items of ``entities``, ``mentions`` or ``quotes`` (found once per document)."""
        return self._lists[key]


# ---------------------------------------------------------------- helpers


def _items(doc: Any, key: str) -> list[tuple[int, dict]]:
    """(index, item) for the dict items of ``doc[key]``, skipping malformed ones (the schema reports them)."""
    values = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(values, list):
        return []
    return [(index, item) for index, item in enumerate(values) if isinstance(item, dict)]


def _is_span(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and type(value.get("start")) is int
        and type(value.get("end")) is int
        and isinstance(value.get("text"), str)
    )


def span_slots(doc: Any) -> list[tuple[tuple, Any]]:
    """(pointer parts, value) of every place a span belongs: mentions, quote parts, cues, channels.

    The values are as found (a malformed one too; a missing cue is ``None``).

    >>> span_slots({"mentions": [{"start": 0}], "quotes": [{"content": [], "cue": {}}]})
    [(('mentions', 0), {'start': 0}), (('quotes', 0, 'cue'), {}), (('quotes', 0, 'channel'), None)]
    """
    slots: list[tuple[tuple, Any]] = [(("mentions", i), mention) for i, mention in _items(doc, "mentions")]
    for i, quote in _items(doc, "quotes"):
        parts = quote.get("content")
        if isinstance(parts, list):
            slots.extend((("quotes", i, "content", j), part) for j, part in enumerate(parts))
        slots.append((("quotes", i, "cue"), quote.get("cue")))
        slots.append((("quotes", i, "channel"), quote.get("channel")))
    return slots


def iter_spans(doc: Any) -> Iterator[tuple[tuple, dict]]:
    """(pointer parts, span) for every well-formed span of a document: mentions, quote parts, cues, channels."""
    return ((parts, value) for parts, value in span_slots(doc) if _is_span(value))


# ---------------------------------------------------------------- document checks


def check_version(doc: Document) -> Iterator[Problem]:
    """The document's schemaVersion is one this release reads."""
    version = doc.data.get("schemaVersion") if isinstance(doc.data, dict) else None
    if isinstance(version, str) and version not in SUPPORTED_VERSIONS:
        from newscorpus.migrate import migration_path

        advice = "run `newscorpus migrate`" if migration_path(version) else "upgrade newscorpus, or fix the version"
        yield Problem(
            "schema-version-unsupported", doc.file, "/schemaVersion",
            f"schemaVersion {version} is not one of {', '.join(SUPPORTED_VERSIONS)}; {advice}",
        )


def check_ids_unique(doc: Document) -> Iterator[Problem]:
    """Entity ids are unique; mention and quote ids are unique together (they name Label Studio regions)."""
    for keys in (("entities",), ("mentions", "quotes")):
        ids = [ident for key in keys for _, item in doc.items(key) if isinstance(ident := item.get("id"), str)]
        if len(set(ids)) == len(ids):  # the common case, decided at C speed
            continue
        seen: dict[str, tuple[str, int]] = {}
        for key in keys:
            for i, item in doc.items(key):
                ident = item.get("id")
                if not isinstance(ident, str):
                    continue
                first = seen.setdefault(ident, (key, i))
                if first[1] != i or first[0] != key:
                    yield Problem("id-duplicate", doc.file, pointer(key, i, "id"), f"id {ident!r} is already used at {pointer(*first, 'id')}")


def check_spans(doc: Document) -> Iterator[Problem]:
    """Spans lie inside the body, start before they end, and their text is the body's text there."""
    body = doc.body
    size = -1 if body is None else len(body)
    for parts, item, start, end in doc.offsets:
        text = item.get("text")
        if type(start) is not int or type(end) is not int or not isinstance(text, str) or start < 0:
            continue  # not a span, or a negative start: the schema reports it (schema-range)
        if start >= end:
            yield Problem("span-inverted", doc.file, pointer(*parts, "end"), f"end {end} is not after start {start}")
            continue
        if body is None:
            continue
        if end > size:
            yield Problem("span-out-of-bounds", doc.file, pointer(*parts, "end"), f"end {end} is past the end of the body ({size} code points)")
            continue
        if not body.startswith(text, start) or len(text) != end - start:
            actual = body[start:end]
            yield Problem("span-text-mismatch", doc.file, pointer(*parts, "text"), f"text is {text!r} but the body has {actual!r} at {start}:{end}")
            continue
        prefix, suffix = item.get("prefix"), item.get("suffix")
        if isinstance(prefix, str) and not body.endswith(prefix, 0, start):
            yield Problem("selector-mismatch", doc.file, pointer(*parts, "prefix"), f"prefix {prefix!r} is not the text before {start}")
        if isinstance(suffix, str) and not body.startswith(suffix, end):
            yield Problem("selector-mismatch", doc.file, pointer(*parts, "suffix"), f"suffix {suffix!r} is not the text after {end}")


def check_integral_offsets(doc: Document) -> Iterator[Problem]:
    """Offsets are written as integers: JSON Schema counts ``12.0`` as an integer, Python slicing does not."""
    for parts, _, start, end in doc.offsets:
        if type(start) is not int or type(end) is not int:
            for key, value in (("start", start), ("end", end)):
                if isinstance(value, float):
                    yield Problem("schema-type", doc.file, pointer(*parts, key), f"{key} {value!r} must be written as an integer")


def _is_name(mention: dict) -> bool:
    """Whether a mention is a name mention (``kind`` is ``name``, its default)."""
    return mention.get("kind", "name") == "name"


def check_mention_spans(doc: Document) -> Iterator[Problem]:
    """No two mentions share a span (a stretch of text is one mention, of one entity), and no name mention holds
    another (guidelines B4, B5, C4).  Allowed, and not reported: a pronoun or name inside a nominal
    (``[[his] country]``), mentions that overlap without nesting, and quotes, cues and channels over mentions."""
    spans = [(m.get("start"), m.get("end"), i, m) for i, m in doc.items("mentions")]
    size = len(doc.body) if doc.body is not None else None  # a span past the body's end is check_spans' problem
    spans = [(s, e, i, m) for s, e, i, m in spans if type(s) is int and type(e) is int and 0 <= s < e and (size is None or e <= size)]
    first: dict[tuple[int, int], int] = {}
    for start, end, i, mention in spans:
        j = first.setdefault((start, end), i)
        if j != i:
            yield Problem(
                "mention-duplicate", doc.file, pointer("mentions", i),
                f"mention {mention.get('id')!r} has the same span {start}:{end} as the mention at {pointer('mentions', j)}",
            )
    names = sorted((s, -e, i, m) for s, e, i, m in spans if first[(s, e)] == i and _is_name(m))
    outer: tuple[int, int, int, dict] | None = None  # (end, start, index, mention) of the name reaching furthest so far
    for start, neg_end, i, mention in names:
        end = -neg_end
        if outer is not None and outer[0] >= end:
            o_end, o_start, o_i, o_mention = outer
            inner, other = f"{mention.get('id')!r} ({start}:{end})", f"{o_mention.get('id')!r} ({o_start}:{o_end})"
            relation = f"{inner} is inside {other}" if i > o_i else f"{other} holds {inner}"
            yield Problem(
                "mention-nested", doc.file, pointer("mentions", max(i, o_i)),
                f"name mention {relation}, the mention at {pointer('mentions', min(i, o_i))}; "
                "two name mentions never nest (guidelines B4, B5)",
            )
        elif outer is None or end > outer[0]:
            outer = (end, start, i, mention)


def check_references(doc: Document) -> Iterator[Problem]:
    """Mentions name defined entities; speakers and addressees name mentions."""
    entities = {e.get("id") for _, e in doc.items("entities")}
    mentions = {m.get("id") for _, m in doc.items("mentions")}
    for i, mention in doc.items("mentions"):
        ref = mention.get("entity")
        if isinstance(ref, str) and ref not in entities:
            yield Problem("entity-unknown", doc.file, pointer("mentions", i, "entity"), f"entity {ref!r} is not in this document's entities")
    for i, quote in doc.items("quotes"):
        for key, code in (("speaker", "speaker-unknown"), ("addressee", "addressee-unknown")):
            ref = quote.get(key)
            if isinstance(ref, str) and ref not in mentions:
                yield Problem(code, doc.file, pointer("quotes", i, key), f"{key} {ref!r} is not the id of a mention in this document")


def check_origin_fields(doc: Document) -> Iterator[Problem]:
    """modelVersion and score belong to model-made items only."""
    for key in ("mentions", "quotes"):
        for i, item in doc.items(key):
            if item.get("origin") == "human":
                for field_ in ("modelVersion", "score"):
                    if field_ in item:
                        yield Problem("model-fields-on-human", doc.file, pointer(key, i, field_), f"{field_} is set on an item made by a human")


def check_stale(doc: Document) -> Iterator[Problem]:
    """The body the document was made on is the article's current body."""
    article = doc.data.get("article") if isinstance(doc.data, dict) else None
    recorded = article.get("bodySha256") if isinstance(article, dict) else None
    if doc.body is not None and isinstance(recorded, str) and recorded != body_sha256(doc.body):
        yield Problem(
            "annotation-stale", doc.file, "/article/bodySha256",
            "the article body changed since these annotations were made; run `newscorpus rebase` to re-anchor them",
        )


#: Checks of one annotation document, run after the schema check.
DOCUMENT_CHECKS: list[Callable[[Document], Iterable[Problem]]] = [
    check_version,
    check_ids_unique,
    check_stale,
    check_integral_offsets,
    check_spans,
    check_mention_spans,
    check_references,
    check_origin_fields,
]


def document_problems(data: Any, file: str, body: str | None) -> list[Problem]:
    """Schema and semantic problems of one annotation document.

    ``body`` is the current text of the article; with ``None`` the checks that
    need it are skipped.  Span checks are skipped when the body is stale (they
    would all fail for the same reason).  A document of an older released
    schema version is checked against the schemas of its own version (plus
    ``schema-version-unsupported``, which says to migrate it), so that what
    the migration will add is not reported as missing.
    """
    problems = list(schema_problems(data, "annotation", file, version=_schema_version_of(data)))
    doc = Document(file, data, body)
    stale = list(check_stale(doc))
    if stale:
        doc = Document(file, data, None)
    for check in DOCUMENT_CHECKS:
        if check is check_stale:
            problems.extend(stale)
        else:
            problems.extend(check(doc))
    return problems


def _schema_version_of(data: Any) -> str:
    """The released schema version to check ``data`` against: its own when this release keeps it, else the current one."""
    version = data.get("schemaVersion") if isinstance(data, dict) else None
    return version if isinstance(version, str) and version in released_versions() else SCHEMA_VERSION


# ---------------------------------------------------------------- corpus checks


@dataclass
class CorpusState:
    """What the corpus checks look at: the articles and every loaded annotation document."""

    articles: dict[str, dict] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)
    #: the articles whose document in the set could not be read (named by its file: ``<article id>.json``)
    unreadable: Collection[str] = ()


def check_article_known(state: CorpusState) -> Iterator[Problem]:
    """Every annotation document names an article of the corpus."""
    for doc in state.documents:
        ident = article_id_of(doc.data)
        if ident is not None and ident not in state.articles:
            yield Problem("article-unknown", doc.file, "/article/id", f"no article {ident!r} in the corpus manifest")


def check_file_names(state: CorpusState) -> Iterator[Problem]:
    """An annotation document is stored as ``<article id>.json``."""
    for doc in state.documents:
        ident = article_id_of(doc.data)
        if ident is not None and Path(doc.file).name != f"{ident}.json":
            yield Problem("annotation-file-name", doc.file, "/article/id", f"the document of article {ident!r} must be named {ident}.json")


def check_entity_consistency(state: CorpusState) -> Iterator[Problem]:
    """One entity id means one entity everywhere: same name, label and Wikidata id."""
    first: dict[str, tuple[tuple, str]] = {}
    for doc in state.documents:
        for i, entity in _items(doc.data, "entities"):
            ident = entity.get("id")
            if not isinstance(ident, str):
                continue
            facts = (entity.get("name"), entity.get("label"), entity.get("wikidata"))
            if ident not in first:
                first[ident] = (facts, doc.file)
            elif first[ident][0] != facts:
                other, where = first[ident]
                yield Problem(
                    "entity-conflict", doc.file, pointer("entities", i),
                    f"entity {ident!r} is {facts} here but {other} in {where}",
                )


def check_quote_links(state: CorpusState) -> Iterator[Problem]:
    """Every quote's sameAs names a quote of an annotated article; a link into an article whose document could not be
    read is not checked (that document's own problem says what to fix; the link is checked once it reads)."""
    quotes: dict[str, set] = {}
    for doc in state.documents:
        ident = article_id_of(doc.data)
        if ident is not None:
            quotes.setdefault(ident, set()).update(q.get("id") for _, q in _items(doc.data, "quotes"))
    for doc in state.documents:
        for i, quote in _items(doc.data, "quotes"):
            links = quote.get("sameAs")
            if not isinstance(links, list):
                continue
            for j, link in enumerate(links):
                if not isinstance(link, dict):
                    continue
                article, target = link.get("article"), link.get("quote")
                if article in state.unreadable:
                    continue
                if article not in quotes or target not in quotes[article]:
                    yield Problem("quote-link-unresolved", doc.file, pointer("quotes", i, "sameAs", j), f"no quote {target!r} in the annotations of article {article!r}")


#: Checks across all documents of one annotation set.
CORPUS_CHECKS: list[Callable[[CorpusState], Iterable[Problem]]] = [
    check_article_known,
    check_file_names,
    check_entity_consistency,
    check_quote_links,
]


def article_id_of(data: Any) -> str | None:
    """The article id a document names (``/article/id``), or None when it names none properly."""
    article = data.get("article") if isinstance(data, dict) else None
    ident = article.get("id") if isinstance(article, dict) else None
    return ident if isinstance(ident, str) else None


# ---------------------------------------------------------------- manifest and raw files


def manifest_problems(layout: CorpusLayout) -> list[Problem]:
    """Schema, uniqueness and file checks of ``raw/manifest.jsonl`` against ``raw/``."""
    file = layout.rel(layout.manifest)
    if not layout.manifest.exists():
        if layout.raw_files():
            return [Problem("file-unreadable", file, "", "raw files are present but the manifest is missing")]
        return []
    entries, problems = read_manifest(layout)
    seen_ids: dict[str, int] = {}
    seen_files: dict[str, int] = {}
    for entry in entries:
        problems.extend(p.at(line=entry.line) for p in schema_problems(entry.data, "manifest", file))
        if not isinstance(entry.data, dict):
            continue
        for key, seen in (("id", seen_ids), ("file", seen_files)):
            value = entry.data.get(key)
            if isinstance(value, str):
                if value in seen:
                    problems.append(Problem("id-duplicate", file, f"/{key}", f"{key} {value!r} is already listed on line {seen[value]}", entry.line))
                else:
                    seen[value] = entry.line
    for entry, path in iter_raw(layout, entries):
        if path.is_symlink() or (path.exists() and not path.is_file() and not path.is_dir()):
            try:  # refused as the build refuses it, under its own name (a link's target could be anywhere)
                open_regular(path).close()
            except (OSError, NotRegularFile) as error:
                problems.append(refusal(path, f"{layout.rel(layout.raw_dir)}/{path.name}", error))
                continue
        if not path.is_file():
            problems.append(Problem("raw-missing", file, "/file", f"{entry.file!r} is not in {layout.rel(layout.raw_dir)}", entry.line))
            continue
        expected = entry.data.get("sha256")
        if isinstance(expected, str):
            digest, read_problems = sha256_file(path, layout.rel(path))
            problems.extend(read_problems)
            if digest is not None and digest != expected:
                problems.append(Problem("raw-sha-mismatch", file, "/sha256", f"{entry.file} has sha256 {digest}", entry.line))
    listed = set(seen_files)
    for path in layout.raw_files():
        if path.name not in listed:
            problems.append(unlisted(layout.rel(path), path.name, file))
    return problems


# ---------------------------------------------------------------- putting it together


def load_documents(paths: Iterable[Path], layout: CorpusLayout, articles: dict[str, dict]) -> tuple[list[Document], list[Problem]]:
    """Read annotation documents strictly and check each; ``(readable documents, problems)``."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for path in paths:
        file = layout.rel(path)
        data, text, read_problems = load_json(path, file)
        if read_problems:
            problems.extend(read_problems)
            continue
        ident = article_id_of(data)
        body = articles[ident]["body"]["text"] if ident in articles else None
        found = document_problems(data, file, body)
        problems.extend(with_lines(found, text))
        documents.append(Document(file, data, body))
    return documents, problems


def annotation_set_check(paths: list[Path], layout: CorpusLayout, articles: dict[str, dict]) -> list[Problem]:
    """Every problem of one annotation set: each document's (:func:`load_documents`), then the set's
    (:func:`annotation_set_problems`), where a link into an article whose document did not load, named by its file
    (``<article id>.json``), is not checked."""
    documents, problems = load_documents(paths, layout, articles)
    unreadable: set[str] = set()
    if len(documents) < len(paths):
        read = {document.file for document in documents}
        unreadable = {path.stem for path in paths if layout.rel(path) not in read}
    return problems + with_lines_from_files(annotation_set_problems(documents, articles, unreadable), layout)


def with_lines(problems: list[Problem], text: str | None) -> list[Problem]:
    """The problems with the line of their JSON Pointer filled in from the file's text."""
    if not problems or text is None:
        return problems
    return [p if p.line is not None else p.at(line=line_of(text, p.pointer)) for p in problems]


def annotation_set_problems(documents: list[Document], articles: dict[str, dict],
                            unreadable: Collection[str] = ()) -> list[Problem]:
    """Corpus-wide checks of one annotation set (the gold set, or one annotator's); ``unreadable``: the articles whose
    document in the set did not load (:func:`annotation_set_check`)."""
    state = CorpusState(articles, documents, unreadable)
    return [p for check in CORPUS_CHECKS for p in check(state)]


def article_problems(article: dict, file: str) -> list[Problem]:
    """Schema problems of a converted article (a converter bug if any)."""
    return list(schema_problems(article, "article", file))


def validate_corpus(layout: CorpusLayout) -> tuple[list[Problem], dict[str, dict]]:
    """Everything about a corpus directory: manifest, raw files, articles, every annotation set.

    Returns ``(problems, articles)`` so that callers (build) need not convert twice.
    """
    problems = linked_dir_problems(layout) + manifest_problems(layout)
    entries, _ = read_manifest(layout)  # its problems are in manifest_problems
    articles, conversion = convert_entries(layout, entries)
    problems.extend(conversion)
    for ident in list(articles):
        invalid = article_problems(articles[ident], articles[ident]["provenance"]["rawFile"])
        if invalid:  # a converter bug: report it and keep the record out of everything downstream
            problems.extend(invalid)
            del articles[ident]
    sets = {"gold": layout.gold_files(), **layout.annotator_files()}
    for paths in sets.values():
        problems.extend(annotation_set_check(paths, layout, articles))
    return problems, articles


def linked_dir_problems(layout: CorpusLayout) -> list[Problem]:
    """Symbolic links among the corpus's directories: reported, and never followed."""
    return [
        Problem("file-not-regular", f"{layout.rel(d.parent)}/{d.name}", "", "a symbolic link to a directory; the corpus holds real directories only")
        for d in layout.linked_dirs()
    ]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _located(path: Path) -> Path:
    """``path`` with its directory resolved, not itself: a changed file that is a symbolic link is that link."""
    return path.parent.resolve() / path.name


def validate_changed(layout: CorpusLayout, changed: Iterable[Path]) -> list[Problem]:
    """The problems a change brings: only what the changed files (absolute paths, deleted ones too) touch.

    * a changed raw file or manifest: the manifest against raw/, the conversion
      of the changed raw files, and the annotation documents of their articles
      (a new body makes them stale);
    * a changed annotation document: its whole annotation set, since ids and
      quote links are checked across the set.

    Everything else of the corpus is taken to be valid already (CI validates
    the main branch whole).
    """
    changed = {_located(path) for path in changed}
    raw_dir, annotations = layout.raw_dir.resolve(), layout.gold_dir.resolve().parent
    raw_changed = {p for p in changed if _inside(p, raw_dir)}
    docs_changed = {p for p in changed if _inside(p, annotations) and p.suffix == ".json"}
    if not raw_changed and not docs_changed:
        return []
    problems = linked_dir_problems(layout) + (manifest_problems(layout) if raw_changed else [])
    entries, _ = read_manifest(layout)
    articles, conversion = convert_entries(layout, entries)
    problems.extend(p for p in conversion if _located(layout.root.parent / p.file) in raw_changed)
    touched_ids = set()
    for entry, path in iter_raw(layout, entries):
        if _located(path) in raw_changed and isinstance(entry.data.get("id"), str):
            touched_ids.add(entry.id)
            if entry.id in articles:
                problems.extend(article_problems(articles[entry.id], layout.rel(path)))
    sets = {"gold": layout.gold_files(), **layout.annotator_files()}
    for paths in sets.values():
        if any(_located(p) in docs_changed or p.stem in touched_ids for p in paths):
            problems.extend(annotation_set_check(paths, layout, articles))
    return problems


def with_lines_from_files(problems: list[Problem], layout: CorpusLayout) -> list[Problem]:
    """Fill in lines for problems found after reading (corpus checks), re-reading only those files."""
    out = []
    texts: dict[str, str | None] = {}
    for p in problems:
        if p.file not in texts:
            path = layout.root.parent / p.file
            texts[p.file] = read_text(path, p.file)[0]
        out.extend(with_lines([p], texts[p.file]))
    return out


def _is_corpus_dir(path: Path) -> bool:
    return path.is_dir() and (path / "raw").is_dir()


def validate_paths(paths: list[Path], layout: CorpusLayout) -> list[Problem]:
    """Validate what each path is: a corpus directory, a manifest, a raw file, an
    annotation document or a directory of them (one annotation set), or an article record.

    Annotation documents are checked against the articles of ``layout``.
    Raw files of ``layout`` (as a pre-commit hook passes them) are checked as
    :func:`validate_changed` checks a change to them: against their manifest
    lines (listed, sha256), converted as listed, and the annotation documents
    of their articles (a new body makes them stale).
    """
    from newscorpus.convert import convert_path

    problems: list[Problem] = []
    articles: dict[str, dict] | None = None
    raw_dir = layout.raw_dir.resolve()
    in_corpus = [path for path in paths if path.parent.resolve() == raw_dir and path.name != layout.manifest.name
                 and not path.is_dir() and (path.exists() or path.is_symlink())]
    if in_corpus:
        problems.extend(validate_changed(layout, [path.absolute() for path in in_corpus]))
        paths = [path for path in paths if path not in in_corpus]

    def corpus_articles() -> dict[str, dict]:
        nonlocal articles
        if articles is None:
            from newscorpus.corpus import convert_corpus

            articles = convert_corpus(layout)[0]
        return articles

    for path in paths:
        file = layout.rel(path)
        if _is_corpus_dir(path):
            problems.extend(validate_corpus(CorpusLayout(path))[0])
        elif path.is_dir():
            problems.extend(annotation_set_check(sorted(path.glob("*.json")), layout, corpus_articles()))
        elif not path.exists():
            problems.append(Problem("file-unreadable", file, "", "no such file or directory"))
        elif path.name.endswith(".jsonl") and path.name.startswith("manifest"):
            problems.extend(manifest_problems(CorpusLayout(path.parent.parent)))
        elif path.suffix == ".json":
            problems.extend(_validate_json_file(path, file, layout, corpus_articles))
        else:
            problems.extend(convert_path(path, file=file)[1])
    return problems


def _validate_json_file(path: Path, file: str, layout: CorpusLayout, corpus_articles: Callable[[], dict]) -> list[Problem]:
    data, text, problems = load_json(path, file)
    if problems:
        return problems
    if isinstance(data, dict) and "body" in data and "mentions" not in data:
        return with_lines(article_problems(data, file), text)
    articles = corpus_articles()
    documents, found = load_documents([path], layout, articles)
    found.extend(p for p in check_article_known(CorpusState(articles, documents)))
    return with_lines(found, text)
