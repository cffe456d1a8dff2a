"""``newscorpus convert``: files in, records out, problems on stderr, exit status."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from newscorpus.cli import main
from newscorpus.jsonio import load_json
from recordcheck import assert_well_formed

SEEDS = Path(__file__).resolve().parents[1] / "corpus" / "raw"
SPACEWAR = "000_aa6e04d9d268f344.txt"
MOSCOWTIMES = "004_1e425f2c2345ce0e.txt"


@pytest.fixture
def corpus_raw(tmp_path: Path) -> Path:
    """A copy of the seed raw directory, manifest included."""
    raw = tmp_path / "corpus" / "raw"
    shutil.copytree(SEEDS, raw)
    return raw


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["convert", "--help"])
    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    assert "examples:" in help_text and "newscorpus convert corpus/raw" in help_text


def test_seeds_convert_cleanly_with_the_manifest(corpus_raw, tmp_path, capsys):
    out = tmp_path / "articles"
    code, stdout, stderr = _run(capsys, "convert", str(corpus_raw), "--manifest", str(corpus_raw / "manifest.jsonl"), "--out", str(out))
    assert code == 0, stderr
    assert stdout == ""
    assert sorted(p.name for p in out.iterdir()) == [
        "moscowtimes-2023-10-20-1e425f2c.json", "spacewar-2023-10-19-aa6e04d9.json",
    ]
    for path in out.iterdir():
        record, _, problems = load_json(path)
        assert not problems
        assert_well_formed(record)
    assert "converted 2 of 2 file(s)" in stderr


def test_good_and_bad_files_together(corpus_raw, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02")
    (bad / "unknown-layout.txt").write_text("Storm hits coast\n\nA storm hit the coast on Monday.\n", encoding="utf-8")
    out = tmp_path / "articles"
    code, _, stderr = _run(
        capsys, "convert", str(corpus_raw / SPACEWAR), str(bad / "empty.txt"), str(bad / "binary.txt"),
        str(bad / "unknown-layout.txt"), str(corpus_raw / MOSCOWTIMES), str(tmp_path / "missing.txt"), "--out", str(out),
    )
    assert code == 1
    assert len(list(out.glob("*.json"))) == 3
    assert f"{bad / 'empty.txt'}: error: raw-empty" in stderr
    assert f"{bad / 'binary.txt'}:1: error: raw-binary" in stderr
    assert f"{bad / 'unknown-layout.txt'}: warning: layout-unknown" in stderr
    assert f"{tmp_path / 'missing.txt'}: error: file-unreadable" in stderr
    assert "converted 3 of 5 file(s)" in stderr
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_warnings_alone_exit_0(tmp_path, capsys):
    raw = tmp_path / "a.txt"
    raw.write_text("Storm hits coast\n\nA storm hit the coast on Monday.\n", encoding="utf-8")
    code, _, stderr = _run(capsys, "convert", str(raw), "--out", str(tmp_path / "out"))
    assert code == 0
    assert "warning: layout-unknown" in stderr


def test_out_dash_writes_json_lines(corpus_raw, capsys):
    code, stdout, _ = _run(capsys, "convert", str(corpus_raw / SPACEWAR), str(corpus_raw / MOSCOWTIMES), "--out", "-")
    assert code == 0
    lines = stdout.splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [r["provenance"]["layout"] for r in records] == ["spacewar", "moscowtimes"]
    for record in records:
        assert_well_formed(record)


def test_problems_as_json(tmp_path, capsys):
    (tmp_path / "empty.txt").write_bytes(b"")
    code, _, stderr = _run(capsys, "convert", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "out"), "--format", "json")
    assert code == 1
    problems = json.loads(stderr)
    assert [(p["code"], p["severity"], p["file"]) for p in problems] == [("raw-empty", "error", str(tmp_path / "empty.txt"))]


def test_problems_as_github_annotations(tmp_path, capsys):
    (tmp_path / "binary.txt").write_bytes(b"ab\n\x00")
    code, _, stderr = _run(capsys, "convert", str(tmp_path / "binary.txt"), "--out", str(tmp_path / "out"), "--format", "github")
    assert code == 1
    assert stderr.startswith(f"::error file={tmp_path / 'binary.txt'},line=2,title=raw-binary::")


def test_files_missing_from_the_manifest_are_converted_with_a_warning(corpus_raw, tmp_path, capsys):
    extra = corpus_raw / "extra.txt"
    extra.write_text("Storm hits coast\n\nBy Reuters\n\nA storm hit the coast on Monday.\n", encoding="utf-8")
    out = tmp_path / "out"
    code, _, stderr = _run(capsys, "convert", str(corpus_raw), "--manifest", str(corpus_raw / "manifest.jsonl"), "--out", str(out))
    assert code == 0
    assert f"{extra}: warning: raw-unlisted" in stderr
    assert len(list(out.glob("raw-*.json"))) == 1


def test_two_files_with_one_id(corpus_raw, tmp_path, capsys):
    shutil.copy(corpus_raw / SPACEWAR, tmp_path / "copy.txt")
    out = tmp_path / "out"
    code, _, stderr = _run(capsys, "convert", str(corpus_raw / SPACEWAR), str(tmp_path / "copy.txt"), "--out", str(out))
    assert code == 1
    assert "id-duplicate" in stderr
    assert len(list(out.glob("*.json"))) == 1


def test_manifest_lines_that_are_not_json_are_reported(corpus_raw, tmp_path, capsys):
    manifest = corpus_raw / "manifest.jsonl"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    code, _, stderr = _run(capsys, "convert", str(corpus_raw), "--manifest", str(manifest), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "json-invalid" in stderr


@pytest.mark.parametrize("argv", [
    ["convert", "x.txt"],
    ["convert", "--out", "o"],
    ["convert", "x.txt", "--out", "o", "--format", "xml"],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_missing_manifest_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    code, _, stderr = _run(capsys, "convert", str(tmp_path / "a.txt"), "--manifest", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "nope.jsonl" in stderr


def test_out_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "o").write_text("", encoding="utf-8")
    code, _, _ = _run(capsys, "convert", str(tmp_path / "a.txt"), "--out", str(tmp_path / "o"))
    assert code == 2
