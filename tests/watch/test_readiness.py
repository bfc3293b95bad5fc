"""The look inside a real file that stopped changing, and how events are translated."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from watchdog.events import FileAttribEvent, FileCreatedEvent, FileModifiedEvent

from agent.watch.events import EventKind
from agent.watch.handler import translate
from agent.watch.readiness import Readiness, inspect
from tests.realwriters import documents


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_a_whole_file_is_ready_and_a_cut_one_is_incomplete(tmp_path: Path) -> None:
    whole = _write(tmp_path / "a.pdf", documents.pdf("a", 100_000))
    assert inspect(whole, whole.stat().st_size) is Readiness.WHOLE  # ready, by its end
    cut = _write(tmp_path / "b.pdf", documents.cut_short(documents.pdf("b", 100_000)))
    assert inspect(cut, cut.stat().st_size) is Readiness.INCOMPLETE
    tiff = _write(tmp_path / "c.tif", b"II*\x00" + bytes(500))  # no end marker: timing decides
    assert inspect(tiff, 504) is Readiness.READY


def test_an_empty_file_is_a_placeholder(tmp_path: Path) -> None:
    empty = _write(tmp_path / "d.pdf", b"")
    assert inspect(empty, 0) is Readiness.EMPTY
    emptied = _write(tmp_path / "e.pdf", b"")
    assert inspect(emptied, 10) is Readiness.EMPTY  # emptied after the stat


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="read leases are Linux's")
def test_a_file_open_for_writing_is_writing(tmp_path: Path) -> None:
    path = _write(tmp_path / "f.pdf", documents.pdf("f"))
    with path.open("ab"):
        assert inspect(path, path.stat().st_size) is Readiness.WRITING
    assert inspect(path, path.stat().st_size) is Readiness.WHOLE


def test_what_cannot_be_read_is_left_to_the_upload_to_explain(tmp_path: Path) -> None:
    link = tmp_path / "link.pdf"
    link.symlink_to(_write(tmp_path / "g.pdf", documents.cut_short(documents.pdf("g"))))
    assert inspect(link, 10) is Readiness.READY  # never followed: the upload refuses it
    assert inspect(tmp_path / "gone.pdf", 10) is Readiness.READY


def test_a_synthetic_creation_is_a_file_found_not_seen_being_made() -> None:
    assert translate(FileCreatedEvent("/w/a.pdf")) == [(Path("/w/a.pdf"), EventKind.CREATED, False)]
    assert translate(FileCreatedEvent("/w/a.pdf", is_synthetic=True)) == [
        (Path("/w/a.pdf"), EventKind.SCANNED, False)
    ]


def test_attribute_events_are_their_own_kind() -> None:
    assert translate(FileAttribEvent("/w/a.pdf")) == [(Path("/w/a.pdf"), EventKind.ATTRIB, False)]
    assert translate(FileModifiedEvent("/w/a.pdf")) == [
        (Path("/w/a.pdf"), EventKind.MODIFIED, False)
    ]
