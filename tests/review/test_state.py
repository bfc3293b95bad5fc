"""Review states from fulfillments, merged with the requirements cache (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.config import Config, WorkflowConfig
from agent.decide.cache import CachedWorkflow, RequirementsCache
from agent.kompliant.models import RequiredDocument, Workflow
from agent.review.state import (
    FulfillmentSeen,
    RequirementReview,
    RequirementState,
    folder_state,
    newly_rejected,
    requirement_state,
)
from agent.review.store import (
    ReviewStore,
    load_review,
    save_review,
    workflow_reviews,
)

S = RequirementState


def seen(*decisions: str) -> list[FulfillmentSeen]:
    return [FulfillmentSeen(f"f_{i}", f"d_{i}", d) for i, d in enumerate(decisions)]


@pytest.mark.parametrize(
    ("decisions", "state"),
    [
        ((), S.MISSING),
        (("REJECTED",), S.REJECTED),
        (("REJECTED", "NEEDS_REVIEW"), S.NEEDS_REVIEW),
        (("REJECTED", "IN_REVIEW", "NEEDS_REVIEW"), S.IN_REVIEW),
        (("REJECTED", "ACCEPTED", "NEEDS_REVIEW"), S.ACCEPTED),
        # A decision the agent does not know (the upload guide shows PENDING): delivered,
        # awaiting review — never missing, whatever rejection came before.
        (("PENDING",), S.NEEDS_REVIEW),
        (("REJECTED", "PENDING"), S.NEEDS_REVIEW),
        (("SOMETHING_NEW",), S.NEEDS_REVIEW),
        (("PENDING", "ACCEPTED"), S.ACCEPTED),
    ],
)
def test_the_most_advanced_fulfillment_wins(decisions: tuple[str, ...], state: S) -> None:
    assert requirement_state(seen(*decisions)) is state


def test_inactive_and_ended_come_before_any_fulfillment() -> None:
    assert requirement_state(seen("ACCEPTED"), inactive=True) is S.INACTIVE
    assert requirement_state(seen("ACCEPTED"), inactive=True, workflow_ended=True) is S.ENDED


def test_only_missing_and_rejected_are_outstanding() -> None:
    assert {s for s in S if s.outstanding} == {S.MISSING, S.REJECTED}


def test_a_folder_of_several_requirements_shows_the_one_needing_a_person() -> None:
    assert folder_state([S.ACCEPTED, S.REJECTED, S.MISSING]) is S.REJECTED
    assert folder_state([S.ACCEPTED, S.IN_REVIEW]) is S.IN_REVIEW
    assert folder_state([]) is S.UNKNOWN


def test_a_rejection_is_new_only_once() -> None:
    before = RequirementReview(
        "w_1", "rd_1", "Bank", S.NEEDS_REVIEW, "t", tuple(seen("NEEDS_REVIEW"))
    )
    after = RequirementReview("w_1", "rd_1", "Bank", S.REJECTED, "t", tuple(seen("REJECTED")))
    assert [f.fulfillment_id for f in newly_rejected(before, after)] == ["f_0"]
    assert newly_rejected(after, after) == ()
    assert [f.fulfillment_id for f in newly_rejected(None, after)] == ["f_0"]


def rd(rd_id: str, status: str = "ACTIVE") -> RequiredDocument:
    return RequiredDocument(rd_id, "BANK_STATEMENTS", rd_id.title(), status)


def test_stored_states_merge_with_the_newer_of_cache_and_store(tmp_path: Path) -> None:
    config = Config(workflows=(WorkflowConfig("w_1", "Acme"),))
    cache = RequirementsCache().with_workflows(
        [
            CachedWorkflow(
                Workflow("w_1", "BUSINESS_APPLICATION", "sr_1", "STARTED"),
                (rd("rd_a"), rd("rd_b"), rd("rd_c", "INACTIVE")),
                fetched_at="2025-01-01T10:00:00+00:00",
            )
        ]
    )
    store = ReviewStore().with_requirement(
        "w_1", "STARTED", rd("rd_a"), seen("REJECTED"), "2025-01-01T10:05:00+00:00"
    )
    path = tmp_path / "review.json"
    save_review(path, store)
    store = load_review(path)

    (review,) = workflow_reviews(config, cache, store)
    assert [(r.required_document_id, r.state) for r in review.requirements] == [
        ("rd_a", S.REJECTED),
        ("rd_b", S.UNKNOWN),  # never checked
        ("rd_c", S.INACTIVE),
    ]
    assert [r.required_document_id for r in review.outstanding] == ["rd_a"]

    # A later refresh saw the workflow ENDED: every requirement says so.
    ended = cache.with_workflows(
        [
            CachedWorkflow(
                Workflow("w_1", "BUSINESS_APPLICATION", "sr_1", "ENDED"),
                (rd("rd_a"), rd("rd_b")),
                fetched_at="2025-01-01T11:00:00+00:00",
            )
        ]
    )
    (review,) = workflow_reviews(config, ended, store)
    assert review.ended and {r.state for r in review.requirements} == {S.ENDED}
    assert review.outstanding == ()

    # A whole-workflow check (missing) newer than the cache wins over it.
    checked = store.with_workflow(
        "w_1",
        "STARTED",
        [rd("rd_a"), rd("rd_b")],
        {"rd_a": seen("ACCEPTED"), "rd_b": []},
        datetime(2025, 1, 1, 12, tzinfo=UTC).isoformat(),
    )
    (review,) = workflow_reviews(config, ended, checked)
    assert [r.state for r in review.requirements] == [S.ACCEPTED, S.MISSING]


def test_an_unreadable_store_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "review.json"
    path.write_text("{not json", encoding="utf-8")
    assert load_review(path) == ReviewStore()
    assert load_review(tmp_path / "absent.json") == ReviewStore()
