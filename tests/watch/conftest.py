"""Helpers for tests that run the real watchdog observers on real folders."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.watch.events import EventKind


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class Recorder:
    """Collects what the watcher reports, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[Path, EventKind]] = []
        self.problems: list[tuple[Path, str]] = []
        self.recovered: list[Path] = []

    def __call__(self, path: Path, kind: EventKind) -> None:
        with self._lock:
            self._events.append((path, kind))

    def problem(self, root: Path, message: str) -> None:
        with self._lock:
            self.problems.append((root, message))

    def back(self, root: Path) -> None:
        with self._lock:
            self.recovered.append(root)

    def events(self) -> list[tuple[Path, EventKind]]:
        with self._lock:
            return list(self._events)

    def take(self) -> list[tuple[Path, EventKind]]:
        with self._lock:
            taken, self._events = self._events, []
            return taken

    def kinds(self, path: Path) -> list[EventKind]:
        return [kind for seen, kind in self.events() if seen == path]

    def saw(self, path: Path, kind: EventKind) -> bool:
        return kind in self.kinds(path)

    def wait_for(self, path: Path, kind: EventKind, timeout: float = 5.0) -> bool:
        return wait_until(lambda: self.saw(path, kind), timeout)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield Recorder()
