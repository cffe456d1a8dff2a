"""Push annotation documents to Label Studio and pull them back, over HTTP with the SDK.

**Push** makes one task per article (``data.article_id``), with the article's
gold document as an annotation (so annotators see it and can correct it) and
its model-made items as predictions.  The gold annotation is marked with
``import_id`` = :data:`GOLD_MARK`, so pull can tell it from annotations made
in Label Studio.  Pushing twice creates nothing new; a gold document changed
locally updates its annotation, unless that annotation was also changed in
Label Studio (a conflict: pull first).  An article whose body changed since it
was pushed is never mixed with the old labels: push stops, or with
``replace_changed`` replaces the task when Label Studio holds nothing
unpulled for it.

**Pull** reads the raw JSON export of all tasks (the only lossless export),
ignores cancelled annotations and writes, per task:

* ``annotations/gold/<id>.json`` from the **gold annotation**: among the
  non-cancelled annotations, those a reviewer marked as ground truth if any,
  else all; of these, the most recently updated (ties: the higher id).  The
  ground-truth flag is set to false on annotations push makes, so only a
  person sets it;
* ``annotations/annotators/<pseudonym>/<id>.json`` from each person's most
  recent annotation made in Label Studio (not the pushed gold), for
  ``newscorpus agreement``.

Annotators appear only as pseudonyms ``ann-`` + 8 hex digits of an HMAC of
their e-mail address (key: ``NEWSCORPUS_PSEUDONYM_KEY`` if set, else a fixed
one), stable across servers.  Every document is validated before anything is
written; files are written atomically.

**Sync state** (``.studio/sync/*.json``, per project: title, id and creation time) records for
each article its task and body hash, and for each file the SHA-256 of its
bytes and the signature of the Label Studio annotation at the last sync: the
merge base.  If a file changed locally *and* its annotation changed in Label
Studio since then, pull writes nothing and says so, or (``on_conflict =
"beside"``) writes the Label Studio side beside it as ``<id>.json.studio``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError
from newscorpus.jsonio import dumps, load_json, parse_json, write_text_atomic
from newscorpus.problems import Problem
from newscorpus.spans import body_sha256
from newscorpus.studio import tasks as conv
from newscorpus.studio.server import redacted_text, redacted_url
from newscorpus.studio.config import labeling_config

#: ``import_id`` of the gold annotations push makes (digits of "newscorpus" in a phone keypad).
GOLD_MARK = 6397267787
#: Default project title.
DEFAULT_TITLE = "newscorpus"
#: Tasks per import request (the server commits in batches of 500).
IMPORT_BATCH = 1000
#: Suffix of the Label Studio side written beside a conflicting file.
CONFLICT_SUFFIX = ".studio"

_RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def pseudonym(email: str) -> str:
    """The pseudonymous annotator id of a Label Studio user, from the e-mail address.

    >>> pseudonym("Ann@Example.org") == pseudonym("ann@example.org")
    True
    """
    key = os.environ.get("NEWSCORPUS_PSEUDONYM_KEY", "newscorpus-annotator").encode("utf-8")
    return "ann-" + hmac.new(key, email.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()[:8]


# --------------------------------------------------------------------------- the server


class Studio:
    """One Label Studio server through the SDK: retries with backoff, one-line errors.

    Messages show the URL as :attr:`shown`: without the password it may hold.

    GET requests (and connection failures, where nothing reached the server)
    are retried ``attempts`` times with exponential backoff; requests that
    change data are not blindly repeated: push reconciles with the server
    instead (see :func:`push`).
    """

    def __init__(self, url: str, api_key: str, *, timeout: float = 120.0, attempts: int = 4,
                 backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self.url = url.rstrip("/")
        self.shown = redacted_url(self.url)
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.sdk = LabelStudio(base_url=self.url, api_key=api_key, timeout=timeout)
        self._options = {"max_retries": 0, "timeout_in_seconds": int(timeout)}

    def call(self, what: str, fn: Callable[..., Any], *args: Any, idempotent: bool = True, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with retries; failures become a :class:`NewscorpusError` saying what to do."""
        for attempt in range(1, self.attempts + 1):
            try:
                return fn(*args, request_options=self._options, **kwargs)
            except httpx.ConnectError as error:
                failure = error
                if attempt == self.attempts:
                    raise NewscorpusError(
                        f"cannot reach Label Studio at {self.shown} ({what}): start it with `newscorpus studio serve`, "
                        "or point LABEL_STUDIO_URL at a running one"
                    ) from error
            except httpx.TimeoutException as error:
                failure = error
                if not idempotent or attempt == self.attempts:
                    raise NewscorpusError(
                        f"Label Studio at {self.shown} did not answer within {self.timeout:.0f} s ({what}); "
                        "run the command again (push and pull are safe to repeat), or raise --timeout for large projects"
                    ) from error
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
                failure = error
                if not idempotent or attempt == self.attempts:
                    raise NewscorpusError(
                        f"the connection to Label Studio at {self.shown} broke ({what}): check that the server runs, "
                        "then run the command again (push and pull are safe to repeat)"
                    ) from error
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
                raise NewscorpusError(
                    f"cannot send requests to {self.shown!r} ({what}): {self._reason(error)}; write the URL as "
                    "http://HOST:PORT, e.g. http://127.0.0.1:8080"
                ) from error
            except httpx.TransportError as error:  # (a proxy's refusal, a TLS failure, a too-long name, ...)
                raise NewscorpusError(
                    f"cannot talk to Label Studio at {self.shown} ({what}): {self._reason(error)}"
                ) from error
            except ApiError as error:
                failure = error
                status = error.status_code or 0
                if status in (401, 403):
                    raise NewscorpusError(
                        f"Label Studio at {self.shown} refused the API key ({status}, {what}): check LABEL_STUDIO_API_KEY "
                        "or the token in .studio/credentials.json"
                    ) from error
                if status not in _RETRYABLE_STATUS or not idempotent or attempt == self.attempts:
                    raise NewscorpusError(
                        f"Label Studio at {self.shown} answered {status} ({what}): {redacted_text(_detail(error), self.url)}"
                        + ("; try again later or see the server log" if status >= 500 else "")
                    ) from error
            self.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError(f"unreachable: {redacted_text(repr(failure), self.url)}")

    def _reason(self, error: Exception) -> str:
        """What ``error`` says, on one line, without the URL's password."""
        return redacted_text(" ".join(str(error).split()).rstrip("."), self.url) or type(error).__name__

    # -- projects

    def find_project(self, title: str) -> dict | None:
        """The project with this title (the lowest id if several), or None."""
        found = []
        for page in range(1, 10_000):
            batch = self.call("list projects", self.sdk.projects.list, title=title, page=page, page_size=100)
            items = list(batch.items or [])
            found += [p for p in items if p.title == title]
            if len(items) < 100:
                break
        if not found:
            return None
        project = min(found, key=lambda p: p.id)
        return {"id": project.id, "label_config": project.label_config, "task_number": project.task_number,
                "key": _project_key(project)}

    def ensure_project(self, title: str) -> dict:
        """The project with this title, created (or its labeling config updated) to match :func:`labeling_config`."""
        project = self.find_project(title)
        config = labeling_config()
        if project is None:
            made = self.call("create project", self.sdk.projects.create, idempotent=False, title=title,
                             description="newscorpus annotation project (created by `newscorpus studio push`)",
                             label_config=config)
            return {"id": made.id, "label_config": config, "task_number": 0, "key": _project_key(made)}
        if (project["label_config"] or "").strip() != config.strip():
            self.call("update the labeling config", self.sdk.projects.update, project["id"], label_config=config)
            project["label_config"] = config
        return project

    def task_count(self, project_id: int) -> int:
        """How many tasks the project holds."""
        return int(self.call("read project", self.sdk.projects.get, project_id).task_number or 0)

    # -- tasks and annotations

    def import_tasks(self, project_id: int, payload: list[dict]) -> list[int]:
        """Import tasks in one request; the new task ids, in order."""
        response = self.call("import tasks", self.sdk.projects.import_tasks, project_id, idempotent=False,
                             request=payload, return_task_ids=True)
        ids = list(response.task_ids or [])
        if len(ids) != len(payload):
            raise NewscorpusError(f"Label Studio made {len(ids)} tasks of {len(payload)}; run push again to reconcile")
        return ids

    def export(self, project_id: int) -> list[dict]:
        """The raw JSON export of every task (annotated or not), streamed to a temporary file and parsed.

        A connection that breaks mid-export, or an export that is not whole
        JSON, is retried like any GET.
        """
        def download(request_options: dict) -> list[dict]:
            with tempfile.TemporaryFile() as spool:
                for chunk in self.sdk.projects.exports.download_sync(
                    project_id, export_type="JSON", download_all_tasks=True, request_options=request_options
                ):
                    spool.write(chunk)
                spool.seek(0)
                try:
                    data = json.loads(spool.read().decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as error:
                    raise httpx.RemoteProtocolError(f"export is not whole JSON: {error}") from error
            if not isinstance(data, list):
                raise NewscorpusError(f"Label Studio at {self.shown} exported {type(data).__name__}, not a task list")
            return data

        return self.call("export tasks", download)

    def users(self) -> dict[int, str]:
        """User id -> e-mail address."""
        return {u.id: u.email or u.username or f"user-{u.id}" for u in self.call("list users", self.sdk.users.list)}

    def annotations(self, task_id: int) -> list[dict]:
        """The annotations of one task, as plain dicts."""
        return [a.model_dump() for a in self.call("read annotations", self.sdk.annotations.list, task_id)]

    def update_annotation(self, annotation_id: int, result: list[dict]) -> None:
        """Replace an annotation's result."""
        self.call("update annotation", self.sdk.annotations.update, annotation_id, result=result)

    def create_gold(self, task_id: int, result: list[dict]) -> int:
        """Add a pushed gold annotation to an existing task; its id."""
        made = self.call("create annotation", self.sdk.annotations.create, task_id, idempotent=False,
                         result=result, ground_truth=False, import_id=GOLD_MARK)
        return int(made.id)

    def delete_task(self, task_id: int) -> None:
        """Delete one task (with its annotations)."""
        self.call("delete task", self.sdk.tasks.delete, str(task_id))


def _project_key(project: Any) -> str:
    """What identifies a project across URLs (a proxy, another host name): its id and creation time."""
    created = project.created_at.isoformat() if hasattr(project.created_at, "isoformat") else str(project.created_at)
    return f"{project.id}@{created}"


def _detail(error: ApiError) -> str:
    body = error.body
    if isinstance(body, dict):
        text = body.get("validation_errors") or body.get("detail") or body
    else:
        text = body
    text = " ".join(str(text).split())
    return text[:200] if text else "no detail"


# --------------------------------------------------------------------------- sync state


@dataclass
class SyncState:
    """The merge base: what Label Studio and the corpus held at the last push or pull."""

    path: Path
    url: str
    title: str
    project: str | None = None
    articles: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, studio_dir: Path, url: str, title: str) -> "SyncState":
        """The state for this project title (empty if none or unreadable); ``url`` is kept for people to read."""
        key = sha256_bytes(title.encode("utf-8"))[:16]
        path = studio_dir / "sync" / f"{key}.json"
        state = cls(path, url, title)
        if path.exists():
            value, _, problems = load_json(path)
            if not problems and isinstance(value, dict) and value.get("title") == title:
                state.project = value.get("project")
                state.articles = value.get("articles") or {}
        return state

    def save(self) -> None:
        """Write the state atomically."""
        write_text_atomic(self.path, json.dumps(
            {"url": redacted_url(self.url.rstrip("/")), "title": self.title, "project": self.project, "articles": self.articles},
            ensure_ascii=False, separators=(",", ":"), sort_keys=True,
        ) + "\n", mode=0o600)

    def reset(self, project: str) -> None:
        """Forget everything: the project is a new one."""
        self.project = project
        self.articles = {}

    def file(self, article_id: str, key: str) -> dict | None:
        """The base of one file (``gold`` or ``annotators/<pseudonym>``)."""
        return self.articles.get(article_id, {}).get("files", {}).get(key)

    def set_file(self, article_id: str, key: str, local: bytes | None, remote: str | None, **extra: Any) -> None:
        """Record one file's base."""
        entry = self.articles.setdefault(article_id, {})
        entry.setdefault("files", {})[key] = {
            "local": sha256_bytes(local) if local is not None else None, "remote": remote, **extra,
        }


