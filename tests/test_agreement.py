"""Agreement between two annotation sets: hand-computed figures, edge cases and the CLI."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings, strategies as st

from newscorpus import SCHEMA_VERSION
from newscorpus.agreement import (
    ANY_LABEL,
    Document,
    Scores,
    cohen_kappa,
    compare,
    max_matching,
    overlap,
    pair_documents,
    render,
)
from newscorpus.cli import main
from newscorpus.schemas import is_valid
from newscorpus.spans import body_sha256, span

# A short body in the style of the seeds (offsets are computed from it, never typed in).
BODY = (
    'Russian Foreign Minister Sergei Lavrov slammed US policy towards North Korea as "dangerous". '
    '"We oppose this unconstructive and dangerous line," he said, "and Washington knows it." '
    'He added that the United States was placing "strategic infrastructure" in the region, '
    'according to Russian news agencies. '
    'On Friday, the United States said arms shipments were already under way.'
)
SHA = body_sha256(BODY)


def at(text: str, occurrence: int = 1) -> tuple[int, int]:
    """Offsets of the n-th occurrence of ``text`` in BODY."""
    start = -1
    for _ in range(occurrence):
        start = BODY.index(text, start + 1)
    return start, start + len(text)


def mention(mid: str, text: str, label: str, entity: str, kind: str = "name", occurrence: int = 1,
            annotator: str = "ann-01") -> dict:
    """A schema-valid mention of ``text`` in BODY."""
    start, end = at(text, occurrence)
    return {"id": mid, **span(BODY, start, end), "label": label, "kind": kind, "entity": entity,
            "annotator": annotator, "origin": "human"}


def quote(qid: str, qtype: str, parts: list[str], cue: str | None, speaker: str | None,
          channel: str | None = None, addressee: str | None = None, annotator: str = "ann-01",
          cue_occurrence: int = 1) -> dict:
    """A schema-valid quote whose parts, cue and channel are texts of BODY."""
    return {
        "id": qid, "type": qtype,
        "content": [span(BODY, *at(part)) for part in parts],
        "cue": span(BODY, *at(cue, cue_occurrence)) if cue else None,
        "speaker": speaker, "addressee": addressee,
        "channel": span(BODY, *at(channel)) if channel else None,
        "annotator": annotator, "origin": "human",
    }


def document(mentions: list[dict], quotes: list[dict] | None = None, article: str = "art-1",
             sha: str = SHA) -> dict:
    """A schema-valid annotation document (entities derived from the mentions)."""
    entities = {m["entity"]: {"id": m["entity"], "name": m["text"], "label": m["label"]} for m in mentions}
    doc = {"schemaVersion": SCHEMA_VERSION, "article": {"id": article, "bodySha256": sha},
           "entities": list(entities.values()), "mentions": mentions, "quotes": quotes or []}
    assert is_valid(doc, "annotation")
    return doc


def agreement_of(doc_a: dict, doc_b: dict):
    """Agreement of one pair of documents, asserting they pair without problems."""
    pairs, problems = pair_documents({"a.json": doc_a}, {"b.json": doc_b})
    assert problems == []
    return compare(pairs)


# --- the reference annotation the cases below are varied from -----------------

LAVROV = mention("m1", "Sergei Lavrov", "PERSON", "sergei-lavrov")
US = mention("m2", "US", "GPE", "united-states")
NK = mention("m3", "North Korea", "GPE", "north-korea")
HE = mention("m4", "he", "PERSON", "sergei-lavrov", kind="pronoun")
USA = mention("m5", "the United States", "GPE", "united-states")
USA2 = mention("m6", "the United States", "GPE", "united-states", occurrence=2)
HE2 = mention("m7", "He", "PERSON", "sergei-lavrov", kind="pronoun")
INTERRUPTED = quote("q1", "direct", ['"We oppose this unconstructive and dangerous line,"',
                                     '"and Washington knows it."'], "said", "m4")
MIXED = quote("q2", "mixed", ['the United States was placing "strategic infrastructure" in the region'],
              "added", "m7", channel="according to Russian news agencies")
INDIRECT = quote("q3", "indirect", ["arms shipments were already under way"], "said", "m6", cue_occurrence=2)
REFERENCE = document([LAVROV, US, NK, HE, USA, USA2, HE2], [INTERRUPTED, MIXED, INDIRECT])


# --- Scores and kappa ---------------------------------------------------------


def test_scores_are_hand_computed_and_f1_is_symmetric():
    scores = Scores(reference=4, candidate=5, matched=3)
    assert (scores.precision, scores.recall) == (3 / 5, 3 / 4)
    assert scores.f1 == pytest.approx(2 * 3 / 9)
    swapped = Scores(reference=5, candidate=4, matched=3)
    assert (swapped.precision, swapped.recall, swapped.f1) == (scores.recall, scores.precision, scores.f1)


@pytest.mark.parametrize("scores, expected", [
    (Scores(0, 0, 0), (None, None, None)),
    (Scores(3, 0, 0), (None, 0.0, 0.0)),
    (Scores(0, 2, 0), (0.0, None, 0.0)),
])
def test_scores_of_empty_sets_are_not_available_instead_of_dividing_by_zero(scores, expected):
    assert (scores.precision, scores.recall, scores.f1) == expected


@pytest.mark.parametrize("confusion, expected", [
    # Wikipedia's worked example: p_o = 0.7, p_e = 0.5.
    ({("direct", "direct"): 20, ("direct", "indirect"): 5, ("indirect", "direct"): 10,
      ("indirect", "indirect"): 15}, 0.4),
    # Three types, n = 20: p_o = 16/20, p_e = (8*7 + 6*6 + 6*7)/400 = 134/400, kappa = 93/133.
    ({("direct", "direct"): 6, ("direct", "indirect"): 1, ("direct", "mixed"): 1,
      ("indirect", "indirect"): 5, ("indirect", "mixed"): 1,
      ("mixed", "direct"): 1, ("mixed", "mixed"): 5}, 93 / 133),
    ({("direct", "direct"): 3, ("mixed", "mixed"): 2}, 1.0),
    ({("direct", "indirect"): 5, ("indirect", "direct"): 5}, -1.0),
    # Both always say "direct": p_e = 1, kappa undefined.
    ({("direct", "direct"): 7}, None),
    ({}, None),
])
def test_cohen_kappa_against_worked_examples(confusion, expected):
    kappa = cohen_kappa(confusion)
    assert kappa == (None if expected is None else pytest.approx(expected))


# --- matching -----------------------------------------------------------------


def test_matching_is_maximum_where_taking_the_largest_overlap_first_is_not():
    reference = [(0, 10), (10, 12)]
    candidate = [(5, 11), (0, 3)]  # (0, 10) overlaps (5, 11) most, but (10, 12) has nothing else
    pairs = max_matching(reference, candidate, lambda a, b: overlap(a, b) > 0,
                         prefer=lambda a, b: overlap(a, b))
    assert pairs == [(0, 1), (1, 0)]


spans_ = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 8)).map(lambda t: (t[0], t[0] + t[1])), max_size=6)


@settings(max_examples=150, deadline=None)
@given(spans_, spans_)
def test_matching_size_equals_brute_force_maximum(reference, candidate):
    agree = lambda a, b: overlap(a, b) > 0  # noqa: E731
    pairs = max_matching(reference, candidate, agree)
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
    assert all(agree(reference[i], candidate[j]) for i, j in pairs)
    best = 0
    small, large = (reference, candidate) if len(reference) <= len(candidate) else (candidate, reference)
    for chosen in itertools.permutations(range(len(large)), len(small)):
        best = max(best, sum(overlap(small[k], large[c]) > 0 for k, c in enumerate(chosen)))
    assert len(pairs) == best


# --- mentions -------------------------------------------------------------------


def test_identical_annotations_agree_completely():
    result = agreement_of(REFERENCE, REFERENCE)
    figures = result.as_dict()
    for table in ("micro", "anyLabel"):
        for matching in ("exact", "overlap"):
            assert figures["mentions"][table][matching]["f1"] == 1.0
    for part in ("content", "cue", "channel"):
        assert figures["quotes"][part]["exact"]["f1"] == 1.0
    assert result.kappa == pytest.approx(1.0)
    assert result.speakers.value == result.addressees.value == result.entity_ids.value == 1.0
    assert result.coreference_links.f1 == 1.0


def test_disjoint_annotations_agree_not_at_all():
    a = document([LAVROV, HE], [INTERRUPTED])
    b = document([mention("x1", "North Korea", "GPE", "north-korea"), mention("x2", "Friday", "DATE", "date-2023-10-20")],
                 [quote("y1", "indirect", ["arms shipments were already under way"], "said", None,
                        cue_occurrence=2)])
    result = agreement_of(a, b)
    exact, over = result.mentions_micro
    assert (exact.f1, over.f1, exact.precision, exact.recall) == (0.0, 0.0, 0.0, 0.0)
    assert result.quotes_overlap.f1 == 0.0 and result.cues_overlap.f1 == 0.0
    assert result.speakers.value is None and result.kappa is None


def test_exact_and_overlap_matching_hand_computed():
    # A: Sergei Lavrov (PERSON), US, North Korea, the United States ×2 (GPE): 1 + 4.
    a = document([LAVROV, US, NK, USA, USA2])
    # B: "Lavrov" (PERSON, overlaps), "North Korea" exact, "United States" (overlaps the first), "US" as ORG.
    b = document([
        mention("b1", "Lavrov", "PERSON", "sergei-lavrov", annotator="ann-02"),
        mention("b2", "North Korea", "GPE", "north-korea", annotator="ann-02"),
        mention("b3", "United States", "GPE", "united-states", annotator="ann-02"),
        mention("b4", "US", "ORG", "us-government", annotator="ann-02"),
    ])
    result = agreement_of(a, b)
    assert result.mentions_exact["PERSON"] == Scores(1, 1, 0)
    assert result.mentions_overlap["PERSON"] == Scores(1, 1, 1)
    assert result.mentions_exact["GPE"] == Scores(4, 2, 1)
    assert result.mentions_overlap["GPE"] == Scores(4, 2, 2)
    assert result.mentions_exact["ORG"] == Scores(0, 1, 0)
    exact, over = result.mentions_micro
    assert exact == Scores(5, 4, 1) and over == Scores(5, 4, 3)
    assert over.precision == 3 / 4 and over.recall == 3 / 5 and over.f1 == pytest.approx(6 / 9)
    # Label-blind, "US" GPE and "US" ORG match exactly as well.
    assert result.mentions_exact[ANY_LABEL] == Scores(5, 4, 2)
    assert result.mentions_overlap[ANY_LABEL] == Scores(5, 4, 4)
    assert result.labels == ["PERSON", "ORG", "GPE"]
    assert result.annotators_a == {"ann-01"} and result.annotators_b == {"ann-02"}


def test_swapping_the_sides_swaps_precision_and_recall():
    a = document([LAVROV, US, NK, USA])
    b = document([mention("b1", "Lavrov", "PERSON", "sergei-lavrov"), NK])
    forward, backward = agreement_of(a, b).mentions_micro[1], agreement_of(b, a).mentions_micro[1]
    assert (forward.precision, forward.recall) == (backward.recall, backward.precision)
    assert forward.f1 == backward.f1


def test_entity_links_do_not_depend_on_how_ids_are_spelled():
    a = document([LAVROV, HE, USA, USA2])
    b = document([{**m, "entity": m["entity"] + "-x"} for m in (LAVROV, HE, USA, USA2)])
    result = agreement_of(a, b)
    assert result.entity_ids.value == 0.0
    assert result.coreference_links == Scores(2, 2, 2)


def test_entity_links_count_a_merge_as_a_false_link():
    a = document([LAVROV, HE, USA, USA2])
    b = document([LAVROV, {**HE, "entity": "lavrov"}, USA, {**USA2, "entity": "united-states"}])
    result = agreement_of(a, b)
    assert result.entity_ids.as_dict() == {"agree": 3, "total": 4, "value": 0.75}
    # A links (Lavrov, he) and (US, US); B only (US, US).
    assert result.coreference_links == Scores(2, 1, 1)


def test_mention_kinds_are_compared_separately():
    result = agreement_of(REFERENCE, document([LAVROV, {**HE, "kind": "nominal"}]))
    assert result.kinds_exact["pronoun"] == Scores(2, 0, 0)
    assert result.kinds_exact["nominal"] == Scores(0, 1, 0)


def test_empty_documents_give_not_available_everywhere():
    result = agreement_of(document([]), document([]))
    exact, over = result.mentions_micro
    assert exact.f1 is None and over.precision is None
    assert result.kappa is None and result.speakers.value is None and result.entity_ids.value is None
    text = render(result, "text")
    assert "n/a" in text and "1 article(s) compared" in text
    assert json.loads(render(result, "json"))["quotes"]["type"]["kappa"] is None


# --- quotes -----------------------------------------------------------------------


def test_a_quote_interrupted_by_its_attribution_matches_exactly_only_with_all_its_parts():
    one_part = {**INTERRUPTED, "content": INTERRUPTED["content"][:1]}
    two_parts = INTERRUPTED
    result = agreement_of(document([], [two_parts]), document([], [one_part]))
    assert result.quotes_exact == Scores(1, 1, 0)
    assert result.quotes_overlap == Scores(1, 1, 1)
    assert result.cues_exact == Scores(1, 1, 1)


def test_quote_type_kappa_and_cue_over_matched_quotes():
    b = document(REFERENCE["mentions"], [
        {**INTERRUPTED, "type": "direct"},
        {**MIXED, "type": "indirect"},
        {**INDIRECT, "cue": None},
    ])
    result = agreement_of(REFERENCE, b)
    assert result.quotes_exact == Scores(3, 3, 3)
    assert dict(result.quote_types) == {("direct", "direct"): 1, ("mixed", "indirect"): 1, ("indirect", "indirect"): 1}
    # p_o = 2/3; A: d, m, i; B: d, i, i -> p_e = (1*1 + 0*0 + 1*2)/9 = 1/3; kappa = (1/3)/(2/3) = 0.5
    assert result.kappa == pytest.approx(0.5)
    # cues: A has said, added, said (2nd); B has said, added.
    assert result.cues_exact == Scores(3, 2, 2)
    assert result.channels_exact == Scores(1, 1, 1)


@pytest.mark.parametrize("speaker_b, mentions_b, agree", [
    pytest.param("m4", [HE], True, id="same-mention"),
    pytest.param("x1", [mention("x1", "Sergei Lavrov", "PERSON", "sergei-lavrov")], True, id="pronoun-vs-name-same-entity"),
    pytest.param("x1", [mention("x1", "he said", "PERSON", "somebody")], True, id="overlapping-speaker-mentions"),
    pytest.param("x1", [mention("x1", "North Korea", "GPE", "north-korea")], False, id="other-entity"),
    pytest.param(None, [], False, id="attributed-vs-unattributed"),
])
def test_speaker_agreement_rules(speaker_b, mentions_b, agree):
    a = document([LAVROV, HE], [INTERRUPTED])
    b = document(mentions_b, [{**INTERRUPTED, "speaker": speaker_b}])
    result = agreement_of(a, b)
    assert result.speakers.as_dict() == {"agree": int(agree), "total": 1, "value": float(agree)}


def test_two_unattributed_quotes_agree_on_the_speaker():
    unattributed = {**INDIRECT, "speaker": None}
    result = agreement_of(document([], [unattributed]), document([], [unattributed]))
    assert result.speakers.value == 1.0


def test_addressee_agreement():
    a = document([LAVROV, NK], [{**INDIRECT, "speaker": "m1", "addressee": "m3"}])
    b = document([LAVROV, NK], [{**INDIRECT, "speaker": "m1", "addressee": None}])
    result = agreement_of(a, b)
    assert (result.speakers.value, result.addressees.value) == (1.0, 0.0)


# --- pairing documents ------------------------------------------------------------


def test_documents_made_on_different_bodies_are_an_error_and_not_compared():
    stale = document([LAVROV], sha=body_sha256(BODY + " "))
    pairs, problems = pair_documents({"a.json": document([LAVROV])}, {"b.json": stale})
    assert pairs == []
    assert [(p.code, p.severity, p.file) for p in problems] == [("agreement-body-mismatch", "error", "b.json")]


def test_articles_on_one_side_only_are_left_out_with_a_warning():
    pairs, problems = pair_documents(
        {"a1.json": document([LAVROV], article="art-1"), "a2.json": document([], article="art-2")},
        {"b1.json": document([LAVROV], article="art-1"), "b3.json": document([], article="art-3")},
    )
    assert [a.article for a, _ in pairs] == ["art-1"]
    assert [(p.code, p.severity, p.file) for p in problems] == [
        ("agreement-unpaired", "warning", "a2.json"), ("agreement-unpaired", "warning", "b3.json")]


def test_two_documents_for_one_article_on_one_side_are_an_error():
    pairs, problems = pair_documents(
        {"a1.json": document([LAVROV]), "copy.json": document([])},
        {"b1.json": document([LAVROV])},
    )
    assert pairs == []
    assert sorted((p.code, p.file) for p in problems) == [
        ("agreement-duplicate-article", "a1.json"), ("agreement-duplicate-article", "copy.json")]


# --- the command ----------------------------------------------------------------------


def write(directory, name: str, value) -> None:
    """Write one JSON document into ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(value), encoding="utf-8")


