"""Annotation documents <-> Label Studio tasks, annotations and predictions (pure).

This module is where the round trip lives; nothing here touches the network
or the file system.

Representation (the names come from :mod:`newscorpus.studio.config`):

* A **task** is one article: ``data = {text, headline, article_id,
  body_sha256}``.  ``text`` is the body exactly as in the article; offsets are
  code points into it.
* A **mention** is one region whose id is the mention id: an
  ``entity_label`` result (its OntoNotes label), an ``entity`` text area
  holding its entity id (so coreference survives), and a ``kind`` choice when
  the document states a kind.
* A **quote** is a group of regions.  Its first content part is a
  ``quote_part: Quote`` region whose id is the quote id and which carries the
  ``quote_type`` choice; further content parts are ``Quote`` regions
  ``<quote id>~<n>`` linked to it by ``part`` relations; the cue and channel
  are ``Cue``/``Channel`` regions ``<quote id>~cue``/``~channel`` linked by
  ``cue``/``channel`` relations; speaker and addressee are ``speaker`` and
  ``addressee`` relations to mention regions.  ``~`` cannot occur in an id,
  so derived region ids never collide with mention or quote ids.
* Reading results back, relation direction is ignored (the kinds of the two
  regions say which is which), a quote is a connected group of ``Quote``
  regions, and relations may hang on any of its parts.  Region ids that
  Label Studio made (new regions) become item ids when they are valid ids,
  else ``r`` + their letters and digits.
* Span text is always re-derived from the offsets (``value.text`` is not
  trusted: Label Studio trims whitespace).
* An item whose Label Studio content equals the reference document's item of
  the same id is kept exactly as in the reference (annotator, origin, model
  fields, ``sameAs``, key order, selectors).  A changed item keeps its
  non-Label-Studio fields and becomes ``origin: human`` by the annotation's
  author; a new item is made by the author.
* Entities: names, labels and Wikidata ids are edited in git, not in Label
  Studio.  A document keeps the reference's entities that are still referred
  to (or were not referred to before either), then adds one entity per new
  entity id (named after its first mention).  A mention whose entity field is
  left empty gets a new entity ``e-<mention id>``.
* Model items (``origin: model``) are also sent as predictions, one per
  ``modelVersion``, with their ``score``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from newscorpus import SCHEMA_VERSION
from newscorpus.problems import Problem, pointer
from newscorpus.spans import body_sha256, span
from newscorpus.studio import config as cfg

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
#: Separator between a quote id and the role of a derived region id.
SEP = "~"


# --------------------------------------------------------------------------- documents -> results


def task_data(article: dict) -> dict:
    """The ``data`` of the task of one article."""
    body = article["body"]["text"]
    headlines = article.get("headlines") or []
    return {
        "text": body,
        "headline": headlines[0]["value"] if headlines else "",
        "article_id": article["id"],
        "body_sha256": body_sha256(body),
    }


def _region(region_id: str, control: str, kind: str, start: int, end: int, body: str, key: str, values: list) -> dict:
    value: dict[str, Any] = {"start": start, "end": end}
    if kind == "labels":
        value["text"] = body[start:end]
    value[key] = values
    return {"id": region_id, "from_name": control, "to_name": cfg.TEXT, "type": kind, "value": value}


def _mention_results(mention: dict, body: str) -> list[dict]:
    s, e, rid = mention["start"], mention["end"], mention["id"]
    results = [
        _region(rid, cfg.ENTITY_LABEL, "labels", s, e, body, "labels", [mention["label"]]),
        _region(rid, cfg.ENTITY, "textarea", s, e, body, "text", [mention["entity"]]),
    ]
    if "kind" in mention:
        results.append(_region(rid, cfg.KIND, "choices", s, e, body, "choices", [mention["kind"]]))
    return results


def quote_region_ids(quote: dict) -> list[str]:
    """Region ids of a quote's content parts, in order: the quote id, then ``<id>~1``, ``<id>~2``..."""
    qid = quote["id"]
    return [qid] + [f"{qid}{SEP}{n}" for n in range(1, len(quote["content"]))]


