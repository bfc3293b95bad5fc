"""The folders show review states: one notice named after the state, and a note beside
the receipt of a rejected file."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from agent.config import Config
from agent.decide.markers import MARKER_NAME, FolderKind, Marker, write_marker
from agent.decide.tree import FolderTree
from agent.owned_names import AGENT_OWNED
from agent.review.folders import note_rejections, show_states
from agent.review.state import (
    FulfillmentSeen,
    RequirementReview,
    RequirementState,
    WorkflowReview,
)


def tree_with(folder: Path, *rds: str) -> FolderTree:
    """The tree as read with ``folder`` marked (the marker is written when it exists)."""
    kind = FolderKind.COMBINED if len(rds) > 1 else FolderKind.REQUIREMENT
    marker = Marker(kind, "id1", "w_1", "sr_1", tuple(rds), title="Bank")
    if folder.is_dir():
        write_marker(folder, marker)
    return FolderTree(root=folder.parent, config=Config(), folders={folder: marker})


def reviews(*states: tuple[str, RequirementState]) -> list[WorkflowReview]:
    items = tuple(
        RequirementReview("w_1", rd, f"Name {rd}", state, "2025-01-01T00:00:00+00:00")
        for rd, state in states
    )
    return [WorkflowReview("w_1", "Acme", "STARTED", False, items)]


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_the_notice_is_renamed_with_the_state_and_users_files_stay(tmp_path: Path) -> None:
    folder = tmp_path / "Bank statements"
    folder.mkdir()
    (folder / "_STATUS - my notes.pdf").write_bytes(b"mine")
    tree = tree_with(folder, "rd_a")

    show_states(tree, reviews(("rd_a", RequirementState.NEEDS_REVIEW)), "now")
    assert visible(folder) == ["_STATUS - my notes.pdf", AGENT_OWNED.status_needs_review]
    text = (folder / AGENT_OWNED.status_needs_review).read_text(encoding="utf-8")
    assert text.startswith("Name rd_a: uploaded, waiting for review")

    show_states(tree, reviews(("rd_a", RequirementState.REJECTED)), "later")
    assert visible(folder) == ["_STATUS - my notes.pdf", AGENT_OWNED.status_rejected]

    show_states(tree, reviews(("rd_a", RequirementState.UNKNOWN)), "later")  # keeps it
    assert visible(folder) == ["_STATUS - my notes.pdf", AGENT_OWNED.status_rejected]

    show_states(tree, reviews(("rd_a", RequirementState.INACTIVE)), "later")
    assert visible(folder) == ["_STATUS - my notes.pdf"]  # the _INACTIVE notice says it


def test_a_combined_folder_shows_the_state_needing_a_person(tmp_path: Path) -> None:
    folder = tmp_path / "Bank + address"
    folder.mkdir()
    show_states(
        tree_with(folder, "rd_a", "rd_b"),
        reviews(("rd_a", RequirementState.ACCEPTED), ("rd_b", RequirementState.MISSING)),
        "now",
    )
    assert visible(folder) == [AGENT_OWNED.status_missing]


def test_a_rejection_note_goes_beside_the_receipt_naming_the_fulfillment(tmp_path: Path) -> None:
    folder = tmp_path / "Bank statements"
    done = folder / "done"
    done.mkdir(parents=True)
    (done / "jan.pdf").write_bytes(b"%PDF")
    receipt = "Uploaded to Kompliant as document d_1.\nLinked to:\n  Bank (rd_a): fulfillment f_9\n"
    (done / "jan.pdf.receipt.txt").write_text(receipt, encoding="utf-8")
    (done / "feb.pdf.receipt.txt").write_text("fulfillment f_8\n", encoding="utf-8")
    rejected = {"rd_a": [FulfillmentSeen("f_9", "d_1", "REJECTED")]}
    at = datetime(2025, 1, 2, tzinfo=UTC)

    written = note_rejections(tree_with(folder, "rd_a"), "w_1", rejected, {"rd_a": "Bank"}, at)

    assert written == [done / "jan.pdf.rejected.txt"]
    note = written[0].read_text(encoding="utf-8")
    assert "rejected jan.pdf for Bank (rd_a)" in note and "f_9" in note
    assert (done / "jan.pdf.receipt.txt").read_text(encoding="utf-8") == receipt
    assert note_rejections(tree_with(folder, "rd_a"), "w_1", rejected, {}, at) == []  # once


def test_nothing_is_written_where_a_folder_was_renamed_or_deleted(tmp_path: Path) -> None:
    root = tmp_path / "Kompliant"
    folder = root / "Demo" / "Bank statements"
    folder.mkdir(parents=True)
    tree = tree_with(folder, "rd_a")  # read before the user changes the folders
    renamed = folder.with_name("Statements")
    folder.rename(renamed)
    show_states(tree, reviews(("rd_a", RequirementState.NEEDS_REVIEW)), "now")
    assert not folder.exists()  # never created again on the old path
    assert visible(renamed) == []  # and nothing written where the tree did not read it

    (renamed / MARKER_NAME).unlink()  # its marker deleted: an ordinary folder now
    unmarked = FolderTree(root=root, config=Config(), folders={renamed: tree.folders[folder]})
    show_states(unmarked, reviews(("rd_a", RequirementState.NEEDS_REVIEW)), "now")
    assert visible(renamed) == []

    shutil.rmtree(root)  # the whole root deleted
    show_states(tree, reviews(("rd_a", RequirementState.ACCEPTED)), "now")
    rejected = {"rd_a": [FulfillmentSeen("f_9", "d_1", "REJECTED")]}
    at = datetime(2025, 1, 2, tzinfo=UTC)
    assert note_rejections(tree, "w_1", rejected, {"rd_a": "Bank"}, at) == []
    assert not root.exists()
