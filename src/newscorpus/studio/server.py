"""A local Label Studio for the corpus: start, stop, health, credentials.

Everything lives in ``.studio/`` beside the corpus directory (ignored by git)::

    .studio/
      credentials.json   0600: url, username, password, API token, Django secret key
      server.json        pid and port of the running server
      server.log         the server's output
      data/              Label Studio's SQLite database and uploads
      sync/              sync state (see newscorpus.studio.sync)

The server binds to 127.0.0.1, sign-up without an invitation link is off, and
the first user (an admin) and its API token are made on first start from the
credentials file.  Secrets reach the server through its environment, never its
argv.  ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` point every studio
command at another Label Studio instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit
from pathlib import Path

from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError
from newscorpus.jsonio import dumps, load_json, write_text_atomic

DEFAULT_PORT = 8080
HOST = "127.0.0.1"
#: First boot runs the database migrations: about a minute on a small machine.
START_TIMEOUT = 300.0


def studio_dir(layout: CorpusLayout) -> Path:
    """``.studio/`` beside the corpus directory."""
    return layout.root.resolve().parent / ".studio"


@dataclass(frozen=True)
class Credentials:
    """The admin account and API token of the local server."""

    username: str
    password: str
    token: str
    secret_key: str

    @classmethod
    def load_or_create(cls, directory: Path) -> "Credentials":
        """Read ``credentials.json``, creating it (0600) with fresh secrets the first time."""
        path = directory / "credentials.json"
        if path.exists():
            return cls.load(path)
        made = cls(
            username="admin@newscorpus.local",
            password=secrets.token_urlsafe(18),
            token=secrets.token_hex(20),
            secret_key=secrets.token_urlsafe(48),
        )
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        write_text_atomic(path, dumps(made.__dict__), mode=0o600)
        return made

    @classmethod
    def load(cls, path: Path) -> "Credentials":
        """Read a credentials file, refusing one that others can read."""
        if path.stat().st_mode & 0o077:
            raise NewscorpusError(f"{path} can be read by other users; run `chmod 600 {path}`")
        value, _, problems = load_json(path)
        if problems or not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in cls.__dataclass_fields__):
            raise NewscorpusError(f"{path} is not a newscorpus credentials file; move it away and run `newscorpus studio serve`")
        return cls(**{k: value[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Endpoint:
    """Where studio commands send requests, and with which key."""

    url: str
    api_key: str
    local: bool


def _hidden(url: str) -> tuple[str, list[str]]:
    """``url`` with what may be secret replaced by ``***``, and the secret parts themselves.

    Secret is the password of its user information (all of it if there is no ``:``, a user name alone may be a token),
    and its query and fragment (``?token=...``). Everything before the last ``@`` after the scheme counts as user
    information, everything after the first ``?`` or ``#`` as query: a password with an unescaped ``/``, ``@`` or
    ``?`` in it, or an ``@`` in a query, is still hidden (what both readings hide is hidden: more than needed at
    times, never less)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    hidden = [False] * len(rest)
    userinfo, at, _ = rest.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        first = len(user) + 1 if colon and not any(c in user for c in "/?#") else 0
        hidden[first:len(userinfo)] = [True] * (len(userinfo) - first)
    marks = [index for index in (rest.find("?"), rest.find("#")) if index >= 0]
    if marks:
        hidden[min(marks) + 1:] = [True] * (len(rest) - min(marks) - 1)
    shown, secrets, index = [scheme + separator], [], 0
    while index < len(rest):
        run = index
        while run < len(rest) and hidden[run] == hidden[index]:
            run += 1
        if hidden[index]:
            secrets.append(rest[index:run])
        shown.append("***" if hidden[index] else rest[index:run])
        index = run
    try:  # (and the parts a client would take for them: urllib3 ends the user information at the first "/", and a
        parts = urlsplit(url)  # server may name a query's value alone)
        secrets.extend(filter(None, (parts.password, parts.query, parts.fragment,
                                     parts.username if parts.password is None else None)))
        secrets.extend(secret for name, value in parse_qsl(parts.query, keep_blank_values=True)
                       if len(secret := value or name) >= 4)  # ("?page=1": not a secret, and "1" is everywhere)
    except ValueError:
        pass
    return "".join(shown), secrets


