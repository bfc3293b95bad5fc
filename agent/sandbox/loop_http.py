"""HTTP/1.1 for the sandbox on one event loop: connections, requests in order, answers.

One thread runs an asyncio loop (uvloop's where it is installed); each connection is an
``asyncio.Protocol`` whose bytes go through httptools' C parser. A request whose body is
small is read whole and answered on the loop at once; one that must wait (a fault's
latency or hang) is resumed by the loop's timer, so waiting costs no thread. The one
kind of request that runs on a thread of its own is an upload too large to hold in
memory: its handler reads the body as it arrives (:class:`BodyPipe`), the connection
pausing its reads while the handler is behind.

A handler is a generator (:data:`Handler`): it yields the seconds to wait before it goes
on and returns its :data:`Answer`. Answers on a connection go out in the order of its
requests (pipelining), and as the standard library's server sends them: ``Server`` and
``Date`` headers, ``Content-Length``, ``Connection: close`` when the connection closes
after it — which it does after an HTTP/1.0 request, ``Connection: close``, a body
without a ``Content-Length`` (not read), or an error page.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from http import HTTPStatus

import httptools

from agent.sandbox.body_pipe import BodyPipe
from agent.sandbox.http_answers import (
    DROP,
    JSON_HEADERS,
    Answer,
    Drop,
    Reply,
    error_page,
    head,
    says_close,
)
from agent.sandbox.http_io import MAX_HEADER_LINE, MAX_HEADER_LINES

__all__ = [
    "DROP",
    "INLINE_BODY",
    "JSON_HEADERS",
    "Answer",
    "BodyPipe",
    "Handler",
    "LoopServer",
    "Reply",
    "Request",
    "error_page",
]

log = logging.getLogger(__name__)

#: Bodies up to this size are read whole before their handler runs on the loop.
INLINE_BODY = 1024 * 1024
#: The most a request line and header block may take together before it is refused.
MAX_HEAD = MAX_HEADER_LINE * MAX_HEADER_LINES


@dataclass
class Request:
    """One request: its head, and its body once read (``body``) or as it comes (``pipe``)."""

    method: str
    target: str  # as sent: path and query
    version: tuple[int, int]
    #: Lower-case names; a repeated header's last value.
    headers: dict[str, str]
    client_host: str
    content_length: int | None
    body: bytearray = field(default_factory=bytearray)
    pipe: BodyPipe | None = None


#: A request's handler: yields seconds to wait, returns the answer.
Handler = Generator[float, None, Answer]
#: Chooses the handler for a request whose head is read; ``streamed`` when its body is
#: read through ``request.pipe`` (on a thread) rather than from ``request.body``.
Router = Callable[[Request], Handler]
#: Whether a request's body is large enough to be streamed to its handler on a thread.
Streams = Callable[[Request], bool]


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Refused(Exception):
    """Stops the parse: the request is answered with ``reply`` and the connection closed."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class _Exchange:
    """A request on its way through a connection, and its answer."""

    __slots__ = ("closing", "complete", "head_only", "reply", "request", "started", "streamed")

    def __init__(self, request: Request, streamed: bool, closing: bool) -> None:
        self.request = request
        self.streamed = streamed
        self.complete = False  # the whole body is read
        self.started = False
        self.closing = closing
        self.head_only = request.method == "HEAD"
        self.reply: Reply | None = None  # set for a request refused before its handler


