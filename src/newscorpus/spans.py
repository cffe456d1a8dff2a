"""Spans of an article body: code point offsets, their text and their selectors.

Offsets count Unicode code points, end-exclusive, exactly like Python ``str``
indexing and Label Studio's ``<Text>`` regions.  Each span also carries a W3C
Web Annotation TextQuoteSelector (``text`` = exact, ``prefix``, ``suffix``) so
that it can be re-anchored when the body changes.
"""

from __future__ import annotations

import hashlib

#: How many code points of context a selector keeps on each side.
CONTEXT = 32


def body_sha256(text: str) -> str:
    """SHA-256 of the body's UTF-8 bytes, as annotation documents record it.

    >>> body_sha256("a")[:12]
    'ca978112ca1b'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def span(body: str, start: int, end: int) -> dict:
    """A span dict with text and selector context, for ``body[start:end]``.

    >>> span("Lavrov said it", 7, 11)
    {'start': 7, 'end': 11, 'text': 'said', 'prefix': 'Lavrov ', 'suffix': ' it'}
    """
    if not 0 <= start < end <= len(body):
        raise ValueError(f"span {start}:{end} is not inside a body of {len(body)} code points")
    return {
        "start": start,
        "end": end,
        "text": body[start:end],
        "prefix": body[max(0, start - CONTEXT):start],
        "suffix": body[end:end + CONTEXT],
    }


def anchor(item: dict, body: str) -> dict:
    """``item`` with text, prefix and suffix re-derived from its offsets in ``body``."""
    return {**item, **span(body, item["start"], item["end"])}