def redacted_url(url: str) -> str:
    """``url`` as messages and logs show it: its password (or a user name alone, which may be a token), its query
    and its fragment (which may hold a token: ``?token=...``) as ``***``.

    >>> redacted_url("http://user:PASSW0RD@127.0.0.1:9")
    'http://user:***@127.0.0.1:9'
    >>> redacted_url("http://TOKEN@host/x"), redacted_url("user:pw@host:80"), redacted_url("http://127.0.0.1:8080")
    ('http://***@host/x', 'user:***@host:80', 'http://127.0.0.1:8080')
    >>> redacted_url("http://host:8080/?token=SECRET"), redacted_url("http://host/#SECRET")
    ('http://host:8080/?***', 'http://host/#***')
    """
    return _hidden(url)[0]


def redacted_text(text: str, url: str) -> str:
    """``text`` (an error's) with ``url`` and its secret parts in it (:func:`redacted_url`) replaced by ``***``.

    >>> redacted_text("no route to u:s3cret@h (s3cret)", "http://u:s3cret@h")
    'no route to u:***@h (***)'
    """
    shown, secrets = _hidden(url)
    text = text.replace(url, shown)
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def checked_url(url: str) -> str:
    """``url`` without a trailing ``/``, if Label Studio can be reached at it (``http`` or ``https``, a host, a
    port if any); else a :class:`NewscorpusError` saying what is wrong and how to write it, before any connection.

    >>> checked_url("http://127.0.0.1:8080/")
    'http://127.0.0.1:8080'
    """
    url = url.strip()
    shown, example = redacted_url(url), f"e.g. http://{HOST}:{DEFAULT_PORT}"
    scheme, separator, _ = url.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        raise NewscorpusError(f"LABEL_STUDIO_URL must start with http:// or https://, {example} (it is {shown!r})")
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError as error:
        raise NewscorpusError(f"LABEL_STUDIO_URL is not a URL ({error}): write it as http://HOST:PORT, {example} "
                              f"(it is {shown!r})") from None
    if not host:
        raise NewscorpusError(f"LABEL_STUDIO_URL names no host: write it as http://HOST:PORT, {example} (it is {shown!r})")
    if "?" in url or "#" in url:
        raise NewscorpusError("LABEL_STUDIO_URL is where Label Studio is, without a query or fragment (?..., #...): "
                              f"the API key goes in LABEL_STUDIO_API_KEY; write it as http://HOST:PORT, {example} "
                              f"(it is {shown!r})")
    return url.rstrip("/")


def endpoint(directory: Path) -> Endpoint:
    """``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY`` if set, else the local server of ``directory``."""
    url, key = os.environ.get("LABEL_STUDIO_URL"), os.environ.get("LABEL_STUDIO_API_KEY")
    if url or key:
        if not (url and key):
            raise NewscorpusError("set both LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, or neither to use `newscorpus studio serve`")
        return Endpoint(checked_url(url), key, local=False)
    path = directory / "credentials.json"
    if not path.exists():
        raise NewscorpusError("no Label Studio configured: run `newscorpus studio serve`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY")
    credentials = Credentials.load(path)
    running = _running(directory)
    port = running[1] if running else _last_port(directory)
    return Endpoint(f"http://{HOST}:{port}", credentials.token, local=True)


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url``/health answers 200."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _server_file(directory: Path) -> Path:
    return directory / "server.json"


def _last_port(directory: Path) -> int:
    value, _, problems = load_json(_server_file(directory)) if _server_file(directory).exists() else (None, None, [])
    if not problems and isinstance(value, dict) and isinstance(value.get("port"), int):
        return value["port"]
    return DEFAULT_PORT


