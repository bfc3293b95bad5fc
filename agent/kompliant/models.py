"""Kompliant's records as frozen dataclasses, read leniently.

Unknown fields are ignored and enum-like values stay plain strings: Kompliant may add
fields and values within an API version (kompliant-api.md §1), and most enums are only
partly documented (§7). Known values are constants here so callers compare against names,
not literals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# DOCUMENT_UPLOAD_STATUSES: only COMPLETED is documented.
UPLOAD_COMPLETED = "COMPLETED"

# WORKFLOW_STATES
WORKFLOW_CREATED = "CREATED"
WORKFLOW_STARTED = "STARTED"
WORKFLOW_ENDED = "ENDED"
KNOWN_WORKFLOW_STATES = frozenset({WORKFLOW_CREATED, WORKFLOW_STARTED, WORKFLOW_ENDED})

# REQUIRED_DOCUMENT_STATUSES (partly documented; ACTIVE is the sandbox's name for "open")
RD_ACTIVE = "ACTIVE"
RD_NEEDS_REVIEW = "NEEDS_REVIEW"
RD_COMPLETED = "COMPLETED"
RD_INACTIVE = "INACTIVE"
KNOWN_RD_STATUSES = frozenset({RD_ACTIVE, RD_NEEDS_REVIEW, RD_COMPLETED, RD_INACTIVE})

# FULFILLMENT_DECISION_STATUSES (its page's list; the upload guide's batchAdd answer also
# shows "PENDING": a value not listed here means delivered, awaiting review)
DECISION_NEEDS_REVIEW = "NEEDS_REVIEW"
DECISION_IN_REVIEW = "IN_REVIEW"
DECISION_ACCEPTED = "ACCEPTED"
DECISION_REJECTED = "REJECTED"
DECISION_PENDING = "PENDING"  # the upload guide's batchAdd answer
KNOWN_DECISIONS = frozenset(
    {
        DECISION_NEEDS_REVIEW,
        DECISION_IN_REVIEW,
        DECISION_ACCEPTED,
        DECISION_REJECTED,
        DECISION_PENDING,
    }
)

_seen_unknown: set[tuple[str, str]] = set()


def note_unknown(kind: str, value: str, known: frozenset[str]) -> str:
    """Return ``value``; log once per process when it is not a known ``kind`` value."""
    if value not in known and (kind, value) not in _seen_unknown:
        _seen_unknown.add((kind, value))
        log.warning("Kompliant sent an unknown %s value %r; treating it leniently", kind, value)
    return value


def _str(raw: Mapping[str, Any], key: str, default: str = "") -> str:
    value = raw.get(key, default)
    return default if value is None else str(value)


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def _int(raw: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


@dataclass(frozen=True)
class VersionInfo:
    current_version: str
    latest_version: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> VersionInfo:
        return cls(_str(raw, "current_version"), _str(raw, "latest_version"))


@dataclass(frozen=True)
class PresignedForm:
    """The presigned S3 POST returned by ``document.create``.

    ``fields`` keeps the order Kompliant gave: the form is sent in that order.
    """

    upload_url: str
    fields: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        for key, value in self.fields:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def content_type(self) -> str:
        return self.get("Content-Type") or "application/octet-stream"


@dataclass(frozen=True)
class CreatedDocument:
    document_id: str
    form: PresignedForm

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CreatedDocument:
        values = raw.get("presign_values") or {}
        fields = tuple((str(k), "" if v is None else str(v)) for k, v in dict(values).items())
        return cls(
            document_id=_str(raw, "document_id"),
            form=PresignedForm(upload_url=_str(raw, "upload_url"), fields=fields),
        )


@dataclass(frozen=True)
class Document:
    document_id: str
    subject_record_id: str
    file_name: str
    file_size: int | None
    upload_status: str
    hash: str | None = None
    created_at: str | None = None
    deleted_at: str | None = None

    @property
    def completed(self) -> bool:
        return self.upload_status == UPLOAD_COMPLETED

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Document:
        return cls(
            document_id=_str(raw, "document_id"),
            subject_record_id=_str(raw, "subject_record_id"),
            file_name=_str(raw, "file_name"),
            file_size=_int(raw, "file_size", "file_size_in_bytes"),
            upload_status=_str(raw, "upload_status"),
            hash=_opt_str(raw, "hash"),
            created_at=_opt_str(raw, "created_at"),
            deleted_at=_opt_str(raw, "deleted_at"),
        )


@dataclass(frozen=True)
class Workflow:
    workflow_id: str
    type: str
    subject_record_id: str
    state: str

    @property
    def ended(self) -> bool:
        return self.state == WORKFLOW_ENDED

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Workflow:
        state = _str(raw, "state") or _str(raw, "status")
        return cls(
            workflow_id=_str(raw, "workflow_id"),
            type=_str(raw, "type") or _str(raw, "workflow_type"),
            subject_record_id=_str(raw, "subject_record_id"),
            state=note_unknown("workflow state", state, KNOWN_WORKFLOW_STATES),
        )


@dataclass(frozen=True)
class RequiredDocument:
    required_document_id: str
    document_type_code: str
    name: str
    status: str
    category: str = ""
    requirement_text: str = ""

    @property
    def inactive(self) -> bool:
        return self.status == RD_INACTIVE

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> RequiredDocument:
        # The upload guide names it required_document_status; read "status" too.
        status = _str(raw, "required_document_status") or _str(raw, "status")
        return cls(
            required_document_id=_str(raw, "required_document_id"),
            document_type_code=_str(raw, "document_type_code"),
            name=_str(raw, "name") or _str(raw, "document_name") or _str(raw, "document_type_code"),
            status=note_unknown("required document status", status, KNOWN_RD_STATUSES),
            category=_str(raw, "category"),
            requirement_text=_str(raw, "requirement_text"),
        )


@dataclass(frozen=True)
class Fulfillment:
    fulfillment_id: str
    document_id: str
    required_document_id: str
    decision_status: str
    updated_at: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], required_document_id: str = "") -> Fulfillment:
        document = raw.get("document")
        document_id = _str(raw, "document_id")
        if not document_id and isinstance(document, Mapping):
            document_id = _str(document, "document_id")
        decision = _str(raw, "decision_status")
        return cls(
            fulfillment_id=_str(raw, "fulfillment_id"),
            document_id=document_id,
            required_document_id=_str(raw, "required_document_id") or required_document_id,
            decision_status=note_unknown("decision status", decision, KNOWN_DECISIONS),
            updated_at=_opt_str(raw, "updated_at"),
        )


@dataclass(frozen=True)
class BatchItemResult:
    """One item of a batch answer, matched to the input item it answers."""

    request: Mapping[str, Any]
    ok: bool
    data: Mapping[str, Any] = field(default_factory=dict)
    error: Exception | None = None

    @property
    def fulfillment_id(self) -> str | None:
        """The new fulfillment's id of a batchAdd success item.

        Read from ``data.fulfillment.fulfillment_id`` or ``data.fulfillment_id``: the
        documented pages do not show the item's shape (kompliant-api.md §3.2).
        """
        nested = self.data.get("fulfillment")
        if isinstance(nested, Mapping) and nested.get("fulfillment_id"):
            return str(nested["fulfillment_id"])
        value = self.data.get("fulfillment_id")
        return str(value) if value else None
