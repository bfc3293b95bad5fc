"""Agents of installs a test starts, ended however the test ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.engine.crashkit import Install


@contextlib.contextmanager
def killed_after(*installs: Install) -> Iterator[None]:
    """Kill every agent of ``installs`` when the block ends; when it fails, print their
    logs first."""
    try:
        yield
    except BaseException:
        print(*(install.logs() for install in installs))
        raise
    finally:
        for install in installs:
            install.kill_all()
