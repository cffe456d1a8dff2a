"""Differential tests: the jsonschema-rs fast path and the reference validator give one verdict; the orjson
fast path of ``parse_json`` and the strict parser give one value or the same problems.

The fast path may only ever skip the reference validator for documents the
reference finds valid.  These tests generate valid documents, break them in
the ways contributions get broken (wrong types, edge-case strings, unknown
keys, missing keys, hostile URIs, dates and ids), and assert that both
validators agree, and that ``schema_problems`` reports the same problems with
the fast path on and off.
"""

from __future__ import annotations

import copy
import json

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newscorpus.jsonio import NUMPY_FROM, NUMPY_UP_TO, _UNSURE, _plain_value, _suspect, _suspect_in_numpy, parse_json, parse_json_strict
from newscorpus import SCHEMA_VERSION
from newscorpus.schemas import ecma_regex, fast_is_valid, fast_validator, load_schema, schema_problems, validator

from test_rebase import BODY, make_document

# Strings that sit on the edges of the schemas' patterns, formats and lengths.
EDGE_STRINGS = [
    "", " ", "a", "A-1", "a\n", "abc\n", "\nabc", "x" * 128, "x" * 129, "m1", "m1 ", "e-kim\r",
    "PERSON", "person", "PERSON\n", "human", "model", "ann-01", "Ann-01", "ann-01\n",
    "1.0.0", "1.0.0\n", "01.0.0", "1.0", "0.0.0", "١.٠.٠",
    "2023-10-20", "2023-02-30", "2023-1-5", "2023-10-20\n", "２０２３-10-20", "20231020", "2023-10-20T00:00:00Z",
    "https://www.themoscowtimes.com/2023/10/20/a82808", "http://x", "https://", "https://exa mple.com",
    "https://example.com/%zz", "https://例え.jp/記事", "https://[::1]:8080/a", "https://example.com/\u00a0x",
    "https://example.com/\x1cx", "https://example.com/\ufeffx", "https://example.com/a#b#c", "ftp://x/y",
    "https://user@example.com:99999/", "javascript:alert(1)", "https://example.com\n",
    "Q80882", "Q0", "Q1234567890123", "q42",
    "a" * 64, "0" * 64, "0" * 63 + "\n", "F" * 64,
    "😀", "👨🏻‍🚒", "\u200b", "a\x00b",
]
EDGE_SCALARS = [None, True, False, 0, -1, 1, 2, 100000000, 100000001, 0.5, 1.0, -0.0, 1e308, 1.5, 10**17]

edge_string = st.sampled_from(EDGE_STRINGS) | st.text(max_size=12)
leaf = st.sampled_from(EDGE_SCALARS) | edge_string
json_value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(edge_string, inner, max_size=3), max_leaves=6)


