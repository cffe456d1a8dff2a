"""Wire-story clusters: which articles are versions of one agency story.

Outlets republish the same wire story with small edits, so a random split
would leak near-identical text between train and test.  Articles whose bodies
share enough word 5-gram shingles (MinHash LSH, as datasketch does it) are put in one
cluster, and splits are assigned per cluster.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Iterator, Protocol, Sequence

import numpy as np

from newscorpus.heap import release_free_memory

# The signatures are datasketch's MinHash with our shingle hash (:func:`shingle_hash`), and the LSH bands are
# datasketch's (tests compare both), computed here with numpy: importing datasketch (and scipy) takes over a
# second, more than a rebuild's whole scan, and hashing every shingle with SHA-1 (datasketch's default) took
# five to ten times as long as the whole signature does now.

#: Estimated Jaccard similarity of word 5-gram shingles above which two bodies are one story.
THRESHOLD = 0.3
NUM_PERM = 128
SHINGLE = 5
#: LSH bands and rows per band: the ones datasketch's ``MinHashLSH`` picks for THRESHOLD and NUM_PERM (it
#: minimises the false positive and negative areas by numerical integration, 0.6 s with the scipy import;
#: a test asserts these are its choice).
LSH_BANDS, LSH_ROWS = 37, 3
_WORD = re.compile(r"\w+")
_NOT_WORD = re.compile(r"\W")


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations ``(a, b)`` of datasketch's ``MinHash(num_perm=NUM_PERM, seed=1)`` (its default
    ``affine32`` scheme), drawn as it draws them: ``a`` odd, from ``RandomState(1)``."""
    gen = np.random.RandomState(1)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


_MASK64 = (1 << 64) - 1
#: The base of the word hash (odd, so invertible modulo 2^64).
_WORD_BASE = 0x9E3779B97F4A7C15
#: The start and the multiplier (odd) of the shingle hash's chain.
_SHINGLE_SEED = 0x5851F42D4C957F2D
_SHINGLE_MULTIPLIER = 0xD6E8FEB86659FD93
#: Bodies up to this many code points share one table of powers of the word base (16 bytes a code point).
_CACHED_POWERS = 1 << 16


def _fmix64(value: int) -> int:
    """MurmurHash3's 64-bit finalizer (a bijection that spreads every input bit over the output)."""
    value ^= value >> 33
    value = (value * 0xFF51AFD7ED558CCD) & _MASK64
    value ^= value >> 33
    value = (value * 0xC4CEB9FE1A85EC53) & _MASK64
    return value ^ (value >> 33)


def word_hash(word: str) -> int:
    """The 64-bit hash of one word: its code points as a polynomial in :data:`_WORD_BASE`, modulo 2^64.

    >>> word_hash("a") == ord("a")
    True
    """
    return sum(ord(char) * pow(_WORD_BASE, i, 1 << 64) for i, char in enumerate(word)) & _MASK64


def shingle_hash(shingle: bytes | str) -> int:
    """The 32-bit hash of one shingle (its words joined by single spaces): what :func:`signature` computes in
    bulk, and a ``hashfunc`` for datasketch's ``MinHash``.

    The :func:`word_hash` values are chained from a seed, ``h = (h ^ word_hash(w))
    * M`` modulo 2^64 (``M`` odd), and the hash is the top 32 bits of MurmurHash3's
    64-bit finalizer of ``h``.  Unlike SHA-1 of each shingle's bytes
    (datasketch's default), it can be computed for all the shingles of a body
    at once from one pass over its code points.

    >>> shingle_hash("the talks were useful today") == shingle_hash(b"the talks were useful today")
    True
    """
    text = shingle.decode("utf-8") if isinstance(shingle, bytes) else shingle
    value = _SHINGLE_SEED
    for word in text.split(" ") if text else ():
        value = ((value ^ word_hash(word)) * _SHINGLE_MULTIPLIER) & _MASK64
    return _fmix64(value) >> 32


