"""Helpers for tests that run the real watchdog observers on real folders."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.watch.events import EventKind
from tests.kit.wait import wait_for


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

    def wait_for(self, path: Path, kind: EventKind, timeout: float = 20.0) -> None:
        """Wait (bounded) until the watcher reported ``kind`` for ``path``; fail if not."""
        wait_for(
            lambda: self.saw(path, kind), timeout=timeout, interval=0.01, what=f"{kind} of {path}"
        )


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield Recorder()
