"""Scanned pages the agent cannot route: saved as a file of their own in the watched folder
they came from, where they wait for the user to move them like any inbox file (on a
worker). Each is settled as done with a note that says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.journal import Entry, Journal, Outcome
from agent.owned_names import AGENT_OWNED
from agent.settle.claim import Claim
from agent.settle.moves import move_to_free_name
from agent.settle.outcome import settle_with_receipt
from agent.settle.stack import RECEIPT_HEAD, settle_members


def leave_joined(
    journal: Journal, entry: Entry, claim: Claim, noticed: Callable[[Path], None]
) -> None:
    """Joined page images in the Inbox, no rule, no cover: the joined PDF is saved in
    the Inbox to be routed by hand, and the page images go to done/ with a receipt."""
    assert entry.upload_path is not None
    name = str(entry.scan.get("joined_name") or entry.upload_path.name)
    saved = move_to_free_name(entry.upload_path, claim.folder, name)
    noticed(saved)
    text = (
        f"{RECEIPT_HEAD}{entry.file_name}\n\n"
        f"Not uploaded: {entry.scan.get('converted', 'joined into one PDF')}, saved as "
        f"{saved.name} in this folder. No inbox rule matches it and it holds no cover "
        "sheet: move it into the folder of its required document.\n"
    )
    settle_members(entry.scan.get("members", ()), claim.folder, AGENT_OWNED.done_dir)
    final = settle_with_receipt(claim, text)
    journal.settle(entry.id, Outcome.DONE, final, f"joined into {saved.name}, which needs routing")


def leave_part(journal: Journal, entry: Entry, noticed: Callable[[Path], None]) -> None:
    """A part with no cover in front, in the Inbox without a rule: saved there as a file
    of its own, which then waits for routing like any inbox file."""
    assert entry.claimed_path is not None
    folder = entry.source_path.parent
    final = move_to_free_name(entry.claimed_path, folder, entry.source_path.name)
    noticed(final)
    journal.settle(
        entry.id,
        Outcome.DONE,
        final,
        f"saved as {final.name} in this folder, to be routed by hand (no cover sheet in "
        "front of these pages, and no inbox rule)",
    )
