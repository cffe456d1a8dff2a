"""Drive Label Studio's web UI as an annotator does, with Debian's chromium and playwright.

Only :mod:`tests.studio.test_browser` uses this.  The browser is the system's
``/usr/bin/chromium`` (``playwright install`` is never run: it downloads a
browser).  Every request that does not go to the local server (the UI's
analytics and error reporting) is refused, so the test needs no network and
sends nothing out.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
#: Milliseconds any single wait may take: the first page load builds the UI bundle cache on a busy machine.
WAIT_MS = 120_000
#: Milliseconds to wait for a region to appear after a drag before dragging again.
REGION_WAIT_MS = 15_000
#: The Text tag's container in Label Studio 1.23 (``<Text>`` renders each line as a span in it).
TEXT_CONTAINER = ".lsf-richtext__container"
#: The labelling area of the annotation being edited.
LABELLING_AREA = ".lsf-main-view__annotation"
#: A region's highlight span in the text.
HIGHLIGHT = f"{TEXT_CONTAINER} .htx-highlight"

#: The ids of the regions highlighted in the text (each highlight span has a class htx-highlight-<id>-<n>).
_SHOWN_REGIONS_JS = (
    "Array.from(new Set(Array.from(document.querySelectorAll(%r)).flatMap(e => Array.from(e.classList))"
    ".map(c => c.match(/^htx-highlight-(.+)-\\d+$/)).filter(m => m).map(m => m[1])))" % HIGHLIGHT
)

#: Finds ``word`` inside the first text node of the text area that holds ``context`` and returns its box.
_WORD_BOX_JS = """([container, context, word]) => {
  const root = document.querySelector(container);
  if (!root) return null;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(context);
    if (at < 0) continue;
    const start = at + context.indexOf(word);
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, start + word.length);
    const box = range.getBoundingClientRect();
    return {left: box.left, right: box.right, top: box.top, bottom: box.bottom, text: range.toString()};
  }
  return null;
}"""


def require_browser() -> Path:
    """The chromium executable; fails under ``CI=true`` and skips elsewhere when it or playwright is missing."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium; scripts/test does it when run as root)")
    if missing:
        message = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


class BrowserStepFailed(AssertionError):
    """A step in the browser failed; the message names the step and the screenshot."""