def _paths(node, path=()):
    """Every path (tuple of keys and indexes) into a JSON value, the root included."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, path + (index,))


@st.composite
def broken(draw, valid: dict) -> dict:
    """``valid`` with one to three random edits: replace a value, delete a key, add a key."""
    doc = copy.deepcopy(valid)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_value)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(edge_string)] = draw(json_value)
    return doc


def manifest_entry() -> dict:
    """A valid manifest line with every optional field."""
    return {
        "id": "moscowtimes-2023-10-20-1e425f2c", "file": "004_1e425f2c2345ce0e.txt", "sha256": "9" * 64,
        "outlet": "The Moscow Times", "url": "https://www.themoscowtimes.com/2023/10/20/a82808",
        "rights": "AFP wire story", "retrieved": "2023-10-21", "layout": "moscowtimes", "language": "en",
    }


def assert_agree(instance, kind: str) -> None:
    """Both validators give one verdict, and the problems are the same with and without the fast path."""
    reference = validator(kind).is_valid(instance)
    assert fast_is_valid(instance, kind) == reference
    assert list(schema_problems(instance, kind, "x.json", fast=True)) == list(schema_problems(instance, kind, "x.json", fast=False))


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(broken(make_document(BODY)))
def test_annotation_documents(doc):
    assert_agree(doc, "annotation")


@SETTINGS
@given(broken(manifest_entry()))
@example({**manifest_entry(), "url": "https://example.com/\x1cx"})
@example({**manifest_entry(), "url": "https://example.com/\ufeffx"})
@example({**manifest_entry(), "id": "abc\n"})
def test_manifest_entries(entry):
    assert_agree(entry, "manifest")


@pytest.mark.parametrize("value", EDGE_STRINGS)
@pytest.mark.parametrize("field", ["url", "retrieved", "id", "sha256", "language", "file"])
def test_every_edge_string_in_every_formatted_field(field, value):
    assert_agree({**manifest_entry(), field: value}, "manifest")


def test_valid_fixtures_are_valid_on_both_paths():
    assert validator("annotation").is_valid(make_document(BODY)) and fast_is_valid(make_document(BODY), "annotation")
    assert validator("manifest").is_valid(manifest_entry()) and fast_is_valid(manifest_entry(), "manifest")


def test_a_trailing_newline_does_not_make_an_id():
    """Python's ``$`` matches before a final newline; the schema's ECMA-262 ``$`` does not."""
    doc = make_document(BODY)
    doc["mentions"][0]["id"] = "m1\n"
    assert [p.code for p in schema_problems(doc, "annotation", "x.json", fast=False)] == ["schema-pattern"]
    assert not fast_is_valid(doc, "annotation")


@pytest.mark.parametrize(("path", "value"), [(("entities", 0, "name"), "Kim \ud800"), (("mentions", 0, "id"), "m\udfff"), (("mentions", 0, "text"), "\ud83d")])
def test_a_lone_surrogate_gets_one_verdict(path, value):
    """jsonschema-rs cannot take some strings with lone surrogates; the reference validator decides then."""
    doc = make_document(BODY)
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    assert_agree(doc, "annotation")


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^a$", "a", True), ("^a$", "a\n", False), (r"^a\$$", "a$", True), ("^[$]+$", "$$", True),
        (r"^[\]$]+$", "]$", True), ("^a$|^b$", "b\n", False),
    ],
)
def test_ecma_regex_end_of_string(pattern, text, matches):
    assert bool(ecma_regex(pattern).search(text)) is matches


def test_every_schema_pattern_compiles_for_both_engines():
    def patterns(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                yield node["pattern"]
            for value in node.values():
                yield from patterns(value)
        elif isinstance(node, list):
            for value in node:
                yield from patterns(value)

    found = {p for kind in ("annotation", "manifest", "article", "common", "entity", "mention", "quote") for p in patterns(load_schema(kind))}
    assert len(found) >= 5
    for pattern in found:
        ecma_regex(pattern)


# ---------------------------------------------------------------- JSON: the orjson fast path and the strict parser

#: Texts on the edges of what the fast path may take: each must give the strict parser's value or problems.
JSON_TEXTS = {
    "plain object": ('{"id": "a", "n": [1, 2.5, -0, -0.0, 1E5, 0.1, true, null]}', None),
    "duplicate key": ('{"id": "a", "id": "b"}', "json-duplicate-key"),
    "duplicate key nested deep": ('{"a": [{"b": {"c": [[{"d": 1, "e": 2, "d": 3}]]}}]}', "json-duplicate-key"),
    "duplicate key in the last object": ('[{"a": 1}, {"a": 1}, {"b": {}, "b": {}}]', "json-duplicate-key"),
    "duplicate key written with an escape": ('{"a": 1, "\\u0061": 2}', "json-duplicate-key"),
    "duplicate key hidden by an escaped colon": ('{"k": "y", "k": "x\\u003a"}', "json-duplicate-key"),
    "escaped colon, no duplicate": ('{"k": "x\\u003ay", "l": "\\u003A"}', None),
    "key containing a quote and colon": ('{"a\\":": 1, "a": 2, "\\":": 3}', None),
    "key containing a quote and colon, twice": ('{"a\\":": 1, "b": 2, "a\\":": 3}', "json-duplicate-key"),
    "value looking like a key": ('["x", " : y", {"k": "\\" : \\""}]', None),
    "escaped quotes and backslashes": ('{"t": "he said \\"no\\" \\\\", "u": "\\\\\\"", "v": "\\\\"}', None),
    "colons only in strings": ('["a:b", "::", ":"]', None),
    "empty key twice": ('{"": 1, "": 2}', "json-duplicate-key"),
    "NaN": ('{"score": NaN}', "json-constant"),
    "Infinity": ("[-Infinity]", "json-constant"),
    "float overflowing to infinity": ('{"score": 1e400}', "json-number-too-large"),
    "negative float overflowing": ("[-1.8e308]", "json-number-too-large"),
    "float underflowing to zero": ("[1e-400, -1e-400]", None),
    "largest float": ("[1.7976931348623157e308, 2.2250738585072011e-308, 5e-324]", None),
    "18-digit integer": ("[999999999999999999, -999999999999999999]", None),
    "19-digit integer": ("[1000000000000000000]", "json-number-too-large"),
    "negative 19-digit integer": ("[-9223372036854775808]", "json-number-too-large"),
    "integer beyond 64 bits": ("[18446744073709551616]", "json-number-too-large"),
    "huge integer": ('{"start": ' + "9" * 5000 + "}", "json-number-too-large"),
    "long digit run in a string": ('{"sha": "' + "1" * 64 + '"}', None),
    "long mantissa float": ("[123456789012345678901234567890.5]", None),
    "lone high surrogate": ('{"name": "Kim \\ud800"}', "json-invalid"),
    "lone low surrogate in a key": ('{"\\udc00": 1}', "json-invalid"),
    "surrogate pair": ('{"text": "\\ud83d\\ude00"}', None),
    "control character": ('["a\x01b"]', "json-invalid"),
    "escaped NUL": ('["a\\u0000b"]', None),
    "byte order mark": ("\ufeff{}", "json-invalid"),
    "trailing comma": ("[1,]", "json-invalid"),
    "leading zero": ("[01]", "json-invalid"),
    "trailing data": ("{} {}", "json-invalid"),
    "empty": ("", "json-invalid"),
    "top-level scalar": (" 3 ", None),
    "form feed as whitespace": ("\f[1]", "json-invalid"),
    "nesting 300 deep": ("[" * 300 + "]" * 300, None),
    "objects nesting 300 deep": ('{"a":' * 300 + "1" + "}" * 300, None),
    "nesting 1,000 deep (orjson reads 1,024 levels)": ("[" * 1000 + "]" * 1000, "json-too-deep"),
    "nesting too deep": ("[" * 100_000 + "]" * 100_000, "json-too-deep"),
    "many shallow brackets": ("[" + ",".join(["[{}]"] * 400) + "]", None),
}


def _exactly(value) -> str:
    """The value written so that 1 and 1.0, -0.0 and 0.0, and key order all differ."""
    return json.dumps(value)


def _agree(text: str) -> tuple:
    """The fast path and the strict parser agree on ``text``, and so do the fast path's two ways of checking it (a
    long text's, with numpy, and a short one's)."""
    fast_value, fast_problems = parse_json(text, "a.json")
    strict_value, strict_problems = parse_json_strict(text, "a.json")
    assert fast_problems == strict_problems
    assert _exactly(fast_value) == _exactly(strict_value)
    try:
        written = orjson.dumps(orjson.loads(text))
    except (orjson.JSONDecodeError, TypeError):
        return fast_value, fast_problems
    data = text.encode("utf-8")
    assert _suspect(data, written) == _suspect_in_numpy(data, written)
    return fast_value, fast_problems


@pytest.mark.parametrize("name", JSON_TEXTS)
def test_the_json_fast_path_gives_the_strict_parsers_value_or_problems(name):
    text, code = JSON_TEXTS[name]
    _, problems = _agree(text)
    assert [p.code for p in problems] == ([code] if code else [])


def test_the_json_fast_path_takes_the_common_case():
    """A valid document is orjson's to parse (else the fast path would silently be the slow one)."""
    document = json.dumps(make_document(BODY), indent=2, ensure_ascii=False)
    assert _plain_value(document) is not _UNSURE


