"""What is wrong right now, one sentence per topic, for the status and the tray.

The loop and the workers both record and clear problems (a lock keeps them apart). A
topic holds its newest sentence; clearing it takes the problem off the status. The
topics of :data:`ROOT` and :data:`CREDENTIALS` put the agent in its error state
(:mod:`agent.engine.snapshot`).
"""

from __future__ import annotations

import threading
from pathlib import Path

ROOT = "root"  # the watched folder is missing or unreadable
OFFLINE = "offline"  # Kompliant does not answer
CREDENTIALS = "credentials"  # Kompliant refuses the credentials


def claim_topic(folder: Path) -> str:
    """The topic of a folder that refuses to let its files be claimed."""
    return f"claim:{folder}"


class Problems:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._texts: dict[str, str] = {}

    def set(self, topic: str, text: str | None) -> None:
        """Record ``text`` for ``topic``, or clear the topic when ``text`` is None."""
        with self._lock:
            if text is None:
                self._texts.pop(topic, None)
            else:
                self._texts[topic] = text

    def known(self, topic: str) -> bool:
        with self._lock:
            return topic in self._texts

    def current(self) -> dict[str, str]:
        """Topic → sentence, in the order the problems were first recorded."""
        with self._lock:
            return dict(self._texts)
