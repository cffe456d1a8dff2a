"""Soak the incremental build: long random sequences of edits (``edits.Editor``) and of builds killed at random
moments.  After each step: the rebuild is a cold build of the corpus as it then is (problems, counts, every file),
nothing is left beside the output but the output and its lock, and no worker of a killed build still runs.  Not
part of the suite (minutes, and random); the suite runs every kind of edit once (``test_build_safety.py``).

::

    PYTHONPATH=src python tests/soak_build.py --sequences 20 --steps 20 --workdir /tmp/soak
    PYTHONPATH=src python tests/soak_build.py --sequences 20 --small-windows --first 100 --workdir /tmp/soak

``--small-windows`` shrinks the scan's segments, batches and windows to a few files, so their paths run at this
size.  Exit status 1 when a step fails one of those checks, or a killed build changed the output.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import newscorpus.build
import newscorpus.pipeline

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "benchmarks")]
from edits import Editor, outcome, tree_digest  # noqa: E402
from synth import generate  # noqa: E402

#: What ``--small-windows`` sets (module, name, value): segments of five files, batches and windows of a few.
SMALL_WINDOWS = [(newscorpus.pipeline, "SEGMENT", 5), (newscorpus.pipeline, "_KEPT_BATCH", 3),
                 (newscorpus.pipeline, "RESOLVED_AT_ONCE", 5), (newscorpus.pipeline, "READ_AT_ONCE", 3),
                 (newscorpus.pipeline, "_KNOWN_WINDOW", 3), (newscorpus.pipeline, "READ_AHEAD", 2),
                 (newscorpus.build, "FLATTENED_IN_ARROW", 2)]


def configure(small_windows: bool) -> None:
    """Trust the stat index at once (as after 2 s); with ``small_windows``, shrink the scan's windows."""
    newscorpus.pipeline.RACY_NS = 0
    for module, name, value in SMALL_WINDOWS if small_windows else []:
        setattr(module, name, value)


def killed_build(corpus: Path, out: Path, cache: Path, workers: int, small_windows: bool, rng: random.Random) -> str:
    """A build in a child process, killed (``SIGKILL``) at a random moment; it may also finish first."""
    args = [sys.executable, __file__, "--child", str(corpus), str(out), str(cache), str(workers)]
    child = subprocess.Popen(args + (["--small-windows"] if small_windows else []), env={**os.environ},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    delay = rng.uniform(0.02, 0.7)
    time.sleep(delay)
    child.kill()
    child.wait()
    deadline = time.monotonic() + 5
    while outliving(str(out)):  # its pool's workers, forked with its command line, end with it
        if time.monotonic() > deadline:
            return f"workers {outliving(str(out))} outlived a build killed after {delay:.2f} s"
        time.sleep(0.05)
    return f"build killed after {delay:.2f} s" if child.returncode < 0 else "build finished before the kill"


def outliving(out: str) -> list[int]:
    """The running processes (not zombies) whose command line names ``out``: a killed child build's workers (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and out.encode() in (entry / "cmdline").read_bytes():
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def sequence(seed: int, steps: int, articles: int, small_windows: bool, workdir: Path) -> tuple[bool, list[str]]:
    """One sequence: the edits and kills done, and whether every rebuild was its cold build."""
    rng = random.Random(seed)
    work = workdir / f"seed-{seed}"
    shutil.rmtree(work, ignore_errors=True)
    corpus = generate(work / "c" / "corpus", articles, seed=seed)
    out, cache = work / "out" / "dataset", work / "cache"
    editor = Editor(corpus, out, cache, rng)
    workers = 1 + seed % 2
    outcome(corpus, out, cache, workers)
    done: list[str] = []
    for _ in range(steps):
        before = tree_digest(out)
        name = rng.choice([*Editor.EDITS, "kill", "kill"])
        if name == "kill":
            done.append(killed_build(corpus, out, cache, workers, small_windows, rng))
        else:
            done.append(editor.edit(name))
        time.sleep(0.01)  # past the file system's clock tick
        shutil.rmtree(work / "cold", ignore_errors=True)
        cold = outcome(corpus, work / "cold" / "dataset", work / "cold" / "cache")
        if done[-1].startswith("workers"):
            return False, done
        if name == "kill" and tree_digest(out) not in (before, cold[2]):
            return False, done + ["the killed build changed the output"]
        if outcome(corpus, out, cache, workers) != cold:
            return False, done + ["the rebuild differs from the cold build"]
        left = {p.name for p in out.parent.iterdir()} - {"dataset", ".dataset.lock"}
        if left:
            return False, done + [f"left beside the output: {sorted(left)}"]
    shutil.rmtree(work, ignore_errors=True)
    return True, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=10)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--articles", type=int, default=30)
    parser.add_argument("--first", type=int, default=0, help="the first sequence's seed")
    parser.add_argument("--small-windows", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("build/soak"))
    parser.add_argument("--child", nargs=4, metavar=("CORPUS", "OUT", "CACHE", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    configure(args.small_windows)
    if args.child:
        corpus, out, cache, workers = args.child
        outcome(Path(corpus), Path(out), Path(cache), int(workers))
        return 0
    failed, kills = [], 0
    for seed in range(args.first, args.first + args.sequences):
        ok, done = sequence(seed, args.steps, args.articles, args.small_windows, args.workdir)
        kills += sum(step.startswith("build killed") for step in done)
        print(f"seed {seed}: {'ok' if ok else 'FAILED'}: " + "; ".join(done), flush=True)
        if not ok:
            failed.append(seed)
    print(f"{args.sequences} sequences of {args.steps} steps, {kills} builds killed mid-way: "
          f"{'all rebuilds were their cold builds' if not failed else f'failed seeds {failed}'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
