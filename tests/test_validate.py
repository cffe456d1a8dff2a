"""One invalid fixture per problem code, each yielding exactly its code; pointers, lines and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newscorpus.cli import main
from newscorpus.convert import convert_path
from newscorpus.corpus import CorpusLayout
from newscorpus.problems import CODES
from newscorpus.validate import validate_corpus, validate_paths

from conftest import FIXTURES

INVALID = FIXTURES / "invalid"
LAYOUT = CorpusLayout(FIXTURES / "corpus")

#: Codes whose input cannot be a small committed file; each has its own test below (or in the module named).
GENERATED = {
    "file-too-large": "test_oversized_json_is_refused_unread",
    "raw-too-large": "tests/test_convert_bad_input.py (a 50 MB file made in tmp_path)",
    "file-unreadable": "test_a_missing_path_is_reported",
    "schema-invalid": "test_unmapped_schema_keywords_fall_back_to_schema_invalid",
}
#: Codes of other commands, each tested data-driven in its own module: agreement (pairs of annotation
#: sets, tests/test_agreement.py), rebase (old and new bodies, tests/test_rebase.py), migrate (tests/test_migrate.py).
OTHER_COMMANDS = {c for c in CODES if c.startswith(("agreement-", "rebase-", "migrate-", "studio-"))}


def fixture_codes() -> dict[str, Path]:
    return {p.name.split(".")[0]: p for p in sorted(INVALID.iterdir())}


def codes_of(path: Path) -> list[str]:
    """Validate a fixture the way its kind is validated, and return the codes found."""
    if path.is_dir() and (path / "raw").is_dir():
        problems = validate_corpus(CorpusLayout(path))[0]
    elif path.suffix == ".txt":
        problems = convert_path(path)[1]
    else:
        problems = validate_paths([path], LAYOUT)
    return sorted({p.code for p in problems})


def test_the_valid_fixture_corpus_is_clean():
    problems = validate_corpus(LAYOUT)[0]
    assert problems == []


#: Warnings that necessarily come with a code: a raw file read without a manifest line is of an
#: unknown outlet, and a file no layout recognises is read by the generic parser.
COMPANIONS = {
    "headline-missing": {"layout-unknown"},
    "body-empty": {"layout-unknown"},
    "raw-control-characters": {"layout-unknown", "publisher-unknown"},
    "publisher-unknown": {"layout-unknown"},
    "url-unreadable": {"layout-unknown", "publisher-unknown"},
    "layout-unexpected": {"headline-missing"},
    "date-unparsed": {"layout-unknown", "publisher-unknown"},
}


@pytest.mark.parametrize("code", sorted(fixture_codes()))
def test_fixture_yields_exactly_its_code(code):
    assert code in CODES, f"fixture {code} is named after no problem code"
    found = codes_of(fixture_codes()[code])
    assert code in found
    assert set(found) - {code} <= COMPANIONS.get(code, set()), found


def test_every_code_has_a_fixture_or_a_named_test():
    missing = set(CODES) - set(fixture_codes()) - set(GENERATED) - OTHER_COMMANDS
    assert not missing, f"codes without an invalid fixture: {sorted(missing)}"


@pytest.mark.parametrize(
    ("code", "pointer", "line"),
    [
        ("span-text-mismatch", "/mentions/2/text", None),
        ("speaker-unknown", "/quotes/0/speaker", None),
        ("schema-unknown-property", "/mentions/0/confidence", None),
        ("label-unknown", "/mentions/0/label", None),
        ("annotation-stale", "/article/bodySha256", None),
    ],
)
def test_problems_carry_the_json_pointer_and_line(code, pointer, line):
    path = fixture_codes()[code]
    (problem,) = validate_paths([path], LAYOUT)
    assert problem.pointer == pointer
    assert problem.file.endswith(path.name)
    text = path.read_text(encoding="utf-8").splitlines()
    key = pointer.rsplit("/", 1)[1]
    assert f'"{key}"' in text[problem.line - 1], (problem.line, text[problem.line - 1])


def test_json_errors_name_the_line():
    (problem,) = validate_paths([fixture_codes()["json-invalid"]], LAYOUT)
    assert problem.line and problem.line > 1


def test_a_missing_path_is_reported(tmp_path):
    (problem,) = validate_paths([tmp_path / "nope.json"], LAYOUT)
    assert problem.code == "file-unreadable" and "nope.json" in problem.file


def test_oversized_json_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr("newscorpus.jsonio.MAX_JSON_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"x": "y" * 5000}), encoding="utf-8")
    assert codes_of(path) == ["file-too-large"]


def test_unmapped_schema_keywords_fall_back_to_schema_invalid():
    from jsonschema import Draft202012Validator

    from newscorpus.schemas import code_of

    (error,) = Draft202012Validator({"not": {"type": "string"}}).iter_errors("x")
    assert code_of(error) == "schema-invalid"


@pytest.mark.parametrize(("fmt", "check"), [
    ("text", lambda out: "span-text-mismatch" in out and "#/mentions/2/text" in out),
    ("json", lambda out: json.loads(out)[0]["pointer"] == "/mentions/2/text"),
    ("github", lambda out: out.startswith("::error file=") and "title=span-text-mismatch" in out and ",line=" in out),
])
def test_cli_formats_and_exit_codes(fmt, check, capsys):
    path = fixture_codes()["span-text-mismatch"]
    assert main(["validate", str(path), "--corpus", str(LAYOUT.root), "--format", fmt]) == 1
    assert check(capsys.readouterr().out)


def test_cli_exits_0_on_a_clean_corpus(capsys):
    assert main(["validate", "--corpus", str(LAYOUT.root)]) == 0
    assert "no problems" in capsys.readouterr().out


def test_a_changed_raw_file_is_reported_once_on_its_manifest_line(tmp_path):
    from newscorpus.build import build

    corpus = fixture_codes()["raw-sha-mismatch"]
    for problems in (validate_corpus(CorpusLayout(corpus))[0], build(CorpusLayout(corpus), tmp_path / "out").problems):
        (problem,) = [p for p in problems if p.code == "raw-sha-mismatch"]
        assert problem.file.endswith("manifest.jsonl") and problem.line == 1 and problem.pointer == "/sha256"


def _edited_raw(corpus: Path) -> Path:
    """A listed raw file edited without its manifest line (sha256) or its annotation documents."""
    path = corpus / "raw" / "000_aa6e04d9d268f344.txt"
    path.write_text(path.read_text().replace("Lavrov slammed", "Lavrov criticised"))
    return path


def _unlisted_raw(corpus: Path) -> Path:
    path = corpus / "raw" / "new.txt"
    path.write_text("New headline\n\nA body.\n")
    return path


def _linked_raw(corpus: Path) -> Path:
    path = corpus / "raw" / "000_aa6e04d9d268f344.txt"
    (corpus.parent / "elsewhere.txt").write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(corpus.parent / "elsewhere.txt")
    return path


#: What a pre-commit hook passes ``validate`` (one raw file of the corpus), and the codes it must then report: the
#: same as a check of the whole corpus (the manifest's line for it, and the documents of its article).
RAW_FILE_CHANGES = {
    "edited-without-its-manifest-line": (_edited_raw, {"raw-sha-mismatch", "annotation-stale"}),
    "added-without-a-manifest-line": (_unlisted_raw, {"raw-unlisted"}),
    "replaced-by-a-symbolic-link": (_linked_raw, {"file-not-regular"}),
}


@pytest.mark.parametrize("change", RAW_FILE_CHANGES, ids=list(RAW_FILE_CHANGES))
def test_a_raw_file_passed_alone_is_checked_against_its_manifest_line_and_documents(repo_copy, monkeypatch, capsys, change):
    make, codes = RAW_FILE_CHANGES[change]
    corpus = repo_copy / "corpus"
    path = make(corpus)
    monkeypatch.chdir(repo_copy)
    whole = {p.code for p in validate_corpus(CorpusLayout(Path("corpus")))[0]}
    assert codes <= whole
    assert main(["validate", "--format", "json", str(path.relative_to(repo_copy))]) == 1
    reported = json.loads(capsys.readouterr().out)
    assert codes <= {p["code"] for p in reported}
    if change == "replaced-by-a-symbolic-link":  # by its own name, not its target's
        assert {p["file"] for p in reported if p["code"] == "file-not-regular"} == {f"corpus/raw/{path.name}"}


def _with_mention(doc: dict, body: str, text: str, index: int | None = None, **fields) -> dict:
    """``doc`` with one more mention of the first ``text`` in ``body`` (at ``index``, else last); ``fields`` override."""
    from newscorpus.spans import span

    start = body.index(text)
    mention = {"id": "m9", **span(body, start, start + len(text)), "label": "PERSON", "kind": "name",
               "entity": "sergei-lavrov", "annotator": "ann-01", "origin": "human", **fields}
    if mention.get("kind") is None:
        del mention["kind"]
    doc["mentions"].insert(len(doc["mentions"]) if index is None else index, mention)
    return doc


#: name -> (edit of the valid fixture document (doc, body), the (code, pointer) it must yield). The valid document
#: has m1 'Kim Jong Un' (name), m2 'he' (pronoun, inside quote q1's content), m3 'Sergei Lavrov' (name), m4 'Lavrov'.
MENTION_SPANS = {
    "same span twice": (lambda d, b: _with_mention(d, b, "Sergei Lavrov"), [("mention-duplicate", "/mentions/4")]),
    "same span, other label and kind": (lambda d, b: _with_mention(d, b, "Sergei Lavrov", label="ORG", kind="nominal"),
                                        [("mention-duplicate", "/mentions/4")]),
    "the copy first: the later one is named": (lambda d, b: _with_mention(d, b, "Sergei Lavrov", index=0),
                                               [("mention-duplicate", "/mentions/3")]),
    "a name inside a name": (lambda d, b: _with_mention(d, b, "Sergei"), [("mention-nested", "/mentions/4")]),
    "a name without kind inside a name": (lambda d, b: _with_mention(d, b, "Sergei", kind=None),
                                          [("mention-nested", "/mentions/4")]),
    "a name holding a name": (lambda d, b: _with_mention(d, b, "Foreign Minister Sergei Lavrov", label="ORG"),
                              [("mention-nested", "/mentions/4")]),
    "a name holding two names": (lambda d, b: _with_mention(d, b, "Kim Jong Un said Thursday he wants to build a \"forward-looking\" "
                                                            "relationship with Russia as he met with Foreign Minister Sergei Lavrov"),
                                 [("mention-nested", "/mentions/4"), ("mention-nested", "/mentions/4")]),
    "a pronoun inside a nominal (C4)": (lambda d, b: _with_mention(d, b, "he wants", kind="nominal"), []),
}


@pytest.mark.parametrize("case", MENTION_SPANS, ids=list(MENTION_SPANS))
def test_duplicate_and_nested_name_mentions_are_reported_and_what_the_guidelines_allow_is_not(case, tmp_path):
    from newscorpus.jsonio import dumps

    edit, expected = MENTION_SPANS[case]
    from newscorpus.corpus import convert_corpus

    path = next(LAYOUT.gold_dir.glob("*.json"))
    body = convert_corpus(LAYOUT)[0][path.stem]["body"]["text"]
    doc = edit(json.loads(path.read_text(encoding="utf-8")), body)
    target = tmp_path / path.name
    target.write_text(dumps(doc), encoding="utf-8")
    problems = validate_paths([target], LAYOUT)
    assert [(p.code, p.pointer) for p in problems] == expected
    lines = target.read_text(encoding="utf-8").splitlines()
    for problem in problems:
        index = int(problem.pointer.rsplit("/", 1)[1])
        assert lines[problem.line - 1].strip() == "{" and f'"id": "{doc["mentions"][index]["id"]}"' in lines[problem.line]


def test_the_seed_corpus_and_its_gold_documents_are_valid():
    from conftest import REPO

    assert validate_corpus(CorpusLayout(REPO / "corpus"))[0] == []


@pytest.mark.parametrize("name, advice", [("new.txt", "add a line for new.txt"), ("new file.txt", "rename it"),
                                          (".hidden-not-listed", None), ("-dash.txt", "rename it"), ("été.txt", "rename it")])
def test_an_unlisted_raw_file_is_told_what_to_do(repo_copy, name, advice):
    """A raw file the manifest does not list: add a line for it, or, when no manifest line may name it, rename it first
    (build and validate alike)."""
    corpus = repo_copy / "corpus"
    (corpus / "raw" / name).write_text("New headline\n\nA body.\n")
    problems = [p for p in validate_corpus(CorpusLayout(corpus))[0] if p.code == "raw-unlisted"]
    if advice is None:  # hidden files are not raw files
        assert problems == []
        return
    (problem,) = problems
    assert problem.file == f"corpus/raw/{name}" and problem.message.startswith(advice)
    from newscorpus.build import build
    from newscorpus.pipeline import ProcessMapper

    built = build(CorpusLayout(corpus), repo_copy / "out", cache_dir=repo_copy / "cache", mapper=ProcessMapper(1))
    assert [p for p in built.problems if p.code == "raw-unlisted"] == [problem]


SPACEWAR_DOC = "spacewar-2023-10-19-aa6e04d9.json"
MOSCOWTIMES_DOC = "moscowtimes-2023-10-20-1e425f2c.json"

#: How a contribution can break the document that other documents' sameAs links point into -> its own problem.
UNREADABLE_LINKED = {
    "truncated": (lambda path: path.write_bytes(path.read_bytes()[:200]), "json-invalid"),
    "duplicate-key": (lambda path: path.write_text('{"a": 1, "a": 2}\n', encoding="utf-8"), "json-duplicate-key"),
    "a-directory": (lambda path: (path.unlink(), path.mkdir()), "file-unreadable"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE_LINKED))
@pytest.mark.parametrize("where", ["gold", "annotators/llm-b"])
def test_a_broken_linked_document_is_reported_once_not_through_every_link_into_it(repo_copy, case, where):
    """The seed's two documents link their quotes to each other (sameAs). Breaking one is its own problem; the other's
    links into it are not reported too (their targets cannot be known until it reads), by validate and by build alike."""
    from newscorpus.build import build

    documents = repo_copy / "corpus" / "annotations" / where
    assert "sameAs" in (documents / SPACEWAR_DOC).read_text(encoding="utf-8")
    breaks, code = UNREADABLE_LINKED[case]
    breaks(documents / MOSCOWTIMES_DOC)
    layout = CorpusLayout(repo_copy / "corpus")
    validated, _ = validate_corpus(layout)
    built = build(layout, repo_copy / "build" / "dataset", repo_root=repo_copy).problems
    for problems in (validated, built):
        assert [(p.code, Path(p.file).name) for p in problems if p.severity == "error"] == [(code, MOSCOWTIMES_DOC)]


def test_a_link_into_an_article_without_a_document_is_still_unresolved(repo_copy):
    """Not a broken file: the linked article has no document in the set, so the quote it names is not there."""
    from newscorpus.build import build

    (repo_copy / "corpus" / "annotations" / "gold" / MOSCOWTIMES_DOC).unlink()
    layout = CorpusLayout(repo_copy / "corpus")
    validated, _ = validate_corpus(layout)
    built = build(layout, repo_copy / "build" / "dataset", repo_root=repo_copy).problems
    for problems in (validated, built):
        codes = {(p.code, Path(p.file).name) for p in problems if p.severity == "error"}
        assert codes == {("quote-link-unresolved", SPACEWAR_DOC)}
