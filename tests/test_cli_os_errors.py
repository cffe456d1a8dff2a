"""When the operating system refuses a file operation (a read-only or unwritable directory, a full disk), every
command says so in one line naming the path, exits 3, shows no traceback and leaves what was there as it was.

The refusals are real ones, made without privileges (tests may run as root, whom a 0o555 directory does not stop):
a directory path under a regular file (ENOTDIR) when root, else a 0o555 directory (EACCES); a directory where a
file is to be written (EISDIR); a file-size limit (``RLIMIT_FSIZE``: EFBIG, as a full disk fails a write).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

import newscorpus
from conftest import REPO
from newscorpus.cli import EXIT_OS_ERROR, main, os_error_message
from test_rebase import BODY, make_document

SPACEWAR = REPO / "corpus" / "raw" / "000_aa6e04d9d268f344.txt"
#: The commands run from their tmp_path: with the package under test, not one installed elsewhere.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(newscorpus.__file__).parents[1]),
                                                                 os.environ.get("PYTHONPATH")]))}


def unwritable(tmp_path: Path) -> Path:
    """A directory path no new file can be made in: under a regular file when root, else a 0o555 directory."""
    if os.geteuid() == 0:
        (tmp_path / "a-file").write_text("not a directory\n", encoding="utf-8")
        return tmp_path / "a-file" / "out"
    directory = tmp_path / "read-only"
    directory.mkdir()
    os.chmod(directory, 0o555)
    return directory


def _agreement(tmp_path: Path) -> dict:
    (tmp_path / "A").mkdir()
    where = unwritable(tmp_path)
    return {"argv": ["agreement", "A", "A", "--format", "json", "--output", str(where / "agr.md")], "path": where}


def _build(tmp_path: Path) -> dict:
    shutil.copytree(REPO / "corpus", tmp_path / "corpus")
    where = unwritable(tmp_path)
    return {"argv": ["build", "--corpus", "corpus", "--out", str(where / "dataset")], "path": where}


def _build_disk_full(tmp_path: Path) -> dict:
    shutil.copytree(REPO / "corpus", tmp_path / "corpus")
    return {"argv": ["build", "--corpus", "corpus", "--out", "out/dataset"], "path": tmp_path / "out", "fsize": 2000}


def _convert_onto_a_directory(tmp_path: Path) -> dict:
    assert main(["convert", str(SPACEWAR), "--out", str(tmp_path / "first")]) == 0
    [record] = (tmp_path / "first").iterdir()
    (tmp_path / "articles" / record.name).mkdir(parents=True)  # (where the record is to be written)
    return {"argv": ["convert", str(SPACEWAR), "--out", "articles"], "path": Path("articles", record.name)}


def _rebase_disk_full(tmp_path: Path) -> dict:
    document = tmp_path / "gold" / "moscowtimes-2023-10-20-1e425f2c.json"
    document.parent.mkdir()
    document.write_text(json.dumps(make_document(BODY)), encoding="utf-8")
    (tmp_path / "article.json").write_text(json.dumps(
        {"id": "moscowtimes-2023-10-20-1e425f2c", "body": {"text": "Intro.\n\n" + BODY, "paragraphs": []}}), encoding="utf-8")
    return {"argv": ["rebase", str(document), "--article", "article.json"], "path": document, "fsize": 1000,
            "unchanged": document}


#: case -> its set-up in a tmp_path: argv, the path the message must name, a file-size limit, a file left as it was.
CASES: dict[str, Callable[[Path], dict]] = {
    "agreement-output-unwritable": _agreement,
    "build-out-unwritable": _build,
    "build-disk-full": _build_disk_full,
    "convert-onto-a-directory": _convert_onto_a_directory,
    "rebase-disk-full": _rebase_disk_full,
}


def _limited(fsize: int) -> Callable[[], None]:
    def limit() -> None:  # (in the child: a write past fsize bytes fails with EFBIG instead of killing it)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return limit


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_refused_file_operation_is_one_line_naming_the_path_and_exit_3(tmp_path, capsys, case):
    setup = CASES[case](tmp_path)
    capsys.readouterr()
    before = setup["unchanged"].read_bytes() if "unchanged" in setup else None
    ran = subprocess.run([sys.executable, "-m", "newscorpus", *setup["argv"]], cwd=tmp_path, env=ENV,
                         capture_output=True, text=True, timeout=300, preexec_fn=_limited(setup["fsize"]) if "fsize" in setup else None)
    assert "Traceback" not in ran.stderr and "Traceback" not in ran.stdout
    assert ran.returncode == EXIT_OS_ERROR, ran.stderr
    last = ran.stderr.splitlines()[-1]
    assert last.startswith(f"newscorpus {setup['argv'][0]}: error: ") and str(setup["path"]) in last, last
    if before is not None:
        assert setup["unchanged"].read_bytes() == before
        assert not list(setup["unchanged"].parent.glob(".*.tmp"))


@pytest.mark.parametrize("error, message", [
    (OSError(30, "Read-only file system", "/data/out.json"), "Read-only file system: /data/out.json"),
    (OSError(18, "Invalid cross-device link", "/a/.x.tmp", None, "/b/x"), "Invalid cross-device link: /a/.x.tmp -> /b/x"),
    (OSError(28, "No space left on device", b"/data/out.json"), "No space left on device: /data/out.json"),
    (OSError(28, "No space left on device"), "No space left on device"),
    (OSError("no errno"), "no errno"),
])
def test_the_message_of_an_os_error(error, message):
    assert os_error_message(error) == message


def _raising(error: BaseException):
    def run(args):
        raise error
    return run


def test_a_programming_error_is_not_swallowed(monkeypatch):
    monkeypatch.setattr("newscorpus.commands.agreement.run", _raising(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        main(["agreement", "A", "B"])


@pytest.mark.parametrize("error, code", [(KeyboardInterrupt(), 130), (PermissionError(13, "Permission denied", "x"), 3)],
                         ids=["ctrl-c", "oserror"])
def test_exit_codes_of_an_interrupt_and_an_os_error(monkeypatch, capsys, error, code):
    monkeypatch.setattr("newscorpus.commands.agreement.run", _raising(error))
    assert main(["agreement", "A", "B"]) == code


def _run_into(stdout: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newscorpus", *args], stdout=stdout, stderr=subprocess.PIPE,
                          env=ENV, text=True, timeout=120)


def test_a_reader_that_went_away_ends_the_command_quietly_as_in_a_pipeline(tmp_path):
    """``newscorpus convert --out - ... | head``: the reader closed its end before the records were written (a
    pipe made here, its reading end closed first, so the write fails every time). Like ``cat``: nothing on
    stderr, the shell's status for SIGPIPE."""
    reading, writing = os.pipe()
    os.close(reading)
    try:
        finished = _run_into(writing, "convert", str(SPACEWAR), "--out", "-")
    finally:
        os.close(writing)
    assert (finished.returncode, finished.stderr) == (128 + signal.SIGPIPE, "")


def test_a_broken_pipe_that_is_not_stdout_is_still_an_error(monkeypatch, capsys):
    """A connection reset while stdout is fine (a server going away) is not taken for a reader closing stdout."""
    monkeypatch.setattr("newscorpus.commands.agreement.run", _raising(BrokenPipeError(32, "Broken pipe")))
    assert main(["agreement", "A", "B"]) == EXIT_OS_ERROR
    assert "error: Broken pipe" in capsys.readouterr().err
