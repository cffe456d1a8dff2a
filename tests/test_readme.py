"""The README's promises: the two set-up commands first, CI runs the test one, the loading snippet works."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _first_block() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block and README.index(block.group(0)) < README.index("## "), "the README must open with the commands"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_setup_commands():
    commands = _first_block()
    assert commands == ["scripts/build-dataset", "scripts/test"]
    for command in commands:
        assert (REPO / command).is_file()


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert _first_block()[1] in ci


def test_loading_snippet_runs_on_a_fresh_build(repo_copy, hf_cache):
    from newscorpus.build import build
    from newscorpus.corpus import CorpusLayout

    build(CorpusLayout(repo_copy / "corpus"), repo_copy / "build" / "dataset", repo_root=repo_copy)
    snippet = re.search(r"## Loading the dataset\n\n```python\n(.*?)```", README, re.S).group(1)
    result = subprocess.run([sys.executable, "-c", snippet], cwd=repo_copy, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Lavrov" in result.stdout or "Korea" in result.stdout
