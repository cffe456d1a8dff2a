"""newscorpus build: a Hub-ready dataset directory that load_dataset opens offline, byte-identical on rebuild."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import datasets
import pytest
import yaml

from newscorpus import SCHEMA_VERSION
from newscorpus.build import build
from newscorpus.cli import main
from newscorpus.corpus import CorpusLayout
from newscorpus.spans import body_sha256, span

SEED_IDS = {"spacewar-2023-10-19-aa6e04d9", "moscowtimes-2023-10-20-1e425f2c"}


def _build(root: Path, out: Path | None = None):
    return build(CorpusLayout(root / "corpus"), out or root / "build" / "dataset", repo_root=root)


def _tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*")) if p.is_file()
    }


def _card(out: Path) -> dict:
    text = (out / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def test_seed_corpus_loads_offline_with_declared_features(repo_copy, hf_cache):
    result = _build(repo_copy)
    out = result.out
    card = _card(out)
    assert card["license"] == "other" and card["language"] == ["en"] and card["pretty_name"]
    assert card["task_categories"]
    configs = {c["config_name"]: c for c in card["configs"]}
    assert configs["articles"].get("default") is True
    info = card["dataset_info"]
    infos = {i["config_name"]: i for i in (info if isinstance(info, list) else [info])}
    for name in configs:
        loaded = datasets.load_dataset(str(out), name)
        declared = datasets.Features._from_yaml_list(infos[name]["features"])
        for split in loaded:
            assert loaded[split].features == declared
            assert loaded[split].num_rows == result.counts[name][split]
    articles = datasets.load_dataset(str(out), "articles")
    rows = [r for split in articles.values() for r in split]
    assert {r["id"] for r in rows} == SEED_IDS
    for row in rows:
        assert row["headline"] and row["body"] and row["agency"] == "AFP"
        for p in row["paragraphs"]:
            assert row["body"][p["start"]:p["end"]].strip() == row["body"][p["start"]:p["end"]]
        for m in row["mentions"]:
            assert row["body"][m["start"]:m["end"]] == m["text"]


def test_the_two_versions_of_one_wire_story_share_a_cluster_and_a_split(repo_copy, hf_cache):
    out = _build(repo_copy).out
    articles = datasets.load_dataset(str(out), "articles")
    where = {r["id"]: (split, r["wire_cluster"]) for split, ds in articles.items() for r in ds}
    assert len(set(where.values())) == 1, where


def test_two_builds_are_byte_identical(repo_copy, tmp_path):
    first = _build(repo_copy, tmp_path / "one").out
    second = _build(repo_copy, tmp_path / "two").out
    assert _tree(first) == _tree(second)


def test_a_corpus_without_annotations_builds_and_loads(repo_copy, hf_cache):
    for path in (repo_copy / "corpus" / "annotations").rglob("*.json"):
        path.unlink()
    result = _build(repo_copy)
    assert not [p for p in result.problems if p.severity == "error"]
    articles = datasets.load_dataset(str(result.out), "articles")
    assert sum(ds.num_rows for ds in articles.values()) == 2
    assert all(not r["annotated"] and r["mentions"] == [] for ds in articles.values() for r in ds)
    configs = {c["config_name"] for c in _card(result.out)["configs"]}
    assert configs == {"articles"}, "configs without rows are not declared: datasets cannot load them"


def _add_raw(root: Path, name: str, data: bytes, ident: str) -> None:
    (root / "corpus" / "raw" / name).write_bytes(data)
    entry = {"id": ident, "file": name, "sha256": hashlib.sha256(data).hexdigest(), "outlet": "Test Outlet", "url": None, "rights": "test"}
    with open(root / "corpus" / "raw" / "manifest.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def test_one_bad_raw_file_is_reported_and_the_rest_is_built(repo_copy, hf_cache, monkeypatch, capsys):
    _add_raw(repo_copy, "broken.txt", b"\x00\x01\x02binary\x00", "broken-1")
    monkeypatch.chdir(repo_copy)
    assert main(["build"]) == 1
    captured = capsys.readouterr()
    assert "corpus/raw/broken.txt" in captured.err and "raw-binary" in captured.err
    articles = datasets.load_dataset(str(repo_copy / "build" / "dataset"), "articles")
    assert {r["id"] for ds in articles.values() for r in ds} == SEED_IDS


def test_a_failed_build_leaves_the_previous_dataset_as_it_was(repo_copy, monkeypatch):
    out = _build(repo_copy).out
    before, beside = _tree(out), sorted(p.name for p in out.parent.iterdir())

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("newscorpus.build.render_card", explode)
    # a new agreement report: the card must be rendered again (an unchanged one is taken from the cache)
    report = repo_copy / "corpus" / "annotations" / "agreement.md"
    report.write_text("Measured again.\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        _build(repo_copy)
    assert _tree(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == beside, "no staging directory is left behind"


def test_annotations_appear_in_the_entities_and_quotes_configs(repo_copy, hf_cache):
    """A minimal gold document: a mention, a pronoun, and a quote whose speaker is resolved."""
    from newscorpus.corpus import convert_corpus

    layout = CorpusLayout(repo_copy / "corpus")
    for path in (repo_copy / "corpus" / "annotations").rglob("*.json"):
        path.unlink()
    articles, _ = convert_corpus(layout)
    article = articles["moscowtimes-2023-10-20-1e425f2c"]
    body = article["body"]["text"]
    name = body.index("Kim Jong Un")
    said = body.index("said", name)
    content_start = body.index("he wants", said)
    content_end = body.index("Lavrov", content_start) + len("Lavrov")
    doc = {
        "schemaVersion": SCHEMA_VERSION,
        "article": {"id": article["id"], "bodySha256": body_sha256(body)},
        "entities": [{"id": "kim-jong-un", "name": "Kim Jong Un", "label": "PERSON", "wikidata": "Q56226"}],
        "mentions": [{"id": "m1", **span(body, name, name + len("Kim Jong Un")), "label": "PERSON", "kind": "name", "entity": "kim-jong-un", "annotator": "ann-01", "origin": "human"}],
        "quotes": [{"id": "q1", "type": "indirect", "content": [span(body, content_start, content_end)], "cue": span(body, said, said + 4), "speaker": "m1", "annotator": "ann-01", "origin": "human"}],
    }
    gold = layout.gold_dir / f"{article['id']}.json"
    gold.parent.mkdir(parents=True, exist_ok=True)
    gold.write_text(json.dumps(doc), encoding="utf-8")
    result = _build(repo_copy)
    assert not [p for p in result.problems if p.severity == "error"], result.problems
    quotes = datasets.load_dataset(str(result.out), "quotes")
    row = next(r for ds in quotes.values() for r in ds)
    assert row["speaker_text"] == "Kim Jong Un" and row["speaker_entity_name"] == "Kim Jong Un"
    assert row["content_text"] == body[content_start:content_end]
    assert quotes["train"].features["type"].int2str(row["type"]) == "indirect"
    entities = datasets.load_dataset(str(result.out), "entities")
    mention = next(r for ds in entities.values() for r in ds)
    assert entities["train"].features["label"].int2str(mention["label"]) == "PERSON"
    assert mention["entity_name"] == "Kim Jong Un" and mention["wikidata"] == "Q56226"


def test_the_dataset_gets_the_permission_bits_of_a_plain_mkdir_and_open_and_keeps_them(repo_copy):
    previous = os.umask(0o027)
    try:
        out = _build(repo_copy).out
    finally:
        os.umask(previous)
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")]}
    assert modes["."] == 0o750
    assert {m for p, m in modes.items() if (out / p).is_file()} == {0o640}
    os.chmod(out, 0o705)
    assert stat.S_IMODE(_build(repo_copy).out.stat().st_mode) == 0o705
