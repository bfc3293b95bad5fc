"""The last known review state of each required document (``review.json``).

Kept in the profile's state folder and written atomically after every change, so
``status`` and ``missing`` can answer while the agent is not running, and a restart knows
which rejections it has already announced. :func:`workflow_reviews` merges it with the
requirements cache (``requirements.json``): whichever saw the workflow and its required
documents last says whether they are ENDED or INACTIVE; the fulfillments come from here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.atomic import write_atomically
from agent.config import Config
from agent.decide.cache import CachedWorkflow, RequirementsCache
from agent.kompliant.models import RD_INACTIVE, WORKFLOW_ENDED, RequiredDocument
from agent.locations import locations
from agent.review.state import (
    FulfillmentSeen,
    RequirementReview,
    RequirementState,
    WorkflowReview,
    newer,
    requirement_state,
)

log = logging.getLogger(__name__)

REVIEW_FILE = "review.json"
REVIEW_VERSION = 1


def review_file(profile: str) -> Path:
    return locations().profile_state(profile) / REVIEW_FILE


@dataclass(frozen=True)
class StoredRequirement:
    name: str
    status: str  # the required document's status when checked (ACTIVE, INACTIVE …)
    checked_at: str
    fulfillments: tuple[FulfillmentSeen, ...] = ()


@dataclass(frozen=True)
class StoredWorkflow:
    workflow_state: str
    checked_at: str
    requirements: Mapping[str, StoredRequirement] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewStore:
    workflows: Mapping[str, StoredWorkflow] = field(default_factory=dict)

    def get(self, workflow_id: str) -> StoredWorkflow | None:
        return self.workflows.get(workflow_id)

    def requirement(self, workflow_id: str, rd_id: str) -> StoredRequirement | None:
        stored = self.workflows.get(workflow_id)
        return stored.requirements.get(rd_id) if stored else None

    def with_requirement(
        self,
        workflow_id: str,
        workflow_state: str,
        required_document: RequiredDocument,
        fulfillments: Sequence[FulfillmentSeen],
        checked_at: str,
    ) -> ReviewStore:
        """This store with one required document's fresh fulfillments.

        The workflow's own ``checked_at`` stays: it dates a check of the whole workflow
        (its state and list of required documents), which one requirement's is not.
        """
        previous = self.workflows.get(workflow_id) or StoredWorkflow(workflow_state, "")
        requirements = dict(previous.requirements)
        requirements[required_document.required_document_id] = StoredRequirement(
            required_document.name, required_document.status, checked_at, tuple(fulfillments)
        )
        stored = replace(
            previous,
            workflow_state=workflow_state or previous.workflow_state,
            requirements=requirements,
        )
        return replace(self, workflows={**self.workflows, workflow_id: stored})

    def with_workflow(
        self,
        workflow_id: str,
        workflow_state: str,
        required_documents: Sequence[RequiredDocument],
        fulfillments: Mapping[str, Sequence[FulfillmentSeen]],
        checked_at: str,
    ) -> ReviewStore:
        """This store with a whole workflow checked at once (``missing``)."""
        previous = self.workflows.get(workflow_id)
        requirements: dict[str, StoredRequirement] = {}
        for rd in required_documents:
            rd_id = rd.required_document_id
            if rd_id in fulfillments:
                seen = tuple(fulfillments[rd_id])
            else:  # not listed now (inactive, ended): keep what was seen before
                earlier = previous.requirements.get(rd_id) if previous else None
                seen = earlier.fulfillments if earlier else ()
            requirements[rd_id] = StoredRequirement(rd.name, rd.status, checked_at, seen)
        stored = StoredWorkflow(workflow_state, checked_at, requirements)
        return replace(self, workflows={**self.workflows, workflow_id: stored})


def load_review(path: Path) -> ReviewStore:
    """The store in ``path``; empty when absent or unreadable (the next check fills it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ReviewStore()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        log.warning("ignoring the unreadable review states %s (%s)", path, error)
        return ReviewStore()
    if not isinstance(data, dict) or data.get("version") != REVIEW_VERSION:
        log.warning("ignoring the review states %s: unknown format", path)
        return ReviewStore()
    workflows: dict[str, StoredWorkflow] = {}
    raw_workflows = data.get("workflows")
    for workflow_id, raw in (raw_workflows if isinstance(raw_workflows, dict) else {}).items():
        if isinstance(raw, dict):
            workflows[str(workflow_id)] = _workflow(raw)
    return ReviewStore(workflows)


def save_review(path: Path, store: ReviewStore) -> None:
    data = {
        "version": REVIEW_VERSION,
        "workflows": {
            workflow_id: {
                "workflow_state": stored.workflow_state,
                "checked_at": stored.checked_at,
                "requirements": {
                    rd_id: {
                        "name": item.name,
                        "status": item.status,
                        "checked_at": item.checked_at,
                        "fulfillments": [
                            {
                                "fulfillment_id": f.fulfillment_id,
                                "document_id": f.document_id,
                                "decision_status": f.decision_status,
                            }
                            for f in item.fulfillments
                        ],
                    }
                    for rd_id, item in sorted(stored.requirements.items())
                },
            }
            for workflow_id, stored in sorted(store.workflows.items())
        },
    }
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_atomically(path, text.encode("utf-8"))


def _workflow(raw: Mapping[str, Any]) -> StoredWorkflow:
    requirements: dict[str, StoredRequirement] = {}
    raw_items = raw.get("requirements")
    for rd_id, item in (raw_items if isinstance(raw_items, dict) else {}).items():
        if not isinstance(item, dict):
            continue
        fulfillments = tuple(
            FulfillmentSeen(
                str(f.get("fulfillment_id") or ""),
                str(f.get("document_id") or ""),
                str(f.get("decision_status") or ""),
            )
            for f in item.get("fulfillments") or ()
            if isinstance(f, dict)
        )
        requirements[str(rd_id)] = StoredRequirement(
            str(item.get("name") or rd_id),
            str(item.get("status") or ""),
            str(item.get("checked_at") or ""),
            fulfillments,
        )
    return StoredWorkflow(
        str(raw.get("workflow_state") or ""), str(raw.get("checked_at") or ""), requirements
    )


# ------------------------------------------------------------------ merging (pure)


def requirement_review(
    workflow_id: str,
    rd_id: str,
    name: str,
    status: str,
    workflow_ended: bool,
    stored: StoredRequirement | None,
) -> RequirementReview:
    """One required document's review from its status and what the store saw."""
    if stored is None or not stored.checked_at:
        state = requirement_state((), inactive=status == RD_INACTIVE, workflow_ended=workflow_ended)
        if state is RequirementState.MISSING:
            state = RequirementState.UNKNOWN  # never checked: nothing is known
        return RequirementReview(workflow_id, rd_id, name, state)
    state = requirement_state(
        stored.fulfillments, inactive=status == RD_INACTIVE, workflow_ended=workflow_ended
    )
    return RequirementReview(
        workflow_id, rd_id, name, state, stored.checked_at, stored.fulfillments
    )


def workflow_review(
    workflow_id: str,
    label: str,
    cached: CachedWorkflow | None,
    stored: StoredWorkflow | None,
) -> WorkflowReview:
    """One workflow's review: the newer of cache and store says ENDED and INACTIVE."""
    cache_time = cached.fetched_at if cached else ""
    store_time = stored.checked_at if stored else ""
    use_store = stored is not None and (cached is None or newer(store_time, cache_time))
    if use_store and stored is not None:
        workflow_state = stored.workflow_state
        listing = [(rd_id, item.name, item.status) for rd_id, item in stored.requirements.items()]
    elif cached is not None:
        workflow_state = cached.workflow.state
        listing = [
            (rd.required_document_id, rd.name, rd.status) for rd in cached.required_documents
        ]
    else:
        workflow_state, listing = "", []
    ended = workflow_state == WORKFLOW_ENDED
    requirements = tuple(
        requirement_review(
            workflow_id,
            rd_id,
            name,
            status,
            ended,
            stored.requirements.get(rd_id) if stored else None,
        )
        for rd_id, name, status in sorted(listing, key=lambda item: (item[1].casefold(), item[0]))
    )
    return WorkflowReview(workflow_id, label, workflow_state, ended, requirements)


def workflow_reviews(
    config: Config, cache: RequirementsCache, store: ReviewStore
) -> list[WorkflowReview]:
    """Every configured workflow's review, in the config's order (pure)."""
    return [
        workflow_review(
            target.workflow_id,
            target.label,
            cache.get(target.workflow_id),
            store.get(target.workflow_id),
        )
        for target in config.workflows
    ]
