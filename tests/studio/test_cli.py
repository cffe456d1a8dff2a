"""`newscorpus studio` as users run it: help with examples, push and pull through the environment."""

from __future__ import annotations

import json

import pytest

from newscorpus.cli import main
from newscorpus.corpus import CorpusLayout
from newscorpus.studio.sync import GOLD_MARK, Studio

from .helpers import TRICKY_BODY, article, snapshot, tricky_gold, write_gold


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as done:
        main(["studio", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for action in ("serve", "stop", "status", "push", "pull"):
        assert action in out
    assert "newscorpus studio push" in out and "LABEL_STUDIO_URL" in out
    for action in ("serve", "push", "pull", "stop", "status"):
        with pytest.raises(SystemExit):
            main(["studio", action, "--help"])
        assert "example: newscorpus studio " + action in capsys.readouterr().out


def test_half_an_endpoint_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:1")
    monkeypatch.setattr("newscorpus.commands.studio._articles", lambda layout: {"a": article("a", "x")})
    assert main(["studio", "--corpus", str(tmp_path / "corpus"), "push"]) == 1
    assert "set both LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY" in capsys.readouterr().err


def test_no_server_configured_says_how_to_start_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("newscorpus.commands.studio._articles", lambda layout: {"a": article("a", "x")})
    assert main(["studio", "--corpus", str(tmp_path / "corpus"), "pull"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `newscorpus studio serve`" in err


@pytest.mark.studio
def test_push_and_pull_commands_print_what_changed(label_studio, tmp_path, monkeypatch, capsys, project_title):
    layout = CorpusLayout(tmp_path / "corpus")
    write_gold(layout, tricky_gold("a1"))
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    monkeypatch.setattr("newscorpus.commands.studio._articles", lambda layout: {"a1": article("a1", TRICKY_BODY)})
    args = ["studio", "--corpus", str(layout.root)]

    assert main(args + ["push", "--project", project_title]) == 0
    assert "1 task(s) created" in capsys.readouterr().out
    assert main(args + ["push", "--project", project_title]) == 0
    assert "0 task(s) created" in capsys.readouterr().out and (tmp_path / ".studio" / "sync").is_dir()

    studio = Studio(label_studio.url, label_studio.token)
    task = studio.export(studio.find_project(project_title)["id"])[0]
    annotation = next(a for a in task["annotations"] if a["import_id"] == GOLD_MARK)
    result = [r for r in annotation["result"] if r.get("id") != "m2" and "m2" not in (r.get("from_id"), r.get("to_id"))]
    studio.sdk.annotations.update(annotation["id"], result=result)
    before = snapshot(layout.root)

    # a local change too: pull stops (exit 1) and writes nothing
    gold = layout.gold_dir / "a1.json"
    gold.write_text(gold.read_text(encoding="utf-8").replace("Moscow Kremlin", "The Kremlin"), encoding="utf-8")
    changed = snapshot(layout.root)
    assert main(args + ["pull", "--project", project_title]) == 1
    out = capsys.readouterr().out
    assert "studio-conflict" in out and "nothing written" in out and "--on-conflict beside" in out
    assert snapshot(layout.root) == changed

    gold.write_bytes(before["annotations/gold/a1.json"])
    assert main(args + ["pull", "--project", project_title, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "annotations/gold/a1.json: removed entity kremlin, mention m2" in out
    assert "pulled 1 task(s): 1 file(s) written" in out
    assert label_studio.token not in out
    assert [m["id"] for m in json.loads(gold.read_text(encoding="utf-8"))["mentions"]] == ["m1", "m3", "m4", "m5"]
