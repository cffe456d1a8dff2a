"""What the layout of a dataset's Parquet files costs ``datasets.load_dataset``: the same rows, laid out several ways.

For one config of a built dataset (``--dataset``, ``--config``, default 'articles'), each layout is written into
``--workdir`` from the dataset's own files, read once (so every layout is loaded from the page cache), then loaded
with ``load_dataset('parquet', data_files={split: files})`` in a fresh interpreter, ``--loads`` times each, the
layouts alternating: the median and each run, side by side with the files as built:

- **as built**: the build's files, one per split, spliced: a row group per run of about seven groups of articles,
  cut to about 24 MB decoded (about 1,400 'articles' rows; the first row group the largest: ``build.group_runs``);
- **a file per group**: each of the build's groups of about 500 articles in a file of its own, as builds wrote them
  before the twenty-second session (docs/scale-history.md);
- **a file per split, row groups of N rows** (``--row-groups``, default 1000 2000 4000);
- **by hand** (``--by-hand FILE``, optional): a file of :mod:`bench_build`'s by-hand path, for reference.

Every layout is written with the build's own settings (``build.parquet_options``), streaming: at most a row group
and one group's table in memory (a load's peak RSS is its own only while this process stays small: on Linux a
child's ``ru_maxrss`` starts from its parent's at the ``fork``, and a first version that held a split's tables
reported 1,880 MB for every load).  The loads name their files, so the
card's YAML (about 0.14 s of a load of our dataset by name) is not timed with any layout.

::

    PYTHONPATH=src python benchmarks/bench_layouts.py --dataset /tmp/bench/n100000/dataset \\
        --by-hand /tmp/bench/n100000/by-hand-articles.parquet --workdir /tmp/layouts
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Iterable, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import bench_build  # noqa: E402
from newscorpus.build import ARTICLE_COLUMN, GROUP_ARTICLES, SPLIT_NAMES, data_glob, group_bounds, parquet_options  # noqa: E402

ROW_GROUPS = (1000, 2000, 4000)
LOADS = 3


def split_files(dataset: Path, config: str) -> dict[str, list[Path]]:
    """The dataset's files of ``config``, per split, in the order the card's pattern lists them (splits without files
    left out)."""
    files = {split: sorted(dataset.glob(data_glob(config, split))) for split in SPLIT_NAMES}
    return {split: paths for split, paths in files.items() if paths}


def _writer(path: Path, schema):
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    return pq.ParquetWriter(path, schema, **parquet_options(schema))


def _rechunked(tables: Iterable, rows: int | None) -> Iterator:
    """The rows of ``tables``, in order, as tables of ``rows`` rows (the last may have fewer); ``None``: each table as
    it is.  At most one row group and one input table are held."""
    import pyarrow as pa

    pending, held = [], 0
    for table in tables:
        if rows is None:
            yield table
            continue
        pending.append(table)
        held += table.num_rows
        while held >= rows:
            whole = pa.concat_tables(pending)
            yield whole.slice(0, rows)
            pending, held = [whole.slice(rows)], held - rows
    if rows is not None and held:
        yield pa.concat_tables(pending)


def _row_groups(paths: list[Path], columns: list[str] | None = None) -> Iterator:
    """Each row group of ``paths``, in order, as a table (of ``columns`` only, when given)."""
    import pyarrow.parquet as pq

    for path in paths:
        parquet = pq.ParquetFile(path)
        for number in range(parquet.metadata.num_row_groups):
            yield parquet.read_row_group(number, columns=columns)


def write_layout(files: dict[str, list[Path]], target: Path, rows: int | None) -> dict[str, list[Path]]:
    """One file per split of ``target``, holding the rows of that split's ``files`` in order, in row groups of ``rows``
    rows (``None``: the same row groups as ``files``); the files written, per split."""
    written = {}
    for split, paths in files.items():
        path = target / f"{split}-00000-of-00001.parquet"
        writer = None
        for table in _rechunked(_row_groups(paths), rows):
            if writer is None:
                writer = _writer(path, table.schema)
            writer.write_table(table, row_group_size=table.num_rows)
        writer.close()
        written[split] = [path]
    return written


def _group_numbers(ids: list[str], group_articles: int) -> dict[str, int]:
    """The number of each article's group in its split: the split's ids (in order) cut as the build cut them
    (:func:`~newscorpus.build.group_bounds`)."""
    bounds = group_bounds(ids, group_articles)
    return {ident: number for number, (a, b) in enumerate(zip([0, *bounds], bounds)) for ident in ids[a:b]}


def _groups(tables: Iterable, column: str, group_of: dict[str, int]) -> Iterator:
    """The build's groups of rows: each row group (a run of groups, or a part of one) cut where its rows' article
    (``column``) is in another group."""
    for table in tables:
        numbers = [group_of[ident] for ident in table.column(column).to_pylist()]
        cuts = [i for i in range(1, len(numbers)) if numbers[i] != numbers[i - 1]] + [len(numbers)]
        yield from (table.slice(a, b - a) for a, b in zip([0, *cuts], cuts))


def write_files_per_group(dataset: Path, config: str, target: Path,
                          group_articles: int = GROUP_ARTICLES) -> dict[str, list[Path]]:
    """Each group of the rows of ``config`` in ``dataset`` (:func:`_groups`) in a file of its own
    (``<split>-NNNNN-of-MMMMM.parquet``), in order; the files written, per split."""
    import pyarrow.parquet as pq

    articles, column = split_files(dataset, "articles"), ARTICLE_COLUMN[config]
    written = {}
    for split, paths in split_files(dataset, config).items():
        ids = [ident for table in _row_groups(articles[split], ["id"]) for ident in table.column("id").to_pylist()]
        group_of = _group_numbers(ids, group_articles)
        total = sum(1 for _ in _groups(_row_groups(paths, [column]), column, group_of))  # counted from the ids alone
        written[split] = []
        for number, table in enumerate(_groups(_row_groups(paths), column, group_of)):  # one at a time: see main
            path = target / f"{split}-{number:05d}-of-{total:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, **parquet_options(table.schema))
            written[split].append(path)
    return written


def layouts(dataset: Path, config: str, workdir: Path, row_groups: Iterable[int], by_hand: Path | None) -> dict[str, dict[str, list[Path]]]:
    """Every layout's files per split, by name (the files written into ``workdir``)."""
    built = split_files(dataset, config)
    if not built:
        raise SystemExit(f"no files of the '{config}' config in {dataset / 'data'}")
    found = {"as built": built, "a file per group": write_files_per_group(dataset, config, workdir / "per-group")}
    for rows in row_groups:
        found[f"a file per split, row groups of {rows:,} rows"] = write_layout(built, workdir / f"rows-{rows}", rows)
    if by_hand is not None:
        found["by hand"] = {"train": [by_hand]}
    return found