@pytest.mark.parametrize("insert, code", [
    (', "id": "again"', "json-duplicate-key"),
    (', "n": 1000000000000000000', "json-number-too-large"),
    (', "k\\u003a": 1', None),
    (', "k\\u003a": 1, "id": "again"', "json-duplicate-key"),  # as many colons as orjson writes: the escape sends it
])
def test_a_long_document_s_doubt_is_found_as_a_short_one_s(insert, code):
    """A document long enough to be checked with numpy, with a key given twice, a 19-digit integer or an escaped colon
    deep inside, goes to the strict parser, which reports the first two."""
    document = make_document(BODY)
    text = json.dumps({**document, "mentions": document["mentions"] * 4}, indent=2, ensure_ascii=False)
    assert NUMPY_FROM <= len(text.encode("utf-8")) < NUMPY_UP_TO and _plain_value(text) is not _UNSURE
    doubtful = text.replace('"id": "m2"', '"id": "m2"' + insert, 1)
    assert doubtful != text and _plain_value(doubtful) is _UNSURE
    _, problems = _agree(doubtful)
    assert [p.code for p in problems] == ([code] if code else [])


def test_a_very_long_text_is_checked_with_bytes_methods(monkeypatch):
    """From NUMPY_FROM to NUMPY_UP_TO a text's fast-path checks are numpy's; past it, bytes' methods, which hold one
    copy of the text where numpy's positions of its digits take 8 bytes a digit (a 64 MB document of digits: over
    1 GB)."""
    import tracemalloc

    import newscorpus.jsonio

    checked = []
    monkeypatch.setattr(newscorpus.jsonio, "_suspect_in_numpy", lambda data, written: checked.append(len(data)) or False)
    medium, long = ('["' + "1" * size + '"]' for size in (NUMPY_FROM, 2 * NUMPY_UP_TO))
    assert _plain_value(medium) is not _UNSURE and checked == [len(medium)]  # (numpy's check said no doubt)
    assert _plain_value(long) is _UNSURE and checked == [len(medium)]  # (a long run of digits)
    monkeypatch.undo()
    data = long.encode("utf-8")
    written = orjson.dumps(orjson.loads(long))
    for check, most in ((_suspect, 2), (_suspect_in_numpy, None)):
        tracemalloc.start()
        try:
            assert check(data, written)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < most * len(data) if most else peak > 8 * len(data), (check.__name__, peak)


