"""Persistence across restarts, fixture loading, admin operations, and KSig1 verification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.kompliant.auth import SCHEME, signature
from agent.sandbox import DEMO_FIXTURE, start_sandbox
from agent.sandbox.state import FixtureError
from agent.sandbox.verify import ApiKey, AuthFailure, Caller, authenticate
from tests.conftest import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    RD_BANK,
    RD_INACTIVE,
    create_document,
    sandbox_admin,
    sandbox_call,
)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    with start_sandbox(tmp_path) as first:
        document_id = create_document(first, b"%PDF-kept")
        added = sandbox_call(
            first,
            "workflow.requiredDocument.fulfillment.batchAdd",
            {
                "workflow_id": DEMO_WORKFLOW,
                "fulfillments": [{"document_id": document_id, "required_document_id": RD_BANK}],
            },
        )
        assert added.json()["results"][0]["status"] == "SUCCESS"
    assert (tmp_path / "state.sqlite3").exists()
    with start_sandbox(tmp_path) as second:
        got = sandbox_call(second, "document.get", {"document_id": document_id})
        assert got.json()["data"]["document"]["upload_status"] == "COMPLETED"
        listed = sandbox_call(
            second, "workflow.requiredDocument.fulfillment.list", {"required_document_id": RD_BANK}
        )
        assert [f["document_id"] for f in listed.json()["data"]["fulfillments"]] == [document_id]
        assert second.state.required_documents[RD_BANK].status == "NEEDS_REVIEW"


def test_the_fixture_only_seeds_an_empty_data_folder(tmp_path: Path) -> None:
    with start_sandbox(tmp_path) as first:
        sandbox_admin(
            first,
            "admin",
            {"op": "set_workflow_state", "workflow_id": DEMO_WORKFLOW, "state": "ENDED"},
        )
    fixture = tmp_path / "other.json"
    fixture.write_text(json.dumps({"accounts": []}))
    with start_sandbox(tmp_path, fixture=fixture) as second:
        assert second.state.workflows[DEMO_WORKFLOW].state == "ENDED"


def test_a_custom_fixture_seeds_a_new_folder(tmp_path: Path) -> None:
    raw = json.loads(DEMO_FIXTURE.read_text())
    raw["workflows"] = raw["workflows"][:1]
    raw["allowed_extensions"] = ["pdf"]
    fixture = tmp_path / "small.json"
    fixture.write_text(json.dumps(raw))
    with start_sandbox(tmp_path / "data", fixture=fixture) as sandbox:
        assert list(sandbox.state.workflows) == [DEMO_WORKFLOW]
        assert sandbox.state.allowed_extensions == {"pdf": "application/pdf"}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("[]", "top level"),
        ('{"accounts": {}}', "'accounts' must be a JSON array"),
        (
            '{"subject_records": [{"subject_record_id": "sr_A", "account_id": "sb_x"}]}',
            "unknown account",
        ),
        ('{"accounts": [{"name": "no id"}]}', "accounts[0]"),
        ("{not json", "cannot read"),
    ],
)
def test_a_broken_fixture_says_where(tmp_path: Path, raw: str, fragment: str) -> None:
    fixture = tmp_path / "broken.json"
    fixture.write_text(raw)
    with pytest.raises(FixtureError, match=r"broken\.json") as caught:
        start_sandbox(tmp_path / "data", fixture=fixture)
    assert fragment in str(caught.value)


def test_admin_operations(tmp_path: Path) -> None:
    with start_sandbox(tmp_path) as sandbox:
        added = sandbox_admin(
            sandbox,
            "admin",
            {
                "op": "add_required_document",
                "workflow_id": DEMO_WORKFLOW,
                "document_type_code": "ARTICLES",
                "name": "Articles of incorporation",
            },
        )
        assert added.status_code == 200
        rd_id = added.json()["record"]["required_document_id"]
        assert rd_id.startswith("rd_")
        status = sandbox_admin(
            sandbox,
            "admin",
            {
                "op": "set_required_document_status",
                "required_document_id": RD_INACTIVE,
                "status": "ACTIVE",
            },
        )
        assert status.status_code == 200
        listed = sandbox_call(
            sandbox, "workflow.requiredDocument.list", {"workflow_id": DEMO_WORKFLOW}
        )
        by_id = {r["required_document_id"]: r for r in listed.json()["data"]["required_documents"]}
        assert by_id[rd_id]["name"] == "Articles of incorporation"
        assert by_id[RD_INACTIVE]["required_document_status"] == "ACTIVE"
        workflow = sandbox_admin(
            sandbox,
            "admin",
            {
                "op": "add_workflow",
                "subject_record_id": DEMO_SUBJECT,
                "type": "BUSINESS_UNDERWRITING",
            },
        ).json()["record"]
        listed_workflows = sandbox_call(
            sandbox, "workflow.list", {"subject_record_id": DEMO_SUBJECT}
        )
        ids = [w["workflow_id"] for w in listed_workflows.json()["data"]["workflows"]]
        assert workflow["workflow_id"] in ids
        state = sandbox_admin(sandbox, "state").json()
        assert all(k["secret_key"] == "(hidden)" for k in state["api_keys"])


def test_a_revoked_key_is_refused_and_taken_back(tmp_path: Path) -> None:
    with start_sandbox(tmp_path) as sandbox:
        credentials = sandbox.demo_credentials()
        assert credentials is not None
        op = {"op": "set_api_key_disabled", "api_key": credentials.api_key, "disabled": True}
        revoked = sandbox_admin(sandbox, "admin", op)
        assert revoked.status_code == 200
        assert revoked.json()["record"] == {
            "api_key": credentials.api_key,
            "account_id": "sb_demoacct",
            "disabled": True,
        }  # never the secret key or the auth token
        refused = sandbox_call(sandbox, "meta.checkVersion", {}, credentials=credentials)
        assert refused.status_code == 403
        sandbox_admin(sandbox, "admin", op | {"disabled": False})
        again = sandbox_call(sandbox, "meta.checkVersion", {}, credentials=credentials)
        assert again.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"op": "explode"},
        {"op": "set_api_key_disabled", "api_key": "sb_NoSuchKey"},
        {"op": "set_workflow_state", "workflow_id": DEMO_WORKFLOW, "state": "PAUSED"},
        {"op": "set_workflow_state", "workflow_id": "w_NoSuch", "state": "ENDED"},
        {"op": "set_required_document_status", "required_document_id": RD_BANK},
        {"op": "add_required_document", "workflow_id": DEMO_WORKFLOW},
        {"op": "update_document", "document_id": "d_NoSuch"},
    ],
)
def test_bad_admin_operations_are_refused(tmp_path: Path, body: dict[str, str]) -> None:
    with start_sandbox(tmp_path) as sandbox:
        answer = sandbox_admin(sandbox, "admin", body)
        assert answer.status_code == 400 and answer.json()["error"]
        assert sandbox_admin(sandbox, "nowhere", {}).status_code == 404


# -- KSig1 verification alone --------------------------------------------------------

SECRET = "xBeain5pFnPyQkl98qzA+BG+Cjzskpqq9fGKDbDoXNP5"
KEY = ApiKey("sb_3eY9UJuj09636NVPlgmhfa", SECRET, "token", "sb_acct")


def _headers(sig: str, token: str = "token") -> dict[str, str]:
    return {"Authorization": f"{SCHEME} {sig}", "X-API-Key": KEY.api_key, "X-API-Auth-Token": token}


def test_the_published_test_vector_is_accepted() -> None:
    vector = "iWEh4jjK9wfjTXd/3GzImPLL1swTZiCPpDbj62vFo2Q="
    assert signature(KEY.api_key, SECRET) == vector
    caller = authenticate(_headers(vector), {KEY.api_key: KEY}, "document.get")
    assert caller == Caller(KEY.api_key, "sb_acct")


def test_header_names_are_case_insensitive_and_refusals_name_no_secret() -> None:
    good = signature(KEY.api_key, SECRET)
    lowered = {k.lower(): v for k, v in _headers(good).items()}
    assert isinstance(authenticate(lowered, {KEY.api_key: KEY}, "m"), Caller)
    refused = authenticate(_headers(good, token="other-token"), {KEY.api_key: KEY}, "m")
    assert isinstance(refused, AuthFailure) and refused.http_status == 401
    assert good not in refused.message and "other-token" not in refused.message
