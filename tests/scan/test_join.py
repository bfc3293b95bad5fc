from __future__ import annotations

from pathlib import Path

import pytest

from agent.scan.join import JoinGroups, PageName, page_name

INBOX = Path("/k/Inbox")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("scan-1.png", PageName("scan-", 1, ".png")),
        ("scan_002.JPEG", PageName("scan_", 2, ".jpg")),
        ("IMG 3.tiff", PageName("IMG ", 3, ".tif")),
        ("0004.bmp", PageName("", 4, ".bmp")),
        ("scan.png", None),
        ("scan-1.pdf", None),
        ("scan-1.heic", None),
    ],
)
def test_numbered_page_names(name: str, expected: PageName | None) -> None:
    assert page_name(name) == expected


def test_joined_names() -> None:
    assert PageName("scan-", 1, ".png").joined_name == "scan.pdf"
    assert PageName("", 1, ".png").joined_name == "scan.pdf"
    assert PageName("Tax (", 1, ".png").joined_name == "Tax.pdf"


def test_pages_of_one_scan_are_one_group_once_quiet_for_the_window() -> None:
    groups = JoinGroups()
    assert groups.add(INBOX / "scan-2.png", 5.0, now=0.0)
    assert groups.add(INBOX / "scan-10.png", 5.0, now=1.0)
    assert groups.add(INBOX / "scan-1.png", 5.0, now=2.0)
    assert groups.add(INBOX / "other-1.png", 5.0, now=2.0)
    assert groups.add(INBOX / "scan-3.jpg", 5.0, now=2.0)  # another type: another group
    assert not groups.add(INBOX / "letter.png", 5.0, now=2.0)
    assert groups.pending() == 5 and groups.next_deadline() == 7.0
    assert groups.due(6.9) == []
    due = groups.due(7.0)
    assert [INBOX / "scan-1.png", INBOX / "scan-2.png", INBOX / "scan-10.png"] in due
    assert [INBOX / "other-1.png"] in due and len(due) == 3
    assert groups.pending() == 0


def test_a_page_removed_before_the_group_is_complete() -> None:
    groups = JoinGroups()
    groups.add(INBOX / "scan-1.png", 5.0, now=0.0)
    groups.add(INBOX / "scan-2.png", 5.0, now=0.0)
    groups.forget(INBOX / "scan-1.png")
    assert groups.holds(INBOX / "scan-2.png") and not groups.holds(INBOX / "scan-1.png")
    assert groups.due(5.0) == [[INBOX / "scan-2.png"]]
