"""One batchAdd for all requirements; duplicates and lost answers reconciled by listing."""

from __future__ import annotations

import pytest

from agent.errors import (
    AmbiguousRequest,
    BadRequest,
    EntityNotFound,
    RuleViolation,
    WorkflowEnded,
)
from agent.kompliant.models import Fulfillment
from agent.upload.link import LinkFailed, LinkIncomplete, link
from tests.upload.fakes import FakeKompliant

RDS = ["rd_A", "rd_B"]


def test_one_batch_links_every_requirement() -> None:
    api = FakeKompliant()
    result = link(api, "w_1", "d_1", [*RDS, "rd_A"])
    assert set(result) == set(RDS)
    assert api.calls == ["batchAdd"]
    assert len(api.fulfillments) == 2


def test_a_refused_link_that_exists_counts_as_linked() -> None:
    # The fake refuses the existing link with a bare BAD_REQUEST: no sub-code, no words
    # the agent knows. fulfillment.list decides.
    api = FakeKompliant(fulfillments=[Fulfillment("f_old", "d_1", "rd_A", "PENDING")])
    result = link(api, "w_1", "d_1", RDS)
    assert result["rd_A"] == "f_old"
    assert result["rd_B"].startswith("f_")
    assert len(api.fulfillments) == 2
    assert api.calls.count("batchAdd") == 1
    assert "list_fulfillments rd_A" in api.calls


def test_a_refused_link_that_does_not_exist_stands_and_is_not_sent_again() -> None:
    refused = BadRequest("Something we have never seen.", code="BAD_REQUEST")
    api = FakeKompliant(item_errors={"rd_B": refused})
    with pytest.raises(LinkFailed) as info:
        link(api, "w_1", "d_1", RDS)
    assert list(info.value.linked) == ["rd_A"]
    assert "Something we have never seen" in info.value.message
    assert api.calls.count("batchAdd") == 1
    assert api.calls.count("list_fulfillments rd_B") == 1


def test_a_lost_answer_adds_only_what_is_missing() -> None:
    api = FakeKompliant(faults={"batchAdd": ["lose_answer"]})
    result = link(api, "w_1", "d_1", RDS)
    assert len(api.fulfillments) == 2
    assert result == {f.required_document_id: f.fulfillment_id for f in api.fulfillments}
    assert api.calls.count("batchAdd") == 1


def test_a_request_that_never_arrived_is_added_again() -> None:
    api = FakeKompliant(faults={"batchAdd": ["ambiguous_before"]})
    result = link(api, "w_1", "d_1", RDS)
    assert len(api.fulfillments) == 2 and set(result) == set(RDS)
    assert api.calls.count("batchAdd") == 2


def test_a_refused_item_names_the_requirement_and_keeps_what_linked() -> None:
    inactive = RuleViolation(
        "The required document is inactive",
        sub_code="REQUIRED_DOCUMENT_INACTIVE",
        code="SYSTEM_RULE_VIOLATION",
    )
    api = FakeKompliant(item_errors={"rd_B": inactive})
    with pytest.raises(LinkFailed) as info:
        link(api, "w_1", "d_1", RDS)
    assert "rd_B" in info.value.message and "REQUIRED_DOCUMENT_INACTIVE" in info.value.message
    assert list(info.value.linked) == ["rd_A"]
    assert "linked to rd_A" in info.value.message
    assert not info.value.retryable


def test_an_unknown_requirement_cannot_succeed() -> None:
    api = FakeKompliant(item_errors={"rd_A": EntityNotFound("unknown", code="ENTITY_NOT_FOUND")})
    with pytest.raises(LinkFailed) as info:
        link(api, "w_1", "d_1", ["rd_A"])
    assert info.value.linked == {}


def test_always_ambiguous_gives_up_as_retry_later() -> None:
    api = FakeKompliant(faults={"batchAdd": ["ambiguous_before"] * 5})
    with pytest.raises(LinkIncomplete) as info:
        link(api, "w_1", "d_1", RDS, attempts=3)
    assert api.calls.count("batchAdd") == 3
    assert info.value.retryable


def test_an_ended_workflow_is_raised_as_is() -> None:
    api = FakeKompliant(faults={"batchAdd": [WorkflowEnded("ended", sub_code="WORKFLOW_ENDED")]})
    with pytest.raises(WorkflowEnded):
        link(api, "w_1", "d_1", RDS)


def test_an_item_without_a_result_is_checked_before_adding_again() -> None:
    missing = AmbiguousRequest("no result for this item", code="MISSING_RESULT")
    api = FakeKompliant(item_errors={"rd_B": missing})
    with pytest.raises(LinkIncomplete):
        link(api, "w_1", "d_1", RDS, attempts=2)
    assert api.calls.count("list_fulfillments rd_B") == 2