def _quote_results(quote: dict, body: str, relations: dict[tuple[str, str], list[str]]) -> list[dict]:
    results = []
    parts = quote_region_ids(quote)
    head = parts[0]
    for rid, part in zip(parts, quote["content"]):
        results.append(_region(rid, cfg.QUOTE_PART, "labels", part["start"], part["end"], body, "labels", [cfg.QUOTE_CONTENT]))
        if rid != head:
            relations.setdefault((head, rid), []).append(cfg.PART)
    first = quote["content"][0]
    results.append(_region(head, cfg.QUOTE_TYPE, "choices", first["start"], first["end"], body, "choices", [quote["type"]]))
    for key, label, relation in ((("cue", cfg.QUOTE_CUE, cfg.CUE)), ("channel", cfg.QUOTE_CHANNEL, cfg.CHANNEL)):
        stretch = quote.get(key)
        if stretch:
            rid = f"{quote['id']}{SEP}{key}"
            results.append(_region(rid, cfg.QUOTE_PART, "labels", stretch["start"], stretch["end"], body, "labels", [label]))
            relations.setdefault((head, rid), []).append(relation)
    for key, relation in (("speaker", cfg.SPEAKER), ("addressee", cfg.ADDRESSEE)):
        if quote.get(key):
            relations.setdefault((head, quote[key]), []).append(relation)
    return results


def document_results(doc: dict, body: str, *, mentions: Iterable[dict] | None = None, quotes: Iterable[dict] | None = None) -> list[dict]:
    """Label Studio results for a document (or for the given subset of its items).

    Relations whose other end is not among the results are left out, so a
    subset (a prediction) never points at a missing region.  Two relations
    between the same ordered pair of regions are merged into one with two
    labels (Label Studio keeps only one per pair).
    """
    mentions = list(doc["mentions"] if mentions is None else mentions)
    quotes = list(doc["quotes"] if quotes is None else quotes)
    results: list[dict] = []
    relations: dict[tuple[str, str], list[str]] = {}
    for mention in mentions:
        results.extend(_mention_results(mention, body))
    for quote in quotes:
        results.extend(_quote_results(quote, body, relations))
    regions = {r["id"] for r in results}
    for (from_id, to_id), labels in relations.items():
        if from_id in regions and to_id in regions:
            results.append({"from_id": from_id, "to_id": to_id, "type": "relation", "direction": "right", "labels": labels})
    return results


def document_predictions(doc: dict, body: str) -> list[dict]:
    """One Label Studio prediction per ``modelVersion`` of the document's model-made items.

    The prediction's score is the lowest item score (items carry their own
    ``score`` too); a prediction without any scored item has no score.
    """
    by_version: dict[str, tuple[list[dict], list[dict]]] = {}
    for key in ("mentions", "quotes"):
        for item in doc[key]:
            if item.get("origin") == "model" and item.get("modelVersion"):
                pair = by_version.setdefault(item["modelVersion"], ([], []))
                pair[0 if key == "mentions" else 1].append(item)
    predictions = []
    for version, (mentions, quotes) in sorted(by_version.items()):
        results = document_results(doc, body, mentions=mentions, quotes=quotes)
        scores = {m["id"]: m["score"] for m in mentions if "score" in m}
        scores.update({q["id"]: q["score"] for q in quotes if "score" in q})
        for result in results:
            owner = result.get("id", "").split(SEP)[0]
            if owner in scores:
                result["score"] = scores[owner]
        prediction: dict[str, Any] = {"model_version": version, "result": results}
        if scores:
            prediction["score"] = min(scores.values())
        predictions.append(prediction)
    return predictions


