"""Build the Hugging Face dataset directory from the corpus.

Converts every raw file the manifest lists, validates everything, and writes a
Hub-ready dataset repository (Parquet data files for the configs articles,
entities and quotes; a dataset card with declared features; the datasheet,
guidelines and schemas). Bad files are reported and left out (raw files that
fail to convert or are not regular files, such as symbolic links; annotation
documents with errors); the rest is built. A raw file whose sha256 differs
from its manifest line's is reported and built from its current bytes (its
article's provenance records their sha256). The output directory is replaced
only once the new one is complete, and by one build at a time (another build
into it waits); a build that is killed or interrupted leaves the last one as
it was. --out must be new, empty or a previous build's output: a build
replaces it whole, so a directory holding anything else is refused. Conversion and shard
writing use every core (--workers); results are cached in build/cache
(--cache), so a rebuild redoes only what changed.

Exit status: 0 clean, 1 when any file had errors (the dataset is still
written without them), 2 on usage errors, 130 when interrupted (Ctrl-C).

examples:
  newscorpus build
  newscorpus build --corpus corpus --out build/dataset
  newscorpus build --workers 8 --cache /scratch/newscorpus-cache
  newscorpus build --prune-cache          # and drop what older versions left in the cache
  newscorpus build --engine dask          # on a local Dask cluster of --workers processes
  DASK_SCHEDULER_ADDRESS=tcp://scheduler:8786 newscorpus build --engine dask \
      --corpus /shared/corpus --out /shared/dataset --cache /shared/cache    # on a Dask cluster
  python -c 'import datasets; print(datasets.load_dataset("build/dataset", "quotes"))'
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from newscorpus.build import CONFIGS, build
from newscorpus.corpus import CorpusLayout
from newscorpus.errors import UsageError
from newscorpus.pipeline import ProcessMapper
from newscorpus.problems import errors
from newscorpus.report import FORMATS, render


#: Where the map stages run (``--engine``).
ENGINES = ("processes", "dask")


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``newscorpus build``."""
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus directory (default: corpus)")
    parser.add_argument("--out", type=Path, default=Path("build/dataset"), help="dataset directory to write (default: build/dataset)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="format of the problem report (default: text)")
    parser.add_argument("--cache", type=Path, default=None, help="cache directory (default: cache/ beside --out, i.e. build/cache)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes converting and writing in parallel (default: one per core)")
    parser.add_argument("--engine", choices=ENGINES, default="processes",
                        help="where conversion, checks and shard writing run: 'processes', a pool of --workers processes "
                             "here (default); 'dask', a Dask cluster (the 'dask' extra; see docs/scale.md)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="with --engine dask: the scheduler of a running cluster, e.g. tcp://scheduler:8786 (default: "
                             "Dask's scheduler-address setting, e.g. $DASK_SCHEDULER_ADDRESS; without one, a local "
                             "cluster of --workers processes on 127.0.0.1). Its workers must run this newscorpus version "
                             "and see the corpus, the cache and the output's parent at the same paths")
    parser.add_argument("--prune-cache", action="store_true",
                        help="after the build, remove every cache entry it did not use (earlier converter and code versions, "
                             "files since changed or removed; with a cache shared by other corpora, theirs too)")


def run(args: argparse.Namespace) -> int:
    """Build and report; 0 clean, 1 when files had errors."""
    if not (args.corpus / "raw").is_dir():
        raise UsageError(f"{args.corpus} is not a corpus directory (no raw/ inside)")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.scheduler and args.engine != "dask":
        raise UsageError("--scheduler needs --engine dask")
    layout = CorpusLayout(args.corpus)
    if args.engine == "dask":
        from newscorpus.engines.dask import build_on_dask, scheduler_address

        address = scheduler_address(args.scheduler)
        print(f"engine: Dask, {f'the cluster at {address}' if address else f'a local cluster of {args.workers} workers'}")
        result = build_on_dask(layout, args.out, address=address, workers=args.workers, cache_dir=args.cache,
                               prune_cache=args.prune_cache)
    else:
        result = build(layout, args.out, cache_dir=args.cache, mapper=ProcessMapper(args.workers),
                       prune_cache=args.prune_cache)
    if result.problems:
        sys.stderr.write(render(result.problems, args.format))
    for config in CONFIGS:
        counts = ", ".join(f"{split} {n}" for split, n in result.counts[config].items())
        print(f"{config}: {counts}")
    reused = ", ".join(
        f"{name} {result.cache.hits.get(name, 0)} reused / {result.cache.misses.get(name, 0)} new"
        + (f" / {result.cache.corrupted[name]} corrupted, rebuilt" if result.cache.corrupted.get(name) else "")
        for name in ("convert", "document", "shard")
    )
    print(f"cache: {reused}")
    pruned = result.pruned
    if pruned is not None and pruned.skipped:
        print(f"cache: not pruned: {pruned.skipped}; run again to prune")
    elif pruned is not None:
        failed = f" ({pruned.failed} names or folders could not be removed or listed)" if pruned.failed else ""
        print(f"cache: pruned {pruned.entries} unused entries, {pruned.nbytes / 1e6:.1f} MB freed{failed}")
    print(f"wrote {result.out}")
    return 1 if errors(result.problems) else 0
