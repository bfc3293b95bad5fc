"""Workflows, required documents, batchRequestDocument and fulfillments: each rule both ways."""

from __future__ import annotations

from typing import Any

import pytest

from agent.sandbox import RunningSandbox
from tests.conftest import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    ENDED_WORKFLOW,
    OTHER_SUBJECT,
    RD_ADDRESS,
    RD_BANK,
    RD_ENDED,
    RD_ID,
    RD_INACTIVE,
    RD_OTHER,
    create_document,
    sandbox_admin,
    sandbox_call,
)

BATCH_ADD = "workflow.requiredDocument.fulfillment.batchAdd"
UPDATE = "workflow.requiredDocument.fulfillment.update"
LIST = "workflow.requiredDocument.fulfillment.list"


def _add(sandbox: RunningSandbox, *pairs: tuple[str, str], workflow: str = DEMO_WORKFLOW) -> Any:
    fulfillments = [{"document_id": d, "required_document_id": r} for d, r in pairs]
    return sandbox_call(sandbox, BATCH_ADD, {"workflow_id": workflow, "fulfillments": fulfillments})


def _rd_status(sandbox: RunningSandbox, rd_id: str) -> str:
    answer = sandbox_call(sandbox, "workflow.requiredDocument.list", {"workflow_id": DEMO_WORKFLOW})
    by_id = {rd["required_document_id"]: rd for rd in answer.json()["data"]["required_documents"]}
    return str(by_id[rd_id]["required_document_status"])


