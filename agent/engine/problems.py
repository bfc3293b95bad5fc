"""What is wrong right now, one sentence per topic, for the status and the tray.

The loop and the workers both record and clear problems (a lock keeps them apart). A
topic holds its newest sentence; clearing it takes the problem off the status. The
topics of :data:`ROOT`, :data:`CREDENTIALS` and internal errors put the agent in its
error state; a full disk or a file that is not a regular one need the user
(:func:`needs_user`); the sentences of the others are in :mod:`agent.engine.trouble`.
:attr:`Problems.version` changes with every change, so the status is built again only
when something changed.
"""

from __future__ import annotations

import threading
from pathlib import Path

ROOT = "root"  # the watched folder is missing or unreadable
OFFLINE = "offline"  # Kompliant does not answer
CREDENTIALS = "credentials"  # Kompliant refuses the credentials


INTERNAL_PREFIX = "internal:"  # a bug met while handling one file (one topic per file)
_USER_PREFIXES = ("disk-full:", "not-regular:", "claim:")


def internal_topic(entry_id: int) -> str:
    return f"{INTERNAL_PREFIX}{entry_id}"


def is_error(topic: str) -> bool:
    """Whether ``topic`` puts the agent in its error state (something needs fixing)."""
    return topic in (ROOT, CREDENTIALS) or topic.startswith(INTERNAL_PREFIX)


def needs_user(topic: str) -> bool:
    """Whether ``topic`` waits for the user (room on a disk, a file to take away…)."""
    return topic.startswith(_USER_PREFIXES)


def claim_topic(folder: Path) -> str:
    """The topic of a folder that refuses to let its files be claimed."""
    return f"claim:{folder}"


class Problems:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._texts: dict[str, str] = {}
        self.version = 0

    def set(self, topic: str, text: str | None) -> None:
        """Record ``text`` for ``topic``, or clear the topic when ``text`` is None."""
        with self._lock:
            if self._texts.get(topic) == text:
                return
            if text is None:
                self._texts.pop(topic, None)
            else:
                self._texts[topic] = text
            self.version += 1

    def known(self, topic: str) -> bool:
        with self._lock:
            return topic in self._texts

    def current(self) -> dict[str, str]:
        """Topic → sentence, in the order the problems were first recorded."""
        with self._lock:
            return dict(self._texts)
