"""CPU time of the scan's per-file stages in one process: MinHash signatures and annotation-document checks.

``--prepare`` scans the corpus once (two workers) into ``WORKDIR/cache`` and keeps what the stages
need: the article bodies (``bodies.pkl``) and the document tasks with their articles' cache keys
(``tasks.pkl``); the clusters of that scan go to ``clusters-<label>.json`` for comparison.  Then, with
the clock on (user and system CPU time of this process):

- **signature**: :func:`newscorpus.clusters.signature` of every body;
- **document_task**: :func:`newscorpus.pipeline.document_task` of every document, against a fresh
  ``document`` namespace (the articles are read from the prepared cache), split into its parts with
  ``--profile``.

``--clusters LABEL`` clusters the prepared articles with the current signatures and counts the
articles whose cluster differs from ``clusters-LABEL.json`` (a signature change must not move them).

::

    PYTHONPATH=src python benchmarks/bench_stages.py /work/bench/n10000/corpus /tmp/stages --prepare
    PYTHONPATH=src python benchmarks/bench_stages.py /work/bench/n10000/corpus /tmp/stages --limit 2000
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pickle
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def prepare(corpus: Path, workdir: Path, label: str) -> None:
    """Scan ``corpus`` into ``workdir/cache`` and store the bodies, the document tasks and the clusters."""
    from newscorpus.clusters import cluster_signatures
    from newscorpus.corpus import CorpusLayout
    from newscorpus.pipeline import ProcessMapper, load_article, scan

    workdir.mkdir(parents=True, exist_ok=True)
    layout = CorpusLayout(corpus)
    result = scan(layout, workdir / "cache", ProcessMapper(2))
    index = result.index
    clusters = cluster_signatures(index.ids, index.signature_matrix(), index.dates)
    (workdir / f"clusters-{label}.json").write_text(json.dumps(clusters, sort_keys=True), encoding="utf-8")
    if (workdir / "tasks.pkl").exists():
        return
    bodies = [load_article(workdir / "cache", key)["body"]["text"] for key in index.keys]
    keys = dict(zip(index.ids, index.keys))
    tasks = [(str(path), layout.rel(path), path.stem, keys.get(path.stem)) for path in layout.gold_files()]
    (workdir / "bodies.pkl").write_bytes(pickle.dumps(bodies))
    (workdir / "tasks.pkl").write_bytes(pickle.dumps(tasks))


def compare_clusters(workdir: Path, label: str) -> None:
    """Cluster every article of the prepared cache with the current :func:`signature`; print how many differ."""
    import numpy as np
    import orjson

    from newscorpus.cache import Cache, CacheStats
    from newscorpus.clusters import cluster_signatures, signature

    store = Cache(workdir / "cache")
    ids, dates, signatures = [], [], []
    for entry in sorted((workdir / "cache" / "convert").glob("*/*")):
        meta, payload = store.get("convert", entry.name, CacheStats())
        if payload:
            article = orjson.loads(payload)
            ids.append(article["id"])
            dates.append(article["datePublished"])
            signatures.append(signature(article["body"]["text"]))
    now = cluster_signatures(ids, np.stack(signatures), dates)
    before = json.loads((workdir / f"clusters-{label}.json").read_text(encoding="utf-8"))
    moved = sorted(ident for ident in before if now.get(ident) != before[ident])

    def grouped(clusters: dict[str, str]) -> int:
        return sum(1 for ident, cluster in clusters.items() if ident != cluster)

    print(f"clusters: {len(now)} articles, {len(set(now.values()))} clusters now, {len(set(before.values()))} "
          f"in {label}; not first of a cluster: {grouped(now)} now, {grouped(before)} in {label}; "
          f"cluster differs for {len(moved)}: {moved[:10]}")


def _timed(fn, items) -> tuple[float, float]:
    """User and system CPU seconds of ``fn`` over ``items``, with the cyclic garbage collector paused as the
    scan pauses it (system time is mostly creating cache files: it varies with what else writes to the disk)."""
    from newscorpus.heap import paused_gc

    with paused_gc():
        start = resource.getrusage(resource.RUSAGE_SELF)
        for item in items:
            fn(item)
        end = resource.getrusage(resource.RUSAGE_SELF)
    return end.ru_utime - start.ru_utime, end.ru_stime - start.ru_stime


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--prepare", action="store_true", help="scan the corpus first (and record its clusters)")
    parser.add_argument("--label", default="now", help="name of the clusters file --prepare writes")
    parser.add_argument("--limit", type=int, default=None, help="only the first N bodies and documents")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each stage")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="where the fresh document cache goes (default: the system's temporary directory; "
                             "/dev/shm takes the file system's cost of creating entries out of the figures)")
    parser.add_argument("--clusters", metavar="LABEL", help="compare the clusters with those of clusters-LABEL.json")
    args = parser.parse_args(argv)
    if args.prepare:
        prepare(args.corpus.resolve(), args.workdir, args.label)
    if args.clusters:
        compare_clusters(args.workdir, args.clusters)
        return 0
    from newscorpus.clusters import signature
    from newscorpus.pipeline import Job, document_task

    bodies = pickle.loads((args.workdir / "bodies.pkl").read_bytes())[:args.limit]
    tasks = pickle.loads((args.workdir / "tasks.pkl").read_bytes())[:args.limit]
    scratch = Path(tempfile.mkdtemp(prefix="bench-stages-", dir=args.scratch))
    try:
        os.symlink((args.workdir / "cache" / "convert").resolve(), scratch / "convert")
        job = Job(str(args.corpus), "raw", str(scratch), "bench", "bench")
        stages = {"signature": (signature, bodies), "document_task": (lambda t: document_task(job, t), tasks)}
        for name, (fn, items) in stages.items():
            profile = cProfile.Profile() if args.profile else None
            if profile:
                profile.enable()
            user, system = _timed(fn, items)
            if profile:
                profile.disable()
                pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
            print(f"{name}: {len(items)} items, {user + system:.2f} CPU s (user {user:.2f}, system {system:.2f})")
    finally:
        shutil.rmtree(scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
