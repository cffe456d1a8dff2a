"""Build the Hugging Face dataset directory from the corpus.

Converts every raw file the manifest lists, validates everything, and writes a
Hub-ready dataset repository (Parquet data files for the configs articles,
entities and quotes; a dataset card with declared features; the datasheet,
guidelines and schemas). Bad files are reported and left out; the rest is
built. The output directory is replaced only once the new one is complete.

Exit status: 0 clean, 1 when any file had errors (the dataset is still
written without them), 2 on usage errors.

examples:
  newscorpus build
  newscorpus build --corpus corpus --out build/dataset
  python -c 'import datasets; print(datasets.load_dataset("build/dataset", "quotes"))'
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newscorpus.build import CONFIGS, build
from newscorpus.corpus import CorpusLayout
from newscorpus.errors import UsageError
from newscorpus.problems import errors
from newscorpus.report import FORMATS, render


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``newscorpus build``."""
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus directory (default: corpus)")
    parser.add_argument("--out", type=Path, default=Path("build/dataset"), help="dataset directory to write (default: build/dataset)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="format of the problem report (default: text)")


def run(args: argparse.Namespace) -> int:
    """Build and report; 0 clean, 1 when files had errors."""
    if not (args.corpus / "raw").is_dir():
        raise UsageError(f"{args.corpus} is not a corpus directory (no raw/ inside)")
    result = build(CorpusLayout(args.corpus), args.out)
    if result.problems:
        sys.stderr.write(render(result.problems, args.format))
    for config in CONFIGS:
        counts = ", ".join(f"{split} {n}" for split, n in result.counts[config].items())
        print(f"{config}: {counts}")
    print(f"wrote {result.out}")
    return 1 if errors(result.problems) else 0
