"""A claimed file renamed or moved is found again by what a rename cannot change."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from agent.owned_names import AGENT_OWNED
from agent.settle import (
    ClaimMissing,
    DoneRecord,
    current_owner,
    find_claimed,
    move_record,
    remove_record,
    settle_done,
)
from agent.settle.claim import Claim
from tests.settle.files import claimed


def test_a_file_renamed_inside_processing_is_found_by_its_inode(tmp_path: Path) -> None:
    taken = claimed(tmp_path, "scan.pdf", b"the scan")
    other = claimed(tmp_path, "other.pdf", b"the scan")  # same content, another file
    st = taken.path.stat()
    renamed = taken.path.with_name("Scan 2024-03.pdf")
    taken.path.rename(renamed)
    found = find_claimed(tmp_path, ino=st.st_ino, dev=st.st_dev, size=8, sha256=None)
    assert found == renamed
    assert (
        find_claimed(tmp_path, ino=st.st_ino, dev=st.st_dev, size=8, sha256=None, skip={renamed})
        is None
    )
    assert other.path.exists()


def test_without_its_inode_the_same_size_and_hash_finds_it(tmp_path: Path) -> None:
    taken = claimed(tmp_path, "scan.pdf", b"the scan")
    claimed(tmp_path, "same size.pdf", b"12345678")
    copy = taken.path.with_name("copy.pdf")
    shutil.copyfile(taken.path, copy)  # a copy (as a move across file systems makes)
    taken.path.unlink()
    sha = hashlib.sha256(b"the scan").hexdigest()
    assert find_claimed(tmp_path, ino=1, dev=1, size=8, sha256=sha) == copy
    copy.unlink()
    assert find_claimed(tmp_path, ino=1, dev=1, size=8, sha256=sha) is None  # gone for real


def test_the_owner_record_follows_the_file_and_goes_with_it(tmp_path: Path) -> None:
    taken = claimed(tmp_path, "scan.pdf", b"x")
    renamed = Claim(
        taken.path.with_name("renamed.pdf"), taken.source, taken.owner, taken.claimed_at
    )
    taken.path.rename(renamed.path)
    move_record(taken.path, renamed, current_owner())
    names = sorted(os.listdir(tmp_path / AGENT_OWNED.processing_dir))
    assert names == ["renamed.pdf", "renamed.pdf" + AGENT_OWNED.claim_suffix]
    record = json.loads(renamed.record_path.read_text())
    assert record["source"] == str(tmp_path / "scan.pdf")
    renamed.path.unlink()
    remove_record(renamed.path)
    assert os.listdir(tmp_path / AGENT_OWNED.processing_dir) == []


def test_settling_a_file_whose_folder_was_renamed_says_it_is_missing(tmp_path: Path) -> None:
    folder = tmp_path / "Bank statements"
    taken = claimed(folder, "scan.pdf", b"x")
    folder.rename(tmp_path / "Statements")
    record = DoneRecord(document_id="d_1", sha256="aa", size=1)
    with pytest.raises(ClaimMissing):
        settle_done(taken, record)
    assert not folder.exists()  # nothing created on the old path


def test_a_file_claimed_as_its_folder_moved_is_found_by_its_name(tmp_path: Path) -> None:
    taken = claimed(tmp_path / "Bank statements", "scan.pdf", b"x")
    other = claimed(tmp_path / "Bank statements", "other.pdf", b"y")
    moved = tmp_path / "Statements"
    (tmp_path / "Bank statements").rename(moved)
    here = moved / AGENT_OWNED.processing_dir
    # neither inode nor content known: the claimed name, when no other entry holds it
    assert find_claimed(moved, ino=None, dev=None, size=None, sha256=None, name="scan.pdf") == (
        here / "scan.pdf"
    )
    skip = {here / "other.pdf"}
    assert (
        find_claimed(moved, ino=None, dev=None, size=None, sha256=None, name="other.pdf", skip=skip)
        is None
    )
    assert taken.path.name == "scan.pdf" and other.path.name == "other.pdf"
