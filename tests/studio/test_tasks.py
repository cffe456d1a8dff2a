"""The pure conversions: documents -> Label Studio results -> documents, exactly."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newscorpus import SCHEMA_VERSION
from newscorpus.jsonio import dumps
from newscorpus.spans import body_sha256, span
from newscorpus.studio import config as cfg
from newscorpus.studio.tasks import (
    annotation_document,
    document_predictions,
    document_problems,
    document_results,
    new_item_id,
    results_signature,
)

from .helpers import TRICKY_BODY, tricky_gold

# Code points that break offset arithmetic somewhere: astral emoji, ZWJ, skin tone, regional
# indicators, combining marks, CR/LF, markup characters.
ALPHABET = list("ab xyz.,\"'&<>*_") + ["\r\n", "\n", "\r", "\u0301", "\u200d", "\U0001F600", "\U0001F3FB",
                                      "\U0001F1F0", "\U0001F468", "\u00e9", "\u4e2d", "\t", "  "]
LABELS = ["PERSON", "ORG", "GPE", "NORP"]


def _clash(a: dict, b: dict) -> bool:
    """Whether two mentions have one span, or are names one inside the other (mention-duplicate, mention-nested)."""
    if (a["start"], a["end"]) == (b["start"], b["end"]):
        return True
    names = a.get("kind", "name") == "name" and b.get("kind", "name") == "name"
    return names and (a["start"] <= b["start"] and b["end"] <= a["end"] or b["start"] <= a["start"] and a["end"] <= b["end"])


@st.composite
def documents(draw):
    """A valid annotation document over a random body (ids m<n>/q<n>, random spans, every optional field)."""
    body = "".join(draw(st.lists(st.sampled_from(ALPHABET), min_size=4, max_size=60)))
    n = len(body)

    def stretch():
        start = draw(st.integers(0, n - 1))
        end = draw(st.integers(start + 1, n))
        return span(body, start, end)  # schema 1.1.0: every span carries its selector

    def who(item):
        if draw(st.booleans()):
            item.update(annotator="model-x", origin="model", modelVersion=draw(st.sampled_from(["v1", "v2"])))
            if draw(st.booleans()):
                item["score"] = draw(st.floats(0, 1))
        else:
            item.update(annotator=draw(st.sampled_from(["ann-01", "ann-02"])), origin="human")
        return item

    entities = [{"id": f"e{i}", "name": f"Entity {i}", "label": draw(st.sampled_from(LABELS))}
                for i in range(draw(st.integers(1, 3)))]
    mentions = []
    for i in range(draw(st.integers(0, 4))):
        m = {"id": f"m{i}", **stretch(), "label": draw(st.sampled_from(LABELS)),
             "entity": draw(st.sampled_from([e["id"] for e in entities]))}
        if draw(st.booleans()):
            m["kind"] = draw(st.sampled_from(cfg.mention_kinds()))
        if not any(_clash(m, other) for other in mentions):  # a valid document: no duplicate span, no nested names
            mentions.append(who(m))
    used = {m["entity"] for m in mentions}
    entities = [e for e in entities if e["id"] in used] or ([] if mentions else [])
    quotes = []
    mention_ids = [m["id"] for m in mentions]
    for i in range(draw(st.integers(0, 3))):
        parts = sorted({(s["start"], s["end"]): s for s in [stretch() for _ in range(draw(st.integers(1, 3)))]}.items())
        q = {"id": f"q{i}", "type": draw(st.sampled_from(cfg.quote_types())), "content": [p for _, p in parts],
             "cue": stretch() if draw(st.booleans()) else None,
             "speaker": draw(st.sampled_from(mention_ids)) if mention_ids and draw(st.booleans()) else None}
        for key in ("addressee",):
            choice = draw(st.sampled_from(["absent", "null", "set"]))
            if choice == "null" or (choice == "set" and not mention_ids):
                q[key] = None
            elif choice == "set":
                q[key] = draw(st.sampled_from(mention_ids))
        choice = draw(st.sampled_from(["absent", "null", "set"]))
        if choice != "absent":
            q["channel"] = stretch() if choice == "set" else None
        if draw(st.booleans()):
            q["sameAs"] = [{"article": "b", "quote": "q1"}]
        quotes.append(who(q))
    doc = {"schemaVersion": SCHEMA_VERSION, "article": {"id": "a1", "bodySha256": body_sha256(body)},
           "entities": entities, "mentions": mentions, "quotes": quotes}
    return doc, body


def core(doc: dict) -> tuple:
    """What Label Studio carries of a document."""
    mentions = sorted((m["id"], m["start"], m["end"], m["label"], m["entity"], m.get("kind")) for m in doc["mentions"])
    quotes = sorted(
        (q["id"], q["type"], tuple((p["start"], p["end"]) for p in q["content"]),
         (q["cue"]["start"], q["cue"]["end"]) if q["cue"] else None, q["speaker"], q.get("addressee"),
         (q["channel"]["start"], q["channel"]["end"]) if q.get("channel") else None)
        for q in doc["quotes"])
    return mentions, quotes


def server_copy(results: list[dict]) -> list[dict]:
    """Results as they come back from the server: JSON, display text trimmed as the Text view does."""
    copied = json.loads(json.dumps(results))
    for result in copied:
        if "text" in result.get("value", {}) and result["type"] == "labels":
            result["value"]["text"] = result["value"]["text"].strip()
    return copied


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_document_survives_results_exactly(case):
    doc, body = case
    assert document_problems(doc, "a1.json", body) == []
    results = server_copy(document_results(doc, body))
    back = annotation_document(results, body=body, article_id="a1", author="ann-zz", reference=doc)
    assert back.problems == []
    assert dumps(back.doc) == dumps(doc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_without_reference_everything_label_studio_holds_comes_back(case):
    doc, body = case
    back = annotation_document(server_copy(document_results(doc, body)), body=body, article_id="a1", author="ann-zz")
    assert back.problems == []
    assert core(back.doc) == core(doc)
    assert document_problems(back.doc, "a1.json", body) == []
    assert all(item["annotator"] == "ann-zz" and item["origin"] == "human" for item in back.doc["mentions"] + back.doc["quotes"])


def test_every_region_of_a_rich_document_has_exact_code_point_offsets():
    doc = tricky_gold("a1")
    for result in document_results(doc, TRICKY_BODY):
        if result["type"] == "labels":
            value = result["value"]
            assert value["text"] == TRICKY_BODY[value["start"]:value["end"]]


def test_relations_between_one_pair_are_merged_into_one_with_both_labels():
    body = "Kim told himself: go."
    doc = {"schemaVersion": SCHEMA_VERSION, "article": {"id": "a", "bodySha256": body_sha256(body)},
           "entities": [{"id": "kim", "name": "Kim", "label": "PERSON"}],
           "mentions": [{"id": "m1", **span(body, 0, 3), "label": "PERSON", "entity": "kim", "annotator": "a", "origin": "human"}],
           "quotes": [{"id": "q1", "type": "direct", "content": [span(body, 18, 21)], "cue": span(body, 4, 8),
                       "speaker": "m1", "addressee": "m1", "annotator": "a", "origin": "human"}]}
    relations = [r for r in document_results(doc, body) if r["type"] == "relation" and r["to_id"] == "m1"]
    assert relations == [{"from_id": "q1", "to_id": "m1", "type": "relation", "direction": "right", "labels": ["speaker", "addressee"]}]
    back = annotation_document(document_results(doc, body), body=body, article_id="a", author="x", reference=doc)
    assert back.doc == doc


def test_relation_direction_does_not_matter():
    doc = tricky_gold("a1")
    results = document_results(doc, TRICKY_BODY)
    for result in results:
        if result["type"] == "relation":
            result["from_id"], result["to_id"] = result["to_id"], result["from_id"]
            result["direction"] = "left"
    back = annotation_document(results, body=TRICKY_BODY, article_id="a1", author="x", reference=doc)
    assert back.doc == doc


def test_predictions_group_model_items_by_version_with_scores():
    doc = tricky_gold("a1")
    predictions = document_predictions(doc, TRICKY_BODY)
    assert [p["model_version"] for p in predictions] == ["quotes-0.1", "spacy-3.7"]
    assert [p["score"] for p in predictions] == [0.5, 0.91]
    quotes = predictions[0]["result"]
    # the model quote's speaker is a model mention of another version: the relation is left out, not dangling
    regions = {r["id"] for r in quotes if "id" in r}
    assert all(r["from_id"] in regions and r["to_id"] in regions for r in quotes if r["type"] == "relation")
    assert {r["id"] for r in predictions[1]["result"]} == {"m5"}


def test_signature_ignores_order_and_display_text():
    results = document_results(tricky_gold("a1"), TRICKY_BODY)
    assert results_signature(list(reversed(server_copy(results)))) == results_signature(results)
    changed = server_copy(results)
    changed[0]["value"]["labels"] = ["GPE"]
    assert results_signature(changed) != results_signature(results)


@pytest.mark.parametrize("region_id, taken, expected", [
    ("Xq3-Zp_9aB", set(), "Xq3-Zp_9aB"),
    ("_x7-Qa", set(), "r_x7-Qa"),
    ("m1", {"m1"}, "m1.2"),
    ("~~~", set(), "r" + __import__("hashlib").sha256(b"~~~").hexdigest()[:12]),
])
def test_new_item_ids_are_valid_and_unique(region_id, taken, expected):
    assert new_item_id(region_id, taken) == expected


def _labels(rid, control, start, end, key, values, kind="labels"):
    return {"id": rid, "from_name": control, "to_name": "text", "type": kind, "value": {"start": start, "end": end, key: values}}


@pytest.mark.parametrize("results, message", [
    ([_labels("r1", cfg.QUOTE_PART, 0, 4, "labels", ["Quote"])], "needs exactly one quote type"),
    ([_labels("r1", cfg.ENTITY_LABEL, 0, 4, "labels", ["PERSON"]),
      {"from_id": "r1", "to_id": "gone", "type": "relation", "direction": "right", "labels": ["speaker"]}], "does not exist"),
    ([_labels("r1", cfg.ENTITY_LABEL, 0, 99, "labels", ["PERSON"])], "not inside a body"),
    ([_labels("r1", cfg.ENTITY_LABEL, 0, 4, "labels", ["PERSON", "ORG"])], "several labels"),
    ([_labels("r1", cfg.QUOTE_PART, 0, 4, "labels", ["Cue"])], "not linked"),
    ([_labels("r1", cfg.ENTITY_LABEL, 0, 4, "labels", ["PERSON"]), _labels("r1", cfg.ENTITY, 0, 4, "text", ["not an id!"], "textarea")],
     "is not one id"),
    ([_labels("r1", cfg.ENTITY_LABEL, 0, 4, "labels", ["PERSON"]), _labels("r2", cfg.ENTITY_LABEL, 5, 8, "labels", ["PERSON"]),
      {"from_id": "r1", "to_id": "r2", "type": "relation", "direction": "right", "labels": ["speaker"]}], "must join a Quote region"),
    ([_labels("r1", cfg.ENTITY_LABEL, 0, 4, "labels", ["PERSON"]), _labels("r2", cfg.ENTITY_LABEL, 5, 8, "labels", ["PERSON"]),
      {"from_id": "r1", "to_id": "r2", "type": "relation", "direction": "right", "labels": []}], "has no label"),
])
def test_unreadable_annotations_are_problems_not_guesses(results, message):
    conversion = annotation_document(results, body="Lavrov said so", article_id="a", author="x")
    assert conversion.doc is None
    assert [p.code for p in conversion.problems] and {p.code for p in conversion.problems} == {"studio-result-invalid"}
    assert any(message in p.message for p in conversion.problems), [p.message for p in conversion.problems]


def test_a_new_mention_without_entity_gets_its_own_entity_named_after_its_text():
    results = [_labels("Xq3", cfg.ENTITY_LABEL, 0, 6, "labels", ["PERSON"])]
    doc = annotation_document(results, body="Lavrov said", article_id="a", author="ann-1").doc
    assert doc["entities"] == [{"id": "e-Xq3", "name": "Lavrov", "label": "PERSON"}]
    assert doc["mentions"][0]["entity"] == "e-Xq3"


@pytest.mark.parametrize(("text", "code"), [("Sergei Lavrov", "mention-duplicate"), ("Sergei", "mention-nested")])
def test_a_pull_of_a_duplicate_or_nested_name_region_is_reported_before_anything_is_written(text, code):
    """Label Studio lets two regions cover one stretch; pull converts each to a mention and validates the
    documents (newscorpus.validate.document_problems) before writing any, so it reports these and writes nothing."""
    doc = tricky_gold("a1")
    start = TRICKY_BODY.index(text)
    doc["mentions"].append({**doc["mentions"][0], "id": "m9", **span(TRICKY_BODY, start, start + len(text))})
    back = annotation_document(server_copy(document_results(doc, TRICKY_BODY)), body=TRICKY_BODY, article_id="a1",
                               author="ann-zz", reference=doc)
    assert back.problems == [] and len(back.doc["mentions"]) == len(doc["mentions"])
    assert [(p.code, p.pointer) for p in document_problems(back.doc, "a1.json", TRICKY_BODY)] == [(code, "/mentions/5")]
