"""HTTP plumbing under the sandbox's routes: reading request bodies and sending answers.

``HttpIO`` is the request handler's base: bounded body reading (Content-Length), answers
with their length, dropping a connection without a word, and draining what a client still
sends so that it can read the answer.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import socket
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

log = logging.getLogger(__name__)


class LimitedReader(io.RawIOBase):
    """At most ``remaining`` bytes of the request body (Content-Length)."""

    def __init__(self, source: io.BufferedIOBase, remaining: int) -> None:
        self._source = source
        self.remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        view = memoryview(buffer)[: self.remaining]
        count = self._source.readinto(view)
        if not count:
            self.remaining = 0
            return 0
        self.remaining -= count
        return count


class HttpIO(BaseHTTPRequestHandler):
    """Reading and answering one request; the routes are the subclass's."""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK hold every answer back by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _body_stream(self) -> tuple[io.BufferedReader, int | None]:
        length = self.headers.get("Content-Length")
        if length is not None and length.strip().isdigit():
            size = int(length)
            return io.BufferedReader(LimitedReader(self.rfile, size)), size
        # No length (chunked): nothing is read, and the connection closes after the answer.
        self.close_connection = True
        return io.BufferedReader(LimitedReader(self.rfile, 0)), None

    def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() == "connection" and value.lower() == "close":
                self.close_connection = True
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        data = json.dumps(body).encode()
        self._send(status, {"Content-Type": "application/json", **headers}, data)

    def _drop(self) -> None:
        """Close the connection without a word, as a crashed proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False

    def _drain(self, stream: io.BufferedReader) -> None:
        """Read what the client still sends, so it can read the answer."""
        try:
            while stream.read(1024 * 1024):
                pass
        except (OSError, ValueError):
            self.close_connection = True
