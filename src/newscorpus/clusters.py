"""Wire-story clusters: which articles are versions of one agency story.

Outlets republish the same wire story with small edits, so a random split
would leak near-identical text between train and test.  Articles whose bodies
share enough word 5-gram shingles (MinHash LSH, as datasketch does it) are put in one
cluster, and splits are assigned per cluster.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Iterator, Sequence

import numpy as np

# The signatures and LSH bands are datasketch's (tests compare them), computed here with numpy:
# importing datasketch (and scipy) takes over a second, more than a rebuild's whole scan.

#: Estimated Jaccard similarity of word 5-gram shingles above which two bodies are one story.
THRESHOLD = 0.3
NUM_PERM = 128
SHINGLE = 5
#: LSH bands and rows per band: the ones datasketch's ``MinHashLSH`` picks for THRESHOLD and NUM_PERM (it
#: minimises the false positive and negative areas by numerical integration, 0.6 s with the scipy import;
#: a test asserts these are its choice).
LSH_BANDS, LSH_ROWS = 37, 3
_WORD = re.compile(r"\w+")


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations ``(a, b)`` of datasketch's ``MinHash(num_perm=NUM_PERM, seed=1)`` (its default
    ``affine32`` scheme), drawn as it draws them: ``a`` odd, from ``RandomState(1)``."""
    gen = np.random.RandomState(1)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _sha1_hash32(shingles: list[str]) -> np.ndarray:
    """datasketch's ``sha1_hash32`` of each shingle's UTF-8 bytes (the first 4 bytes of SHA-1, little-endian), in bulk."""
    digests = b"".join([hashlib.sha1(s.encode("utf-8")).digest()[:4] for s in shingles])
    return np.frombuffer(digests, dtype="<u4").astype(np.uint32)


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch mixes every hash with it before permuting)."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def signature(text: str) -> np.ndarray:
    """The MinHash signature of the lower-cased word 5-gram shingles of ``text``: ``NUM_PERM`` uint32 values.

    The values of datasketch's ``MinHash(num_perm=NUM_PERM, seed=1)`` updated
    with the shingles' UTF-8 bytes (a test compares them), computed in bulk
    with numpy: importing datasketch takes over a second, a rebuild signs one
    changed body.
    """
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    a, b = _permutations()
    permuted = _fmix32(_sha1_hash32(list(shingles)))[:, None] * a + b  # uint32: wraps modulo 2^32, as datasketch's
    return permuted.min(axis=0)


def _bucket_pairs(order: np.ndarray, starts: np.ndarray) -> Iterator[np.ndarray]:
    """Every pair ``(i, j)``, i before j, of members of one bucket (``order[lo:hi]`` for consecutive ``starts``), as arrays."""
    sizes = np.diff(starts)
    for size in np.unique(sizes[sizes > 1]):
        lows = starts[:-1][sizes == size]
        members = order[lows[:, None] + np.arange(size)]
        for i in range(size - 1):
            yield np.stack([np.repeat(members[:, i], size - i - 1), members[:, i + 1:].ravel()], axis=1)


#: Odd 64-bit multipliers that mix a band's values into one sort key (bands are then checked value by value).
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)


def _band_keys(band: np.ndarray) -> np.ndarray:
    """One uint64 per row of a band (``rows`` uint32 values), equal for equal bands (rarely for unequal ones)."""
    key = np.zeros(len(band), dtype=np.uint64)
    for r in range(band.shape[1]):
        key ^= band[:, r].astype(np.uint64) * _MIX[r % len(_MIX)]
        key = (key << np.uint64(13)) | (key >> np.uint64(51))
    return key


def _similar_pairs(signatures: np.ndarray, bands: int, rows: int, chunk: int = 1 << 16) -> list[tuple[int, int]]:
    """The candidate pairs (equal on every value of some band) whose estimated Jaccard similarity is at least
    :data:`THRESHOLD`, each once, smaller index first, sorted.

    Each band's rows are sorted by one 64-bit key mixed from its values (one
    ``argsort``, not a ``lexsort`` over the values); members of a run of
    equal keys are candidates once their band values are equal too, so the
    candidates are exactly the pairs that share a band.
    """
    n = len(signatures)
    found: list[np.ndarray] = []
    for band in range(bands):
        values = signatures[:, band * rows:(band + 1) * rows]
        keys = _band_keys(values)
        order = np.argsort(keys)
        ordered = keys[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])
        for pairs in _bucket_pairs(order, starts):
            found.append(pairs[np.all(values[pairs[:, 0]] == values[pairs[:, 1]], axis=1)])
    if not found:
        return []
    pairs = np.concatenate(found).astype(np.int64)
    codes = np.unique(pairs.min(axis=1) * n + pairs.max(axis=1))
    pairs = np.stack([codes // n, codes % n], axis=1)
    similar = [
        part[(signatures[part[:, 0]] == signatures[part[:, 1]]).mean(axis=1) >= THRESHOLD]
        for part in (pairs[k:k + chunk] for k in range(0, len(pairs), chunk))
    ]
    return [(int(a), int(b)) for a, b in np.concatenate(similar)]


def cluster_signatures(ids: Sequence[str], signatures: np.ndarray, dates: Sequence[str | None]) -> dict[str, str]:
    """Map each article id to its cluster id, from MinHash signatures (one row of ``signatures`` per id).

    Candidates are the pairs that agree on every value of at least one LSH
    band (exactly the pairs a datasketch ``MinHashLSH`` would return); a
    candidate pair is one story when its estimated Jaccard similarity is at
    least :data:`THRESHOLD`.  Clusters are the connected components (labels
    spread along the pairs with numpy until they settle).  The cluster id is
    the id of its earliest article (by date, then id), so it does not depend
    on the order articles are given in.  Memory: the signatures (``4 *
    NUM_PERM`` bytes per article) and a few arrays of that size.
    """
    n = len(ids)
    labels = np.arange(n)
    pairs = np.array(_similar_pairs(signatures, LSH_BANDS, LSH_ROWS), dtype=np.int64).reshape(-1, 2)
    while len(pairs):
        low = np.minimum(labels[pairs[:, 0]], labels[pairs[:, 1]])
        before = labels.copy()
        np.minimum.at(labels, pairs[:, 0], low)
        np.minimum.at(labels, pairs[:, 1], low)
        labels = labels[labels]  # pointer jumping: a label points at a smaller index of its component
        if np.array_equal(labels, before):
            break
    shared = np.flatnonzero(np.bincount(labels, minlength=n)[labels] > 1)  # articles in clusters of two or more
    first: dict[int, str] = {}
    for i in sorted(shared.tolist(), key=lambda i: (dates[i] or "9999-99-99", ids[i])):
        first.setdefault(int(labels[i]), ids[i])
    return {ident: first.get(label, ident) for ident, label in zip(ids, labels.tolist())}


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
