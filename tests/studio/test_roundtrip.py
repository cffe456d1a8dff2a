"""Push and pull against a real Label Studio: byte-identical without edits, exact with edits."""

from __future__ import annotations

import copy
import json

import pytest

from newscorpus.corpus import CorpusLayout
from newscorpus.jsonio import dumps
from newscorpus.spans import span
from newscorpus.studio import config as cfg
from newscorpus.studio.sync import GOLD_MARK, pseudonym, pull, push

from .helpers import TRICKY_BODY, article, find, snapshot, tricky_gold, write_gold

pytestmark = pytest.mark.studio


@pytest.fixture
def corpus(tmp_path):
    """A corpus of three articles: one with a rich gold document, one with a small one, one without."""
    layout = CorpusLayout(tmp_path / "corpus")
    plain = "Putin met Kim.\r\nNo one said anything & nothing > 0."
    articles = {
        "a1": article("a1", TRICKY_BODY),
        "a2": article("a2", plain, headline="<script>alert(1)</script>"),
        "a3": article("a3", "No gold here \U0001F600."),
    }
    write_gold(layout, tricky_gold("a1"))
    small = tricky_gold("a2", body=TRICKY_BODY)
    small["article"]["bodySha256"] = __import__("newscorpus.spans", fromlist=["x"]).body_sha256(plain)
    small.update(entities=[{"id": "putin", "name": "Vladimir Putin", "label": "PERSON"}],
                 mentions=[{"id": "m1", **span(plain, 0, 5), "label": "PERSON", "entity": "putin",
                            "annotator": "ann-01", "origin": "human"}], quotes=[])
    write_gold(layout, small)
    return layout, articles


def _task(studio, project_id, article_id):
    return next(t for t in studio.export(project_id) if t["data"]["article_id"] == article_id)


def _pushed(task):
    return next(a for a in task["annotations"] if a["import_id"] == GOLD_MARK)


def test_push_twice_then_pull_without_edits_changes_no_byte(label_studio, corpus, tmp_path, project_title):
    layout, articles = corpus
    studio, state = label_studio.studio(), tmp_path / ".studio"
    before = snapshot(layout.root / "annotations")

    first = push(layout, articles, studio, state, title=project_title)
    second = push(layout, articles, studio, state, title=project_title)
    assert (sorted(first.created), first.problems) == (["a1", "a2", "a3"], [])
    assert (second.created, second.updated, second.unchanged, second.problems) == ([], [], 3, [])
    exported = studio.export(first.project)
    assert sorted(t["data"]["article_id"] for t in exported) == ["a1", "a2", "a3"]

    task = _task(studio, first.project, "a1")
    assert task["data"]["text"] == TRICKY_BODY
    predictions = sorted(studio.sdk.predictions.list(task=task["id"]), key=lambda p: p.model_version)
    assert [(p.model_version, p.score) for p in predictions] == [("quotes-0.1", 0.5), ("spacy-3.7", 0.91)]
    assert _pushed(task)["ground_truth"] is False

    report = pull(layout, studio, state, title=project_title)
    assert (report.problems, report.conflicts, report.changes, report.written) == ([], [], [], True)
    assert snapshot(layout.root / "annotations") == before

    # a lost sync state changes nothing either: push finds its tasks on the server, pull its files
    (state / "sync").rename(tmp_path / "old-sync")
    again = push(layout, articles, studio, state, title=project_title)
    assert (again.created, again.problems) == ([], [])
    assert len(studio.export(first.project)) == 3
    assert pull(layout, studio, state, title=project_title).changes == []
    assert snapshot(layout.root / "annotations") == before


def _region(rid, control, body, start, end, key, values, kind="labels"):
    value = {"start": start, "end": end, key: values}
    if kind == "labels":
        value["text"] = body[start:end].strip()
    return {"id": rid, "from_name": control, "to_name": "text", "type": kind, "value": value}


def _relation(a, b, label, direction="right"):
    return {"from_id": a, "to_id": b, "type": "relation", "direction": direction, "labels": [label]}


