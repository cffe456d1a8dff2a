"""The Dask engine: the same build on a local two-worker cluster gives byte-identical output."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from newscorpus.build import build
from newscorpus.corpus import CorpusLayout
from newscorpus.pipeline import ProcessMapper

pytest.importorskip("distributed", reason="install the 'dask' extra (scripts/setup dev,studio,dask)")
from newscorpus.engines.dask import build_on_dask  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synth import generate  # noqa: E402


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_dask_local_cluster_build_is_identical_to_single_machine_build(tmp_path):
    corpus = generate(tmp_path / "c", 30, seed=9)
    local = build(CorpusLayout(corpus), tmp_path / "local" / "dataset", cache_dir=tmp_path / "local" / "cache",
                  mapper=ProcessMapper(1), group_articles=6)
    dask = build_on_dask(CorpusLayout(corpus), tmp_path / "dask" / "dataset", workers=2,
                         cache_dir=tmp_path / "dask" / "cache", group_articles=6)
    assert dask.cache.misses["convert"] == 30
    assert sorted(dask.problems, key=str) == sorted(local.problems, key=str)
    assert tree_digest(dask.out) == tree_digest(local.out)
    assert len(list((dask.out / "data" / "articles").glob("train-*.parquet"))) > 1
