"""Faults: no server, a wrong token, 5xx answers, timeouts and a connection dropped mid-pull.

Each gives a one-line error that says what to do, is retried with backoff where
that can help, and leaves every local file as it was.
"""

from __future__ import annotations


import pytest

from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError
from newscorpus.studio import config as cfg
from newscorpus.studio.sync import GOLD_MARK, Studio, pull, push

from .conftest import free_port
from .helpers import TRICKY_BODY, article, snapshot, tricky_gold, write_gold
from .proxy import FaultProxy

pytestmark = pytest.mark.studio


@pytest.fixture
def synced(label_studio, tmp_path, project_title):
    """A pushed corpus whose gold annotation was then edited in Label Studio: a pull would write."""
    layout = CorpusLayout(tmp_path / "corpus")
    articles = {"a1": article("a1", TRICKY_BODY)}
    write_gold(layout, tricky_gold("a1"))
    studio, state = label_studio.studio(), tmp_path / ".studio"
    report = push(layout, articles, studio, state, title=project_title)
    task = studio.export(report.project)[0]
    annotation = next(a for a in task["annotations"] if a["import_id"] == GOLD_MARK)
    result = [r for r in annotation["result"] if r.get("id") != "m2" and "m2" not in (r.get("from_id"), r.get("to_id"))]
    studio.sdk.annotations.update(annotation["id"], result=result)
    return layout, articles, state


def _everything(layout, state):
    return {**snapshot(layout.root), **{f".studio/{k}": v for k, v in snapshot(state).items()}}


def _one_line(error: NewscorpusError) -> str:
    message = str(error)
    assert "\n" not in message and len(message) < 300
    return message


def test_no_server_says_how_to_start_one(synced, project_title):
    layout, articles, state = synced
    before = _everything(layout, state)
    studio = Studio(f"http://127.0.0.1:{free_port()}", "x", attempts=3, backoff=0.01)
    for action in (lambda: pull(layout, studio, state, title=project_title),
                   lambda: push(layout, articles, studio, state, title=project_title)):
        with pytest.raises(NewscorpusError) as caught:
            action()
        assert "cannot reach Label Studio" in _one_line(caught.value) and "newscorpus studio serve" in str(caught.value)
    assert _everything(layout, state) == before


def test_wrong_token_is_refused_at_once(label_studio, synced, project_title):
    layout, articles, state = synced
    before = _everything(layout, state)
    with FaultProxy(label_studio.url) as proxy:
        studio = Studio(proxy.url, "not-the-token", attempts=4, backoff=0.01)
        with pytest.raises(NewscorpusError) as caught:
            pull(layout, studio, state, title=project_title)
    assert "refused the API key (401" in _one_line(caught.value) and "LABEL_STUDIO_API_KEY" in str(caught.value)
    assert len(proxy.seen) == 1  # a 401 is not retried
    assert _everything(layout, state) == before


@pytest.mark.parametrize("action", ["503", "drop"])
def test_a_pull_retries_through_passing_faults(label_studio, synced, project_title, action):
    layout, articles, state = synced
    with FaultProxy(label_studio.url) as proxy:
        proxy.fail("/export", action, times=2)
        report = pull(layout, Studio(proxy.url, label_studio.token, backoff=0.01), state, title=project_title)
    assert (report.problems, report.conflicts) == ([], [])
    assert [c.removed for c in report.changes] == [["entity kremlin", "mention m2"]]
    assert [a for _, path, a in proxy.seen if "/export" in path] == [action, action, "pass"]


@pytest.mark.parametrize("action, message", [
    ("503", "answered 503"),
    ("drop", "connection to Label Studio"),
    ("hang", "did not answer within 1 s"),
])
def test_a_failed_pull_changes_no_local_file(label_studio, synced, project_title, action, message):
    layout, articles, state = synced
    before = _everything(layout, state)
    with FaultProxy(label_studio.url, hang_seconds=3) as proxy:
        proxy.fail("/export", action, times=99)
        studio = Studio(proxy.url, label_studio.token, attempts=2, backoff=0.01, timeout=1 if action == "hang" else 60)
        with pytest.raises(NewscorpusError) as caught:
            pull(layout, studio, state, title=project_title)
    assert message in _one_line(caught.value)
    assert _everything(layout, state) == before
    # and the next pull, with the server back, writes as if nothing happened
    report = pull(layout, label_studio.studio(), state, title=project_title)
    assert [c.removed for c in report.changes] == [["entity kremlin", "mention m2"]]


def test_an_import_that_breaks_is_reconciled_not_duplicated(label_studio, tmp_path, project_title):
    layout = CorpusLayout(tmp_path / "corpus")
    articles = {f"a{i}": article(f"a{i}", f"Body {i} \U0001F600") for i in range(5)}
    state = tmp_path / ".studio"
    with FaultProxy(label_studio.url) as proxy:
        proxy.fail("/import", "drop", times=1)  # the server imports, the answer is lost
        studio = Studio(proxy.url, label_studio.token, backoff=0.01)
        with pytest.raises(NewscorpusError) as caught:
            push(layout, articles, studio, state, title=project_title)
        assert "safe to repeat" in _one_line(caught.value)
        again = push(layout, articles, studio, state, title=project_title)
    assert again.problems == [] and again.created == []
    tasks = label_studio.studio().export(again.project)
    assert sorted(t["data"]["article_id"] for t in tasks) == sorted(articles)


def test_invalid_labels_in_label_studio_stop_the_pull_before_writing(label_studio, synced, project_title):
    layout, articles, state = synced
    studio = label_studio.studio()
    project = studio.find_project(project_title)
    task = studio.export(project["id"])[0]
    studio.sdk.annotations.create(task["id"], result=[{
        "id": "qq", "from_name": cfg.QUOTE_PART, "to_name": "text", "type": "labels",
        "value": {"start": 0, "end": 6, "labels": ["Quote"]}}])
    before = _everything(layout, state)
    report = pull(layout, studio, state, title=project_title)
    # both the gold document and the annotator's own set would be made from it: both are reported
    assert not report.written and [p.code for p in report.problems] == ["studio-result-invalid"] * 2
    assert all("quote qq needs exactly one quote type" in p.message for p in report.problems)
    assert _everything(layout, state) == before
