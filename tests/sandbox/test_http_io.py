"""The sandbox reads requests as the standard library's server does: request line, header
block, keep-alive and ``Expect: 100-continue``, over a raw socket on loopback."""

from __future__ import annotations

import email.utils
import http.client
import io
import json
import socket
import time

import pytest

from agent.sandbox import RunningSandbox
from agent.sandbox.http_io import MAX_HEADER_LINE, MAX_HEADER_LINES, BadHeaderLine, read_headers


def _exchange(sandbox: RunningSandbox, raw: bytes, answers: int = 1) -> list[bytes]:
    """Send ``raw`` and read ``answers`` answers (each with a Content-Length), then
    whatever else comes until the server closes or goes quiet."""
    host, port = sandbox.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(raw)
        stream = sock.makefile("rb")
        got: list[bytes] = []
        for _ in range(answers):
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                byte = stream.read(1)
                if not byte:
                    return [*got, head]
                head += byte
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            got.append(head + stream.read(length))
        sock.settimeout(2)
        try:
            rest = stream.read()
        except TimeoutError:
            rest = b"(still open)"
        return [*got, rest]


def _state_request(extra: str = "", version: str = "HTTP/1.1") -> bytes:
    return f"GET /_sandbox/faults {version}\r\nHost: x\r\nContent-Length: 0\r\n{extra}\r\n".encode()


def test_one_connection_carries_requests_one_after_another(sandbox: RunningSandbox) -> None:
    first, second, rest = _exchange(sandbox, _state_request() * 2, answers=2)
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")
    assert json.loads(second.split(b"\r\n\r\n", 1)[1])["rate_5xx"] == 0.0
    assert rest == b"(still open)"
    head = http.client.parse_headers(io.BytesIO(second.split(b"\r\n", 1)[1]))
    date = email.utils.parsedate_to_datetime(head["Date"])
    assert abs(date.timestamp() - time.time()) < 60


@pytest.mark.parametrize(
    "raw",
    [
        _state_request("Connection: close\r\n"),
        _state_request(version="HTTP/1.0"),
        b"GET /_sandbox/faults HTTP/1.1\r\nHost: x\r\n\r\n",  # no length: not read
    ],
)
def test_a_connection_that_closes_after_the_answer_says_so(
    sandbox: RunningSandbox, raw: bytes
) -> None:
    """Said in the answer, so that a client never sends its next request on it."""
    answer, rest = _exchange(sandbox, raw)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"\r\nConnection: close\r\n" in answer.split(b"\r\n\r\n")[0] + b"\r\n"
    assert rest == b""


def test_expect_100_continue_is_answered_before_the_body(sandbox: RunningSandbox) -> None:
    body = b'{"seed": 3}'
    head = (
        "POST /_sandbox/faults HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    host, port = sandbox.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode())
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"HTTP/1.1 100")
        assert stream.readline() == b"\r\n"
        sock.sendall(body)
        assert stream.readline().startswith(b"HTTP/1.1 200")
    assert sandbox.faults.settings.seed == 3


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /_sandbox/faults HTTP/x.1\r\n\r\n", b"400"),
        (b"GET /_sandbox/faults HTTP/1.\xb2\r\n\r\n", b"400"),
        (b"GET /_sandbox/faults HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /_sandbox/faults HTTP/1.1 extra\r\n\r\n", b"400"),
        (b"POST /_sandbox/faults\r\n\r\n", b"400"),
        (b"GET /_sandbox/faults HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (
            b"GET /_sandbox/faults HTTP/1.1\r\nX-Long: " + b"a" * MAX_HEADER_LINE + b"\r\n\r\n",
            b"431",
        ),
        (
            b"GET /_sandbox/faults HTTP/1.1\r\n" + b"X-Many: 1\r\n" * MAX_HEADER_LINES + b"\r\n",
            b"431",
        ),
    ],
)
def test_a_malformed_request_is_refused_and_the_connection_closed(
    sandbox: RunningSandbox, raw: bytes, status: bytes
) -> None:
    """Before the version is understood the answer is HTTP/0.9's: the page alone."""
    host, port = sandbox.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(raw)
        answer = sock.makefile("rb").read()  # to the end: the server closes
    assert b"Error code: " + status in answer, answer


def test_headers_read_as_the_email_parser_reads_them() -> None:
    raw = (
        b"Content-Type: application/json\r\n"
        b"X-Folded: first\r\n"
        b"\t  second\r\n"
        b"x-twice: 1\r\n"
        b"X-Twice: 2\r\n"
        b"X-Empty:\r\n"
        b"\r\n"
        b"the body"
    )
    stream = io.BytesIO(raw)
    headers = read_headers(stream)
    assert isinstance(headers, http.client.HTTPMessage)
    assert headers.get("content-type") == "application/json"
    assert headers["X-Folded"] == "first second"
    assert headers.get_all("X-TWICE") == ["1", "2"]
    assert headers["X-Empty"] == ""
    assert stream.read() == b"the body"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b" Name: value\r\n\r\n", BadHeaderLine),
        (b"Name : value\r\n\r\n", BadHeaderLine),
        (b"X: " + b"a" * MAX_HEADER_LINE + b"\r\n\r\n", http.client.LineTooLong),
        (b"X: 1\r\n" * MAX_HEADER_LINES + b"\r\n", http.client.HTTPException),
    ],
)
def test_header_blocks_that_are_refused(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_headers(io.BytesIO(raw))


def test_as_many_header_lines_as_the_standard_library_allows() -> None:
    raw = b"X: 1\r\n" * (MAX_HEADER_LINES - 1) + b"\r\n"
    assert len(read_headers(io.BytesIO(raw)).get_all("X") or []) == MAX_HEADER_LINES - 1
    with pytest.raises(http.client.HTTPException):
        http.client.parse_headers(io.BytesIO(b"X: 1\r\n" * MAX_HEADER_LINES + b"\r\n"))
