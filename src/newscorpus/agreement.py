"""Inter-annotator agreement between two sets of annotation documents.

Set A is the reference and set B is measured against it: precision is the
share of B's items that match an item of A, recall the share of A's items that
match an item of B.  Matching is one-to-one (a maximum bipartite matching), so
the number of matches is the same from either side and F1 is symmetric: swap A
and B and precision and recall swap, F1 stays.

What is compared (ANNOTATION_GUIDELINES.md, "Measuring agreement", says the same
for annotators):

* mentions, per OntoNotes label and micro-averaged over all labels: two mentions
  match *exactly* when they have the same start, end and label, and *by
  overlap* when they have the same label and share at least one code point;
  the same figures label-blind ("any label") and per mention kind;
* entity linking, on mention pairs matched by overlap: the share whose entity
  ids are equal, and pairwise coreference links (two matched mentions are
  linked when they belong to one entity) with precision/recall/F1, which does
  not depend on how the entity ids are spelled;
* quotes: content matches *exactly* when every part has the same offsets, *by
  overlap* when any part of one shares a code point with any part of the other;
  cue and channel spans the same way;
* on quotes matched by overlap: Cohen's kappa on the quote type, and speaker
  (and addressee) accuracy, where two speakers agree when both are null, or
  when the two speaker mentions overlap, or when they belong to entities with
  the same id.

Documents are paired by article id; documents of one article made on different
bodies (``bodySha256`` differs) are an error and are not compared.
Everything here is pure: the CLI reads the files.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from newscorpus.problems import Problem, pointer
from newscorpus.schemas import entity_labels

T = TypeVar("T")

#: Quote types, in the order the schema lists them.
QUOTE_TYPES = ("direct", "indirect", "mixed")
#: Mention kinds, in the order the schema lists them.
MENTION_KINDS = ("name", "nominal", "pronoun")
#: Output formats of :func:`render`.
FORMATS = ("text", "json", "markdown")
#: The label-blind row of the mention table.
ANY_LABEL = "any label"


# --- counting ---------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Matched counts of a reference set (A) and a candidate set (B).

    >>> Scores(reference=4, candidate=2, matched=2).f1
    0.6666666666666666
    >>> Scores(0, 0, 0).precision is None
    True
    """

    reference: int = 0
    candidate: int = 0
    matched: int = 0

    def __add__(self, other: "Scores") -> "Scores":
        return Scores(
            self.reference + other.reference,
            self.candidate + other.candidate,
            self.matched + other.matched,
        )

    @property
    def precision(self) -> float | None:
        """Share of B's items matched in A; None when B has none."""
        return self.matched / self.candidate if self.candidate else None

    @property
    def recall(self) -> float | None:
        """Share of A's items matched in B; None when A has none."""
        return self.matched / self.reference if self.reference else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall, ``2m / (|A| + |B|)``; None when both sets are empty."""
        total = self.reference + self.candidate
        return 2 * self.matched / total if total else None

    def as_dict(self) -> dict:
        """JSON-ready counts and figures."""
        return {
            "a": self.reference,
            "b": self.candidate,
            "matched": self.matched,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass(frozen=True)
class Ratio:
    """How many of ``total`` compared items agree.

    >>> Ratio(3, 4).value
    0.75
    >>> Ratio(0, 0).value is None
    True
    """

    agree: int = 0
    total: int = 0

    def __add__(self, other: "Ratio") -> "Ratio":
        return Ratio(self.agree + other.agree, self.total + other.total)

    @property
    def value(self) -> float | None:
        """``agree / total``, or None when nothing was compared."""
        return self.agree / self.total if self.total else None

    def as_dict(self) -> dict:
        """JSON-ready counts and value."""
        return {"agree": self.agree, "total": self.total, "value": self.value}


def cohen_kappa(pairs: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa from a confusion table ``{(category by A, category by B): count}``.

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and
    ``p_e = sum_k p_A(k) * p_B(k)`` the agreement expected by chance.  None when
    there are no items, or when ``p_e`` is 1 (both sides used one and the same
    category for everything: kappa is undefined).

    >>> cohen_kappa({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15})
    0.4
    """
    n = sum(pairs.values())
    if n == 0:
        return None
    by_a: Counter[str] = Counter()
    by_b: Counter[str] = Counter()
    for (a, b), count in pairs.items():
        by_a[a] += count
        by_b[b] += count
    observed = sum(count for (a, b), count in pairs.items() if a == b) / n
    expected = sum(by_a[k] * by_b[k] for k in by_a) / (n * n)
    if expected >= 1:
        return None
    return round((observed - expected) / (1 - expected), 12)