#: Code points of the Basic Multilingual Plane per block of :func:`_bmp_word_chars`'s table.
_BLOCK = 256
_WORD_TABLE = np.zeros(0x10000, dtype=bool)
_BLOCKS_MADE = np.zeros(0x10000 // _BLOCK, dtype=bool)
#: Every block of the table below this one is made (:func:`_bmp_word_chars`), in a list: ``[block number]``.
_MADE_BELOW = [0]
#: A text whose highest code point is below this one has every block of the table up to that point's made at once
#: (:func:`_bmp_word_chars`): up to U+2FFF, Latin, Greek, Cyrillic and the other alphabets, general punctuation
#: (curly quotes, dashes) and currency signs, at most 48 blocks, 2 ms once a process.
_MADE_UP_TO = 0x3000


def _bmp_word_chars(points: np.ndarray, top: int) -> np.ndarray:
    """Which code points of the Basic Multilingual Plane ``\\w`` matches: a boolean table made by the regex itself,
    a block of 256 code points at a time, as ``points`` (code points of that plane, ``top`` the highest) first need
    them.  The whole plane at once took 24 ms of a process, which a rebuild that signs one article paid for the few
    blocks it uses.  Below :data:`_MADE_UP_TO` every block up to ``top``'s is made at once, so a text whose points are
    all below a block made with every one before it needs no search (:data:`_MADE_BELOW`): finding the blocks a
    text uses took 20 us of the 200 an article's signature takes (of 5,500 characters)."""
    if top >> 8 < _MADE_BELOW[0]:
        return _WORD_TABLE
    if top < _MADE_UP_TO:
        blocks = np.flatnonzero(~_BLOCKS_MADE[:(top >> 8) + 1])
    else:
        blocks = np.flatnonzero((np.bincount(points >> 8, minlength=len(_BLOCKS_MADE)) > 0) & ~_BLOCKS_MADE)
    for block in blocks.tolist():
        start = block * _BLOCK
        chars = "".join(map(chr, range(start, start + _BLOCK)))
        marked = _NOT_WORD.sub("\0", chars).encode("utf-32-le", "surrogatepass")
        _WORD_TABLE[start:start + _BLOCK] = np.frombuffer(marked, dtype=np.uint32) != 0
        _BLOCKS_MADE[block] = True
    unmade = np.flatnonzero(~_BLOCKS_MADE)
    _MADE_BELOW[0] = int(unmade[0]) if len(unmade) else len(_BLOCKS_MADE)
    return _WORD_TABLE


@cache
def _is_word_char(code_point: int) -> bool:
    """Whether ``\\w`` matches one code point outside the Basic Multilingual Plane (rare: emoji are not words)."""
    return _WORD.match(chr(code_point)) is not None


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``base^i`` and ``base^-i`` modulo 2^64 for ``i < size`` (uint64; up to :data:`_CACHED_POWERS`, views of one
    shared read-only table)."""
    powers, inverse = _shared_powers()
    if size > len(powers):
        return _power_tables(size)
    return powers[:size], inverse[:size]


@cache
def _shared_powers() -> tuple[np.ndarray, np.ndarray]:
    powers, inverse = _power_tables(_CACHED_POWERS)
    powers.flags.writeable = inverse.flags.writeable = False
    return powers, inverse


def _power_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    tables = np.empty((2, size), dtype=np.uint64)
    tables[0], tables[1] = _WORD_BASE, pow(_WORD_BASE, -1, 1 << 64)
    tables[:, 0] = 1
    np.cumprod(tables, axis=1, out=tables)
    return tables[0], tables[1]


def _word_hashes(text: str) -> np.ndarray:
    """The :func:`word_hash` of each word (``\\w+`` run, as ``re.findall`` finds them) of ``text``, in order,
    with numpy: the difference of two prefix sums of ``code point * base^position``, times ``base^-start``."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    size = len(points)
    marks = np.zeros(size + 2, dtype=bool)  # is a word character, with a non-word one at either end
    top = int(points.max()) if size else 0
    if top >= 0x10000:
        astral = points >= 0x10000
        plane = np.where(astral, 0, points)
        marks[1:-1] = _bmp_word_chars(plane, int(plane.max()))[plane]
        marks[1:-1][astral] = [_is_word_char(int(p)) for p in points[astral]]
    else:
        np.take(_bmp_word_chars(points, top), points, out=marks[1:-1])
    edges = np.flatnonzero(marks[1:] != marks[:-1])
    starts, ends = edges[0::2], edges[1::2]
    powers, inverse = _powers(size)
    prefix = np.empty(size + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(np.multiply(points, powers, dtype=np.uint64), out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * inverse[starts]


def _shingle_hashes(text: str) -> np.ndarray:
    """The :func:`shingle_hash` of each word ``SHINGLE``-gram of the lower-cased ``text`` (of all its words, when it
    has fewer), repeats included: dropping them (``np.unique``) costs more than the few columns of
    :func:`signature` it saves."""
    words = _word_hashes(text.lower())
    count = max(1, len(words) - SHINGLE + 1)
    chain = np.full(count, _SHINGLE_SEED, dtype=np.uint64)
    multiplier = np.uint64(_SHINGLE_MULTIPLIER)
    for k in range(min(SHINGLE, len(words))):
        chain ^= words[k:k + count]
        chain *= multiplier
    chain ^= chain >> np.uint64(33)
    chain *= np.uint64(0xFF51AFD7ED558CCD)
    chain ^= chain >> np.uint64(33)
    chain *= np.uint64(0xC4CEB9FE1A85EC53)
    chain ^= chain >> np.uint64(33)
    return (chain >> np.uint64(32)).astype(np.uint32)


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, in place (datasketch mixes every hash with it before permuting)."""
    hv ^= hv >> np.uint32(16)
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    return hv


def signature(text: str) -> np.ndarray:
    """The MinHash signature of the lower-cased word 5-gram shingles of ``text``: ``NUM_PERM`` uint32 values.

    The values of datasketch's ``MinHash(num_perm=NUM_PERM, seed=1,
    hashfunc=shingle_hash)`` updated with the shingles (a test compares
    them), computed in bulk with numpy: words are the ``\\w+`` runs of the
    lower-cased text, each shingle ``SHINGLE`` consecutive words joined by
    spaces.
    """
    a, b = _permutations()
    hashes = _fmix32(_shingle_hashes(text))
    permuted = np.multiply(a[:, None], hashes)  # (NUM_PERM, shingles): the minimum runs along each row
    permuted += b[:, None]  # uint32: wraps modulo 2^32, as datasketch's
    return permuted.min(axis=1)


def _runs_of_equals(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of two or more equal values of the sorted ``ordered`` starts, and its length: arrays as long as
    the runs, not as ``ordered`` (most band keys are unique: an array of every run was 0.8 MB a band at 100,000)."""
    repeats = np.flatnonzero(ordered[1:] == ordered[:-1])  # i: ordered[i] == ordered[i + 1]
    if not len(repeats):
        return repeats, repeats
    cuts = np.flatnonzero(np.diff(repeats) != 1)
    lows = repeats[np.r_[0, cuts + 1]]
    return lows, repeats[np.r_[cuts, len(repeats) - 1]] + 2 - lows


def _bucket_pairs(order: np.ndarray, lows: np.ndarray, sizes: np.ndarray) -> Iterator[np.ndarray]:
    """Every pair ``(i, j)``, i before j, of members of one bucket (``order[lo:lo + size]`` for each of ``lows`` and
    ``sizes``, sizes of two or more), as arrays."""
    for size in np.unique(sizes).tolist():
        at = lows[sizes == size]
        members = order[at[:, None] + np.arange(size)]
        for i in range(size - 1):
            yield np.stack([np.repeat(members[:, i], size - i - 1), members[:, i + 1:].ravel()], axis=1)


#: Odd 64-bit multipliers that mix a band's values into one sort key (bands are then checked value by value).
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)


def _band_keys(band: np.ndarray) -> np.ndarray:
    """One uint64 per row of a band (``rows`` uint32 values), equal for equal bands (rarely for unequal ones)."""
    key = np.zeros(len(band), dtype=np.uint64)
    spare = np.empty_like(key)  # (in place: each step's temporaries were four arrays of n more)
    for r in range(band.shape[1]):
        np.multiply(band[:, r], _MIX[r % len(_MIX)], out=spare, dtype=np.uint64)
        key ^= spare
        np.right_shift(key, np.uint64(51), out=spare)
        np.left_shift(key, np.uint64(13), out=key)
        key |= spare
    return key


#: The column groups of a signature matrix: one per LSH band, then the columns no band uses, as many at a time (one
#: group of all 17 was 6.8 MB read at once at 100,000 articles, where a band's is 1.2 MB).
COLUMN_GROUPS = tuple((band * LSH_ROWS, (band + 1) * LSH_ROWS) for band in range(LSH_BANDS)) + tuple(
    (lo, min(lo + LSH_ROWS, NUM_PERM)) for lo in range(LSH_BANDS * LSH_ROWS, NUM_PERM, LSH_ROWS))


class Signatures(Protocol):
    """Signatures by column group (:data:`COLUMN_GROUPS`): an in-memory matrix, or a file per group (the scan's)."""

    def __len__(self) -> int: ...

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """Columns ``lo:hi`` (one of :data:`COLUMN_GROUPS`) of every signature: an ``(n, hi - lo)`` uint32 array."""
        ...


@dataclass(frozen=True)
class Matrix:
    """:class:`Signatures` of an ``(n, NUM_PERM)`` array."""

    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def columns(self, lo: int, hi: int) -> np.ndarray:
        return self.values[:, lo:hi]


def in_sorted(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """``np.isin(needles, haystack)`` for a sorted ``haystack``: one ``searchsorted``, no copies of either."""
    if not len(haystack):
        return np.zeros(len(needles), dtype=bool)
    return haystack[np.minimum(np.searchsorted(haystack, needles), len(haystack) - 1)] == needles


def _merged(codes: np.ndarray, more: np.ndarray) -> np.ndarray:
    """``np.union1d(codes, more)`` for sorted unique ``codes``, quicker when most of ``more`` is in it already."""
    new = more[~in_sorted(codes, more)]
    return np.union1d(codes, new) if len(new) else codes


def _positions(n: int) -> type[np.signedinteger]:
    """The integer type of positions among ``n`` articles: 32 bits while they fit, half the memory of 64."""
    return np.int32 if n < 1 << 31 else np.int64


def _similar_pairs(signatures: Signatures, bands: int, rows: int, chunk: int = 1 << 14) -> np.ndarray:
    """The candidate pairs (equal on every value of some band) whose estimated Jaccard similarity is at least
    :data:`THRESHOLD`, each once, smaller index first, sorted: a ``(pairs, 2)`` array of int32 (int64 past 2^31
    articles).

    Each band's rows are sorted by one 64-bit key mixed from its values (one
    ``argsort``, not a ``lexsort`` over the values); members of a run of
    equal keys are candidates once their band values are equal too, so the
    candidates are exactly the pairs that share a band.  The signatures are
    read one column group at a time (a band's values are 12 bytes per
    article): never the whole matrix at once.
    """
    n = len(signatures)
    codes = np.zeros(0, dtype=np.int64)  # each candidate pair once, as smaller * n + larger, sorted
    for band in range(bands):
        values = signatures.columns(band * rows, (band + 1) * rows)
        keys = _band_keys(values)
        order = np.argsort(keys)
        keys.sort()  # (in place: the same as keys[order], without a copy)
        lows, sizes = _runs_of_equals(keys)
        del keys
        found = [pairs[np.all(values[pairs[:, 0]] == values[pairs[:, 1]], axis=1)] for pairs in _bucket_pairs(order, lows, sizes)]
        del values, order
        if found:  # merged band by band: most pairs share many bands (all 37 copies were 92 MB at 100,000 articles)
            pairs = np.concatenate(found).astype(np.int64, copy=False)
            del found
            more = pairs.min(axis=1)
            more *= n
            more += pairs.max(axis=1)
            del pairs
            codes = _merged(codes, more)
            del more
        release_free_memory(now=True)  # a band's arrays, freed: 13 MB more over the bands at 100,000 articles without
    return _similar(signatures, codes, chunk)


def _similar(signatures: Signatures, codes: np.ndarray, chunk: int = 1 << 14) -> np.ndarray:
    """The candidate pairs ``codes`` (each ``smaller * n + larger``, sorted, unique) whose estimated Jaccard
    similarity is at least :data:`THRESHOLD`, as :func:`_similar_pairs` gives them."""
    if not len(codes):
        return np.zeros((0, 2), dtype=_positions(len(signatures)))
    pairs = _pairs_of(codes, len(signatures))
    del codes
    equal = np.zeros(len(pairs), dtype=np.uint8)  # values equal, over every column (at most NUM_PERM)
    for lo, hi in COLUMN_GROUPS:
        values = signatures.columns(lo, hi)
        for k in range(0, len(pairs), chunk):
            part = pairs[k:k + chunk]
            equal[k:k + chunk] += (values[part[:, 0]] == values[part[:, 1]]).sum(axis=1, dtype=np.uint8)
        del values
    return pairs[equal / NUM_PERM >= THRESHOLD]  # a list of tuples of ints was 8 MB at 100,000 articles


def _pairs_of(codes: np.ndarray, n: int) -> np.ndarray:
    """The pairs ``codes`` stand for (each ``smaller * n + larger``), as a ``(pairs, 2)`` array of positions."""
    pairs = np.empty((len(codes), 2), dtype=_positions(n))
    np.floor_divide(codes, n, out=pairs[:, 0], casting="unsafe")
    np.remainder(codes, n, out=pairs[:, 1], casting="unsafe")
    return pairs


def row_fingerprints(signatures: Signatures) -> np.ndarray:
    """A 64-bit fingerprint of each signature (``uint64``, one per row), read a column group at a time: equal rows
    have equal ones; a changed row keeps its one by a chance of about 2^-64.  Each value is multiplied by a constant
    of its column and mixed in, and the state multiplied and folded after each (not an XOR of one term per column,
    which two columns given the same multiplier would cancel when swapped).  It costs a cold build a pass over the
    signatures: 0.09 s at 100,000 articles."""
    state = np.zeros(len(signatures), dtype=np.uint64)
    spare = np.empty_like(state)
    for lo, hi in COLUMN_GROUPS:
        values = signatures.columns(lo, hi)
        for r in range(hi - lo):
            column = lo + r
            np.multiply(values[:, r], np.uint64(_MIX[column % len(_MIX)] + np.uint64(2 * column)), out=spare, dtype=np.uint64)
            state ^= spare
            state *= np.uint64(0x9FB21C651E98DF25)  # (odd: a bijection; then the high bits folded into the low)
            np.right_shift(state, np.uint64(29), out=spare)
            state ^= spare
        del values
    return state


#: The share of changed signatures up to which :func:`similar_pairs` updates the last pairs rather than finding
#: them all again.  Measured on 100,000 random signatures with 20,000 planted pairs (in memory): all found in 0.63 s,
#: updated for 1, 100, 1,000, 5,000 and 10,000 changed rows in 0.13, 0.23, 0.32, 0.45 and 0.64 s (at 10,000: all 0.05,
#: 1,000 changed 0.04); the fingerprints 0.09 s either way.
INCREMENTAL_SHARE = 0.05


@dataclass(frozen=True)
class Similar:
    """The similar pairs of a set of signatures (:func:`_similar_pairs`' ``(pairs, 2)`` array) and each signature's
    fingerprint (:func:`row_fingerprints`): what a later call of :func:`similar_pairs` starts from."""

    fingerprints: np.ndarray
    pairs: np.ndarray


def similar_pairs(signatures: Signatures, last: Similar | None = None) -> Similar:
    """The similar pairs of ``signatures`` (exactly :func:`_similar_pairs`' array), found again only for the rows
    whose signature differs from ``last``'s, when ``last`` is of as many rows and few differ (a one-file rebuild:
    the bands' sorts of every article took 0.1 s of it at 10,000 articles and, with the splits, 1.4 s at 100,000).
    The pairs depend on the signatures alone, by position: the ids and dates do not enter them."""
    fingerprints = row_fingerprints(signatures)
    n = len(fingerprints)
    if last is not None and len(last.fingerprints) == n:
        changed = np.flatnonzero(fingerprints != last.fingerprints)
        if len(changed) <= max(1, int(n * INCREMENTAL_SHARE)):
            return Similar(fingerprints, _pairs_updated(signatures, changed, last.pairs))
    return Similar(fingerprints, _similar_pairs(signatures, LSH_BANDS, LSH_ROWS))


def _pairs_updated(signatures: Signatures, changed: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The similar pairs, from the last ones (``pairs``) of the same rows, ``changed`` (sorted positions) the rows
    whose signature changed: the pairs of the others kept, each changed row's found again against every row, a band
    at a time (the rows whose band key a changed row has, then their values compared)."""
    n = len(signatures)
    if not len(changed):
        return pairs.astype(_positions(n), copy=False)
    kept = pairs[~(in_sorted(changed, pairs[:, 0]) | in_sorted(changed, pairs[:, 1]))].astype(np.int64)
    codes = kept[:, 0] * n + kept[:, 1]  # (sorted, as the pairs were)
    found = []
    for band in range(LSH_BANDS):
        values = signatures.columns(band * LSH_ROWS, (band + 1) * LSH_ROWS)
        keys = _band_keys(values)
        changed_keys = keys[changed]
        order = np.argsort(changed_keys, kind="stable")
        changed_keys, changed_rows = changed_keys[order], changed[order]
        sharing = np.flatnonzero(in_sorted(changed_keys, keys))  # rows whose key some changed row has
        lows = np.searchsorted(changed_keys, keys[sharing], side="left")
        counts = np.searchsorted(changed_keys, keys[sharing], side="right") - lows
        rows = np.repeat(sharing, counts)  # each sharing row with each changed row of its key
        starts = np.repeat(lows - (np.cumsum(counts) - counts), counts)
        partners = changed_rows[starts + np.arange(len(rows))]
        same = (rows != partners) & np.all(values[rows] == values[partners], axis=1)
        rows, partners = rows[same], partners[same]
        if len(rows):
            found.append(np.minimum(rows, partners).astype(np.int64) * n + np.maximum(rows, partners))
        del values, keys
    if found:
        candidates = np.unique(np.concatenate(found))
        new = _similar(signatures, candidates).astype(np.int64)
        codes = np.union1d(codes, new[:, 0] * n + new[:, 1])
    return _pairs_of(codes, n)


def cluster_signatures(ids: Sequence[str], signatures: np.ndarray | Signatures, dates: Sequence[str | None]) -> dict[str, str]:
    """Map each article id to its cluster id, from MinHash signatures (one row of ``signatures`` per id): see
    :func:`cluster_firsts`."""
    firsts = cluster_firsts(ids, signatures, dates)
    return {ident: ids[first] for ident, first in zip(ids, firsts.tolist())}


def cluster_firsts(ids: Sequence[str], signatures: np.ndarray | Signatures, dates: Sequence[str | None]) -> np.ndarray:
    """For each article (one row of ``signatures`` per id), the position of its cluster's first article: its
    cluster id is that article's id.

    Candidates are the pairs that agree on every value of at least one LSH
    band (exactly the pairs a datasketch ``MinHashLSH`` would return); a
    candidate pair is one story when its estimated Jaccard similarity is at
    least :data:`THRESHOLD`.  Clusters are the connected components (labels
    spread along the pairs with numpy until they settle).  The cluster id is
    the id of its earliest article (by date, then id), so it does not depend
    on the order articles are given in.  Memory: one column group of the
    signatures at a time (12 bytes per article, :class:`Signatures`) with a
    band's sort keys and order (16 bytes per article), the candidate pairs,
    one array of ``n`` labels (4 bytes per article): 4.2 MB at its peak on
    100,000 synthetic articles' signatures, where it was 8.5
    (docs/scale-history.md, twenty-seventh session).
    """
    if isinstance(signatures, np.ndarray):
        signatures = Matrix(signatures)
    return firsts_of_pairs(ids, _similar_pairs(signatures, LSH_BANDS, LSH_ROWS), dates)


def firsts_of_pairs(ids: Sequence[str], pairs: np.ndarray, dates: Sequence[str | None]) -> np.ndarray:
    """:func:`cluster_firsts` from the similar pairs (:func:`similar_pairs`): the connected components, each
    article's the position of its earliest article."""
    n = len(ids)
    # n-sized arrays are the clustering's memory (one at 32 bits where n allows): the labels only, until the end
    labels = np.arange(n, dtype=_positions(n))
    left, right = pairs[:, 0], pairs[:, 1]
    total = int(labels.sum(dtype=np.int64))
    while len(pairs):
        low = np.minimum(labels[left], labels[right])
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        labels = labels[labels]  # pointer jumping: a label points at a smaller index of its component
        # a label never rises (each is at most its own index), so an unchanged sum is unchanged labels: settled
        if (now := int(labels.sum(dtype=np.int64))) == total:
            break
        total = now
    shared = np.unique(pairs)  # the articles in clusters of two or more: each is in a pair
    del pairs, left, right
    if len(shared):
        # by label, then date; the first of a label's earliest date, or the smallest id among several of that date
        # (the (date, id) pairs of every shared article, sorted in Python, were 6 MB at 100,000 articles)
        ranks = {date: rank for rank, date in enumerate(sorted({date or "9999-99-99" for date in dates}))}
        day = np.fromiter((ranks[dates[at] or "9999-99-99"] for at in shared.tolist()), dtype=np.int64, count=len(shared))
        label = labels[shared]
        order = np.lexsort((day, label))
        members, label, day = shared[order], label[order], day[order]
        changes = np.flatnonzero(np.r_[True, (label[1:] != label[:-1]) | (day[1:] != day[:-1]), True])
        new_label = np.r_[True, label[1:] != label[:-1]]
        starts = np.flatnonzero(new_label)  # each label's first run of one date
        ends = changes[np.searchsorted(changes, starts, side="right")]
        chosen = members[starts]  # each label's first article
        tied = np.flatnonzero(ends - starts > 1)  # labels whose earliest date several articles have
        if len(tied):
            # their names read at once (a name table on disk read a block for each one: 0.2 s at 100,000 articles)
            spans = list(zip(starts[tied].tolist(), ends[tied].tolist()))
            named = np.concatenate([members[lo:hi] for lo, hi in spans]).tolist()
            names = ids.names_at(named) if hasattr(ids, "names_at") else [ids[at] for at in named]
            at = 0
            for k, (lo, hi) in zip(tied.tolist(), spans):  # (ids are unique: the smallest name decides)
                chosen[k] = min(zip(names[at:at + hi - lo], named[at:at + hi - lo]))[1]
                at += hi - lo
        labels[members] = chosen[np.cumsum(new_label) - 1]  # each member: its label's first
    return labels  # an article alone is its own label and its own first


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
