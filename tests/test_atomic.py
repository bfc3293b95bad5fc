"""Writing a file whole: every byte, or nothing left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from agent.atomic import write_atomically, write_temp
from agent.owned_names import AGENT_OWNED


def test_every_byte_arrives_when_the_disk_takes_a_few_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def short_write(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data[:3]))  # as a write may: fewer bytes than given

    monkeypatch.setattr(os, "write", short_write)
    text = "receipt for résumé.pdf\nSHA-256: abc\n" * 20
    note = write_temp(tmp_path, text)
    assert note.name.startswith(AGENT_OWNED.temp_prefix)
    assert note.read_bytes() == text.encode("utf-8")


def test_a_refused_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(tmp_path / "config.toml", b"x = 1\n")
    assert list(tmp_path.iterdir()) == []


def test_durable_waits_for_the_disk_and_an_empty_file_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    write_atomically(tmp_path / "empty", b"")
    assert (tmp_path / "empty").read_bytes() == b""
    assert len(synced) == 1
    write_atomically(tmp_path / "status", "{}", durable=False)
    assert (tmp_path / "status").read_text() == "{}" and len(synced) == 1