def max_matching(reference: Sequence[T], candidate: Sequence[T], agree: Callable[[T, T], bool],
                 prefer: Callable[[T, T], Any] | None = None) -> list[tuple[int, int]]:
    """A maximum one-to-one matching: ``[(index in reference, index in candidate), ...]``.

    Kuhn's augmenting paths (iterative, no recursion limit).  ``prefer`` orders
    each reference item's candidates, highest first, so that among the maximum
    matchings the closest pairs tend to be chosen (e.g. exact before overlap);
    it returns anything sortable (a number, a tuple).

    >>> max_matching([(0, 5), (4, 9)], [(4, 6)], lambda a, b: a[0] < b[1] and b[0] < a[1])
    [(0, 0)]
    """
    adjacency: list[list[int]] = []
    for a in reference:
        options = [j for j, b in enumerate(candidate) if agree(a, b)]
        if prefer is not None:
            options.sort(key=lambda j: prefer(a, candidate[j]), reverse=True)
        adjacency.append(options)
    owner: dict[int, int] = {}
    for root in range(len(reference)):
        visited: set[int] = set()
        stack = [(root, iter(adjacency[root]))]
        path: list[tuple[int, int]] = []
        while stack:
            i, options = stack[-1]
            step = next((j for j in options if j not in visited), None)
            if step is None:
                stack.pop()
                if path:
                    path.pop()
                continue
            visited.add(step)
            path.append((i, step))
            if step not in owner:
                for ref, cand in path:
                    owner[cand] = ref
                break
            stack.append((owner[step], iter(adjacency[owner[step]])))
    return sorted((ref, cand) for cand, ref in owner.items())


# --- spans, mentions and quotes ---------------------------------------------

Offsets = tuple[int, int]


def overlap(a: Offsets, b: Offsets) -> int:
    """How many code points two end-exclusive spans share.

    >>> overlap((0, 5), (3, 9)), overlap((0, 3), (3, 9))
    (2, 0)
    """
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _offsets(span: dict) -> Offsets:
    return (span["start"], span["end"])


@dataclass(frozen=True)
class Mention:
    """The parts of a mention that agreement looks at."""

    id: str
    span: Offsets
    label: str
    kind: str
    entity: str

    @classmethod
    def from_dict(cls, item: dict) -> "Mention":
        """From a schema-valid mention object."""
        return cls(item["id"], _offsets(item), item["label"], item.get("kind", "name"), item["entity"])


@dataclass(frozen=True)
class Quote:
    """The parts of a quote that agreement looks at."""

    id: str
    type: str
    content: tuple[Offsets, ...]
    cue: Offsets | None
    channel: Offsets | None
    speaker: str | None
    addressee: str | None

    @classmethod
    def from_dict(cls, item: dict) -> "Quote":
        """From a schema-valid quote object."""
        return cls(
            item["id"],
            item["type"],
            tuple(_offsets(part) for part in item["content"]),
            _offsets(item["cue"]) if item.get("cue") else None,
            _offsets(item["channel"]) if item.get("channel") else None,
            item.get("speaker"),
            item.get("addressee"),
        )


@dataclass(frozen=True)
class Document:
    """One annotation document, reduced to what agreement compares."""

    article: str
    body_sha256: str
    mentions: tuple[Mention, ...]
    quotes: tuple[Quote, ...]
    annotators: frozenset[str]

    @classmethod
    def from_dict(cls, doc: dict) -> "Document":
        """From a schema-valid annotation document."""
        items = [*doc["mentions"], *doc["quotes"]]
        return cls(
            doc["article"]["id"],
            doc["article"]["bodySha256"],
            tuple(Mention.from_dict(m) for m in doc["mentions"]),
            tuple(Quote.from_dict(q) for q in doc["quotes"]),
            frozenset(item["annotator"] for item in items),
        )

    def mention(self, mention_id: str | None) -> Mention | None:
        """The mention with this id, if any."""
        return next((m for m in self.mentions if m.id == mention_id), None)


