"""The Dask engine: the same build on a local two-worker cluster, or on a running cluster, gives byte-identical
output; `newscorpus build --engine dask` runs it; a cluster whose workers run other code is refused."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import newscorpus.pipeline
from newscorpus import cli
from newscorpus.build import build, group_bounds
from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError
from newscorpus.pipeline import ProcessMapper

pytest.importorskip("distributed", reason="install the 'dask' extra (scripts/setup dev,studio,dask)")
import dask.config  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from newscorpus.engines.dask import DaskMapper, build_on_dask, check_workers  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC.parent / "benchmarks"))
from synth import generate  # noqa: E402


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus_and_local_build(tmp_path_factory):
    """A 30-article synthetic corpus and its single-machine build, as ``newscorpus build`` makes it."""
    root = tmp_path_factory.mktemp("dask")
    corpus = generate(root / "c", 30, seed=9)
    local = build(CorpusLayout(corpus), root / "local" / "dataset", cache_dir=root / "local" / "cache",
                  mapper=ProcessMapper(1))
    return corpus, local


@pytest.fixture(scope="module")
def local_build_in_groups_of_6(tmp_path_factory, corpus_and_local_build):
    """The same corpus built on one machine in groups of 6 articles: several shards a config, written by workers."""
    root = tmp_path_factory.mktemp("dask6")
    return build(CorpusLayout(corpus_and_local_build[0]), root / "dataset", cache_dir=root / "cache",
                 mapper=ProcessMapper(1), group_articles=6)


@pytest.fixture(scope="module")
def running_cluster():
    """A two-worker cluster started before the tests change directory: its workers keep the directory they
    started in, as a real cluster's workers run in directories of their own."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                      host="127.0.0.1") as cluster:
        yield cluster


def test_dask_local_cluster_build_is_identical_to_single_machine_build(tmp_path, corpus_and_local_build,
                                                                       local_build_in_groups_of_6):
    corpus, local = corpus_and_local_build[0], local_build_in_groups_of_6
    with dask.config.set({"scheduler-address": None}):  # (whatever the environment names)
        dask_build = build_on_dask(CorpusLayout(corpus), tmp_path / "dask" / "dataset", workers=2,
                                   cache_dir=tmp_path / "dask" / "cache", group_articles=6)
    assert dask_build.cache.misses["convert"] == 30
    assert sorted(dask_build.problems, key=str) == sorted(local.problems, key=str)
    assert tree_digest(dask_build.out) == tree_digest(local.out)
    train = pq.read_table(dask_build.out / "data" / "articles" / "train-00000-of-00001.parquet", columns=["id"]).column("id")
    assert len(group_bounds(train.to_pylist(), 6)) > 1  # (one file spliced from several groups' shards)


