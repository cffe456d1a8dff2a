"""Permission bits of what newscorpus writes: a rewrite keeps the file's, a new file gets those of a plain
``open(path, "w")`` (0o666 without the umask's bits), and a secret is 0600 whatever the umask."""

from __future__ import annotations

import json
import os
import shutil
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from newscorpus import jsonio
from newscorpus.cli import main
from newscorpus.jsonio import write_json_atomic, write_text_atomic
from newscorpus.studio.server import Credentials
from newscorpus.studio.sync import SyncState

SEEDS = Path(__file__).resolve().parents[1] / "corpus" / "raw"
SPACEWAR = "000_aa6e04d9d268f344.txt"

#: umasks a new file is made under, and the bits it must get.
UMASKS = [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)]


@contextmanager
def umask_of(mask: int):
    """Run the block with the process's umask ``mask``, then restore the previous one."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o444], ids=oct)
def test_a_rewrite_keeps_the_bits_of_the_file_it_replaces(tmp_path, mode):
    path = tmp_path / "gold" / "a.json"
    path.parent.mkdir()
    path.write_text("{}\n", encoding="utf-8")
    os.chmod(path, mode)
    with umask_of(0o077):
        write_json_atomic(path, {"a": 1})
    assert mode_of(path) == mode
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]


@pytest.mark.parametrize("mask, expected", UMASKS, ids=[f"umask-{m:03o}" for m, _ in UMASKS])
def test_a_new_file_gets_the_bits_of_a_plain_open(tmp_path, mask, expected):
    with umask_of(mask):
        write_text_atomic(tmp_path / "new.md", "x\n")
        with open(tmp_path / "plain.md", "w", encoding="utf-8"):
            pass
    assert mode_of(tmp_path / "new.md") == mode_of(tmp_path / "plain.md") == expected


@pytest.mark.parametrize("proc", [True, False], ids=["proc-status", "set-and-restore"])
@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077], ids=oct)
def test_the_umask_is_read_without_changing_it(monkeypatch, proc, mask):
    if not proc:  # where /proc/self/status cannot be read, it is set and restored
        def no_proc(*args, **kwargs):
            raise FileNotFoundError("/proc/self/status")

        monkeypatch.setattr(jsonio, "open", no_proc, raising=False)
    with umask_of(mask):
        assert jsonio.umask() == mask
        assert os.umask(mask) == mask


@pytest.mark.parametrize("mask", [0o000, 0o022], ids=oct)
def test_secrets_are_0600_whatever_the_umask(tmp_path, mask):
    directory = tmp_path / ".studio"
    with umask_of(mask):
        Credentials.load_or_create(directory)
        state = SyncState.load(directory, "http://127.0.0.1:8080", "newscorpus")
        state.save()
        state.save()  # (a rewrite too)
    assert mode_of(directory / "credentials.json") == 0o600
    assert mode_of(state.path) == 0o600
    assert Credentials.load(directory / "credentials.json").token  # (load refuses a file others can read)


def _convert(tmp_path: Path) -> tuple[list[str], Path]:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copyfile(SEEDS / SPACEWAR, raw / SPACEWAR)
    return ["convert", str(raw / SPACEWAR), "--out", str(tmp_path / "articles")], tmp_path / "articles"


def _agreement(tmp_path: Path) -> tuple[list[str], Path]:
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    report = tmp_path / "report" / "agreement.json"
    return ["agreement", str(tmp_path / "A"), str(tmp_path / "B"), "--format", "json", "--output", str(report)], report


#: command -> (its argv in a tmp_path, the file or directory of files it writes).
COMMANDS = {"convert": _convert, "agreement": _agreement}


@pytest.mark.parametrize("mask, expected", UMASKS, ids=[f"umask-{m:03o}" for m, _ in UMASKS])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_outputs_get_the_bits_of_a_plain_open(tmp_path, capsys, command, mask, expected):
    argv, written = COMMANDS[command](tmp_path)
    with umask_of(mask):
        main(argv)
    files = sorted(written.iterdir()) if written.is_dir() else [written]
    assert files and {mode_of(f) for f in files} == {expected}
    capsys.readouterr()