#: Pieces of JSON strings: escapes, quotes and colons that look like structure, astral and odd characters.
STRING_PIECES = ["a", "k", ":", '\\"', "\\\\", '\\":', ' : ', "\\u003a", "\\u003A", "\\u0061", "\\ud800", "\\udc00",
                 "\\ud83d\\ude00", "😀", "é", "\\n", "\\/", "{", "[", "1234567890123456789", "\\u0000"]
NUMBERS = (st.sampled_from(["0", "-0", "-0.0", "1e400", "-1e400", "1e-400", "1E5", "0.1", "1.5e308", "1.8e308",
                            "999999999999999999", "1000000000000000000", "18446744073709551616", "01", "1.", ".5",
                            "NaN", "Infinity", "-Infinity", "9" * 40])
           | st.integers(min_value=-(10 ** 20), max_value=10 ** 20).map(str)
           | st.floats(allow_nan=False, allow_infinity=False).map(repr))


def _json_string(pieces: list[str]) -> str:
    return '"' + "".join(pieces) + '"'


json_string = st.lists(st.sampled_from(STRING_PIECES), max_size=4).map(_json_string)
space = st.sampled_from(["", " ", "\n  ", "\t"])


@st.composite
def json_text(draw, depth: int = 0) -> str:
    """JSON-like text: mostly valid, with duplicate keys (few distinct keys), odd numbers and odd escapes."""
    kind = draw(st.sampled_from(["string", "number", "literal"] + (["array", "object"] * 2 if depth < 4 else [])))
    if kind == "string":
        return draw(json_string)
    if kind == "number":
        return draw(NUMBERS)
    if kind == "literal":
        return draw(st.sampled_from(["true", "false", "null"]))
    items = draw(st.lists(json_text(depth + 1), max_size=4))
    gap = draw(space)
    if kind == "array":
        return "[" + gap + ("," + gap).join(items) + "]"
    keys = draw(st.lists(st.sampled_from(['"a"', '"b"', '"\\u0061"', '"a\\":"', '":"', '""']) | json_string,
                         min_size=len(items), max_size=len(items)))
    return "{" + gap + ("," + gap).join(f"{k}{gap}:{gap}{v}" for k, v in zip(keys, items)) + "}"


