"""Wire-story clusters: which articles are versions of one agency story.

Outlets republish the same wire story with small edits, so a random split
would leak near-identical text between train and test.  Articles whose bodies
share enough word 5-gram shingles (MinHash LSH, datasketch) are put in one
cluster, and splits are assigned per cluster.
"""

from __future__ import annotations

import hashlib
import re

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


def wire_clusters(bodies: dict[str, str], dates: dict[str, str | None] | None = None) -> dict[str, str]:
    """Map each article id to its cluster id.

    The cluster id is the id of the cluster's earliest article (by date, then
    id), so it does not depend on the order articles are given in.

    >>> wire_clusters({"a": "one two three four five six", "b": "unrelated words only here now"})
    {'a': 'a', 'b': 'b'}
    """
    dates = dates or {}
    ids = sorted(bodies)
    signatures = {ident: minhash(bodies[ident]) for ident in ids}
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    parent = {ident: ident for ident in ids}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ident in ids:
        for other in sorted(lsh.query(signatures[ident])):
            if signatures[ident].jaccard(signatures[other]) >= THRESHOLD:
                a, b = root(ident), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        lsh.insert(ident, signatures[ident])

    members: dict[str, list[str]] = {}
    for ident in ids:
        members.setdefault(root(ident), []).append(ident)
    cluster_of = {}
    for group in members.values():
        first = min(group, key=lambda i: (dates.get(i) or "9999-99-99", i))
        for ident in group:
            cluster_of[ident] = first
    return cluster_of


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
