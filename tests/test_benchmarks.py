"""The scale benchmark (issue 6's one command) runs end to end at a small size and prints every stage side by side."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO
from newscorpus.build import ARTICLE_COLUMN

sys.path.insert(0, str(REPO / "benchmarks"))
import bench_build  # noqa: E402
import bench_layouts  # noqa: E402
from synth import generate  # noqa: E402


@pytest.mark.parametrize("runs, median_seconds, highest", [
    ([(30.5, 57.3, "80 / 201", "a"), (27.0, 40.1, "91 / 190", "b"), (28.2, 45.0, "79 / 213", "c")], 28.2, "91 / 213"),
    ([(9.0, 9.4, "410", "a"), (10.7, 11.0, "411", "b")], 10.7, "411"),  # an even number: the upper one; no workers
    ([(1.7, 2.0, "134 / 32", "a")], 1.7, "134 / 32"),
])
def test_repeated_runs_report_the_median_time_and_the_highest_peaks(runs, median_seconds, highest):
    assert bench_build.median(runs)[0] == median_seconds
    assert bench_build._highest_rss(runs) == highest


@pytest.mark.parametrize("runs, after_each", [
    (1, [3]),  # 100,000 articles by default: the three rebuilds after the one cold build
    (2, [2, 1]),
    (3, [1, 1, 1]),  # 10,000: one after each cold build, over the same minutes
    (5, [1, 1, 1, 0, 0]),
])
def test_the_rebuilds_follow_the_full_builds_as_evenly_as_they_go(runs, after_each):
    assert [bench_build.rebuilds_after(run, runs) for run in range(runs)] == after_each
    assert sum(after_each) == bench_build.REBUILDS


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
        "floor: pyarrow read_json + write_table",
        *(stage for config in ("articles", "entities", "quotes") for stage in (
            f"load_dataset(our output, '{config}'), median of {bench_build.LOADS}",
            f"load_dataset('parquet', by-hand '{config}' file), median of {bench_build.LOADS}",
            f"load_dataset('parquet', the by-hand '{config}' file cut into our splits: train, validation, test), "
            f"median of {bench_build.LOADS}")),
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
    loads = rows[-9:]  # each config's loads, in turn, ours, the by-hand file's, the cut files': the same rows (every article's)
    each = r"each: \d+\.\d\d( / \d+\.\d\d){%d} s; (\d+) rows; \d+\.\d MB on disk" % (bench_build.LOADS - 1)
    for config, ours, theirs, cut in zip(("articles", "entities", "quotes"), loads[::3], loads[1::3], loads[2::3]):
        mb = [row[-1].split("; ")[2] for row in (ours, theirs, cut)]  # what a user downloads of each
        assert mb == [bench_build.on_disk(*paths) for paths in (
            [tmp_path / "n120" / "dataset" / "data" / config], [tmp_path / "n120" / f"by-hand-{config}.parquet"],
            [bench_build.cut_file(tmp_path / "n120" / "by-hand", config, split) for split in bench_build.SPLITS])], mb
        counted = (re.fullmatch(each + r"; quicker in (\d+) of {0} pairs; than the cut files in (\d+) of {0}".format(bench_build.LOADS), ours[-1]),
                   re.fullmatch(each, theirs[-1]), re.fullmatch(each, cut[-1]))
        assert all(counted), (ours, theirs, cut)
        assert counted[0].group(2) == counted[1].group(2) == counted[2].group(2) != "0"
        assert int(counted[0].group(3)) <= bench_build.LOADS and int(counted[0].group(4)) <= bench_build.LOADS
    assert re.fullmatch(each, loads[1][-1]).group(2) == "120"
    for config in ("articles", "entities", "quotes"):  # the cut files hold the by-hand file's rows, each in our split
        cut = {split: pq.read_table(bench_build.cut_file(tmp_path / "n120" / "by-hand", config, split)) for split in bench_build.SPLITS}
        assert sum(table.num_rows for table in cut.values()) == pq.read_metadata(tmp_path / "n120" / f"by-hand-{config}.parquet").num_rows
        for split, table in cut.items():
            column = ARTICLE_COLUMN[config]
            ours = pq.read_table(tmp_path / "n120" / "dataset" / "data" / config / f"{split}-00000-of-00001.parquet", columns=[column])
            assert set(table.column(column).to_pylist()) == set(ours.column(0).to_pylist())
    assert not (tmp_path / "n120" / "hf-cache-load").exists() or not any((tmp_path / "n120" / "hf-cache-load").iterdir())
    # after the table, issue 6's goals, each with the figures of the rows above (the upper medians of the runs each
    # row lists); at 120 articles the loads are given, not judged (issue 6 judges them at 100,000)
    goals = {row[0]: row[1:] for row in ([cell.strip() for cell in line.split("|")[1:-1]]
                                          for line in done.stdout.split("Issue 6's goals")[1].splitlines() if "| 120 |" in line)}
    assert list(goals) == ["full build within 3x of the by-hand path (all three configs)", "one-file rebuild within 5% of the full build",
                           "peak RSS MB, main process / largest worker",
                           *(f"load_dataset of '{config}': ours no slower than the by-hand file (medians of {bench_build.LOADS})"
                             for config in ("articles", "entities", "quotes"))]
    ratio = re.match(r"ours is (\d+\.\d\dx)", rows[4][-1]).group(1)
    assert goals["full build within 3x of the by-hand path (all three configs)"][1].startswith(f"{ratio} (")
    share = re.match(r"(\d+\.\d%) of full", rebuild).group(1)
    assert goals["one-file rebuild within 5% of the full build"][1].startswith(f"{share} (")
    assert goals["peak RSS MB, main process / largest worker"][1:] == [f"{rows[1][3]} (full builds), {rows[2][3]} (rebuilds)", ""]

    def upper_median(row: list[str]) -> str:
        return sorted(re.match(r"each: ([\d. /]+) s;", row[-1]).group(1).split(" / "), key=float)[bench_build.LOADS // 2]

    for config, (ours, theirs) in zip(("articles", "entities", "quotes"), zip(loads[::3], loads[1::3])):
        _, figures, met = goals[f"load_dataset of '{config}': ours no slower than the by-hand file (medians of {bench_build.LOADS})"]
        assert figures.startswith(f"{upper_median(ours)} s against {upper_median(theirs)} (ours quicker in ")
        assert figures.endswith("; the goal is judged from 100,000 articles)") and met == "", (figures, met)
    assert not (tmp_path / "n120" / ".aside").exists()  # what was set aside is deleted once every stage has run


@pytest.mark.parametrize("n, full, by_hand, rebuild, ours, theirs, verdicts", [
    (100_000, 30.0, 10.0, 1.5, 2.0, 2.0, [True, True, None, True, True, True]),  # each at its line: met
    (100_000, 30.3, 10.0, 1.6, 2.1, 2.0, [False, False, None, False, False, False]),
    (100_000, 29.0, 10.0, 1.0, 1.9, 2.0, [True, True, None, True, True, True]),
    (10_000, 31.0, 10.0, 1.0, 1.9, 2.0, [False, True, None, None, None, None]),  # loads below 100,000: not judged
])
def test_the_goals_are_judged_on_the_upper_medians_at_issue_6s_lines(monkeypatch, tmp_path, n, full, by_hand, rebuild, ours,
                                                                       theirs, verdicts):
    """Each goal's verdict, from runs spread around the figure judged: the upper median of each (the row's figure)."""
    spread = {"full": [full + 1, full - 5, full], "by-hand": [by_hand - 2, by_hand + 1, by_hand],
              "rebuild": [rebuild + 0.5, rebuild - 0.4, rebuild],
              "ours": [ours - 0.5] * 4 + [ours] + [ours + 0.5] * 3, "hand": [theirs + 0.5] * 3 + [theirs] + [theirs - 0.5] * 4,
              "cut": [theirs - 1.0] * 8}  # (quicker than ours, and never judged)
    taken = {key: itertools.cycle(values) for key, values in spread.items()}  # (each config's eight loads alike)

    def stage(name: str, *args: str) -> tuple[float, float, str, str]:
        if name in ("load", "load-files"):
            Path(args[-1]).mkdir(parents=True)  # (the benchmark deletes each load's cache)
            which = "cut" if name == "load-files" else "hand" if args[0] == "parquet" else "ours"
            return next(taken[which]), 1.0, "300 / 0", "10"
        if name == "by-hand-splits":
            for config, split in itertools.product(args[3].split(","), bench_build.SPLITS):
                bench_build.cut_file(args[1], config, split).touch()
        seconds = {"build": lambda: next(taken["rebuild"]), "by-hand": lambda: next(taken["by-hand"]) if "," in args[-1] else 9.0}
        return seconds.get(name, lambda: 1.0)(), 1.0, "60 / 140" if name == "build" else "400", "{}"

    corpus = tmp_path / f"n{n}" / "corpus" / "raw"
    corpus.mkdir(parents=True)
    (corpus / "manifest.jsonl").write_text("")
    monkeypatch.setattr(bench_build, "run_stage", stage)
    monkeypatch.setattr(bench_build, "_cold_build", lambda *args: (next(taken["full"]), 2.0, "65 / 145", "{}"))
    for name in ("touch_one", "set_aside", "warm"):
        monkeypatch.setattr(bench_build, name, lambda *args: None)
    goals: list = []
    rows = list(bench_build.bench(n, tmp_path, 2, 3, goals))
    assert [met for _, _, _, met in goals] == verdicts
    assert [figures for _, _, figures, _ in goals][:3] == [
        f"{full / by_hand:.2f}x ({full:.1f} s against {by_hand:.1f})", f"{rebuild / full:.1%} ({rebuild:.2f} s against {full:.1f})",
        "65 / 145 (full builds), 60 / 140 (rebuilds)"]
    assert all(figures.startswith(f"{ours:.2f} s against {theirs:.2f} (ours quicker in 4 of 8 pairs") for _, _, figures, _ in goals[3:])
    assert len(rows) == 14 and all(n == size for size, *_ in goals)  # (the corpus there: nothing generated)


def test_the_peaks_are_set_side_by_side_across_sizes():
    goals = [(10_000, "peak RSS MB, main process / largest worker", "65 / 145 (full builds), 61 / 82 (rebuilds)", None),
             (10_000, "one-file rebuild within 5% of the full build", "4.5% (0.64 s against 14.4)", True),
             (100_000, "peak RSS MB, main process / largest worker", "69 / 145 (full builds), 64 / 82 (rebuilds)", None)]
    assert bench_build.peaks_across(goals) == [
        (100_000, "peak RSS MB of the full builds as the corpus grows, main process / largest worker",
         "65 / 145 at 10,000, 69 / 145 at 100,000", None)]
    assert bench_build.peaks_across(goals[:2]) == []
    table = bench_build.goals_table(goals)
    assert table.splitlines()[2:] == ["| peak RSS MB, main process / largest worker | 10,000 | 65 / 145 (full builds), 61 / 82 (rebuilds) |  |",
                                      "| one-file rebuild within 5% of the full build | 10,000 | 4.5% (0.64 s against 14.4) | met |",
                                      "| peak RSS MB, main process / largest worker | 100,000 | 69 / 145 (full builds), 64 / 82 (rebuilds) |  |"]


def test_a_stage_reports_its_own_peak_not_the_benchmark_s(monkeypatch):
    """A stage's peak RSS is its own even when the benchmark process is big: on Linux ``ru_maxrss`` of a process started
    by ``subprocess`` (``vfork``, ``exec``) counts its parent's peak, and every rebuild at 100,000 articles reported the
    128 MB the benchmark reached editing the manifest (runs P to S)."""
    monkeypatch.setitem(bench_build._STAGES, "nothing", "pass")
    held = b"x" * (300 << 20)  # 300 MB resident in this process
    _, _, rss, _ = bench_build.run_stage("nothing")
    del held
    assert int(rss.split(" / ")[0]) < 100, rss


def test_the_edit_changes_one_manifest_line_in_place(tmp_path):
    """The rebuild's edit: one raw file's longest line and its manifest line, the manifest rewritten in place (a rename
    would change the raw directory's stat, and the rebuild would list it again), nothing left beside it."""
    import hashlib
    import json

    corpus = generate(tmp_path / "corpus", 7, seed=3)
    manifest = corpus / "raw" / "manifest.jsonl"
    before, raw_stat = manifest.read_text().splitlines(), (corpus / "raw").stat()
    inode = manifest.stat().st_ino
    bench_build.touch_one(corpus)
    after = manifest.read_text().splitlines()
    changed = [i for i, (old, new) in enumerate(zip(before, after)) if old != new]
    assert len(after) == len(before) and changed == [3]
    entry = json.loads(after[3])
    assert entry["sha256"] == hashlib.sha256((corpus / "raw" / entry["file"]).read_bytes()).hexdigest() != json.loads(before[3])["sha256"]
    assert manifest.stat().st_ino == inode and (corpus / "raw").stat().st_mtime_ns == raw_stat.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


@pytest.mark.parametrize("text, expected", [
    ("Headline: the news\n" + "A" * 210 + " the end\n" + "B" * 300 + "\n", "Headline: the news\n" + "A" * 210 + " teh end\n" + "B" * 300 + "\n"),
    ("Short the line\n" + "C" * 250 + "\n", "Short the line\n" + "C" * 250 + " (corrected 1)\n"),
    ("x\n" + "D" * 250 + " (corrected 1)\n", "x\n" + "D" * 250 + " (corrected 1) (corrected 2)\n"),
    ("only a short line, the one\n", "only a short line, teh one\n"),
], ids=["the-in-a-paragraph", "no-the-in-a-paragraph", "corrected-before", "no-paragraph"])
def test_a_typo_fixed_changes_a_paragraph_s_words_each_time(text, expected):
    """The benchmark's edit changes a body paragraph (not a short headline's "the"), and words no edit before made."""
    assert bench_build.typo_fixed(text) == expected


def test_repeated_typos_fixed_change_the_body_s_signature_each_time(tmp_path):
    """Each of the benchmark's edits of one raw file changes its MinHash signature, as most edits of words do: the
    rebuild it times updates the wire clusters (it took them from the cache once the same correction was appended
    five times)."""
    from newscorpus.clusters import signature

    corpus = generate(tmp_path / "corpus", 7, seed=3)
    path = sorted((corpus / "raw").glob("*.txt"))[3]
    text, signatures = path.read_text(encoding="utf-8"), []
    for _ in range(8):
        text = bench_build.typo_fixed(text)
        signatures.append(signature(text).tobytes())
    assert len(set(signatures)) >= 6  # (a "the" of a paragraph changed may leave all 128 minima as they were)


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> Path:
    """A dataset built from 160 synthetic articles in groups of about 12: several files per split."""
    from newscorpus.build import build
    from newscorpus.corpus import CorpusLayout
    from newscorpus.pipeline import ProcessMapper

    root = tmp_path_factory.mktemp("layouts")
    corpus = generate(root, 160, 3)
    return build(CorpusLayout(corpus), root / "dataset", cache_dir=root / "cache", mapper=ProcessMapper(1), group_articles=12).out


def _split_rows(paths: list[Path]) -> list[dict]:

    return [row for p in paths for row in pq.read_table(p).to_pylist()]


@pytest.mark.parametrize("config", ["articles", "entities", "quotes"])
@pytest.mark.parametrize("rows", [None, 5, 30])
def test_a_layout_holds_each_splits_rows_in_order_in_one_file_in_row_groups_as_asked(small_dataset, tmp_path, config, rows):

    built = bench_layouts.split_files(small_dataset, config)
    assert built and sum(pq.read_metadata(paths[0]).num_rows for paths in built.values()) > 1  # rows to lay out
    written = bench_layouts.write_layout(built, tmp_path / "layout", rows)
    assert set(written) == set(built)
    for split, paths in written.items():
        assert len(paths) == 1
        assert _split_rows(paths) == _split_rows(built[split])  # the same rows, in the same order
        metadata = pq.ParquetFile(paths[0]).metadata
        sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        if rows is None:  # the build's row groups, of the same rows
            old = [pq.read_metadata(p) for p in built[split]]
            assert sizes == [m.row_group(i).num_rows for m in old for i in range(m.num_row_groups)]
        else:
            assert sizes[:-1] == [rows] * (len(sizes) - 1) and 0 < sizes[-1] <= rows
        assert pq.read_schema(paths[0]).metadata == pq.read_schema(built[split][0]).metadata  # the features kept
        compression = {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)}
        built_with = pq.read_metadata(built[split][0]).row_group(0)
        assert compression == {built_with.column(i).compression for i in range(built_with.num_columns)} == {"LZ4"}