# --------------------------------------------------------------------------- reports


@dataclass
class PushReport:
    """What a push did."""

    project: int
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass
class FileChange:
    """How one annotation file changed in a pull: item ids added, changed and removed."""

    file: str
    added: list[str]
    changed: list[str]
    removed: list[str]
    beside: bool = False


@dataclass
class PullReport:
    """What a pull did (or, with problems or conflicts, would have done: then nothing was written)."""

    project: int
    tasks: int = 0
    changes: list[FileChange] = field(default_factory=list)
    conflicts: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    written: bool = False


# --------------------------------------------------------------------------- push


def _load_doc(path: Path, file: str) -> tuple[dict | None, bytes | None, list[Problem]]:
    if not path.exists():
        return None, None, []
    raw = path.read_bytes()
    value, _, problems = load_json(path, file)
    return (value if isinstance(value, dict) else None), raw, problems


def _gold_annotation(results: list[dict]) -> dict:
    return {"id": GOLD_MARK, "result": results, "ground_truth": False}


def _task_payload(article: dict, gold: dict | None) -> tuple[dict, str | None]:
    body = article["body"]["text"]
    payload: dict[str, Any] = {"data": conv.task_data(article)}
    signature = None
    if gold is not None:
        results = conv.document_results(gold, body)
        payload["annotations"] = [_gold_annotation(results)]
        signature = conv.results_signature(results)
        predictions = conv.document_predictions(gold, body)
        if predictions:
            payload["predictions"] = predictions
    return payload, signature


