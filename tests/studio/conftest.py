"""A real Label Studio server for the studio tests, started once per session.

The server is started the way users start it (``newscorpus.studio.server.serve``:
``label-studio start`` on 127.0.0.1, credentials by environment).  With
``CI=true`` a server that cannot start fails the session; it is never skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from newscorpus.errors import NewscorpusError
from newscorpus.studio import server
from newscorpus.studio.sync import Studio


@dataclass
class LiveServer:
    """The session's Label Studio."""

    url: str
    token: str
    directory: Path
    username: str
    password: str

    def studio(self, **options) -> Studio:
        """A client with fast retries (tests need no real backoff)."""
        options.setdefault("backoff", 0.01)
        options.setdefault("timeout", 60.0)
        return Studio(self.url, self.token, **options)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory) -> LiveServer:
    """Start Label Studio for the session (first boot ~1 min); stop it at the end."""
    installed = (Path(sys.executable).parent / "label-studio").exists() or shutil.which("label-studio")
    if not installed:
        message = "the label-studio package is not installed (pip install 'newscorpus[studio]')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("studio-server") / ".studio"
    try:
        found = server.serve(directory, port=free_port(), timeout=300)
    except NewscorpusError as error:
        pytest.fail(f"Label Studio did not start: {error}")
    credentials = server.Credentials.load(directory / "credentials.json")
    yield LiveServer(found.url, credentials.token, directory, credentials.username, credentials.password)
    server.stop(directory)


_titles = itertools.count(1)


@pytest.fixture
def project_title(request) -> str:
    """A project title of its own for each test."""
    return f"t{next(_titles):03d}-{request.node.name[:40]}"


@pytest.fixture(autouse=True)
def _no_outside_server(monkeypatch):
    """Tests choose their server themselves."""
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
