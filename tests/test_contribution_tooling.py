"""The CI workflow and the pre-commit hooks call commands that exist, with flags that parse, on the right files."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from newscorpus.cli import parser

from conftest import REPO

WORKFLOW = yaml.safe_load((REPO / ".github" / "workflows" / "contribution.yml").read_text(encoding="utf-8"))
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
LOCAL_HOOKS = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"][0]["hooks"]
STEPS = WORKFLOW["jobs"]["validate"]["steps"]


def _newscorpus_args(command: str) -> list[str]:
    """The arguments after the ``newscorpus`` program in a shell command line."""
    words = shlex.split(command.replace('"origin/$BASE_REF"', "origin/main"))
    program = next(i for i, word in enumerate(words) if word.endswith("newscorpus"))
    return words[program + 1:]


def _parses(args: list[str]) -> None:
    namespace = parser(args).parse_args(args)
    assert callable(namespace.run)


@pytest.mark.parametrize("step", [s for s in STEPS if "newscorpus" in s.get("run", "")], ids=lambda s: s["name"])
def test_every_workflow_command_parses(step):
    _parses(_newscorpus_args(step["run"]))
    assert "--format github" in step["run"], "CI output must annotate the pull request's files"


def test_the_workflow_fetches_history_for_changed_since_and_reads_only():
    checkout = next(s for s in STEPS if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    assert checkout["with"]["persist-credentials"] is False
    assert WORKFLOW["permissions"] == {"contents": "read"}
    assert "pull_request_target" not in WORKFLOW[True], "(YAML 1.1 reads the key on as True) a fork's code must never run with the repository's secrets"


def test_no_expression_is_spliced_into_a_script():
    for step in STEPS:
        assert "${{" not in step.get("run", ""), step["name"]


def test_the_workflow_sets_up_with_the_repository_script():
    assert any(s.get("run") == "scripts/setup" for s in STEPS)
    assert (REPO / "scripts" / "setup").is_file()


@pytest.mark.parametrize("hook", HOOKS + LOCAL_HOOKS, ids=lambda h: h["id"])
def test_every_hook_parses_with_filenames(hook):
    _parses(_newscorpus_args(hook["entry"]) + ["corpus/annotations/gold/a.json"])


def test_published_and_local_hooks_agree():
    assert [(h["id"], h["files"]) for h in HOOKS] == [(h["id"], h["files"]) for h in LOCAL_HOOKS]
    for published, local in zip(HOOKS, LOCAL_HOOKS):
        assert local["entry"].endswith(published["entry"].removeprefix("newscorpus"))


@pytest.mark.parametrize(
    ("path", "validated"),
    [
        ("corpus/raw/000_aa6e04d9d268f344.txt", True), ("corpus/raw/manifest.jsonl", True),
        ("corpus/annotations/gold/a.json", True), ("corpus/annotations/annotators/ann-01/a.json", True),
        ("corpus/annotations/gold/notes.md", False), ("README.md", False), ("src/newscorpus/cli.py", False),
    ],
)
def test_the_validate_hook_runs_on_corpus_files_only(path, validated):
    hook = next(h for h in HOOKS if h["id"] == "newscorpus-validate")
    assert bool(re.search(hook["files"], path)) is validated
