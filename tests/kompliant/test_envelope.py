"""Reading Kompliant's envelope: success, each error class, odd bodies, batch results."""

from __future__ import annotations

import email.utils
import logging
from typing import Any

import httpx
import pytest

from agent.errors import (
    AmbiguousRequest,
    AuthError,
    BadRequest,
    CannotSucceed,
    EntityNotFound,
    RuleViolation,
    ServerError,
    Throttled,
    UnexpectedResponse,
    WorkflowEnded,
)
from agent.kompliant import envelope as envelope_module
from agent.kompliant.envelope import (
    EXCERPT_CHARS,
    Envelope,
    excerpt,
    match_batch_results,
    parse_response,
    parse_retry_after,
)
from tests.kompliant.conftest import AUTH_TOKEN, SECRETS, SIGNATURE

URL = "https://api.kompliant.test/document.get"
NOW = 1_700_000_000.0


def response(
    status: int = 200,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    request = httpx.Request("POST", URL)
    if json is not None:
        return httpx.Response(status, json=json, headers=headers, request=request)
    return httpx.Response(status, content=content or b"", headers=headers, request=request)


def parse(resp: httpx.Response) -> Envelope:
    return parse_response(resp, now=lambda: NOW, redact=SECRETS)


def failure(resp: httpx.Response) -> Exception:
    with pytest.raises(Exception) as caught:
        parse(resp)
    return caught.value


def errors_body(*errors: dict[str, Any], meta: dict[str, Any] | None = None, **beside: Any) -> Any:
    meta = {"status": "ERROR", "trace_id": "trc_abc"} if meta is None else meta
    return {"meta": meta, "errors": list(errors), **beside}


# --------------------------------------------------------------------------- success


def test_success_gives_data_meta_and_trace_id() -> None:
    body = {
        "meta": {"status": "SUCCESS", "trace_id": "trc_1", "version": "2025-03-24"},
        "data": {"document": {"document_id": "d_1"}},
    }
    env = parse(response(json=body))
    assert env.data == {"document": {"document_id": "d_1"}}
    assert env.trace_id == "trc_1"
    assert env.http_status == 200
    assert env.results is None


def test_unknown_fields_are_ignored() -> None:
    body = {
        "meta": {"status": "SUCCESS", "trace_id": "trc_1", "shard": 7, "new": {"x": 1}},
        "data": {"document": {"document_id": "d_1", "brand_new_field": [1, 2]}},
        "links": {"self": "x"},
    }
    assert parse(response(json=body)).data["document"]["document_id"] == "d_1"


def test_empty_data_is_an_empty_mapping() -> None:
    env = parse(response(json={"meta": {"status": "SUCCESS"}, "data": {}}))
    assert env.data == {}


def test_warnings_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    envelope_module._seen_warnings.clear()
    body = {
        "meta": {
            "status": "SUCCESS",
            "warnings": [{"code": "DEPRECATED", "message": "document.list will change"}],
        },
        "data": {},
    }
    with caplog.at_level(logging.WARNING, logger="agent.kompliant.envelope"):
        first = parse(response(json=body))
        parse(response(json=body))
    hits = [r for r in caplog.records if "document.list will change" in r.getMessage()]
    assert len(hits) == 1
    assert first.warnings[0]["code"] == "DEPRECATED"


# --------------------------------------------------------------------------- errors


def test_bad_request_joins_every_message_and_keeps_ids() -> None:
    body = errors_body(
        {"code": "BAD_REQUEST", "message": "file_name is required"},
        {"code": "BAD_REQUEST", "message": "file_size_in_bytes must be positive"},
    )
    err = failure(response(400, json=body))
    assert type(err) is BadRequest
    assert err.code == "BAD_REQUEST"
    assert err.http_status == 400
    assert err.trace_id == "trc_abc"
    assert "file_name is required" in err.message
    assert "file_size_in_bytes must be positive" in err.message


def test_entity_not_found() -> None:
    err = failure(
        response(400, json=errors_body({"code": "ENTITY_NOT_FOUND", "message": "no d_x"}))
    )
    assert type(err) is EntityNotFound
    assert isinstance(err, CannotSucceed)
    assert err.code == "ENTITY_NOT_FOUND"


def test_other_application_codes_stay_cannot_succeed_with_their_code() -> None:
    err = failure(response(400, json=errors_body({"code": "ENTITY_LINKED", "message": "linked"})))
    assert isinstance(err, BadRequest)
    assert err.code == "ENTITY_LINKED"


RULE = {"code": "SYSTEM_RULE_VIOLATION", "message": "The workflow has ended"}


@pytest.mark.parametrize("entity_type", ["Workflow", "WORKFLOW", "workflow"])
@pytest.mark.parametrize("place", ["error", "details", "beside", "meta", "camel"])
def test_workflow_ended_is_found_wherever_it_is(place: str, entity_type: str) -> None:
    fields = {"entity_type": entity_type, "sub_code": "WORKFLOW_ENDED"}
    meta = {"status": "ERROR", "trace_id": "trc_abc"}
    if place == "error":
        body = errors_body({**RULE, **fields})
    elif place == "details":
        body = errors_body({**RULE, "details": fields})
    elif place == "beside":
        body = errors_body(RULE, **fields)
    elif place == "meta":
        body = errors_body(RULE, meta={**meta, **fields})
    else:
        body = errors_body({**RULE, "entityType": entity_type, "subCode": "WORKFLOW_ENDED"})
    err = failure(response(400, json=body))
    assert type(err) is WorkflowEnded
    assert err.sub_code == "WORKFLOW_ENDED"
    assert err.entity_type == entity_type
    assert err.trace_id == "trc_abc"


def test_other_rule_violations_keep_entity_type_and_sub_code() -> None:
    body = errors_body(
        {**RULE, "entity_type": "Workflow", "sub_code": "INVALID_WORKFLOW_TYPE", "extra": 1}
    )
    err = failure(response(400, json=body))
    assert type(err) is RuleViolation
    assert (err.entity_type, err.sub_code) == ("Workflow", "INVALID_WORKFLOW_TYPE")


def test_workflow_ended_wins_over_an_earlier_error_in_the_list() -> None:
    body = errors_body(
        {"code": "BAD_REQUEST", "message": "first"},
        {**RULE, "entity_type": "WORKFLOW", "sub_code": "WORKFLOW_ENDED"},
    )
    assert type(failure(response(400, json=body))) is WorkflowEnded


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures(status: int) -> None:
    body = errors_body({"code": "UNAUTHENTICATED", "message": "bad signature"})
    err = failure(response(status, json=body))
    assert type(err) is AuthError
    assert err.http_status == status
    assert "bad signature" in err.message
    assert "login" in err.hint


def test_auth_failure_with_a_proxy_page_is_still_an_auth_error() -> None:
    err = failure(response(403, content=b"<html><h1>Forbidden</h1></html>"))
    assert isinstance(err, AuthError)
    assert "Forbidden" in err.message


def test_throttled_reads_retry_after_seconds() -> None:
    err = failure(
        response(429, json={"message": "Too Many Requests"}, headers={"Retry-After": "7"})
    )
    assert type(err) is Throttled
    assert err.retry_after == 7.0
    assert err.http_status == 429


def test_throttled_reads_retry_after_http_date() -> None:
    when = email.utils.formatdate(NOW + 42, usegmt=True)
    err = failure(response(429, content=b"", headers={"Retry-After": when}))
    assert isinstance(err, Throttled)
    assert err.retry_after == pytest.approx(42.0)


def test_throttled_without_retry_after() -> None:
    err = failure(response(429, content=b"slow down"))
    assert isinstance(err, Throttled)
    assert err.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), (" 3.5 ", 3.5), ("-1", None), ("soon", None), ("", None), (None, None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_date_in_the_past_means_now() -> None:
    assert parse_retry_after(email.utils.formatdate(NOW - 60, usegmt=True), NOW) == 0.0


def test_server_error_with_the_envelope() -> None:
    body = errors_body({"code": "INTERNAL_ERROR", "message": "oops"})
    err = failure(response(500, json=body))
    assert type(err) is ServerError
    assert (err.code, err.http_status, err.trace_id) == ("INTERNAL_ERROR", 500, "trc_abc")


def test_infrastructure_error_without_meta() -> None:
    body = {"errors": [{"code": "SERVICE_UNAVAILABLE", "message": "try later"}]}
    err = failure(response(503, json=body, headers={"Retry-After": "5"}))
    assert type(err) is ServerError
    assert err.trace_id is None
    assert err.retry_after == 5.0
    assert "try later" in err.message


def test_gateway_html_page_is_an_unexpected_response_with_a_safe_excerpt() -> None:
    page = (
        b"<html><head><title>502 Bad Gateway</title></head>\r\n<body>\n<center><h1>502 Bad "
        b"Gateway</h1></center>\n<hr><center>nginx</center>" + b" padding" * 100 + b"</body></html>"
    )
    err = failure(response(502, content=page, headers={"Content-Type": "text/html"}))
    assert type(err) is UnexpectedResponse
    assert err.http_status == 502
    assert "502 Bad Gateway" in err.message
    assert "<" not in err.message and "\n" not in err.message
    assert "document.get" in err.message
    assert len(err.message) < EXCERPT_CHARS + 120


@pytest.mark.parametrize(
    "body",
    [b"", b"not json at all", b"[1, 2]", b'{"message": "Endpoint request timed out"}', b"\xff\xfe"],
)
def test_bodies_that_are_not_the_envelope(body: bytes) -> None:
    err = failure(response(200, content=body))
    assert type(err) is UnexpectedResponse
    assert err.http_status == 200
    assert isinstance(err.retryable, bool) and err.retryable


def test_empty_body_says_so() -> None:
    err = failure(response(504, content=b""))
    assert isinstance(err, UnexpectedResponse)
    assert "empty body" in err.message
    assert err.http_status == 504


def test_http_200_with_meta_status_error_is_an_error() -> None:
    body = errors_body({"code": "ENTITY_NOT_FOUND", "message": "gone"})
    err = failure(response(200, json=body))
    assert isinstance(err, EntityNotFound)


def test_success_status_with_an_error_http_status_is_not_trusted() -> None:
    body = {"meta": {"status": "SUCCESS"}, "data": {}}
    assert isinstance(failure(response(500, json=body)), ServerError)


def test_excerpts_never_carry_secrets() -> None:
    echo = (
        f"<pre>Authorization: KSig1-HMAC-SHA256 {SIGNATURE}\nX-API-Auth-Token: {AUTH_TOKEN}</pre>"
    ).encode()
    err = failure(response(502, content=echo))
    for secret in SECRETS:
        assert secret not in err.message
        assert secret not in str(err)
    # Even when the caller does not list them, signatures and tokens are masked.
    assert SIGNATURE not in excerpt(echo.decode())
    assert AUTH_TOKEN not in excerpt(echo.decode())


# --------------------------------------------------------------------------- batches


def batch_envelope(*results: Any, trace_id: str = "trc_b") -> Envelope:
    return Envelope(
        http_status=200, meta={"status": "SUCCESS"}, data={}, results=results, trace_id=trace_id
    )


LINKS = [
    {"document_id": "d_1", "required_document_id": "rd_A"},
    {"document_id": "d_1", "required_document_id": "rd_B"},
    {"document_id": "d_2", "required_document_id": "rd_A"},
]
KEYS = ("document_id", "required_document_id")


def ok(doc: str, rd: str, fulfillment_id: str) -> dict[str, Any]:
    return {
        "request": {"document_id": doc, "required_document_id": rd, "decision_status": None},
        "status": "SUCCESS",
        "data": {"fulfillment": {"fulfillment_id": fulfillment_id}},
    }


def test_batch_results_are_matched_by_request_not_position() -> None:
    env = batch_envelope(
        ok("d_2", "rd_A", "f_3"), ok("d_1", "rd_B", "f_2"), ok("d_1", "rd_A", "f_1")
    )
    results = match_batch_results(LINKS, env, KEYS)
    assert [r.request for r in results] == LINKS
    assert [r.fulfillment_id for r in results] == ["f_1", "f_2", "f_3"]
    assert all(r.ok and r.error is None for r in results)


def test_batch_item_errors_are_classified_like_whole_errors() -> None:
    refused = {
        "request": {"document_id": "d_1", "required_document_id": "rd_B"},
        "status": "ERROR",
        "errors": [
            {
                "code": "SYSTEM_RULE_VIOLATION",
                "message": "already linked",
                "entity_type": "Fulfillment",
                "sub_code": "DUPLICATE_FULFILLMENT",
            }
        ],
    }
    unknown = {
        "request": {"document_id": "d_2", "required_document_id": "rd_A"},
        "status": "ERROR",
        "errors": [{"code": "ENTITY_NOT_FOUND", "message": "no rd_A"}],
    }
    env = batch_envelope(unknown, refused, ok("d_1", "rd_A", "f_1"))
    first, second, third = match_batch_results(LINKS, env, KEYS)
    assert first.ok and first.fulfillment_id == "f_1"
    assert not second.ok and isinstance(second.error, RuleViolation)
    assert second.error.sub_code == "DUPLICATE_FULFILLMENT"
    assert second.error.trace_id == "trc_b"
    assert not third.ok and isinstance(third.error, EntityNotFound)


def test_a_missing_result_is_an_ambiguous_error_item_and_extras_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    extra = ok("d_9", "rd_Z", "f_9")
    env = batch_envelope(ok("d_1", "rd_A", "f_1"), extra, {"status": "SUCCESS", "data": {}})
    with caplog.at_level(logging.WARNING, logger="agent.kompliant.envelope"):
        results = match_batch_results(LINKS, env, KEYS, method="fulfillment.batchAdd")
    assert [r.ok for r in results] == [True, False, False]
    for missing in results[1:]:
        assert isinstance(missing.error, AmbiguousRequest)
        assert missing.error.code == "MISSING_RESULT"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "d_9" in logged
    assert "without a readable request echo" in logged


def test_repeated_input_items_each_take_their_own_result() -> None:
    items = [{"required_document_id": "rd_A"}, {"required_document_id": "rd_A"}]
    env = batch_envelope(
        {"request": {"required_document_id": "rd_A"}, "status": "SUCCESS", "data": {"n": 1}},
        {
            "request": {"required_document_id": "rd_A"},
            "status": "ERROR",
            "errors": [{"code": "BAD_REQUEST", "message": "twice"}],
        },
    )
    first, second = match_batch_results(items, env, ("required_document_id",))
    assert first.ok and first.data == {"n": 1}
    assert not second.ok and isinstance(second.error, BadRequest)


def test_fulfillment_id_is_also_read_flat() -> None:
    flat = {
        "request": {"document_id": "d_1", "required_document_id": "rd_A"},
        "status": "SUCCESS",
        "data": {"fulfillment_id": "f_flat"},
    }
    (result,) = match_batch_results(LINKS[:1], batch_envelope(flat), KEYS)
    assert result.fulfillment_id == "f_flat"


def test_entity_not_found_with_http_404_as_batch_request_document_answers_it() -> None:
    body = {
        "meta": {"status": "ERROR", "trace_id": "trc_404"},
        "errors": [
            {
                "code": "ENTITY_NOT_FOUND",
                "message": "The given entity(s) does not exist.",
                "details": [{"workflow_id": "w_Gone0001"}],
            }
        ],
    }
    err = failure(response(404, json=body))
    assert isinstance(err, EntityNotFound) and not isinstance(err, AmbiguousRequest)
    assert err.http_status == 404 and err.trace_id == "trc_404"
    # The page's message names no id; its details do, and the message a person reads shows it.
    assert err.message == "The given entity(s) does not exist (workflow_id w_Gone0001)"


def test_a_batch_answer_is_read_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    meta = {"status": "BATCH_PROCESSED", "total_requests": 1, "success_count": 1}
    item = {"status": "SUCCESS", "request": {"required_document_id": "rd_1"}, "data": {}}
    envelope_module._seen_warnings.clear()  # each odd envelope is warned about once
    caplog.set_level(logging.WARNING)
    parsed = parse(response(json={"meta": meta, "results": [item]}))
    assert parsed.results == (item,)
    assert not caplog.records
