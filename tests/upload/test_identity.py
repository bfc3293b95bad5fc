"""identify(): size, mtime and streaming SHA-256, and the files it refuses."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from agent.errors import FileProblem
from agent.upload.identity import identify


def test_identity_matches_the_content_hashed_in_small_chunks(tmp_path: Path) -> None:
    data = os.urandom(100_001)
    path = tmp_path / "a.pdf"
    path.write_bytes(data)
    identity = identify(path, chunk_size=4096)
    st = path.stat()
    assert identity.size == 100_001
    assert identity.mtime_ns == st.st_mtime_ns
    assert identity.sha256 == hashlib.sha256(data).hexdigest()
    assert identity.same_stat(st)


def test_an_empty_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.touch()
    with pytest.raises(FileProblem) as info:
        identify(path)
    assert info.value.code == "FILE_EMPTY"
    assert "empty (0 bytes)" in info.value.describe()
    assert "scan it again" in info.value.describe()


def test_a_vanished_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileProblem) as info:
        identify(tmp_path / "gone.pdf")
    assert info.value.code == "FILE_VANISHED"


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileProblem) as info:
        identify(tmp_path)
    assert info.value.code == "FILE_NOT_REGULAR"
    assert "folder" in info.value.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    with pytest.raises(FileProblem) as info:
        identify(fifo)
    assert info.value.code == "FILE_NOT_REGULAR"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    path.write_bytes(b"x")
    path.chmod(0)
    with pytest.raises(FileProblem) as info:
        identify(path)
    assert info.value.code == "FILE_UNREADABLE"
