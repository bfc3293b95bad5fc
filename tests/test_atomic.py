"""Writing a file whole: the bytes as given, owner-only, nothing left when a write fails."""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from agent.atomic import write_atomically, write_temp
from agent.owned_names import AGENT_OWNED


def test_the_file_holds_exactly_the_bytes_and_replaces_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")
    text = "line one\nline two é 😀\n" * 5000  # larger than one write may take
    write_atomically(target, text, durable=False)
    assert target.read_bytes() == text.encode("utf-8")  # "\n" stays "\n", never "\r\n"
    write_atomically(target, b"\x00\r\n\xff")
    assert target.read_bytes() == b"\x00\r\n\xff"
    assert os.listdir(tmp_path) == ["record.json"]  # no temporary file left


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_a_temporary_file_is_new_and_readable_by_its_owner_only(tmp_path: Path) -> None:
    first = write_temp(tmp_path, "a")
    second = write_temp(tmp_path, "b")
    assert first != second and first.name.startswith(AGENT_OWNED.temp_prefix)
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert (first.read_text(), second.read_text()) == ("a", "b")


def test_a_taken_name_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = iter(["00" * 8, "00" * 8, "01" * 8])  # the names mkstemp tries, in turn
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)
    taken = tmp_path / f"{AGENT_OWNED.temp_prefix}{'00' * 8}"
    taken.write_text("someone else's")
    made = write_temp(tmp_path, "mine")
    assert made.name == f"{AGENT_OWNED.temp_prefix}{'01' * 8}" and made.read_text() == "mine"
    assert taken.read_text() == "someone else's"


def test_a_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError):
        write_atomically(tmp_path / "x.json", "data")
    assert os.listdir(tmp_path) == []


def test_a_missing_folder_is_made_unless_told_not_to(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "gone" / "x.json", "data", make_folder=False)
    assert not (tmp_path / "gone").exists()
    write_atomically(tmp_path / "made" / "x.json", "data")
    assert (tmp_path / "made" / "x.json").read_text() == "data"


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
