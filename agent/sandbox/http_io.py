"""HTTP plumbing under the sandbox's routes: reading request bodies and sending answers.

``HttpIO`` is the request handler's base: the request line and headers read as the
standard library reads them but without its ``email`` parser, bounded body reading
(Content-Length), answers with their length, dropping a connection without a word, and
draining what a client still sends so that it can read the answer.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import http.client
import io
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

log = logging.getLogger(__name__)

#: The standard library's limits: one header line, and the lines of a header block.
MAX_HEADER_LINE = 65536
MAX_HEADER_LINES = 100


class BadHeaderLine(http.client.HTTPException):
    """A header line without a name and a colon."""


def read_headers(rfile: io.BufferedIOBase) -> http.client.HTTPMessage:
    """The header block, into the standard library's message class.

    ``http.client.parse_headers`` runs the block through the ``email`` package's parser,
    about a sixth of the sandbox's CPU per request; the lines are simple enough to split
    here. Same limits; a folded line continues the header before it.
    """
    pairs: list[list[str]] = []
    lines = 0
    while True:
        line = rfile.readline(MAX_HEADER_LINE + 1)
        if len(line) > MAX_HEADER_LINE:
            raise http.client.LineTooLong("header line")
        lines += 1
        if lines > MAX_HEADER_LINES:
            raise http.client.HTTPException(f"got more than {MAX_HEADER_LINES} headers")
        if line in (b"\r\n", b"\n", b""):
            break
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and pairs:
            pairs[-1][1] = f"{pairs[-1][1]} {text.strip()}"
            continue
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            raise BadHeaderLine(f"bad header line {text[:100]!r}")
        pairs.append([name, value.strip()])
    message = http.client.HTTPMessage()
    for name, value in pairs:
        message[name] = value
    return message


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


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)


class HttpIO(BaseHTTPRequestHandler):
    """Reading and answering one request; the routes are the subclass's."""

    #: An answer's headers and body gather here and go out in one write when the request
    #: is done (``handle_one_request`` flushes; so does ``finish`` after an error).
    wbufsize = 64 * 1024
    raw_requestline: bytes  # set by handle_one_request before parse_request

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle's algorithm and the client's delayed ACK can hold an answer
        # back by ~40 ms (the 100 Continue goes out before the answer, for one).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_expect_100(self) -> bool:
        answered = super().handle_expect_100()
        self.wfile.flush()  # the client waits for it before it sends the body
        return answered

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, formatted once a second rather than once an answer."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return _http_date(int(time.time()))

    def parse_request(self) -> bool:
        """``BaseHTTPRequestHandler.parse_request`` with :func:`read_headers`: the same
        checks of the request line, the same answers, and the same handling of
        ``Connection`` and ``Expect: 100-continue``."""
        self.command = ""  # until the request line is understood
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            number = version[len("HTTP/") :].split(".") if version.startswith("HTTP/") else []
            if len(number) != 2 or not all(
                p.isascii() and p.isdigit() and len(p) <= 10 for p in number
            ):
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
                return False
            major, minor = int(number[0]), int(number[1])
            if (major, minor) >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if major >= 2:
                self.send_error(
                    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({major}.{minor})"
                )
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({self.requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command = command
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        try:
            self.headers = read_headers(self.rfile)
        except http.client.LineTooLong as error:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(error))
            return False
        except BadHeaderLine as error:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad header line", str(error))
            return False
        except http.client.HTTPException as error:
            self.send_error(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(error)
            )
            return False
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect", "").lower()
        if (
            expect == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True

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
        closing = self.close_connection  # e.g. a body without a length: said below
        for name, value in headers.items():
            if name.lower() == "connection":
                closing = closing or value.lower() == "close"
                if closing:
                    continue
            self.send_header(name, value)
        if closing:
            # Said, so that a client does not send its next request on a connection
            # that is about to close.
            self.send_header("Connection", "close")
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