def test_the_layout_benchmark_loads_each_layout_and_prints_it_beside_the_files_as_built(small_dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    by_hand = bench_layouts.split_files(small_dataset, "articles")["train"][0]  # any Parquet file of the config's features
    assert bench_layouts.main(["--dataset", str(small_dataset), "--workdir", str(tmp_path / "work"), "--row-groups", "40",
                               "--by-hand", str(by_hand), "--loads", "2"]) == 0
    rows = [line.strip("| ").split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[0] for row in rows] == ["as built", "a file per group", "a file per split, row groups of 40 rows", "by hand"]
    articles = sum(len(_split_rows(paths)) for paths in bench_layouts.split_files(small_dataset, "articles").values())
    for name, files, groups, median_rows, mb, seconds, cpu, rss, note in rows[:3]:
        assert re.fullmatch(rf"\d\.\d\dx as built; each: \d+\.\d\d / \d+\.\d\d s; {articles} rows", note), note
    assert rows[0][5:] and rows[0][-1].startswith("1.00x as built")
    assert [int(row[1]) for row in rows] == [3, int(rows[0][2]), 3, 1]  # a file per split; per group (each a row group)
    assert rows[1][2] == rows[0][2] and int(rows[0][2]) > 3  # as many row groups as the build's
    per_split = [len(_split_rows(paths)) for paths in bench_layouts.split_files(small_dataset, "articles").values()]
    assert int(rows[2][2]) == sum(-(-n // 40) for n in per_split)  # row groups of 40 rows, the last of each split fewer
    assert not (tmp_path / "work" / "layouts").exists() and not any((tmp_path / "work" / "hf-cache").iterdir())


def test_the_layout_benchmark_refuses_counts_below_one(small_dataset, tmp_path):
    for flag in ("--loads", "--row-groups"):
        with pytest.raises(SystemExit):
            bench_layouts.main(["--dataset", str(small_dataset), "--workdir", str(tmp_path), flag, "0"])


def test_a_file_per_group_holds_one_of_the_builds_groups(small_dataset, tmp_path):
    """A file per group holds the rows of one group of the build's (the split's ids cut by group_bounds), though the
    build's row groups are runs of groups: in every config, the groups in order, none split, none empty."""
    from newscorpus.build import ARTICLE_COLUMN, group_bounds

    groups_of = {}  # each split's groups of article ids, as the build cut them
    for split, paths in bench_layouts.split_files(small_dataset, "articles").items():
        ids = pq.read_table(paths[0], columns=["id"]).column("id").to_pylist()
        bounds = group_bounds(ids, 12)
        groups_of[split] = [ids[a:b] for a, b in zip([0, *bounds], bounds)]
    for config in ("articles", "entities", "quotes"):
        built = bench_layouts.split_files(small_dataset, config)
        written = bench_layouts.write_files_per_group(small_dataset, config, tmp_path / config, group_articles=12)
        assert set(written) == set(built)
        for split, paths in written.items():
            groups = groups_of[split]
            found = [list(dict.fromkeys(pq.read_table(p, columns=[ARTICLE_COLUMN[config]]).column(0).to_pylist())) for p in paths]
            if config == "articles":
                assert found == groups
            else:  # (a group none of whose articles has a quote or a mention has no file)
                assert all(rows for rows in found)
                numbers = [next(n for n, group in enumerate(groups) if rows[0] in group) for rows in found]
                assert numbers == sorted(set(numbers)) and all(set(rows) <= set(groups[n]) for n, rows in zip(numbers, found))
            assert pq.read_metadata(built[split][0]).num_row_groups < len(paths) or len(paths) == 1  # (runs, cut again)
            assert [p.name for p in paths] == [f"{split}-{i:05d}-of-{len(paths):05d}.parquet" for i in range(len(paths))]
            assert pq.read_table(paths[0]).schema == pq.read_table(built[split][0]).schema
            assert sum(pq.read_metadata(p).num_rows for p in paths) == pq.read_metadata(built[split][0]).num_rows


def test_the_by_hand_file_is_cut_into_the_splits_the_output_has_and_no_other(small_dataset, tmp_path):
    """Each split's cut file holds the by-hand file's rows of the articles our split holds, in the by-hand file's
    order; a split the output does not have leaves no file, not even one an earlier run wrote."""
    out = tmp_path / "dataset"
    shutil.copytree(small_dataset, out)
    for path in out.glob("data/quotes/test-*"):
        path.unlink()
    hand = tmp_path / "by-hand"
    for config in ("articles", "quotes"):  # (the by-hand file: our rows in another order, as a user's might be)
        table = pa.concat_tables(pq.read_table(path) for path in sorted(out.glob(f"data/{config}/*.parquet"), reverse=True))
        pq.write_table(table, f"{hand}-{config}.parquet")
    stale = bench_build.cut_file(hand, "quotes", "test")
    stale.write_bytes(b"an earlier run's")
    bench_build.by_hand_splits(out, str(hand), str(tmp_path / "hf-cache"), ["articles", "quotes"])
    assert not stale.exists()
    for config, splits in (("articles", bench_build.SPLITS), ("quotes", ("train", "validation"))):
        column = ARTICLE_COLUMN[config]
        whole = pq.read_table(f"{hand}-{config}.parquet").to_pylist()
        for split in splits:
            ours = {row[column] for row in _split_rows(sorted(out.glob(f"data/{config}/{split}-*.parquet")))}
            assert ours
            assert pq.read_table(bench_build.cut_file(hand, config, split)).to_pylist() == [row for row in whole if row[column] in ours]


def test_the_size_on_disk_counts_every_file_under_the_paths_given_and_none_missing(tmp_path):
    (tmp_path / "data" / "entities").mkdir(parents=True)
    (tmp_path / "data" / "entities" / "train.parquet").write_bytes(b"x" * 2**20)
    (tmp_path / "data" / "entities" / "test.parquet").write_bytes(b"x" * 2**18)
    (tmp_path / "by-hand.parquet").write_bytes(b"x" * 2**18)
    assert bench_build.on_disk(tmp_path / "data") == "1.2 MB on disk"
    assert bench_build.on_disk(tmp_path / "data", tmp_path / "by-hand.parquet", tmp_path / "gone.parquet") == "1.5 MB on disk"
