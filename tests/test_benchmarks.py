"""The scale benchmark (issue 6's one command) runs end to end at a small size and prints every stage side by side."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_the_build_benchmark_prints_every_stage_with_its_ratio(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_build.py"), "--sizes", "120", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, env=env, check=True, timeout=600)
    rows = [line.strip("| ").split(" | ") for line in done.stdout.splitlines() if line.startswith("| 120 |")]
    stages = [row[1] for row in rows]
    assert stages == [
        "generate synthetic corpus", "newscorpus build (full, cold cache)", "newscorpus build (one raw file changed), median of 3",
        "by hand: load_dataset('json', features=...) + to_parquet, the 'articles' config",
        "by hand: load_dataset('json', features=...) + to_parquet, all three configs, as ours",
        "floor: pyarrow read_json + write_table", "load_dataset(our output, 'articles'), median of 3",
        "load_dataset('parquet', by-hand file), median of 3",
    ]
    rebuild = rows[2][-1]
    assert re.match(r"\d+\.\d% of full \(\d+\.\d% in CPU time\); each: \d+\.\d\d / \d+\.\d\d / \d+\.\d\d s; ", rebuild)
    assert '"misses": {"convert": 1,' in rebuild  # each rebuild converted the one file its edit changed
    assert all(re.match(r"ours is \d+\.\d\dx this", row[-1]) for row in rows[3:5])
    for load in rows[-2:]:  # each load, alternating, read every article
        assert re.fullmatch(r"each: \d+\.\d\d / \d+\.\d\d / \d+\.\d\d s; 120 rows", load[-1]), load
    assert not (tmp_path / "n120" / "hf-cache-load").exists() or not any((tmp_path / "n120" / "hf-cache-load").iterdir())
    assert not (tmp_path / "n120" / ".aside").exists()  # what was set aside is deleted once every stage has run
