"""Build stage: articles and gold annotations to a Hub-ready Hugging Face dataset directory.

::

    build/dataset/
      README.md                     dataset card: YAML (license, configs, features, splits) + prose
      DATASHEET.md, ANNOTATION_GUIDELINES.md, schema/*.json
      data/articles/{train,validation,test}-00000-of-00001.parquet
      data/entities/...             one row per entity mention
      data/quotes/...               one row per quote, speaker resolved

Features are declared (never inferred) and every config is Parquet, so
``datasets.load_dataset(dir, config)`` reads exactly these types offline.
Rows are sorted and files written with fixed settings, so two builds of the
same corpus are byte-identical.  The directory is assembled beside the target
and swapped in only when complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import ClassLabel, Features, List, Value
from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from huggingface_hub import DatasetCardData

from newscorpus.card import render_card
from newscorpus.clusters import SPLITS, split_of, wire_clusters
from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError
from newscorpus.jsonio import load_json
from newscorpus.problems import Problem, errors
from newscorpus.schemas import entity_labels, quote_types, schema_dir
from newscorpus.validate import validate_corpus

CONFIGS = ("articles", "entities", "quotes")
SPLIT_NAMES = tuple(name for name, _ in SPLITS)

_SPAN = {"start": Value("int32"), "end": Value("int32"), "text": Value("string")}
_PROVENANCE = {
    "annotator": Value("string"),
    "origin": Value("string"),
    "model_version": Value("string"),
    "score": Value("float32"),
}


def features() -> dict[str, Features]:
    """The declared features of each config."""
    labels = list(entity_labels())
    article = Features({
        "id": Value("string"),
        "headline": Value("string"),
        "by": Value("string"),
        "agency": Value("string"),
        "dateline": Value("string"),
        "located": Value("string"),
        "date_published": Value("string"),
        "language": Value("string"),
        "publisher": Value("string"),
        "section": Value("string"),
        "url": Value("string"),
        "body": Value("string"),
        "paragraphs": List({"start": Value("int32"), "end": Value("int32"), "role": Value("string")}),
        "captions": List({"text": Value("string"), "credit": Value("string")}),
        "copyright_notice": Value("string"),
        "usage_terms": Value("string"),
        "wire_cluster": Value("string"),
        "raw_file": Value("string"),
        "raw_sha256": Value("string"),
        "converter_version": Value("string"),
        "annotated": Value("bool"),
        "entities": List({"id": Value("string"), "name": Value("string"), "label": Value("string"), "wikidata": Value("string")}),
        "mentions": List({
            "id": Value("string"), **_SPAN, "label": Value("string"), "kind": Value("string"),
            "entity": Value("string"), **_PROVENANCE,
        }),
        "quotes": List({
            "id": Value("string"),
            "type": Value("string"),
            "content": List(_SPAN),
            "cue": _SPAN,
            "speaker": Value("string"),
            "speaker_text": Value("string"),
            "speaker_entity": Value("string"),
            "addressee": Value("string"),
            "channel": _SPAN,
            "same_as": List(Value("string")),
            **_PROVENANCE,
        }),
    })
    entity = Features({
        "article_id": Value("string"),
        "mention_id": Value("string"),
        **_SPAN,
        "label": ClassLabel(names=labels),
        "kind": Value("string"),
        "entity_id": Value("string"),
        "entity_name": Value("string"),
        "wikidata": Value("string"),
        **_PROVENANCE,
        "wire_cluster": Value("string"),
    })
    quote = Features({
        "article_id": Value("string"),
        "quote_id": Value("string"),
        "type": ClassLabel(names=list(quote_types())),
        "content": List(_SPAN),
        "content_text": Value("string"),
        "cue": _SPAN,
        "speaker_mention_id": Value("string"),
        "speaker_text": Value("string"),
        "speaker_entity_id": Value("string"),
        "speaker_entity_name": Value("string"),
        "addressee_mention_id": Value("string"),
        "addressee_text": Value("string"),
        "channel": _SPAN,
        "same_as": List(Value("string")),
        **_PROVENANCE,
        "wire_cluster": Value("string"),
    })
    return {"articles": article, "entities": entity, "quotes": quote}


# ---------------------------------------------------------------- rows (pure)


def _span(value: dict | None) -> dict | None:
    return None if value is None else {"start": value["start"], "end": value["end"], "text": value["text"]}


def _provenance(item: dict) -> dict:
    return {
        "annotator": item["annotator"],
        "origin": item["origin"],
        "model_version": item.get("modelVersion"),
        "score": item.get("score"),
    }


def _agency(article: dict) -> str | None:
    return next((s["name"] for s in article["infoSources"] if s["role"] == "wire"), None)


def article_row(article: dict, doc: dict | None, cluster: str) -> dict:
    """One row of the ``articles`` config: the article with its annotations nested."""
    doc = doc or {"entities": [], "mentions": [], "quotes": []}
    mentions = {m["id"]: m for m in doc["mentions"]}
    return {
        "id": article["id"],
        "headline": article["headlines"][0]["value"],
        "by": article["by"],
        "agency": _agency(article),
        "dateline": article["dateline"]["text"] if article["dateline"] else None,
        "located": article["located"],
        "date_published": article["datePublished"],
        "language": article["language"],
        "publisher": article["publisher"]["name"],
        "section": article["articleSection"],
        "url": article["uri"],
        "body": article["body"]["text"],
        "paragraphs": article["body"]["paragraphs"],
        "captions": article["captions"],
        "copyright_notice": article["copyrightNotice"],
        "usage_terms": article["usageTerms"],
        "wire_cluster": cluster,
        "raw_file": article["provenance"]["rawFile"],
        "raw_sha256": article["provenance"]["sha256"],
        "converter_version": article["provenance"]["converter"]["version"],
        "annotated": bool(doc["mentions"] or doc["quotes"]),
        "entities": [
            {"id": e["id"], "name": e["name"], "label": e["label"], "wikidata": e.get("wikidata")}
            for e in doc["entities"]
        ],
        "mentions": [
            {
                "id": m["id"], **_span(m), "label": m["label"], "kind": m.get("kind", "name"),
                "entity": m["entity"], **_provenance(m),
            }
            for m in doc["mentions"]
        ],
        "quotes": [
            {
                "id": q["id"],
                "type": q["type"],
                "content": [_span(part) for part in q["content"]],
                "cue": _span(q["cue"]),
                "speaker": q["speaker"],
                "speaker_text": mentions[q["speaker"]]["text"] if q["speaker"] else None,
                "speaker_entity": mentions[q["speaker"]]["entity"] if q["speaker"] else None,
                "addressee": q.get("addressee"),
                "channel": _span(q.get("channel")),
                "same_as": [f"{link['article']}#{link['quote']}" for link in q.get("sameAs", [])],
                **_provenance(q),
            }
            for q in doc["quotes"]
        ],
    }


def entity_rows(article: dict, doc: dict | None, cluster: str) -> list[dict]:
    """Rows of the ``entities`` config: one per mention, with its entity's canonical name."""
    if not doc:
        return []
    entities = {e["id"]: e for e in doc["entities"]}
    labels = list(entity_labels())
    return [
        {
            "article_id": article["id"],
            "mention_id": m["id"],
            **_span(m),
            "label": labels.index(m["label"]),
            "kind": m.get("kind", "name"),
            "entity_id": m["entity"],
            "entity_name": entities[m["entity"]]["name"],
            "wikidata": entities[m["entity"]].get("wikidata"),
            **_provenance(m),
            "wire_cluster": cluster,
        }
        for m in sorted(doc["mentions"], key=lambda m: (m["start"], m["end"], m["id"]))
    ]


