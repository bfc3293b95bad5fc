"""Child processes a test starts: never left running after it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

P = TypeVar("P", bound="subprocess.Popen[Any]")


@contextmanager
def reaped(process: P) -> Iterator[P]:
    """``process`` for the block; killed and waited for at its end if it still runs (a
    failed assertion, or a test that ends it itself and fails before)."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
