"""A request body handed from the event loop to its handler's thread as it arrives.

An upload too large to hold in memory is read by its handler on a thread of its own
(:mod:`agent.sandbox.loop_http`); the loop feeds the pipe what the connection receives,
and pauses the connection's reads while the handler is behind.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

#: A body pipe pauses the connection's reads above this many bytes not yet read.
PIPE_HIGH_WATER = 4 * 1024 * 1024


class BodyPipe:
    """A request body handed from the loop to the handler's thread, as it arrives."""

    def __init__(self, pause: Callable[[], None], resume: Callable[[], None]) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._ended = False
        self._paused = False
        self._pause = pause
        self._resume = resume
        self._ready = threading.Condition()

    # -- the loop's side
    def feed(self, data: bytes) -> None:
        with self._ready:
            self._chunks.append(data)
            self._buffered += len(data)
            if self._buffered > PIPE_HIGH_WATER and not self._paused:
                self._paused = True
                self._pause()
            self._ready.notify()

    def end(self) -> None:
        with self._ready:
            self._ended = True
            self._ready.notify()

    # -- the handler's side (``RequestBody``)
    def read1(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes as soon as some are there; ``b""`` at the end."""
        with self._ready:
            while not self._chunks and not self._ended:
                self._ready.wait()
            if not self._chunks:
                return b""
            chunk = self._chunks.popleft()
            if 0 <= size < len(chunk):
                chunk, rest = chunk[:size], chunk[size:]
                self._chunks.appendleft(rest)
            self._buffered -= len(chunk)
            if self._paused and self._buffered < PIPE_HIGH_WATER // 4:
                self._paused = False
                self._resume()
            return chunk

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size
        while wanted != 0:
            chunk = self.read1(wanted)
            if not chunk:
                break
            parts.append(chunk)
            if wanted > 0:
                wanted -= len(chunk)
        return b"".join(parts)
