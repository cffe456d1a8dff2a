"""The dataset card (README.md of the built dataset): YAML metadata plus prose with live figures."""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection

from newscorpus import SCHEMA_VERSION, __version__
from newscorpus.clusters import SPLITS, THRESHOLD
from newscorpus.schemas import entity_labels, quote_types

SPLIT_NAMES = tuple(name for name, _ in SPLITS)

#: Where an annotation-agreement report (markdown, from `newscorpus agreement --format markdown`) is kept.
AGREEMENT_REPORT = Path("annotations") / "agreement.md"


#: Characters Markdown (CommonMark and GitHub's, as the Hub renders it, with its math) gives a meaning inside a
#: line: code, emphasis, links and images, headings, table cells, strikethrough, math; each is backslash-escaped.
#: ``&``, ``<`` and ``>`` are HTML-escaped instead (a backslash before an entity would show the entity).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#|~$])")


def markdown_text(value: str) -> str:
    r"""Corpus-supplied text (an outlet, an agency, an annotator id) as Markdown that renders as exactly this text,
    on one line: control characters and line breaks become one space, Markdown punctuation is backslash-escaped
    and ``&``, ``<`` and ``>`` are HTML-escaped, so no tag, link, heading or table cell can come from the corpus.

    >>> print(markdown_text("<img src=x> | [a](javascript:x)\n# *Heading*"))
    &lt;img src=x&gt; \| \[a\](javascript:x) \# \*Heading\*
    """
    flat = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value)
    one_line = " ".join(flat.split())
    return html.escape(_MARKDOWN_PUNCTUATION.sub(r"\\\1", one_line), quote=False)


def _names(counts: Counter) -> str:
    """``name (n), ...`` of a counter of corpus-supplied names, escaped for the card, or ``none``."""
    return ", ".join(f"{markdown_text(name)} ({n})" for name, n in sorted(counts.items())) or "none"


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class CardStats:
    """The figures the card prints, gathered while the shards are written (no rows are kept)."""

    articles: Counter = field(default_factory=Counter)
    clusters: Counter = field(default_factory=Counter)
    mentions: Counter = field(default_factory=Counter)
    quotes: Counter = field(default_factory=Counter)
    by_label: Counter = field(default_factory=Counter)
    by_type: Counter = field(default_factory=Counter)
    publishers: Counter = field(default_factory=Counter)
    agencies: Counter = field(default_factory=Counter)
    annotators: set = field(default_factory=set)
    origins: set = field(default_factory=set)
    documents: int = 0


#: The documents a build copies beside the card, from the directory holding the corpus (the repository's root).
CARD_DOCUMENTS = ("DATASHEET.md", "ANNOTATION_GUIDELINES.md")


def _document_link(name: str, documents: Collection[str]) -> str:
    """A link to ``name`` beside the card, or, when the build had none to copy, the name and where it would come from.

    >>> _document_link("DATASHEET.md", {"DATASHEET.md"}), _document_link("DATASHEET.md", ())
    ('[DATASHEET.md](DATASHEET.md)', '`DATASHEET.md` (not supplied: it is copied from beside the corpus directory)')
    """
    return f"[{name}]({name})" if name in documents else f"`{name}` (not supplied: it is copied from beside the corpus directory)"