def _remote_index(studio: Studio, project_id: int) -> dict[str, dict]:
    """article id -> {task, body, gold annotations} read from the server itself."""
    index: dict[str, dict] = {}
    for task in studio.export(project_id):
        data = task.get("data") or {}
        article_id = data.get("article_id")
        if not isinstance(article_id, str) or article_id in index:
            continue
        index[article_id] = {
            "task": task["id"],
            "body": body_sha256(data.get("text") or ""),
            "annotations": task.get("annotations") or [],
        }
    return index


def push(layout: CorpusLayout, articles: dict[str, dict], studio: Studio, studio_dir: Path, *,
         title: str = DEFAULT_TITLE, replace_changed: bool = False) -> PushReport:
    """Create or update the project so that it holds one task per article with its gold labels.

    Problems (unreadable or invalid gold documents, stale gold, bodies changed
    since they were pushed, conflicts) are reported, and their articles left
    alone; everything else is pushed.
    """
    project = studio.ensure_project(title)
    state = SyncState.load(studio_dir, studio.shown, title)
    if state.project != project["key"]:
        state.reset(project["key"])
    report = PushReport(project["id"])

    golds: dict[str, tuple[dict, bytes]] = {}
    for path in layout.gold_files():
        file = layout.rel(path)
        doc, raw, problems = _load_doc(path, file)
        article = articles.get(path.stem)
        if article is None:
            report.problems.append(Problem("article-unknown", file, "", f"no article {path.stem} in the corpus; not pushed"))
            continue
        if doc is not None and not problems:
            problems = conv.document_problems(doc, file, article["body"]["text"])
        if problems:
            report.problems.extend(problems)
            continue
        golds[path.stem] = (doc, raw)

    known = {aid: entry for aid, entry in state.articles.items() if "task" in entry}
    if project["task_number"] != len(known) or any(e.get("task") is None for e in known.values()):
        remote = _remote_index(studio, project["id"])
        _adopt(state, remote, layout)
        known = {aid: state.articles[aid] for aid in remote}

    broken_gold = _gold_problem_ids(report, layout)

    def creations() -> Iterator[tuple[str, dict, str | None, bytes | None]]:
        """Tasks to make, built as they are needed; updates of existing tasks happen on the way."""
        for article_id in sorted(articles):
            if article_id in broken_gold:
                continue  # reported; pushing the article without its gold would hide the gold from annotators
            article = articles[article_id]
            gold = golds.get(article_id)
            entry = known.get(article_id)
            if entry is None:
                payload, signature = _task_payload(article, gold[0] if gold else None)
                yield article_id, payload, signature, gold[1] if gold else None
            elif entry.get("body") != body_sha256(article["body"]["text"]):
                if _changed_body(studio, state, report, layout, article_id, gold, replace_changed):
                    payload, signature = _task_payload(article, gold[0] if gold else None)
                    yield article_id, payload, signature, gold[1] if gold else None
            elif gold is not None:
                _update_gold(studio, state, report, layout, article_id, article, gold)
            else:
                report.unchanged += 1

    def record(batch: list, task_ids: list[int]) -> None:
        for (article_id, payload, signature, raw), task_id in zip(batch, task_ids):
            state.articles[article_id] = {"task": task_id, "body": payload["data"]["body_sha256"], "files": {}}
            if signature is not None:
                state.set_file(article_id, "gold", raw, signature)
            if article_id not in report.replaced:
                report.created.append(article_id)
        state.save()

    # One import in flight while the next batch is built: the server works while this process converts.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newscorpus-import") as uploader:
        in_flight: tuple[list, Future] | None = None
        for batch in _batches(creations(), IMPORT_BATCH):
            future = uploader.submit(studio.import_tasks, project["id"], [payload for _, payload, _, _ in batch])
            if in_flight is not None:
                record(in_flight[0], in_flight[1].result())
            in_flight = (batch, future)
        if in_flight is not None:
            record(in_flight[0], in_flight[1].result())
    state.save()
    return report