def _whole_error(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    assert "results" not in answer.json()
    error: dict[str, Any] = answer.json()["errors"][0]
    return error


def test_workflow_get_and_list(sandbox: RunningSandbox) -> None:
    got = sandbox_call(sandbox, "workflow.get", {"workflow_id": DEMO_WORKFLOW}).json()
    workflow = got["data"]["workflow"]
    assert (workflow["state"], workflow["type"]) == ("STARTED", "BUSINESS_APPLICATION")
    assert workflow["subject_record_id"] == DEMO_SUBJECT
    listed = sandbox_call(sandbox, "workflow.list", {"subject_record_id": DEMO_SUBJECT}).json()
    states = {w["workflow_id"]: w["state"] for w in listed["data"]["workflows"]}
    assert states == {DEMO_WORKFLOW: "STARTED", ENDED_WORKFLOW: "ENDED"}
    foreign = sandbox_call(sandbox, "workflow.get", {"workflow_id": "w_ForeignApplication00001"})
    assert _whole_error(foreign)["code"] == "ENTITY_NOT_FOUND"


def _outcome(result: dict[str, Any]) -> str | tuple[str, str]:
    """A batch result as SUCCESS or (code, message)."""
    if result["status"] == "SUCCESS":
        return "SUCCESS"
    return (result["errors"][0]["code"], result["errors"][0]["message"])


def test_required_documents_list_and_status_filter(sandbox: RunningSandbox) -> None:
    body: dict[str, Any] = {"workflow_id": DEMO_WORKFLOW}
    every = sandbox_call(sandbox, "workflow.requiredDocument.list", body).json()
    items = every["data"]["required_documents"]
    assert {rd["required_document_id"] for rd in items} == {RD_BANK, RD_ADDRESS, RD_ID, RD_INACTIVE}
    bank = next(rd for rd in items if rd["required_document_id"] == RD_BANK)
    assert bank["name"] == "Bank statements" and bank["document_type_code"] == "BANK_STATEMENTS"
    assert bank["required_document_status"] == "ACTIVE" and bank["requirement_text"]
    assert "status" not in bank
    body["filters"] = {"required_document_status": "INACTIVE"}
    inactive = sandbox_call(sandbox, "workflow.requiredDocument.list", body).json()
    assert [rd["required_document_id"] for rd in inactive["data"]["required_documents"]] == [
        RD_INACTIVE
    ]
    body["filters"] = {"required_document_status": "SLEEPING"}
    refused = sandbox_call(sandbox, "workflow.requiredDocument.list", body)
    assert _whole_error(refused)["code"] == "BAD_REQUEST"


def test_batch_add_links_a_completed_document(sandbox: RunningSandbox) -> None:
    document_id = create_document(sandbox)
    answer = _add(sandbox, (document_id, RD_BANK))
    assert answer.status_code == 200
    body = answer.json()
    meta = body["meta"]
    assert meta["status"] == "BATCH_PROCESSED"
    assert (meta["total_requests"], meta["success_count"], meta["failure_count"]) == (1, 1, 0)
    [result] = body["results"]
    assert result["status"] == "SUCCESS"
    assert result["request"] == {"document_id": document_id, "required_document_id": RD_BANK}
    fulfillment = result["data"]["fulfillment"]
    assert fulfillment["fulfillment_id"].startswith("f_")
    # The upload guide's answer: a new fulfillment is PENDING, and listed under data.
    assert fulfillment["decision_status"] == "PENDING"
    assert body["data"]["fulfillments"] == [fulfillment]
    assert _rd_status(sandbox, RD_BANK) == "NEEDS_REVIEW"


def test_one_document_can_fulfil_several_requirements_in_one_batch(
    sandbox: RunningSandbox,
) -> None:
    document_id = create_document(sandbox)
    results = _add(sandbox, (document_id, RD_BANK), (document_id, RD_ADDRESS)).json()["results"]
    assert [r["status"] for r in results] == ["SUCCESS", "SUCCESS"]


def test_batch_add_refuses_each_bad_item_on_its_own(sandbox: RunningSandbox) -> None:
    good = create_document(sandbox, b"%PDF-good")
    pending = create_document(sandbox, b"%PDF-pending", upload=False)
    other = create_document(sandbox, b"%PDF-other", subject_record_id=OTHER_SUBJECT)
    answer = _add(
        sandbox,
        (good, RD_BANK),
        (good, RD_BANK),  # the same pair again
        ("d_NoSuchDocument000000001", RD_BANK),
        (good, "rd_NoSuchRequirement00001"),
        (good, RD_OTHER),  # a required document of another workflow
        (other, RD_ADDRESS),
        (pending, RD_ADDRESS),
        (good, RD_INACTIVE),
        ("w_NotADocument0000000001", RD_ADDRESS),
    )
    assert answer.status_code == 200
    body = answer.json()
    results = body["results"]
    outcomes = [_outcome(r) for r in results]
    not_found = ("ENTITY_NOT_FOUND", "The given entity(s) does not exist.")
    assert outcomes == [
        "SUCCESS",
        ("BAD_REQUEST", "The document already fulfills this required document."),
        not_found,
        not_found,
        not_found,
        ("BAD_REQUEST", "The document belongs to another subject record than the workflow."),
        ("BAD_REQUEST", "The document has no completed upload yet."),
        ("BAD_REQUEST", "Cannot add a fulfillment to an inactive required document."),
        ("BAD_REQUEST", "document_id must be an id in the d_ prefix format."),
    ]
    assert [r["errors"][0].get("details") for r in results[2:5]] == [
        [{"document_id": "d_NoSuchDocument000000001"}],
        [{"required_document_id": "rd_NoSuchRequirement00001"}],
        [{"required_document_id": RD_OTHER}],
    ]
    assert not any("sub_code" in r["errors"][0] for r in results[1:])
    assert results[6]["request"]["document_id"] == pending
    meta = body["meta"]
    assert (meta["total_requests"], meta["success_count"], meta["failure_count"]) == (9, 1, 8)


def test_a_rejected_pair_may_not_be_added_again_but_a_deleted_one_may(
    sandbox: RunningSandbox,
) -> None:
    document_id = create_document(sandbox)
    first = _add(sandbox, (document_id, RD_BANK)).json()["results"][0]
    fulfillment_id = first["data"]["fulfillment"]["fulfillment_id"]
    sandbox_call(sandbox, UPDATE, {"fulfillment_id": fulfillment_id, "decision_status": "REJECTED"})
    again = _add(sandbox, (document_id, RD_BANK)).json()["results"][0]
    assert again["status"] == "ERROR" and again["errors"][0]["code"] == "BAD_REQUEST"
    deleted = sandbox_call(
        sandbox, "workflow.requiredDocument.fulfillment.delete", {"fulfillment_id": fulfillment_id}
    )
    assert deleted.status_code == 200
    assert _add(sandbox, (document_id, RD_BANK)).json()["results"][0]["status"] == "SUCCESS"


def test_an_ended_workflow_refuses_the_whole_request(sandbox: RunningSandbox) -> None:
    document_id = create_document(sandbox)
    error = _whole_error(_add(sandbox, (document_id, RD_ENDED), workflow=ENDED_WORKFLOW))
    assert error["code"] == "SYSTEM_RULE_VIOLATION"
    assert (error["entity_type"], error["sub_code"]) == ("Workflow", "WORKFLOW_ENDED")
    request = {
        "workflow_id": ENDED_WORKFLOW,
        "required_documents": [{"required_document_id": RD_ENDED}],
    }
    refused = sandbox_call(sandbox, "workflow.requiredDocument.batchRequestDocument", request)
    assert _whole_error(refused)["sub_code"] == "WORKFLOW_ENDED"


def test_a_workflow_that_ends_later_refuses_reviews_too(sandbox: RunningSandbox) -> None:
    document_id = create_document(sandbox)
    result = _add(sandbox, (document_id, RD_BANK)).json()["results"][0]
    fulfillment_id = result["data"]["fulfillment"]["fulfillment_id"]
    ended = sandbox_admin(
        sandbox,
        "admin",
        {"op": "set_workflow_state", "workflow_id": DEMO_WORKFLOW, "state": "ENDED"},
    )
    assert ended.status_code == 200
    update = {"fulfillment_id": fulfillment_id, "decision_status": "ACCEPTED"}
    assert _whole_error(sandbox_call(sandbox, UPDATE, update))["sub_code"] == "WORKFLOW_ENDED"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"workflow_id": "w_NoSuchWorkflow000000001"}, "ENTITY_NOT_FOUND"),
        ({"workflow_id": "w_ForeignApplication00001"}, "ENTITY_NOT_FOUND"),
        ({"workflow_id": "rd_BankStatements00000001"}, "BAD_REQUEST"),
        ({"workflow_id": DEMO_WORKFLOW, "fulfillments": []}, "BAD_REQUEST"),
        ({"workflow_id": DEMO_WORKFLOW, "fulfillments": "d_1"}, "BAD_REQUEST"),
    ],
)
def test_batch_add_whole_request_refusals(
    sandbox: RunningSandbox, body: dict[str, Any], code: str
) -> None:
    body.setdefault("fulfillments", [{"document_id": "d_X", "required_document_id": RD_BANK}])
    assert _whole_error(sandbox_call(sandbox, BATCH_ADD, body))["code"] == code


