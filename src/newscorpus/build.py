"""Build stage: articles and gold annotations to a Hub-ready Hugging Face dataset directory.

::

    build/dataset/
      README.md                     dataset card: YAML (license, configs, features, splits) + prose
      DATASHEET.md, ANNOTATION_GUIDELINES.md, schema/*.json   the first two copied from beside the corpus, if there
                                    (else the card names them without a link)
      data/articles/{train,validation,test}-NNNNN-of-MMMMM.parquet   one row per article, in shards
      data/entities/...             one row per entity mention
      data/quotes/...               one row per quote, speaker resolved

Features are declared (never inferred) and every config is Parquet, so
``datasets.load_dataset(dir, config)`` reads exactly these types offline.
Rows are sorted and files written with fixed settings, so two builds of the
same corpus are byte-identical.  The directory is assembled beside the target
and swapped in only when complete, in one step on Linux (:func:`_swap_in`),
by one build at a time (:func:`_writing_into`).

The build streams: :func:`newscorpus.pipeline.scan` converts and checks every
file in parallel into the cache, keeping only ids, dates and MinHash
signatures; wire clusters are found from the signatures; then each group of
:data:`GROUP_ARTICLES` articles of a split (sorted by id, cut where the ids
say: :func:`group_bounds`) is read back from the cache and written as one
shard per config, again in parallel, and each split's shards are spliced into
one file per config, their pages copied as they are (:func:`splice_split`;
a row group joins a run of about seven groups, cut to about 24 MB:
:func:`group_runs`).  Peak memory
is one group per worker, not the corpus.  Every stage is cached by the hash
of its inputs (:mod:`newscorpus.cache`), so a rebuild after one raw file
changed converts one file and rewrites one group of shards.
"""

from __future__ import annotations

import bisect
import ctypes
import dataclasses
import errno
import hashlib
import itertools
import operator
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from array import array
from collections import Counter
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import orjson

from newscorpus.cache import (Cache, CacheLock, CacheStats, LiveEntries, Pruned, exclusive_lock, key_of, note_use, noting_use,
                              prune)
from newscorpus.card import CARD_DOCUMENTS, CardStats, render_card
from newscorpus.clusters import SPLITS, Similar, firsts_of_pairs, similar_pairs, split_of
from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError, UsageError, naming
from newscorpus.heap import paused_gc, release_free_memory
from newscorpus.jsonio import read_text, umask
from newscorpus.libc import libc_function
from newscorpus.pipeline import (HAS_MENTIONS, HAS_QUOTES, Job, Mapper, ProcessMapper, RelDirs, Scan, ScanIndex, Spilled, document_key, entry_state, load_article,
                                 rel_path, run_batch, run_forked, scan)
from newscorpus.problems import Problem
from newscorpus.schemas import entity_labels, quote_types, schema_dir
from newscorpus.splice import (MAGIC, Frame, GroupTemplate, Part, SpliceError, fields_template, group_fields, leaf_orders, merged_fields,
                              merged_group, pack_templates, spliced_tail, templates_rows, unpack_templates)

if TYPE_CHECKING:  # datasets, huggingface_hub and pyarrow take a second to import: only where they are used
    from concurrent.futures import Future

    import numpy as np
    import pyarrow as pa
    from datasets import Features
    from huggingface_hub import DatasetCardData

CONFIGS = ("articles", "entities", "quotes")
SPLIT_NAMES = tuple(name for name, _ in SPLITS)

def features() -> dict[str, Features]:
    """The declared features of each config."""
    from datasets import ClassLabel, Features, List, Value

    _SPAN = {"start": Value("int32"), "end": Value("int32"), "text": Value("string")}
    _PROVENANCE = {
        "annotator": Value("string"),
        "origin": Value("string"),
        "model_version": Value("string"),
        "score": Value("float32"),
    }
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


