"""HTTP details shared by the sandbox's server (:mod:`agent.sandbox.loop_http`).

The limits of a request's head are the standard library's (one header line, the lines
of a header block), so the sandbox refuses what its first, ``http.server``-based, server
refused; ``read_headers`` reads a header block from a stream under the same rules.
"""

from __future__ import annotations

import email.utils
import functools
import http.client
import io
import time

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


@functools.lru_cache(maxsize=4)
def _formatted(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)


def http_date() -> str:
    """Now, as the ``Date`` header says it; formatted once a second."""
    return _formatted(int(time.time()))
