"""A local HTTP proxy in front of the real server that misbehaves on request.

``FaultProxy(upstream).fail(path_part, action, times)`` makes the next ``times``
requests whose path contains ``path_part`` fail with ``action``:

* ``"503"``: answer 503 without asking the server;
* ``"drop"``: forward, then send the headers and half the body and close the
  connection (a server killed in the middle of a response);
* ``"hang"``: accept the request and answer nothing until ``hang_seconds``.
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}


class FaultProxy:
    """A misbehaving proxy on 127.0.0.1 (use as a context manager)."""

    def __init__(self, upstream: str, hang_seconds: float = 5.0):
        self.upstream = urlsplit(upstream)
        self.hang_seconds = hang_seconds
        self.rules: list[list] = []
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                action = proxy._action(self.path)
                with proxy.lock:
                    proxy.seen.append((self.command, self.path, action))
                if action == "503":
                    payload = b'{"detail": "service unavailable"}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if action == "hang":
                    time.sleep(proxy.hang_seconds)
                    self.close_connection = True
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=300)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if action == "drop":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail(self, path_part: str, action: str, times: int = 1) -> "FaultProxy":
        """Fail the next ``times`` requests whose path contains ``path_part``."""
        with self.lock:
            self.rules.append([path_part, action, times])
        return self

    def _action(self, path: str) -> str:
        with self.lock:
            for rule in self.rules:
                if rule[0] in path and rule[2] > 0:
                    rule[2] -= 1
                    return rule[1]
        return "pass"

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
