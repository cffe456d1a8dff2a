"""Where studio commands send requests: ``LABEL_STUDIO_URL`` is checked before any connection, and its password
is in no message, log line or file.  No Label Studio server is needed: the URLs are refused, or nothing listens."""

from __future__ import annotations

import functools
import json
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest

from newscorpus.cli import main
from newscorpus.errors import NewscorpusError
from newscorpus.studio.server import redacted_text, redacted_url
from newscorpus.studio.sync import Studio, SyncState

from .helpers import article

PASSWORD = "PASSW0RD"
#: 127.0.0.1:9 (discard): nothing listens there.
UNREACHABLE = f"http://user:{PASSWORD}@127.0.0.1:9"

#: LABEL_STUDIO_URL -> what the one-line error must say.
BAD_URLS = {
    "127.0.0.1:8080": "must start with http:// or https://, e.g. http://127.0.0.1:8080",
    "localhost:8080": "must start with http:// or https://",
    f"user:{PASSWORD}@127.0.0.1:8080": "must start with http:// or https://",
    "ftp://127.0.0.1": "must start with http:// or https://",
    "http://": "names no host: write it as http://HOST:PORT",
    f"http://user:{PASSWORD}@": "names no host",
    "http://127.0.0.1:port": "is not a URL (Port could not be cast to integer value as 'port')",
    "http://127.0.0.1:99999": "is not a URL (Port out of range 0-65535)",
    "http://[::1": "is not a URL (Invalid IPv6 URL)",
    f"http://127.0.0.1:8080/?token={PASSWORD}": "without a query or fragment (?..., #...): the API key goes in "
                                                "LABEL_STUDIO_API_KEY",
    f"http://127.0.0.1:8080/#{PASSWORD}": "without a query or fragment",
}


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A corpus directory of one article (converting is not what is tested) and an API key in the environment."""
    monkeypatch.setattr("newscorpus.commands.studio._articles", lambda layout: {"a": article("a", "x")})
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "key")
    return tmp_path / "corpus"


@pytest.mark.parametrize("url", sorted(BAD_URLS))
@pytest.mark.parametrize("action", ["push", "pull"])
def test_a_malformed_url_is_refused_before_any_connection_saying_how_to_write_it(corpus, monkeypatch, capfd, url, action):
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    monkeypatch.setattr("newscorpus.commands.studio.Studio", lambda *a, **k: pytest.fail("a client was made"))
    assert main(["studio", "--corpus", str(corpus), action]) == 1
    out, err = capfd.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("newscorpus studio: error: LABEL_STUDIO_URL ") and BAD_URLS[url] in err
    assert PASSWORD not in err


@pytest.mark.parametrize("action", ["push", "pull"])
def test_an_unreachable_server_is_named_without_its_password(corpus, monkeypatch, capfd, caplog, action):
    monkeypatch.setenv("LABEL_STUDIO_URL", UNREACHABLE)
    monkeypatch.setattr("newscorpus.commands.studio.Studio", functools.partial(Studio, backoff=0.0))
    caplog.set_level(logging.DEBUG)
    assert main(["studio", "--corpus", str(corpus), action]) == 1
    out, err = capfd.readouterr()
    assert "cannot reach Label Studio at http://user:***@127.0.0.1:9" in err and err.count("\n") == 1
    assert PASSWORD not in out + err + caplog.text
    assert not (corpus.parent / ".studio" / "sync").exists()


@pytest.mark.parametrize("url, reason", [
    (f"ftp://user:{PASSWORD}@127.0.0.1", "unsupported protocol"),
    (f"http://user:{PASSWORD}@[::1", "Invalid port"),
    (f"user:{PASSWORD}@127.0.0.1:8080", "missing an 'http://' or 'https://' protocol"),
])
def test_a_url_the_client_cannot_use_is_one_error_without_retries(url, reason):
    sleeps: list[float] = []
    studio = Studio(url, "key", sleep=sleeps.append)
    with pytest.raises(NewscorpusError) as caught:
        studio.find_project("newscorpus")
    message = str(caught.value)
    assert reason in message and "http://HOST:PORT" in message and "\n" not in message
    assert PASSWORD not in message and sleeps == []


def test_the_sync_state_keeps_the_url_without_its_password(tmp_path):
    state = SyncState.load(tmp_path, UNREACHABLE, "newscorpus")
    state.save()
    assert json.loads(state.path.read_text(encoding="utf-8"))["url"] == "http://user:***@127.0.0.1:9"


#: LABEL_STUDIO_URL -> how messages show it.
REDACTED = [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    (f"http://user:{PASSWORD}@127.0.0.1:9", "http://user:***@127.0.0.1:9"),
    (f"https://{PASSWORD}@studio.example.org/ls", "https://***@studio.example.org/ls"),
    (f"http://user:{PASSWORD}/x@h:1", "http://user:***@h:1"),
    (f"http://us/er:{PASSWORD}@h:1", "http://***@h:1"),
    (f"http://user:a@{PASSWORD}@h:1", "http://user:***@h:1"),
    (f"user:{PASSWORD}@h:80", "user:***@h:80"),
    (f"http://h:1/ls?token={PASSWORD}", "http://h:1/ls?***"),
    (f"http://h:1/ls?a=1#{PASSWORD}", "http://h:1/ls?***"),
    (f"http://h:1/#{PASSWORD}?x", "http://h:1/#***"),
    (f"http://user:{PASSWORD}@h:1/?k={PASSWORD}", "http://user:***@h:1/?***"),
    (f"http://h:1/?mail=a@b&token={PASSWORD}", "http://h:***"),
    (f"http://user:pa?{PASSWORD}@h:1", "http://user:***"),
]


@pytest.mark.parametrize("url, shown", REDACTED)
def test_redacted_url(url, shown):
    assert redacted_url(url) == shown


@pytest.mark.parametrize("url, shown", REDACTED)
def test_an_error_naming_the_url_or_its_secret_shows_neither(url, shown):
    """A client's error may quote the URL, or parts of it as a client reads them: the password it tried, a query
    parameter's value, the fragment."""
    parts = urlsplit(url)
    sent = [parts.password, parts.fragment, *(value for _, value in parse_qsl(parts.query))]
    text = f"GET {url}/api/projects failed; sent {sent!r}"
    assert PASSWORD not in redacted_text(text, url) and shown in redacted_text(text, url)