def _batches(items: Iterable, size: int) -> Iterator[list]:
    """Lists of up to ``size`` consecutive items."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _gold_problem_ids(report: PushReport, layout: CorpusLayout) -> set[str]:
    return {Path(p.file).stem for p in report.problems if p.file.startswith(layout.rel(layout.gold_dir))}


def _adopt(state: SyncState, remote: dict[str, dict], layout: CorpusLayout) -> None:
    """Take the server's tasks as known: keep file bases of tasks that are still there."""
    for article_id in list(state.articles):
        if article_id not in remote:
            del state.articles[article_id]
    for article_id, info in remote.items():
        entry = state.articles.setdefault(article_id, {"files": {}})
        if entry.get("task") != info["task"]:
            entry["files"] = {}
        entry["task"] = info["task"]
        entry["body"] = info["body"]
        if "gold" not in entry["files"]:
            pushed = [a for a in info["annotations"] if a.get("import_id") == GOLD_MARK and not a.get("was_cancelled")]
            gold_path = layout.gold_dir / f"{article_id}.json"
            if pushed and gold_path.exists():
                results = pushed[0].get("result") or []
                doc = parse_json(gold_path.read_text(encoding="utf-8"), "")[0]
                if isinstance(doc, dict) and _usable(doc, article_id) and conv.results_signature(results) == _sig_of(doc):
                    state.set_file(article_id, "gold", gold_path.read_bytes(), conv.results_signature(results))


