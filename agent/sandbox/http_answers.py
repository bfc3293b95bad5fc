"""The sandbox's HTTP answers: what a handler returns, and the head that goes out with it.

An answer is a :class:`Reply` (status, headers, body) or :data:`DROP` (close without a
word). The head is written as the standard library's server wrote it: status line,
``Server`` and ``Date``, the reply's headers, ``Connection: close`` when the connection
closes after it, and ``Content-Length``.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType

from agent.sandbox.http_io import http_date

SERVER_NAME = b"KompliantSandbox"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Drop:
    """Close the connection without a word, as a crashed proxy would."""


DROP = Drop()
Answer = Reply | Drop


def error_page(status: HTTPStatus, explain: str = "") -> Reply:
    """The standard library's error page (``BaseHTTPRequestHandler.send_error``)."""
    page = (
        '<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n'
        '        <meta charset="utf-8">\n'
        "        <title>Error response</title>\n    </head>\n    <body>\n"
        "        <h1>Error response</h1>\n"
        f"        <p>Error code: {status.value}</p>\n"
        f"        <p>Message: {html.escape(status.phrase, quote=False)}.</p>\n"
        f"        <p>Error code explanation: {status.value} - "
        f"{html.escape(explain or status.description, quote=False)}.</p>\n"
        "    </body>\n</html>\n"
    )
    headers = {"Connection": "close", "Content-Type": "text/html;charset=utf-8"}
    return Reply(status.value, headers, page.encode("utf-8", "replace"))


#: The headers of most answers, shared so that their lines are encoded once.
JSON_HEADERS: Mapping[str, str] = MappingProxyType({"Content-Type": "application/json"})
_JSON_LINES = b"Content-Type: application/json\r\n"
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


def says_close(reply: Reply) -> bool:
    """Whether the reply's own headers close the connection."""
    if reply.headers is JSON_HEADERS:
        return False
    return any(k.lower() == "connection" and v.lower() == "close" for k, v in reply.headers.items())


@functools.lru_cache(maxsize=64)
def _json_head(status: int, closing: bool, date: str) -> bytes:
    """The head of a JSON answer up to its ``Content-Length`` (made once a second)."""
    return b"HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n%s%s" % (
        status,
        _REASONS.get(status, b""),
        SERVER_NAME,
        date.encode(),
        _JSON_LINES,
        b"Connection: close\r\n" if closing else b"",
    )


def head(reply: Reply, closing: bool) -> bytes:
    """The status line and headers of ``reply``, and the blank line after them."""
    if reply.headers is JSON_HEADERS:
        prefix = _json_head(reply.status, closing, http_date())
        return b"%sContent-Length: %d\r\n\r\n" % (prefix, len(reply.body))
    lines = [
        b"HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n"
        % (reply.status, _REASONS.get(reply.status, b""), SERVER_NAME, http_date().encode()),
    ]
    for name, value in reply.headers.items():
        if name.lower() in ("connection", "content-length"):
            continue
        lines.append(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1")))
    if closing:
        lines.append(b"Connection: close\r\n")
    lines.append(b"Content-Length: %d\r\n\r\n" % len(reply.body))
    return b"".join(lines)