def quote_rows(article: dict, doc: dict | None, cluster: str) -> list[dict]:
    """Rows of the ``quotes`` config: one per quote, speaker text and entity resolved."""
    if not doc:
        return []
    mentions = {m["id"]: m for m in doc["mentions"]}
    entities = {e["id"]: e for e in doc["entities"]}
    types = quote_types()

    def mention(ident: str | None) -> dict:
        return mentions[ident] if ident else {}

    rows = []
    for q in sorted(doc["quotes"], key=lambda q: (q["content"][0]["start"], q["id"])):
        speaker = mention(q["speaker"])
        addressee = mention(q.get("addressee"))
        entity = entities.get(speaker.get("entity"), {})
        rows.append({
            "article_id": article["id"],
            "quote_id": q["id"],
            "type": types.index(q["type"]),
            "content": [_span(part) for part in q["content"]],
            "content_text": " … ".join(part["text"] for part in q["content"]),
            "cue": _span(q["cue"]),
            "speaker_mention_id": q["speaker"],
            "speaker_text": speaker.get("text"),
            "speaker_entity_id": speaker.get("entity"),
            "speaker_entity_name": entity.get("name"),
            "addressee_mention_id": q.get("addressee"),
            "addressee_text": addressee.get("text"),
            "channel": _span(q.get("channel")),
            "same_as": [f"{link['article']}#{link['quote']}" for link in q.get("sameAs", [])],
            **_provenance(q),
            "wire_cluster": cluster,
        })
    return rows


@dataclass
class Tables:
    """Rows of every config and split, before they are written."""

    rows: dict[str, dict[str, list[dict]]] = field(
        default_factory=lambda: {c: {s: [] for s in SPLIT_NAMES} for c in CONFIGS}
    )

    def add(self, config: str, split: str, rows: Iterable[dict]) -> None:
        self.rows[config][split].extend(rows)


def assemble(articles: dict[str, dict], documents: dict[str, dict]) -> Tables:
    """Group articles into wire clusters, assign splits, and make every config's rows."""
    clusters = wire_clusters(
        {i: a["body"]["text"] for i, a in articles.items()},
        {i: a["datePublished"] for i, a in articles.items()},
    )
    tables = Tables()
    for ident in sorted(articles):
        article, doc, cluster = articles[ident], documents.get(ident), clusters[ident]
        split = split_of(cluster)
        tables.add("articles", split, [article_row(article, doc, cluster)])
        tables.add("entities", split, entity_rows(article, doc, cluster))
        tables.add("quotes", split, quote_rows(article, doc, cluster))
    return tables


