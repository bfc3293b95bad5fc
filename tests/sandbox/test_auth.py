"""KSig1 verification, media type, HTTP method and version checks, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from agent.kompliant.auth import SCHEME, Credentials, signature
from agent.sandbox import RunningSandbox
from tests.conftest import DEMO_SUBJECT, sandbox_call

DISABLED_KEY = "sb_DisabledKey000000000001"
READ_ONLY_KEY = "sb_ReadOnlyKey000000000001"
OTHER_ACCOUNT_KEY = "sb_OtherAcctKey00000000001"
SHARED_SECRET = "Wb8xJg0Yh3ZfWcJ0tB9q0m6Yk4nC1sV2r7uL5aQe3PdX"


def _post(sandbox: RunningSandbox, headers: dict[str, str], method: str = "meta.checkVersion"):
    return httpx.post(f"{sandbox.base_url}/{method}", json={}, headers=headers, timeout=10)


def _signed_headers(credentials: Credentials) -> dict[str, str]:
    return {
        "Authorization": f"{SCHEME} {signature(credentials.api_key, credentials.secret_key)}",
        "X-API-Key": credentials.api_key,
        "X-API-Auth-Token": credentials.auth_token,
    }


def test_signed_request_succeeds_with_the_envelope(sandbox: RunningSandbox) -> None:
    answer = sandbox_call(sandbox, "meta.checkVersion")
    assert answer.status_code == 200
    body = answer.json()
    assert body["meta"]["status"] == "SUCCESS"
    assert body["meta"]["trace_id"].startswith("trc_")
    assert body["meta"]["version"] == "2025-03-24"
    assert body["data"] == {"current_version": "2025-03-24", "latest_version": "2025-03-24"}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"X-API-Key": ""}, "X-API-Key"),
        ({"Authorization": ""}, "Authorization"),
        ({"X-API-Auth-Token": ""}, "X-API-Auth-Token"),
        ({"X-API-Key": "sb_NoSuchKey0000000000001"}, "not known"),
        ({"Authorization": f"{SCHEME} AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "signature"),
        ({"Authorization": "Bearer something"}, "KSig1-HMAC-SHA256"),
        ({"X-API-Auth-Token": "wrong-token"}, "auth token"),
    ],
)
def test_authentication_failures_are_401(
    sandbox: RunningSandbox, demo_credentials: Credentials, change: dict[str, str], fragment: str
) -> None:
    headers = {**_signed_headers(demo_credentials), **change}
    headers = {k: v for k, v in headers.items() if v}
    answer = _post(sandbox, headers)
    assert answer.status_code == 401
    body = answer.json()
    assert body["meta"]["status"] == "ERROR"
    assert body["errors"][0]["code"] == "AUTHENTICATION_FAILED"
    assert fragment in body["errors"][0]["message"]
    # No secret ever comes back in a refusal.
    assert demo_credentials.auth_token not in answer.text
    assert signature(demo_credentials.api_key, demo_credentials.secret_key) not in answer.text


def test_a_signature_made_with_another_secret_is_refused(
    sandbox: RunningSandbox, demo_credentials: Credentials
) -> None:
    forged = Credentials(
        sandbox.base_url, demo_credentials.api_key, SHARED_SECRET, demo_credentials.auth_token
    )
    assert sandbox_call(sandbox, "meta.checkVersion", credentials=forged).status_code == 401


def test_a_disabled_key_is_403(sandbox: RunningSandbox) -> None:
    key = sandbox.state.api_keys[DISABLED_KEY]
    creds = Credentials(sandbox.base_url, key.api_key, key.secret_key, key.auth_token)
    answer = sandbox_call(sandbox, "meta.checkVersion", credentials=creds)
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "AUTHORIZATION_FAILED"


def test_a_key_limited_to_some_methods_gets_403_for_the_others(sandbox: RunningSandbox) -> None:
    key = sandbox.state.api_keys[READ_ONLY_KEY]
    creds = Credentials(sandbox.base_url, key.api_key, key.secret_key, key.auth_token)
    body = {"subject_record_id": DEMO_SUBJECT}
    assert sandbox_call(sandbox, "document.list", body, credentials=creds).status_code == 200
    create = {**body, "file_name": "a.pdf", "file_size_in_bytes": 3}
    refused = sandbox_call(sandbox, "document.create", create, credentials=creds)
    assert refused.status_code == 403
    assert "document.create" in refused.json()["errors"][0]["message"]


def test_another_account_does_not_see_the_demo_records(sandbox: RunningSandbox) -> None:
    key = sandbox.state.api_keys[OTHER_ACCOUNT_KEY]
    creds = Credentials(sandbox.base_url, key.api_key, key.secret_key, key.auth_token)
    answer = sandbox_call(
        sandbox, "document.list", {"subject_record_id": DEMO_SUBJECT}, credentials=creds
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "ENTITY_NOT_FOUND"
    mine = sandbox_call(
        sandbox, "workflow.get", {"workflow_id": "w_ForeignApplication00001"}, credentials=creds
    )
    assert mine.status_code == 200


def test_a_body_that_is_not_json_is_415_without_trace_id(
    sandbox: RunningSandbox, demo_credentials: Credentials
) -> None:
    headers = {**_signed_headers(demo_credentials), "Content-Type": "text/plain"}
    answer = httpx.post(f"{sandbox.base_url}/meta.checkVersion", content=b"{}", headers=headers)
    assert answer.status_code == 415
    body = answer.json()
    assert body["meta"] == {"status": "ERROR"}
    assert body["errors"][0]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_json_with_a_charset_is_accepted(sandbox: RunningSandbox) -> None:
    answer = sandbox_call(
        sandbox, "meta.checkVersion", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert answer.status_code == 200


def test_malformed_json_is_bad_request(
    sandbox: RunningSandbox, demo_credentials: Credentials
) -> None:
    headers = {**_signed_headers(demo_credentials), "Content-Type": "application/json"}
    for body in (b"{not json", b"[1, 2]"):
        answer = httpx.post(f"{sandbox.base_url}/document.list", content=body, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "BAD_REQUEST"


def test_get_and_unknown_methods_are_400(
    sandbox: RunningSandbox, demo_credentials: Credentials
) -> None:
    headers = _signed_headers(demo_credentials)
    got = httpx.get(f"{sandbox.base_url}/meta.checkVersion", headers=headers)
    assert got.status_code == 400
    assert "POST" in got.json()["errors"][0]["message"]
    unknown = sandbox_call(sandbox, "document.frobnicate")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["code"] == "BAD_REQUEST"


def test_the_api_version_is_echoed_and_an_unknown_one_refused(sandbox: RunningSandbox) -> None:
    pinned = sandbox_call(sandbox, "meta.checkVersion", headers={"X-API-Version": "2025-03-24"})
    assert pinned.json()["meta"]["version"] == "2025-03-24"
    # The signer pins the version; an explicit header from the caller replaces it.
    request = httpx.Request("POST", f"{sandbox.base_url}/meta.checkVersion", json={})
    creds = sandbox.demo_credentials()
    assert creds is not None
    signed = next(creds.auth().auth_flow(request))
    signed.headers["X-API-Version"] = "2019-01-01"
    refused = httpx.Client().send(signed)
    assert refused.status_code == 400
    assert "2019-01-01" in refused.json()["errors"][0]["message"]
