"""A tiny loopback HTTP server that answers from a script, for real-HTTP client tests.

Each request takes the next :class:`Reply`; every request is recorded (method, target,
headers, body) so tests can assert what really went over the wire. The same server
serves as a dummy proxy: it records ``CONNECT`` and absolute-form requests too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

HANG_LIMIT = 10.0  # seconds a "hang" reply waits at most for the test to release it


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | Mapping[str, Any] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: "answer": send it; "close": read the request, close without a byte;
    #: "hang": wait until released (or HANG_LIMIT), then send it.
    action: Literal["answer", "close", "hang"] = "answer"


@dataclass(frozen=True)
class Seen:
    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def envelope(data: Mapping[str, Any] | None = None, trace_id: str = "trc_test") -> dict[str, Any]:
    return {
        "meta": {"status": "SUCCESS", "trace_id": trace_id, "version": "2025-03-24"},
        "data": dict(data or {}),
    }


def error_envelope(
    code: str, message: str, trace_id: str = "trc_err", **extra: Any
) -> dict[str, Any]:
    return {
        "meta": {"status": "ERROR", "trace_id": trace_id},
        "errors": [{"code": code, "message": message, **extra}],
    }


class ScriptedServer:
    def __init__(self, replies: list[Reply] | None = None) -> None:
        self.replies = list(replies or [])
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = server._next(
                    Seen(self.command, self.path, dict(self.headers.items()), body)
                )
                if reply.action == "close":
                    self.close_connection = True
                    return
                if reply.action == "hang":
                    server.release.wait(HANG_LIMIT)
                raw = reply.body
                payload = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
                try:
                    self.send_response(reply.status)
                    if not isinstance(raw, bytes):
                        self.send_header("Content-Type", "application/json")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    if self.command == "CONNECT":
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_POST = do_GET = do_CONNECT = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            if self.replies:
                return self.replies.pop(0)
        return Reply(500, b"script exhausted")

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextmanager
def scripted(*replies: Reply) -> Iterator[ScriptedServer]:
    server = ScriptedServer(list(replies)).start()
    try:
        yield server
    finally:
        server.stop()
