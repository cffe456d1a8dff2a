"""The scale benchmark (issue 6's one command) runs end to end at a small size and prints every stage side by side."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import bench_build  # noqa: E402


@pytest.mark.parametrize("runs, median_seconds, highest", [
    ([(30.5, 57.3, "80 / 201", "a"), (27.0, 40.1, "91 / 190", "b"), (28.2, 45.0, "79 / 213", "c")], 28.2, "91 / 213"),
    ([(9.0, 9.4, "410", "a"), (10.7, 11.0, "411", "b")], 10.7, "411"),  # an even number: the upper one; no workers
    ([(1.7, 2.0, "134 / 32", "a")], 1.7, "134 / 32"),
])
def test_repeated_runs_report_the_median_time_and_the_highest_peaks(runs, median_seconds, highest):
    assert bench_build.median(runs)[0] == median_seconds
    assert bench_build._highest_rss(runs) == highest


def test_the_build_benchmark_prints_every_stage_with_its_ratio(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_build.py"), "--sizes", "120", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, env=env, check=True, timeout=600)
    rows = [line.strip("| ").split(" | ") for line in done.stdout.splitlines() if line.startswith("| 120 |")]
    stages = [row[1] for row in rows]
    assert stages == [
        "generate synthetic corpus", "newscorpus build (full, cold cache), median of 3",
        "newscorpus build (one raw file changed), median of 3",
        "by hand: load_dataset('json', features=...) + to_parquet, the 'articles' config",
        "by hand: load_dataset('json', features=...) + to_parquet, all three configs, as ours, median of 3",
        "floor: pyarrow read_json + write_table", "load_dataset(our output, 'articles'), median of 3",
        "load_dataset('parquet', by-hand file), median of 3",
    ]
    full = rows[1][-1]  # three cold builds, alternating with the by-hand path; the median run's report: every article converted
    assert re.match(r'each: \d+\.\d\d / \d+\.\d\d / \d+\.\d\d s; \{"problems": \d+, "misses": \{"convert": 120,', full), full
    rebuild = rows[2][-1]
    assert re.match(r"\d+\.\d% of full \(\d+\.\d% in CPU time\); each: \d+\.\d\d / \d+\.\d\d / \d+\.\d\d s; ", rebuild)
    assert '"misses": {"convert": 1,' in rebuild  # each rebuild converted the one file its edit changed
    assert re.fullmatch(r"ours is \d+\.\d\dx this \(\d+\.\d\dx in CPU time\)", rows[3][-1])  # the 'articles' config: once
    assert re.fullmatch(r"ours is \d+\.\d\dx this \(\d+\.\d\dx in CPU time\); each: \d+\.\d\d / \d+\.\d\d / \d+\.\d\d s", rows[4][-1])
    main_peak, worker_peak = (int(part) for part in rows[1][3].split(" / "))  # the highest of the three runs
    assert 0 < main_peak and 0 < worker_peak
    for load in rows[-2:]:  # each load, alternating, read every article
        assert re.fullmatch(r"each: \d+\.\d\d / \d+\.\d\d / \d+\.\d\d s; 120 rows", load[-1]), load
    assert not (tmp_path / "n120" / "hf-cache-load").exists() or not any((tmp_path / "n120" / "hf-cache-load").iterdir())
    assert not (tmp_path / "n120" / ".aside").exists()  # what was set aside is deleted once every stage has run
