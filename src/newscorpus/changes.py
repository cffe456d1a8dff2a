"""Which files a contribution changed, from git: the edge between a pull request and validation.

``newscorpus validate --changed-since origin/main`` asks :func:`changed_files`
for the files changed since the merge base of the ref and HEAD (committed or
not, and new untracked files), so a reviewer sees the problems a pull request
brings and nothing else.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from newscorpus.errors import NewscorpusError, UsageError


def _git(args: list[str], cwd: Path) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise NewscorpusError("git is not installed; --changed-since needs it") from error
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"git {args[0]} failed"
        raise UsageError(f"git {args[0]}: {message}")
    return result.stdout


def changed_files(ref: str, cwd: Path) -> list[Path]:
    """Absolute paths of the files changed since the merge base of ``ref`` and HEAD, deleted ones included.

    Raises :class:`~newscorpus.errors.UsageError` when ``cwd`` is not in a
    git work tree or ``ref`` is unknown (in CI: fetch with ``fetch-depth: 0``).
    """
    if ref.startswith("-"):
        raise UsageError(f"{ref!r} is not a git ref")
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    base = _git(["merge-base", ref, "HEAD"], top).strip()
    listed = _git(["diff", "--name-only", "-z", "--no-renames", base, "--"], top)
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top)
    names = {name for name in (listed + untracked).split("\0") if name}
    return sorted(top / name for name in names)
