"""Which names are never documents."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from agent.owned_names import AGENT_OWNED
from agent.watch.ignore import (
    ignore_under,
    is_agent_owned,
    is_ignored,
    is_ignored_path,
)


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.pdf",
        ".DS_Store",
        "._march.pdf",
        ".~lock.report.docx#",
        "~$report.docx",
        "scan.tmp",
        "SCAN.TMP",
        "statement.pdf.part",
        "statement.pdf.crdownload",
        "statement.pdf.download",
        "statement.pdf.partial",
        "Thumbs.db",
        "thumbs.db",
        "desktop.ini",
        "Desktop.ini",
        "done",
        "failed",
        ".processing",
        ".kompliant-folder.json",
        ".kompliant",
        "march.pdf.error.txt",
        "march.pdf.receipt.txt",
        "_INACTIVE - no longer required.txt",
        "_ENDED - workflow ended.txt",
        "notes.txt~",
        "",
    ],
)
def test_ignored_names(name: str) -> None:
    assert is_ignored(name, case_insensitive=False)


@pytest.mark.parametrize(
    "name",
    [
        "march.pdf",
        "passport scan.JPG",
        "Bank statements",
        "done.pdf",
        "failed letter.pdf",
        "template.docx",
        "tmp.pdf",
        "Inbox",
        "receipt.txt",
        "~notes.pdf",
        "_INACTIVE.pdf",
    ],
)
def test_document_names(name: str) -> None:
    assert not is_ignored(name, case_insensitive=False)


@pytest.mark.parametrize(
    ("name", "case_insensitive", "ignored"),
    [
        ("Done", False, False),  # Linux: a user's own folder called "Done" is theirs
        ("Done", True, True),  # Windows, macOS: it is the same folder as "done"
        ("FAILED", True, True),
        ("X.PDF.ERROR.TXT", True, True),
        ("X.PDF.ERROR.TXT", False, False),
    ],
)
def test_agent_names_follow_the_systems_case_rule(
    name: str, case_insensitive: bool, ignored: bool
) -> None:
    assert is_ignored(name, case_insensitive=case_insensitive) is ignored


@pytest.mark.parametrize(
    ("name", "patterns", "case_insensitive", "ignored"),
    [
        ("draft-march.pdf", ["draft-*"], False, True),
        ("Draft-march.pdf", ["draft-*"], False, False),
        ("Draft-march.pdf", ["draft-*"], True, True),
        ("march.pdf", ["draft-*", "*.bak"], False, False),
        ("march.bak", ["draft-*", "*.bak"], False, True),
        ("scan[1].pdf", ["scan[[]1].pdf"], False, True),
    ],
)
def test_user_patterns(
    name: str, patterns: list[str], case_insensitive: bool, ignored: bool
) -> None:
    assert is_ignored(name, patterns, case_insensitive=case_insensitive) is ignored


def test_agent_owned_names_are_one_set() -> None:
    assert AGENT_OWNED.folders == {"done", "failed", ".processing"}
    assert AGENT_OWNED.sidecar_suffixes == (".error.txt", ".receipt.txt")
    assert AGENT_OWNED.folder_marker.startswith(AGENT_OWNED.marker_prefix)
    assert is_agent_owned("done", case_insensitive=False)
    assert not is_agent_owned("march.pdf", case_insensitive=False)


ROOT = PurePosixPath("/home/ann/Kompliant")


@pytest.mark.parametrize(
    ("relative", "ignored"),
    [
        ("Acme w_1/Bank statements/march.pdf", False),
        ("Acme w_1/Bank statements/done/march.pdf", True),
        ("Acme w_1/Bank statements/failed/march.pdf.error.txt", True),
        ("Acme w_1/Bank statements/.processing/march.pdf", True),
        ("Acme w_1/.kompliant-workflow.json", True),
        ("Acme w_1/Inbox/~$scan.docx", True),
        ("Acme w_1/Inbox/old/scan.pdf", False),
    ],
)
def test_paths_are_judged_by_every_component(relative: str, ignored: bool) -> None:
    assert is_ignored_path(ROOT / relative, ROOT, case_insensitive=False) is ignored


def test_path_outside_root_is_ignored() -> None:
    assert is_ignored_path(PurePosixPath("/elsewhere/a.pdf"), ROOT)


def test_ignore_under_picks_the_root_holding_the_path(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    share = outer / ".share"  # a root may itself have a name that would be ignored below another
    ignore = ignore_under([outer, share], ["*.bak"])
    assert not ignore(share / "a.pdf")
    assert ignore(share / "done" / "a.pdf")
    assert not ignore(outer / "x" / "a.pdf")
    assert ignore(outer / "x" / "a.bak")
    assert ignore(tmp_path / "a.pdf")
    assert ignore(tmp_path / "outer2" / "a.pdf")  # beside the root, not under it
    assert not ignore(outer)


def test_review_status_notices_are_agent_owned_but_only_their_exact_names() -> None:
    for name in AGENT_OWNED.status_notices:
        assert name.startswith("_STATUS - ") and name.endswith(".txt")
        assert is_ignored(name)
    assert len(AGENT_OWNED.status_notices) == 5
    assert not is_ignored("_STATUS - my own notes.pdf")  # a user's file is a document
