"""The typed client over httpx.MockTransport: wire format, retry rules, no secrets in logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agent import __version__
from agent.errors import (
    AmbiguousRequest,
    CannotSucceed,
    EntityNotFound,
    NetworkError,
    RuleViolation,
    ServerError,
    UnexpectedResponse,
    WorkflowEnded,
)
from agent.kompliant import KompliantClient
from agent.kompliant.auth import API_VERSION
from agent.kompliant.pacer import Pacer, PacerPolicy
from tests.kit.clock import FakeClock
from tests.kompliant.conftest import API_KEY, AUTH_TOKEN, SECRET_KEY, SECRETS, make_credentials
from tests.kompliant.scripted_server import envelope, error_envelope

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a script and records the requests."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def ok(data: dict[str, Any] | None = None, trace_id: str = "trc_ok") -> httpx.Response:
    return httpx.Response(200, json=envelope(data, trace_id))


def fail(status: int, code: str = "X", message: str = "failed", **extra: Any) -> httpx.Response:
    return httpx.Response(status, json=error_envelope(code, message, **extra))


def make_client(
    recorder: Recorder, sleeps: FakeClock | None = None, *, attempts: int = 5
) -> KompliantClient:
    sleeps = sleeps or FakeClock(0.0)
    pacer = Pacer(
        PacerPolicy(base=0.5, cap=4.0, max_attempts=attempts, max_elapsed=60.0),
        clock=sleeps,
        sleep=sleeps.sleep,
        rand=lambda: 0.5,
    )
    return KompliantClient(
        make_credentials("https://api.kompliant.test/"),
        transport=httpx.MockTransport(recorder),
        pacer=pacer,
    )


DOC = {
    "document_id": "d_1",
    "subject_record_id": "sr_1",
    "file_name": "a.pdf",
    "file_size": 3,
    "upload_status": "COMPLETED",
    "hash": "abc",
    "something_new": True,
}
CREATED = {
    "document": {
        "document_id": "d_1",
        "upload_url": "https://bucket.s3.amazonaws.com",
        "presign_values": {"Content-Type": "application/pdf", "key": "sr_1/d_1.pdf"},
    }
}


# --------------------------------------------------------------------------- wire format


def test_requests_are_signed_json_posts_to_the_method_path() -> None:
    rec = Recorder(ok({"current_version": "2025-03-24", "latest_version": "2025-03-24"}))
    with make_client(rec) as client:
        info = client.check_version()
    assert info.current_version == "2025-03-24"
    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.kompliant.test/meta.checkVersion"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"kompliant-agent/{__version__}"
    assert request.headers["X-API-Key"] == API_KEY
    assert request.headers["X-API-Auth-Token"] == AUTH_TOKEN
    assert request.headers["X-API-Version"] == API_VERSION
    assert request.headers["Authorization"].startswith("KSig1-HMAC-SHA256 ")
    assert json.loads(request.content) == {}


def test_every_typed_method_sends_its_parameters_and_reads_its_answer() -> None:
    rec = Recorder(
        ok(CREATED),
        ok({"document": DOC}),
        ok({"documents": [DOC, {**DOC, "document_id": "d_2", "upload_status": "PENDING"}]}),
        ok({}),
        ok(
            {
                "workflow": {
                    "workflow_id": "w_1",
                    "type": "BUSINESS_APPLICATION",
                    "subject_record_id": "sr_1",
                    "state": "STARTED",
                }
            }
        ),
        ok({"workflows": [{"workflow_id": "w_1", "state": "ENDED"}]}),
        ok(
            {
                "required_documents": [
                    {
                        "required_document_id": "rd_A",
                        "document_type_code": "BANK_STATEMENTS",
                        "name": "Bank statements",
                        "status": "ACTIVE",
                        "requirement_text": "3 months",
                    }
                ]
            }
        ),
        ok(
            {
                "fulfillments": [
                    {
                        "fulfillment_id": "f_1",
                        "document_id": "d_1",
                        "decision_status": "NEEDS_REVIEW",
                    }
                ]
            }
        ),
        ok({}),
    )
    with make_client(rec) as client:
        created = client.create_document("sr_1", "a.pdf", 3)
        document = client.get_document("d_1")
        documents = client.list_documents("sr_1")
        assert client.delete_document("d_1") is None
        workflow = client.get_workflow("w_1")
        workflows = client.list_workflows("sr_1")
        required = client.list_required_documents("w_1", status="ACTIVE")
        fulfillments = client.list_fulfillments("rd_A", verbose=True)
        assert client.update_fulfillment("f_1", "ACCEPTED") is None

    assert created.document_id == "d_1"
    assert created.form.content_type == "application/pdf"
    assert created.form.fields[1] == ("key", "sr_1/d_1.pdf")
    assert document.completed and document.hash == "abc" and document.file_size == 3
    assert [d.document_id for d in documents] == ["d_1", "d_2"]
    assert workflow.type == "BUSINESS_APPLICATION" and not workflow.ended
    assert workflows[0].ended
    assert required[0].requirement_text == "3 months"
    assert fulfillments[0].required_document_id == "rd_A"
    assert rec.paths == [
        "/document.create",
        "/document.get",
        "/document.list",
        "/document.delete",
        "/workflow.get",
        "/workflow.list",
        "/workflow.requiredDocument.list",
        "/workflow.requiredDocument.fulfillment.list",
        "/workflow.requiredDocument.fulfillment.update",
    ]
    assert rec.bodies == [
        {"subject_record_id": "sr_1", "file_name": "a.pdf", "file_size_in_bytes": 3},
        {"document_id": "d_1"},
        {"subject_record_id": "sr_1"},
        {"document_id": "d_1"},
        {"workflow_id": "w_1"},
        {"subject_record_id": "sr_1"},
        {"workflow_id": "w_1", "filters": {"required_document_status": "ACTIVE"}},
        {"required_document_id": "rd_A", "verbose": True},
        {"fulfillment_id": "f_1", "decision_status": "ACCEPTED"},
    ]


def test_unknown_enum_values_are_tolerated_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    odd = {"workflow_id": "w_1", "state": "HIBERNATING_FOR_TEST"}
    rec = Recorder(ok({"workflows": [odd, odd]}), ok({"workflow": odd}))
    with caplog.at_level(logging.WARNING), make_client(rec) as client:
        assert [w.state for w in client.list_workflows("sr_1")] == ["HIBERNATING_FOR_TEST"] * 2
        assert client.get_workflow("w_1").state == "HIBERNATING_FOR_TEST"
    assert sum("HIBERNATING_FOR_TEST" in r.getMessage() for r in caplog.records) == 1


def test_batch_add_matches_results_by_request_and_keeps_input_order() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["fulfillments"]
        results = [
            {
                "request": item,
                "status": "SUCCESS",
                "data": {"fulfillment": {"fulfillment_id": "f_" + item["required_document_id"]}},
            }
            for item in reversed(sent)
        ]
        return httpx.Response(200, json={"meta": {"status": "SUCCESS"}, "results": results})

    rec = Recorder(answer)
    with make_client(rec) as client:
        results = client.add_fulfillments("w_1", [("d_1", "rd_A"), ("d_1", "rd_B")])
    assert [r.fulfillment_id for r in results] == ["f_rd_A", "f_rd_B"]
    assert rec.bodies[0] == {
        "workflow_id": "w_1",
        "fulfillments": [
            {"document_id": "d_1", "required_document_id": "rd_A"},
            {"document_id": "d_1", "required_document_id": "rd_B"},
        ],
    }


def test_request_documents_reports_per_item() -> None:
    results = [
        {
            "request": {"required_document_id": "rd_B"},
            "status": "ERROR",
            "errors": [
                {
                    "code": "SYSTEM_RULE_VIOLATION",
                    "message": "inactive",
                    "entity_type": "RequiredDocument",
                    "sub_code": "REQUIRED_DOCUMENT_INACTIVE",
                }
            ],
        },
        {"request": {"required_document_id": "rd_A"}, "status": "SUCCESS", "data": {}},
    ]
    rec = Recorder(httpx.Response(200, json={"meta": {"status": "SUCCESS"}, "results": results}))
    with make_client(rec) as client:
        first, second = client.request_documents("w_1", ["rd_A", "rd_B"])
    assert rec.bodies[0]["required_documents"] == [
        {"required_document_id": "rd_A"},
        {"required_document_id": "rd_B"},
    ]
    assert first.ok
    assert isinstance(second.error, RuleViolation)
    assert second.error.sub_code == "REQUIRED_DOCUMENT_INACTIVE"


def test_a_whole_batch_refused_for_an_ended_workflow_raises() -> None:
    rec = Recorder(
        fail(
            400, "SYSTEM_RULE_VIOLATION", "ended", entity_type="WORKFLOW", sub_code="WORKFLOW_ENDED"
        )
    )
    with make_client(rec) as client, pytest.raises(WorkflowEnded):
        client.add_fulfillments("w_1", [("d_1", "rd_A")])
    assert len(rec.requests) == 1


# --------------------------------------------------------------------------- retries


def test_idempotent_calls_retry_server_errors_and_timeouts() -> None:
    sleeps = FakeClock(0.0)
    rec = Recorder(
        fail(500, "INTERNAL", "boom"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        ok({"document": DOC}),
    )
    with make_client(rec, sleeps) as client:
        assert client.get_document("d_1").document_id == "d_1"
    assert len(rec.requests) == 4
    assert sleeps.sleeps == [0.25, 0.5, 1.0]  # rand 0.5 × 0.5, 1, 2


def test_idempotent_call_gives_up_with_the_last_retry_later_error() -> None:
    rec = Recorder(*[httpx.ReadTimeout("slow") for _ in range(3)])
    with make_client(rec, attempts=3) as client, pytest.raises(NetworkError) as caught:
        client.list_documents("sr_1")
    assert not isinstance(caught.value, AmbiguousRequest)
    assert len(rec.requests) == 3


def test_cannot_succeed_is_not_retried() -> None:
    rec = Recorder(fail(400, "ENTITY_NOT_FOUND", "no such document"))
    with make_client(rec) as client, pytest.raises(EntityNotFound) as caught:
        client.get_document("d_404")
    assert len(rec.requests) == 1
    assert caught.value.trace_id == "trc_err"


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(httpx.Response(429, headers={"Retry-After": "3"}), id="429"),
        pytest.param(fail(503, "UNAVAILABLE"), id="503"),
        pytest.param(httpx.Response(503, content=b"<h1>down</h1>"), id="503-html"),
        pytest.param(httpx.ConnectError("refused"), id="connect-error"),
        pytest.param(httpx.ConnectTimeout("no route"), id="connect-timeout"),
        pytest.param(httpx.PoolTimeout("pool"), id="pool-timeout"),
    ],
)
def test_create_is_retried_when_it_certainly_did_not_reach_kompliant(
    first: httpx.Response | Exception,
) -> None:
    sleeps = FakeClock(0.0)
    rec = Recorder(first, ok(CREATED))
    with make_client(rec, sleeps) as client:
        assert client.create_document("sr_1", "a.pdf", 3).document_id == "d_1"
    assert len(rec.requests) == 2
    if isinstance(first, httpx.Response) and first.status_code == 429:
        assert sleeps.sleeps == [3.0]


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(fail(500, "INTERNAL"), id="500"),
        pytest.param(httpx.Response(502, content=b"<html>Bad Gateway</html>"), id="502-html"),
        pytest.param(httpx.Response(504, content=b""), id="504-empty"),
        pytest.param(fail(504, "GATEWAY_TIMEOUT"), id="504"),
        pytest.param(httpx.Response(200, content=b"<html>captive portal</html>"), id="200-html"),
        pytest.param(httpx.ReadTimeout("slow"), id="read-timeout"),
        pytest.param(httpx.ReadError("reset"), id="read-error"),
        pytest.param(httpx.WriteError("broken pipe"), id="write-error"),
        pytest.param(httpx.WriteTimeout("slow write"), id="write-timeout"),
        pytest.param(httpx.RemoteProtocolError("disconnected"), id="dropped"),
        pytest.param(ok({"document": {"upload_url": "https://x"}}), id="no-document-id"),
        pytest.param(ok({}), id="no-document"),
    ],
)
def test_create_raises_ambiguous_when_it_may_have_reached_kompliant(
    first: httpx.Response | Exception,
) -> None:
    rec = Recorder(first, ok(CREATED))
    with make_client(rec) as client, pytest.raises(AmbiguousRequest) as caught:
        client.create_document("sr_1", "a.pdf", 3)
    assert len(rec.requests) == 1  # never repeated blindly
    assert "checks what Kompliant recorded" in caught.value.hint


def test_batch_add_is_not_repeated_after_a_dropped_connection() -> None:
    rec = Recorder(httpx.RemoteProtocolError("disconnected"), ok({}))
    with make_client(rec) as client, pytest.raises(AmbiguousRequest):
        client.add_fulfillments("w_1", [("d_1", "rd_A")])
    assert len(rec.requests) == 1


def test_a_429_on_batch_add_is_waited_out_and_retried() -> None:
    sleeps = FakeClock(0.0)
    results = {
        "meta": {"status": "SUCCESS"},
        "results": [
            {
                "request": {"document_id": "d_1", "required_document_id": "rd_A"},
                "status": "SUCCESS",
                "data": {"fulfillment_id": "f_1"},
            }
        ],
    }
    rec = Recorder(
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json=results)
    )
    with make_client(rec, sleeps) as client:
        (result,) = client.add_fulfillments("w_1", [("d_1", "rd_A")])
    assert result.fulfillment_id == "f_1"
    assert sleeps.sleeps == [3.0]


def test_unreadable_success_of_a_read_is_an_unexpected_response() -> None:
    rec = Recorder(ok({"documents": "nope"}))
    with make_client(rec, attempts=1) as client, pytest.raises(UnexpectedResponse):
        client.list_documents("sr_1")


def test_tls_verification_failure_says_what_to_do() -> None:
    rec = Recorder(*[httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")] * 2)
    with make_client(rec, attempts=2) as client, pytest.raises(NetworkError) as caught:
        client.check_version()
    assert caught.value.code == "TLS_VERIFY_FAILED"
    assert "SSL_CERT_FILE" in caught.value.hint


# --------------------------------------------------------------------------- secrets and logs


def test_logs_and_errors_never_carry_secrets(caplog: pytest.LogCaptureFixture) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        # A debugging proxy echoing the request: the secret headers first.
        names = ["Authorization", "X-API-Auth-Token", "X-API-Key"]
        headers = "\n".join(f"{name}: {request.headers[name]}" for name in names)
        return httpx.Response(502, content=f"<pre>{headers}</pre>".encode())

    rec = Recorder(echo, echo, echo, ok({"document": DOC}, trace_id="trc_logged"))
    with caplog.at_level(logging.DEBUG), make_client(rec, attempts=2) as client:
        with pytest.raises(AmbiguousRequest) as ambiguous:
            client.create_document("sr_1", "a.pdf", 3)
        with pytest.raises(UnexpectedResponse) as unexpected:
            client.get_document("d_1")  # 502 twice: gives up
        client.get_document("d_1")
    texts = [r.getMessage() for r in caplog.records]
    texts += [str(ambiguous.value), repr(ambiguous.value), str(unexpected.value)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    debug = [t for t in texts if t.startswith("POST document.get -> HTTP 200")]
    assert debug and "trc_logged" in debug[0] and " ms" in debug[0]
    # The echo itself is shown, masked.
    assert "Authorization: KSig1-HMAC-SHA256 [redacted]" in str(unexpected.value)
    assert "X-API-Auth-Token: [redacted]" in str(unexpected.value)


def test_client_repr_and_credentials_hide_secrets() -> None:
    creds = make_credentials()
    assert SECRET_KEY not in repr(creds) and AUTH_TOKEN not in repr(creds)
    client = KompliantClient(creds, transport=httpx.MockTransport(Recorder()))
    client.close()
    for secret in SECRETS:
        assert secret not in repr(client.__dict__.get("_auth"))


def test_plain_http_to_a_remote_host_is_refused_before_any_request() -> None:
    rec = Recorder()
    with pytest.raises(CannotSucceed) as caught:
        KompliantClient(
            make_credentials("http://api.kompliant.test"), transport=httpx.MockTransport(rec)
        )
    assert "https://" in caught.value.hint
    assert rec.requests == []


def test_server_error_keeps_code_status_and_trace_id() -> None:
    rec = Recorder(fail(500, "INTERNAL", "boom"))
    with make_client(rec, attempts=1) as client, pytest.raises(ServerError) as caught:
        client.get_workflow("w_1")
    err = caught.value
    assert (err.code, err.http_status, err.trace_id) == ("INTERNAL", 500, "trc_err")
    assert "boom" in err.describe() and "trc_err" in err.describe()
