"""Admin edits of the sandbox's state (``POST /_sandbox/admin``), one operation at a time.

Tests and demos use them to play Kompliant's other side: end a workflow, change a required
document's status, add a workflow or a required document, rewrite a document's upload
status or hash, or revoke an API key. docs/sandbox.md lists the operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from agent.sandbox.state import RequiredDocument, SandboxState, Workflow, iso, new_id
from agent.sandbox.statuses import refresh_status

WORKFLOW_STATES = ("CREATED", "STARTED", "ENDED")
REQUIRED_DOCUMENT_STATUSES = ("ACTIVE", "NEEDS_REVIEW", "COMPLETED", "INACTIVE")


class AdminError(ValueError):
    """An admin operation that cannot be applied; the message says why."""


def _need(op: Mapping[str, Any], name: str, allowed: tuple[str, ...] = ()) -> str:
    value = op.get(name)
    if not isinstance(value, str) or not value:
        raise AdminError(f"'{name}' is required (a string)")
    if allowed and value not in allowed:
        raise AdminError(f"'{name}' must be one of {', '.join(allowed)}")
    return value


def apply_admin(state: SandboxState, op: Mapping[str, Any], now: float) -> dict[str, Any]:
    """Apply one admin operation with the lock held; returns the changed record."""
    stamp = iso(now)
    name = op.get("op")
    if name == "set_workflow_state":
        workflow = state.workflows.get(_need(op, "workflow_id"))
        if workflow is None:
            raise AdminError("no such workflow")
        new_state = _need(op, "state", WORKFLOW_STATES)
        ended_at = stamp if new_state == "ENDED" else None
        changed: Any = replace(workflow, state=new_state, ended_at=ended_at, updated_at=stamp)
        state.workflows[workflow.workflow_id] = changed
    elif name == "set_required_document_status":
        rd = state.required_documents.get(_need(op, "required_document_id"))
        if rd is None:
            raise AdminError("no such required document")
        status = _need(op, "status", REQUIRED_DOCUMENT_STATUSES)
        changed = replace(rd, status=status, updated_at=stamp)
        state.required_documents[rd.required_document_id] = changed
    elif name == "add_required_document":
        workflow_id = _need(op, "workflow_id")
        if workflow_id not in state.workflows:
            raise AdminError("no such workflow")
        rd_id = op.get("required_document_id") or new_id("rd")
        if rd_id in state.required_documents:
            raise AdminError(f"required document {rd_id} exists already")
        code = _need(op, "document_type_code")
        changed = RequiredDocument(
            required_document_id=str(rd_id),
            workflow_id=workflow_id,
            document_type_code=code,
            name=str(op.get("name") or code),
            status=str(op.get("status") or "ACTIVE"),
            category=str(op.get("category") or ""),
            requirement_text=str(op.get("requirement_text") or ""),
            created_at=stamp,
            updated_at=stamp,
        )
        if changed.status not in REQUIRED_DOCUMENT_STATUSES:
            raise AdminError(f"'status' must be one of {', '.join(REQUIRED_DOCUMENT_STATUSES)}")
        state.required_documents[changed.required_document_id] = changed
    elif name == "add_workflow":
        subject_record_id = _need(op, "subject_record_id")
        if subject_record_id not in state.subject_records:
            raise AdminError("no such subject record")
        workflow_id = str(op.get("workflow_id") or new_id("w"))
        if workflow_id in state.workflows:
            raise AdminError(f"workflow {workflow_id} exists already")
        changed = Workflow(
            workflow_id=workflow_id,
            subject_record_id=subject_record_id,
            type=_need(op, "type"),
            state=str(op.get("state") or "STARTED"),
            started_at=stamp,
            created_at=stamp,
            updated_at=stamp,
        )
        state.workflows[workflow_id] = changed
    elif name == "set_fulfillment_decision":
        # Any value: tests play a Kompliant that sends a decision the agent does not know.
        item = state.fulfillments.get(_need(op, "fulfillment_id"))
        if item is None:
            raise AdminError("no such fulfillment")
        changed = replace(item, decision_status=_need(op, "decision_status"), updated_at=stamp)
        state.fulfillments[item.fulfillment_id] = changed
        refresh_status(state, item.required_document_id, stamp)
    elif name == "set_api_key_disabled":
        # Kompliant revoking a key: every call signed with it is refused (403) from now on.
        key = state.api_keys.get(_need(op, "api_key"))
        if key is None:
            raise AdminError("no such API key")
        disabled = op.get("disabled")
        if not isinstance(disabled, bool):
            raise AdminError("'disabled' is required (true or false)")
        state.api_keys[key.api_key] = replace(key, disabled=disabled)
        state.changed()
        return {"api_key": key.api_key, "account_id": key.account_id, "disabled": disabled}
    elif name == "update_document":
        document = state.documents.get(_need(op, "document_id"))
        if document is None:
            raise AdminError("no such document")
        updates = {k: op[k] for k in ("upload_status", "hash") if k in op}
        if not updates:
            raise AdminError("give 'upload_status' and/or 'hash'")
        changed = replace(document, **updates, updated_at=stamp)
        state.documents[document.document_id] = changed
    else:
        raise AdminError(
            "'op' must be one of set_workflow_state, set_required_document_status, "
            "add_required_document, add_workflow, set_fulfillment_decision, update_document, "
            "set_api_key_disabled"
        )
    state.changed()
    return asdict(changed)
