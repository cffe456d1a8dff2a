"""Re-anchoring annotations after the article body changed (``annotation-stale``).

Every span of an annotation document carries a W3C Web Annotation
TextQuoteSelector: its ``text`` (exact) and up to :data:`~newscorpus.spans.CONTEXT`
code points of ``prefix`` and ``suffix``.  When the converter is improved and an
article's body changes, the offsets go stale but the selector still says what
was annotated.  :func:`rebase_document` finds each span again in the new body:

1. **kept**: the text is still at the old offsets, with its context;
2. **moved**: the exact text occurs elsewhere and its context picks one place
   (more context agreeing wins; a tie is ambiguous and is not guessed);
3. **text-changed**: the text itself was edited (a fixed typo, a joined line):
   the prefix and suffix still enclose one stretch of similar text, which
   becomes the span (reported as a warning to look at).

A document is rebased whole or not at all: if one span cannot be placed, the
document is left as it is and the problem says which span.  The result is
validated before it is returned, so a rebase never writes a broken document.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Iterator

from newscorpus.problems import Problem, errors, pointer
from newscorpus.spans import CONTEXT, anchor, body_sha256

#: Above this many occurrences of a span's text, it is not placed by context scoring.
MAX_CANDIDATES = 10_000
#: Least agreement (code points of prefix + suffix) that places a span whose text occurs more than once.
MIN_CONTEXT = 8
#: Least similarity (difflib ratio) between the old text and the text found between prefix and suffix.
MIN_SIMILARITY = 0.5


@dataclass(frozen=True)
class Placement:
    """Where one span lands in the new body, and how it was found."""

    start: int
    end: int
    how: str  # "kept", "moved" or "text-changed"


class Unplaced(Exception):
    """A span could not be placed; ``code`` is the problem code to report."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _common_suffix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x != y:
            break
        n += 1
    return n


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def context_score(body: str, start: int, end: int, prefix: str, suffix: str) -> int:
    """How many code points of ``prefix`` and ``suffix`` agree with the body around ``start:end``.

    >>> context_score("Lavrov said it", 7, 11, "Lavrov ", " it")
    10
    """
    before = body[max(0, start - len(prefix)):start]
    after = body[end:end + len(suffix)]
    return _common_suffix(prefix, before) + _common_prefix(suffix, after)


def _occurrences(body: str, text: str) -> Iterator[int]:
    at = body.find(text)
    while at != -1:
        yield at
        at = body.find(text, at + 1)


def locate(span: dict, body: str) -> Placement:
    """Place one span (``start``, ``end``, ``text``, optional ``prefix``/``suffix``) in ``body``.

    Raises :class:`Unplaced` when the span cannot be placed without guessing.

    >>> locate({"start": 0, "end": 6, "text": "Lavrov", "suffix": " said"}, "Sergei Lavrov said")
    Placement(start=7, end=13, how='moved')
    """
    text, start = span["text"], span["start"]
    prefix, suffix = span.get("prefix") or "", span.get("suffix") or ""
    full = len(prefix) + len(suffix)
    if body[start:start + len(text)] == text and context_score(body, start, start + len(text), prefix, suffix) == full:
        return Placement(start, start + len(text), "kept")

    window = prefix + text + suffix
    first = body.find(window)
    if first != -1 and full:
        if body.find(window, first + 1) != -1:
            raise Unplaced("rebase-ambiguous", f"{text!r} and its whole selector occur more than once in the new body")
        return Placement(first + len(prefix), first + len(prefix) + len(text), "moved")

    scores: dict[int, int] = {}
    for at in _occurrences(body, text):
        if len(scores) == MAX_CANDIDATES:
            raise Unplaced("rebase-ambiguous", f"{text!r} occurs more than {MAX_CANDIDATES} times in the new body")
        scores[at] = context_score(body, at, at + len(text), prefix, suffix)
    if scores:
        best = max(scores.values())
        places = sorted(at for at, score in scores.items() if score == best)
        if len(places) > 1:
            shown = ", ".join(str(p) for p in places[:5])
            raise Unplaced("rebase-ambiguous", f"{text!r} fits equally well at {len(places)} places of the new body ({shown})")
        if best >= min(MIN_CONTEXT, full) or len(scores) == 1:
            return Placement(places[0], places[0] + len(text), "moved")
    return _between_context(text, prefix, suffix, body)


