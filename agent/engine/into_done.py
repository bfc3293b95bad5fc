"""Into done/: a file that reached Kompliant goes beside its receipt, and its entry is settled.

The receipt gives the size and SHA-256 it is handed — the pipeline hands over what it
verified of the file just before (:mod:`agent.engine.verified_settle`) — and the
requirements the document fulfils. A part of a stack has no file of its own in done/ (the
stack's file goes there with the receipt of every part); a copy of a file already uploaded
gets a receipt that names the earlier document.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.journal import Entry, Journal, Outcome
from agent.owned_names import AGENT_OWNED
from agent.settle.claim import Claim
from agent.settle.outcome import DoneRecord, Fulfilled, settle_done
from agent.settle.stack import remove_work_file, settle_members
from agent.upload.identity import FileIdentity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    outcome: Outcome
    final_path: Path
    message: str


def uploaded(
    journal: Journal,
    entry: Entry,
    claim: Claim,
    identity: FileIdentity,
    requirement_names: dict[str, str],
) -> Settled:
    """``entry``'s document is stored and linked: its file goes to done/ with a receipt
    giving ``identity``'s size and SHA-256."""
    assert entry.document_id is not None
    message = f"uploaded as {entry.document_id}"
    if entry.parent_id is not None:
        return _part_done(journal, entry, claim, message)
    record = DoneRecord(
        document_id=entry.document_id,
        sha256=identity.sha256,
        size=identity.size,
        fulfillments=_fulfilled(entry, requirement_names),
        settled_at=datetime.now(UTC),
        converted=_converted(entry),
    )
    settle_members(entry.scan.get("members", ()), claim.folder, AGENT_OWNED.done_dir)
    final = settle_done(claim, record)
    journal.settle(entry.id, Outcome.DONE, final, message)
    if entry.upload_path is not None:
        remove_work_file(entry.upload_path)  # its folder is the engine's to tidy
    return Settled(Outcome.DONE, final, message)


def duplicate(
    journal: Journal,
    entry: Entry,
    claim: Claim,
    earlier: Entry,
    read: FileIdentity | None,
    requirement_names: dict[str, str],
) -> Settled:
    """``entry``'s file has the content of ``earlier``'s document: not uploaded again. Its
    receipt gives ``read``'s size and SHA-256 (``None`` only for a part of a stack)."""
    assert earlier.document_id is not None
    message = f"not uploaded again: same content as document {earlier.document_id}"
    if entry.parent_id is not None:
        remove_work_file(claim.path)
        journal.settle(entry.id, Outcome.DONE, None, message, duplicate_of=earlier.document_id)
        return Settled(Outcome.DONE, claim.path, message)
    assert read is not None
    record = DoneRecord(
        document_id=earlier.document_id,
        sha256=read.sha256,
        size=read.size,
        fulfillments=_fulfilled(earlier, requirement_names),
        duplicate=True,
        settled_at=datetime.now(UTC),
        converted=_converted(entry),
    )
    settle_members(entry.scan.get("members", ()), claim.folder, AGENT_OWNED.done_dir)
    final = settle_done(claim, record)
    journal.settle(entry.id, Outcome.DONE, final, message, duplicate_of=earlier.document_id)
    log.info("%s: %s", entry.file_name, message)
    return Settled(Outcome.DONE, final, message)


def _part_done(journal: Journal, entry: Entry, claim: Claim, message: str) -> Settled:
    """A part of a stack is in Kompliant: its file (a copy of pages of the stack, which
    goes to done/ with the receipt of every part) is removed, then the entry settled.
    Stopped in between, the restart finds the part uploaded and its file gone, and
    settles it (agent.engine.stacks)."""
    remove_work_file(claim.path)
    journal.settle(entry.id, Outcome.DONE, None, message)
    log.info("part %s of a stack: %s", entry.file_name, message)
    return Settled(Outcome.DONE, claim.path, message)


def _converted(entry: Entry) -> str:
    words = entry.scan.get("converted", "")
    if not words or entry.upload_path is None:
        return ""
    return f"{words}; uploaded as {entry.upload_name or entry.file_name}"


def _fulfilled(entry: Entry, requirement_names: dict[str, str]) -> tuple[Fulfilled, ...]:
    return tuple(
        Fulfilled(rd, requirement_names.get(rd, rd), fulfillment)
        for rd, fulfillment in sorted(entry.fulfillments.items())
    )