def test_batch_request_document_answers_per_item_and_records_requests(
    sandbox: RunningSandbox,
) -> None:
    items = [RD_BANK, RD_INACTIVE, "rd_NoSuchRequirement00001", RD_OTHER, RD_ADDRESS]
    answer = sandbox_call(
        sandbox,
        "workflow.requiredDocument.batchRequestDocument",
        {
            "workflow_id": DEMO_WORKFLOW,
            "required_documents": [{"required_document_id": i} for i in items],
        },
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["request"]["required_document_id"] for r in results] == items
    summary = [_outcome(r) for r in results]
    not_found = ("ENTITY_NOT_FOUND", "The given entity(s) does not exist.")
    assert summary == [
        "SUCCESS",
        ("BAD_REQUEST", "Cannot request files for an inactive required document."),
        not_found,
        not_found,
        "SUCCESS",
    ]
    assert results[0]["data"] == {}
    requested = [r.required_document_id for r in sandbox.state.document_requests]
    assert requested == [RD_BANK, RD_ADDRESS]


def test_an_unknown_workflow_is_404_for_batch_request_document(sandbox: RunningSandbox) -> None:
    request = {
        "workflow_id": "w_NoSuchWorkflow000000001",
        "required_documents": [{"required_document_id": RD_BANK}],
    }
    answer = sandbox_call(sandbox, "workflow.requiredDocument.batchRequestDocument", request)
    assert answer.status_code == 404
    assert answer.json()["meta"]["status"] == "ERROR"
    assert answer.json()["errors"][0] == {
        "code": "ENTITY_NOT_FOUND",
        "message": "The given entity(s) does not exist.",
        "details": [{"workflow_id": "w_NoSuchWorkflow000000001"}],
    }


