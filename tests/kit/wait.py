"""Waiting for a condition: a bounded poll, never a fixed sleep."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    *,
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "the condition",
    process: subprocess.Popen[Any] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail the
    test after ``timeout`` seconds, saying ``what`` it waited for.

    With ``process``, stop early (and say so) when that process exits meanwhile.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            value = condition()
            if value:
                return value
            raise AssertionError(f"the agent exited ({process.returncode}) before {what}")
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