def reference_problems(doc: dict, file: str) -> list[Problem]:
    """Mention ids that repeat, and speakers or addressees that name no mention, in a schema-valid document.

    Agreement resolves speakers through mention ids, so these would make the
    speaker figures wrong; such a document is left out.
    """
    problems = []
    seen: set[str] = set()
    for index, mention in enumerate(doc["mentions"]):
        if mention["id"] in seen:
            problems.append(Problem("id-duplicate", file, pointer("mentions", index, "id"),
                                    f"mention id {mention['id']!r} is used twice"))
        seen.add(mention["id"])
    for index, quote in enumerate(doc["quotes"]):
        for role, code in (("speaker", "speaker-unknown"), ("addressee", "addressee-unknown")):
            target = quote.get(role)
            if target is not None and target not in seen:
                problems.append(Problem(code, file, pointer("quotes", index, role),
                                        f"{role} {target!r} is not the id of a mention of this document"))
    return problems


def _content_overlap(a: Quote, b: Quote) -> int:
    return sum(overlap(x, y) for x in a.content for y in b.content)


def _speakers_agree(role: str, a: Quote, doc_a: Document, b: Quote, doc_b: Document) -> bool:
    id_a, id_b = getattr(a, role), getattr(b, role)
    if id_a is None or id_b is None:
        return id_a is None and id_b is None
    mention_a, mention_b = doc_a.mention(id_a), doc_b.mention(id_b)
    if mention_a is None or mention_b is None:
        return False
    return overlap(mention_a.span, mention_b.span) > 0 or mention_a.entity == mention_b.entity


def _span_scores(a: Sequence[Offsets], b: Sequence[Offsets]) -> tuple[Scores, Scores]:
    """(exact, overlap) scores of two lists of spans."""
    exact = Scores(len(a), len(b), sum((Counter(a) & Counter(b)).values()))
    matched = max_matching(a, b, lambda x, y: overlap(x, y) > 0, prefer=lambda x, y: (x == y, overlap(x, y)))
    return exact, Scores(len(a), len(b), len(matched))


def _pairs_within(groups: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in groups)


# --- the comparison ---------------------------------------------------------