class Connection(asyncio.Protocol):
    """One client connection: parses its requests and answers them in order."""

    def __init__(self, server: LoopServer) -> None:
        self._server = server
        self._loop = server.loop
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._client_host = ""
        self._queue: collections.deque[_Exchange] = collections.deque()
        self._parsing: _Exchange | None = None
        self._closed = False
        self._refused = False  # nothing more is read after a request that cannot be
        # the head being parsed
        self._url = b""
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0

    # -- asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a TCP transport
        peer = transport.get_extra_info("peername")
        self._client_host = str(peer[0]) if peer else ""
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._server.connections.discard(self)
        for exchange in self._queue:
            if exchange.request.pipe is not None:
                exchange.request.pipe.end()

    def data_received(self, data: bytes) -> None:
        if self._closed or self._refused:
            return
        if self._parsing is None:
            self._head_size += len(data)
            if self._head_size > MAX_HEAD:
                self._refuse(error_page(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE))
                return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            cause = error.__context__
            if isinstance(cause, _Refused):
                self._refuse(cause.reply)
            else:
                log.error("HTTP parser callback failed", exc_info=cause)
                self.close()
        except httptools.HttpParserInvalidMethodError:
            self._refuse(error_page(HTTPStatus.NOT_IMPLEMENTED, "Unsupported method"))
        except httptools.HttpParserUpgrade:
            self._refuse(error_page(HTTPStatus.BAD_REQUEST, "Protocol upgrades are not served"))
        except httptools.HttpParserError as error:
            self._refuse(error_page(HTTPStatus.BAD_REQUEST, f"Bad request ({error})"))

    def eof_received(self) -> bool | None:
        if self._parsing is not None and self._parsing.request.pipe is not None:
            self._parsing.request.pipe.end()  # the body ended early; the handler says so
        return None

    # -- httptools (the head's URL and headers are cleared once read, for the next request,
    # rather than in an on_message_begin: one call fewer per request)
    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_HEADER_LINE:
            raise _Refused(error_page(HTTPStatus.REQUEST_URI_TOO_LONG))

    def on_header(self, name: bytes, value: bytes) -> None:
        raw = self._raw_headers
        raw.append((name, value))
        if len(raw) >= MAX_HEADER_LINES:
            raise _Refused(
                error_page(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            )
        if len(name) + len(value) + 4 > MAX_HEADER_LINE:
            raise _Refused(error_page(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long"))

    def _decoded_headers(self) -> dict[str, str]:
        """The head's headers by lower-case name (a repeated header's last value), decoded
        at once rather than one callback at a time."""
        return {
            name.decode("latin-1").lower(): value.decode("latin-1").strip()
            for name, value in self._raw_headers
        }

    def on_headers_complete(self) -> None:
        self._head_size = 0
        parser = self._parser
        version = _VERSIONS.get(parser.get_http_version()) or _version(parser.get_http_version())
        method = parser.get_method().decode("latin-1")
        headers = self._decoded_headers()
        url, self._url, self._raw_headers = self._url, b"", []
        if version >= (2, 0):
            raise _Refused(error_page(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED))
        if version < (1, 0) and method != "GET":
            raise _Refused(error_page(HTTPStatus.BAD_REQUEST, "Bad HTTP/0.9 request type"))
        length_text = headers.get("content-length")
        length = int(length_text) if length_text is not None and length_text.isdigit() else None
        connection = headers.get("connection", "").lower()
        closing = version < (1, 1)
        if connection == "close":
            closing = True
        elif connection == "keep-alive":
            closing = False
        if length is None:
            closing = True  # a body without a length is not read
        target = url.decode("latin-1")
        if target.startswith("//"):
            target = "/" + target.lstrip("/")
        request = Request(method, target, version, headers, self._client_host, length)
        streamed = length is not None and self._server.streams(request)
        if streamed:
            assert self._transport is not None
            request.pipe = BodyPipe(self._pause, self._resume)
        exchange = _Exchange(request, streamed, closing)
        self._parsing = exchange
        self._queue.append(exchange)
        if version >= (1, 1) and headers.get("expect", "").lower() == "100-continue":
            self._write(_CONTINUE)
        if streamed:
            self._advance()

    def on_body(self, data: bytes) -> None:
        exchange = self._parsing
        if exchange is None or exchange.request.content_length is None:
            return  # not read: the connection closes after the answer
        request = exchange.request
        if request.pipe is not None:
            request.pipe.feed(data)
        elif len(request.body) <= self._server.body_limit:
            request.body += data[: self._server.body_limit + 1 - len(request.body)]

    def on_message_complete(self) -> None:
        exchange = self._parsing
        if exchange is None:
            return
        self._parsing = None
        exchange.complete = True
        if exchange.request.pipe is not None:
            exchange.request.pipe.end()
        if exchange.request.version < (1, 0):
            exchange.head_only = False
        self._advance()

    # -- answering, in order
    def _advance(self) -> None:
        """Start the first request when it is ready; the others wait for it."""
        if not self._queue or self._closed:
            return
        exchange = self._queue[0]
        if exchange.started or not (exchange.complete or exchange.streamed):
            return
        exchange.started = True
        if exchange.reply is not None:
            self._answer(exchange, exchange.reply)
            return
        try:
            handler = self._server.router(exchange.request)
        except Exception:
            log.exception("Could not route %s %s", exchange.request.method, exchange.request.target)
            self._answer(exchange, DROP)
            return
        if exchange.streamed:
            threading.Thread(
                target=self._run_on_thread,
                args=(exchange, handler),
                name="sandbox-upload",
                daemon=True,
            ).start()
        else:
            self._step(exchange, handler)

    def _step(self, exchange: _Exchange, handler: Handler) -> None:
        try:
            delay = next(handler)
        except StopIteration as stop:
            self._answer(exchange, stop.value)
        except Exception:
            log.exception(
                "Could not answer %s %s", exchange.request.method, exchange.request.target
            )
            self._answer(exchange, DROP)
        else:
            self._loop.call_later(delay, self._step, exchange, handler)

    def _run_on_thread(self, exchange: _Exchange, handler: Handler) -> None:
        answer: Answer = DROP
        try:
            while True:
                time.sleep(next(handler))
        except StopIteration as stop:
            answer = stop.value
        except Exception:
            log.exception(
                "Could not answer %s %s", exchange.request.method, exchange.request.target
            )
        with contextlib.suppress(RuntimeError):  # the loop has stopped
            self._loop.call_soon_threadsafe(self._answer, exchange, answer)

    def _answer(self, exchange: _Exchange, answer: Answer) -> None:
        if self._closed:
            return
        if isinstance(answer, Drop):
            self.close()
            return
        closing = exchange.closing or says_close(answer)
        body = b"" if exchange.head_only else answer.body
        if exchange.request.version >= (1, 0):
            self._write(head(answer, closing) + body)  # one write, one packet
        else:
            self._write(body)
        if self._queue and self._queue[0] is exchange:
            self._queue.popleft()
        if closing:
            self.close()
            return
        self._advance()

    def _refuse(self, reply: Reply) -> None:
        """Answer a request that cannot be read after those before it, then close."""
        if self._parsing is not None and not self._parsing.started:
            exchange = self._parsing
        else:
            request = Request("", "", (1, 1), {}, self._client_host, 0)
            exchange = _Exchange(request, False, True)
            self._queue.append(exchange)
        if self._parsing is not None and self._parsing.request.pipe is not None:
            self._parsing.request.pipe.end()
        self._parsing = None
        exchange.reply = reply
        exchange.complete = True
        exchange.closing = True
        exchange.head_only = False
        self._refused = True
        self._advance()
        if not self._closed and self._transport is not None:
            self._transport.pause_reading()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and data and not self._closed:
            self._transport.write(data)

    def _pause(self) -> None:
        self._loop.call_soon_threadsafe(self._pause_now)

    def _pause_now(self) -> None:
        if self._transport is not None and not self._closed:
            self._transport.pause_reading()

    def _resume(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._resume_now)

    def _resume_now(self) -> None:
        if self._transport is not None and not self._closed:
            self._transport.resume_reading()

    def abort(self) -> None:
        """Close at once (the server stops)."""
        if self._transport is not None:
            self._transport.abort()
        self.close()

    def close(self) -> None:
        """Close after what was written has gone out."""
        if self._closed:
            return
        self._closed = True
        if self._transport is not None:
            self._transport.close()
        for exchange in self._queue:
            if exchange.request.pipe is not None:
                exchange.request.pipe.end()


_VERSIONS = {"1.1": (1, 1), "1.0": (1, 0)}


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return (int(major), int(minor or 0))


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (Linux, macOS), else the standard one."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class LoopServer:
    """Serves ``host``:``port`` from an event loop on a thread of its own until ``stop()``.

    ``router`` gives each request its handler; ``streams`` says which requests have their
    body streamed to a handler on a thread; other bodies are read whole, up to
    ``body_limit`` bytes and one more (the rest is read and dropped).
    """

    def __init__(
        self, host: str, port: int, router: Router, streams: Streams, *, body_limit: int
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
            self._socket.listen(128)
        except OSError:
            self._socket.close()
            raise
        self.address: tuple[str, int] = self._socket.getsockname()[:2]
        self.router = router
        self.streams = streams
        self.body_limit = body_limit
        self.loop = new_loop()
        self.connections: set[Connection] = set()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sandbox-http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        else:
            self._socket.close()

    def _run(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(
                loop.create_server(lambda: Connection(self), sock=self._socket)
            )
        except BaseException as error:
            self._failure = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for connection in list(self.connections):
                connection.abort()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