def _sig_of(doc: dict) -> str:
    """Signature of the results a document pushes (display text does not count, so the body is not needed)."""
    return conv.results_signature(conv.document_results(doc, ""))


def _changed_body(studio, state, report, layout, article_id, gold, replace_changed) -> bool:
    """Handle an article whose body changed since it was pushed; True when its task was deleted to be made anew."""
    entry = state.articles[article_id]
    file = layout.rel(layout.gold_dir / f"{article_id}.json")
    if not replace_changed:
        report.problems.append(Problem(
            "studio-body-changed", file, "",
            f"article {article_id} changed since its task {entry['task']} was pushed; run `newscorpus studio pull` "
            "to keep its labels, then `newscorpus studio push --replace-changed`",
        ))
        return False
    bases = {f.get("remote") for f in entry.get("files", {}).values()}
    unpulled = [
        annotation["id"] for annotation in studio.annotations(entry["task"])
        if not annotation.get("was_cancelled") and conv.results_signature(annotation.get("result") or []) not in bases
    ]
    if unpulled:
        report.problems.append(Problem(
            "studio-body-changed", file, "",
            f"article {article_id} changed since it was pushed and task {entry['task']} holds annotations not yet "
            f"pulled ({', '.join(map(str, unpulled))}); run `newscorpus studio pull` first",
        ))
        return False
    studio.delete_task(entry["task"])
    del state.articles[article_id]
    state.save()
    report.replaced.append(article_id)
    return True


