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


@pytest.mark.parametrize(("argv", "code", "said"), [
    (["--version"], 0, "newscorpus "),  # argparse's exit (SystemExit)
    (["validate", "--corpus", "no-such-corpus"], 2, "no-such-corpus"),  # the command's own code, its message on stderr
])
def test_the_command_ends_without_freeing_its_modules_and_after_every_other_exit_handler(argv, code, said, tmp_path):
    """``python -m newscorpus`` (and the ``newscorpus`` script, :func:`newscorpus.cli.run`) puts its objects out of the
    collector's reach at exit, once the exit handlers registered before it have run (an exit handler registered
    earlier runs after it, and finds them frozen): the interpreter's last collection frees nothing one by one.  Its
    output and exit code are as they were."""
    script = ("import atexit, gc, runpy, sys; atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0));"
              "sys.argv = ['newscorpus', *sys.argv[1:]]; runpy.run_module('newscorpus', run_name='__main__')")
    ran = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, cwd=tmp_path)
    assert ran.returncode == code
    assert said in ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[-1] == "frozen at exit: True"


def test_the_installed_script_is_the_command_that_ends_without_teardown():
    """pyproject.toml's ``newscorpus`` script, and the one installed, run :func:`newscorpus.cli.run`, as
    ``python -m newscorpus`` does."""
    import tomllib

    from importlib.metadata import entry_points

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["newscorpus"] == "newscorpus.cli:run"
    assert entry_points(group="console_scripts")["newscorpus"].value == "newscorpus.cli:run"  # (as installed)


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
