"""A file still open for writing, told by a Linux read lease (and quietly not elsewhere)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.watch.leases import open_for_writing

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux leases")


def test_a_file_open_for_writing_in_another_process_is_told(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7 first page")
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys; f = open(sys.argv[1], 'ab'); sys.stdin.read()", path],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while open_for_writing(path) is not True:  # until the child has opened it
            assert time.monotonic() < deadline and writer.poll() is None
            time.sleep(0.01)
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(timeout=10)
    assert open_for_writing(path) is False


def test_a_file_open_only_for_reading_is_not_being_written(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x")
    with path.open("rb"):
        assert open_for_writing(path) is False
    with path.open("ab"):
        assert open_for_writing(path) is True


def test_what_cannot_be_told_is_none(tmp_path: Path) -> None:
    assert open_for_writing(tmp_path / "missing.pdf") is None
    fifo = tmp_path / "x.pdf"
    os.mkfifo(fifo)
    assert open_for_writing(fifo) is None
    link = tmp_path / "link.pdf"
    link.symlink_to(tmp_path / "a")
    assert open_for_writing(link) is None


def test_a_writer_opening_while_the_lease_is_checked_is_not_hurt(tmp_path: Path) -> None:
    """The lease's break signal must not end the agent: open for writing from another
    process again and again while leases are taken."""
    path = tmp_path / "busy.pdf"
    path.write_bytes(b"x")
    churn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfor _ in range(3000):\n    open(sys.argv[1], 'ab').close()",
            path,
        ]
    )
    answers = set()
    while churn.poll() is None:
        answers.add(open_for_writing(path))
    assert churn.returncode == 0
    assert answers <= {True, False}