def test_annotator_edits_come_back_exactly(label_studio, corpus, tmp_path, project_title):
    layout, articles = corpus
    studio, state = label_studio.studio(), tmp_path / ".studio"
    gold = tricky_gold("a1")
    pushed = push(layout, articles, studio, state, title=project_title)
    annotation = _pushed(_task(studio, pushed.project, "a1"))
    body = TRICKY_BODY
    results = copy.deepcopy(annotation["result"])

    # delete mention m2 (its regions and anything hanging on it)
    results = [r for r in results if r.get("id") != "m2" and "m2" not in (r.get("from_id"), r.get("to_id"))]
    for r in results:
        # change a label: m3 PERSON -> ORG
        if r.get("id") == "m3" and r["from_name"] == cfg.ENTITY_LABEL:
            r["value"]["labels"] = ["ORG"]
        # change a quote's type: q1 direct -> mixed
        if r.get("id") == "q1" and r["from_name"] == cfg.QUOTE_TYPE:
            r["value"]["choices"] = ["mixed"]
        # relink a speaker: q2 m3 -> m4
        if r.get("type") == "relation" and r["from_id"] == "q2" and r["to_id"] == "m3":
            r["to_id"] = "m4"
    # add a mention with a new entity, as the editor makes it (random region id, trimmed text)
    moscow = find(body, "MOSCOW")
    results += [_region("aB3-x_9ZkQ", cfg.ENTITY_LABEL, body, *moscow, "labels", ["GPE"]),
                _region("aB3-x_9ZkQ", cfg.ENTITY, body, *moscow, "text", ["moscow"], kind="textarea")]
    # add a two-part quote: relations drawn backwards, the type on the second part
    part1, part2 = find(body, "The <u>Kremlin</u>"), find(body, "it.")
    cue = find(body, "**confirmed**")
    results += [_region("Pa1aaaaaaa", cfg.QUOTE_PART, body, *part1, "labels", ["Quote"]),
                _region("Pb2bbbbbbb", cfg.QUOTE_PART, body, *part2, "labels", ["Quote"]),
                _region("Pb2bbbbbbb", cfg.QUOTE_TYPE, body, *part2, "choices", ["indirect"], kind="choices"),
                _region("Cc3ccccccc", cfg.QUOTE_PART, body, *cue, "labels", ["Cue"]),
                _relation("Pb2bbbbbbb", "Pa1aaaaaaa", "part", direction="left"),
                _relation("Cc3ccccccc", "Pa1aaaaaaa", "cue"),
                _relation("aB3-x_9ZkQ", "Pb2bbbbbbb", "speaker")]
    studio.sdk.annotations.update(annotation["id"], result=results)

    report = pull(layout, studio, state, title=project_title)
    assert (report.problems, report.conflicts) == ([], [])
    who = pseudonym(label_studio.username)
    human = {"annotator": who, "origin": "human"}
    m = {x["id"]: x for x in gold["mentions"]}
    q = {x["id"]: x for x in gold["quotes"]}
    expected = copy.deepcopy(gold)
    expected["entities"] = [e for e in gold["entities"] if e["id"] != "kremlin"] + [
        {"id": "moscow", "name": "MOSCOW", "label": "GPE"}]
    expected["mentions"] = [
        m["m1"], {**m["m3"], "label": "ORG", **human}, m["m4"], m["m5"],
        {"id": "aB3-x_9ZkQ", **span(body, *moscow), "label": "GPE", "entity": "moscow", **human},
    ]
    expected["quotes"] = [
        {**q["q1"], "type": "mixed", **human}, {**q["q2"], "speaker": "m4", **human}, q["q3"],
        {"id": "Pa1aaaaaaa", "type": "indirect", "content": [span(body, *part1), span(body, *part2)],
         "cue": span(body, *cue), "speaker": "aB3-x_9ZkQ", **human},
    ]
    written = json.loads((layout.gold_dir / "a1.json").read_text(encoding="utf-8"))
    assert written == expected
    assert (layout.gold_dir / "a1.json").read_text(encoding="utf-8") == dumps(written)
    assert [(c.file, c.added, c.changed, c.removed) for c in report.changes] == [(
        "corpus/annotations/gold/a1.json",
        ["entity moscow", "mention aB3-x_9ZkQ", "quote Pa1aaaaaaa"],
        ["mention m3", "quote q1", "quote q2"],
        ["entity kremlin", "mention m2"],
    )]
    # the pushed gold was edited, not replaced: no annotator set appears
    assert not layout.annotators_dir.exists()
    # and pulling again is a no-op
    assert pull(layout, studio, state, title=project_title).changes == []