def corpus_state(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (``root`` too) with its kind, its mtime and, for a file, its bytes' SHA-256: a file
    written, or made and removed again, changes its directory's mtime."""
    state = {}
    for path in [root, *sorted(root.rglob("*"))]:
        stat = path.lstat()
        content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        state[str(path.relative_to(root))] = (stat.st_mode, stat.st_mtime_ns, content)
    return state


@pytest.mark.parametrize("engine", ["processes", "dask"])
def test_a_build_only_reads_the_corpus_so_it_may_be_a_bucket_mounted_read_only(tmp_path, monkeypatch, corpus_and_local_build,
                                                                             engine):
    """docs/scale.md, *Object storage*: the raw files may sit on a read-only mount of a bucket, since neither
    engine's build, cold or again, writes anything into the corpus directory (the cache and the output are
    elsewhere)."""
    monkeypatch.setattr(newscorpus.pipeline, "RACY_NS", 0)  # (the corpus was just made: its stats recorded all the same)
    corpus = corpus_and_local_build[0]
    before = corpus_state(corpus)

    def build_once():
        if engine == "dask":
            with dask.config.set({"scheduler-address": None}):
                return build_on_dask(CorpusLayout(corpus), tmp_path / "dataset", workers=2, cache_dir=tmp_path / "cache")
        return build(CorpusLayout(corpus), tmp_path / "dataset", cache_dir=tmp_path / "cache", mapper=ProcessMapper(2))

    assert build_once().cache.misses["convert"] == 30  # a cold cache: every raw file read and converted
    again = build_once()  # and a rebuild: the stat index, the recorded listing of raw/, the last output's record
    assert not again.cache.misses.get("convert") and again.cache.hits.get("convert") == 30
    assert corpus_state(corpus) == before


def test_cli_engine_dask_on_the_cluster_named_by_the_environment_with_relative_paths(
        tmp_path, corpus_and_local_build, running_cluster):
    corpus, local = corpus_and_local_build
    (tmp_path / "corpus").symlink_to(corpus)
    env = {**os.environ, "DASK_SCHEDULER_ADDRESS": running_cluster.scheduler_address,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    # run where the workers are not: the relative paths must reach them absolute
    done = subprocess.run([sys.executable, "-m", "newscorpus", "build", "--engine", "dask", "--corpus", "corpus",
                           "--out", "out/dataset"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert f"engine: Dask, the cluster at {running_cluster.scheduler_address}" in done.stdout, done.stderr
    assert "convert 0 reused / 30 new" in done.stdout
    assert done.returncode == (1 if local.problems else 0), done.stderr
    assert tree_digest(tmp_path / "out" / "dataset") == tree_digest(local.out)



def test_relative_paths_reach_the_workers_of_a_running_cluster(tmp_path, monkeypatch, corpus_and_local_build,
                                                               local_build_in_groups_of_6, running_cluster):
    (tmp_path / "corpus").symlink_to(corpus_and_local_build[0])
    monkeypatch.chdir(tmp_path)  # not where the workers run
    dask = build_on_dask(CorpusLayout(Path("corpus")), Path("out/dataset"), address=running_cluster.scheduler_address,
                         group_articles=6)
    assert dask.cache.misses["convert"] == 30 and dask.cache.misses["shard"] > 1  # made by the workers
    assert tree_digest(dask.out) == tree_digest(local_build_in_groups_of_6.out)


def test_cli_engine_dask_with_scheduler_option_reuses_the_cache(tmp_path, capsys, corpus_and_local_build, running_cluster):
    corpus, local = corpus_and_local_build
    args = ["build", "--engine", "dask", "--scheduler", running_cluster.scheduler_address, "--corpus", str(corpus),
            "--out", str(tmp_path / "dataset"), "--cache", str(tmp_path / "elsewhere")]
    cli.main(args)
    capsys.readouterr()
    cli.main([*args, "--prune-cache"])
    out = capsys.readouterr().out
    assert "convert 30 reused / 0 new" in out
    assert "cache: pruned 0 unused entries" in out
    assert (tmp_path / "elsewhere" / "convert").is_dir() and not (tmp_path / "cache").exists()
    assert tree_digest(tmp_path / "dataset") == tree_digest(local.out)


def test_cli_engine_dask_local_cluster_of_workers(tmp_path, capsys, corpus_and_local_build):
    corpus, local = corpus_and_local_build
    with dask.config.set({"scheduler-address": None}):
        cli.main(["build", "--engine", "dask", "--workers", "2", "--corpus", str(corpus), "--out", str(tmp_path / "dataset")])
    assert "engine: Dask, a local cluster of 2 workers" in capsys.readouterr().out
    assert tree_digest(tmp_path / "dataset") == tree_digest(local.out)


def _other_code() -> None:
    """Run on a worker: make it report another code fingerprint, as an older newscorpus would."""
    import newscorpus.engines.dask
    import newscorpus.pipeline

    newscorpus.pipeline._real_fingerprint = newscorpus.pipeline.code_fingerprint
    newscorpus.pipeline.code_fingerprint = lambda: "0" * 64
    newscorpus.engines.dask.worker_code.cache_clear()


def _own_code() -> None:
    import newscorpus.engines.dask
    import newscorpus.pipeline

    newscorpus.pipeline.code_fingerprint = newscorpus.pipeline._real_fingerprint
    newscorpus.engines.dask.worker_code.cache_clear()


def _no_check() -> None:
    """Run on a worker: take away the check's function, as a newscorpus without it (an older one) would lack it."""
    import newscorpus.engines.dask as engine

    engine._real_worker_code = engine.worker_code
    del engine.worker_code


def _check_back() -> None:
    import newscorpus.engines.dask as engine

    engine.worker_code = engine._real_worker_code


def test_a_worker_with_other_code_is_refused_and_nothing_is_written(tmp_path, corpus_and_local_build, running_cluster):
    corpus, _ = corpus_and_local_build
    with Client(running_cluster) as client:
        worker = sorted(client.scheduler_info()["workers"])[0]
        client.run(_other_code, workers=[worker])
        try:
            with pytest.raises(NewscorpusError) as raised:
                build_on_dask(CorpusLayout(corpus), tmp_path / "dataset", address=running_cluster.scheduler_address,
                              cache_dir=tmp_path / "cache")
        finally:
            client.run(_own_code, workers=[worker])
    message = str(raised.value)
    assert "1 of the Dask cluster's 2 workers run other newscorpus code" in message
    assert f"{worker}: code 000000000000 (here " in message
    assert not (tmp_path / "dataset").exists()
    assert not (tmp_path / "cache").exists()


def test_a_worker_without_the_check_is_refused_with_the_reason(tmp_path, corpus_and_local_build, running_cluster):
    with Client(running_cluster) as client:
        worker = sorted(client.scheduler_info()["workers"])[0]
        client.run(_no_check, workers=[worker])
        try:
            with pytest.raises(NewscorpusError) as raised:
                build_on_dask(CorpusLayout(corpus_and_local_build[0]), tmp_path / "dataset",
                              address=running_cluster.scheduler_address, cache_dir=tmp_path / "cache")
        finally:
            client.run(_check_back, workers=[worker])
    message = str(raised.value)
    assert f"{worker}: cannot run this newscorpus's check (" in message and "AttributeError" in message
    assert not (tmp_path / "dataset").exists()


def test_tasks_on_a_worker_with_other_code_refuse_to_run(running_cluster):
    """A worker that joins after the start's check: its tasks check it, before writing anything."""
    with Client(running_cluster) as client:
        workers = sorted(client.scheduler_info()["workers"])
        client.run(_other_code)
        try:
            with pytest.raises(NewscorpusError, match="a worker of the Dask cluster runs other newscorpus code than the "
                                                      r"client \(code 000000000000 \(here "):
                list(DaskMapper(client, batch=1).map(abs, range(-4, 4)))
        finally:
            client.run(_own_code, workers=workers)
        assert list(DaskMapper(client, batch=1).map(abs, range(-4, 4))) == [4, 3, 2, 1, 0, 1, 2, 3]


def test_a_cluster_without_workers_is_waited_for_then_refused():
    with LocalCluster(n_workers=0, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1") as empty, \
            Client(empty) as client:
        with pytest.raises(NewscorpusError, match=f"no worker joined the Dask cluster at {empty.scheduler_address} within 1 s"):
            check_workers(client, wait_for=1)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_unreachable_scheduler_is_an_error_naming_it(tmp_path, capsys, corpus_and_local_build):
    corpus, _ = corpus_and_local_build
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        status = cli.main(["build", "--engine", "dask", "--scheduler", address, "--corpus", str(corpus),
                           "--out", str(tmp_path / "dataset")])
    assert status == 1
    assert f"newscorpus build: error: cannot reach the Dask scheduler at {address}" in capsys.readouterr().err
    assert not (tmp_path / "dataset").exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "http://127.0.0.1:8786"])
def test_cli_malformed_scheduler_address_is_an_error_naming_it(tmp_path, capsys, corpus_and_local_build, address):
    status = cli.main(["build", "--engine", "dask", "--scheduler", address, "--corpus", str(corpus_and_local_build[0]),
                       "--out", str(tmp_path / "dataset")])
    assert status == 1
    assert f"newscorpus build: error: cannot connect to the Dask scheduler at {address}: " in capsys.readouterr().err


def test_cli_scheduler_without_engine_dask_is_a_usage_error(tmp_path, capsys, corpus_and_local_build):
    corpus, _ = corpus_and_local_build
    status = cli.main(["build", "--scheduler", "tcp://127.0.0.1:8786", "--corpus", str(corpus), "--out", str(tmp_path / "d")])
    assert status == 2
    assert "--scheduler needs --engine dask" in capsys.readouterr().err