def results_signature(results: list[dict]) -> str:
    """SHA-256 of what newscorpus reads from a result list, independent of order and display text.

    Two result lists with the same signature convert to the same document.
    """
    rows = []
    for r in results:
        if not isinstance(r, dict):
            rows.append(repr(r))
        elif r.get("type") == "relation":
            rows.append(repr(("relation", r.get("from_id"), r.get("to_id"), sorted(map(str, r.get("labels") or [])))))
        else:
            value = r.get("value") if isinstance(r.get("value"), dict) else {}
            payload = value.get("labels") or value.get("choices") or value.get("text") or []
            rows.append(repr((r.get("type"), r.get("id"), r.get("from_name"), value.get("start"), value.get("end"),
                              list(payload) if isinstance(payload, list) else payload)))
    rows.sort()
    return hashlib.sha256("\n".join(rows).encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------- results -> documents


@dataclass
class _Region:
    id: str
    start: int | None = None
    end: int | None = None
    entity_label: list[str] = field(default_factory=list)
    quote_part: list[str] = field(default_factory=list)
    entity: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    quote_type: list[str] = field(default_factory=list)
    index: int = 0


_VALUE_KEYS = {
    cfg.ENTITY_LABEL: "labels", cfg.QUOTE_PART: "labels", cfg.ENTITY: "text",
    cfg.KIND: "choices", cfg.QUOTE_TYPE: "choices",
}


@dataclass
class Conversion:
    """What :func:`annotation_document` made: the document (None if it could not) and the problems."""

    doc: dict | None
    problems: list[Problem]


def new_item_id(region_id: str, taken: set[str]) -> str:
    """An item id for a region Label Studio made: the region id if valid, else ``r`` + its letters and digits.

    >>> new_item_id("_x7-Qa", set())
    'r_x7-Qa'
    """
    kept = re.sub(r"[^A-Za-z0-9._:-]", "", region_id)[:120]
    candidate = region_id if ID_RE.match(region_id) else "r" + kept
    if not kept or not ID_RE.match(candidate):
        candidate = "r" + hashlib.sha256(region_id.encode("utf-8")).hexdigest()[:12]
    base, n = candidate, 2
    while candidate in taken:
        candidate, n = f"{base}.{n}", n + 1
    return candidate


class _Reader:
    """Turns one result list into mentions and quotes, collecting problems."""

    def __init__(self, results: list[dict], body: str, file: str):
        self.body = body
        self.file = file
        self.problems: list[Problem] = []
        self.regions: dict[str, _Region] = {}
        self.relations: list[tuple[str, str, str, int]] = []
        for index, result in enumerate(results):
            self._read(index, result)

    def problem(self, message: str, index: int | None = None) -> None:
        where = f"Label Studio result {index}: " if index is not None else ""
        self.problems.append(Problem("studio-result-invalid", self.file, "", where + message))

    def _read(self, index: int, result: Any) -> None:
        if not isinstance(result, dict):
            self.problem("not an object", index)
            return
        if result.get("type") == "relation":
            labels = result.get("labels") or []
            if not labels:
                self.problem(f"relation {result.get('from_id')} -> {result.get('to_id')} has no label", index)
            for label in labels:
                self.relations.append((str(result.get("from_id")), str(result.get("to_id")), label, index))
            return
        control = result.get("from_name")
        value = result.get("value")
        if control not in _VALUE_KEYS or not isinstance(value, dict) or not isinstance(result.get("id"), str):
            self.problem(f"unexpected result from {control!r}", index)
            return
        start, end = value.get("start"), value.get("end")
        if not (type(start) is int and type(end) is int and 0 <= start < end <= len(self.body)):
            self.problem(f"region {result['id']} has offsets {start}:{end}, not inside a body of {len(self.body)} code points", index)
            return
        region = self.regions.setdefault(result["id"], _Region(result["id"], start, end, index=index))
        if (region.start, region.end) != (start, end):
            self.problem(f"region {result['id']} has two different offsets", index)
            return
        values = value.get(_VALUE_KEYS[control]) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.problem(f"region {result['id']}: {control} is not a list of strings", index)
            return
        getattr(region, control).extend(v for v in values if v.strip())


def _single(values: list[str]) -> str | None:
    distinct = sorted(set(v.strip() for v in values))
    return distinct[0] if len(distinct) == 1 else None


def _quote_owner(region_id: str) -> str | None:
    """The quote id a region id of ours was derived from, if any."""
    if SEP in region_id:
        return region_id.split(SEP, 1)[0]
    return None


def _core_mention(m: dict) -> tuple:
    return (m["start"], m["end"], m["label"], m["entity"], m.get("kind"))


def _span_core(s: dict | None) -> tuple | None:
    return (s["start"], s["end"]) if s else None


def _core_quote(q: dict) -> tuple:
    return (
        q["type"],
        tuple(sorted(_span_core(p) for p in q["content"])),
        _span_core(q.get("cue")),
        q.get("speaker"),
        q.get("addressee"),
        _span_core(q.get("channel")),
    )


def annotation_document(
    results: list[dict],
    *,
    body: str,
    article_id: str,
    author: str,
    reference: dict | None = None,
    known_entities: dict[str, dict] | None = None,
    file: str = "",
) -> Conversion:
    """The annotation document a Label Studio result list stands for.

    ``reference`` is the document the results were made from (items equal to
    its items are kept exactly); ``author`` is the pseudonymous annotator of
    changed and new items; ``known_entities`` supplies entity records for
    entity ids the reference does not define.
    """
    reader = _Reader(results, body, file)
    reference = reference or {}
    ref_mentions = {m["id"]: m for m in reference.get("mentions", [])}
    ref_quotes = {q["id"]: q for q in reference.get("quotes", [])}
    known = dict(known_entities or {})
    known.update({e["id"]: e for e in reference.get("entities", [])})

    mention_regions: dict[str, _Region] = {}
    quote_regions: dict[str, _Region] = {}
    for region in reader.regions.values():
        if region.entity_label and region.quote_part:
            reader.problem(f"region {region.id} is both an entity mention and a quote part", region.index)
        elif region.entity_label:
            mention_regions[region.id] = region
        elif region.quote_part:
            quote_regions[region.id] = region
        else:
            reader.problem(f"region {region.id} has no label", region.index)

    taken: set[str] = set(ref_mentions) | set(ref_quotes)
    region_to_mention: dict[str, str] = {}
    # a region Label Studio made at the very offsets of a reference mention no region of ours holds takes its id
    free = {(m["start"], m["end"]): mid for mid, m in reversed(list(ref_mentions.items())) if mid not in mention_regions}
    for rid in sorted(mention_regions, key=lambda r: (r not in ref_mentions, mention_regions[r].index)):
        region = mention_regions[rid]
        if rid in ref_mentions:
            region_to_mention[rid] = rid
        elif (region.start, region.end) in free:
            region_to_mention[rid] = free.pop((region.start, region.end))
        else:
            region_to_mention[rid] = new_item_id(rid, taken)
        taken.add(region_to_mention[rid])

    mentions: dict[str, dict] = {}
    for rid, region in mention_regions.items():
        mid = region_to_mention[rid]
        label = _single(region.entity_label)
        if label is None:
            reader.problem(f"mention {rid} has several labels: {sorted(set(region.entity_label))}", region.index)
            continue
        entity = _single(region.entity) if region.entity else f"e-{mid}"[:128]
        if entity is None or not ID_RE.match(entity):
            reader.problem(f"mention {rid}: entity id {region.entity!r} is not one id (letters, digits, . _ : -)", region.index)
            continue
        kind = _single(region.kind) if region.kind else None
        mentions[mid] = {"start": region.start, "end": region.end, "label": label, "entity": entity, "kind": kind}

    quotes = _read_quotes(reader, quote_regions, mention_regions, region_to_mention, ref_quotes, taken)

    doc = _assemble(reader, body, article_id, author, reference, ref_mentions, ref_quotes, known, mentions, quotes)
    return Conversion(doc if not reader.problems else None, reader.problems)


def _components(nodes: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    parent = {n: n for n in nodes}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())


def _read_quotes(reader, quote_regions, mention_regions, region_to_mention, ref_quotes, taken) -> dict[str, dict]:
    content = {rid: r for rid, r in quote_regions.items() if _single(r.quote_part) == cfg.QUOTE_CONTENT}
    for rid, r in quote_regions.items():
        if _single(r.quote_part) is None:
            reader.problem(f"quote region {rid} has several labels: {sorted(set(r.quote_part))}", r.index)
    part_edges, links = [], []
    for a, b, label, index in reader.relations:
        if a not in reader.regions or b not in reader.regions:
            reader.problem(f"relation {label!r} points at a region that does not exist ({a} -> {b})", index)
        elif label == cfg.PART:
            if a in content and b in content:
                part_edges.append((a, b))
            else:
                reader.problem(f"relation 'part' must join two Quote regions ({a} -> {b})", index)
        elif label in cfg.RELATION_LABELS:
            links.append((a, b, label, index))
        else:
            reader.problem(f"unknown relation label {label!r}", index)

    groups = _components(sorted(content, key=lambda r: (content[r].start, content[r].end, r)), part_edges)
    group_of = {rid: n for n, group in enumerate(groups) for rid in group}
    found: list[dict[str, Any]] = [{"regions": g, "cue": [], "channel": [], "speaker": [], "addressee": []} for g in groups]

    attached: set[str] = set()
    for a, b, label, index in links:
        pair = [(a, b), (b, a)]
        if label in (cfg.SPEAKER, cfg.ADDRESSEE):
            match = [(q, m) for q, m in pair if q in content and m in mention_regions]
            if not match:
                reader.problem(f"relation {label!r} must join a Quote region and an entity mention ({a} -> {b})", index)
                continue
            q, m = match[0]
            found[group_of[q]][label].append(region_to_mention[m])
        else:
            role = cfg.QUOTE_CUE if label == cfg.CUE else cfg.QUOTE_CHANNEL
            match = [(q, o) for q, o in pair if q in content and o in quote_regions and _single(quote_regions[o].quote_part) == role]
            if not match:
                reader.problem(f"relation {label!r} must join a Quote region and a {role} region ({a} -> {b})", index)
                continue
            q, o = match[0]
            found[group_of[q]][label].append(o)
            attached.add(o)
    for rid, r in quote_regions.items():
        if _single(r.quote_part) in (cfg.QUOTE_CUE, cfg.QUOTE_CHANNEL) and rid not in attached:
            reader.problem(f"{r.quote_part[0]} region {rid} is not linked to any Quote region", r.index)

    quotes: dict[str, dict] = {}
    used: set[str] = set()
    ours = {rid if rid in ref_quotes else _quote_owner(rid) for rid in content}
    free = {tuple(sorted(_span_core(p) for p in q["content"])): qid
            for qid, q in reversed(list(ref_quotes.items())) if qid not in ours}
    for group in found:
        regions = sorted(group["regions"], key=lambda r: (content[r].start, content[r].end, r))
        spans = tuple((content[r].start, content[r].end) for r in regions)
        qid = free.pop(spans) if spans in free and not ours & set(regions) else _quote_id(regions, ref_quotes, used, taken)
        used.add(qid)
        taken.add(qid)
        types = [t for r in regions for t in content[r].quote_type]
        qtype = _single(types)
        if qtype is None:
            reader.problem(f"quote {qid} needs exactly one quote type (has {sorted(set(types)) or 'none'})", content[regions[0]].index)
            continue
        record: dict[str, Any] = {"type": qtype, "content": [(content[r].start, content[r].end) for r in regions]}
        for key in ("cue", "channel"):
            distinct = sorted(set(group[key]))
            if len(distinct) > 1:
                reader.problem(f"quote {qid} has {len(distinct)} {key} regions", content[regions[0]].index)
            record[key] = (quote_regions[distinct[0]].start, quote_regions[distinct[0]].end) if distinct else None
        for key in ("speaker", "addressee"):
            distinct = sorted(set(group[key]))
            if len(distinct) > 1:
                reader.problem(f"quote {qid} has {len(distinct)} {key}s: {distinct}", content[regions[0]].index)
            record[key] = distinct[0] if distinct else None
        quotes[qid] = record
    return quotes


def _quote_id(regions: list[str], ref_quotes: dict, used: set[str], taken: set[str]) -> str:
    """The quote id of a group of content regions: the first id of ours among them, else a new one."""
    for rid in regions:
        owner = rid if rid in ref_quotes else _quote_owner(rid)
        if owner and owner not in used and ID_RE.match(owner):
            return owner
    return new_item_id(regions[0], taken | used)


def _with_span(item: dict, key: str, value: tuple | None, body: str) -> None:
    if value is None:
        if key in item:
            item[key] = None
        return
    old = item.get(key)
    if old and _span_core(old) == value:
        return
    item[key] = span(body, *value)


def _assemble(reader, body, article_id, author, reference, ref_mentions, ref_quotes, known, mentions, quotes) -> dict:
    human = {"annotator": author, "origin": "human"}
    out_mentions = []
    order = [mid for mid in ref_mentions if mid in mentions] + sorted(
        (mid for mid in mentions if mid not in ref_mentions), key=lambda m: (mentions[m]["start"], mentions[m]["end"], m)
    )
    for mid in order:
        m = mentions[mid]
        ref = ref_mentions.get(mid)
        if ref is not None and _core_mention(ref) == (m["start"], m["end"], m["label"], m["entity"], m["kind"]):
            out_mentions.append(ref)
            continue
        item = dict(ref) if ref else {"id": mid}
        if not ref or _span_core(ref) != (m["start"], m["end"]):
            item.update(span(body, m["start"], m["end"]))
        item["label"] = m["label"]
        if m["kind"] is None:
            item.pop("kind", None)
        else:
            item["kind"] = m["kind"]
        item["entity"] = m["entity"]
        item.pop("modelVersion", None)
        item.pop("score", None)
        item.update(human)
        out_mentions.append(_ordered(item, _MENTION_KEYS))
    mention_ids = {m["id"] for m in out_mentions}

    out_quotes = []
    order = [qid for qid in ref_quotes if qid in quotes] + [qid for qid in sorted(quotes, key=lambda q: (quotes[q]["content"][0], q)) if qid not in ref_quotes]
    for qid in order:
        q = quotes[qid]
        ref = ref_quotes.get(qid)
        core = (q["type"], tuple(sorted(q["content"])), q["cue"], q["speaker"], q["addressee"], q["channel"])
        if ref is not None and _core_quote(ref) == core:
            out_quotes.append(ref)
            continue
        item = dict(ref) if ref else {"id": qid, "type": q["type"]}
        item["type"] = q["type"]
        if not ref or tuple(_span_core(p) for p in ref["content"]) != tuple(q["content"]):
            item["content"] = [span(body, s, e) for s, e in q["content"]]
        if q["cue"] is None:
            item["cue"] = None
        else:
            _with_span(item, "cue", q["cue"], body)
        item["speaker"] = q["speaker"]
        for key in ("addressee",):
            if q[key] is not None or key in item:
                item[key] = q[key]
        _with_span(item, "channel", q["channel"], body)
        item.pop("modelVersion", None)
        item.pop("score", None)
        item.update(human)
        out_quotes.append(_ordered(item, _QUOTE_KEYS))

    for q in out_quotes:
        for key in ("speaker", "addressee"):
            if q.get(key) and q[key] not in mention_ids:
                reader.problem(f"quote {q['id']}: {key} {q[key]} is not a mention")

    entities = _entities(reference, out_mentions, known)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "article": {"id": article_id, "bodySha256": body_sha256(body)},
        "entities": entities,
        "mentions": out_mentions,
        "quotes": out_quotes,
    }