def _between_context(text: str, prefix: str, suffix: str, body: str) -> Placement:
    """Place an edited span by the stretch its prefix and suffix enclose (the text itself changed)."""
    if not prefix and not suffix:
        raise Unplaced("rebase-unresolved", f"{text!r} is not in the new body and the span has no selector context")
    # A context shorter than CONTEXT means the span was that close to the start (end) of the body.
    if len(prefix) < CONTEXT:
        starts = [len(prefix)] if body.startswith(prefix) else []
    else:
        starts = [at + len(prefix) for at in _occurrences(body, prefix)][:MAX_CANDIDATES]
    if len(suffix) < CONTEXT:
        ends = [len(body) - len(suffix)] if body.endswith(suffix) else []
    else:
        ends = list(_occurrences(body, suffix))[:MAX_CANDIDATES]
    longest = 2 * len(text) + CONTEXT
    found = []
    for a in starts:
        # The nearest suffix after this prefix encloses the span (ends are in order: binary search).
        k = bisect_right(ends, a)
        if k < len(ends) and ends[k] <= a + longest:
            b = ends[k]
            candidate = body[a:b]
            if candidate.strip() and SequenceMatcher(None, text, candidate, autojunk=False).ratio() >= MIN_SIMILARITY:
                found.append((a, b))
    if len(found) == 1:
        a, b = found[0]
        return Placement(a, b, "text-changed")
    if found:
        raise Unplaced("rebase-ambiguous", f"the context of {text!r} encloses {len(found)} stretches of the new body")
    raise Unplaced("rebase-unresolved", f"{text!r} is not in the new body, and its prefix and suffix do not enclose similar text")


def _span_slots(doc: dict) -> Iterator[tuple[tuple, dict]]:
    """(pointer parts, span) for every span of a schema-valid document."""
    for i, mention in enumerate(doc["mentions"]):
        yield ("mentions", i), mention
    for i, quote in enumerate(doc["quotes"]):
        for j, part in enumerate(quote["content"]):
            yield ("quotes", i, "content", j), part
        for key in ("cue", "channel"):
            if isinstance(quote.get(key), dict):
                yield ("quotes", i, key), quote[key]


@dataclass
class Rebased:
    """The outcome for one document: the new document (None when it was not rebased) and problems."""

    document: dict | None
    problems: list[Problem]
    moved: int = 0
    changed_text: int = 0

    @property
    def ok(self) -> bool:
        """Whether the document was rebased (or needed no rebase) without errors."""
        return not errors(self.problems)


def rebase_document(doc: Any, body: str, file: str) -> Rebased:
    """Re-anchor every span of annotation document ``doc`` to ``body``; pure, ``doc`` is not changed.

    A document whose ``bodySha256`` already is the body's is returned as it is.
    """
    from newscorpus.validate import document_problems

    before = document_problems(doc, file, None)
    if errors(before):
        return Rebased(None, [p for p in before if p.severity == "error"])
    new_sha = body_sha256(body)
    if doc["article"]["bodySha256"] == new_sha:
        return Rebased(doc, [])

    problems: list[Problem] = []
    placed: dict[tuple, Placement] = {}
    for parts, item in _span_slots(doc):
        try:
            placed[parts] = locate(item, body)
        except Unplaced as unplaced:
            problems.append(Problem(unplaced.code, file, pointer(*parts), unplaced.message))
    if problems:
        return Rebased(None, problems)

    def replaced(item: dict, parts: tuple) -> dict:
        where = placed[parts]
        return anchor({**item, "start": where.start, "end": where.end}, body)

    new = {**doc, "article": {**doc["article"], "bodySha256": new_sha}}
    new["mentions"] = [replaced(m, ("mentions", i)) for i, m in enumerate(doc["mentions"])]
    quotes = []
    for i, quote in enumerate(doc["quotes"]):
        quote = {**quote, "content": [replaced(p, ("quotes", i, "content", j)) for j, p in enumerate(quote["content"])]}
        for key in ("cue", "channel"):
            if isinstance(quote.get(key), dict):
                quote[key] = replaced(quote[key], ("quotes", i, key))
        quotes.append(quote)
    new["quotes"] = quotes

    for parts, where in placed.items():
        if where.how == "text-changed":
            old = _get(doc, parts)["text"]
            problems.append(Problem(
                "rebase-text-changed", file, pointer(*parts, "text"),
                f"the text changed from {old!r} to {body[where.start:where.end]!r}; check the span", severity="warning",
            ))
    after = errors(document_problems(new, file, body))
    if after:
        return Rebased(None, problems + after)
    moved = sum(1 for w in placed.values() if w.how == "moved")
    changed = sum(1 for w in placed.values() if w.how == "text-changed")
    return Rebased(new, problems, moved=moved, changed_text=changed)


def _get(doc: dict, parts: tuple) -> dict:
    node: Any = doc
    for part in parts:
        node = node[part]
    return node