@given(json_text())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_json_fast_path_agrees_with_the_strict_parser_on_generated_texts(text):
    _agree(text)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(), lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                    max_leaves=20), st.booleans(), st.sampled_from([None, 1, 2]))
@settings(max_examples=200, deadline=None)
def test_the_json_fast_path_agrees_with_the_strict_parser_on_serialised_values(value, ascii_only, indent):
    _agree(json.dumps(value, ensure_ascii=ascii_only, indent=indent))


#: Texts the strict parser refuses for one value or key, and where that is: (code, JSON Pointer, line).
LOCATED = {
    "duplicate key deep in a long document": ('{\n "mentions": [\n  {"id": "m1", "end": 3},\n  {"id": "m2",\n   "end": 4,\n   "end": 5}\n ]\n}',
                                              ("json-duplicate-key", "/mentions/1/end", 6)),
    "duplicate key after a nested object": ('{"a": {"a": 1}, "b": [1, {"c": 2}],\n "a": 3}', ("json-duplicate-key", "/a", 2)),
    "duplicate key with an escape and a colon in it": ('{"a\\":": 1,\n "a\\":": 3}', ("json-duplicate-key", '/a":', 2)),
    "duplicate empty key": ('{"x": [{"": 1, "": 2}]}', ("json-duplicate-key", "/x/0/", 1)),
    "NaN in an array": ('{"scores": [1,\n 2, NaN]}', ("json-constant", "/scores/2", 2)),
    "negative Infinity": ('[\n-Infinity]', ("json-constant", "/0", 2)),
    "a float overflowing": ('{"x": {"~/": 1e400}}', ("json-number-too-large", "/x/~0~1", 1)),
    "a 19-digit integer after strings with brackets": ('["[{", "}]",\n\n 1000000000000000000]', ("json-number-too-large", "/2", 3)),
    "a lone surrogate in a value": ('{"a": 1,\n "name": ["ok", "Kim \\ud800"]}', ("json-invalid", "/name/1", 2)),
    "a lone surrogate in a key": ('{"a": {\n"\\udc00": 1}}', ("json-invalid", "/a", 2)),
}


@pytest.mark.parametrize("name", LOCATED)
def test_a_refused_value_is_located(name):
    """A duplicate key, a NaN, a number too large or a lone surrogate is reported at its JSON Pointer and line, so a
    contributor finds it in a document of thousands of lines; the fast path says the same."""
    text, expected = LOCATED[name]
    _, problems = _agree(text)
    assert [(p.code, p.pointer, p.line) for p in problems] == [expected]
    _, problems = parse_json(text.replace("\n", " "), "m.jsonl", line_offset=41)  # a manifest's line 42
    assert [(p.code, p.pointer, p.line) for p in problems] == [(expected[0], expected[1], 42)]


@pytest.mark.parametrize("kind", ["article", "annotation", "manifest"])
def test_one_fast_validator_per_kind_and_version_however_it_is_asked_for(kind):
    """A worker's warm-up asks for ``fast_validator(kind)``, the checks for ``fast_validator(kind, version)``: the
    same compiled validator, not one each."""
    assert fast_validator(kind) is fast_validator(kind, SCHEMA_VERSION) is fast_validator(kind, version=SCHEMA_VERSION)
