"""Fixtures shared by every test package, and the demo fixture's ids.

The sandbox fixture, its helpers and the demo fixture's ids are :mod:`tests.kit.sandbox`'s
(imported here so every package sees them). Every test gets its own
``KOMPLIANT_AGENT_HOME``, so nothing touches a user's folders.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.locations import HOME_ENV
from tests.kit.sandbox import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    ENDED_WORKFLOW,
    OTHER_SUBJECT,
    OTHER_WORKFLOW,
    RD_ADDRESS,
    RD_BANK,
    RD_ENDED,
    RD_ID,
    RD_INACTIVE,
    RD_OTHER,
    create_document,
    demo_credentials,
    sandbox,
    sandbox_admin,
    sandbox_call,
    sandbox_settings,
    sandbox_upload,
    uploaded_document,
)

__all__ = [
    "DEMO_SUBJECT",
    "DEMO_WORKFLOW",
    "ENDED_WORKFLOW",
    "OTHER_SUBJECT",
    "OTHER_WORKFLOW",
    "RD_ADDRESS",
    "RD_BANK",
    "RD_ENDED",
    "RD_ID",
    "RD_INACTIVE",
    "RD_OTHER",
    "create_document",
    "demo_credentials",
    "fill_up",
    "sandbox",
    "sandbox_admin",
    "sandbox_call",
    "sandbox_settings",
    "sandbox_upload",
    "small_tmpfs",
    "uploaded_document",
]


@pytest.fixture(autouse=True)
def _agent_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path_factory.mktemp("agent-home")))


@contextlib.contextmanager
def small_tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """A real, small file system (tmpfs of ``size``, e.g. ``2m``) at ``mount_point``, for
    full-disk cases; the test is skipped where it cannot be mounted (needs root)."""
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


@pytest.fixture
def small_root(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB file system (tmpfs) for the watched root, where root may mount one."""
    with small_tmpfs(tmp_path / "small", "2m") as mount_point:
        yield mount_point


def fill_up(folder: Path) -> Path:
    """Write ``folder/.filler`` until the file system is full (ENOSPC); return its path
    (unlinking it makes room again)."""
    filler = folder / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler
