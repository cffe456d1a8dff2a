"""The dataset card shows corpus-supplied text (outlets, agencies, annotator ids) as text, never as Markdown or HTML.

The card is rendered on the Hugging Face Hub as Markdown with HTML; each hostile value below is rendered with
markdown-it (CommonMark with HTML, tables and strikethrough, as the Hub's renderer) and must come out as exactly
its own text, on its own list line, with no tag, link, code, emphasis, heading or table of its making.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import datasets
import pytest
import yaml
from markdown_it import MarkdownIt

from newscorpus.build import build
from newscorpus.card import CardStats, markdown_text, render_card
from newscorpus.corpus import CorpusLayout
from newscorpus.validate import manifest_problems

from conftest import REPO

HOSTILE = {
    "html-tag": "<img src=x onerror=alert(1)>",
    "pipes-newline-heading": "<img src=x onerror=alert(1)> | evil |\n# Heading",
    "backticks": "``code`` and `more`",
    "link": "[click](javascript:alert(1))",
    "image": "![x](https://example.org/x.png)",
    "emphasis": "*bold* _em_ ~~gone~~ **strong**",
    "entity": "&lt;b&gt; &amp; AT&T",
    "backslash": "a\\*b\\",
    "setext-underline": "Outlet\n===",
    "list-and-quote": "Outlet\n- item\n> quoted\n1. one",
    "control-characters": "Out\x00let\x1b[31m\r\n\u2028red",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "autolink": "<https://example.org> <mailto:x@example.org>",
    "math": "$x^2$ and $$y$$",
    "html-block": "<script>alert(1)</script>",
}


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _flat(value: str) -> str:
    """What the card must show of ``value``: its words, separated by one space."""
    return " ".join("".join(" " if ord(ch) < 32 or 127 <= ord(ch) < 160 else ch for ch in value).split())


def _card(value: str, tmp_path: Path) -> str:
    stats = CardStats(articles=Counter({"train": 3}), publishers=Counter({value: 2, "SpaceWar.com": 1}), agencies=Counter({value: 1}),
                      annotators={value, "ann-01"}, origins={"human"})
    yaml_text = yaml.safe_dump({"pretty_name": value, "tags": [value]}, allow_unicode=True)
    return render_card(yaml_text, stats, tmp_path, tmp_path / "corpus")


def _body(card: str) -> str:
    front, body = card.split("\n---\n", 1)
    return body


def _line_of(tokens: list, start: str):
    """The inline token of the list item whose text starts with ``start``."""
    found = [t for t in tokens if t.type == "inline" and t.content.startswith(start)]
    assert len(found) == 1, [t.content for t in tokens if t.type == "inline"]
    return found[0]


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_corpus_text_renders_as_itself(value, tmp_path):
    card = _card(value, tmp_path)
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["pretty_name"] == value and front["tags"] == [value], "the front matter must stay valid YAML"

    tokens = _markdown().parse(_body(card))
    shown = _flat(value)
    people = ", ".join(_flat(a) for a in sorted({value, "ann-01"}))
    sources = ", ".join(f"{_flat(name)} ({n})" for name, n in sorted({value: 2, "SpaceWar.com": 1}.items()))
    for start, expected, types in (
        ("3 articles from:", f"3 articles from: {sources}; wire agencies credited: {shown} (1).",
         ["text"]),
        ("Annotators (pseudonymous ids):",
         f"Annotators (pseudonymous ids): {people}; origin of the gold items: human (model means an AI model made the item).",
         ["text", "code_inline", "text"]),
    ):
        inline = _line_of(tokens, start)
        assert [c.type for c in inline.children] == types, inline.children
        assert "".join(c.content for c in inline.children) == expected
    plain = _body(_card("Plain Outlet", tmp_path))
    kinds = lambda ts: Counter(t.type for t in ts)  # noqa: E731
    assert kinds(tokens) == kinds(_markdown().parse(plain)), "the value added or removed a block (heading, table, list, HTML)"
    html = _markdown().render(_body(card))
    for made in ("<img", "<script", "<a ", "<code>", "<em>", "<strong>", "<s>", "<table"):
        assert html.count(made) == _markdown().render(plain).count(made), made


def test_markdown_text_is_one_line_and_keeps_plain_names_readable():
    assert markdown_text("SpaceWar.com") == "SpaceWar.com"
    assert markdown_text("The Moscow Times (Russia)") == "The Moscow Times (Russia)"
    assert markdown_text("Workers' Party \"quoted\"") == "Workers' Party \"quoted\""
    assert "\n" not in markdown_text("a\nb\r\nc\u2028d\u0085e")


def test_validate_refuses_a_line_break_or_control_character_in_an_outlet(repo_copy):
    manifest = repo_copy / "corpus" / "raw" / "manifest.jsonl"
    lines = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    assert manifest_problems(CorpusLayout(repo_copy / "corpus")) == []
    for outlet in ("Outlet\n# Heading", "Out\x1blet", "Outlet\u2028Two"):
        lines[0]["outlet"] = outlet
        manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        found = [(p.code, p.pointer, p.line) for p in manifest_problems(CorpusLayout(repo_copy / "corpus"))]
        assert found == [("schema-pattern", "/outlet", 1)], outlet


def test_a_built_card_with_a_hostile_outlet_loads_and_shows_it_as_text(repo_copy, hf_cache):
    outlet = "<img src=x onerror=alert(1)> | evil | [x](javascript:alert(1)) `code` *em* # not a heading"
    manifest = repo_copy / "corpus" / "raw" / "manifest.jsonl"
    lines = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    lines[0]["outlet"] = outlet
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert manifest_problems(CorpusLayout(repo_copy / "corpus")) == []

    result = build(CorpusLayout(repo_copy / "corpus"), repo_copy / "build" / "dataset", repo_root=repo_copy)
    card = (result.out / "README.md").read_text(encoding="utf-8")
    assert yaml.safe_load(card.split("---\n")[1])["configs"]
    inline = _line_of(_markdown().parse(_body(card)), "2 articles from:")
    assert {c.type for c in inline.children} == {"text"}
    assert outlet in "".join(c.content for c in inline.children)
    assert "<img" not in card and "\n# not" not in card
    rows = [row for split in datasets.load_dataset(str(result.out), "articles").values() for row in split]
    assert outlet in {row["publisher"] for row in rows}, "the data keeps the outlet as it is"


def _links(tokens) -> list[str]:
    """Every link target of a parsed Markdown document."""
    found = []
    for token in tokens:
        found += [child.attrs["href"] for child in token.children or [] if child.type == "link_open"]
    return found


@pytest.mark.parametrize("beside", [("DATASHEET.md", "ANNOTATION_GUIDELINES.md"), ("DATASHEET.md",), ()],
                         ids=["both-documents", "datasheet-only", "neither"])
def test_every_link_of_a_built_card_names_a_file_of_the_output(repo_copy, beside):
    """A corpus kept elsewhere than this repository has no datasheet or guidelines beside it: the card names them
    without linking them (and its licence link is left out), and links them when they are there. A build with the
    documents after one without them links them (the card's cache key holds which there are)."""
    for name in ("DATASHEET.md", "ANNOTATION_GUIDELINES.md"):
        if name not in beside:
            (repo_copy / name).unlink()
    out = repo_copy / "build" / "dataset"
    result = build(CorpusLayout(repo_copy / "corpus"), out, repo_root=repo_copy)
    card = (out / "README.md").read_text(encoding="utf-8")
    relative = [link for link in _links(_markdown().parse(_body(card))) if "://" not in link]
    metadata = yaml.safe_load(card.split("---\n")[1])
    relative += [metadata["license_link"]] if "license_link" in metadata else []
    assert set(relative) == set(beside)
    assert all((out / link).is_file() for link in relative)
    for name in set(("DATASHEET.md", "ANNOTATION_GUIDELINES.md")) - set(beside):
        assert f"`{name}` (not supplied" in card and not (out / name).exists()
    assert not [p for p in result.problems if p.severity == "error"]

    for name in ("DATASHEET.md", "ANNOTATION_GUIDELINES.md"):
        shutil.copyfile(REPO / name, repo_copy / name)
    build(CorpusLayout(repo_copy / "corpus"), out, repo_root=repo_copy)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "(not supplied" not in card and "[DATASHEET.md](DATASHEET.md)" in card
    assert yaml.safe_load(card.split("---\n")[1])["license_link"] == "DATASHEET.md"