_MENTION_KEYS = ("id", "start", "end", "text", "prefix", "suffix", "label", "kind", "entity", "annotator", "origin", "modelVersion", "score")
_QUOTE_KEYS = ("id", "type", "content", "cue", "speaker", "addressee", "channel", "sameAs", "annotator", "origin", "modelVersion", "score")


def _ordered(item: dict, keys: tuple[str, ...]) -> dict:
    """``item`` with its keys in schema order (unknown keys last, as they were)."""
    out = {k: item[k] for k in keys if k in item}
    out.update({k: v for k, v in item.items() if k not in out})
    return out


def _entities(reference: dict, mentions: list[dict], known: dict[str, dict]) -> list[dict]:
    used = {m["entity"] for m in mentions}
    before = {m["entity"] for m in reference.get("mentions", [])}
    entities = [e for e in reference.get("entities", []) if e["id"] in used or e["id"] not in before]
    have = {e["id"] for e in entities}
    for m in sorted(mentions, key=lambda m: (m["start"], m["end"], m["id"])):
        if m["entity"] in have:
            continue
        have.add(m["entity"])
        entities.append(dict(known[m["entity"]]) if m["entity"] in known else {"id": m["entity"], "name": m["text"], "label": m["label"]})
    return entities


# --------------------------------------------------------------------------- checks