def _update_gold(studio, state, report, layout, article_id, article, gold) -> None:
    doc, raw = gold
    base = state.file(article_id, "gold")
    if base is not None and base.get("local") == sha256_bytes(raw):
        report.unchanged += 1
        return
    body = article["body"]["text"]
    results = conv.document_results(doc, body)
    signature = conv.results_signature(results)
    task_id = state.articles[article_id]["task"]
    pushed = [a for a in studio.annotations(task_id)
              if not a.get("was_cancelled") and (a.get("import_id") == GOLD_MARK or (base and a.get("id") == base.get("annotation")))]
    file = layout.rel(layout.gold_dir / f"{article_id}.json")
    if not pushed:
        annotation_id = studio.create_gold(task_id, results)
        state.set_file(article_id, "gold", raw, signature, annotation=annotation_id)
        report.updated.append(article_id)
        return
    current = pushed[0]
    current_sig = conv.results_signature(current.get("result") or [])
    if current_sig == signature:
        state.set_file(article_id, "gold", raw, signature)
        report.unchanged += 1
        return
    if base is None or current_sig != base.get("remote"):
        report.problems.append(Problem(
            "studio-conflict", file, "",
            f"{file} changed locally and its annotation {current['id']} changed in Label Studio; "
            "run `newscorpus studio pull --on-conflict beside`, merge, then push",
        ))
        return
    studio.update_annotation(current["id"], results)
    state.set_file(article_id, "gold", raw, signature)
    report.updated.append(article_id)


# --------------------------------------------------------------------------- pull


def choose_gold(annotations: Iterable[dict]) -> dict | None:
    """The annotation that becomes gold: ground truth if any, else any; the most recently updated.

    Cancelled annotations never count.
    """
    live = [a for a in annotations if not a.get("was_cancelled")]
    flagged = [a for a in live if a.get("ground_truth") and a.get("import_id") != GOLD_MARK]
    pool = flagged or live
    if not pool:
        return None
    return max(pool, key=lambda a: (a.get("updated_at") or a.get("created_at") or "", a.get("id") or 0))


def _user_id(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, int) else None