def test_several_annotators_are_kept_apart_and_the_gold_rule_holds(label_studio, corpus, tmp_path, project_title):
    layout, articles = corpus
    studio, state = label_studio.studio(), tmp_path / ".studio"
    pushed = push(layout, articles, studio, state, title=project_title)
    task = _task(studio, pushed.project, "a2")
    body = task["data"]["text"]
    users = {}
    for name in ("bob", "carol", "dave"):
        email = f"{name}-{project_title[:4]}@example.org"
        users[name] = studio.sdk.users.create(email=email, username=email, password="x" * 12 + name).id

    def annotate(user, start, end, label, **flags):
        result = [_region("r" + user.__str__(), cfg.ENTITY_LABEL, body, start, end, "labels", [label]),
                  _region("r" + user.__str__(), cfg.ENTITY, body, start, end, "text", ["putin"], kind="textarea")]
        return studio.sdk.annotations.create(task["id"], result=result, completed_by=user, **flags).id

    bob = annotate(users["bob"], 0, 5, "PERSON")
    annotate(users["carol"], 10, 13, "PERSON")
    annotate(users["dave"], 0, 5, "ORG", was_cancelled=True)

    report = pull(layout, studio, state, title=project_title)
    assert report.problems == []
    sets = {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in layout.annotators_dir.glob("*/a2.json")}
    email = {name: studio.sdk.users.get(uid).email for name, uid in users.items()}
    assert set(sets) == {pseudonym(email["bob"]), pseudonym(email["carol"])}  # dave cancelled: ignored
    assert all("@" not in json.dumps(doc) for doc in sets.values())
    assert [m["annotator"] for m in sets[pseudonym(email["carol"])]["mentions"]] == [pseudonym(email["carol"])]
    # each set is what `newscorpus agreement` compares
    from newscorpus.cli import main

    sets_dirs = [str(layout.annotators_dir / pseudonym(email[name])) for name in ("bob", "carol")]
    assert main(["agreement", *sets_dirs, "--format", "json"]) == 0
    # gold: the latest annotation (carol's), with the pushed mention 'putin' at 0:5 gone
    gold = json.loads((layout.gold_dir / "a2.json").read_text(encoding="utf-8"))
    assert [(m["start"], m["end"]) for m in gold["mentions"]] == [(10, 13)]

    # a reviewer marks bob's as ground truth: it becomes gold (the reviewer is not its author)
    studio.sdk.annotations.update(bob, ground_truth=True)
    report = pull(layout, studio, state, title=project_title)
    gold = json.loads((layout.gold_dir / "a2.json").read_text(encoding="utf-8"))
    assert [(m["id"], m["start"], m["end"], m["annotator"]) for m in gold["mentions"]] == [
        (f"r{users['bob']}", 0, 5, pseudonym(email["bob"]))]
    assert [(c.added, c.removed) for c in report.changes] == [([f"mention r{users['bob']}"], [f"mention r{users['carol']}"])]


