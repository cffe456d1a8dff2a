"""Shared test fixtures. Every test works in tmp_path; nothing writes to fixed paths."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Loading the dataset must never reach the network: a typo fails instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the repository's corpus and docs in tmp_path (so builds and edits touch nothing real)."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "corpus", root / "corpus")
    for name in ("DATASHEET.md", "ANNOTATION_GUIDELINES.md"):
        if (REPO / name).is_file():
            shutil.copyfile(REPO / name, root / name)
    return root


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private datasets cache, so loads in one test never see another test's cache."""
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    return cache
