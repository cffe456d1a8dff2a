"""The Label Studio round trip through the real web UI (issue 4).

As the issue checks it: the server is started the way `newscorpus studio serve` starts it (the session
fixture), the corpus is converted and pushed with `newscorpus studio push`, an annotator logs in with
chromium and labels words that come after an emoji, a ZWJ sequence, a flag, a combining mark and a
paragraph break, submits, and `newscorpus studio pull` brings back mentions whose offsets are Python
code points.  Run it with::

    PYTHONPATH=src .venv/bin/python -m pytest -q tests/studio/test_browser.py
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from newscorpus.cli import main
from newscorpus.corpus import CorpusLayout, convert_corpus
from newscorpus.jsonio import dumps
from newscorpus.spans import body_sha256, span
from newscorpus.studio import server
from newscorpus.studio.sync import Studio, pseudonym
from newscorpus.studio.tasks import new_item_id

from .browser import annotator, require_browser
from .helpers import find, snapshot

pytestmark = [pytest.mark.studio, pytest.mark.browser]

EMOJI, FIREFIGHTER, FLAG = "\U0001F600", "\U0001F468\U0001F3FB\u200D\U0001F692", "\U0001F1F0\U0001F1F5"
SPINAL = "Spin\u0308al"  # n + combining diaeresis: no precomposed form, so NFC keeps two code points

#: A raw scrape with CRLF line ends, astral characters and text that looks like markup once decoded.  The
#: converter turns the entities into ``<u>x</u>`` and ``**x**`` *after* removing real markup, so the body
#: holds them as text; it makes every line end ``\n``.
TRICKY_RAW = (
    "Kim welcomes Lavrov in Pyongyang\r\n\r\nBy AFP Staff Writers\r\nSeoul (AFP) Oct 19, 2023\r\n\r\n"
    f"Crowds cheered {EMOJI}, a firefighter {FIREFIGHTER} saluted and a flag {FLAG} flew over the "
    f"{SPINAL} caf\u00e9 as Sergei Lavrov arrived on Thursday.\r\n\r\n"
    "Tea &amp; cakes were served since a &gt; b, a banner read &lt;u&gt;x&lt;/u&gt; beside "
    "&#42;&#42;x&#42;&#42;, and Pyongyang media called the visit historic.\r\n"
)
PLAIN_RAW = "Putin thanks Kim\r\n\r\nBy AFP Staff Writers\r\nMoscow (AFP) Oct 20, 2023\r\n\r\nPutin thanked Kim for the welcome.\r\n"

#: (word, the text around it that finds it, label): after the emoji/ZWJ/flag/combining mark, then after the
#: paragraph break, `&`, `>`, `<u>x</u>` and `**x**`.
LABELLED = [
    ("Lavrov", "as Sergei Lavrov arrived", "PERSON"),
    ("Pyongyang", "and Pyongyang media", "GPE"),
]


def _corpus(root) -> CorpusLayout:
    """Raw files and manifest of two articles: the tricky one without gold, a plain one with gold."""
    layout = CorpusLayout(root)
    layout.raw_dir.mkdir(parents=True)
    lines = []
    for article_id, name, text in (("browser-tricky", "tricky.txt", TRICKY_RAW),
                                   ("browser-plain", "plain.txt", PLAIN_RAW)):
        raw = text.encode("utf-8")
        (layout.raw_dir / name).write_bytes(raw)
        lines.append(json.dumps({"id": article_id, "file": name, "sha256": hashlib.sha256(raw).hexdigest(),
                                 "outlet": "AFP", "url": None, "rights": "written for this test"}))
    layout.manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return layout


def _plain_gold(body: str) -> dict:
    """A gold document for the plain article: pull must leave it byte for byte."""
    putin = {"id": "m1", **span(body, *find(body, "Putin")), "label": "PERSON", "entity": "putin",
             "annotator": "ann-01", "origin": "human"}
    return {"schemaVersion": "1.1.0", "article": {"id": "browser-plain", "bodySha256": body_sha256(body)},
            "entities": [{"id": "putin", "name": "Vladimir Putin", "label": "PERSON"}],
            "mentions": [putin], "quotes": []}


@pytest.fixture(scope="session")
def chromium():
    """/usr/bin/chromium, checked before the (slow) server starts."""
    return require_browser()


def test_annotating_in_the_browser_comes_back_as_code_point_offsets(
        chromium, label_studio, tmp_path, monkeypatch, capsys, project_title):
    layout = _corpus(tmp_path / "corpus")
    articles, problems = convert_corpus(layout)
    assert problems == [] and sorted(articles) == ["browser-plain", "browser-tricky"], problems
    gold_dir = layout.gold_dir
    gold_dir.mkdir(parents=True)
    (gold_dir / "browser-plain.json").write_text(dumps(_plain_gold(articles["browser-plain"]["body"]["text"])),
                                                 encoding="utf-8")
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    cli = ["studio", "--corpus", str(layout.root)]

    assert main(cli + ["push", "--project", project_title]) == 0, capsys.readouterr()
    assert "2 task(s) created" in capsys.readouterr().out
    studio = Studio(label_studio.url, label_studio.token)
    project = studio.find_project(project_title)["id"]
    tasks = {t["data"]["article_id"]: t for t in studio.export(project)}
    task, body = tasks["browser-tricky"]["id"], tasks["browser-tricky"]["data"]["text"]
    assert body == articles["browser-tricky"]["body"]["text"]
    for text in (EMOJI, FIREFIGHTER, FLAG, SPINAL, "Tea & cakes", "a > b", "<u>x</u>", "**x**", "\n\n"):
        assert text in body, f"the converted body lost {text!r}: {body!r}"
    assert "\r" not in body  # the converter normalises line ends, so the browser never sees CRLF
    before = snapshot(layout.root / "annotations")

    credentials = server.Credentials.load(label_studio.directory / "credentials.json")
    screenshot = tmp_path / "label-studio.png"
    with annotator(chromium, label_studio.url, screenshot) as page:
        page.log_in(credentials.username, credentials.password)
        page.open_task(project, task)
        with page.step("checking that the article is shown as text"):
            shown = page.text_view()
            for text in ("<u>x</u>", "**x**", "Tea & cakes", "a > b", SPINAL):
                assert text in shown["text"], f"{text!r} is not shown as text: {shown['text']!r}"
            assert page.page.locator(".lsf-richtext__line").get_by_text("<u>x</u>").is_visible()
            assert (shown["u"], shown["iframes"]) == (0, 0), f"markup rendered in the labelling area: {shown}"
        regions = [page.label(word, label, context=context) for word, context, label in LABELLED]
        saved = page.submit(task)
        page.wait_for_regions(regions)  # the view reloads the saved annotation
        page.page.screenshot(path=str(screenshot), full_page=True)

    submitted = {r["id"]: r["value"] for r in saved["result"] if r["type"] == "labels"}
    assert sorted(submitted) == sorted(regions), saved["result"]

    assert main(cli + ["pull", "--project", project_title]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    who = pseudonym(credentials.username)
    assert re.fullmatch(r"ann-[0-9a-f]{8}", who)
    written = {"gold": gold_dir / "browser-tricky.json", "annotator": layout.annotators_dir / who / "browser-tricky.json"}
    for kind, path in written.items():
        assert f"{layout.rel(path)}: added" in out, out
        text = path.read_text(encoding="utf-8")
        assert credentials.username not in text and "@" not in text
        doc = json.loads(text)
        assert doc["article"] == {"id": "browser-tricky", "bodySha256": body_sha256(body)}
        mentions = {m["id"]: m for m in doc["mentions"]}
        for rid, (word, context, label) in zip(regions, LABELLED):
            start = body.index(context) + context.index(word)
            mid = new_item_id(rid, set())
            assert mentions[mid] == {"id": mid, **span(body, start, start + len(word)), "label": label,
                                     "entity": f"e-{mid}", "annotator": who, "origin": "human"}, (kind, word)
            assert body[mentions[mid]["start"]:mentions[mid]["end"]] == word
            # Label Studio saved Python code points, which differ from the browser's UTF-16 offsets here
            assert (submitted[rid]["start"], submitted[rid]["end"]) == (start, start + len(word))
            assert len(body[:start].encode("utf-16-le")) // 2 != start
        assert len(mentions) == len(LABELLED) and doc["quotes"] == []
    after = snapshot(layout.root / "annotations")
    assert after.pop("gold/browser-tricky.json") and after.pop(f"annotators/{who}/browser-tricky.json")
    assert after == before  # the plain article's gold came back byte for byte

    assert main(cli + ["pull", "--project", project_title]) == 0
    assert "0 file(s) written" in capsys.readouterr().out
