"""Annotate in Label Studio: serve a local server, push the corpus to it, pull the labels back.

examples:
  newscorpus studio serve              # start Label Studio on http://127.0.0.1:8080
  newscorpus studio push               # one task per article, gold labels included
  newscorpus studio pull               # labels back into corpus/annotations/
  newscorpus studio pull --on-conflict beside
  newscorpus studio stop

LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY point push and pull at another server.
See docs/studio.md for the gold rule and what happens on conflicts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError, UsageError
from newscorpus.report import render
from newscorpus.studio import server
from newscorpus.studio.sync import DEFAULT_TITLE, Studio, pull, push


def register(parser: argparse.ArgumentParser) -> None:
    """Add the serve/stop/status/push/pull sub-subcommands."""
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus directory (default: corpus)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    serve = sub.add_parser("serve", help="start the local Label Studio (idempotent) and print how to log in",
                           description="Start Label Studio on 127.0.0.1 with its data in .studio/.\n\n"
                                       "example: newscorpus studio serve --port 8080",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--port", type=int, default=server.DEFAULT_PORT, help="port (default: 8080)")
    serve.add_argument("--timeout", type=float, default=server.START_TIMEOUT, help="seconds to wait for /health")

    sub.add_parser("stop", help="stop the local Label Studio", description="example: newscorpus studio stop")
    sub.add_parser("status", help="say whether the local Label Studio runs, and where",
                   description="example: newscorpus studio status")

    for name, text in (
        ("push", "create or update the project: one task per article, gold as annotations, model items as predictions\n\n"
                 "example: newscorpus studio push --project newscorpus"),
        ("pull", "export all tasks and write gold and per-annotator documents, validated, atomically\n\n"
                 "example: newscorpus studio pull --on-conflict beside"),
    ):
        command = sub.add_parser(name, help=text.split("\n")[0], description=text,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_argument("--project", default=DEFAULT_TITLE, help=f"project title (default: {DEFAULT_TITLE})")
        command.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for one request (default: 300)")
        command.add_argument("--format", choices=("text", "json", "github"), default="text", help="problem report format")
        if name == "push":
            command.add_argument("--replace-changed", action="store_true",
                                 help="replace tasks of articles whose body changed (only when nothing in them is unpulled)")
        else:
            command.add_argument("--on-conflict", choices=("stop", "beside"), default="stop",
                                 help="when a file changed here and in Label Studio: stop (default) or write "
                                      "Label Studio's side beside it as <id>.json.studio")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action."""
    layout = CorpusLayout(args.corpus)
    directory = server.studio_dir(layout)
    return {"serve": _serve, "stop": _stop, "status": _status, "push": _push, "pull": _pull}[args.action](args, layout, directory)


def _serve(args, layout, directory) -> int:
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a port")
    found = server.serve(directory, port=args.port, timeout=args.timeout)
    print(f"Label Studio {'started' if found.started else 'is already running'} at {found.url} (pid {found.pid})")
    print(f"log in as {found.username}; the password is in {found.credentials} (readable only by you)")
    print("then: newscorpus studio push")
    return 0


def _stop(args, layout, directory) -> int:
    print("Label Studio stopped" if server.stop(directory) else "Label Studio was not running")
    return 0


def _status(args, layout, directory) -> int:
    found = server.status(directory)
    if found is None:
        print("Label Studio is not running (start it with `newscorpus studio serve`)")
        return 1
    health = "answers /health" if server.healthy(found.url) else "does not answer /health yet"
    print(f"Label Studio runs at {found.url} (pid {found.pid}) and {health}; log in as {found.username}")
    return 0


def _studio(args, directory) -> Studio:
    target = server.endpoint(directory)
    return Studio(target.url, target.api_key, timeout=args.timeout)


def _articles(layout: CorpusLayout) -> dict[str, dict]:
    from newscorpus.corpus import convert_corpus

    try:
        articles, problems = convert_corpus(layout)
    except ImportError as error:
        raise NewscorpusError(f"the converter is not installed in this checkout ({error})") from error
    if not articles:
        raise NewscorpusError(f"no articles in {layout.root}: check {layout.manifest}")
    return articles


def _push(args, layout, directory) -> int:
    articles = _articles(layout)
    report = push(layout, articles, _studio(args, directory), directory, title=args.project,
                  replace_changed=args.replace_changed)
    print(f"project {args.project!r} (id {report.project}): {len(report.created)} task(s) created, "
          f"{len(report.replaced)} replaced, {len(report.updated)} gold annotation(s) updated, {report.unchanged} unchanged")
    if report.problems:
        sys.stdout.write(render(report.problems, args.format))
        return 1
    return 0


def _pull(args, layout, directory) -> int:
    report = pull(layout, _studio(args, directory), directory, title=args.project, on_conflict=args.on_conflict)
    if report.problems or (report.conflicts and not report.written):
        sys.stdout.write(render(report.problems + report.conflicts, args.format))
        print(f"nothing written: {len(report.problems)} problem(s), {len(report.conflicts)} conflict(s)"
              + ("; re-run with --on-conflict beside to write Label Studio's side beside each file" if report.conflicts else ""))
        return 1
    for change in report.changes:
        what = ", ".join(f"{label} {', '.join(ids)}" for label, ids in
                         (("added", change.added), ("changed", change.changed), ("removed", change.removed)) if ids)
        print(f"{change.file}: {what or 'rewritten'}" + (" (Label Studio side of a conflict)" if change.beside else ""))
    print(f"pulled {report.tasks} task(s): {len(report.changes)} file(s) written"
          + (f", {len(report.conflicts)} conflict(s) written beside" if report.conflicts else ""))
    return 1 if report.conflicts else 0