@dataclass
class Agreement:
    """Agreement figures of B against A, summed over every compared article."""

    articles: list[str] = field(default_factory=list)
    annotators_a: set[str] = field(default_factory=set)
    annotators_b: set[str] = field(default_factory=set)
    #: label (or :data:`ANY_LABEL`) -> scores
    mentions_exact: dict[str, Scores] = field(default_factory=dict)
    mentions_overlap: dict[str, Scores] = field(default_factory=dict)
    #: mention kind -> scores (mentions match only within one kind)
    kinds_exact: dict[str, Scores] = field(default_factory=dict)
    kinds_overlap: dict[str, Scores] = field(default_factory=dict)
    entity_ids: Ratio = field(default_factory=Ratio)
    coreference_links: Scores = field(default_factory=Scores)
    quotes_exact: Scores = field(default_factory=Scores)
    quotes_overlap: Scores = field(default_factory=Scores)
    cues_exact: Scores = field(default_factory=Scores)
    cues_overlap: Scores = field(default_factory=Scores)
    channels_exact: Scores = field(default_factory=Scores)
    channels_overlap: Scores = field(default_factory=Scores)
    #: (type by A, type by B) -> count, over quotes matched by overlap
    quote_types: Counter = field(default_factory=Counter)
    speakers: Ratio = field(default_factory=Ratio)
    addressees: Ratio = field(default_factory=Ratio)

    @property
    def labels(self) -> list[str]:
        """Labels used on either side, in OntoNotes order."""
        return [label for label in entity_labels() if label in self.mentions_exact]

    @property
    def mentions_micro(self) -> tuple[Scores, Scores]:
        """(exact, overlap) micro-averaged over all labels: a mention matches only one of its own label."""
        exact = sum((self.mentions_exact[label] for label in self.labels), Scores())
        over = sum((self.mentions_overlap[label] for label in self.labels), Scores())
        return exact, over

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa on quote type over quotes matched by overlap."""
        return cohen_kappa(self.quote_types)

    def add(self, a: Document, b: Document) -> None:
        """Add the comparison of two documents of one article (B against A)."""
        self.articles.append(a.article)
        self.annotators_a |= a.annotators
        self.annotators_b |= b.annotators
        self._add_mentions(a, b)
        self._add_quotes(a, b)

    def _add_mentions(self, a: Document, b: Document) -> None:
        groupings: list[tuple[Callable[[Mention], str], dict, dict]] = [
            (lambda m: m.label, self.mentions_exact, self.mentions_overlap),
            (lambda m: ANY_LABEL, self.mentions_exact, self.mentions_overlap),
            (lambda m: m.kind, self.kinds_exact, self.kinds_overlap),
        ]
        for key, exact_table, overlap_table in groupings:
            for group in {key(m) for m in (*a.mentions, *b.mentions)}:
                spans_a = [m.span for m in a.mentions if key(m) == group]
                spans_b = [m.span for m in b.mentions if key(m) == group]
                exact, over = _span_scores(spans_a, spans_b)
                exact_table[group] = exact_table.get(group, Scores()) + exact
                overlap_table[group] = overlap_table.get(group, Scores()) + over
        self._add_entity_links(a, b)

    def _add_entity_links(self, a: Document, b: Document) -> None:
        matched: list[tuple[Mention, Mention]] = []
        for label in {m.label for m in a.mentions}:
            of_a = [m for m in a.mentions if m.label == label]
            of_b = [m for m in b.mentions if m.label == label]
            pairs = max_matching(of_a, of_b, lambda x, y: overlap(x.span, y.span) > 0,
                                 prefer=lambda x, y: (x.span == y.span, overlap(x.span, y.span)))
            matched.extend((of_a[i], of_b[j]) for i, j in pairs)
        self.entity_ids += Ratio(sum(x.entity == y.entity for x, y in matched), len(matched))
        links_a = _pairs_within(Counter(x.entity for x, _ in matched).values())
        links_b = _pairs_within(Counter(y.entity for _, y in matched).values())
        links_both = _pairs_within(Counter((x.entity, y.entity) for x, y in matched).values())
        self.coreference_links += Scores(links_a, links_b, links_both)

    def _add_quotes(self, a: Document, b: Document) -> None:
        exact = sum((Counter([q.content for q in a.quotes]) & Counter([q.content for q in b.quotes])).values())
        self.quotes_exact += Scores(len(a.quotes), len(b.quotes), exact)
        pairs = max_matching(a.quotes, b.quotes, lambda x, y: _content_overlap(x, y) > 0,
                             prefer=lambda x, y: (x.content == y.content, _content_overlap(x, y)))
        self.quotes_overlap += Scores(len(a.quotes), len(b.quotes), len(pairs))
        for attribute, exact_name, overlap_name in (("cue", "cues_exact", "cues_overlap"),
                                                    ("channel", "channels_exact", "channels_overlap")):
            spans_a = [getattr(q, attribute) for q in a.quotes if getattr(q, attribute) is not None]
            spans_b = [getattr(q, attribute) for q in b.quotes if getattr(q, attribute) is not None]
            span_exact, span_overlap = _span_scores(spans_a, spans_b)
            setattr(self, exact_name, getattr(self, exact_name) + span_exact)
            setattr(self, overlap_name, getattr(self, overlap_name) + span_overlap)
        for i, j in pairs:
            qa, qb = a.quotes[i], b.quotes[j]
            self.quote_types[(qa.type, qb.type)] += 1
            self.speakers += Ratio(int(_speakers_agree("speaker", qa, a, qb, b)), 1)
            self.addressees += Ratio(int(_speakers_agree("addressee", qa, a, qb, b)), 1)

    def as_dict(self) -> dict:
        """Every figure, JSON-ready (None where a figure is undefined)."""
        exact, over = self.mentions_micro
        return {
            "reference": "A",
            "articles": sorted(self.articles),
            "annotators": {"a": sorted(self.annotators_a), "b": sorted(self.annotators_b)},
            "mentions": {
                "byLabel": {
                    label: {"exact": self.mentions_exact[label].as_dict(),
                            "overlap": self.mentions_overlap[label].as_dict()}
                    for label in self.labels
                },
                "micro": {"exact": exact.as_dict(), "overlap": over.as_dict()},
                "anyLabel": {"exact": self.mentions_exact.get(ANY_LABEL, Scores()).as_dict(),
                             "overlap": self.mentions_overlap.get(ANY_LABEL, Scores()).as_dict()},
                "byKind": {
                    kind: {"exact": self.kinds_exact[kind].as_dict(), "overlap": self.kinds_overlap[kind].as_dict()}
                    for kind in MENTION_KINDS if kind in self.kinds_exact
                },
            },
            "entityLinking": {
                "sameEntityId": self.entity_ids.as_dict(),
                "coreferenceLinks": self.coreference_links.as_dict(),
            },
            "quotes": {
                "content": {"exact": self.quotes_exact.as_dict(), "overlap": self.quotes_overlap.as_dict()},
                "cue": {"exact": self.cues_exact.as_dict(), "overlap": self.cues_overlap.as_dict()},
                "channel": {"exact": self.channels_exact.as_dict(), "overlap": self.channels_overlap.as_dict()},
                "type": {
                    "kappa": self.kappa,
                    "matched": sum(self.quote_types.values()),
                    "confusion": [
                        {"a": ta, "b": tb, "count": self.quote_types[(ta, tb)]}
                        for ta in QUOTE_TYPES for tb in QUOTE_TYPES if self.quote_types[(ta, tb)]
                    ],
                },
                "speaker": self.speakers.as_dict(),
                "addressee": self.addressees.as_dict(),
            },
        }


def pair_documents(side_a: Mapping[str, dict], side_b: Mapping[str, dict]) -> tuple[list[tuple[Document, Document]], list[Problem]]:
    """Pair schema-valid documents of two sides (``{file: document}``) by article id.

    Returns the pairs to compare, in article id order, and the problems: an
    article annotated twice on one side (error, not compared), an article whose
    two documents were made on different bodies (error, not compared), an
    article annotated on one side only (warning, left out).
    """
    problems: list[Problem] = []
    duplicated: set[str] = set()
    indexed = []
    for side, docs in (("A", side_a), ("B", side_b)):
        by_article: dict[str, list[str]] = {}
        for file, doc in docs.items():
            by_article.setdefault(doc["article"]["id"], []).append(file)
        for article, files in sorted(by_article.items()):
            if len(files) > 1:
                duplicated.add(article)
                problems.extend(
                    Problem("agreement-duplicate-article", file, "/article/id",
                            f"article {article!r} is annotated by {len(files)} documents of side {side}")
                    for file in sorted(files)
                )
        indexed.append({article: files[0] for article, files in by_article.items() if len(files) == 1})
    files_a, files_b = indexed
    pairs = []
    for article in sorted(set(files_a) | set(files_b)):
        if article not in files_a or article not in files_b:
            if article in duplicated:
                continue
            side, file = ("A", files_a[article]) if article in files_a else ("B", files_b[article])
            problems.append(Problem("agreement-unpaired", file, "/article/id",
                                    f"article {article!r} is annotated on side {side} only; it is left out",
                                    severity="warning"))
            continue
        doc_a, doc_b = side_a[files_a[article]], side_b[files_b[article]]
        sha_a, sha_b = doc_a["article"]["bodySha256"], doc_b["article"]["bodySha256"]
        if sha_a != sha_b:
            problems.append(Problem("agreement-body-mismatch", files_b[article], "/article/bodySha256",
                                    f"article {article!r} was annotated on a different body than in "
                                    f"{files_a[article]} ({sha_b[:12]}… vs {sha_a[:12]}…); rebase one of them first"))
            continue
        pairs.append((Document.from_dict(doc_a), Document.from_dict(doc_b)))
    return pairs, problems


def compare(pairs: Iterable[tuple[Document, Document]]) -> Agreement:
    """Agreement of B against A over pairs of documents of one article each."""
    agreement = Agreement()
    for a, b in pairs:
        agreement.add(a, b)
    return agreement


# --- rendering --------------------------------------------------------------


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _row(name: str, exact: Scores, over: Scores) -> list[str]:
    return [name, str(exact.reference), str(exact.candidate),
            _figure(exact.precision), _figure(exact.recall), _figure(exact.f1),
            _figure(over.precision), _figure(over.recall), _figure(over.f1)]


_SPAN_HEADER = ["", "A", "B", "exact P", "exact R", "exact F1", "overlap P", "overlap R", "overlap F1"]


def _tables(agreement: Agreement) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table, shared by the text and markdown renderings."""
    exact, over = agreement.mentions_micro
    labels = [_row(label, agreement.mentions_exact[label], agreement.mentions_overlap[label])
              for label in agreement.labels]
    labels.append(_row("all labels (micro)", exact, over))
    labels.append(_row(ANY_LABEL, agreement.mentions_exact.get(ANY_LABEL, Scores()),
                       agreement.mentions_overlap.get(ANY_LABEL, Scores())))
    kinds = [_row(kind, agreement.kinds_exact[kind], agreement.kinds_overlap[kind])
             for kind in MENTION_KINDS if kind in agreement.kinds_exact]
    quotes = [
        _row("content", agreement.quotes_exact, agreement.quotes_overlap),
        _row("cue", agreement.cues_exact, agreement.cues_overlap),
        _row("channel", agreement.channels_exact, agreement.channels_overlap),
    ]
    links = agreement.coreference_links
    matched = sum(agreement.quote_types.values())
    attribution = [
        ["quote type (Cohen's kappa)", str(matched), _figure(agreement.kappa)],
        ["speaker accuracy", str(agreement.speakers.total), _figure(agreement.speakers.value)],
        ["addressee accuracy", str(agreement.addressees.total), _figure(agreement.addressees.value)],
        ["same entity id", str(agreement.entity_ids.total), _figure(agreement.entity_ids.value)],
        ["coreference links P / R / F1", f"{links.reference} / {links.candidate}",
         f"{_figure(links.precision)} / {_figure(links.recall)} / {_figure(links.f1)}"],
    ]
    return [
        ("Entity mentions by label", ["label", *_SPAN_HEADER[1:]], labels),
        ("Entity mentions by kind", ["kind", *_SPAN_HEADER[1:]], kinds),
        ("Quotes", ["quote part", *_SPAN_HEADER[1:]], quotes),
        ("On matched items", ["figure", "compared", "value"], attribution),
    ]


def _preamble(agreement: Agreement) -> list[str]:
    ann_a = ", ".join(sorted(agreement.annotators_a)) or "none"
    ann_b = ", ".join(sorted(agreement.annotators_b)) or "none"
    return [
        f"{len(agreement.articles)} article(s) compared; A (reference): {ann_a}; B: {ann_b}.",
        "P = share of B's items matched in A, R = share of A's items matched in B; F1 is symmetric.",
        "Exact: same offsets (and label); overlap: at least one shared code point. "
        "Type, speaker and entity figures are over items matched by overlap.",
    ]


def render(agreement: Agreement, fmt: str = "text") -> str:
    """The agreement report in one of :data:`FORMATS` (``markdown`` is the dataset card's)."""
    if fmt == "json":
        return json.dumps(agreement.as_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    lines: list[str] = []
    if fmt == "markdown":
        lines.extend(_preamble(agreement))
        for title, header, rows in _tables(agreement):
            lines += ["", f"**{title}**", "", "| " + " | ".join(header) + " |",
                      "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    lines.extend(_preamble(agreement))
    for title, header, rows in _tables(agreement):
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines += ["", title]
        for row in [header, *rows]:
            cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]
            lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
