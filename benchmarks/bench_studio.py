"""Push and pull N synthetic articles through a real Label Studio, next to the floors no sync can beat.

    python benchmarks/bench_studio.py [--sizes 1000,10000]

For each size, in the same run and against the same server:

* ``import floor``: one plain ``projects.import_tasks`` of exactly the task
  payload push sends, into a fresh project;
* ``push``: ``newscorpus.studio.sync.push`` of the corpus into a fresh project
  (reading and validating the gold files, converting, importing);
* ``export floor``: a plain raw JSON export of that project, parsed;
* ``pull (synced)``: ``pull`` right after the push (nothing to convert);
* ``pull (fresh)``: ``pull`` with no sync state (every annotation converted
  and compared with the local file, as on a fresh clone).

Each measurement runs in a fresh Python process, so "peak RSS" is that
operation's own peak resident memory.  Every operation runs ``--repeat``
times, interleaved (imports and pushes into fresh projects), and the fastest
run counts, as ``timeit`` does: on a shared machine the slow runs measure the
neighbours.  The server is ``LABEL_STUDIO_URL`` /
``LABEL_STUDIO_API_KEY`` if set, else a local one started (and stopped) here.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from newscorpus.corpus import CorpusLayout  # noqa: E402
from newscorpus.jsonio import dumps  # noqa: E402
from newscorpus.spans import body_sha256, span  # noqa: E402

WORDS = ("the minister said talks with Pyongyang went well and that Moscow would send a delegation "
         "according to state media officials told reporters on Thursday \U0001F600 caf\u0065\u0301 & a > b").split()
LABELS = ("PERSON", "ORG", "GPE", "NORP", "DATE")


def synthetic(n: int, seed: int = 7) -> tuple[dict[str, dict], dict[str, dict]]:
    """``n`` articles (~1,500 code points) with gold documents of 12 mentions and 3 quotes, deterministic."""
    rng = random.Random(seed)
    articles, golds = {}, {}
    for i in range(n):
        article_id = f"bench-{i:06d}"
        body = " ".join(rng.choice(WORDS) for _ in range(220)).replace(" . ", ".\r\n")
        words = [(m.start(), m.end()) for m in __import__("re").finditer(r"\S+", body)]
        picks = sorted(rng.sample(range(len(words)), 21))
        entities = [{"id": f"ent-{j}", "name": f"Entity {j}", "label": LABELS[j % len(LABELS)]} for j in range(4)]
        mentions = [{"id": f"m{j}", **span(body, *words[picks[j]]), "label": LABELS[j % len(LABELS)],
                     "entity": f"ent-{j % 4}", "annotator": "ann-01", "origin": "human"} for j in range(12)]
        for j in range(0, 12, 4):
            mentions[j].update(annotator="model-x", origin="model", modelVersion="ner-1", score=0.8)
        quotes = []
        for j in range(3):
            a, b, c = picks[12 + 3 * j: 15 + 3 * j]
            quotes.append({"id": f"q{j}", "type": ("direct", "indirect", "mixed")[j],
                           "content": [span(body, words[a][0], words[b][1])], "cue": span(body, *words[c]),
                           "speaker": f"m{j}", "annotator": "ann-01", "origin": "human"})
        articles[article_id] = {"id": article_id, "body": {"text": body}, "headlines": [{"value": f"Headline {i}"}]}
        golds[article_id] = {"schemaVersion": "1.0.0", "article": {"id": article_id, "bodySha256": body_sha256(body)},
                             "entities": entities, "mentions": mentions, "quotes": quotes}
    return articles, golds


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(operation: str, url: str, key: str, n: int, root: str, title: str, queue) -> None:
    from newscorpus.studio import sync

    articles, _ = synthetic(n)
    layout = CorpusLayout(Path(root) / "corpus")
    studio = sync.Studio(url, key, timeout=3600)
    state = Path(root) / ".studio"
    start = time.perf_counter()
    if operation == "import floor":
        project = studio.sdk.projects.create(title=title, label_config=__import__(
            "newscorpus.studio.config", fromlist=["x"]).labeling_config())
        payload = []
        for article_id, article in articles.items():
            gold = __import__("json").loads((layout.gold_dir / f"{article_id}.json").read_text(encoding="utf-8"))
            payload.append(sync._task_payload(article, gold)[0])
        start = time.perf_counter()  # the floor is the request alone, payload already built
        studio.sdk.projects.import_tasks(project.id, request=payload, request_options={"timeout_in_seconds": 3600})
    elif operation == "push":
        report = sync.push(layout, articles, studio, state, title=title)
        assert len(report.created) == n and not report.problems, report.problems[:3]
    elif operation == "export floor":
        project = studio.find_project(title)
        data = b"".join(studio.sdk.projects.exports.download_sync(
            project["id"], export_type="JSON", download_all_tasks=True, request_options={"timeout_in_seconds": 3600}))
        assert len(__import__("json").loads(data)) == n
    elif operation.startswith("pull"):
        if operation == "pull (fresh)":
            shutil.rmtree(state / "sync", ignore_errors=True)
        report = sync.pull(layout, studio, state, title=title)
        assert report.written and not report.changes and not report.problems, (report.problems[:3], report.changes[:3])
    queue.put((time.perf_counter() - start, _peak_mib()))


def measure(operation: str, url: str, key: str, n: int, root: Path, title: str) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one operation in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_worker, args=(operation, url, key, n, str(root), title, queue))
    process.start()
    result = queue.get()
    process.join()
    if process.exitcode:
        raise SystemExit(f"{operation} failed")
    return result


def main() -> int:
    """Run the benchmark; print one table per size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated article counts")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each operation, interleaved; the fastest counts (default: 2)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    started = None
    if os.environ.get("LABEL_STUDIO_URL") and os.environ.get("LABEL_STUDIO_API_KEY"):
        url, key = os.environ["LABEL_STUDIO_URL"], os.environ["LABEL_STUDIO_API_KEY"]
    else:
        from newscorpus.studio import server

        started = Path(tempfile.mkdtemp(prefix="bench-studio-")) / ".studio"
        print("starting a local Label Studio (first boot takes about a minute)...", flush=True)
        found = server.serve(started, port=_free_port())
        url, key = found.url, server.Credentials.load(started / "credentials.json").token
    try:
        for n in sizes:
            root = Path(tempfile.mkdtemp(prefix=f"bench-{n}-"))
            _, golds = synthetic(n)
            layout = CorpusLayout(root / "corpus")
            layout.gold_dir.mkdir(parents=True)
            for article_id, doc in golds.items():
                (layout.gold_dir / f"{article_id}.json").write_text(dumps(doc), encoding="utf-8")
            stamp = f"{int(time.time())}-{n}"
            best: dict[str, tuple[float, float]] = {}

            def keep(name: str, title: str) -> None:
                seconds, peak = measure(name, url, key, n, root, title)
                old = best.get(name)
                best[name] = (min(seconds, old[0]), max(peak, old[1])) if old else (seconds, peak)

            for run in range(args.repeat):  # interleaved, so that drift hits floors and sync alike
                keep("import floor", f"bench-floor-{stamp}-{run}")
                keep("push", f"bench-sync-{stamp}-{run}")
            for _ in range(args.repeat):
                for name in ("export floor", "pull (synced)", "pull (fresh)"):
                    keep(name, f"bench-sync-{stamp}-{args.repeat - 1}")
            rows = [(name, best[name]) for name in ("import floor", "push", "export floor", "pull (synced)", "pull (fresh)")]
            floors = {"push": best["import floor"][0], "pull (synced)": best["export floor"][0],
                      "pull (fresh)": best["export floor"][0]}
            print(f"\n{n} articles (12 mentions, 3 quotes each)")
            print(f"{'operation':<15}{'seconds':>10}{'per article':>14}{'x floor':>10}{'peak RSS':>12}")
            for name, (seconds, peak) in rows:
                ratio = f"{seconds / floors[name]:.2f}" if name in floors else "floor"
                print(f"{name:<15}{seconds:>10.2f}{seconds / n * 1000:>12.2f}ms{ratio:>10}{peak:>9.0f} MiB")
            shutil.rmtree(root, ignore_errors=True)
    finally:
        if started is not None:
            from newscorpus.studio import server

            server.stop(started)
            shutil.rmtree(started.parent, ignore_errors=True)
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