def shape(files: dict[str, list[Path]]) -> tuple[int, int, int, float]:
    """(files, row groups, median rows per row group, MB) of a layout."""
    import pyarrow.parquet as pq

    paths = [p for split in files.values() for p in split]
    sizes = [meta.row_group(i).num_rows for meta in map(pq.read_metadata, paths) for i in range(meta.num_row_groups)]
    return len(paths), len(sizes), int(statistics.median(sizes)), sum(p.stat().st_size for p in paths) / 1e6


def main(argv: list[str] | None = None) -> int:
    """Write the layouts, time their loads, and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="a dataset directory `newscorpus build` wrote")
    parser.add_argument("--config", default="articles")
    parser.add_argument("--workdir", type=Path, required=True, help="where the layouts are written (replaced)")
    parser.add_argument("--row-groups", type=int, nargs="*", default=list(ROW_GROUPS), metavar="ROWS")
    parser.add_argument("--by-hand", type=Path, default=None, metavar="FILE", help="a by-hand Parquet file, for reference")
    parser.add_argument("--loads", type=int, default=LOADS, metavar="N", help=f"loads of each layout (default {LOADS})")
    args = parser.parse_args(argv)
    if args.loads < 1 or any(rows < 1 for rows in args.row_groups):
        parser.error("--loads and --row-groups must be at least 1")
    shutil.rmtree(args.workdir, ignore_errors=True)
    found = layouts(args.dataset, args.config, args.workdir / "layouts", args.row_groups, args.by_hand)
    bench_build.warm(*(p for files in found.values() for split in files.values() for p in split))
    runs: dict[str, list] = {name: [] for name in found}
    for run in range(args.loads):  # alternated: the machine's slower minutes fall on every layout
        for name, files in found.items():
            cache = args.workdir / "hf-cache" / f"{run}"
            data_files = {split: [str(p) for p in paths] for split, paths in files.items()}
            runs[name].append(bench_build.run_stage("load-files", json.dumps(data_files), str(cache)))
            shutil.rmtree(cache)
    base = bench_build.median(runs["as built"])[0]
    print(f"| layout of '{args.config}' | files | row groups | rows per row group (median) | MB | load s, median of {args.loads} "
          "| CPU s | peak RSS MB | note |\n|---|---|---|---|---|---|---|---|---|")
    for name, files in found.items():
        count, groups, rows, mb = shape(files)
        seconds, cpu, rss, loaded = bench_build.median(runs[name])
        note = bench_build._note(f"{seconds / base:.2f}x as built", bench_build._each(runs[name]), f"{loaded} rows")
        print(f"| {name} | {count} | {groups} | {rows} | {mb:.1f} | {seconds:.2f} | {cpu:.1f} | {rss} | {note} |", flush=True)
    shutil.rmtree(args.workdir / "layouts", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
