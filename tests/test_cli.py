"""The CLI: every command documented, exit codes, `python -m newscorpus`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from newscorpus.cli import commands, main
from newscorpus.problems import CODES

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_has_help_with_an_example(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out.lower()
    assert f"newscorpus {name}" in out


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_is_in_the_readme(name):
    assert f"`newscorpus {name}" in README


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_problem_code_is_in_the_readme(code):
    assert f"| `{code}` |" in README


def test_the_core_commands_exist():
    assert {"convert", "validate", "build"} <= set(commands())


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "--format", "yaml"])
    assert exit_.value.code == 2


def test_missing_corpus_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2
    assert "no corpus directory" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_cli():
    result = subprocess.run([sys.executable, "-m", "newscorpus", "--help"], capture_output=True, text=True, check=True)
    assert "convert" in result.stdout and "validate" in result.stdout and "build" in result.stdout


def test_a_command_imports_only_its_own_module():
    """Running one command does not import the others: ``studio``'s Label Studio SDK takes 2 s to import, which every
    ``newscorpus build`` paid before; the overview still lists every command."""
    script = (
        "import sys; from newscorpus.cli import parser; parser(sys.argv[1:]).parse_args(sys.argv[1:]);"
        "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('newscorpus.commands.')),"
        " 'label_studio_sdk' in sys.modules)"
    )
    ran = subprocess.run([sys.executable, "-c", script, "build", "--workers", "1"], capture_output=True, text=True, check=True)
    assert ran.stdout.split() == ["['build']", "False"]
    listed = subprocess.run([sys.executable, "-m", "newscorpus", "--help"], capture_output=True, text=True, check=True)
    assert all(name in listed.stdout for name in commands())
    unknown = subprocess.run([sys.executable, "-m", "newscorpus", "biuld"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "invalid choice: 'biuld'" in unknown.stderr and "studio" in unknown.stderr
