"""Work that runs beside the loop, each kind on a thread of its own.

The loop that notices, claims and hands out files must never wait on the network or on a
slow file system: review checks and refreshes (Kompliant calls that may hang for their
whole timeout), the online probe, and the claims' heartbeats and watch (a shared folder
may be slow) each run on a :class:`Ticker`. A ticker calls its task, then sleeps what the
task asked for (or until :meth:`Ticker.wake`); a task that raises is logged and called
again later — a bug there must not stop the agent, nor its other tickers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

#: A task: does its work, returns how many seconds to sleep before it is called again.
Task = Callable[[], float]

AFTER_A_BUG = 5.0  # seconds before a task that raised is called again


class Ticker:
    def __init__(self, name: str, task: Task, *, after_a_bug: float = AFTER_A_BUG) -> None:
        self.name = name
        self._task = task
        self._after_a_bug = after_a_bug
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Call the task now instead of at the end of its sleep (any thread)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the call under way (a call waiting on the network may take longer
        than ``timeout``: the thread is a daemon and does not keep the process alive)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                pause = self._task()
            except Exception:
                log.exception(
                    "%s: unexpected error; trying again in %.0f s", self.name, self._after_a_bug
                )
                pause = self._after_a_bug
            if self._stop.is_set():
                return
            self._wake.wait(max(0.0, pause))
