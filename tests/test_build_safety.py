"""A build's safety: a build killed while writing, builds into one directory at once, and rebuilds after any sequence
of edits all leave what a cold build of the same corpus makes, and nothing else."""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock, Timeout

import newscorpus.build
import newscorpus.pipeline
from newscorpus.build import build
from newscorpus.corpus import CorpusLayout
from newscorpus.pipeline import ProcessMapper

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synth import generate  # noqa: E402

from edits import Editor, outcome, tree_digest  # noqa: E402  (tests/edits.py)

SRC = str(Path(newscorpus.build.__file__).resolve().parents[1])


def beside(out: Path) -> set[str]:
    """The names in the output directory's parent."""
    return {p.name for p in out.parent.iterdir()}


def change_headline(corpus: Path) -> None:
    """Edit the first raw file's headline, and its manifest line."""
    manifest = corpus / "raw" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    path = corpus / "raw" / entries[0]["file"]
    lines = path.read_text().split("\n")
    path.write_text("\n".join([lines[0] + " (updated)", *lines[1:]]))
    entries[0]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))


def build_in_child(corpus: Path, out: Path, cache: Path, stop_in: str | None = None, workers: int = 1) -> subprocess.Popen:
    """A build in another process (on ``workers`` processes); with ``stop_in``, it prints ``stopped`` and sleeps once the
    build function of that name has returned (for the test to kill it there)."""
    stop = (f"real = b.{stop_in}; b.{stop_in} = lambda *a, **k: (real(*a, **k), print('stopped', flush=True), time.sleep(60))[0];"
            if stop_in else "")
    code = ("import sys, time; from pathlib import Path; import newscorpus.build as b; from newscorpus.corpus import CorpusLayout;"
            f"from newscorpus.pipeline import ProcessMapper; {stop}"
            f"b.build(CorpusLayout(Path({str(corpus)!r})), Path({str(out)!r}), cache_dir=Path({str(cache)!r}),"
            f" mapper=ProcessMapper({workers}), group_articles=4); print('built', flush=True)")
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": SRC})


# ---------------------------------------------------------------- killed while writing


@pytest.mark.parametrize("stop_in", ["_write_shards", "_write_card"])
def test_a_build_killed_while_writing_leaves_the_last_output_and_the_next_clears_what_it_left(tmp_path, stop_in):
    corpus = generate(tmp_path / "c", 16, seed=41)
    out, cache = tmp_path / "out" / "dataset", tmp_path / "cache"
    outcome(corpus, out, cache)
    before = tree_digest(out)
    change_headline(corpus)
    child = build_in_child(corpus, out, cache, stop_in)
    assert child.stdout.readline().strip() == "stopped"
    child.kill()
    child.communicate()
    assert tree_digest(out) == before  # the last output, whole
    left = beside(out) - {"dataset", ".dataset.lock"}
    assert len(left) == 1 and left.pop().startswith(".dataset.")  # the killed build's half-written directory
    again = outcome(corpus, out, cache)
    assert beside(out) <= {"dataset", ".dataset.lock"}
    assert again == outcome(corpus, tmp_path / "cold" / "dataset", tmp_path / "cold-cache")


def _slow_group_task(*args):
    time.sleep(0.3)
    return _GROUP_TASK(*args)


_GROUP_TASK = newscorpus.build.group_task


def test_a_build_interrupted_while_its_groups_are_written_leaves_nothing_beside_the_output(tmp_path, monkeypatch):
    """Ctrl-C while the workers write groups into the staging directory: the build waits for the groups already being
    written before it deletes that directory (the ones that ended after it made it again, for good)."""
    corpus = generate(tmp_path / "c", 40, seed=53)
    out = tmp_path / "out" / "dataset"
    monkeypatch.setattr(newscorpus.build, "group_task", _slow_group_task)  # the workers are forked with it

    def interrupt(now: bool = False) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(newscorpus.build, "release_free_memory", lambda now=False: None if now else interrupt())
    with pytest.raises(KeyboardInterrupt):
        build(CorpusLayout(corpus), out, cache_dir=tmp_path / "cache", mapper=ProcessMapper(2), group_articles=3)
    time.sleep(1.0)  # what a group still running would write
    assert beside(out) == {".dataset.lock"}


