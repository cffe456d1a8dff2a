"""validate --changed-since: a pull request is judged by what it touches, in a real git repository.

The converter is another stage with its own tests; here a stand-in turns a raw
file into an article whose body is the file's text, so that these tests are
about which files get checked and reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from newscorpus import validate as validate_module
from newscorpus.cli import main
from newscorpus.spans import body_sha256

from test_rebase import make_document

BODIES = {
    "a": "North Korean leader Kim Jong Un said Thursday he wants to build a \"forward-looking\" relationship "
         "with Russia as he met with Foreign Minister Sergei Lavrov, state media reported.\n\n"
         "\"Like our North Korean friends, we are seriously worried,\" Lavrov told journalists, according to Russian news agencies.",
}
BODIES["b"] = "Intro of another outlet.\n\n" + BODIES["a"]


@pytest.fixture
def stand_in_converter(monkeypatch):
    """``newscorpus.convert`` replaced by: article body = the raw file's text (article checks are convert's)."""
    def convert_path(path: Path, *, file=None, entry=None):
        text = path.read_text(encoding="utf-8")
        return {"id": entry["id"], "body": {"text": text}, "provenance": {"rawFile": file}}, []

    module = types.ModuleType("newscorpus.convert")
    module.convert_path = convert_path
    monkeypatch.setitem(sys.modules, "newscorpus.convert", module)
    monkeypatch.setattr(validate_module, "article_problems", lambda article, file: [])


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout


@pytest.fixture
def repo(tmp_path, stand_in_converter, monkeypatch) -> Path:
    """A git repository whose main branch holds a clean corpus of two annotated articles; HEAD is a PR branch."""
    root = tmp_path / "repo"
    raw, gold = root / "corpus" / "raw", root / "corpus" / "annotations" / "gold"
    raw.mkdir(parents=True)
    gold.mkdir(parents=True)
    lines = []
    for name, body in BODIES.items():
        (raw / f"{name}.txt").write_text(body, encoding="utf-8")
        lines.append({"id": name, "file": f"{name}.txt", "sha256": body_sha256(body), "outlet": "X", "url": None, "rights": "r"})
        doc = make_document(body)
        doc["article"]["id"] = name
        (gold / f"{name}.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    (raw / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    (root / "README.md").write_text("corpus\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "clean corpus")
    git(root, "checkout", "-qb", "pr")
    monkeypatch.chdir(root)
    return root


def run(capsys, *args: str) -> tuple[int, list[dict], str]:
    """Exit code, problems (JSON) and stderr of ``newscorpus validate --changed-since main``."""
    code = main(["validate", "--changed-since", "main", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_the_clean_main_branch_is_clean(repo, capsys):
    assert validate_module.validate_corpus(validate_module.CorpusLayout(repo / "corpus"))[0] == []
    assert run(capsys) == (0, [], "0 changed file(s) since main\n")


def test_a_change_outside_the_corpus_checks_nothing(repo, capsys):
    (repo / "README.md").write_text("more\n", encoding="utf-8")
    git(repo, "commit", "-qam", "docs")
    code, problems, err = run(capsys)
    assert (code, problems) == (0, []) and err.startswith("1 changed file(s)")


def test_a_broken_span_in_a_committed_document_is_reported(repo, capsys):
    path = repo / "corpus" / "annotations" / "gold" / "a.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["mentions"][0]["text"] = "Kim Jong Il"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    git(repo, "commit", "-qam", "edit a")
    code, problems, _ = run(capsys)
    assert code == 1
    assert [(p["code"], p["file"], p["pointer"]) for p in problems] == [("span-text-mismatch", "corpus/annotations/gold/a.json", "/mentions/0/text")]
    assert problems[0]["line"] is not None


def test_an_uncommitted_new_document_is_included(repo, capsys):
    folder = repo / "corpus" / "annotations" / "annotators" / "ann-02"
    folder.mkdir(parents=True)
    doc = make_document(BODIES["b"])
    doc["article"]["id"] = "b"
    doc["mentions"][0]["entity"] = "e-nobody"
    (folder / "b.json").write_text(json.dumps(doc), encoding="utf-8")
    code, problems, _ = run(capsys)
    assert code == 1
    assert [(p["code"], p["file"]) for p in problems] == [("entity-unknown", "corpus/annotations/annotators/ann-02/b.json")]


def test_a_changed_raw_file_makes_its_unchanged_documents_stale(repo, capsys):
    raw = repo / "corpus" / "raw"
    new_body = BODIES["b"].replace("Intro of another outlet.", "A longer intro of another outlet.")
    (raw / "b.txt").write_text(new_body, encoding="utf-8")
    manifest = [json.loads(line) for line in (raw / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    manifest[1]["sha256"] = body_sha256(new_body)
    (raw / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in manifest), encoding="utf-8")
    git(repo, "commit", "-qam", "reconvert b")
    code, problems, _ = run(capsys)
    assert code == 1
    assert [(p["code"], p["file"]) for p in problems] == [("annotation-stale", "corpus/annotations/gold/b.json")]


def test_a_raw_file_changed_without_its_manifest_line(repo, capsys):
    (repo / "corpus" / "raw" / "a.txt").write_text(BODIES["a"] + " More.", encoding="utf-8")
    code, problems, _ = run(capsys)
    assert code == 1
    assert sorted(p["code"] for p in problems) == ["annotation-stale", "raw-sha-mismatch"]


def test_a_deleted_raw_file_is_missing(repo, capsys):
    git(repo, "rm", "-q", "corpus/raw/a.txt")
    git(repo, "commit", "-qm", "drop a")
    code, problems, _ = run(capsys)
    assert code == 1
    assert sorted((p["code"], p["file"]) for p in problems) == [
        ("article-unknown", "corpus/annotations/gold/a.json"), ("raw-missing", "corpus/raw/manifest.jsonl"),
    ]


@pytest.mark.parametrize(("args", "message"), [(["--changed-since", "no-such-branch"], "git merge-base"), (["--changed-since=--output=x"], "not a git ref")])
def test_bad_refs_are_usage_errors(repo, capsys, args, message):
    assert main(["validate", *args]) == 2
    assert message in capsys.readouterr().err


def test_paths_and_changed_since_together_are_a_usage_error(repo, capsys):
    assert main(["validate", "corpus/annotations/gold/a.json", "--changed-since", "main"]) == 2


def test_outside_a_git_repository_is_a_usage_error(tmp_path, stand_in_converter, monkeypatch, capsys):
    (tmp_path / "corpus" / "raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["validate", "--changed-since", "main"]) == 2
    assert "git rev-parse" in capsys.readouterr().err


def test_a_new_body_then_rebase_then_clean(repo, capsys):
    """The whole contribution loop: the converter changes a body, validate says stale, rebase fixes it."""
    raw = repo / "corpus" / "raw"
    new_body = BODIES["b"].replace("Intro of another outlet.", "Seoul, Oct 19.\n\nIntro of another outlet.")
    (raw / "b.txt").write_text(new_body, encoding="utf-8")
    manifest = [json.loads(line) for line in (raw / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    manifest[1]["sha256"] = body_sha256(new_body)
    (raw / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in manifest), encoding="utf-8")
    assert [p["code"] for p in run(capsys)[1]] == ["annotation-stale"]
    assert main(["rebase", "--check"]) == 1
    assert main(["rebase"]) == 0
    assert "corpus/annotations/gold/b.json: rebased" in capsys.readouterr().err
    assert run(capsys)[:2] == (0, [])
    assert git(repo, "status", "--porcelain", "corpus/annotations").split() == ["M", "corpus/annotations/gold/b.json"]