def render_card(yaml_text: str, stats: CardStats, repo_root: Path, corpus_root: Path | None = None,
                documents: Collection[str] = CARD_DOCUMENTS) -> str:
    """The full README.md of the dataset directory; ``documents``: which of :data:`CARD_DOCUMENTS` are beside it
    (the others are named, not linked)."""
    labels = list(entity_labels())
    types = list(quote_types())
    n_articles = {s: stats.articles[s] for s in SPLIT_NAMES}
    n_clusters = {s: stats.clusters[s] for s in SPLIT_NAMES}
    n_mentions = {s: stats.mentions[s] for s in SPLIT_NAMES}
    n_quotes = {s: stats.quotes[s] for s in SPLIT_NAMES}
    by_label, by_type = stats.by_label, stats.by_type
    publishers, agencies = stats.publishers, stats.agencies
    annotators = sorted(stats.annotators)
    corpus_root = corpus_root or repo_root / "corpus"
    datasheet, guidelines = (_document_link(name, documents) for name in CARD_DOCUMENTS)
    agreement_path = corpus_root / AGREEMENT_REPORT
    agreement = agreement_path.read_text(encoding="utf-8").strip() if agreement_path.is_file() else (
        "No second annotation has been measured against the gold set yet."
    )

    empty_configs = [c for c, n in (("entities", n_mentions), ("quotes", n_quotes)) if not sum(n.values())]
    empty_note = (
        f"\n\nThe config(s) {', '.join(empty_configs)} have no rows yet and are not declared until annotations exist."
        if empty_configs else ""
    )
    empty_splits = [s for s in SPLIT_NAMES if not n_articles[s]]
    split_note = (
        f" Splits without articles ({', '.join(empty_splits)}) are not declared: `datasets` cannot load a split with no rows."
        if empty_splits else ""
    )
    split_table = _table(
        ["split", "articles", "wire clusters", "entity mentions", "quotes"],
        [[s, n_articles[s], n_clusters[s], n_mentions[s], n_quotes[s]] for s in SPLIT_NAMES],
    )
    label_table = _table(["label", "mentions"], [[label, by_label.get(label, 0)] for label in labels if by_label.get(label)]) if by_label else "No entity mentions are annotated yet."
    type_table = _table(["type", "quotes"], [[t, by_type.get(t, 0)] for t in types]) if by_type else "No quotes are annotated yet."
    sources, wires = _names(publishers), _names(agencies)
    people = ", ".join(markdown_text(a) for a in annotators) or "none yet"
    origins = ", ".join(markdown_text(o) for o in sorted(stats.origins)) or "none yet"

    return f"""---
{yaml_text.strip()}
---

# newscorpus

News articles converted from raw web scrapes into clean records, with gold
**named-entity mentions** (the 18 OntoNotes 5 types, linked into corpus-wide
entities) and **quotes** (direct, indirect and mixed, with cue, speaker,
addressee and channel, after PARC 3.0). Built by the `newscorpus` toolkit
{__version__} from schema version {SCHEMA_VERSION}.

- {sum(n_articles.values())} articles from: {sources}; wire agencies credited: {wires}.
- {sum(n_mentions.values())} entity mentions and {sum(n_quotes.values())} quotes in {stats.documents} annotated articles.
- Annotators (pseudonymous ids): {people}; origin of the gold items: {origins} (`model` means an AI model made the item).

## Loading

```python
from datasets import load_dataset

articles = load_dataset("path/to/this/directory", "articles")   # default config
entities = load_dataset("path/to/this/directory", "entities")
quotes = load_dataset("path/to/this/directory", "quotes")
print(quotes["train"][0]["speaker_entity_name"], quotes["train"][0]["content_text"])
```

Every config is Parquet with the features declared above, so nothing is
inferred and nothing needs the network.

## Configs

- **articles** (default): one row per article. `body` is the clean text;
  `paragraphs`, `mentions[].start/end` and `quotes[].content[].start/end` are
  offsets into `body` in Unicode code points, end-exclusive (Python `str`
  indexing). Headline, byline (`by`), wire `agency`, `dateline` as printed with
  its `located` place, `date_published` (ISO 8601), `publisher`, `section`,
  `url`, photo `captions` (kept out of the body) and the source's
  `copyright_notice` and `usage_terms` are separate fields. `entities`,
  `mentions` and `quotes` hold the gold annotations (empty lists and
  `annotated = false` where the article is not annotated yet).
- **entities**: one row per entity mention: offsets, text, `label` (ClassLabel
  of the 18 OntoNotes types), `kind` (name, nominal, pronoun), the corpus-wide
  `entity_id` with its canonical `entity_name` and Wikidata id.
- **quotes**: one row per quote: `type` (ClassLabel: {", ".join(types)}),
  `content` (one or more parts: a quote interrupted by "he said" has two),
  `cue`, the speaker mention resolved to its text and entity, `addressee`,
  `channel`, and `same_as` links to the same quote in other articles
  (`article_id#quote_id`).{empty_note}

Every annotation carries `annotator` (a pseudonymous id) and `origin` (`human`
or `model`, with `model_version` and `score` for model output).

## Splits

Splits are assigned per **wire-story cluster**, never per article: articles
whose bodies share word 5-gram shingles with an estimated Jaccard similarity of
at least {THRESHOLD} (MinHash LSH) are versions of one agency story and always
land in the same split, so near-identical text never straddles train and test.
A cluster goes to train/validation/test by a stable hash of its id (80/10/10),
so adding articles never moves existing ones.{split_note}

{split_table}

## Statistics

Entity mentions by label:

{label_table}

Quotes by type:

{type_table}

## Annotation

Annotations follow {guidelines}. Each
item says who made it (`annotator`, a pseudonymous id) and how (`origin`:
`human`, or `model` with `model_version`); annotators work in Label Studio or
directly in annotation documents. Every document is validated by `newscorpus
validate` (offsets inside the body, span text equal to the body text, unique
ids, resolvable speaker and entity references, annotations made on the
current body).

### Inter-annotator agreement

{agreement}

## Source data and preprocessing

Raw files are web scrapes kept as received in the source repository
(`corpus/raw/`, with a manifest of file, SHA-256, outlet, URL and rights
statement). The converter removes site chrome, section banners, link lists,
newsletter and copyright boilerplate, markdown/HTML residue, and joins
paragraphs broken mid-sentence; every removed block is recorded in the
article's provenance. Text the outlet printed stays as printed, typos
included. See {datasheet}.

## Licensing and copyright

The article texts are **copyrighted news** (wire stories of their agencies, as
republished by the outlets named in `publisher`; see each row's
`copyright_notice` and `usage_terms`). No licence to redistribute them has been
granted. This dataset is for non-commercial research and must not be
republished publicly (for example as a public Hub repository) without the
rights holders' permission. The annotations and the toolkit are the project's
own work. Details in {datasheet}.

## Limitations

The corpus is small and English-only; its articles come from a few outlets
and wire agencies, so it reflects their topics, style and editing. Wire
clusters are found by text overlap: heavily rewritten versions of one story
may fall in different clusters.
"""