def test_plain_refusals_strip_every_refused_item_to_a_bare_bad_request(
    sandbox: RunningSandbox,
) -> None:
    set_plain = sandbox_admin(sandbox, "faults", {"plain_refusals": True})
    assert set_plain.status_code == 200 and set_plain.json()["plain_refusals"] is True
    document_id = create_document(sandbox)
    assert _add(sandbox, (document_id, RD_BANK)).json()["results"][0]["status"] == "SUCCESS"
    results = _add(
        sandbox, (document_id, RD_BANK), (document_id, "rd_NoSuchRequirement00001")
    ).json()["results"]
    request = {
        "workflow_id": DEMO_WORKFLOW,
        "required_documents": [{"required_document_id": RD_INACTIVE}],
    }
    asked = sandbox_call(sandbox, "workflow.requiredDocument.batchRequestDocument", request)
    for result in [*results, *asked.json()["results"]]:
        assert result["status"] == "ERROR"
        assert result["errors"] == [
            {"code": "BAD_REQUEST", "message": "This item was not processed."}
        ]


def test_review_moves_the_required_document(sandbox: RunningSandbox) -> None:
    first, second = create_document(sandbox, b"%PDF-one"), create_document(sandbox, b"%PDF-two")
    results = _add(sandbox, (first, RD_BANK), (second, RD_BANK)).json()["results"]
    ids = [r["data"]["fulfillment"]["fulfillment_id"] for r in results]
    assert _rd_status(sandbox, RD_BANK) == "NEEDS_REVIEW"

    def decide(fulfillment_id: str, decision: str) -> None:
        body = {"fulfillment_id": fulfillment_id, "decision_status": decision}
        answer = sandbox_call(sandbox, UPDATE, body)
        assert answer.status_code == 200 and answer.json()["data"] == {}

    decide(ids[0], "REJECTED")
    assert _rd_status(sandbox, RD_BANK) == "NEEDS_REVIEW"  # the second is still pending
    decide(ids[1], "REJECTED")
    assert _rd_status(sandbox, RD_BANK) == "ACTIVE"
    decide(ids[1], "ACCEPTED")
    assert _rd_status(sandbox, RD_BANK) == "COMPLETED"
    listed = sandbox_call(sandbox, LIST, {"required_document_id": RD_BANK}).json()
    decisions = {f["fulfillment_id"]: f["decision_status"] for f in listed["data"]["fulfillments"]}
    assert decisions == {ids[0]: "REJECTED", ids[1]: "ACCEPTED"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"fulfillment_id": "f_NoSuchFulfillment000001", "decision_status": "ACCEPTED"},
            "ENTITY_NOT_FOUND",
        ),
        (
            {"fulfillment_id": "f_NoSuchFulfillment000001", "decision_status": "MAYBE"},
            "BAD_REQUEST",
        ),
        (
            {"fulfillment_id": "d_NotAFulfillment00000001", "decision_status": "ACCEPTED"},
            "BAD_REQUEST",
        ),
    ],
)
def test_update_refusals(sandbox: RunningSandbox, body: dict[str, Any], code: str) -> None:
    assert _whole_error(sandbox_call(sandbox, UPDATE, body))["code"] == code


def test_update_without_decision_is_bad_request(sandbox: RunningSandbox) -> None:
    document_id = create_document(sandbox)
    result = _add(sandbox, (document_id, RD_BANK)).json()["results"][0]
    body = {"fulfillment_id": result["data"]["fulfillment"]["fulfillment_id"]}
    assert _whole_error(sandbox_call(sandbox, UPDATE, body))["code"] == "BAD_REQUEST"


def test_fulfillment_list_filters_and_verbose(sandbox: RunningSandbox) -> None:
    document_id = create_document(sandbox, b"%PDF-abc")
    _add(sandbox, (document_id, RD_BANK))
    plain = sandbox_call(sandbox, LIST, {"required_document_id": RD_BANK}).json()
    [item] = plain["data"]["fulfillments"]
    assert item["document_id"] == document_id and "document" not in item
    verbose = sandbox_call(sandbox, LIST, {"required_document_id": RD_BANK, "verbose": True}).json()
    assert verbose["data"]["fulfillments"][0]["document"]["file_size"] == len(b"%PDF-abc")
    accepted = {"required_document_id": RD_BANK, "filters": {"decision_status": "ACCEPTED"}}
    assert sandbox_call(sandbox, LIST, accepted).json()["data"]["fulfillments"] == []
    unknown = sandbox_call(sandbox, LIST, {"required_document_id": "rd_NoSuchRequirement00001"})
    assert _whole_error(unknown)["code"] == "ENTITY_NOT_FOUND"