@pytest.mark.timeout(120)
def test_a_build_interrupted_in_its_scan_ends(tmp_path, monkeypatch):
    """Ctrl-C (here in the main process only, as ``kill -INT`` sends it) while the workers convert: the build
    ends promptly, and nothing is written beside the output."""
    corpus = generate(tmp_path / "c", 40, seed=59)
    out = tmp_path / "out" / "dataset"
    calls = []

    def interrupt_later(now: bool = False) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 4)
    monkeypatch.setattr(newscorpus.pipeline, "release_free_memory", interrupt_later)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        build(CorpusLayout(corpus), out, cache_dir=tmp_path / "cache", mapper=ProcessMapper(2), group_articles=3)
    assert time.monotonic() - started < 60 and not out.parent.exists()


def _slow_identity(n: int) -> int:
    time.sleep(0.05)
    return n


@pytest.mark.timeout(60)
def test_a_map_closed_after_its_pool_stopped_returns():
    """A map left early waits for its running work while its pool runs; once the pool has stopped, work it had
    queued never ends, and closing the map must not wait for it."""
    mapper = ProcessMapper(2)
    results = mapper.map(_slow_identity, range(64), batch=1)
    assert next(results) == 0
    mapper.close()
    results.close()


def process_states() -> dict[int, tuple[str, int]]:
    """Every process's state letter and parent, from ``/proc`` (Linux)."""
    states = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            states[int(entry.name)] = (state, int(parent))
    return states


def alive_children(parent: int) -> list[int]:
    """The processes ``parent`` started that still run (a zombie has ended)."""
    return [pid for pid, (state, ppid) in process_states().items() if ppid == parent and state != "Z"]


def running(pids: list[int]) -> list[int]:
    """Those of ``pids`` that still run."""
    states = process_states()
    return [pid for pid in pids if pid in states and states[pid][0] != "Z"]


def test_the_workers_of_a_killed_build_end_with_it(tmp_path):
    """A pool's idle worker waits on a pipe its siblings also hold open: killed builds left theirs for good."""
    corpus = generate(tmp_path / "c", 16, seed=47)
    child = build_in_child(corpus, tmp_path / "out" / "dataset", tmp_path / "cache", "_write_shards", workers=2)
    assert child.stdout.readline().strip() == "stopped"
    workers = alive_children(child.pid)
    assert len(workers) == 2
    child.kill()
    child.wait()  # not its pipes' end: workers that outlived it would hold them open
    child.stdout.close()
    child.stderr.close()
    deadline = time.monotonic() + 10
    while running(workers):
        assert time.monotonic() < deadline, f"workers {running(workers)} outlived their build"
        time.sleep(0.05)