def _is_our_server(pid: int) -> bool:
    """Whether ``pid`` is alive and is a Label Studio process (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return b"label-studio" in cmdline or b"label_studio" in cmdline


def _running(directory: Path) -> tuple[int, int] | None:
    """(pid, port) of the server started from ``directory``, if it still runs."""
    path = _server_file(directory)
    if not path.exists():
        return None
    value, _, problems = load_json(path)
    if problems or not isinstance(value, dict) or not isinstance(value.get("pid"), int) or not isinstance(value.get("port"), int):
        return None
    if value.get("stopped") or not _is_our_server(value["pid"]):
        return None
    return value["pid"], value["port"]


def _executable() -> str:
    beside = Path(sys.executable).parent / "label-studio"
    if beside.exists():
        return str(beside)
    found = shutil.which("label-studio")
    if not found:
        raise NewscorpusError("the label-studio server is not installed: run `pip install 'newscorpus[studio]'`")
    return found


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class ServerStatus:
    """What ``serve`` and ``status`` report."""

    url: str
    username: str
    pid: int
    started: bool
    credentials: Path


def serve(directory: Path, port: int = DEFAULT_PORT, timeout: float = START_TIMEOUT) -> ServerStatus:
    """Start the local server (or find it running) and wait until ``/health`` answers."""
    credentials = Credentials.load_or_create(directory)
    running = _running(directory)
    if running:
        pid, running_port = running
        url = f"http://{HOST}:{running_port}"
        _wait_healthy(url, pid, directory, timeout)
        return ServerStatus(url, credentials.username, pid, False, directory / "credentials.json")
    if not _port_free(port):
        raise NewscorpusError(f"port {port} on {HOST} is in use by another program; choose one with --port")
    (directory / "data").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "LABEL_STUDIO_USERNAME": credentials.username,
        "LABEL_STUDIO_PASSWORD": credentials.password,
        "LABEL_STUDIO_USER_TOKEN": credentials.token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "SECRET_KEY": credentials.secret_key,
        "DJANGO_DB": "sqlite",
        # nothing leaves the machine: no usage analytics, no error reports to Label Studio's Sentry
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    }
    env.pop("LABEL_STUDIO_URL", None)
    env.pop("LABEL_STUDIO_API_KEY", None)
    argv = [_executable(), "start", "--no-browser", "--internal-host", HOST, "-p", str(port),
            "--data-dir", str(directory / "data")]
    log = open(directory / "server.log", "ab")
    try:
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=directory)
    finally:
        log.close()
    write_text_atomic(_server_file(directory), dumps({"pid": process.pid, "port": port}))
    url = f"http://{HOST}:{port}"
    _wait_healthy(url, process.pid, directory, timeout)
    return ServerStatus(url, credentials.username, process.pid, True, directory / "credentials.json")


def _wait_healthy(url: str, pid: int, directory: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(url):
            return
        if not _is_our_server(pid):
            raise NewscorpusError(f"Label Studio stopped while starting; see {directory / 'server.log'}")
        time.sleep(1.0)
    raise NewscorpusError(f"Label Studio did not answer {url}/health within {timeout:.0f} s; see {directory / 'server.log'}")


def status(directory: Path) -> ServerStatus | None:
    """The running local server, or None."""
    running = _running(directory)
    if not running:
        return None
    credentials = Credentials.load(directory / "credentials.json")
    return ServerStatus(f"http://{HOST}:{running[1]}", credentials.username, running[0], False, directory / "credentials.json")


def stop(directory: Path, timeout: float = 30.0) -> bool:
    """Stop the local server started from ``directory``; False if none was running."""
    running = _running(directory)
    if not running:
        return False
    pid, port = running
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    write_text_atomic(_server_file(directory), dumps({"pid": pid, "port": port, "stopped": True}))
    return True


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    try:
        return state.read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True