def test_a_file_changed_on_both_sides_is_never_overwritten(label_studio, corpus, tmp_path, project_title):
    layout, articles = corpus
    studio, state = label_studio.studio(), tmp_path / ".studio"
    pushed = push(layout, articles, studio, state, title=project_title)
    annotation = _pushed(_task(studio, pushed.project, "a2"))
    result = annotation["result"]
    for r in result:
        if r["from_name"] == cfg.ENTITY_LABEL:
            r["value"]["labels"] = ["NORP"]
    studio.sdk.annotations.update(annotation["id"], result=result)
    path = layout.gold_dir / "a2.json"
    local = json.loads(path.read_text(encoding="utf-8"))
    local["entities"][0]["name"] = "Vladimir V. Putin"
    path.write_text(dumps(local), encoding="utf-8")
    before = snapshot(layout.root)

    stopped = pull(layout, studio, state, title=project_title)
    assert [c.code for c in stopped.conflicts] == ["studio-conflict"] and not stopped.written
    assert snapshot(layout.root) == before

    beside = pull(layout, studio, state, title=project_title, on_conflict="beside")
    assert beside.written
    assert path.read_bytes() == before["annotations/gold/a2.json"]
    theirs = json.loads((layout.gold_dir / "a2.json.studio").read_text(encoding="utf-8"))
    assert theirs["mentions"][0]["label"] == "NORP"

    # merged by hand: both sides agree on the labels, the entity name is a local change; pull keeps it
    local["mentions"][0]["label"] = "NORP"
    path.write_text(dumps(local), encoding="utf-8")
    assert push(layout, articles, studio, state, title=project_title).problems == []
    assert pull(layout, studio, state, title=project_title).changes == []
    assert json.loads(path.read_text(encoding="utf-8")) == local

    # a later local change goes to Label Studio, since Label Studio did not change again
    local["mentions"][0]["label"] = "ORG"
    path.write_text(dumps(local), encoding="utf-8")
    assert push(layout, articles, studio, state, title=project_title).updated == ["a2"]
    labels = [r["value"]["labels"] for r in _pushed(_task(studio, pushed.project, "a2"))["result"]
              if r["from_name"] == cfg.ENTITY_LABEL]
    assert labels == [["ORG"]]
    assert pull(layout, studio, state, title=project_title).changes == []


def test_a_changed_body_is_never_mixed_with_old_labels(label_studio, corpus, tmp_path, project_title):
    layout, articles = corpus
    studio, state = label_studio.studio(), tmp_path / ".studio"
    pushed = push(layout, articles, studio, state, title=project_title)
    old_task = _task(studio, pushed.project, "a3")["id"]
    articles["a3"] = article("a3", "No gold here \U0001F600, corrected.")

    stopped = push(layout, articles, studio, state, title=project_title)
    assert [p.code for p in stopped.problems] == ["studio-body-changed"]
    assert _task(studio, pushed.project, "a3")["id"] == old_task

    replaced = push(layout, articles, studio, state, title=project_title, replace_changed=True)
    assert (replaced.replaced, replaced.problems) == (["a3"], [])
    tasks = [t for t in studio.export(pushed.project) if t["data"]["article_id"] == "a3"]
    assert len(tasks) == 1 and tasks[0]["data"]["text"].endswith("corrected.")

    # an article whose gold is stale (made on the old body) is not replaced: its gold must be rebased first
    old_a2 = _task(studio, pushed.project, "a2")["id"]
    articles["a2"] = article("a2", "Putin met Kim, finally.\r\nNothing else.")
    stale = push(layout, articles, studio, state, title=project_title, replace_changed=True)
    assert [p.code for p in stale.problems] == ["annotation-stale"] and stale.replaced == []
    assert _task(studio, pushed.project, "a2")["id"] == old_a2


def test_replace_changed_refuses_while_labels_are_unpulled(label_studio, corpus, tmp_path, project_title):
    layout, articles = corpus
    studio, state = label_studio.studio(), tmp_path / ".studio"
    pushed = push(layout, articles, studio, state, title=project_title)
    task = _task(studio, pushed.project, "a3")
    studio.sdk.annotations.create(task["id"], result=[_region("x1", cfg.ENTITY_LABEL, task["data"]["text"], 0, 2, "labels", ["ORG"])])
    articles["a3"] = article("a3", "Rewritten.")
    refused = push(layout, articles, studio, state, title=project_title, replace_changed=True)
    assert [p.code for p in refused.problems] == ["studio-body-changed"] and "not yet pulled" in refused.problems[0].message
    assert _task(studio, pushed.project, "a3")["id"] == task["id"]
