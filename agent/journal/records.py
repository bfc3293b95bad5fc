"""What the journal knows about one file: its steps, outcome and status, as plain data."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


class Step(enum.Enum):
    """The last step a file has *finished*, in pipeline order.

    A file resumes after a crash at the step following the one recorded, so a step is
    recorded only once its work is done (a document created, a form sent, a fulfillment
    added). The value is what the database stores; :attr:`order` compares steps.
    """

    SEEN = "seen"  # noticed in a watched folder
    STABLE = "stable"  # no longer being written (and usually claimed)
    HASHED = "hashed"  # SHA-256 of the claimed file known
    CREATED = "created"  # document.create answered: document_id and upload form
    UPLOADED = "uploaded"  # the presigned POST was accepted
    VERIFIED = "verified"  # document.get reported COMPLETED with the same hash
    LINKED = "linked"  # fulfillment.batchAdd added the fulfillments
    SETTLED = "settled"  # moved to done/ or failed/; nothing more to do

    @property
    def order(self) -> int:
        return _ORDER[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Step):
            return NotImplemented
        return self.order < other.order

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Step):
            return NotImplemented
        return self.order <= other.order

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Step):
            return NotImplemented
        return self.order > other.order

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Step):
            return NotImplemented
        return self.order >= other.order


_ORDER = {step: index for index, step in enumerate(Step)}


class Outcome(enum.Enum):
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class NewPart:
    """A part of a scanned stack about to be recorded (:meth:`Journal.split`).

    ``claimed`` is the part's file in the agent's work folder; ``source`` names it as if it
    were in the stack's folder (its notes and the uploaded name use that name).
    """

    part_number: int
    source: Path
    claimed: Path
    folder_key: str
    workflow_id: str | None
    required_document_ids: tuple[str, ...] = ()


class FolderState(enum.Enum):
    """How ``status`` groups a folder's files."""

    WAITING = "waiting"  # not started yet, or backing off before a retry
    IN_PROGRESS = "in progress"
    DONE = "done"
    FAILED = "failed"
    NEEDS_ROUTING = "needs routing"  # an inbox file that matched no routing rule


@dataclass(frozen=True)
class Entry:
    """One file's journal row.

    ``folder_key`` is the engine's name for the folder the file belongs to (for example
    ``w_…/rd_…+rd_…``, ``w_…/upload-only`` or ``w_…/inbox``); the journal treats it as an
    opaque string and groups ``status`` by it. ``required_document_ids`` is sorted;
    ``fulfillments`` maps a required document id to its fulfillment id.

    A part of a scanned stack has ``parent_id`` (the stack's entry) and ``part_number``;
    ``scan`` holds what the agent found looking at a stack or converting a file (plain
    JSON data, see :mod:`agent.engine.stacks`). A converted file is uploaded from
    ``upload_path`` as ``upload_name``; the claimed original goes to done/.

    ``folder_id`` is the marker id of the agent's folder the file belongs to and
    ``folder_sub`` the sub-folders below it ("2024/jan"): the folder is found again by
    them after a rename or move. ``claimed_ino`` / ``claimed_dev`` identify the claimed
    file, to find it again when it was renamed inside ``.processing/``. ``resolved_at``:
    when a failed file left ``failed/`` (it needs the user no more).
    """

    id: int
    step: Step
    source_path: Path
    claimed_path: Path | None
    final_path: Path | None
    folder_key: str
    workflow_id: str | None
    required_document_ids: tuple[str, ...]
    needs_routing: bool
    file_name: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    document_id: str | None
    form_expires_at: datetime | None
    fulfillments: Mapping[str, str] = field(default_factory=dict)
    outcome: Outcome | None = None
    message: str | None = None
    duplicate_of: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    parent_id: int | None = None
    part_number: int | None = None
    scan: Mapping[str, Any] = field(default_factory=dict)
    upload_path: Path | None = None
    upload_name: str | None = None
    folder_id: str | None = None
    folder_sub: str = ""
    claimed_ino: int | None = None
    claimed_dev: int | None = None
    resolved_at: datetime | None = None

    @property
    def settled(self) -> bool:
        return self.step is Step.SETTLED

    def reached(self, step: Step) -> bool:
        """Whether ``step`` is finished (the recorded step is ``step`` or later)."""
        return self.step >= step

    def state(self, now: datetime) -> FolderState:
        return folder_state(
            step=self.step,
            outcome=self.outcome,
            needs_routing=self.needs_routing,
            backing_off=self.next_attempt_at is not None and self.next_attempt_at > now,
        )


def folder_state(
    *,
    step: Step,
    outcome: Outcome | None,
    needs_routing: bool,
    backing_off: bool,
) -> FolderState:
    """The ``status`` group of one file; ``backing_off``: a retry is scheduled later."""
    if step is Step.SETTLED:
        return FolderState.DONE if outcome is Outcome.DONE else FolderState.FAILED
    if needs_routing:
        return FolderState.NEEDS_ROUTING
    if step <= Step.STABLE or backing_off:
        return FolderState.WAITING
    return FolderState.IN_PROGRESS


@dataclass(frozen=True)
class FolderCounts:
    """How many files of one folder are in each :class:`FolderState`."""

    folder_key: str
    waiting: int = 0
    in_progress: int = 0
    done: int = 0
    failed: int = 0
    needs_routing: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            FolderState.WAITING.value: self.waiting,
            FolderState.IN_PROGRESS.value: self.in_progress,
            FolderState.DONE.value: self.done,
            FolderState.FAILED.value: self.failed,
            FolderState.NEEDS_ROUTING.value: self.needs_routing,
        }