def test_the_segments_checker_of_a_killed_build_ends_with_it(tmp_path, monkeypatch):
    """A rebuild forks a child that checks the index's segments ahead of the scan; here its checks are slowed down,
    so the build waits for it, and is killed then."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)  # the files just made are recorded by their stat
    corpus = generate(tmp_path / "c", 16, seed=48)
    out, cache = tmp_path / "out" / "dataset", tmp_path / "cache"
    build(CorpusLayout(corpus), out, cache_dir=cache, mapper=ProcessMapper(1), group_articles=4)
    code = ("import sys, time; from pathlib import Path; import newscorpus.build as b, newscorpus.pipeline as p;"
            "from newscorpus.corpus import CorpusLayout; from newscorpus.pipeline import ProcessMapper;"
            "p.files_unchanged = lambda files: time.sleep(60);"
            f"b.build(CorpusLayout(Path({str(corpus)!r})), Path({str(out)!r}), cache_dir=Path({str(cache)!r}),"
            " mapper=ProcessMapper(1), group_articles=4)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONPATH": SRC})
    deadline = time.monotonic() + 60
    while not (checkers := alive_children(child.pid)):
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    child.kill()
    child.wait()
    deadline = time.monotonic() + 10
    while running(checkers):
        assert time.monotonic() < deadline, f"the checker {running(checkers)} outlived its build"
        time.sleep(0.05)


def test_only_what_killed_builds_leave_is_cleared(tmp_path):
    out = tmp_path / "dataset"
    made = [".dataset.k2j4_x9a", ".dataset.ab12cd34", ".dataset.notes", ".dataset.k2j4_x9ab", ".dataset-copy.k2j4_x9a",
            "dataset.k2j4_x9a", ".other.k2j4_x9a", ".dataset.old.ab12cd34"]  # the last: a build into "dataset.old"
    for name in made:
        (tmp_path / name).mkdir()
    (tmp_path / ".dataset.file1234").write_text("a file, not a directory")
    (tmp_path / ".dataset.link1234").symlink_to(tmp_path / ".other.k2j4_x9a")
    assert [p.name for p in newscorpus.build._leftovers(out)] == [".dataset.ab12cd34", ".dataset.k2j4_x9a"]


# ---------------------------------------------------------------- the swap


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_the_new_output_replaces_the_old_whole(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(newscorpus.build, "_renameat2", lambda: None)
    elif newscorpus.build._renameat2() is None:
        pytest.fail("renameat2 is missing: this test runs on Linux with glibc 2.28 or later")
    out = tmp_path / "dataset"
    for version in ("first", "second", "third"):
        staging = tmp_path / f".dataset.{version:_<8}"
        staging.mkdir()
        (staging / "README.md").write_text(version)
        newscorpus.build._swap_in(staging, out)
        assert (out / "README.md").read_text() == version and beside(out) == {"dataset"}


def test_the_output_directory_is_never_missing_while_swapped(tmp_path):
    """Another process looking at the output while builds replace it 300 times always finds one: the names are
    exchanged in one step (with two renames it found none 517 times in 93,690 looks, in one run here)."""
    out = tmp_path / "dataset"
    out.mkdir()
    (out / "README.md").write_text("0")
    watcher = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; missing = seen = 0\n"
         "while not os.path.exists(sys.argv[2]):\n"
         "    seen += 1; missing += not os.path.exists(sys.argv[1])\n"
         "print(missing, seen)", str(out / "README.md"), str(tmp_path / "done")],
        stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    for n in range(1, 301):
        staging = tmp_path / f".dataset.{n:08d}"
        staging.mkdir()
        (staging / "README.md").write_text(str(n))
        newscorpus.build._swap_in(staging, out)
    (tmp_path / "done").touch()
    missing, seen = map(int, watcher.communicate(timeout=30)[0].split())
    assert seen > 1000 and missing == 0


# ---------------------------------------------------------------- one build at a time


def test_a_build_into_a_directory_another_is_writing_waits_for_it(tmp_path):
    corpus = generate(tmp_path / "c", 12, seed=43)
    out, cache = tmp_path / "out" / "dataset", tmp_path / "cache"
    out.parent.mkdir()
    held = FileLock(out.parent / ".dataset.lock")
    with held:  # as a build writing into it would
        child = build_in_child(corpus, out, cache)
        said, _, _ = select.select([child.stderr], [], [], 120)  # a build that waits without saying so fails, not hangs
        if not said:
            child.kill()
        waiting = child.stderr.readline()
        assert "another build is writing into" in waiting and str(out) in waiting
        time.sleep(0.2)
        assert not out.exists() and child.poll() is None
    stdout, _ = child.communicate(timeout=120)
    assert child.returncode == 0 and stdout.strip() == "built"
    assert tree_digest(out) == outcome(corpus, tmp_path / "cold" / "dataset", tmp_path / "cold-cache")[2]


# ---------------------------------------------------------------- any sequence of edits


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_after_any_sequence_of_edits_a_rebuild_is_a_cold_build(tmp_path, monkeypatch, seed):
    """Every kind of edit once, in an order and on articles the seed picks, a rebuild after each (the same cache and
    output directory), each compared with a cold build of the corpus as it then is: the same problems, counts and
    files, byte for byte.  The stat index is trusted at once and answers segments of five files, so its paths run at
    this size.  (Hundreds of longer sequences, with builds killed at random moments, ran outside the suite: see
    tests/soak_build.py.)"""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)
    monkeypatch.setattr(newscorpus.pipeline, "SEGMENT", 5)
    rng = random.Random(seed)
    corpus = generate(tmp_path / "c" / "corpus", 24, seed=seed)
    out, cache = tmp_path / "out" / "dataset", tmp_path / "cache"
    editor = Editor(corpus, out, cache, rng)
    outcome(corpus, out, cache, workers=2)
    edits = list(Editor.EDITS)
    rng.shuffle(edits)
    done = []
    for step, name in enumerate(edits):
        done.append(editor.edit(name))
        time.sleep(0.01)  # past the file system's clock tick: an edit is never in the tick its last stat was taken
        shutil.rmtree(tmp_path / "cold", ignore_errors=True)
        cold = outcome(corpus, tmp_path / "cold" / "dataset", tmp_path / "cold" / "cache")
        assert outcome(corpus, out, cache, workers=1 + step % 2) == cold, done


def test_where_there_is_no_flock_the_output_lock_is_filelock_s_and_is_released(tmp_path, monkeypatch):
    from newscorpus.cache import exclusive_lock

    monkeypatch.setitem(sys.modules, "fcntl", None)  # as on Windows: `import fcntl` fails
    path, said = tmp_path / ".dataset.lock", []
    with exclusive_lock(path, lambda: said.append("waiting")):
        with pytest.raises(Timeout):
            FileLock(path).acquire(timeout=0)  # held
    other = FileLock(path)
    other.acquire(timeout=0)  # released
    other.release()
    assert said == []


def _holding(*names: str):
    """An output path that already holds ``names`` (directories end with ``/``)."""
    def make(root: Path, corpus: Path) -> Path:
        out = root / "out"
        out.mkdir()
        for name in names:
            (out / name.rstrip("/")).mkdir() if name.endswith("/") else (out / name).write_text("mine")
        return out
    return make


#: Outputs a build must refuse to replace, and a word of the message that says why.
REFUSED_OUTPUTS = {
    "a-directory-of-other-files": (_holding("thesis.txt"), "thesis.txt"),
    "a-dataset-with-more-files": (_holding("README.md", "data/", "notes.md"), "notes.md"),
    "a-git-checkout-of-the-dataset": (_holding("README.md", "data/", ".git/"), ".git"),
    "a-regular-file": (lambda root, corpus: (root / "out.txt", (root / "out.txt").write_text("mine"))[0], "a file"),
    "a-symbolic-link": (lambda root, corpus: (root / "out", (root / "out").symlink_to(root / "elsewhere", target_is_directory=True))[0],
                        "a symbolic link"),
    "the-corpus": (lambda root, corpus: corpus, "the corpus"),
    "the-corpus-parent": (lambda root, corpus: corpus.parent, "the corpus"),
    "the-current-directory": (lambda root, corpus: Path("."), "the current directory"),
}


@pytest.mark.parametrize("case", REFUSED_OUTPUTS, ids=list(REFUSED_OUTPUTS))
def test_a_build_never_replaces_what_it_did_not_write(repo_copy, tmp_path, monkeypatch, case):
    """A build replaces its output directory whole: an --out that holds anything else is refused before anything is
    read or written, and everything there stays as it was (the command exits 2, naming the path)."""
    make, reason = REFUSED_OUTPUTS[case]
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere" if case != "the-current-directory" else repo_copy / "corpus" / "raw")
    corpus = repo_copy / "corpus"
    out = make(tmp_path, corpus)
    before = {str(p): p.read_bytes() if p.is_file() else None for p in sorted(tmp_path.rglob("*")) if "hf-cache" not in p.parts}
    from newscorpus.cli import main

    with pytest.raises(newscorpus.build.UsageError, match=reason):
        build(CorpusLayout(corpus), out, cache_dir=tmp_path / "cache", mapper=ProcessMapper(1))
    assert main(["build", "--corpus", str(corpus), "--out", str(out), "--cache", str(tmp_path / "cache")]) == 2
    after = {str(p): p.read_bytes() if p.is_file() else None for p in sorted(tmp_path.rglob("*")) if "hf-cache" not in p.parts}
    assert after == before


@pytest.mark.parametrize("existing", ["nothing", "an-empty-directory", "a-previous-build", "a-previous-build-uploaded"])
def test_a_build_replaces_a_previous_build_or_an_empty_directory(repo_copy, tmp_path, existing):
    out = tmp_path / "dataset"
    layout = CorpusLayout(repo_copy / "corpus")
    if existing != "nothing":
        out.mkdir()
    if existing.startswith("a-previous-build"):
        build(layout, out, cache_dir=tmp_path / "cache", mapper=ProcessMapper(1))
    if existing == "a-previous-build-uploaded":  # huggingface_hub's upload of a folder keeps its state in .cache/
        (out / ".cache" / "huggingface").mkdir(parents=True)
    result = build(layout, out, cache_dir=tmp_path / "cache", mapper=ProcessMapper(1))
    assert result.out == out.resolve() and (out / "README.md").is_file()
    assert {p.name for p in out.iterdir()} <= newscorpus.build.OUTPUT_ENTRIES


@pytest.mark.parametrize("state", ["running", "ended-not-reaped", "reaped"])
def test_a_worker_takes_its_parent_for_running_only_until_it_ends(state):
    """A worker checks that its build runs once its parent-death signal is set: a build killed a moment before and
    not yet reaped (a zombie, which a signal 0 still reaches) has ended, or the worker waits for good."""
    from newscorpus.pipeline import _running

    pid = os.fork()
    if pid == 0:  # the child: runs, or ends at once
        try:
            if state == "running":
                time.sleep(60)
        finally:
            os._exit(0)
    try:
        if state != "running":
            deadline = time.monotonic() + 10
            while Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0] != b"Z":
                assert time.monotonic() < deadline
                time.sleep(0.01)
            if state == "reaped":
                os.waitpid(pid, 0)
        assert _running(pid) == (state == "running")
    finally:
        if state != "reaped":
            if state == "running":
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
