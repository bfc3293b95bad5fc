"""The statuses Kompliant's records move through, and the rules that move them.

A document's upload goes PENDING → COMPLETED once its bytes are stored (after the
completion delay); a required document's status follows its live fulfillments' decisions.
"""

from __future__ import annotations

from dataclasses import replace

from agent.sandbox.call import Call
from agent.sandbox.state import Document, SandboxState, iso

PENDING, COMPLETED = "PENDING", "COMPLETED"
RD_ACTIVE, RD_NEEDS_REVIEW, RD_COMPLETED, RD_INACTIVE = (
    "ACTIVE",
    "NEEDS_REVIEW",
    "COMPLETED",
    "INACTIVE",
)
RD_STATUSES = (RD_ACTIVE, RD_NEEDS_REVIEW, RD_COMPLETED, RD_INACTIVE)
DECISIONS = ("NEEDS_REVIEW", "IN_REVIEW", "ACCEPTED", "REJECTED")
#: A fulfillment added without a decision starts here: the upload guide's batchAdd answer
#: shows "PENDING" (a value the decision statuses page does not list).
NEW_DECISION = "PENDING"
PENDING_DECISIONS = frozenset({NEW_DECISION, "NEEDS_REVIEW", "IN_REVIEW"})
WORKFLOW_STATES = ("CREATED", "STARTED", "ENDED")


def settle_upload(call: Call, document: Document) -> Document:
    """Promote a stored upload to COMPLETED once the completion delay has passed."""
    if document.upload_status != PENDING:
        return document
    if document.stored_at is None and call.config.probe is not None:
        found = call.config.probe(document)
        if found is not None:
            size, sha256_hex = found
            document = replace(document, stored_at=call.now, file_size=size, hash=sha256_hex)
            call.state.documents[document.document_id] = document
            call.state.changed()
    if document.stored_at is None or call.now < document.stored_at + call.config.completion_delay:
        return document
    document = replace(document, upload_status=COMPLETED, updated_at=call.stamp)
    call.state.documents[document.document_id] = document
    call.state.changed()
    return document


def record_upload(
    state: SandboxState,
    document_id: str,
    *,
    size: int,
    sha256_hex: str,
    object_path: str | None,
    now: float,
    completion_delay: float,
) -> bool:
    """The upload endpoint stored the bytes of ``document_id``; False if it is unknown."""
    with state.lock:
        document = state.documents.get(document_id)
        if document is None:
            return False
        status = COMPLETED if completion_delay <= 0 else document.upload_status
        state.documents[document_id] = Document(  # ``replace`` in one step, once per upload
            **{
                **vars(document),
                "file_size": size,
                "hash": sha256_hex,
                "object_path": object_path,
                "stored_at": now,
                "upload_status": status,
                "updated_at": iso(now),
            }
        )
        state.changed()
        return True


def refresh_status(state: SandboxState, rd_id: str, stamp: str) -> None:
    """A required document's status follows its live fulfillments (INACTIVE stays)."""
    rd = state.required_documents.get(rd_id)
    if rd is None or rd.status == RD_INACTIVE:
        return
    decisions = state.fulfillments.live_decisions(rd_id)
    if "ACCEPTED" in decisions:
        status = RD_COMPLETED
    elif decisions - {"REJECTED"}:  # any decision still open, a value not known here too
        status = RD_NEEDS_REVIEW
    else:
        status = RD_ACTIVE
    if status != rd.status:
        state.required_documents[rd_id] = replace(rd, status=status, updated_at=stamp)