@dataclass
class Annotator:
    """One logged-in annotator's page in Label Studio."""

    page: Page
    base_url: str
    screenshot: Path

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Run a step; on any failure save a screenshot and fail with one message that names both."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            yield
        except (PlaywrightError, AssertionError) as error:
            with contextlib.suppress(PlaywrightError):
                self.page.screenshot(path=str(self.screenshot), full_page=True)
            raise BrowserStepFailed(f"{what} failed in the browser (screenshot: {self.screenshot}): {error}") from error

    def log_in(self, username: str, password: str) -> None:
        """Log in through the login form at ``/user/login/``."""
        with self.step("logging in at /user/login/"):
            self.page.goto(f"{self.base_url}/user/login/")
            self.page.fill("input[name=email]", username)
            self.page.fill("input[name=password]", password)
            self.page.get_by_role("button", name="Log in").click()
            self.page.wait_for_url(lambda url: "/user/login" not in url)

    def open_task(self, project_id: int, task_id: int) -> None:
        """Open a task in the labelling view and wait until its text is shown."""
        with self.step(f"opening task {task_id} of project {project_id}"):
            self.page.goto(f"{self.base_url}/projects/{project_id}/data?task={task_id}")
            self.page.wait_for_selector(f"{TEXT_CONTAINER} .lsf-richtext__line")

    def text_view(self) -> dict:
        """What the labelling area shows: its visible text and counts of elements that must not be there."""
        return self.page.evaluate(
            """([area, text]) => ({
                text: document.querySelector(text).innerText,
                u: document.querySelectorAll(`${area} u`).length,
                iframes: document.querySelectorAll(`${area} iframe`).length,
            })""",
            [LABELLING_AREA, TEXT_CONTAINER],
        )

    def label(self, word: str, label: str, *, context: str) -> str:
        """Label ``word`` (found inside ``context``) as an annotator does; return the new region's id.

        Escape first (no region selected, or clicking the label would relabel
        it), click the label, then drag the mouse across the word's box.  An
        empty selection is dragged once more.
        """
        with self.step(f"labelling {word!r} as {label}"):
            self.page.keyboard.press("Escape")
            self.page.locator(f"{LABELLING_AREA} .lsf-label__text").get_by_text(label, exact=True).click()
            before = set(self._region_ids())
            for _ in range(2):
                self._drag_over(word, context)
                new = self._wait_for_new_region(before)
                if new:
                    break
            else:
                raise AssertionError(f"two drags over {word!r} made no region")
            shown = self.page.evaluate(
                "id => Array.from(document.querySelectorAll(`[class*='htx-highlight-${id}-']`))"
                ".map(e => e.textContent).join('')", new)
            assert shown == word, f"the drag selected {shown!r}, not {word!r}"
            return new

    def submit(self, task_id: int) -> dict:
        """Click Submit and return the annotation the server saved (its JSON answer)."""
        with self.step("submitting the annotation"):
            path = f"/api/tasks/{task_id}/annotations"
            with self.page.expect_response(
                lambda r: urlsplit(r.url).path.rstrip("/") == path and r.request.method == "POST"
            ) as answer:
                button = self.page.get_by_test_id("bottombar-submit-button")
                assert button.inner_text().strip() == "Submit", f"the button says {button.inner_text()!r}"
                button.click()
            assert answer.value.status == 201, f"POST {path} answered {answer.value.status}"
            return answer.value.json()

    def wait_for_regions(self, region_ids: list[str]) -> None:
        """Wait until the text shows a highlight for every region in ``region_ids`` (e.g. once Submit reloads)."""
        with self.step(f"waiting for regions {region_ids} to be shown"):
            self.page.wait_for_function(f"wanted => wanted.every(id => {_SHOWN_REGIONS_JS}.includes(id))", arg=region_ids)

    def _region_ids(self) -> list[str]:
        return self.page.evaluate(f"() => {_SHOWN_REGIONS_JS}")

    def _drag_over(self, word: str, context: str) -> None:
        box = self.page.evaluate(_WORD_BOX_JS, [TEXT_CONTAINER, context, word])
        assert box is not None, f"no text node of the text area holds {context!r}"
        assert box["text"] == word and box["right"] > box["left"], f"cannot place the mouse on {word!r}: {box}"
        y = (box["top"] + box["bottom"]) / 2
        self.page.mouse.move(box["left"] + 1, y)
        self.page.mouse.down()
        self.page.mouse.move(box["right"] - 1, y, steps=8)
        self.page.mouse.up()

    def _wait_for_new_region(self, before: set[str]) -> str | None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(f"known => {_SHOWN_REGIONS_JS}.some(id => !known.includes(id))",
                                        arg=sorted(before), timeout=REGION_WAIT_MS)
        except PlaywrightTimeout:
            return None
        new = [rid for rid in self._region_ids() if rid not in before]
        return new[0] if new else None


@contextlib.contextmanager
def annotator(chromium: Path, base_url: str, screenshot: Path) -> Iterator[Annotator]:
    """A fresh headless chromium page that may talk only to ``base_url``; closed on exit."""
    from playwright.sync_api import sync_playwright

    origin = urlsplit(base_url)._replace(path="", query="", fragment="").geturl()

    def only_local(route) -> None:
        url = route.request.url
        if url == origin or url.startswith((origin + "/", "data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
            context.set_default_timeout(WAIT_MS)
            context.route("**/*", only_local)
            yield Annotator(context.new_page(), base_url, screenshot)
        finally:
            browser.close()
