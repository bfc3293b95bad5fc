"""Where each required document stands in review: plain data in, plain data out.

A required document's state comes from three facts: whether its workflow has ENDED,
whether the required document is INACTIVE, and the decisions on its fulfillments
(``workflow.requiredDocument.fulfillment.list``). The most advanced fulfillment wins:
one accepted file makes the requirement accepted, a file waiting for review hides an
earlier rejection, and only when every fulfillment was rejected does the requirement need
a new file.

The running agent stores what it saw in ``review.json`` (:mod:`agent.review.store`);
:func:`workflow_reviews` merges that with the requirements cache into what ``status``,
``missing`` and a tray show.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from agent.kompliant.models import (
    DECISION_ACCEPTED,
    DECISION_IN_REVIEW,
    DECISION_REJECTED,
    Fulfillment,
)
from agent.owned_names import AGENT_OWNED


class RequirementState(enum.Enum):
    MISSING = "missing"  # no fulfillment (or only deleted ones)
    NEEDS_REVIEW = "needs_review"  # a file was uploaded and waits for a reviewer
    IN_REVIEW = "in_review"  # a reviewer is looking at it
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # every file sent was rejected: a new one is needed
    INACTIVE = "inactive"  # removed from the workflow
    ENDED = "ended"  # the workflow ended: it takes no more documents
    UNKNOWN = "unknown"  # not checked yet

    @property
    def outstanding(self) -> bool:
        """Whether the applicant still has to send a file for it."""
        return self in (RequirementState.MISSING, RequirementState.REJECTED)

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {
    RequirementState.MISSING: "missing",
    RequirementState.NEEDS_REVIEW: "uploaded, waiting for review",
    RequirementState.IN_REVIEW: "in review",
    RequirementState.ACCEPTED: "accepted",
    RequirementState.REJECTED: "rejected, send a new file",
    RequirementState.INACTIVE: "inactive, no longer required",
    RequirementState.ENDED: "the workflow has ended",
    RequirementState.UNKNOWN: "not checked yet",
}

#: The notice file a requirement folder shows for each state (none: no notice).
NOTICE_FOR_STATE: Mapping[RequirementState, str] = {
    RequirementState.MISSING: AGENT_OWNED.status_missing,
    RequirementState.NEEDS_REVIEW: AGENT_OWNED.status_needs_review,
    RequirementState.IN_REVIEW: AGENT_OWNED.status_in_review,
    RequirementState.ACCEPTED: AGENT_OWNED.status_accepted,
    RequirementState.REJECTED: AGENT_OWNED.status_rejected,
}

# Which state a folder linked to several required documents shows: the one that needs
# a person most.
_ATTENTION_ORDER = (
    RequirementState.REJECTED,
    RequirementState.MISSING,
    RequirementState.NEEDS_REVIEW,
    RequirementState.IN_REVIEW,
    RequirementState.ACCEPTED,
    RequirementState.UNKNOWN,
    RequirementState.INACTIVE,
    RequirementState.ENDED,
)


@dataclass(frozen=True)
class FulfillmentSeen:
    """One fulfillment as the last check saw it."""

    fulfillment_id: str
    document_id: str
    decision_status: str

    @classmethod
    def of(cls, fulfillment: Fulfillment) -> FulfillmentSeen:
        return cls(fulfillment.fulfillment_id, fulfillment.document_id, fulfillment.decision_status)


@dataclass(frozen=True)
class RequirementReview:
    """One required document's review state; ``checked_at`` is when its fulfillments were
    last listed ("" when never)."""

    workflow_id: str
    required_document_id: str
    name: str
    state: RequirementState
    checked_at: str = ""
    fulfillments: tuple[FulfillmentSeen, ...] = ()

    @property
    def rejected_ids(self) -> frozenset[str]:
        return frozenset(
            f.fulfillment_id for f in self.fulfillments if f.decision_status == DECISION_REJECTED
        )

    def to_data(self) -> dict[str, object]:
        return {
            "required_document_id": self.required_document_id,
            "name": self.name,
            "state": self.state.value,
            "words": self.state.words,
            "checked_at": self.checked_at,
            "fulfillments": [
                {
                    "fulfillment_id": f.fulfillment_id,
                    "document_id": f.document_id,
                    "decision_status": f.decision_status,
                }
                for f in self.fulfillments
            ],
        }


@dataclass(frozen=True)
class WorkflowReview:
    """A workflow's required documents and where each stands."""

    workflow_id: str
    label: str
    workflow_state: str
    ended: bool
    requirements: tuple[RequirementReview, ...] = ()

    @property
    def outstanding(self) -> tuple[RequirementReview, ...]:
        """The required documents still waiting for a file (none when the workflow ended)."""
        return tuple(r for r in self.requirements if r.state.outstanding)

    def to_data(self) -> dict[str, object]:
        return {
            "workflow_id": self.workflow_id,
            "label": self.label,
            "workflow_state": self.workflow_state,
            "ended": self.ended,
            "requirements": [r.to_data() for r in self.requirements],
        }


def requirement_state(
    fulfillments: Iterable[FulfillmentSeen | Fulfillment],
    *,
    inactive: bool = False,
    workflow_ended: bool = False,
) -> RequirementState:
    """The state of one required document from its fulfillments' decisions.

    A decision this agent does not know (the upload guide shows ``PENDING``) means the file
    was delivered and awaits review: never "missing", never asked for again.
    """
    if workflow_ended:
        return RequirementState.ENDED
    if inactive:
        return RequirementState.INACTIVE
    decisions = {f.decision_status for f in fulfillments}
    if DECISION_ACCEPTED in decisions:
        return RequirementState.ACCEPTED
    if DECISION_IN_REVIEW in decisions:
        return RequirementState.IN_REVIEW
    if decisions - {DECISION_REJECTED}:  # NEEDS_REVIEW, or a decision not known here
        return RequirementState.NEEDS_REVIEW
    if DECISION_REJECTED in decisions:
        return RequirementState.REJECTED
    return RequirementState.MISSING


def folder_state(states: Sequence[RequirementState]) -> RequirementState:
    """What a folder linked to ``states``' required documents shows (UNKNOWN for none)."""
    for candidate in _ATTENTION_ORDER:
        if candidate in states:
            return candidate
    return RequirementState.UNKNOWN


def newly_rejected(
    before: RequirementReview | None, after: RequirementReview
) -> tuple[FulfillmentSeen, ...]:
    """Fulfillments rejected in ``after`` that were not rejected in ``before``."""
    known = before.rejected_ids if before is not None else frozenset()
    return tuple(
        f
        for f in after.fulfillments
        if f.decision_status == DECISION_REJECTED and f.fulfillment_id not in known
    )


def newer(a: str, b: str) -> bool:
    """Whether the ISO time ``a`` is later than ``b`` ("" is the earliest)."""
    if not a:
        return False
    if not b:
        return True
    try:
        return datetime.fromisoformat(a) > datetime.fromisoformat(b)
    except ValueError:
        return a > b


def age_seconds(checked_at: str, now: datetime) -> float | None:
    """Seconds since ``checked_at`` (None when never, or unreadable)."""
    if not checked_at:
        return None
    try:
        return max(0.0, (now - datetime.fromisoformat(checked_at)).total_seconds())
    except (ValueError, TypeError):
        return None