def annotator_sets(annotations: Iterable[dict], users: dict[int, str]) -> dict[str, dict]:
    """Pseudonym -> that person's most recent non-cancelled annotation made in Label Studio."""
    latest: dict[str, dict] = {}
    for annotation in annotations:
        if annotation.get("was_cancelled") or annotation.get("import_id") == GOLD_MARK:
            continue
        who = _pseudonym_of(_user_id(annotation.get("completed_by")), users)
        best = latest.get(who)
        key = (annotation.get("updated_at") or "", annotation.get("id") or 0)
        if best is None or key > (best.get("updated_at") or "", best.get("id") or 0):
            latest[who] = annotation
    return latest


def _pseudonym_of(user_id: int | None, users: dict[int, str]) -> str:
    if user_id is None:
        return pseudonym("unknown-user")
    return pseudonym(users.get(user_id, f"user-{user_id}"))


def _item_ids(doc: dict | None) -> dict[str, str]:
    if not doc:
        return {}
    return {
        f"{kind} {item['id']}": json.dumps(item, sort_keys=True, ensure_ascii=False)
        for key, kind in (("entities", "entity"), ("mentions", "mention"), ("quotes", "quote")) for item in doc.get(key, []) if isinstance(item, dict) and "id" in item
    }


def _change(file: str, old: dict | None, new: dict, beside: bool = False) -> FileChange:
    before, after = _item_ids(old), _item_ids(new)
    return FileChange(
        file,
        added=sorted(k for k in after if k not in before),
        changed=sorted(k for k in after if k in before and before[k] != after[k]),
        removed=sorted(k for k in before if k not in after),
        beside=beside,
    )


@dataclass
class _Planned:
    article_id: str
    key: str
    path: Path
    doc: dict
    text: str
    signature: str
    old: dict | None
    beside: bool = False


