"""``line_of`` places a problem at the line of its JSON Pointer. A key the document has once is found without
mapping the whole document (the shortcut); its answers are json-source-map's, the reference, on any document whose
keys json-source-map reads (it does not unescape ``\\"`` in keys nor escape ``/`` and ``~`` in its pointers)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from json_source_map import calculate

from newscorpus.jsonio import _unique_key_line, line_of
from test_rebase import BODY, make_document


def mapped_line(text: str, pointer: str) -> int | None:
    """json-source-map's line of ``pointer``, or of its nearest ancestor that is there."""
    entries = calculate(text)
    while True:
        if pointer in entries:
            return entries[pointer].value_start.line + 1
        if not pointer:
            return None
        pointer = pointer.rsplit("/", 1)[0]


STALE = json.dumps(make_document(BODY), indent=2, ensure_ascii=False)

#: (what it is, document text, pointer, the line of the value, whether the shortcut answers it)
CASES = [
    ("a stale document's body hash", STALE, "/article/bodySha256", STALE.count("\n", 0, STALE.index('"bodySha256"')) + 1, True),
    ("its schema version", STALE, "/schemaVersion", 2, True),
    ("a key of every mention", STALE, "/mentions/0/start", None, False),
    ("a list item", STALE, "/mentions/0", None, False),
    ("the document", STALE, "", 1, False),
    ("a key that is not there", STALE, "/article/missing", None, False),
    ("the key's text in a string value before it",
     '{"note": "\\"bodySha256\\": 1",\n "article": {\n  "bodySha256":\n   "abc"}}', "/article/bodySha256", 4, True),
    ("a value on the line after its key", '{"article": {"bodySha256":\n\n  "abc"}}', "/article/bodySha256", 3, True),
    ("the key written with an escape", '{"article": {\n"body\\u0053ha256": "abc"}}', "/article/bodySha256", None, False),
    ("a key given twice in one object", '{"a": 1,\n"a": 2}', "/a", None, False),
    ("the key at another place than the pointer", '{"b": {"a": 1},\n"c": {}}', "/c/a", 2, False),
    ("a pointer through a missing index", '{"m": [\n{"k": 1}]}', "/m/3/k", 1, False),
    ("a pointer through an index with a leading zero", '{"m": [\n{"k": 1}]}', "/m/00/k", 1, False),
    ("a key with / and ~", '{"x": 0,\n"a/b~c": 1}', "/a~1b~0c", 2, True),
    ("an empty key", '{"x": 0,\n"": 1}', "/", 2, True),
    ("a non-ASCII key", '{"x": 0,\n "clé":\n 1}', "/clé", 3, True),
    ("one line", '{"x":0,"y":{"z":1}}', "/y/z", 1, True),
    ("not JSON orjson reads", '{"x": NaN,\n"y": 1}', "/y", None, False),
]


@pytest.mark.parametrize("what, text, pointer, line, shortcut", CASES, ids=[c[0] for c in CASES])
def test_line_of(what, text, pointer, line, shortcut):
    """``line`` None: whatever json-source-map says (the shortcut does not answer)."""
    assert line_of(text, pointer) == (mapped_line(text, pointer) if line is None else line)
    assert (_unique_key_line(text, pointer) is not None) == shortcut


#: Keys json-source-map reads as they are written (printable ASCII: it unescapes no \\u escape; no quote, backslash,
#: / or ~), values any text.
KEYS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\/~'), max_size=4)
TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
VALUES = st.recursive(st.none() | st.integers() | TEXTS | KEYS,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=12)


def _pointers(value, prefix=""):
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _pointers(item, f"{prefix}/{str(key).replace('~', '~0').replace('/', '~1')}")


@settings(max_examples=300, deadline=None)
@given(VALUES.filter(lambda v: isinstance(v, dict)), st.sampled_from([None, 0, 1, 2]), st.booleans())
def test_line_of_agrees_with_the_source_map_on_any_document(value, indent, ascii_only):
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    for pointer in _pointers(value):
        assert line_of(text, pointer) == mapped_line(text, pointer), pointer