@pytest.fixture
def two_annotators(tmp_path):
    """Directories A and B holding one article each, B partly agreeing with A."""
    write(tmp_path / "A", "art-1.json", REFERENCE)
    write(tmp_path / "B", "art-1.json", document([LAVROV, NK, HE, mention("b9", "Lavrov", "PERSON", "sergei-lavrov")],
                                                 [INTERRUPTED]))
    return tmp_path / "A", tmp_path / "B"


def test_cli_text_report_exits_0(two_annotators, capsys):
    a, b = two_annotators
    assert main(["agreement", str(a), str(b)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "1 article(s) compared" in out and "Cohen's kappa" in out
    assert any(line.startswith("PERSON") for line in out.splitlines())


def test_cli_json_report_holds_every_figure(two_annotators, capsys):
    a, b = two_annotators
    assert main(["agreement", str(a), str(b), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == []
    person = report["agreement"]["mentions"]["byLabel"]["PERSON"]
    assert person["exact"] == {"a": 3, "b": 3, "matched": 2, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3}
    assert report["agreement"]["quotes"]["content"]["exact"]["recall"] == pytest.approx(1 / 3)


def test_cli_markdown_report_written_to_a_file(two_annotators, tmp_path, capsys):
    a, b = two_annotators
    target = tmp_path / "card" / "agreement.md"
    assert main(["agreement", str(a), str(b), "--format", "markdown", "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    markdown = target.read_text(encoding="utf-8")
    assert "| label | A | B | exact P |" in markdown and "| PERSON | 3 | 3 | 0.667 | 0.667 | 0.667 | 0.667 | 0.667 | 0.667 |" in markdown


def test_cli_compares_two_single_files(two_annotators, capsys):
    a, b = two_annotators
    assert main(["agreement", str(a / "art-1.json"), str(a / "art-1.json"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["agreement"]["mentions"]["micro"]["exact"]["f1"] == 1.0


def test_cli_exits_1_on_a_body_mismatch(two_annotators, capsys):
    a, b = two_annotators
    write(a, "art-2.json", document([LAVROV], article="art-2"))
    write(b, "art-2.json", document([LAVROV], article="art-2", sha=body_sha256("another body")))
    assert main(["agreement", str(a), str(b)]) == 1
    out, err = capsys.readouterr()
    assert "agreement-body-mismatch" in err and "1 article(s) compared" in out


def test_cli_exits_1_on_an_invalid_document(two_annotators, capsys):
    a, b = two_annotators
    write(b, "art-1.json", {**REFERENCE, "mentions": [{**LAVROV, "label": "POLITICIAN"}]})
    assert main(["agreement", str(a), str(b), "--format", "json"]) == 1
    codes = [p["code"] for p in json.loads(capsys.readouterr().out)["problems"]]
    assert "label-unknown" in codes and "agreement-nothing-compared" in codes


def test_cli_exits_1_when_a_speaker_names_no_mention(two_annotators, capsys):
    a, b = two_annotators
    write(b, "art-1.json", {**REFERENCE, "quotes": [{**INTERRUPTED, "speaker": "m99"}]})
    assert main(["agreement", str(a), str(b)]) == 1
    assert "speaker-unknown" in capsys.readouterr().err


def test_cli_exits_0_with_a_warning_for_unpaired_articles(two_annotators, capsys):
    a, b = two_annotators
    write(a, "art-2.json", document([LAVROV], article="art-2"))
    assert main(["agreement", str(a), str(b)]) == 0
    assert "agreement-unpaired" in capsys.readouterr().err


def test_cli_exits_1_when_nothing_can_be_compared(tmp_path, capsys):
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    assert main(["agreement", str(tmp_path / "A"), str(tmp_path / "B")]) == 1
    assert "agreement-nothing-compared" in capsys.readouterr().err


def test_cli_exits_2_on_a_missing_path(tmp_path, capsys):
    assert main(["agreement", str(tmp_path / "nowhere"), str(tmp_path)]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_cli_exits_2_on_an_unknown_format(two_annotators, capsys):
    a, b = two_annotators
    with pytest.raises(SystemExit) as exit_:
        main(["agreement", str(a), str(b), "--format", "html"])
    assert exit_.value.code == 2


def test_cli_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["agreement", "--help"])
    assert "example:" in capsys.readouterr().out