def document_problems(doc: Any, file: str, body: str | None) -> list[Problem]:
    """Schema and semantic problems of one annotation document (the checks pull runs before writing).

    Uses :func:`newscorpus.validate.document_problems` when that module is
    present, else the minimal checks below.
    """
    try:
        from newscorpus.validate import document_problems as full
    except ImportError:
        return _minimal_problems(doc, file, body)
    return full(doc, file, body)


def _minimal_problems(doc: Any, file: str, body: str | None) -> list[Problem]:
    from newscorpus.schemas import schema_problems

    problems = list(schema_problems(doc, "annotation", file))
    if problems or body is None:
        return problems
    seen: set[str] = set()
    for key in ("mentions", "quotes"):
        for i, item in enumerate(doc[key]):
            if item["id"] in seen:
                problems.append(Problem("id-duplicate", file, pointer(key, i, "id"), f"id {item['id']} is used twice"))
            seen.add(item["id"])
    stretches = [(("mentions", i), m) for i, m in enumerate(doc["mentions"])]
    for i, q in enumerate(doc["quotes"]):
        stretches += [(("quotes", i, "content", j), p) for j, p in enumerate(q["content"])]
        stretches += [(("quotes", i, k), q[k]) for k in ("cue", "channel") if q.get(k)]
    for parts, s in stretches:
        if not s["start"] < s["end"]:
            problems.append(Problem("span-inverted", file, pointer(*parts), f"{s['start']}:{s['end']}"))
        elif s["end"] > len(body):
            problems.append(Problem("span-out-of-bounds", file, pointer(*parts), f"ends at {s['end']}, body has {len(body)} code points"))
        elif body[s["start"]:s["end"]] != s["text"]:
            problems.append(Problem("span-text-mismatch", file, pointer(*parts, "text"), f"{s['text']!r} is not {body[s['start']:s['end']]!r}"))
    entity_ids = {e["id"] for e in doc["entities"]}
    mention_ids = {m["id"] for m in doc["mentions"]}
    for i, m in enumerate(doc["mentions"]):
        if m["entity"] not in entity_ids:
            problems.append(Problem("entity-unknown", file, pointer("mentions", i, "entity"), f"no entity {m['entity']}"))
    for i, q in enumerate(doc["quotes"]):
        for key, code in (("speaker", "speaker-unknown"), ("addressee", "addressee-unknown")):
            if q.get(key) and q[key] not in mention_ids:
                problems.append(Problem(code, file, pointer("quotes", i, key), f"no mention {q[key]}"))
    if doc["article"]["bodySha256"] != body_sha256(body):
        problems.append(Problem("annotation-stale", file, "/article/bodySha256", "the body changed since the annotations were made"))
    return problems
