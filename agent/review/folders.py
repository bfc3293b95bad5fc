"""Show review states in the folders: one ``_STATUS - …`` notice per requirement folder,
and a ``.rejected.txt`` note beside the receipt of a file the reviewer rejected.

The notice's *name* carries the state (``_STATUS - accepted.txt``,
``_STATUS - rejected, send a new file.txt`` …), so Explorer, Finder and Nautilus show it
without opening anything; the leading ``_`` sorts it first. Its names are agent-owned
(:data:`agent.watch.ignore.AGENT_OWNED`): the watcher skips them and routing never
uploads them. Only those exact names are ever removed, so no file of a user is touched.
A folder linked to several required documents shows the state that needs a person most.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from agent.decide.markers import FolderKind, still_marked, write_in
from agent.decide.tree import FolderTree
from agent.owned_names import AGENT_OWNED
from agent.review.state import (
    NOTICE_FOR_STATE,
    FulfillmentSeen,
    RequirementReview,
    RequirementState,
    WorkflowReview,
    folder_state,
)

log = logging.getLogger(__name__)

_TEXT = {
    RequirementState.MISSING: "No file has been sent for it yet: drop the document into "
    "this folder and the agent uploads it.",
    RequirementState.NEEDS_REVIEW: "A file was uploaded and waits for a reviewer. Nothing "
    "to do for now.",
    RequirementState.IN_REVIEW: "A reviewer is looking at the file sent. Nothing to do for now.",
    RequirementState.ACCEPTED: "The reviewer accepted the file sent. Nothing more is needed here.",
    RequirementState.REJECTED: "The reviewer rejected the file sent (see done/, the "
    ".rejected.txt note beside its receipt). Drop a new file into this folder.",
}


def notice_text(names: Sequence[str], state: RequirementState, at: str) -> str:
    """The notice's text (pure)."""
    return "\n".join(
        [
            f"{', '.join(names)}: {state.words}",
            "",
            _TEXT.get(state, ""),
            "",
            f"Seen by kompliant-agent at {at}. The agent renames this note when the state",
            "changes; it is never uploaded. `kompliant-agent status` shows every folder.",
            "",
        ]
    )


def show_states(
    tree: FolderTree,
    reviews: Sequence[WorkflowReview],
    at: str,
    *,
    only: Collection[tuple[str, str]] | None = None,
) -> list[Path]:
    """Put the right notice in every requirement and combined folder (or only in those of
    the (workflow id, required document id) pairs in ``only``); the notices written.

    A folder whose required documents were never checked keeps what it has.
    """
    by_rd: dict[tuple[str, str], RequirementReview] = {
        (r.workflow_id, r.required_document_id): r for w in reviews for r in w.requirements
    }
    written: list[Path] = []
    for folder, marker in sorted(tree.folders.items()):
        if marker.kind not in (FolderKind.REQUIREMENT, FolderKind.COMBINED):
            continue
        if only is not None and not any(
            (marker.workflow_id, rd) in only for rd in marker.required_document_ids
        ):
            continue
        found = [by_rd.get((marker.workflow_id, rd)) for rd in marker.required_document_ids]
        known = [r for r in found if r is not None]
        if not known:
            continue
        state = folder_state([r.state for r in known])
        if state is RequirementState.UNKNOWN:
            continue
        path = _show(folder, marker.folder_id, state, [r.name for r in known], at)
        if path is not None:
            written.append(path)
    return written


def _show(
    folder: Path, folder_id: str, state: RequirementState, names: Sequence[str], at: str
) -> Path | None:
    wanted = NOTICE_FOR_STATE.get(state)
    if not still_marked(folder, folder_id):
        return None  # renamed, moved or deleted since the tree was read: never re-created
    try:
        for name in AGENT_OWNED.status_notices - {wanted}:
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
        if wanted is None or (folder / wanted).exists():
            return None
        path = folder / wanted
        write_in(folder, wanted, notice_text(names, state, at).encode("utf-8"))
    except OSError as error:
        log.warning("cannot write the status notice in %s: %s", folder, error)
        return None
    log.debug("%s: %s", folder, state.words)
    return path


def note_rejections(
    tree: FolderTree,
    workflow_id: str,
    rejected: Mapping[str, Sequence[FulfillmentSeen]],
    names: Mapping[str, str],
    at: datetime,
) -> list[Path]:
    """Write ``<file>.rejected.txt`` beside the receipt of each file whose fulfillment was
    rejected (``rejected``: required document id → its newly rejected fulfillments).

    The receipt and the file stay in done/ as they are; the note says what happened and
    what to do. A fulfillment the agent did not make (no receipt names it) gets no note.
    """
    wanted = {f.fulfillment_id: rd_id for rd_id, items in rejected.items() for f in items}
    if not wanted:
        return []
    written: list[Path] = []
    for folder, marker in sorted(tree.folders.items()):
        if marker.workflow_id != workflow_id or not still_marked(folder, marker.folder_id):
            continue
        done = folder / AGENT_OWNED.done_dir
        for receipt in _receipts(done):
            try:
                text = receipt.read_text(encoding="utf-8")
            except OSError:
                continue
            for fulfillment_id, rd_id in wanted.items():
                if f"fulfillment {fulfillment_id}" not in text:
                    continue
                file_name = receipt.name[: -len(AGENT_OWNED.receipt_suffix)]
                note = done / (file_name + AGENT_OWNED.rejected_suffix)
                if note.exists():
                    continue
                body = rejected_text(
                    file_name, names.get(rd_id, rd_id), rd_id, fulfillment_id, folder, at
                )
                try:
                    write_in(done, note.name, body.encode("utf-8"))
                except OSError as error:
                    log.warning("cannot write %s: %s", note, error)
                    continue
                written.append(note)
    return written


def rejected_text(
    file_name: str, name: str, rd_id: str, fulfillment_id: str, folder: Path, at: datetime
) -> str:
    """The ``.rejected.txt`` note's text (pure)."""
    return "\n".join(
        [
            f"The reviewer rejected {file_name} for {name} ({rd_id}).",
            "",
            f"Fulfillment {fulfillment_id} was rejected. The file and its receipt stay here "
            "as a record.",
            f"What to do: drop a new file for {name} into {folder}.",
            f"Seen at {at.isoformat(timespec='seconds')}",
            "",
        ]
    )


def _receipts(done: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(done))
    except OSError:
        return []
    return [done / n for n in names if n.endswith(AGENT_OWNED.receipt_suffix)]
