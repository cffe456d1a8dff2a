"""The article body: lines to paragraphs, shared by every layout.

Steps, in order:

1. Blocks are runs of non-blank lines.  Each line is either boilerplate (an
   inline rule: recorded as removed), a photo caption (moved to captions), an
   explicit inter-title (``- Weapons transfers -``) or text.
2. The text lines of a block make one paragraph when they are hard-wrapped,
   else one paragraph per line (joined where a line continues the one before).
3. Markup is stripped and entities decoded; a line of nothing but markup is removed.
4. A paragraph broken mid-sentence across a blank line is joined again
   (``... the KCNA`` + ``news agency said ...``).
5. A short paragraph standing alone between two others, not ending like a
   sentence, is an inter-title (``Tightening relationship``).
6. A wire dateline opening the first paragraph (``LONDON (Reuters) -``) is
   taken out: it becomes the dateline, or is recorded as a repeat of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from newscorpus.datelines import parse_date_line, parse_dateline, split_lead_dateline
from newscorpus.layouts import Draft, Line
from newscorpus.layouts.cleanup import (
    clean_inline,
    ends_complete,
    is_continuation,
    join_broken,
    looks_like_subheading,
    starts_lowercase,
)
from newscorpus.layouts.header import read_caption
from newscorpus.layouts.rules import PageRules, SubheadingRule

#: Longest line of a hard-wrapped block (plain-text e-mail and wire copy wrap at 60-80).
WRAP_WIDTH = 100


@dataclass
class Piece:
    """A paragraph being built: clean text, role, first and last raw line, and whether it stood alone."""

    text: str
    role: str
    first: int
    last: int
    alone: bool = False


def read(lines: list[Line], draft: Draft, rules: PageRules) -> None:
    """Read the body ``lines`` into ``draft.paragraphs`` (and captions, removed blocks, dateline)."""
    pieces: list[Piece] = []
    for block in _blocks(lines):
        pieces.extend(_read_block(block, draft, rules))
    pieces = _join_broken(pieces)
    _mark_subheadings(pieces)
    _take_lead_dateline(pieces, draft)
    draft.paragraphs = [(piece.text, piece.role) for piece in pieces if piece.text]


def _blocks(lines: list[Line]) -> list[list[Line]]:
    blocks: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        if line.text.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _read_block(block: list[Line], draft: Draft, rules: PageRules) -> list[Piece]:
    pieces: list[Piece] = []
    run: list[Line] = []
    for line in block:
        boilerplate = rules.inline.first(line.text)
        if boilerplate is not None:
            draft.remove(boilerplate.kind, [line])
        elif read_caption(line, draft, rules.captions):
            pass
        elif (title := _subheading(line, draft, rules.subheadings)) is not None:
            pieces.extend(_read_run(run, draft, len(block)))
            run = []
            pieces.append(Piece(title, "subheading", line.number, line.number, alone=len(block) == 1))
            continue
        else:
            run.append(line)
            continue
        pieces.extend(_read_run(run, draft, len(block)))
        run = []
    pieces.extend(_read_run(run, draft, len(block)))
    return pieces


def _subheading(line: Line, draft: Draft, rules: list[SubheadingRule]) -> str | None:
    for subheading_rule in rules:
        found = subheading_rule.read(line.text)
        if found is None:
            continue
        title, markup = clean_inline(found)
        if not looks_like_subheading(title):
            continue
        draft.remove_chars("markup", line.number, len(line.text.strip()) - len(found.strip()) + markup)
        return title
    return None


def _read_run(run: list[Line], draft: Draft, block_size: int) -> list[Piece]:
    """One or more text paragraphs from consecutive text lines of one block."""
    cleaned: list[tuple[Line, str]] = []
    for line in run:
        text, markup = clean_inline(line.text)
        draft.remove_chars("markup", line.number, markup)
        if text:
            cleaned.append((line, text))
    if not cleaned:
        return []
    wrapped = len(cleaned) > 1 and max(len(line.text) for line, _ in cleaned) <= WRAP_WIDTH and any(
        not ends_complete(text) for _, text in cleaned[:-1]
    )
    pieces: list[Piece] = []
    for line, text in cleaned:
        if pieces and (wrapped or is_continuation(pieces[-1].text, text)):
            pieces[-1].text = join_broken(pieces[-1].text, text)
            pieces[-1].last = line.number
        else:
            pieces.append(Piece(text, "text", line.number, line.number))
    if len(pieces) == 1 and block_size == 1:
        pieces[0].alone = True
    return pieces


def _join_broken(pieces: list[Piece]) -> list[Piece]:
    """Join a text paragraph to the one before when it continues its sentence."""
    joined: list[Piece] = []
    for piece in pieces:
        previous = joined[-1] if joined else None
        if (
            previous is not None and previous.role == "text" and piece.role == "text"
            and is_continuation(previous.text, piece.text)
        ):
            previous.text = join_broken(previous.text, piece.text)
            previous.last = piece.last
            previous.alone = False
        else:
            joined.append(piece)
    return joined


def _mark_subheadings(pieces: list[Piece]) -> None:
    """A short unpunctuated paragraph alone between two text paragraphs is an inter-title."""
    for index in range(1, len(pieces) - 1):
        piece, before, after = pieces[index], pieces[index - 1], pieces[index + 1]
        if (
            piece.role == "text" and piece.alone and looks_like_subheading(piece.text)
            and before.role == "text" and ends_complete(before.text)
            and after.role == "text" and not starts_lowercase(after.text)
        ):
            piece.role = "subheading"


def _take_lead_dateline(pieces: list[Piece], draft: Draft) -> None:
    first = next((piece for piece in pieces if piece.role == "text"), None)
    if first is None:
        return
    reference = parse_date_line(draft.date_line) if draft.date_line else None
    if reference is None and draft.dateline:
        standalone = parse_dateline(draft.dateline)
        reference = standalone.date if standalone else None
    found = split_lead_dateline(first.text, reference)
    if found is None:
        return
    dateline, rest = found
    if draft.dateline is None:
        draft.dateline, draft.dateline_line = dateline.text, first.first
    else:
        draft.remove_chars("repeated-dateline", first.first, len(first.text) - len(rest))
    first.text = rest

