"""An annotator in the real web UI: Debian's chromium driven by playwright (optional).

Skipped when playwright or /usr/bin/chromium is missing (``pip install
'newscorpus[browser]'`` and ``apt-get install chromium``); ``playwright install``
is never run (it downloads a browser).  The annotator logs in, adds two
mentions to the pushed gold annotation — one after an emoji ZWJ sequence —
types an entity id in the per-region field and clicks Update; pull brings both
back at Python code-point offsets, with everything else unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newscorpus.corpus import CorpusLayout
from newscorpus.spans import span
from newscorpus.studio.sync import pseudonym, pull, push

from .helpers import TRICKY_BODY, article, tricky_gold, write_gold

pytestmark = pytest.mark.studio

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
#: The viewport rectangle of a word of the article text (a DOM Range over its text node).
WORD_BOX = """(word) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(word);
    if (at >= 0 && node.parentElement.closest('.htx-text, [class*=richtext]')) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + word.length);
      const box = range.getBoundingClientRect();
      return [box.left, box.top, box.right, box.bottom];
    }
  }
  return null;
}"""


@pytest.fixture
def browser_page():
    """A chromium page, or a skip when there is no browser to drive."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def _select(page, word: str) -> None:
    """Drag the mouse over a word, as a person selects it."""
    box = page.evaluate(WORD_BOX, word)
    assert box, f"{word!r} is not on the page"
    left, top, right, bottom = box
    middle = (top + bottom) / 2
    page.mouse.move(left + 1, middle)
    page.mouse.down()
    page.mouse.move((left + right) / 2, middle, steps=4)
    page.mouse.move(right - 1, middle, steps=4)
    page.mouse.up()
    page.wait_for_timeout(300)


def test_an_annotator_in_the_browser_comes_back_exactly(label_studio, browser_page, tmp_path, project_title):
    layout = CorpusLayout(tmp_path / "corpus")
    gold = tricky_gold("a1")
    write_gold(layout, gold)
    studio, state = label_studio.studio(), tmp_path / ".studio"
    project = push(layout, {"a1": article("a1", TRICKY_BODY)}, studio, state, title=project_title).project
    task = studio.export(project)[0]

    page = browser_page
    page.goto(f"{label_studio.url}/user/login/")
    page.fill("input[name=email]", label_studio.username)
    page.fill("input[name=password]", label_studio.password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{label_studio.url}/projects/{project}/data?task={task['id']}")
    page.locator(".lsf-label", has_text="GPE").first.wait_for(timeout=60_000)

    page.locator(".lsf-label", has_text="GPE").first.click()
    _select(page, "MOSCOW")
    page.keyboard.press("Escape")
    page.locator(".lsf-label", has_text="PERSON").first.click()
    _select(page, "reporters")  # after 😀, a ZWJ sequence with a skin tone, a combining mark and a CRLF
    page.keyboard.press("Escape")
    left, top, right, bottom = page.evaluate(WORD_BOX, "MOSCOW")
    page.mouse.click((left + right) / 2, (top + bottom) / 2)
    entity = page.get_by_placeholder("entity id", exact=False).first
    entity.fill("moscow")
    entity.press("Enter")
    page.locator("button:has-text('Update')").first.click()
    page.wait_for_timeout(2000)

    report = pull(layout, studio, state, title=project_title)
    assert (report.problems, report.conflicts) == ([], [])
    doc = json.loads((layout.gold_dir / "a1.json").read_text(encoding="utf-8"))
    assert doc["mentions"][:5] == gold["mentions"] and doc["quotes"] == gold["quotes"]
    new = {m["text"]: m for m in doc["mentions"][5:]}
    who = pseudonym(label_studio.username)
    moscow, reporters = new["MOSCOW"], new["reporters"]
    assert moscow == {"id": moscow["id"], **span(TRICKY_BODY, 0, 6), "label": "GPE", "entity": "moscow",
                      "annotator": who, "origin": "human"}
    at = TRICKY_BODY.index("reporters")
    assert (reporters["start"], reporters["end"], reporters["label"]) == (at, at + len("reporters"), "PERSON")
    assert reporters["entity"] == f"e-{reporters['id']}"
    assert doc["entities"][-2:] == [{"id": "moscow", "name": "MOSCOW", "label": "GPE"},
                                    {"id": reporters["entity"], "name": "reporters", "label": "PERSON"}]