# ---------------------------------------------------------------- writing (I/O edge)


def data_file(config: str, split: str) -> str:
    """Path of one Parquet file, relative to the dataset directory."""
    return f"data/{config}/{split}-00000-of-00001.parquet"


def write_parquet(rows: list[dict], feats: Features, path: Path) -> int:
    """Write rows with the declared features; return the Arrow size in bytes."""
    table = pa.Table.from_pylist(rows, schema=feats.arrow_schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", compression_level=9, write_statistics=True)
    return table.nbytes


@dataclass
class BuildResult:
    """What a build wrote and what it found wrong."""

    out: Path
    problems: list[Problem]
    counts: dict[str, dict[str, int]]


def load_gold(layout: CorpusLayout, articles: dict[str, dict], problems: list[Problem]) -> dict[str, dict]:
    """Gold documents by article id, leaving out every document that has an error."""
    bad_files = {p.file for p in errors(problems)}
    documents = {}
    for path in layout.gold_files():
        if layout.rel(path) in bad_files:
            continue
        data, _, read_problems = load_json(path, layout.rel(path))
        if not read_problems and data["article"]["id"] in articles:
            documents[data["article"]["id"]] = data
    return documents


def build(layout: CorpusLayout, out: Path, repo_root: Path | None = None) -> BuildResult:
    """Validate the corpus and write the dataset directory ``out`` (replacing it only when complete).

    Articles whose raw file fails to convert, and annotation documents with
    errors, are left out and reported; everything else is built.
    """
    problems, articles = validate_corpus(layout)
    if not articles:
        raise NewscorpusError(f"no article could be converted from {layout.rel(layout.raw_dir)}; see `newscorpus validate`")
    documents = load_gold(layout, articles, problems)
    counts = write_dataset(articles, documents, out, repo_root or layout.root.resolve().parent, layout.root)
    return BuildResult(out.resolve(), problems, counts)


def write_dataset(articles: dict[str, dict], documents: dict[str, dict], out: Path, repo_root: Path, corpus_root: Path) -> dict[str, dict[str, int]]:
    """Write the dataset directory for these articles and gold documents; return row counts."""
    tables = assemble(articles, documents)
    feats = features()
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        infos = DatasetInfosDict()
        counts = {c: {s: len(tables.rows[c][s]) for s in SPLIT_NAMES} for c in CONFIGS}
        # datasets cannot load a split without rows ("corresponds to no data"): such splits,
        # and configs with no rows at all, are left out of the card and said so in its prose.
        present = {c: [s for s in SPLIT_NAMES if counts[c][s]] for c in CONFIGS}
        for config in CONFIGS:
            if not present[config]:
                continue
            splits = SplitDict()
            for split in present[config]:
                nbytes = write_parquet(tables.rows[config][split], feats[config], staging / data_file(config, split))
                splits.add(SplitInfo(name=split, num_bytes=nbytes, num_examples=counts[config][split]))
            infos[config] = DatasetInfo(features=feats[config], splits=splits)
        card_data = card_metadata(articles, present)
        infos.to_dataset_card_data(card_data)
        card = render_card(card_data.to_yaml(), articles, documents, tables, repo_root, corpus_root)
        (staging / "README.md").write_text(card, encoding="utf-8")
        for name in ("DATASHEET.md", "ANNOTATION_GUIDELINES.md"):
            if (repo_root / name).is_file():
                shutil.copyfile(repo_root / name, staging / name)
        (staging / "schema").mkdir()
        for path in sorted(schema_dir().glob("*.schema.json")):
            shutil.copyfile(path, staging / "schema" / path.name)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts


def card_metadata(articles: dict[str, dict], present: dict[str, list[str]]) -> DatasetCardData:
    """The card's YAML metadata, before ``dataset_info`` is added."""
    return DatasetCardData(
        language=sorted({a["language"] for a in articles.values()} or {"en"}),
        license="other",
        license_name="research-only-news-text",
        license_link="DATASHEET.md",
        pretty_name="newscorpus: annotated news articles (entities and quotes)",
        task_categories=["token-classification", "text-classification"],
        task_ids=["named-entity-recognition"],
        annotations_creators=["expert-generated"],
        language_creators=["found"],
        multilinguality="monolingual",
        size_categories=[_size_category(len(articles))],
        source_datasets=["original"],
        tags=["news", "quote-attribution", "coreference", "wire-stories", "label-studio"],
        configs=[
            {
                "config_name": config,
                **({"default": True} if config == "articles" else {}),
                "data_files": [{"split": split, "path": data_file(config, split)} for split in present[config]],
            }
            for config in CONFIGS if present[config]
        ],
    )


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging``: rename the old one aside, rename the new one in, delete the old."""
    os.chmod(staging, 0o755)
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        os.replace(out, old / out.name)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"
