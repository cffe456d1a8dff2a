"""Wire-story clusters: which articles are versions of one agency story.

Outlets republish the same wire story with small edits, so a random split
would leak near-identical text between train and test.  Articles whose bodies
share enough word 5-gram shingles (MinHash LSH, datasketch) are put in one
cluster, and splits are assigned per cluster.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH

#: Estimated Jaccard similarity of word 5-gram shingles above which two bodies are one story.
THRESHOLD = 0.3
NUM_PERM = 128
SHINGLE = 5
_WORD = re.compile(r"\w+")


def minhash(text: str) -> MinHash:
    """MinHash of the lower-cased word 5-gram shingles of ``text`` (deterministic)."""
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    signature = MinHash(num_perm=NUM_PERM, seed=1)
    signature.update_batch([s.encode("utf-8") for s in sorted(shingles)])
    return signature


def signature(text: str) -> np.ndarray:
    """The MinHash signature of ``text`` as ``NUM_PERM`` uint32 values (small enough to keep for every article)."""
    return minhash(text).hashvalues.astype(np.uint32)


def _bands() -> tuple[int, int]:
    """Bands and rows per band: the parameters datasketch's MinHashLSH picks for THRESHOLD and NUM_PERM."""
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    return lsh.b, lsh.r


def cluster_signatures(ids: Sequence[str], signatures: np.ndarray, dates: Sequence[str | None]) -> dict[str, str]:
    """Map each article id to its cluster id, from MinHash signatures (one row of ``signatures`` per id).

    Candidates are the pairs that agree on every value of at least one LSH
    band (exactly the pairs a datasketch ``MinHashLSH`` would return); a
    candidate pair is one story when its estimated Jaccard similarity is at
    least :data:`THRESHOLD`.  Clusters are the connected components.  The
    cluster id is the id of its earliest article (by date, then id), so it does
    not depend on the order articles are given in.  Memory: the signatures
    (``4 * NUM_PERM`` bytes per article) and a few arrays of that size.
    """
    n = len(ids)
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    bands, rows = _bands()
    for band in range(bands):
        keys = signatures[:, band * rows:(band + 1) * rows]
        order = np.lexsort(keys.T[::-1])
        ordered = keys[order]
        starts = np.flatnonzero(np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1), True])
        for lo, hi in zip(starts[:-1], starts[1:]):
            if hi - lo < 2:
                continue
            members = order[lo:hi]
            for i, member in enumerate(members[:-1]):
                others = members[i + 1:]
                similar = (signatures[others] == signatures[member]).mean(axis=1) >= THRESHOLD
                for other in others[similar]:
                    a, b = root(int(member)), root(int(other))
                    if a != b:
                        parent[max(a, b)] = min(a, b)

    members_of: dict[int, list[int]] = {}
    for i in range(n):
        members_of.setdefault(root(i), []).append(i)
    cluster_of = {}
    for group in members_of.values():
        first = min(group, key=lambda i: (dates[i] or "9999-99-99", ids[i]))
        for i in group:
            cluster_of[ids[i]] = ids[first]
    return cluster_of


def wire_clusters(bodies: dict[str, str], dates: dict[str, str | None] | None = None) -> dict[str, str]:
    """Map each article id to its cluster id (see :func:`cluster_signatures`).

    >>> wire_clusters({"a": "one two three four five six", "b": "unrelated words only here now"})
    {'a': 'a', 'b': 'b'}
    """
    dates = dates or {}
    ids = sorted(bodies)
    if not ids:
        return {}
    signatures = np.stack([signature(bodies[ident]) for ident in ids])
    return cluster_signatures(ids, signatures, [dates.get(ident) for ident in ids])


#: Share of clusters per split, in percent (assigned by a hash of the cluster id).
SPLITS = (("train", 80), ("validation", 10), ("test", 10))


def split_of(cluster: str) -> str:
    """The split of a cluster: a stable hash of its id, so adding articles never moves old clusters.

    >>> split_of("spacewar-2023-10-19-aa6e04d9") in {"train", "validation", "test"}
    True
    """
    bucket = int.from_bytes(hashlib.sha256(cluster.encode("utf-8")).digest()[:8], "big") % 100
    for name, share in SPLITS:
        if bucket < share:
            return name
        bucket -= share
    return SPLITS[-1][0]