def article_row(article: dict, doc: dict | None, cluster: str | None) -> dict:
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
        "mentions": [  # spelled out, not **_span(m), **_provenance(m): two dicts fewer per mention, 30% of the rows' time
            {
                "id": m["id"], "start": m["start"], "end": m["end"], "text": m["text"], "label": m["label"],
                "kind": m.get("kind", "name"), "entity": m["entity"], "annotator": m["annotator"], "origin": m["origin"],
                "model_version": m.get("modelVersion"), "score": m.get("score"),
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


def entity_rows(article: dict, doc: dict | None, cluster: str | None) -> list[dict]:
    """Rows of the ``entities`` config: one per mention, with its entity's canonical name, in text order."""
    return entity_rows_of(article_row(article, doc, cluster)) if doc else []


def entity_rows_of(row: dict) -> list[dict]:
    """:func:`entity_rows` from the article's row (:func:`article_row`): its mentions, flattened, each with its
    entity's name and Wikidata id, sorted by (start, end, id).  :func:`_entity_table` is the same in Arrow."""
    entities = {e["id"]: e for e in row["entities"]}
    labels = _label_numbers()
    ident, cluster = row["id"], row["wire_cluster"]
    return [
        {
            "article_id": ident,
            "mention_id": m["id"],
            "start": m["start"], "end": m["end"], "text": m["text"],
            "label": labels[m["label"]],
            "kind": m["kind"],
            "entity_id": m["entity"],
            "entity_name": (entity := entities[m["entity"]])["name"],
            "wikidata": entity["wikidata"],
            "annotator": m["annotator"], "origin": m["origin"], "model_version": m["model_version"], "score": m["score"],
            "wire_cluster": cluster,
        }
        for m in sorted(row["mentions"], key=_MENTION_ORDER)
    ]


#: The order of a document's rows in the ``entities`` config: by start, end and id.
_MENTION_ORDER = operator.itemgetter("start", "end", "id")


@cache
def _label_numbers() -> dict[str, int]:
    """Each entity label's number in the ``label`` ClassLabel."""
    return {label: number for number, label in enumerate(entity_labels())}


def quote_rows(article: dict, doc: dict | None, cluster: str | None) -> list[dict]:
    """Rows of the ``quotes`` config: one per quote, speaker text and entity resolved."""
    return quote_rows_of(article_row(article, doc, cluster)) if doc else []


#: What joins the parts of a quote's content in its ``content_text``.
CONTENT_JOINER = " … "


def quote_rows_of(row: dict) -> list[dict]:
    """:func:`quote_rows` from the article's row (:func:`article_row`): its quotes, each with its article's id and
    wire cluster, its type's number, its content's text, its speaker's entity's name and its addressee's text,
    sorted by where their content starts, then id.  :func:`_quote_table` is the same in Arrow."""
    mentions = {m["id"]: m for m in row["mentions"]}
    entities = {e["id"]: e for e in row["entities"]}
    types = quote_types()
    ident, cluster = row["id"], row["wire_cluster"]
    return [
        {
            "article_id": ident,
            "quote_id": q["id"],
            "type": types.index(q["type"]),
            "content": q["content"],
            "content_text": CONTENT_JOINER.join(part["text"] for part in q["content"]),
            "cue": q["cue"],
            "speaker_mention_id": q["speaker"],
            "speaker_text": q["speaker_text"],
            "speaker_entity_id": q["speaker_entity"],
            "speaker_entity_name": entities.get(q["speaker_entity"], {}).get("name"),
            "addressee_mention_id": q["addressee"],
            "addressee_text": mentions[q["addressee"]]["text"] if q["addressee"] else None,
            "channel": q["channel"],
            "same_as": q["same_as"],
            "annotator": q["annotator"], "origin": q["origin"], "model_version": q["model_version"], "score": q["score"],
            "wire_cluster": cluster,
        }
        for q in sorted(row["quotes"], key=_quote_order)
    ]


def _quote_order(quote: dict) -> tuple:
    """The order of a document's rows in the ``quotes`` config: by where their content starts, then id."""
    return quote["content"][0]["start"], quote["id"]


# ---------------------------------------------------------------- shards (one group of articles)

#: Articles per shard group, on average: each group is one Parquet file per config (1-2 MB of articles).  A
#: rebuild rewrites the groups whose articles changed, so this bounds the work of a one-file change; 500
#: loaded as fast as 1,000 (docs/scale-history.md).
GROUP_ARTICLES = 500


def group_bounds(ids: Iterable[str], group_articles: int) -> list[int]:
    """Where to cut a split's sorted ids into groups (end indices), chosen by the ids themselves.

    A group ends after an id whose hash is 0 modulo ``group_articles / 2``,
    once it holds at least ``group_articles / 2`` ids, or when it reaches
    ``2 * group_articles`` (content-defined chunking, as rsync and restic cut
    files).  Groups hold ``group_articles`` ids on average, and an id added
    to or removed from a split (a new article, or one moved by a changed wire
    cluster) changes its own group only, where cutting every
    ``group_articles`` ids would shift every later group and rewrite its
    shards.

    >>> group_bounds([f"a{i}" for i in range(10)], 4)[-1]
    10
    """
    low, high = max(1, group_articles // 2), max(1, 2 * group_articles)
    period = max(1, group_articles - low)
    bounds, start, count = [], 0, 0
    for count, ident in enumerate(ids, 1):
        size = count - start
        if size >= high or (size >= low and zlib.crc32(ident.encode("utf-8")) % period == 0):
            bounds.append(count)
            start = count
    if start < count:
        bounds.append(count)
    return bounds


#: How every shard is written (:func:`_parquet`; fixed, so the same rows give the same bytes).  LZ4 (Parquet's
#: LZ4_RAW), not zstd: ``datasets`` decodes a file as it loads it, and zstd was most of what made our 'articles'
#: config load slower than the by-hand file (snappy): at 100,000 articles, eight loads each in fresh interpreters,
#: alternating, zstd 6.92 s, LZ4 6.19, the by-hand file 6.49 (medians; LZ4 quicker in all eight pairs, zstd slower
#: in seven); reading the train file as ``datasets`` does, 3.7-4.0 s a 100,000 rows in zstd (at level 3; 3.5-3.6
#: at levels 1 to -7), 3.0-3.1 in LZ4, 3.3-3.6 in snappy.  The price: files about 1.6x zstd's (the 'articles'
#: train split 311 MB against 196; the output at 100,000 articles 642 MB against about 400), about 1.4x the by-hand
#: files (445 MB; docs/scale-history.md).  No dictionaries: see :func:`_parquet`.  (pyarrow's "lz4" writes
#: LZ4_RAW; its name "lz4_raw" is known only from pyarrow 24 on.)  At level 3 (LZ4HC) the files were 17-24% smaller
#: and loaded alike, but took 2-3x as long to compress (10,000 'articles' rows 1.16 s against 0.43): about 12 s
#: more of CPU in a cold build at 100,000 articles and 0.05 s in a one-file rebuild at 10,000, more than the full
#: build's margin in run BH (0.11x, 5 s) and the rebuild's in run BG (0.02 s; docs/scale-history.md, the
#: forty-ninth session).
PARQUET_OPTIONS = {"compression": "lz4", "write_statistics": True, "use_dictionary": False}


def parquet_options(schema: pa.Schema) -> dict:
    """How a table of ``schema`` is written (:data:`PARQUET_OPTIONS`), with its integers outside lists delta-encoded
    (``DELTA_BINARY_PACKED``: a page's own encoding, with no dictionary page to keep runs apart, :func:`_parquet`).

    The 'entities' config's ``start``, ``end`` and ``label`` and the 'quotes' config's ``type`` and spans are sorted
    or small: at 100,000 articles the 'entities' files were 96 MB against 114 in plain LZ4 (the by-hand file, with
    dictionaries, 56), 'quotes' 127 against 132 (runs BH and BG), and they read as fast or faster (the 'entities' files in 0.64 s
    against 0.66 as ``datasets`` reads them; loaded in fresh interpreters, 2.94 s against 2.98, quicker in 11 of 16
    pairs).  Integers in lists (the 'articles' config's spans, the quotes' content) are left plain: delta-encoded,
    the 'articles' files were 7% smaller but read in 1.37 s against 1.31 (docs/scale-history.md)."""
    import pyarrow as pa

    def flat_integers(field: pa.Field, path: str) -> Iterator[str]:
        if pa.types.is_integer(field.type):
            yield path
        elif pa.types.is_struct(field.type):
            for child in field.type:
                yield from flat_integers(child, f"{path}.{child.name}")

    delta = {path: "DELTA_BINARY_PACKED" for field in schema for path in flat_integers(field, field.name)}
    return {**PARQUET_OPTIONS, "column_encoding": delta} if delta else dict(PARQUET_OPTIONS)


def data_file(config: str, split: str) -> str:
    """Path of one config's Parquet file of one split (its groups spliced: :func:`splice_split`), relative to the
    dataset directory; named as ``datasets`` names one shard of one, which the card's pattern matches."""
    return f"data/{config}/{split}-00000-of-00001.parquet"


def data_glob(config: str, split: str) -> str:
    """The ``data_files`` pattern of one split in the card: all its shards."""
    return f"data/{config}/{split}-*"


@cache
def _declared_versions() -> dict[str, str]:
    """The versions of the libraries whose output is cached (the declared schemas, the card): read once per process
    (:func:`installed_version`)."""
    return {name: installed_version(name) for name in ("datasets", "pyarrow", "huggingface_hub")}


def installed_version(name: str, distribution: str | None = None) -> str:
    """The installed version of the distribution that provides the top-level package ``name`` (``distribution``, when
    its name is another: ``pyyaml`` for ``yaml``), as ``importlib.metadata.version`` gives it (a test), from the name
    of its ``<distribution>-<version>.dist-info`` directory beside the package, without importing the package.  Importing ``importlib.metadata`` (it imports ``email``)
    and asking it cost 25-30 ms of a 1.2 s rebuild; it is asked only when the directory is not there or not alone
    (an egg, an editable install, two versions' metadata left side by side)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is not None and spec.submodule_search_locations:
        site = os.path.dirname(list(spec.submodule_search_locations)[0])
        prefix = f"{distribution or name}-".lower()  # (PyYAML's is "PyYAML-..." where an older pip installed it)
        found = [entry[len(prefix):-len(".dist-info")] for entry in os.listdir(site)
                 if entry.lower().startswith(prefix) and entry.endswith(".dist-info")]
        if len(found) == 1 and "-" not in found[0]:
            return found[0]
    from importlib.metadata import version

    return version(distribution or name)


def _arrow_schemas_key(fingerprint: str) -> str:
    return key_of({"stage": "arrow-schemas", "code": fingerprint, **_declared_versions()})


def declare_aside(job: Job) -> Callable[[], None] | None:
    """With a cache that lacks the Arrow schemas (a cold build, new code or libraries), have a child process make
    what only ``datasets`` can, into the cache, while the scan runs (:func:`_declare`): the Arrow schemas and the
    card's ``dataset_info`` layout.  Importing ``datasets`` takes a second and 70 MB, which the main process and
    every worker forked from it would otherwise hold; the workers and the card then read them from the cache.
    Returns the function that waits for the child; ``None`` (nothing to wait for) when they are cached, or made
    here: a process that has imported ``datasets`` anyway (a test, a notebook) saves nothing by a child."""
    if os.path.exists(Cache(Path(job.cache)).location("declared", _arrow_schemas_key(job.fingerprint))):
        return None
    return _made_aside(_declare, job.cache, job.fingerprint)


def _declare(cache_dir: str, fingerprint: str) -> None:
    """The Arrow schemas and the card's ``dataset_info`` layout, made into the cache."""
    arrow_schemas(cache_dir, fingerprint)
    dataset_info_layout(cache_dir, fingerprint)


def _made_aside(function: Callable[..., object], *args: str) -> Callable[[], None] | None:
    """``function(*args)``, a function of this module that writes into the cache what ``datasets`` makes: in a child
    interpreter started now, and the function that waits for it; or, in a process that has imported ``datasets``
    anyway, here and at once, and ``None``."""
    if "datasets" in sys.modules:
        function(*args)
        return None
    return partial(_waited, _child(function.__name__, *args), partial(function, *args))


def _child(function: str, *args: str) -> subprocess.Popen:
    """``newscorpus.build.<function>(*args)`` in a fresh interpreter, started now.  It shares nothing with this
    process, and runs nothing else: a ``multiprocessing`` child would import this process's main module again,
    and a user's script without a ``__main__`` guard would run again in it."""
    import newscorpus

    paths = [str(Path(newscorpus.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
    code = f"import sys; import newscorpus.build as build; build.{function}(*sys.argv[1:])"
    return subprocess.Popen([sys.executable, "-c", code, *args], env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _waited(child: subprocess.Popen, here: Callable[[], None]) -> None:
    """Wait for ``child``; if it failed, do its work ``here``, in this process (where an error is raised)."""
    child.communicate()
    if child.returncode:
        here()


@cache
def arrow_schemas(cache_dir: str, fingerprint: str) -> dict[str, pa.Schema]:
    """The Arrow schema of each config's :func:`features` (with its ``huggingface`` metadata), kept in the cache.

    Made once per code and library versions: a worker that rewrites one
    group then needs pyarrow only, not the second it takes to import datasets.
    """
    import pyarrow as pa

    store = Cache(Path(cache_dir))
    key = _arrow_schemas_key(fingerprint)
    hit = store.get("declared", key, CacheStats())
    if hit is None:
        blobs = [features()[config].arrow_schema.serialize().to_pybytes() for config in CONFIGS]
        store.put("declared", key, {"sizes": [len(b) for b in blobs]}, b"".join(blobs))
        hit = ({"sizes": [len(b) for b in blobs]}, b"".join(blobs))
    meta, payload = hit
    offsets = list(itertools.accumulate(meta["sizes"], initial=0))
    return {config: pa.ipc.read_schema(pa.py_buffer(payload[offsets[i]:offsets[i + 1]])) for i, config in enumerate(CONFIGS)}


def _parquet(table: pa.Table) -> tuple[bytes, int]:
    """A config's table as Parquet bytes (fixed settings: byte-identical), and its size uncompressed (the Parquet
    metadata's ``total_byte_size``: the same for the same bytes, however the table was put together in memory).

    No column is dictionary-encoded: a row group's dictionary page cannot be joined to another's, so a dictionary
    would keep each group's row group apart in the split's file (:func:`group_runs`).  An 'articles' or 'quotes'
    row is mostly text no other row repeats, whose dictionary outgrows its page anyway; the 'entities' rows repeat
    their labels and names, and their dictionary kept them 14% smaller, but a row group a group (167 in the train
    split at 100,000 articles) took ``datasets`` 3.75 s to read where runs take 1.87 (docs/scale-history.md)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **parquet_options(table.schema))
    blob = sink.getvalue()
    metadata = pq.read_metadata(pa.BufferReader(blob))
    return blob.to_pybytes(), sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))


#: The column that names each row's article, per config.
ARTICLE_COLUMN = {"articles": "id", "entities": "article_id", "quotes": "article_id"}


@dataclass(frozen=True)
class Group:
    """One group of articles of one split: each config's rows of these articles make one shard."""

    split: str
    #: (article id, article cache key, gold document path or None, its cache key or None, wire cluster)
    items: tuple[tuple[str, str, str | None, str | None, str], ...]
    #: config -> shard path relative to the dataset directory (None: no rows, no shard)
    names: tuple[tuple[str, str | None], ...]
    #: shard key of the last build's group of the same split and ids, if any (see :func:`_patch_group`)
    previous: str | None = None

    @property
    def identity(self) -> str:
        """What a group is, whatever its articles hold: its split and its ids."""
        return key_of([self.split, [item[0] for item in self.items]])


def shard_key(job: Job, group: Group) -> str:
    """Cache key of one group's shards: its articles' and documents' keys, their clusters, the code."""
    return key_of({"stage": "shard", "items": [item[1:] for item in group.items], "code": job.fingerprint})


#: Where in a build's staging directory the groups' Parquet files are written, to be spliced into one file per
#: split and config (:func:`splice_split`); removed before the output is swapped in.
PARTS = ".parts"


def part_file(staging: str | Path, key: str, config: str) -> Path:
    """Where :func:`group_task` writes the Parquet file of one config of the group of shard key ``key``."""
    return Path(staging) / PARTS / f"{key}-{config}.parquet"


def group_task(job: Job, staging: str, group: Group) -> dict:
    """Write the Parquet file of each config of one group into ``staging`` (:func:`part_file`; from the cache when
    its inputs are unchanged).

    Returns rows and Arrow bytes per config, the figures of the card, and per config what splicing the file takes
    (``"parts"``: its body's length, its footer's frame and its row groups' templates, :mod:`newscorpus.splice`).
    """
    stats = CacheStats()
    store = Cache(Path(job.cache))
    key = shard_key(job, group)
    hit = store.get("shard", key, stats)
    if hit is None:
        release_free_memory(now=True)  # the C heap's free pages given back (made here: one process, Dask; a pool's
        # worker gave its own back before it forked this child: run_forked; docs/scale.md, item 3)
        with paused_gc():
            meta, payload = _patch_group(job, group, store) or _make_group(job, group)
        store.put("shard", key, meta, payload)
    else:
        meta, payload = hit
    offset, parts = 0, {}
    for config, name in group.names:
        size = meta["configs"][config]["size"]
        if name is not None:
            blob = memoryview(payload)[offset:offset + size]
            part = Part.of(blob, f"the cached shard {key} ({config})")
            target = part_file(staging, key, config)
            target.parent.mkdir(parents=True, exist_ok=True)
            with naming(target):
                target.write_bytes(blob)
            parts[config] = {"body": len(part.body), "frame": part.frame.to_bytes(),
                             "templates": pack_templates(part.groups), "chunks": _part_chunks(part, key, config)}
        offset += size
    return {**{k: v for k, v in meta.items() if k != "items"}, "cache": stats, "parts": parts}


def _group_writer(job: Job, staging: Path) -> Callable[[Group], dict]:
    """:func:`group_task` of a group, as the build sends it to a mapper: in a pool's worker, in a child forked for it
    (:func:`~newscorpus.pipeline.run_forked`), which takes what the group leaves in the heap with it."""
    return partial(run_forked, partial(group_task, job, str(staging)))


def _part_chunks(part: Part, key: str, config: str) -> bytes:
    """Where each column chunk of a part's row groups is in the part's file (``(start, length)`` pairs, packed),
    which must lie one after the other from the body's start, in order: so a part's chunks copied one after the
    other are its body, and its templates place them (:func:`splice_split`)."""
    spans = [span for group in part.spans for span in group]
    at = 0
    for start, length in spans:
        if start != at or length is None:
            raise SpliceError(f"the cached shard {key} ({config}): its column chunks are not one after the other")
        at += length
    if at != len(part.body):
        raise SpliceError(f"the cached shard {key} ({config}): its body holds more than its column chunks")
    return array("q", [n for start, length in spans for n in (start + len(MAGIC), length)]).tobytes()


def article_line(article: dict, doc: dict | None) -> bytes:
    """The row of one article and its gold document (``None``: not annotated) in the ``articles`` config, as a JSON
    line.

    The wire cluster is left null: it is known only once every article is
    signed and clustered, and :func:`_tables` sets it.  The scan makes this
    line for every gold document it checks, where the document and its
    article are already parsed (:func:`newscorpus.pipeline.document_task`),
    and keeps it, LZ4-compressed (:func:`pack_line`), in the document's cache
    entry (``lines`` and the payload), so writing a group reads one entry per
    article instead of reading, hashing and parsing the article and its
    document again.  The ``entities`` and ``quotes`` rows are the articles'
    mentions and quotes, flattened from the group's ``articles`` table
    (:func:`_entity_table`, :func:`_quote_table`).  The 'quotes' rows were
    lines too until the thirty-eighth session: made from the table instead,
    1,000 articles' rows took a third less of a worker's time, made in the
    scan and parsed for their group together (0.54-0.73 ms an article
    against 0.85-1.09, one process), and their packed lines 7.2 KB an article
    against 9.2 (docs/scale-history.md).
    """
    return orjson.dumps(article_row(article, doc, None), option=orjson.OPT_APPEND_NEWLINE)


def pack_line(line: bytes) -> tuple[dict, bytes]:
    """:func:`article_line` as the scan keeps it: ``({"size": its size}, the line LZ4-compressed)`` (pyarrow's codec),
    about 3.4x smaller.

    An article's JSON row is about 24 KB (a group of 1,000 articles: 24 MB
    of lines, 7 MB packed): 2.4 GB at 100,000 articles written to the cache
    during the scan and read back for the shards, on a disk that writes
    about 130 MB/s; compressed, under 1 GB, for 0.15 ms of CPU an article
    (compress and decompress).  (31 KB an article when the 'quotes' rows were
    lines too, 55 KB with the 'entities' rows.)"""
    import pyarrow as pa

    return {"size": len(line)}, pa.compress(line, codec="lz4", asbytes=True)


def _unpacked(meta: dict, payload: bytes) -> bytes:
    """The JSON line of an article given as :func:`_lines` gives it: packed (:func:`pack_line`), or not (``meta``
    empty)."""
    import pyarrow as pa

    if "size" not in meta:
        return payload
    return pa.decompress(payload, decompressed_size=meta["size"], codec="lz4", asbytes=True)


def _lines(job: Job, item: tuple[str, str, str | None, str | None, str], store: Cache, dirs: RelDirs) -> tuple[dict, bytes]:
    """:func:`article_line` of one group item, packed as the scan kept it (from the cache), or made again, ``({},
    line)`` (no gold document, or its entry missing or corrupted: the checksum says so, and it is never served)."""
    _, article_key, doc_path, doc_key, _ = item
    if doc_key is not None:
        hit = store.get("document", doc_key, CacheStats())
        if hit is not None and "lines" in hit[0]:
            return hit[0]["lines"], hit[1]
    article = load_article(Path(job.cache), article_key)
    doc = _load_gold(job, doc_path, doc_key, article_key, dirs) if doc_path else None
    return {}, article_line(article, doc)


def _tables(job: Job, items: Iterable[tuple[str, str, str | None, str | None, str]],
            schemas: dict[str, pa.Schema]) -> Iterator[tuple[str, pa.Table | None]]:
    """Each config's table of some articles (``None``: no rows), in the items' order, wire clusters set; one config
    at a time, in :data:`CONFIGS` order.

    The items' lines are read once, packed (about 7 KB an article), and
    unpacked a block at a time as the ``articles`` table is made
    (:func:`_lines_table`).  The ``entities`` and ``quotes`` tables are made
    from the ``articles`` one (:func:`_entity_table`, :func:`_quote_table`)."""
    store = Cache(Path(job.cache))
    dirs: RelDirs = {}
    fetched = [(item[4], *_lines(job, item, store, dirs)) for item in items]
    articles = _lines_table(fetched, schemas["articles"])
    del fetched
    yield "articles", articles
    yield "entities", _entity_table(articles, schemas["entities"]) if articles is not None else None
    quotes = _quote_table(articles, schemas["quotes"]) if articles is not None else None
    del articles
    yield "quotes", quotes


#: About this many bytes of the articles' JSON lines are parsed at once when a group's 'articles' table is made
#: (:func:`_lines_table`; an article's line is never cut).  A group of 1,000 articles had 31 MB of lines (its
#: 'articles' and 'quotes' rows; 24 MB since the 'quotes' rows are made from the 'articles' table): parsed whole, the
#: write stage's largest worker peaked at 189 and 191 MB in two cold builds at 10,000 articles, in 4 MB blocks at 176
#: and 180 (alternating with them), in as much time; 183 in the benchmark's run AI (docs/scale-history.md,
#: thirty-sixth session).
LINES_BLOCK = 4 << 20


def _lines_table(fetched: list[tuple[str, dict, bytes]], schema: pa.Schema) -> pa.Table | None:
    """The ``articles`` table of the items' lines (``(cluster, lines, payload)`` each, as :func:`_lines` gives them),
    wire clusters set; ``None`` when there are none.

    The lines are unpacked and parsed a block of about :data:`LINES_BLOCK`
    bytes at a time, and the blocks' tables joined: the same table, while a
    worker holds one block's JSON, not its group's."""
    import pyarrow as pa

    tables: list[pa.Table] = []
    data = bytearray()
    clusters: list[str] = []
    for cluster, meta, payload in fetched:
        data += _unpacked(meta, payload)
        clusters.append(cluster)
        if len(data) >= LINES_BLOCK:
            tables.append(_table_from_lines(data, schema))
            data = bytearray()
    if data:
        tables.append(_table_from_lines(data, schema))
    del data
    if not tables:
        return None
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables).combine_chunks()
    del tables
    at = schema.get_field_index("wire_cluster")
    return table.set_column(at, schema.field(at), _strings(clusters))


#: Groups of at least this many articles flatten their mentions and quotes with ``pyarrow.compute`` (40 us an
#: article for the mentions); smaller ones, a rebuild's changed articles, in Python (:func:`entity_rows_of`,
#: :func:`quote_rows_of`; 0.3 ms an article for the mentions), which spares the 50-80 ms of importing
#: ``pyarrow.compute``.  Both give the same tables (a test).
FLATTENED_IN_ARROW = 64


def _entity_table(articles: pa.Table, schema: pa.Schema) -> pa.Table | None:
    """The ``entities`` table of a group: its ``articles`` table's mentions, flattened, each with its article's id
    and wire cluster and its entity's name and Wikidata id, sorted by article (in the group's order), start, end
    and mention id: what :func:`entity_rows` gives for each article.  ``None`` when no article has a mention."""
    if articles.num_rows < FLATTENED_IN_ARROW:
        return _flattened_in_python(articles, ["id", "wire_cluster", "entities", "mentions"], entity_rows_of, schema)
    import pyarrow as pa
    import pyarrow.compute as pc

    mentions = _whole(articles.column("mentions"))
    parent, mention = mentions.value_parent_indices(), mentions.flatten()
    if len(mention) == 0:
        return None
    entities = _whole(articles.column("entities"))
    owner, entity = entities.value_parent_indices(), entities.flatten()
    found = _found_in_article(parent, mention.field("entity"), owner, entity.field("id"))  # each mention's entity
    columns = {
        "article_id": _whole(articles.column("id")).take(parent),
        "mention_id": mention.field("id"),
        "start": mention.field("start"),
        "end": mention.field("end"),
        "text": mention.field("text"),
        "label": pc.cast(pc.index_in(mention.field("label"), value_set=_strings(list(entity_labels()))), pa.int64()),
        "kind": mention.field("kind"),
        "entity_id": mention.field("entity"),
        "entity_name": entity.field("name").take(found),
        "wikidata": entity.field("wikidata").take(found),
        "annotator": mention.field("annotator"),
        "origin": mention.field("origin"),
        "model_version": mention.field("model_version"),
        "score": mention.field("score"),
        "wire_cluster": _whole(articles.column("wire_cluster")).take(parent),
    }
    keys = ["article", "start", "end", "id"]  # (pa.table and pa.array import pandas: Table.from_arrays does not)
    order = pc.sort_indices(pa.Table.from_arrays([parent, mention.field("start"), mention.field("end"), mention.field("id")], names=keys),
                            sort_keys=[(key, "ascending") for key in keys])
    table = pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
    return table.take(order).combine_chunks()


def _whole(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array: its chunk when it has one (a group's tables have, :func:`_lines_table`), not a copy of
    it (``combine_chunks`` copies even one chunk: a group's mentions, 5 MB at 1,000 articles; the largest worker of a
    cold build at 10,000 articles peaked at 160-161 MB, against 165-168 with the copies, three builds each)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _flattened_in_python(articles: pa.Table, columns: list[str], rows_of: Callable[[dict], list[dict]],
                         schema: pa.Schema) -> pa.Table | None:
    """A small group's table of ``rows_of`` each of its articles' rows (their ``columns``), made in Python; ``None``
    when it has no rows."""
    rows = [row for article in articles.select(columns).to_pylist() for row in rows_of(article)]
    if not rows:
        return None
    return _table_from_lines(b"".join(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in rows), schema)


def _found_in_article(parent: pa.Array, keys: pa.Array, owner: pa.Array, ids: pa.Array) -> pa.Array:
    """Where each of ``keys`` (an id, in the article numbered ``parent``) is among ``ids`` (in the article numbered
    ``owner``): an index into ``ids``, null when the key is null or not there.  Ids are unique within a document, not
    across them: each is keyed by "article number \x1f id".  The separator is an array: a Python str becomes a
    scalar, and ``pa.scalar``, like ``pa.array`` and ``pa.table``, imports pandas (0.2 s and about 30 MB a worker)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keyed = [pc.binary_join_element_wise(pc.cast(at, pa.string()), values, _repeated(b"\x1f", len(values)))
             for at, values in ((parent, keys), (owner, ids))]
    return pc.index_in(keyed[0], value_set=keyed[1])


def _quote_table(articles: pa.Table, schema: pa.Schema) -> pa.Table | None:
    """The ``quotes`` table of a group: its ``articles`` table's quotes, flattened, each with its article's id and
    wire cluster, its type's number, its content's text, its speaker's entity's name and its addressee's text,
    sorted by article (in the group's order), where its content starts and id: what :func:`quote_rows` gives for
    each article.  ``None`` when no article has a quote."""
    if articles.num_rows < FLATTENED_IN_ARROW:
        return _flattened_in_python(articles, ["id", "wire_cluster", "entities", "mentions", "quotes"], quote_rows_of, schema)
    import pyarrow as pa
    import pyarrow.compute as pc

    quotes = _whole(articles.column("quotes"))
    parent, quote = quotes.value_parent_indices(), quotes.flatten()
    if len(quote) == 0:
        return None
    content = quote.field("content")
    parts = content.values  # (with content's own offsets: a slice's offsets need not start at 0, its flatten() does)
    found = {}  # each quote's addressee's text (a mention's) and its speaker's entity's name
    for name, column, wanted in (("addressee", "mentions", "text"), ("speaker_entity", "entities", "name")):
        listed = _whole(articles.column(column))
        item = listed.flatten()
        found[name] = item.field(wanted).take(_found_in_article(parent, quote.field(name), listed.value_parent_indices(), item.field("id")))
    columns = {
        "article_id": _whole(articles.column("id")).take(parent),
        "quote_id": quote.field("id"),
        "type": pc.cast(pc.index_in(quote.field("type"), value_set=_strings(list(quote_types()))), pa.int64()),
        "content": content,
        "content_text": pc.binary_join(pa.ListArray.from_arrays(content.offsets, parts.field("text")),
                                       _repeated(CONTENT_JOINER.encode("utf-8"), len(quote))),
        "cue": quote.field("cue"),
        "speaker_mention_id": quote.field("speaker"),
        "speaker_text": quote.field("speaker_text"),
        "speaker_entity_id": quote.field("speaker_entity"),
        "speaker_entity_name": found["speaker_entity"],
        "addressee_mention_id": quote.field("addressee"),
        "addressee_text": found["addressee"],
        "channel": quote.field("channel"),
        "same_as": quote.field("same_as"),
        "annotator": quote.field("annotator"),
        "origin": quote.field("origin"),
        "model_version": quote.field("model_version"),
        "score": quote.field("score"),
        "wire_cluster": _whole(articles.column("wire_cluster")).take(parent),
    }
    starts = parts.field("start").take(content.offsets[:-1])  # each quote's first part's (a quote has one or more)
    keys = ["article", "start", "id"]
    order = pc.sort_indices(pa.Table.from_arrays([parent, starts, quote.field("id")], names=keys),
                            sort_keys=[(key, "ascending") for key in keys])
    table = pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
    return table.take(order).combine_chunks()


def _make_group(job: Job, group: Group) -> tuple[dict, bytes]:
    return _group_output(group, _tables(job, group.items, arrow_schemas(job.cache, job.fingerprint)))


def _group_output(group: Group, tables: Iterable[tuple[str, "pa.Table | _Kept | None"]]) -> tuple[dict, bytes]:
    """A group's cache entry: each config's Parquet bytes, and the figures (rows, sizes, labels, quote types, and
    the items the shards were made of).  ``tables``: each config's table, in :data:`CONFIGS` order, each written and
    dropped before the next is asked for (or the last shard's, :class:`_Kept`)."""
    labels, types = list(entity_labels()), list(quote_types())
    meta: dict = {"configs": {}, "by_label": {}, "by_type": {}, "items": [list(item) for item in group.items]}
    blobs = []
    for config, table in tables:
        if isinstance(table, _Kept):  # the same rows as the last shard's: its bytes and figures
            meta["configs"][config] = table.figures
            meta.update(table.tallies)
            blobs.append(table.data)
            continue
        if config == "entities" and table is not None:
            meta["by_label"] = _tally(table.column("label"), labels)
        if config == "quotes" and table is not None:
            meta["by_type"] = _tally(table.column("type"), types)
        blob, nbytes = _parquet(table) if table is not None and table.num_rows else (b"", 0)
        meta["configs"][config] = {"rows": table.num_rows if table is not None else 0, "nbytes": nbytes, "size": len(blob)}
        blobs.append(blob)
        del table
    return meta, b"".join(blobs)


def _tally(column: pa.ChunkedArray, names: list[str]) -> dict[str, int]:
    """How many times each of ``names`` is in ``column`` (their positions in ``names``, as 64-bit integers), the
    names that are there in the order of ``names``: counted by numpy from the column's buffers (a group's 25,000
    mentions as Python integers took 12 ms of a rebuild)."""
    import numpy as np

    counts = np.zeros(len(names), dtype=np.int64)
    for chunk in column.chunks:
        if chunk.null_count:
            raise ValueError(f"a {column.type} column with nulls")
        codes = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset:chunk.offset + len(chunk)]
        counts += np.bincount(codes, minlength=len(names))
    return {name: int(count) for name, count in zip(names, counts.tolist()) if count}


def _strings(values: list[str]) -> pa.Array:
    """A string array made from its buffers (``pa.array`` imports pandas, 0.2 s of a rebuild)."""
    import numpy as np
    import pyarrow as pa

    encoded = [value.encode("utf-8") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(value) for value in encoded], out=offsets[1:])
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded)))


def _repeated(value: bytes, count: int) -> pa.Array:
    """A string array of ``count`` times ``value``, made from its buffers (see :func:`_strings`)."""
    import numpy as np
    import pyarrow as pa

    offsets = np.arange(count + 1, dtype=np.int32) * len(value)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(value * count))


def _table_from_lines(data: bytes | bytearray, schema: pa.Schema) -> pa.Table:
    """Rows given as JSON Lines, as one table of ``schema`` (its metadata too, which the reader drops), through
    pyarrow's JSON reader: the table ``Table.from_pylist`` makes of the same rows (the Parquet bytes are the same: a
    test), many times faster, and without the pandas import (0.2 s) that ``from_pylist`` brings, which a rebuild of
    a few rows need not pay."""
    import pyarrow as pa
    import pyarrow.json as pj

    table = pj.read_json(
        pa.BufferReader(data),
        read_options=pj.ReadOptions(use_threads=False, block_size=len(data) + 1),
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
    )
    return table.combine_chunks().replace_schema_metadata(schema.metadata)


#: A group is patched when at most this share of its articles changed; beyond, it is made afresh.
PATCH_SHARE = 0.25


@dataclass(frozen=True)
class _Kept:
    """A config's last shard, kept as it was: its rows are those the patched table would have (:func:`_patched_tables`),
    and the writer's bytes for the same rows are the same bytes."""

    data: bytes | memoryview
    figures: dict
    tallies: dict


#: The tally of a config's rows in a group's figures (:func:`_group_output`), kept with its shard.
_TALLIES = {"entities": "by_label", "quotes": "by_type"}


class _Unpatchable(Exception):
    """A last shard that cannot be patched (another schema, an article's rows not one run): the group is made afresh."""


def _patch_group(job: Job, group: Group, store: Cache) -> tuple[dict, bytes] | None:
    """The group's shards made from the last build's shards of the same ids: the rows of the articles whose inputs
    changed are made again, the others are kept, and the table is put back in the group's order.  The Parquet
    bytes are those :func:`_make_group` writes (a test compares them).  ``None`` when there is nothing to patch
    (no last group, other ids, more than :data:`PATCH_SHARE` of them changed, or rows not in the order written).

    Each article's rows are one run, in both the old shard and the new rows: the table is put together from
    slices, without ``pyarrow.compute`` (importing it is 60 ms of a small rebuild), one for each unchanged stretch
    of the group and one for each changed article (:func:`_merged`), not one for each article.  One config at a
    time, as :func:`_make_group` (all three at once were 40 MB of a rebuild's main process, for a group of 500
    articles), and within a config one column at a time: the old shard is read a column at a time (its ids first, to
    find each article's rows), so the old table is never whole in memory beside the new one."""
    if group.previous is None:
        return None
    hit = store.get("shard", group.previous, CacheStats())
    if hit is None or "items" not in hit[0]:
        return None
    old_meta, old_payload = hit
    old_items = {item[0]: item for item in old_meta["items"]}
    if len(old_items) != len(group.items) or any(item[0] not in old_items for item in group.items):
        return None
    changed = [item for item in group.items if old_items[item[0]] != list(item)]
    if len(changed) > PATCH_SHARE * len(group.items):
        return None
    try:
        return _group_output(group, _patched_tables(job, group, changed, old_meta, old_payload))
    except _Unpatchable:
        return None


def _patched_tables(job: Job, group: Group, changed: list, old_meta: dict,
                    old_payload: bytes) -> Iterator[tuple[str, "pa.Table | _Kept | None"]]:
    """Each config's patched table, in :data:`CONFIGS` order (see :func:`_patch_group`); raises :class:`_Unpatchable`
    at a config whose last shard cannot be patched."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = arrow_schemas(job.cache, job.fingerprint)
    # what a column's read freed goes back to the system before the next is read: pyarrow's default allocator
    # (mimalloc) kept it, and a patched group of 500 articles grew the main process by 20 MB more
    pool = pa.default_memory_pool()
    made = dict(_tables(job, changed, schemas))  # the changed articles' rows: a few, all configs
    redone = {item[0] for item in changed}
    offset = 0
    for config in CONFIGS:
        schema, size, column = schemas[config], old_meta["configs"][config]["size"], ARTICLE_COLUMN[config]
        shard = memoryview(old_payload)[offset:offset + size]
        old = pq.ParquetFile(pa.BufferReader(shard)) if size else None
        new = made.pop(config)
        offset += size
        runs: dict[str, tuple[int, int, int]] = {}  # article id -> (source: 0 old, 1 new, start, end)
        old_runs: dict[str, tuple[int, int]] = {}
        if old is not None:
            if not old.schema_arrow.equals(schema, check_metadata=False):
                raise _Unpatchable(config)
            # the ids as a dictionary: each article's rows found from the codes (their 500 strings made, not 25,000)
            ids = pq.ParquetFile(pa.BufferReader(shard), read_dictionary=[column]).read(columns=[column], use_threads=False)
            old_runs = _runs(ids, column)
            if old_runs is None:
                raise _Unpatchable(config)
            runs.update((ident, (0, *rows)) for ident, rows in old_runs.items() if ident not in redone)
        fresh: dict[str, tuple[int, int]] = {}
        if new is not None:
            fresh = _runs(new, column)
            if fresh is None:
                raise _Unpatchable(config)
            runs.update((ident, (1, *rows)) for ident, rows in fresh.items())
        ranges = _merged([runs[item[0]] for item in group.items if item[0] in runs])
        if not ranges:
            yield config, None
            continue
        # the changed articles' rows, old and new, side by side: where each article has the same rows as before
        # (a headline changed leaves its mentions and quotes as they were), the shard is the last one
        same = old is not None and all((ident in old_runs) == (new is not None and ident in fresh) for ident in redone)
        pairs = [(old_runs[ident], fresh[ident]) for ident in redone if ident in old_runs] if same else []
        if same and not pairs:  # no changed article has rows here, before or after: no column to read
            yield config, _kept(config, shard, old_meta)
            continue
        arrays = []
        for f in schema:  # a column at a time: the old table is never whole in memory beside the new one
            sources = [_declared(old.read(columns=[f.name], use_threads=False).column(0), f) if old is not None else None,
                       new.column(f.name) if new is not None else None]
            same = same and all(_same_rows(sources[0].slice(a, b - a), sources[1].slice(c, d - c)) for (a, b), (c, d) in pairs)
            pieces = [chunk for source, start, end in ranges for chunk in sources[source].slice(start, end - start).chunks]
            arrays.append(pa.chunked_array(pieces, f.type).combine_chunks())  # (a ChunkedArray as a piece imports pandas)
            del pieces, sources
            pool.release_unused()
        del old, new
        if same:
            del arrays
            yield config, _kept(config, shard, old_meta)
            continue
        table = pa.Table.from_arrays(arrays, schema=schema)
        del arrays
        yield config, table
        del table
        pool.release_unused()


def _kept(config: str, shard: memoryview, old_meta: dict) -> _Kept:
    """The config's last shard, with its figures and tally from the last group's."""
    tallies = {_TALLIES[config]: old_meta[_TALLIES[config]]} if config in _TALLIES else {}
    return _Kept(shard, old_meta["configs"][config], tallies)


def _same_rows(old: pa.ChunkedArray, new: pa.ChunkedArray) -> bool:
    """The same values, as the writer writes them: ``equals``, which takes -0.0 for 0.0 (a score), and their Python
    values' JSON, which does not (NaN, which ``equals`` never takes for itself, is never the same)."""
    return old.equals(new) and orjson.dumps(old.to_pylist(), default=repr) == orjson.dumps(new.to_pylist(), default=repr)


def _declared(column: pa.ChunkedArray, f: pa.Field) -> pa.ChunkedArray:
    """A column read from Parquet with its declared type: Parquet names a list's values "element", Arrow "item"; the
    same buffers, viewed with the declared type (``cast`` would import ``pyarrow.compute``)."""
    import pyarrow as pa

    return pa.chunked_array([chunk.view(f.type) for chunk in column.chunks], f.type)


def _runs(table: pa.Table, column: str) -> dict[str, tuple[int, int]] | None:
    """Where each article's rows are, ``(start, end)``, by article id; ``None`` when an article's rows are not one run.

    A dictionary-encoded column (the old shards' ids, read so) is read from its codes, which change where the ids do;
    other columns as Python strings."""
    import numpy as np
    import pyarrow as pa

    starts: list[int] = []
    names: list[str] = []
    at = 0
    for chunk in table.column(column).chunks:
        if pa.types.is_dictionary(chunk.type) and not chunk.null_count:
            codes = np.frombuffer(chunk.indices.buffers()[1], dtype=f"i{chunk.indices.type.bit_width // 8}")
            codes = codes[chunk.indices.offset:chunk.indices.offset + len(chunk)]
            bounds = np.flatnonzero(codes[1:] != codes[:-1]) + 1 if len(codes) else codes
            first = [0, *bounds.tolist()] if len(codes) else []
            dictionary = chunk.dictionary.to_pylist()
            values = [dictionary[code] for code in codes[first].tolist()]
        else:
            ids = chunk.to_pylist()
            first = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
            values = [ids[i] for i in first]
        for start, value in zip(first, values):
            if not (names and names[-1] == value and start == 0):  # a run that goes on into the next chunk
                starts.append(at + start)
                names.append(value)
        at += len(chunk)
    runs = {name: (start, end) for name, start, end in zip(names, starts, [*starts[1:], at])}
    return runs if len(runs) == len(names) else None


def _merged(ranges: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """``(source, start, end)`` row ranges, in order, with each one that continues the last merged into it: an
    unchanged stretch of a group is one slice of its old shard, however many articles it holds.

    >>> _merged([(0, 0, 2), (0, 2, 5), (1, 0, 1), (0, 6, 9), (0, 12, 14)])
    [(0, 0, 5), (1, 0, 1), (0, 6, 9), (0, 12, 14)]

    (Rows 9-12 were those of a changed article that has none now.)
    """
    out: list[tuple[int, int, int]] = []
    for source, start, end in ranges:
        if out and out[-1][0] == source and out[-1][2] == start:
            out[-1] = (source, out[-1][1], end)
        else:
            out.append((source, start, end))
    return out


def _load_gold(job: Job, path: str, key: str, article_key: str, dirs: RelDirs) -> dict:
    """A gold document, checked to be the one the scan validated (``dirs``: see :func:`newscorpus.pipeline.rel_path`)."""
    text, problems = read_text(Path(path), path)
    if text is None or document_key(job, text, rel_path(CorpusLayout(Path(job.corpus)), Path(path), dirs), article_key) != key:
        raise NewscorpusError(f"{path} changed during the build; run the build again")
    return orjson.loads(text)  # the very text the scan parsed strictly (same key): duplicate keys, NaN etc. are ruled out


# ---------------------------------------------------------------- the build


@dataclass
class BuildResult:
    """What a build wrote, what it found wrong, and how much work it did."""

    out: Path
    problems: list[Problem]
    counts: dict[str, dict[str, int]]
    cache: CacheStats = field(default_factory=CacheStats)
    seconds: dict[str, float] = field(default_factory=dict)
    #: what ``prune_cache`` removed, or why nothing (``None``: not asked)
    pruned: Pruned | None = None


def default_cache(out: Path) -> Path:
    """Where a build into ``out`` keeps its cache by default: ``cache/`` beside it (``build/cache``)."""
    return out.resolve().parent / "cache"


def build(layout: CorpusLayout, out: Path, repo_root: Path | None = None, *, cache_dir: Path | None = None,
          mapper: Mapper | None = None, group_articles: int = GROUP_ARTICLES, prune_cache: bool = False) -> BuildResult:
    """Validate the corpus and write the dataset directory ``out`` (replacing it only when complete).

    Articles whose raw file fails to convert, and annotation documents with
    errors, are left out and reported; everything else is built.  Conversion,
    checks and shard writing run on ``mapper`` (default: a process pool with
    one worker per core); results are cached in ``cache_dir`` (default
    :func:`default_cache`), so a rebuild redoes only what changed.
    ``prune_cache``: once the output is in place, remove from the cache every
    entry this build did not use (:func:`prune_unused`).
    """
    cache_dir = (cache_dir or default_cache(out)).resolve()
    layout = layout.absolute()  # a cluster's workers run in directories of their own
    check_output(out, layout)
    mapper = mapper or ProcessMapper(os.cpu_count() or 1)
    lock = None
    try:
        if isinstance(mapper, ProcessMapper) and mapper.workers > 1:
            mapper.start()  # forked while this process is small; they import what tasks run while it scans
        lock = CacheLock(cache_dir)  # shared with other builds, for the whole build: no prune meanwhile
        # on a local pool, without the cyclic garbage collector, as the scan was already: what such a build makes is
        # acyclic (records, rows, footers' fields; the card's YAML emitter a few), and the collector's passes while the
        # shards were written and spliced took 30-36 ms of a one-file rebuild at 10,000 articles (a full pass over
        # the scan's long-lived objects 18-25 ms).  Not on another engine's: a Dask client's threads run in this process
        with paused_gc() if isinstance(mapper, ProcessMapper) else nullcontext():
            if not prune_cache:
                return _build(layout, out, repo_root, cache_dir, mapper, group_articles)
            since = time.time_ns()
            with noting_use(_NOTED_NAMESPACES) as noted:
                return _build(layout, out, repo_root, cache_dir, mapper, group_articles, (since, noted, lock))
    finally:
        if isinstance(mapper, ProcessMapper):
            mapper.close()
        if lock is not None:
            lock.close()


#: The namespaces whose entries a build with ``prune_cache`` notes as it reads or writes them; the others' live entries
#: are named by its records (the scan's index, :class:`WrittenShards`), whether or not they were read.  (A group's
#: shards are read to patch them into the group's new shards: the old ones are not in use after that.)
_NOTED_NAMESPACES = frozenset({"clusters", "card", "card-metadata", "declared"})


def prune_unused(job: Job, out: Path, written: "WrittenShards", unindexed: array | None, since_ns: int, noted: set[str],
                 lock: CacheLock) -> Pruned:
    """Remove from ``job``'s cache what the build just made (into ``out``, begun at ``since_ns``) did not use: the
    entries its scan's index does not name (older converter or code versions, files since changed or removed),
    shards of groups it did not write, clusters and cards of earlier corpora, and other code versions' indexes.
    ``unindexed``: the keys (their first 64 bits) of the files the scan used but could not record
    (:attr:`Scan.unindexed`; ``None`` when the scan could not save its index).  Nothing is removed, and :attr:`Pruned.skipped` says why, when the index was
    not saved or cannot be read (what the build used is not known), or when another build holds the cache (``lock``,
    which this makes exclusive: a build reading or writing entries meanwhile must find them).  What was written
    since ``since_ns`` stays.

    The cache may be shared (``--cache``): the entries of other corpora or
    output directories go too, and their next build makes them again.
    """
    import numpy as np

    if unindexed is None:
        return Pruned(skipped="another build held the scan's index, so what this build used is not known")
    if not lock.exclusive():
        return Pruned(skipped="another build is using the cache" if lock.fd is not None else
                      "pruning needs the operating system's file locks (flock), which this one does not have")
    keys = ScanIndex.keys(job)
    if keys is None:
        return Pruned(skipped="the scan's index could not be read, so what this build used is not known")
    keys = np.union1d(keys, np.frombuffer(unindexed, dtype=np.uint64))
    store = Cache(Path(job.cache))
    index = str(ScanIndex.path_of(job))
    paths = {index, f"{index}-journal", *noted}
    paths.update(store.location("shard", key) for key in written.groups)
    paths.add(store.location("output", WrittenShards._key(job, out)))
    paths.update(store.location("declared", key) for key in (_arrow_schemas_key(job.fingerprint), _layout_key(job.fingerprint)))
    live = LiveEntries(paths, keys, frozenset({"convert", "document"}))
    return prune(Path(job.cache), live, since_ns, CACHE_NAMESPACES)


#: Every namespace of the build's cache (the folders :func:`prune_unused` walks; docs/scale.md, "The cache").
CACHE_NAMESPACES = frozenset({"convert", "document", "shard", "output", "clusters", "index", "declared", "card", "card-metadata"})


def _build(layout: CorpusLayout, out: Path, repo_root: Path | None, cache_dir: Path, mapper: Mapper,
           group_articles: int, pruning: tuple[int, set[str], CacheLock] | None = None) -> BuildResult:
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    job = Job.of(layout, cache_dir)
    declaring = declare_aside(job)
    found = scan(layout, cache_dir, mapper)
    if declaring is not None:
        declaring()  # the shards' schemas, before any worker writes one
    seconds["scan"] = time.perf_counter() - clock
    index = found.index
    if not len(index):
        raise NewscorpusError(f"no article could be converted from {layout.rel(layout.raw_dir)}; see `newscorpus validate`")
    clock = time.perf_counter()
    release_free_memory(now=True)
    clusters, splits = cached_clusters(found, job)
    index.signatures.close()
    release_free_memory(now=True)
    seconds["clusters"] = time.perf_counter() - clock
    clock = time.perf_counter()
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _writing_into(out):
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        previous = WrittenShards.load(job, out)
        try:
            with closing(previous):
                counts, nbytes, card, written = _write_shards(found, clusters, splits, job, staging, mapper, group_articles, previous, out)
            found.cache.merge(_write_card(staging, counts, nbytes, card, index.languages, repo_root or layout.root.resolve().parent,
                                          layout.root, job))
            _swap_in(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        written.save(job, out)
        written.close()
        seconds["write"] = time.perf_counter() - clock
        clock = time.perf_counter()
        pruned = prune_unused(job, out, written, found.unindexed, *pruning) if pruning is not None else None
    if pruning is not None:
        seconds["prune"] = time.perf_counter() - clock
    return BuildResult(out, found.problems, counts, found.cache, seconds, pruned)


def cached_clusters(found: Scan, job: Job) -> tuple[array, np.ndarray]:
    """The wire clusters of the scanned articles and their splits, from the cache when ids, dates and signatures are
    unchanged: for each article (by its position in the index), the position of its cluster's first article, whose
    id is the cluster's (:func:`newscorpus.clusters.cluster_firsts`), and each cluster's split (:func:`splits_of`:
    kept with the clusters, which decide it, since computing it again took a one-file rebuild 8 ms at 10,000 articles
    and 0.17 s at 100,000).  When they changed, the similar pairs are found again only for the articles whose
    signature changed since the last build of this corpus that computed them (:func:`_last_pairs_key`,
    :func:`newscorpus.clusters.similar_pairs`): an edit that changed one body's signature had every article's bands
    sorted again, 0.11 s of a one-file rebuild at 10,000 articles and 1.4 s at 100,000."""
    import numpy as np

    index = found.index
    names = hashlib.sha256()
    index.ids.update(names)
    digest = hashlib.sha256(names.digest())
    index.dates.update(digest)
    index.signatures.update(digest)
    key = key_of({"stage": "clusters", "input": digest.hexdigest(), "code": job.fingerprint})
    store = Cache(Path(job.cache))
    hit = store.get("clusters", key, found.cache)
    last_key = _last_pairs_key(job)
    if hit is None or len(hit[1]) != 5 * len(index):  # (4 bytes an article, its cluster's first; 1, its split)
        last = _last_pairs(store.get("clusters", last_key, CacheStats()))
        similar = similar_pairs(index.signatures, None if last is None else last[0])
        firsts = firsts_of_pairs(index.ids, similar.pairs, index.dates)
        # (the splits of the last clusters' firsts, where the ids are the same: a split is its first's id's)
        splits = splits_of(found, firsts, last[2] if last is not None and last[1] == names.hexdigest() else None)
        hit = ({}, firsts.astype("<u4").tobytes() + splits.tobytes())
        store.put("clusters", key, *hit)
        store.put("clusters", last_key, {"articles": len(index), "width": similar.pairs.dtype.itemsize, "ids": names.hexdigest(),
                                         "pairs": len(similar.pairs)},
                  [similar.fingerprints.astype("<u8").tobytes(), splits.tobytes(),
                   similar.pairs.astype(similar.pairs.dtype.newbyteorder("<")).tobytes()])
    else:
        note_use("clusters", last_key, store.root)  # (kept by --prune-cache: the next change starts from it)
    count = len(index)
    firsts = array("I")
    firsts.frombytes(hit[1][:4 * count])
    if sys.byteorder != "little":
        firsts.byteswap()
    return firsts, np.frombuffer(hit[1], dtype=np.uint8, offset=4 * count).copy()


@dataclass(frozen=True)
class GroupPlan:
    """Where a group is: its split, its articles (their positions in the index), its shards' names.  Its
    :class:`Group` (the ids and keys of its articles and documents) is made when needed: all groups' items at
    once were 40 MB at 100,000 articles."""

    split: str
    articles: array
    names: tuple[tuple[str, str | None], ...]

    def group(self, found: Scan, clusters: array) -> Group:
        """The group, with its items (``clusters``: :func:`cached_clusters`)."""
        gold, index = found.gold, found.index
        idents = index.ids.names_at(self.articles)  # each a query or a read at a time was 1.5 s at 100,000 articles
        others = [clusters[at] for at in self.articles if clusters[at] != at]  # most articles are their cluster's first
        named = dict(zip(others, index.ids.names_at(others)))
        firsts = [ident if clusters[at] == at else named[clusters[at]] for at, ident in zip(self.articles, idents)]
        located = gold.located_many(idents, [gold.of_article[at] for at in self.articles])
        items = tuple((ident, key, path, document_key, first) for ident, key, (path, document_key), first
                      in zip(idents, index.keys_at(self.articles), located, firsts))
        return Group(self.split, items, self.names)


def _last_pairs_key(job: Job) -> str:
    """The key of the similar pairs and signature fingerprints the last build of this corpus that computed its
    clusters left (:func:`newscorpus.clusters.similar_pairs`), one entry a corpus and code, replaced each time."""
    return key_of({"stage": "clusters-last-pairs", "corpus": job.corpus, "code": job.fingerprint})


def _last_pairs(hit: tuple[dict, bytes] | None) -> tuple[Similar, str, np.ndarray] | None:
    """What a ``clusters-last-pairs`` entry holds: the :class:`~newscorpus.clusters.Similar` (each signature's
    fingerprint, the similar pairs), the digest of the ids it was made with and the splits of its clusters (as
    :func:`splits_of` gives them); or ``None`` (missing, or not of that shape: the pairs are then found again from
    every signature, and each split from its cluster's id)."""
    import numpy as np

    if hit is None:
        return None
    meta, payload = hit
    count, width, ids, paired = meta.get("articles"), meta.get("width"), meta.get("ids"), meta.get("pairs")
    if not isinstance(count, int) or width not in (4, 8) or not isinstance(ids, str) or not isinstance(paired, int) \
            or count < 0 or len(payload) != 9 * count + 2 * width * paired:
        return None
    fingerprints = np.frombuffer(payload, dtype="<u8", count=count).astype(np.uint64)
    splits = np.frombuffer(payload, dtype=np.uint8, count=count, offset=8 * count)
    pairs = np.frombuffer(payload, dtype=f"<i{width}", offset=9 * count).astype(f"=i{width}").reshape(-1, 2)
    if len(splits) and int(splits.max()) > len(SPLIT_NAMES):
        return None
    if len(pairs):  # each pair once, smaller position first, in order (as clusters._similar_pairs gives them)
        codes = pairs[:, 0].astype(np.int64) * count + pairs[:, 1]
        if pairs.min() < 0 or pairs.max() >= count or not (pairs[:, 0] < pairs[:, 1]).all() or not (np.diff(codes) > 0).all():
            return None
    return Similar(fingerprints, pairs), ids, splits


def splits_of(found: Scan, clusters: np.ndarray | array, known: np.ndarray | None = None) -> np.ndarray:
    """The split of each wire cluster, each computed once: by the position of the cluster's first article, the number
    of its split in :data:`SPLIT_NAMES` (an array of one byte per article; the other positions hold
    ``len(SPLIT_NAMES)``, no split).  A dict of the clusters' splits was 7 MB at 100,000 articles.  ``clusters``:
    each article's cluster's first (:func:`newscorpus.clusters.firsts_of_pairs`).  ``known``: splits this function
    gave for the same ids (in the same positions), whose firsts' splits are taken from it (a split is its first's
    id's: hashing and reading the ids of 63,000 firsts took 0.2 s at 100,000 articles)."""
    import numpy as np

    firsts = np.unique(np.asarray(clusters))
    ids, numbers = found.index.ids, {name: number for number, name in enumerate(SPLIT_NAMES)}
    splits = np.full(len(clusters), len(SPLIT_NAMES), dtype=np.uint8)
    if known is not None and len(known) == len(clusters):
        splits[firsts] = known[firsts]
        firsts = firsts[splits[firsts] == len(SPLIT_NAMES)]  # (new firsts: computed)
    splits[firsts] = np.fromiter((numbers[split_of(ident)] for ident in ids.each_at(firsts.tolist())), dtype=np.uint8, count=len(firsts))
    return splits


def cluster_counts(splits: np.ndarray) -> dict[str, int]:
    """How many wire clusters each split has (``splits``: :func:`splits_of`, one entry per cluster); splits without
    any left out."""
    import numpy as np

    counts = np.bincount(splits, minlength=len(SPLIT_NAMES) + 1)[:len(SPLIT_NAMES)]
    return {name: int(count) for name, count in zip(SPLIT_NAMES, counts.tolist()) if count}


def plan_groups(found: Scan, clusters: array, splits: np.ndarray, group_articles: int) -> list[GroupPlan]:
    """Split each split's articles (sorted by id) into groups, and name the file of each config a group has rows in
    (one per split and config: :func:`splice_split`; ``splits``: each cluster's, :func:`splits_of`).  Positions
    stay numpy arrays: a list of the 100,000 positions in order, as ``int``, was 4 MB."""
    import numpy as np

    ids, gold = found.index.ids, found.gold
    order = ids.in_order()
    in_split = splits[np.frombuffer(clusters, dtype=np.uint32)[order]]
    plans: list[GroupPlan] = []
    for code, split in enumerate(SPLIT_NAMES):
        articles = array("I", order[in_split == code].astype(np.uint32).tobytes())
        bounds = group_bounds(ids.each_at(articles), group_articles)
        chunks = [articles[start:end] for start, end in zip([0, *bounds], bounds)]
        has_rows: dict[str, list[bool]] = {c: [] for c in CONFIGS}
        for chunk in chunks:
            rows = gold.rows_of(chunk)
            has_rows["articles"].append(True)
            has_rows["entities"].append(bool(rows & HAS_MENTIONS))
            has_rows["quotes"].append(bool(rows & HAS_QUOTES))
        for g, chunk in enumerate(chunks):
            names = tuple((c, data_file(c, split) if has_rows[c][g] else None) for c in CONFIGS)
            plans.append(GroupPlan(split, chunk, names))
    return plans


@dataclass
class WrittenShards:
    """What a build wrote into its output directory: per group (by shard key), its figures and where its column
    chunks are in each config's file of its split (each chunk's byte range: a group's chunks are apart where its row
    group was merged with others'); per file, the groups it holds, in order, the merged row groups' templates by
    their groups' keys, and its stat after the build; in the record's payload, each group's own row groups'
    templates and each config's footer frame (:mod:`newscorpus.splice`).

    The next build into the same directory copies an unchanged group's column chunks from the old file (their bytes,
    not decoded) when its shard key is unchanged and the old file's stat ``(size, mtime_ns, ctime_ns, inode)`` is
    as recorded (so not edited since), instead of reading the group from the cache and writing it again; a file
    whose groups are all those it held, in the same order, is hard-linked.  Anything else is written from the
    cache, or built.  Kept in the cache (namespace ``output``), one record per output directory and code.

    The payload (the templates: 17 KB a group, 3.7 MB at 100,000 articles) is kept in a temporary file, read back a
    piece at a time, and stored from it: in memory, with the pieces of the split being spliced (each group's
    templates twice), it put the main process's peak at 100,000 articles in this stage, 80 MB against the scan's
    76 (77 without it; docs/scale-history.md).  It is loaded into that file as it is read from the cache
    (:meth:`newscorpus.cache.Cache.get_streamed`): the entry read whole, then its payload copied, put a one-file
    rebuild's peak at 100,000 articles in this stage too, 82 MB against 77.
    """

    groups: dict[str, dict] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)
    #: config -> where its footer frame is in :attr:`payload`
    frames: dict[str, list[int]] = field(default_factory=dict)
    payload: Spilled = field(default_factory=lambda: Spilled("u1"))

    @staticmethod
    def _key(job: Job, out: Path) -> str:
        return key_of({"stage": "output", "out": str(out), "code": job.fingerprint})

    @classmethod
    def load(cls, job: Job, out: Path) -> "WrittenShards":
        """The record of the last build into ``out`` (empty when there is none, or it does not match ``out``)."""
        if not out.is_dir():
            return cls()
        spill = Spilled("u1")  # the payload goes straight into it, a piece at a time
        meta = Cache(Path(job.cache)).get_streamed("output", cls._key(job, out), CacheStats(), spill.extend)
        if meta is None:
            spill.close()  # (pieces of a damaged payload, if any)
            return cls()
        return cls(meta["groups"], meta["files"], meta["frames"], spill)

    def save(self, job: Job, out: Path) -> None:
        """Record the stat of every file this build wrote (after the swap: linking changes a file's ctime)."""
        for name, record in self.files.items():
            record["stat"] = entry_state(out / name)
        Cache(Path(job.cache)).put("output", self._key(job, out), {"groups": self.groups, "files": self.files, "frames": self.frames},
                                   self.payload)

    def keep(self, data: bytes | memoryview) -> list[int]:
        """Put ``data`` in the payload; where it is (:meth:`kept`)."""
        return self.payload.keep(data)

    def kept(self, span: list[int]) -> bytes:
        return self.payload.kept(span)

    def close(self) -> None:
        """Remove the payload's temporary file (the groups and files stay)."""
        self.payload.close()

    def reusable(self, key: str, group: Group, old: Path, states: dict[str, list[int] | None]) -> dict | None:
        """The record of an unchanged group whose row groups are in ``old``'s files as written (``states``: the old
        files' stats, taken once each), or ``None``."""
        record = self.groups.get(key)
        if record is None:  # (a record is only loaded for an output directory that exists)
            return None
        names = {config for config, name in group.names if name is not None}
        if names != set(record["pieces"]):
            return None
        for piece in record["pieces"].values():
            name = piece["file"]
            if name not in states:
                states[name] = entry_state(old / name)
            if states[name] is None or states[name] != self.files.get(name, {}).get("stat"):
                return None
        return record


@dataclass
class _Piece:
    """One group's row groups in a file being spliced: where each of their column chunks is (``(start, length)``
    pairs, packed: :func:`_part_chunks`) and their templates, both in ``spill`` (a temporary file: the pieces of the
    train split's files were 3 MB at 100,000 articles), at the spans :attr:`chunks` and :attr:`templates`."""

    key: str
    identity: str
    source: Path
    spill: Spilled
    chunks: list[int]
    templates: list[int]
    nbytes: int  # its rows' bytes decoded (the Parquet metadata's ``total_byte_size``: :func:`_parquet`)

    def spans(self) -> array:
        """Where each column chunk is: ``start, length`` of the first, of the second..., flat (a list of pairs was
        0.6 MB while the train split's files were laid out at 100,000 articles)."""
        flat = array("q")
        flat.frombytes(self.spill.kept(self.chunks))
        return flat

    def template_bytes(self) -> bytes:
        return self.spill.kept(self.templates)


#: How :func:`group_bounds` cuts a split's groups into the runs whose row groups may merge (:func:`splice_split`):
#: 8 gives 4 to 16 groups, about 7 on average (about 3,500 'articles' rows, 55 MB decoded).  A run is then cut
#: into row groups of at most about :data:`ROW_GROUP_BYTES` (:func:`group_runs`).
#: ``load_dataset`` pays per batch (read, cast to the features, written to its Arrow cache), and ``datasets`` 5.2
#: reads a file in batches of its *first* row group's rows: runs of 2 to 10 groups, the first often the smallest,
#: made 162 batches of the 'articles' config at 100,000 articles (58 row groups) and 372 of the 'quotes' config (210
#: row groups of one group each), against 16 and 6 in the by-hand files; runs of 8, 35 and 35; with the first run
#: the largest, 27 and 27, a batch a row group.  Loaded in one process, alternating with the by-hand file, with runs
#: of 8: 'articles' 4.61 s of CPU against 4.87, 'quotes' 1.61 against 1.79 (docs/scale-history.md).  The
#: 'entities' config's row groups, one a group while its shards were dictionary-encoded, are runs too since the
#: thirty-fifth session.
RUN_GROUPS = 8

#: The most a row group holds, about, in bytes as Parquet counts them decoded (``total_byte_size``): a run of
#: groups larger than this is cut, between groups, into the fewest even row groups of about this size.  ``datasets``
#: decodes a row group before its first batch is written, and a file's first batch waits for it (each split's
#: file; a load by name reads three): at 100,000 articles, our runs of about seven groups (the first up to 150 MB
#: decoded, 10,003 'articles' rows) loaded in fresh interpreters in 2.49 s ('articles'), 2.03 ('entities') and
#: 0.81 ('quotes'), the same rows in row groups of 24 MB in 1.99, 1.86 and 0.78, the by-hand files (row groups of
#: about 95 MB) in 2.30, 1.98 and 0.91, twelve alternating rounds, medians; 16 MB and 32 MB about the same
#: (docs/scale-history.md, the fiftieth session).
ROW_GROUP_BYTES = 24 << 20


def group_runs(identities: list[str], rows: list[int], sizes: list[int], most: int | None = None) -> list[int]:
    """Where a file's groups (by identity, in order; ``rows`` and ``sizes``: each group's rows and bytes in this
    config) are cut into row groups (end indices), each the groups' row groups merged into one (when they can be:
    :func:`newscorpus.splice.merged_group`).

    The groups are cut into runs by their identities, as :func:`group_bounds` cuts ids (4 to 16 groups, about 7 on
    average; the last may be shorter), so a group added, removed or changed changes the runs next to it, and at most
    where the first row group ends.  Each run is cut into the fewest row groups of about ``most`` bytes (default
    :data:`ROW_GROUP_BYTES`): ``n`` of them for up to ``n`` times ``most``, cut between the groups nearest to ``n``
    equal shares of its bytes.  The first row group then takes the groups after it, in order, until it holds as
    many rows as any later one: ``datasets`` reads a file in batches of its first row group's rows, and each row
    group is then one batch."""
    most = ROW_GROUP_BYTES if most is None else most
    ends: list[int] = []
    start = 0
    for end in group_bounds(identities, RUN_GROUPS):
        ends.extend(_even_cuts(sizes, start, end, most))
        start = end
    if not ends:
        return ends
    counts = [sum(rows[a:b]) for a, b in zip([0, *ends], ends)]
    later = list(itertools.accumulate(reversed(counts), max))[::-1] + [0]  # later[i]: the most rows from i on
    first_end, first, eaten, left = ends[0], counts[0], 1, counts[1] if len(counts) > 1 else 0
    while eaten < len(ends) and first < max(left, later[eaten + 1]):
        first += rows[first_end]
        left -= rows[first_end]
        first_end += 1
        if first_end == ends[eaten]:
            eaten += 1
            left = counts[eaten] if eaten < len(counts) else 0
    return [first_end, *ends[eaten:]]


def _even_cuts(sizes: list[int], start: int, end: int, most: int) -> list[int]:
    """The ends of the groups ``start`` to ``end`` cut into ``ceil(bytes / most)`` row groups between the groups
    nearest to equal shares of their bytes (fewer when a group holds more than a share: no row group is empty)."""
    total = sum(sizes[start:end])
    n = max(1, -(-total // max(1, most)))
    cuts: list[int] = []
    if n > 1:
        held = list(itertools.accumulate(sizes[start:end]))
        for k in range(1, n):
            share = total * k / n
            at = bisect.bisect_left(held, share)
            if at > 0 and share - held[at - 1] < held[at] - share:
                at -= 1
            cut = start + at + 1
            if (cuts[-1] if cuts else start) < cut < end:
                cuts.append(cut)
    cuts.append(end)
    return cuts


def _copy_range(source: int, target: int, start: int, length: int) -> None:
    """Append ``length`` bytes of the file ``source`` from ``start`` to the file ``target`` (in the kernel where it
    can: ``copy_file_range``)."""
    while length:
        try:
            n = os.copy_file_range(source, target, length, start)
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                raise
            data = os.pread(source, min(length, 1 << 22), start)
            n = len(data) and os.write(target, data)
        if not n:
            raise OSError(errno.EIO, "a file shorter than recorded")
        start, length = start + n, length - n


def _layout(config: str, name: str, pieces: list[_Piece], orders: tuple, previous: WrittenShards,
            record: WrittenShards, premerges: "Premerges", frame: bytes) -> tuple[_Copies, list[tuple[int, list[GroupTemplate]]]]:
    """Where each piece's column chunks go in the file ``name``: the copies to make, in order (:class:`_Copies`:
    one where chunks follow one another in one source), and the tail's pieces (each row group's body length and
    templates).  The groups of each row group of :func:`group_runs` whose row groups merge
    (:func:`newscorpus.splice.merged_group`) are one row group, their chunks column by column; a merged template the
    last build made for the same groups is taken from its record, and one whose other members were merged ahead
    (``premerges``, for the footer ``frame``) is merged from them.  Where each group's chunks land, and the merged templates, go into ``record``."""
    copies, placed, at = _Copies(), [], len(MAGIC)
    made = {tuple(keys): span for keys, span in previous.files.get(name, {}).get("runs", [])}
    runs = record.files[name]["runs"] = []
    start = 0
    rows = [templates_rows(piece.template_bytes()) for piece in pieces]
    for end in group_runs([piece.identity for piece in pieces], rows, [piece.nbytes for piece in pieces]):
        run = pieces[start:end]
        start = end
        packed = [piece.template_bytes() for piece in run]
        templates = [unpack_templates(data) for data in packed]
        merged = None
        if len(run) > 1 and all(len(t) == 1 for t in templates):
            keys = tuple(piece.key for piece in run)
            if keys in made:
                merged = GroupTemplate.from_bytes(previous.kept(made[keys]))
            elif (ahead := premerges.take(name, keys, frame, packed)) is not None:
                before, changed, after = ahead
                fields = merged_fields([f for f in (before, group_fields(templates[changed][0]), after) if f is not None], orders)
                merged = None if fields is None else fields_template(fields)
            else:
                merged = merged_group([t[0] for t in templates], orders)
            if merged is not None:
                runs.append([list(keys), record.keep(merged.to_bytes())])
        spans = [piece.spans() for piece in run]
        landed = [array("q") for _ in run]
        begin = at
        if merged is not None:  # column by column, each column's chunks in the groups' order
            for column in range(0, len(spans[0]), 2):
                for piece, piece_spans, where in zip(run, spans, landed):
                    length = piece_spans[column + 1]
                    copies.add(piece.source, piece_spans[column], length)
                    where.extend((at, length))
                    at += length
            placed.append((at - begin, [merged]))
        else:  # each group's chunks one after the other: its body as it was written
            for piece, piece_spans, where, piece_templates in zip(run, spans, landed, templates):
                body = at
                for column in range(0, len(piece_spans), 2):
                    length = piece_spans[column + 1]
                    copies.add(piece.source, piece_spans[column], length)
                    where.extend((at, length))
                    at += length
                placed.append((at - body, piece_templates))
        for piece, where, data in zip(run, landed, packed):
            record.groups[piece.key]["pieces"][config] = {"file": name, "chunks": record.keep(where.tobytes()),
                                                           "templates": record.keep(data)}
    return copies, placed


class _Copies:
    """The copies that make a file's body, in order (:meth:`add`; iterated as ``(source, start, length)``): three
    numbers each in one array, the source by its number, and a copy that continues the last one in the same file
    joined to it (a group's chunks written one after the other: one copy).  A tuple a column chunk was 1.3 MB, with
    its numbers, for a merged file of the train split at 100,000 articles (9,854 chunks: a merged run's chunks go
    column by column, from one group to the next, and join only where they follow one another)."""

    def __init__(self) -> None:
        self._numbers: dict[Path, int] = {}  # each source's number, in the order first added
        self._spans = array("q")  # source number, start, length; source number, ...

    def add(self, source: Path, start: int, length: int) -> None:
        number = self._numbers.setdefault(source, len(self._numbers))
        spans = self._spans
        if spans and spans[-3] == number and spans[-2] + spans[-1] == start:
            spans[-1] += length
        else:
            spans.extend((number, start, length))

    def __iter__(self) -> Iterator[tuple[Path, int, int]]:
        sources, spans = list(self._numbers), self._spans
        for at in range(0, len(spans), 3):
            yield sources[spans[at]], spans[at + 1], spans[at + 2]


class Premerges:
    """The merged runs of the last build's files that held a group written again (:func:`_groups_started`: one with
    an article the scan made again), their other members merged ahead on either side of it
    (:func:`newscorpus.splice.merged_fields`; in steps, :meth:`ahead`: a member read, then a side merged) while the
    main process waits for that group's worker: :func:`_layout` then merges the two sides and the group's new row group
    (:meth:`take`), where it merged every member after the group came (the 'articles' file's run 37-62 ms of a
    one-file rebuild at 10,000 articles, its three files' 60-100 ms, while the group kept the main process waiting
    for 52-85 ms).  A run is taken only as it is laid out now: the same groups around the changed one, their
    templates and the footer's frame the same bytes; else it is merged as before."""

    def __init__(self, previous: WrittenShards) -> None:
        self._previous = previous
        #: by file name and the run's groups now: the steps left
        self._steps: dict[tuple[str, tuple[str, ...]], Iterator[None]] = {}
        #: and what they made: the footer's frame, where the changed group is, the other members' templates, the two
        #: sides merged
        self._made: dict[tuple[str, tuple[str, ...]], tuple[bytes, int, list[bytes], list | None, list | None]] = {}

    def plan(self, old_key: str, new_key: str) -> None:
        """Plan the merge ahead of the runs of the last build's files that held the group ``old_key``, now
        ``new_key`` (nothing when the key is the same: such a run is the record's, :func:`_layout`)."""
        if old_key == new_key:
            return
        for name, file in self._previous.files.items():
            for keys, _ in file.get("runs", []):
                if old_key in keys:
                    at = keys.index(old_key)
                    now = (*keys[:at], new_key, *keys[at + 1:])
                    self._steps[(name, now)] = self._merging(name, now, keys, at)

    def _merging(self, name: str, now: tuple[str, ...], keys: list[str], at: int) -> Iterator[None]:
        previous = self._previous
        try:
            config = next(c for c, piece in previous.groups[keys[0]]["pieces"].items() if piece["file"] == name)
            frame = previous.kept(previous.frames[config])
            orders = leaf_orders(Frame.from_bytes(frame))
            members: list[bytes] = []
            sides: list[list | None] = []
            for side in (keys[:at], keys[at + 1:]):
                fields = []
                for key in side:
                    members.append(previous.kept(previous.groups[key]["pieces"][config]["templates"]))
                    templates = unpack_templates(members[-1])
                    if len(templates) != 1:
                        return
                    fields.append(group_fields(templates[0]))
                    yield
                sides.append(merged_fields(fields, orders) if fields else None)
                if fields and sides[-1] is None:
                    return
                yield
        except Exception:  # noqa: BLE001  (ahead of time only: a record that does not say it, a member whose fields a
            return  # merge in one go might not reach, is merged as before, where it fails if it fails)
        self._made[(name, now)] = (frame, at, members, *sides)

    def ahead(self, until: Callable[[], bool]) -> None:
        """Take the steps left, one at a time, until ``until()`` (the group waited for is written) or none is left."""
        for steps in self._steps.values():
            while not until():
                if next(steps, False) is False:  # (its steps done)
                    break
            else:
                return

    def take(self, name: str, keys: tuple[str, ...], frame: bytes, packed: list[bytes]) -> tuple[list | None, int, list | None] | None:
        """The run of the file ``name`` whose groups are ``keys`` (``packed``: their templates; ``frame``: the footer's
        frame), merged ahead: the members before the changed one merged (``None``: none), its place, the members
        after it merged; or ``None``.  Its steps left are taken now."""
        steps = self._steps.pop((name, keys), None)
        if steps is None:
            return None
        for _ in steps:
            pass
        made = self._made.pop((name, keys), None)
        if made is None:
            return None
        was, at, members, before, after = made
        if was != frame or members != packed[:at] + packed[at + 1:]:
            return None
        return before, at, after


def splice_split(files: dict[tuple[str, str], list[_Piece]], staging: Path, old: Path, previous: WrittenShards,
                 record: WrittenShards, premerges: "Premerges") -> None:
    """Write each file of ``files`` (by config and name) into ``staging``: its pieces' column chunks in one Parquet
    file (:func:`_layout`, :mod:`newscorpus.splice`; each group's part deleted once copied), or the old file
    hard-linked when it held the same groups in the same order.  Where each group's chunks land goes into
    ``record``; ``files`` is emptied.  ``premerges``: runs merged ahead (:class:`Premerges`)."""
    parts = staging / PARTS
    orders: dict[str, tuple] = {}
    for (config, name), pieces in files.items():
        keys = [piece.key for piece in pieces]
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        record.files[name] = {"keys": keys}
        frame = record.kept(record.frames[config])
        if config not in orders:
            orders[config] = leaf_orders(Frame.from_bytes(frame))
        copies, placed = _layout(config, name, pieces, orders[config], previous, record, premerges, frame)
        if previous.files.get(name, {}).get("keys") == keys and all(piece.source == old / name for piece in pieces):
            try:  # the same groups in the same order: the same bytes
                os.link(old / name, target)
            except OSError:  # another file system, or no hard links: copy
                shutil.copyfile(old / name, target)
            continue
        handles: dict[Path, int] = {}
        try:
            with naming(target), open(target, "wb") as sink:
                sink.write(MAGIC)
                sink.flush()
                for source, start, length in copies:
                    if source not in handles:
                        with naming(source):
                            handles[source] = os.open(source, os.O_RDONLY)
                    with naming(source):
                        _copy_range(handles[source], sink.fileno(), start, length)
                sink.writelines(spliced_tail(Frame.from_bytes(frame), placed))
        finally:
            for handle in handles.values():
                os.close(handle)
        for source in handles:
            if source.parent == parts:  # (a group's part is in one file only)
                source.unlink()
    files.clear()


def _write_shards(found: Scan, clusters: array, splits: np.ndarray, job: Job, staging: Path, mapper: Mapper, group_articles: int,
                  previous: WrittenShards, old: Path) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]], CardStats, WrittenShards]:
    """Write every group's shards (unchanged ones linked from the last output, the others in parallel); return rows
    and Arrow bytes per config and split, the card's figures, and the record of what was written.

    ``clusters`` and ``splits``: :func:`cached_clusters`; ``old`` is the output directory this build replaces."""
    counts = {c: {s: {"rows": 0, "nbytes": 0} for s in SPLIT_NAMES} for c in CONFIGS}
    card = CardStats(publishers=Counter(found.index.publishers), agencies=Counter(found.index.agencies))
    plans = plan_groups(found, clusters, splits, group_articles)
    last = {record["identity"]: key for key, record in previous.groups.items() if "identity" in record}
    states: dict[str, list[int] | None] = {}  # the old files' stats, each taken once
    record = WrittenShards()
    files: dict[tuple[str, str], list[_Piece]] = {}  # the files of the split being written: their pieces, in order
    spill = Spilled("u1")  # the chunks and templates of the pieces just written (those of the last build's are in its record)
    split = None
    early: dict[int, tuple[str, str, Future]] = {}
    # closed when left early (an error, Ctrl-C): the groups still being written into staging end before it is deleted,
    # those sent first (_groups_started) as soon as they are sent
    with closing(spill), _waited_for(early):
        _groups_started(found, clusters, job, staging, mapper, plans, previous, old, states, last, early)
        premerges = Premerges(previous)
        for key, identity, _ in early.values():
            if identity in last:
                premerges.plan(last[identity], key)
        keys: list[str] = []
        identities: list[str] = []
        results: list[dict | None] = []
        for at, plan in enumerate(plans):
            if at in early:
                keys.append(early[at][0])
                identities.append(early[at][1])
                results.append(None)
                continue
            group = plan.group(found, clusters)
            keys.append(shard_key(job, group))
            identities.append(group.identity)
            reused = previous.reusable(keys[-1], group, old, states)
            results.append(None if reused is None else {**reused["meta"], "cache": _LINKED})
        todo = (dataclasses.replace(plan.group(found, clusters), previous=last.get(identity))  # made as the workers take them
                for at, (plan, identity, result) in enumerate(zip(plans, identities, results)) if result is None and at not in early)
        with closing(mapper.map(_group_writer(job, staging), todo, batch=1)) as written:  # a group: a big task
            for at, (key, plan, identity, result) in enumerate(zip(keys, plans, identities, results)):
                if plan.split != split:  # the last split's groups are all written: its files are spliced meanwhile
                    splice_split(files, staging, old, previous, record, premerges)
                    split = plan.split
                if at in early:
                    premerges.ahead(until=early[at][2].done)  # (the main process would wait for the group meanwhile)
                    result = early[at][2].result()[0]
                elif result is None:
                    result = next(written)
                parts = result.pop("parts", None)  # (None: the group is in the old files)
                record.groups[key] = {"meta": {k: v for k, v in result.items() if k != "cache"}, "identity": identity, "pieces": {}}
                for config, name in plan.names:
                    if name is None:
                        continue
                    if parts is None:
                        piece = previous.groups[key]["pieces"][config]
                        source, payload, chunks, templates = old / piece["file"], previous.payload, piece["chunks"], piece["templates"]
                        frame = previous.kept(previous.frames[config])
                    else:
                        part = parts[config]
                        source, payload = part_file(staging, key, config), spill
                        chunks, templates = spill.keep(part["chunks"]), spill.keep(part["templates"])
                        frame = part["frame"]
                    files.setdefault((config, name), []).append(
                        _Piece(key, identity, source, payload, chunks, templates, result["configs"][config]["nbytes"]))
                    if config not in record.frames:
                        record.frames[config] = record.keep(frame)
                    elif frame != record.kept(record.frames[config]) and \
                            Frame.from_bytes(frame).shared() != Frame.from_bytes(record.kept(record.frames[config])).shared():
                        raise SpliceError(f"the '{config}' rows of the group of shard {key} have another schema than the others")
                found.cache.merge(result["cache"])
                for config in CONFIGS:
                    counts[config][plan.split]["rows"] += result["configs"][config]["rows"]
                    counts[config][plan.split]["nbytes"] += result["configs"][config]["nbytes"]
                card.by_label.update(result["by_label"])
                card.by_type.update(result["by_type"])
                release_free_memory()
            splice_split(files, staging, old, previous, record, premerges)
    shutil.rmtree(staging / PARTS, ignore_errors=True)
    for split in SPLIT_NAMES:
        card.articles[split] = counts["articles"][split]["rows"]
        card.mentions[split] = counts["entities"][split]["rows"]
        card.quotes[split] = counts["quotes"][split]["rows"]
    card.clusters.update(cluster_counts(splits))
    card.documents = len(found.gold)
    card.annotators, card.origins = found.gold.contributors()
    rows = {c: {s: v["rows"] for s, v in counts[c].items()} for c in CONFIGS}
    nbytes = {c: {s: v["nbytes"] for s, v in counts[c].items()} for c in CONFIGS}
    return rows, nbytes, card, record


def _groups_started(found: Scan, clusters: array, job: Job, staging: Path, mapper: Mapper, plans: list[GroupPlan],
                    previous: WrittenShards, old: Path, states: dict[str, list[int] | None], last: dict[str, str],
                    started: dict[int, tuple[str, str, "Future"]]) -> None:
    """The groups of the articles the scan made again (:attr:`~newscorpus.pipeline.Scan.remade`) that cannot be
    linked from the last output, sent to the pool's workers at once, before the other groups' keys are computed
    (at 10,000 articles, 22 groups' items and keys: 30-40 ms the worker had waited): into ``started``, by plan
    number, their shard key, identity and the future of their :func:`group_task`, each as it is sent (the caller
    waits for them however it leaves, :func:`_waited_for`).  Nothing is sent when the scan does not name the
    articles (a cold build: too many), or the mapper is not a local pool (its order is the map's)."""
    import numpy as np

    if not found.remade or not isinstance(mapper, ProcessMapper) or mapper.workers <= 1:
        return
    positions = np.array([at for at in found.index.positions(found.remade) if at >= 0], dtype=np.int64)
    for at, plan in enumerate(plans):
        if len(started) >= mapper.workers:
            break
        if not np.isin(np.frombuffer(plan.articles, dtype=np.uint32), positions).any():
            continue
        group = plan.group(found, clusters)
        key, identity = shard_key(job, group), group.identity
        if previous.reusable(key, group, old, states) is None:
            item = dataclasses.replace(group, previous=last.get(identity))
            future = mapper.submit(run_batch, _group_writer(job, staging), [item])  # (a second wakes the other workers)
            started[at] = (key, identity, future)


@contextmanager
def _waited_for(started: dict[int, tuple[str, str, "Future"]]) -> Iterator[None]:
    """On leaving (an error, Ctrl-C), cancel each future of ``started`` (filled meanwhile, :func:`_groups_started`)
    not yet running and wait for the others: a group still being written into the staging directory would write
    into it after it is deleted."""
    try:
        yield
    finally:
        futures = [future for _, _, future in started.values()]
        if futures:  # (else concurrent.futures is not imported: 10 ms of a rebuild with no pool)
            from concurrent.futures import wait

            for future in futures:
                future.cancel()
            wait(futures)


#: How a group whose files were linked from the last output counts: a hit of the shard cache.
_LINKED = CacheStats(hits={"shard": 1})


def dataset_info_by_datasets(counts: dict[str, dict[str, int]], nbytes: dict[str, dict[str, int]],
                             card_data: DatasetCardData) -> None:
    """Add ``dataset_info`` (features, splits with their sizes) to ``card_data`` the way ``datasets`` writes it."""
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo

    feats = features()
    infos = DatasetInfosDict()
    for config in CONFIGS:
        present = [s for s in SPLIT_NAMES if counts[config][s]]
        if present:
            splits = SplitDict()
            for split in present:
                splits.add(SplitInfo(name=split, num_bytes=nbytes[config][split], num_examples=counts[config][split]))
            infos[config] = DatasetInfo(features=feats[config], splits=splits)
    infos.to_dataset_card_data(card_data)


def dataset_info(counts: dict[str, dict[str, int]], nbytes: dict[str, dict[str, int]], job: Job) -> dict | list:
    """The card's ``dataset_info``: what :func:`dataset_info_by_datasets` gives, without importing ``datasets``.

    ``datasets`` lays it out once per code and library versions, with every
    split of every config and zero sizes, into the cache
    (:func:`dataset_info_layout`); the splits this build has are taken from
    that layout (the configs without one dropped, a single config not in a
    list, as ``datasets`` writes them) and its sizes filled in
    (``splits[].num_bytes``, ``num_examples``: the Hub's card format).  A test
    compares the two on several shapes.
    """
    layout = _cached_layout(job.cache, job.fingerprint)
    if layout is None:  # declared by the child of a cold build (declare_aside) unless that failed
        waiting = _made_aside(dataset_info_layout, job.cache, job.fingerprint)
        if waiting is not None:
            waiting()
        layout = _cached_layout(job.cache, job.fingerprint)
    info = []
    for config_info in layout:
        name = config_info["config_name"]
        splits = [{**split, "num_bytes": nbytes[name][split["name"]], "num_examples": counts[name][split["name"]]}
                  for split in config_info["splits"] if counts[name][split["name"]]]
        if splits:
            info.append({**config_info, "splits": splits})
    return info[0] if len(info) == 1 else info


def _layout_key(fingerprint: str) -> str:
    return key_of({"stage": "dataset-info", "code": fingerprint, **_declared_versions()})


def _cached_layout(cache_dir: str, fingerprint: str) -> list | None:
    hit = Cache(Path(cache_dir)).get("declared", _layout_key(fingerprint), CacheStats())
    return None if hit is None else hit[0]["dataset_info"]


def dataset_info_layout(cache_dir: str, fingerprint: str) -> list:
    """The card's ``dataset_info`` with every split of every config and zero sizes: laid out by ``datasets`` once
    per code and library versions, then read from the cache."""
    layout = _cached_layout(cache_dir, fingerprint)
    if layout is None:
        from huggingface_hub import DatasetCardData

        card_data = DatasetCardData()
        every = {c: dict.fromkeys(SPLIT_NAMES, 1) for c in CONFIGS}
        dataset_info_by_datasets(every, {c: dict.fromkeys(SPLIT_NAMES, 0) for c in CONFIGS}, card_data)
        layout = card_data["dataset_info"]
        Cache(Path(cache_dir)).put("declared", _layout_key(fingerprint), {"dataset_info": layout})
    return layout


def _write_card(staging: Path, counts: dict[str, dict[str, int]], nbytes: dict[str, dict[str, int]], card: CardStats,
                languages: set[str], repo_root: Path, corpus_root: Path, job: Job) -> CacheStats:
    """README.md (YAML with configs, features, splits; prose with the figures), datasheet, guidelines, schemas.

    The README is kept in the cache under the key of everything it is made
    of (the figures, the agreement report, the card's code and the library
    versions): a rebuild whose figures did not change writes the last one
    again instead of rendering it.  One whose figures changed renders it
    from the cached metadata (:func:`_metadata_yaml`): 25 ms at 10,000
    articles, where importing ``huggingface_hub`` and rendering all of it
    with PyYAML's Python emitter took 0.1 s."""
    import newscorpus
    import newscorpus.card

    store, stats = Cache(Path(job.cache)), CacheStats()
    agreement = corpus_root / newscorpus.card.AGREEMENT_REPORT
    documents = [name for name in CARD_DOCUMENTS if (repo_root / name).is_file()]
    datasheet = "DATASHEET.md" in documents  # (the licence's terms: the card's YAML links them)
    key = key_of({
        "documents": documents,
        "stage": "card", "counts": counts, "nbytes": nbytes, "languages": sorted(languages), "code": job.fingerprint,
        "figures": {f.name: _json_ready(getattr(card, f.name)) for f in dataclasses.fields(card)},
        "agreement": hashlib.sha256(agreement.read_bytes()).hexdigest() if agreement.is_file() else None,
        "card": hashlib.sha256(Path(newscorpus.card.__file__).read_bytes()).hexdigest(), "versions": _declared_versions(),
        "newscorpus": newscorpus.__version__,
    })
    hit = store.get("card", key, stats)
    present = {c: [s for s in SPLIT_NAMES if counts[c][s]] for c in CONFIGS}
    if hit is not None:
        readme = hit[1]  # (its metadata's entries are kept by a pruning build: the next card made needs them)
        note_use("card-metadata", _metadata_key(languages, sum(counts["articles"].values()), present, card.origins, job,
                                                datasheet), store.root)
        note_use("card-metadata", _info_yaml_key(present, job), store.root)
    else:
        metadata = _metadata_yaml(languages, sum(counts["articles"].values()), present, card.origins, job, stats, datasheet)
        readme = render_card(card_yaml(metadata, dataset_info(counts, nbytes, job), (store, _info_yaml_key(present, job), stats)),
                             card, repo_root, corpus_root, documents).encode("utf-8")
        store.put("card", key, {}, readme)
    with naming(staging / "README.md"):
        (staging / "README.md").write_bytes(readme)
    for name in documents:
        shutil.copyfile(repo_root / name, staging / name)
    (staging / "schema").mkdir()
    for path in sorted(schema_dir().glob("*.schema.json")):
        shutil.copyfile(path, staging / "schema" / path.name)
    return stats


def _metadata_yaml(languages: set[str], n_articles: int, present: dict[str, list[str]], origins: set[str], job: Job,
                   stats: CacheStats, datasheet: bool = True) -> str:
    """The YAML of :func:`card_metadata`, as ``huggingface_hub`` writes it, kept in the cache (namespace
    ``card-metadata``) under the key of what it is made of: it changes when a language, a split, an origin or the
    size category does, not when a figure does, so a rebuild neither imports ``huggingface_hub`` nor renders it."""
    store = Cache(Path(job.cache))
    key = _metadata_key(languages, n_articles, present, origins, job, datasheet)
    hit = store.get("card-metadata", key, stats)
    if hit is not None:
        return hit[1].decode("utf-8")
    text = card_metadata(languages, n_articles, present, origins, datasheet).to_yaml()
    store.put("card-metadata", key, {}, text.encode("utf-8"))
    return text


def _metadata_key(languages: set[str], n_articles: int, present: dict[str, list[str]], origins: set[str], job: Job,
                  datasheet: bool = True) -> str:
    return key_of({"stage": "card-metadata", "languages": sorted(languages), "size": _size_category(n_articles),
                   **({} if datasheet else {"datasheet": False}),
                   "present": present, "origins": sorted(origins), "code": job.fingerprint, "versions": _declared_versions()})


def card_yaml(metadata: str, info: dict | list, cached: tuple[Cache, str, CacheStats] | None = None) -> str:
    """The card's YAML: ``metadata`` (:func:`_metadata_yaml`), then ``dataset_info``, the last key, dumped as
    ``DatasetCardData.to_yaml`` dumps it (PyYAML, keys in their order, Unicode as it is) with libyaml's emitter when
    PyYAML has it (25 ms less at 10,000 articles).  The text is what ``to_yaml`` gives for the whole (a test).

    ``cached``: the cache, the key of ``info``'s shape (:func:`_info_yaml_key`: its layout and splits) and the
    build's cache figures.  The text of ``info`` with a placeholder for each size is kept there, and the sizes are
    written into it: a build whose figures changed since the last does not import PyYAML (20 ms of a one-file
    rebuild at 10,000 articles whose card changed).  The same text either way (a test)."""
    if cached is None:
        return metadata + "\n" + _dumped_info(info)
    store, key, stats = cached
    configs = info if isinstance(info, list) else [info]
    sizes: list[int] = []
    marked = []
    for config in configs:
        splits = []
        for split in config["splits"]:
            splits.append({**split, "num_bytes": _SIZE_MARK + len(sizes), "num_examples": _SIZE_MARK + len(sizes) + 1})
            sizes += [split["num_bytes"], split["num_examples"]]
        marked.append({**config, "splits": splits})
    hit = store.get("card-metadata", key, stats)
    template = None if hit is None else hit[1].decode("utf-8")
    if template is None or not _placeholders_once(template, len(sizes)):
        template = _dumped_info(marked if isinstance(info, list) else marked[0])
        if not _placeholders_once(template, len(sizes)):  # (a name or type holding the placeholders' digits)
            return metadata + "\n" + _dumped_info(info)
        store.put("card-metadata", key, {}, template.encode("utf-8"))
    for at, size in enumerate(sizes):
        template = template.replace(str(_SIZE_MARK + at), str(size), 1)
    return metadata + "\n" + template


#: The first placeholder of a split's size in the card's ``dataset_info`` kept in the cache (:func:`card_yaml`):
#: the others follow it, of as many digits, so that none is part of another.
_SIZE_MARK = 4_700_000_000_000_000_000


def _placeholders_once(template: str, count: int) -> bool:
    """Whether ``template`` holds each of the first ``count`` placeholders of :data:`_SIZE_MARK` once, and no other
    text that starts as they do."""
    return template.count(str(_SIZE_MARK)[:8]) == count and all(template.count(str(_SIZE_MARK + at)) == 1 for at in range(count))


def _dumped_info(info: dict | list) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump({"dataset_info": info}, Dumper=dumper, sort_keys=False, allow_unicode=True).strip()


def _info_yaml_key(present: dict[str, list[str]], job: Job) -> str:
    """The key of the card's ``dataset_info`` text with placeholders for its sizes (:func:`card_yaml`): what
    :func:`dataset_info` makes it of (the layout, the splits each config has) and the PyYAML that dumps it."""
    return key_of({"stage": "card-dataset-info", "layout": _layout_key(job.fingerprint), "present": present,
                   "pyyaml": _pyyaml_version()})


@cache
def _pyyaml_version() -> str:
    return installed_version("yaml", "pyyaml")


def _json_ready(value: object) -> object:
    """A card figure as a key can hold it: a counter's items and a set's members sorted, anything else as it is."""
    if isinstance(value, Counter):
        return sorted(value.items())
    return sorted(value) if isinstance(value, set) else value


#: How the Hub's ``annotations_creators`` names each annotation origin.
CREATORS = {"human": "expert-generated", "model": "machine-generated"}


def card_metadata(languages: set[str], n_articles: int, present: dict[str, list[str]], origins: set[str],
                  datasheet: bool = True) -> DatasetCardData:
    """The card's YAML metadata, before ``dataset_info`` is added (``datasheet``: whether DATASHEET.md, the licence's
    terms, is beside the card to link)."""
    from huggingface_hub import DatasetCardData

    return DatasetCardData(
        language=sorted(languages or {"en"}),
        license="other",
        license_name="research-only-news-text",
        license_link="DATASHEET.md" if datasheet else None,
        pretty_name="newscorpus: annotated news articles (entities and quotes)",
        task_categories=["token-classification", "text-classification"],
        task_ids=["named-entity-recognition"],
        annotations_creators=sorted(CREATORS[o] for o in origins) or ["no-annotation"],
        language_creators=["found"],
        multilinguality="monolingual",
        size_categories=[_size_category(n_articles)],
        source_datasets=["original"],
        tags=["news", "quote-attribution", "coreference", "wire-stories", "label-studio"],
        configs=[
            {
                "config_name": config,
                **({"default": True} if config == "articles" else {}),
                "data_files": [{"split": split, "path": data_glob(config, split)} for split in present[config]],
            }
            for config in CONFIGS if present[config]
        ],
    )


@contextmanager
def _writing_into(out: Path) -> Iterator[None]:
    """Hold the lock of the output directory ``out`` (the file ``.<name>.lock`` beside it) while a build writes into it,
    and first delete what builds killed while writing into it left beside it (:func:`_leftovers`).

    One build at a time writes into a directory: another waits for the lock
    (and says so), then links what the first wrote.  The lock is the
    operating system's (:func:`~newscorpus.cache.exclusive_lock`): a killed
    build's lock is released with its process, so nothing stale blocks the
    next build.
    """
    def waiting() -> None:
        import logging  # (only then: 10 ms of every rebuild)

        logging.getLogger(__name__).warning("another build is writing into %s: waiting for it to finish", out)

    with exclusive_lock(out.parent / f".{out.name}.lock", waiting):
        for leftover in _leftovers(out):
            shutil.rmtree(leftover, ignore_errors=True)
        yield


def _leftovers(out: Path) -> list[Path]:
    """What builds into ``out`` that were killed while writing left beside it: their staging directories (a
    half-written dataset) and the directory a swap without :func:`_exchange` set the old output aside in, both named
    ``.<name>.<8 characters>`` by :func:`tempfile.mkdtemp`.  Only directories of such names, never a link: anything
    else beside ``out`` is left alone (the staging directory of an output named ``<name>.old`` is
    ``.<name>.old.<8 characters>``, not one of these).  Asked under the lock of :func:`_writing_into`, so no running
    build owns one."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.[a-z0-9_]{{8}}")
    with os.scandir(out.parent) as entries:
        return sorted(Path(e.path) for e in entries if pattern.fullmatch(e.name) and e.is_dir(follow_symlinks=False))


#: What a build writes at the top of its output directory (:func:`_write_card`, :func:`_write_shards`), and ``.cache``,
#: where ``huggingface_hub``'s uploads of a folder keep their state: a directory holding nothing else may be replaced.
OUTPUT_ENTRIES = frozenset({"README.md", *CARD_DOCUMENTS, "data", "schema", ".cache"})


def check_output(out: Path, layout: CorpusLayout | None = None) -> None:
    """Refuse an output path a build must not replace: a build replaces its output directory whole, so ``out`` must be
    missing, an empty directory, or a directory holding only what a build writes (:data:`OUTPUT_ENTRIES`), and must
    not be, or hold, the corpus or the current directory.  Raises :class:`UsageError` saying what is there."""
    target = out.resolve()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        kind = "a symbolic link" if out.is_symlink() else "a file"
        raise UsageError(f"--out {out} is {kind}, not a dataset directory: give the path of a new directory")
    for name, inside in (("the corpus", layout.root.resolve() if layout is not None else None), ("the current directory", Path.cwd().resolve())):
        if inside is not None and (inside == target or target in inside.parents):
            raise UsageError(f"--out {out} is or holds {name} ({inside}), and a build replaces its output directory whole: "
                             "give the path of a new directory, e.g. build/dataset")
    if not out.is_dir():
        return
    with os.scandir(out) as entries:
        foreign = sorted(e.name for e in entries if e.name not in OUTPUT_ENTRIES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise UsageError(f"--out {out} holds files a build does not write ({shown}), and a build replaces its output "
                         "directory whole: give the path of a new or empty directory, or move them out")


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging``, with no moment when ``out`` is missing or partial where the system can exchange
    two names in one step (Linux: :func:`_exchange`); elsewhere, rename the old one aside, rename the new one in.
    Then delete the old one.  The new one gets the permission bits of the old one, else those of a plain
    ``mkdir`` (:func:`tempfile.mkdtemp` made it 0o700)."""
    try:
        os.chmod(staging, out.stat().st_mode & 0o7777)
    except FileNotFoundError:
        os.chmod(staging, 0o777 & ~umask())
    if not out.exists():
        os.replace(staging, out)
        return
    if _exchange(staging, out):  # staging now names the old directory
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    os.replace(out, old / out.name)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)


#: ``renameat2``'s flag that swaps two existing names, and "the current directory" for its directory arguments.
_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` in one step (Linux's ``renameat2`` with ``RENAME_EXCHANGE``, through glibc);
    ``False`` where the system or the file system cannot, and nothing was done."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):  # a file system without it
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _renameat2() -> Callable[..., int] | None:
    """glibc's ``renameat2`` (2.28 and later), or ``None``: another system or C library."""
    return libc_function("renameat2", (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint))


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"