def pull(layout: CorpusLayout, studio: Studio, studio_dir: Path, *, title: str = DEFAULT_TITLE,
         on_conflict: str = "stop") -> PullReport:
    """Bring every task's annotations back as annotation documents (see the module docs for the rules).

    Nothing is written unless every document is valid and, with
    ``on_conflict="stop"``, no file changed on both sides.
    """
    if on_conflict not in ("stop", "beside"):
        raise ValueError(f"on_conflict must be 'stop' or 'beside', not {on_conflict!r}")
    project = studio.find_project(title)
    if project is None:
        raise NewscorpusError(f"Label Studio at {studio.shown} has no project {title!r}; run `newscorpus studio push` first")
    exported = studio.export(project["id"])
    users = studio.users()
    state = SyncState.load(studio_dir, studio.shown, title)
    if state.project != project["key"]:
        state.reset(project["key"])
    report = PullReport(project["id"], tasks=len(exported))
    planned: list[_Planned] = []
    gold_rel, annotators_rel = layout.rel(layout.gold_dir), layout.rel(layout.annotators_dir)
    unchanged_bases: list[tuple[str, str, bytes | None, str]] = []

    for task in exported:
        data = task.get("data") or {}
        article_id, body = data.get("article_id"), data.get("text")
        if not isinstance(article_id, str) or not conv.ID_RE.match(article_id) or not isinstance(body, str):
            report.problems.append(Problem("studio-result-invalid", f"task {task.get('id')}", "",
                                           "task has no valid data.article_id and data.text; not pulled"))
            continue
        entry = state.articles.setdefault(article_id, {"files": {}})
        entry["task"], entry["body"] = task.get("id"), body_sha256(body)
        annotations = task.get("annotations") or []
        gold_path = layout.gold_dir / f"{article_id}.json"
        outputs: list[tuple[str, Path, str, dict]] = []
        gold = choose_gold(annotations)
        if gold is not None:
            outputs.append(("gold", gold_path, f"{gold_rel}/{article_id}.json", gold))
        for who, annotation in sorted(annotator_sets(annotations, users).items()):
            outputs.append((f"annotators/{who}", layout.annotators_dir / who / f"{article_id}.json",
                            f"{annotators_rel}/{who}/{article_id}.json", annotation))

        local_gold: tuple | None = None
        for key, path, file, annotation in outputs:
            results = annotation.get("result") or []
            signature = conv.results_signature(results)
            base = state.file(article_id, key)
            if base is not None and base.get("remote") == signature:
                continue  # Label Studio unchanged since the last sync: the local file is the newer side
            if local_gold is None:  # read only when some file of the task is to be made
                local_gold = _load_doc(gold_path, f"{gold_rel}/{article_id}.json")
            local, raw, _ = local_gold if key == "gold" else _load_doc(path, file)
            if base is None and _same_as_local(local, article_id, body, signature):
                unchanged_bases.append((article_id, key, raw, signature))
                continue  # no merge base (a fresh clone): the file already says what Label Studio says
            known = {e["id"]: e for e in (local_gold[0] or {}).get("entities", []) if isinstance(e, dict) and "id" in e}
            owner = _user_id(annotation.get("completed_by"))
            pushed = annotation.get("import_id") == GOLD_MARK
            author_id = (_user_id(annotation.get("updated_by")) or owner) if pushed else owner
            conversion = conv.annotation_document(
                results, body=body, article_id=article_id, author=_pseudonym_of(author_id, users),
                reference=local if _usable(local, article_id) else None, known_entities=known, file=file,
            )
            report.problems.extend(conversion.problems)
            if conversion.doc is None:
                continue
            text = dumps(conversion.doc)
            if raw is not None and raw == text.encode("utf-8"):
                unchanged_bases.append((article_id, key, raw, signature))
                continue
            local_changed = raw is not None and (base is None or base.get("local") != sha256_bytes(raw))
            if local_changed:
                report.conflicts.append(Problem(
                    "studio-conflict", file, "",
                    f"{file} changed here and in Label Studio since the last sync",
                ))
                if on_conflict == "stop":
                    continue
            planned.append(_Planned(article_id, key, path, conversion.doc, text, signature, local, beside=local_changed))

    bodies = {(t.get("data") or {}).get("article_id"): (t.get("data") or {}).get("text") for t in exported}
    for item in planned:
        report.problems.extend(conv.document_problems(item.doc, layout.rel(item.path), bodies.get(item.article_id)))
    if report.problems or (report.conflicts and on_conflict == "stop"):
        return report

    for item in planned:
        target = item.path.with_name(item.path.name + CONFLICT_SUFFIX) if item.beside else item.path
        write_text_atomic(target, item.text)
        report.changes.append(_change(layout.rel(target), item.old, item.doc, beside=item.beside))
        if item.beside:
            base = state.file(item.article_id, item.key) or {}
            state.articles[item.article_id]["files"][item.key] = {**base, "remote": item.signature}
        else:
            state.set_file(item.article_id, item.key, item.text.encode("utf-8"), item.signature)
    for article_id, key, raw, signature in unchanged_bases:
        state.set_file(article_id, key, raw, signature)
    state.save()
    report.written = True
    return report


def _same_as_local(local: dict | None, article_id: str, body: str, signature: str) -> bool:
    """Whether converting results of this signature with ``local`` as reference would give ``local`` back.

    Equal signatures mean equal Label Studio content, so every item is kept
    as it is; only the body hash could still differ.
    """
    if not _usable(local, article_id) or local["article"].get("bodySha256") != body_sha256(body):
        return False
    try:
        return _sig_of(local) == signature
    except (KeyError, TypeError, ValueError, IndexError):
        return False


def _usable(doc: dict | None, article_id: str) -> bool:
    """Whether a local document can serve as the reference for items kept as they are."""
    if not isinstance(doc, dict):
        return False
    try:
        return doc["article"]["id"] == article_id and all(
            isinstance(item, dict) and "id" in item for key in ("entities", "mentions", "quotes") for item in doc[key]
        )
    except (KeyError, TypeError):
        return False
