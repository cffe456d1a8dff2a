"""Hostile contributions: every file a pull request can carry is reported with a code, never a crash or a hang.

Each case is data: a builder that writes the hostile input under tmp_path and
the exact problem codes it must yield.  Big inputs are big enough to expose a
quadratic or unbounded algorithm (the suite has a per-test timeout as a guard,
not as a speed assertion: speed is measured in benchmarks/).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from newscorpus.cli import main
from newscorpus.corpus import CorpusLayout
from newscorpus.jsonio import load_json, load_jsonl, sha256_file
from newscorpus.migrate import migrate_document
from newscorpus.problems import Problem
from newscorpus.rebase import rebase_document
from newscorpus.report import render
from newscorpus.spans import body_sha256, span
from newscorpus.validate import document_problems, load_documents, manifest_problems, validate_corpus, with_lines

from test_changed_since import stand_in_converter  # noqa: F401 (the fixture, for usefixtures)
from test_rebase import BODY, make_document

pytestmark = pytest.mark.timeout(60)

ARTICLE_ID = "moscowtimes-2023-10-20-1e425f2c"


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _symlink(path: Path, target: Path | str) -> Path:
    path.symlink_to(target)
    return path


#: name -> (builder(tmp_path) -> path, expected codes of load_json)
JSON_FILES = {
    "deep-nesting": (lambda t: _write(t / "a.json", "[" * 100_000 + "]" * 100_000), ["json-too-deep"]),
    "deep-nesting-unclosed": (lambda t: _write(t / "a.json", "{\"a\":" * 200_000), ["json-too-deep"]),
    "duplicate-key": (lambda t: _write(t / "a.json", '{"id": "a", "id": "b"}'), ["json-duplicate-key"]),
    "nan": (lambda t: _write(t / "a.json", '{"score": NaN}'), ["json-constant"]),
    "huge-integer": (lambda t: _write(t / "a.json", '{"start": ' + "9" * 5000 + "}"), ["json-number-too-large"]),
    "float-overflowing-to-infinity": (lambda t: _write(t / "a.json", '{"score": 1e400}'), ["json-number-too-large"]),
    "lone-surrogate": (lambda t: _write(t / "a.json", '{"entities": [{"name": "Kim \\ud800"}]}'), ["json-invalid"]),
    "lone-surrogate-in-a-key": (lambda t: _write(t / "a.json", '{"\\udc00": 1}'), ["json-invalid"]),
    "utf-16": (lambda t: _write(t / "a.json", '{"a": 1}'.encode("utf-16")), ["json-invalid"]),
    "latin-1": (lambda t: _write(t / "a.json", '{"name": "Citt\xe0"}'.encode("latin-1")), ["json-invalid"]),
    "empty": (lambda t: _write(t / "a.json", b""), ["json-invalid"]),
    "nul-bytes": (lambda t: _write(t / "a.json", b"\x00" * 1000), ["json-invalid"]),
    "larger-than-the-limit": (lambda t: _sparse(t / "a.json", 64 * 1024 * 1024 + 1), ["file-too-large"]),
    "symlink-to-a-file-outside": (lambda t: _symlink(t / "a.json", _write(t / "secret.json", '{"token": "x"}')), ["file-not-regular"]),
    "symlink-to-dev-zero": (lambda t: _symlink(t / "a.json", "/dev/zero"), ["file-not-regular"]),
    "dangling-symlink": (lambda t: _symlink(t / "a.json", t / "nowhere"), ["file-not-regular"]),
    "fifo": (lambda t: _fifo(t / "a.json"), ["file-not-regular"]),
    "directory": (lambda t: (t / "a.json").mkdir() or t / "a.json", ["file-unreadable"]),
    "missing": (lambda t: t / "a.json", ["file-unreadable"]),
}


@pytest.mark.parametrize("case", sorted(JSON_FILES))
def test_hostile_json_file(case, tmp_path):
    build, expected = JSON_FILES[case]
    value, _, problems = load_json(build(tmp_path), "a.json")
    assert value is None
    assert [p.code for p in problems] == expected


def test_a_surrogate_pair_is_one_character_not_a_problem(tmp_path):
    value, _, problems = load_json(_write(tmp_path / "a.json", '{"text": "\\ud83d\\ude00"}'), "a.json")
    assert problems == [] and value == {"text": "😀"}


def test_the_lone_surrogate_is_pointed_at(tmp_path):
    _, _, (problem,) = load_json(_write(tmp_path / "a.json", '{"entities": [{"name": "ok"}, {"name": "\\ud800"}]}'), "a.json")
    assert problem.pointer == "/entities/1/name"


def test_a_json_lines_file_reports_each_bad_line_and_keeps_the_rest(tmp_path):
    lines = ['{"id": "a"}', '{"id": NaN}', "[[[", '{"id": "b", "id": "c"}', '{"id": "d"}']
    rows, problems = load_jsonl(_write(tmp_path / "m.jsonl", "\n".join(lines) + "\n"), "m.jsonl")
    assert [line for line, _ in rows] == [1, 5]
    assert [(p.code, p.line) for p in problems] == [("json-constant", 2), ("json-invalid", 3), ("json-duplicate-key", 4)]


def test_hashing_a_symlinked_raw_file_refuses_it(tmp_path):
    target = _write(tmp_path / "outside.txt", "secret")
    digest, problems = sha256_file(_symlink(tmp_path / "raw.txt", target), "raw.txt")
    assert digest is None and [p.code for p in problems] == ["file-not-regular"]


def test_hashing_a_large_file_streams(tmp_path):
    digest, problems = sha256_file(_sparse(tmp_path / "big.txt", 200 * 1024 * 1024), "big.txt")
    assert problems == [] and len(digest) == 64


# ------------------------------------------------------------- annotation documents


def _set(doc: dict, path: tuple, value) -> dict:
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


#: name -> (edit of a valid document, expected codes of document_problems against BODY)
DOCUMENTS = {
    "float-offset": (lambda d: _set(d, ("mentions", 0, "start"), float(d["mentions"][0]["start"])), ["schema-type"]),
    "float-offset-in-a-cue": (lambda d: _set(d, ("quotes", 0, "cue", "end"), float(d["quotes"][0]["cue"]["end"])), ["schema-type"]),
    "boolean-offset": (lambda d: _set(d, ("mentions", 0, "start"), True), ["schema-type"]),
    "offset-at-the-maximum": (lambda d: _set(d, ("mentions", 0, "end"), 100_000_000), ["span-out-of-bounds"]),
    "negative-offset": (lambda d: _set(d, ("mentions", 0, "start"), -1), ["schema-range"]),
    "id-with-a-newline": (lambda d: _set(d, ("mentions", 0, "id"), "m1\n"), ["schema-pattern", "speaker-unknown"]),
    "article-id-path-traversal": (lambda d: _set(d, ("article", "id"), "../../etc/passwd"), ["schema-pattern"]),
    "entity-id-path-traversal": (lambda d: _set(d, ("entities", 0, "id"), "..\\x"), ["schema-pattern", "entity-unknown"]),
    "html-in-text": (lambda d: _set(d, ("mentions", 0, "text"), "<script>alert(1)</script>"), ["span-text-mismatch"]),
    "prefix-longer-than-a-selector": (lambda d: _set(d, ("mentions", 0, "prefix"), "x" * 33), ["schema-size", "selector-mismatch"]),
    "document-is-a-list": (lambda d: [d], ["schema-type"]),
    "document-is-a-string": (lambda d: "mentions", ["schema-type"]),
    "speaker-is-a-quote-id": (lambda d: _set(d, ("quotes", 0, "speaker"), "q1"), ["speaker-unknown"]),
    "newer-schema-version": (lambda d: _set(d, ("schemaVersion",), "9.0.0"), ["schema-version-unsupported"]),
}


@pytest.mark.parametrize("case", sorted(DOCUMENTS))
def test_hostile_document(case):
    edit, expected = DOCUMENTS[case]
    problems = document_problems(edit(make_document(BODY)), "a.json", BODY)
    assert sorted(p.code for p in problems) == sorted(expected)


def _many_mentions(body: str, n: int, wrong_text: bool) -> dict:
    doc = make_document(BODY)
    doc["article"]["bodySha256"] = body_sha256(body)
    step = len(body) // n
    doc["mentions"] = [
        {"id": f"m{i}", **span(body, i * step, i * step + 3), "label": "PERSON", "entity": "e-kim", "annotator": "ann-01", "origin": "human"}
        for i in range(n)
    ]
    if wrong_text:
        for mention in doc["mentions"]:
            mention["text"] = "~~~"
    doc["quotes"] = []
    return doc


def test_tens_of_thousands_of_spans_on_a_long_body_are_checked_in_linear_time(tmp_path):
    body = ("Lavrov said it. " * 100_000)[:1_500_000]
    doc = _many_mentions(body, 5_000, wrong_text=True)
    path = _write(tmp_path / f"{ARTICLE_ID}.json", json.dumps(doc, indent=2))
    layout = CorpusLayout(tmp_path)
    documents, problems = load_documents([path], layout, {ARTICLE_ID: {"body": {"text": body}}})
    assert len(problems) == 5_000 and {p.code for p in problems} == {"span-text-mismatch"}
    assert all(p.line is not None for p in problems), "every problem is placed on its line"
    assert problems[-1].line > problems[0].line


def test_lines_come_from_one_source_map_per_file():
    text = json.dumps({"mentions": [{"text": "x"}] * 5000}, indent=2)
    problems = [Problem("span-text-mismatch", "a.json", f"/mentions/{i}/text") for i in range(5000)]
    lines = [p.line for p in with_lines(problems, text)]
    assert lines == sorted(lines) and lines[0] == 4


def test_rebase_of_a_text_occurring_a_million_times_is_refused_quickly():
    body = "a" * 1_000_000
    doc = make_document(BODY)
    doc["mentions"] = [{"id": "m1", "start": 5, "end": 6, "text": "a", "prefix": "b", "suffix": "b", "label": "PERSON", "entity": "e-kim", "annotator": "ann-01", "origin": "human"}]
    doc["quotes"] = []
    result = rebase_document(doc, body, "a.json")
    assert result.document is None and [p.code for p in result.problems] == ["rebase-ambiguous"]


def test_rebase_of_twenty_thousand_spans_after_an_insertion():
    body = "".join(f"Speaker {i} said thing {i}. " for i in range(20_000))
    doc = make_document(BODY)
    doc["article"]["bodySha256"] = body_sha256(body)
    doc["mentions"] = []
    at = 0
    for i in range(20_000):
        name = f"Speaker {i}"
        at = body.index(name + " said", at)
        doc["mentions"].append({"id": f"m{i}", **span(body, at, at + len(name)), "label": "PERSON", "entity": "e-kim", "annotator": "ann-01", "origin": "human"})
    doc["quotes"] = []
    result = rebase_document(doc, "New first paragraph.\n\n" + body, "a.json")
    assert result.ok and result.moved == 20_000


def test_rebase_and_migrate_refuse_documents_with_float_offsets():
    doc = _set(make_document(BODY), ("mentions", 0, "start"), 0.0)
    assert [p.code for p in rebase_document(doc, "X" + BODY, "a.json").problems] == ["schema-type"]
    assert migrate_document(doc, "a.json").document is doc


def test_rebase_never_writes_through_a_symlink(tmp_path, capsys):
    real = _write(tmp_path / "real.json", json.dumps(make_document(BODY)))
    before = real.read_bytes()
    link = _symlink(tmp_path / f"{ARTICLE_ID}.json", real)
    article = _write(tmp_path / "article.json", json.dumps({"id": ARTICLE_ID, "body": {"text": "Intro.\n\n" + BODY}}))
    assert main(["rebase", str(link), "--article", str(article), "--format", "json"]) == 1
    assert [p["code"] for p in json.loads(capsys.readouterr().out)] == ["file-not-regular"]
    assert link.is_symlink() and real.read_bytes() == before


# ------------------------------------------------------------- manifest and raw files


def _corpus(tmp_path: Path, lines: list[dict], files: dict[str, bytes | str | Path]) -> CorpusLayout:
    raw = tmp_path / "corpus" / "raw"
    raw.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, Path):
            _symlink(raw / name, content)
        else:
            _write(raw / name, content)
    _write(raw / "manifest.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    return CorpusLayout(tmp_path / "corpus")


def _entry(**changes) -> dict:
    entry = {"id": "a-1", "file": "a.txt", "sha256": body_sha256("hello"), "outlet": "X", "url": None, "rights": "r"}
    return {**entry, **changes}


def test_manifest_path_traversal_is_refused_and_never_read(tmp_path):
    outside = _write(tmp_path / "passwd", "root:x:0:0")
    layout = _corpus(tmp_path, [_entry(file="../../passwd", sha256=body_sha256("root:x:0:0"))], {})
    assert outside.exists()
    assert [p.code for p in manifest_problems(layout)] == ["schema-pattern"]


def test_a_symlinked_raw_file_is_refused(tmp_path):
    outside = _write(tmp_path / "outside.txt", "hello")
    layout = _corpus(tmp_path, [_entry()], {"a.txt": outside})
    assert [p.code for p in manifest_problems(layout)] == ["file-not-regular"]


def test_a_url_with_a_newline_or_script_scheme_is_refused(tmp_path):
    layout = _corpus(tmp_path, [_entry(url="javascript:alert(1)"), _entry(id="a-2", file="b.txt", url="https://x.org/\n")], {"a.txt": "hello", "b.txt": "hello"})
    assert sorted(p.code for p in manifest_problems(layout)) == ["schema-pattern", "schema-pattern"]


# ------------------------------------------------------------- reports


def test_github_annotations_cannot_be_injected():
    problem = Problem("span-text-mismatch", "a,b:c.json", "/x", "text is 'x\n::error file=README.md::pwned%0A'")
    out = render([problem], "github")
    assert out.count("\n") == 1 and out.startswith("::error file=a%2Cb%3Ac.json,")
    assert "%0A::error" in out and "%250A" in out


@pytest.mark.usefixtures("stand_in_converter")
def test_a_symlinked_annotator_directory_is_reported_and_never_read(tmp_path):
    secrets = tmp_path / "runner-config"
    secrets.mkdir()
    _write(secrets / "credentials.json", '{"token": "ghp_not_for_the_log"}')
    layout = _corpus(tmp_path, [_entry()], {"a.txt": "hello"})
    (layout.root / "annotations" / "annotators").mkdir(parents=True)
    _symlink(layout.root / "annotations" / "annotators" / "evil", secrets)
    problems = validate_corpus(layout)[0]
    assert [(p.code, p.file) for p in problems] == [("file-not-regular", "corpus/annotations/annotators/evil")]
    assert "ghp_" not in render(problems, "text")


@pytest.mark.usefixtures("stand_in_converter")
def test_a_symlinked_gold_directory_is_reported_and_never_read(tmp_path):
    secrets = tmp_path / "elsewhere"
    secrets.mkdir()
    _write(secrets / "a-1.json", '{"token": "ghp_not_for_the_log"}')
    layout = _corpus(tmp_path, [_entry()], {"a.txt": "hello"})
    (layout.root / "annotations").mkdir()
    _symlink(layout.gold_dir, secrets)
    problems = validate_corpus(layout)[0]
    assert [(p.code, p.file) for p in problems] == [("file-not-regular", "corpus/annotations/gold")]
