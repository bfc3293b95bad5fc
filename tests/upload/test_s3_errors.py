"""S3's XML error answers mapped to retry-later vs cannot-succeed with readable messages."""

from __future__ import annotations

import pytest

from agent.errors import (
    AgentError,
    RetryLater,
    ServerError,
    Throttled,
    UnexpectedResponse,
    UploadFormExpired,
    UploadRejected,
    WrongContent,
)
from agent.upload.s3_errors import error_for_response, parse_s3_error


def xml(code: str, message: str, extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message>{extra}<RequestId>REQ123</RequestId>"
        "<HostId>h</HostId></Error>"
    ).encode()


def test_policy_expired_means_ask_for_a_new_form() -> None:
    error = error_for_response(
        403, xml("AccessDenied", "Invalid according to Policy: Policy expired.")
    )
    assert type(error) is UploadFormExpired
    assert error.retryable
    assert error.trace_id == "REQ123"
    assert error.code == "AccessDenied"


def test_expired_security_token_also_means_a_new_form() -> None:
    error = error_for_response(400, xml("ExpiredToken", "The provided token has expired."))
    assert type(error) is UploadFormExpired


def test_entity_too_large_says_by_how_much() -> None:
    body = xml(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        "<ProposedSize>1012</ProposedSize><MaxSizeAllowed>1000</MaxSizeAllowed>",
    )
    error = error_for_response(400, body)
    assert type(error) is UploadRejected
    assert "12 bytes larger than the 1000 bytes declared to Kompliant" in error.message
    assert "upload it again" in error.describe()


def test_entity_too_small_says_by_how_much() -> None:
    body = xml(
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed size",
        "<ProposedSize>990</ProposedSize><MinSizeAllowed>1000</MinSizeAllowed>",
    )
    error = error_for_response(400, body)
    assert type(error) is UploadRejected
    assert "10 bytes smaller than the 1000 bytes declared" in error.message


def test_entity_too_large_without_figures_is_still_readable() -> None:
    error = error_for_response(400, xml("EntityTooLarge", "too big"))
    assert "larger than declared to Kompliant" in error.message


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "AccessDenied",
            "Invalid according to Policy: Policy Condition failed: "
            '["eq", "$Content-Type", "application/pdf"]',
            '["eq", "$Content-Type", "application/pdf"]',
        ),
        (
            "AccessDenied",
            "Invalid according to Policy: Extra input fields: acl",
            "Extra input fields: acl",
        ),
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match",
            "signature",
        ),
        (
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
            "exactly one file",
        ),
        ("AccessDenied", "Access Denied", "Access Denied"),
    ],
)
def test_form_rejections_cannot_succeed_and_say_why(code: str, message: str, expected: str) -> None:
    error = error_for_response(403 if code != "InvalidArgument" else 400, xml(code, message))
    assert type(error) is UploadRejected
    assert not error.retryable
    assert expected in error.message


def test_signature_answer_never_echoes_the_string_to_sign() -> None:
    body = xml(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
        "<AWSAccessKeyId>AKIASECRETID</AWSAccessKeyId><StringToSign>eyJwb2xpY3ki</StringToSign>"
        "<SignatureProvided>deadbeefsig</SignatureProvided>",
    )
    text = error_for_response(403, body).describe()
    for secret in ("AKIASECRETID", "eyJwb2xpY3ki", "deadbeefsig"):
        assert secret not in text


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (500, xml("InternalError", "We encountered an internal error."), ServerError),
        (503, xml("SlowDown", "Please reduce your request rate."), Throttled),
        (400, xml("RequestTimeout", "Your socket connection was not read from"), ServerError),
        (502, b"<html>Bad Gateway</html>", ServerError),
        (503, b"", ServerError),
        (429, b"slow down", Throttled),
        (403, b"<html>proxy says no</html>", UnexpectedResponse),
    ],
)
def test_server_trouble_and_non_s3_answers_are_retry_later(
    status: int, body: bytes, kind: type[AgentError]
) -> None:
    error = error_for_response(status, body, retry_after=7.0)
    assert type(error) is kind
    assert isinstance(error, RetryLater)
    if kind is Throttled:
        assert error.retry_after == 7.0


def test_a_proxy_size_limit_cannot_succeed() -> None:
    error = error_for_response(413, b"<html>Request Entity Too Large</html>")
    assert type(error) is UploadRejected


def test_namespaced_xml_and_garbage_are_handled() -> None:
    namespaced = (
        b'<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>AccessDenied</Code>'
        b"<Message>Invalid according to Policy: Policy expired.</Message></Error>"
    )
    assert parse_s3_error(namespaced) is not None
    assert parse_s3_error(b"\x00\xff not xml") is None
    assert parse_s3_error(b"<Other><Code>X</Code></Other>") is None
    assert parse_s3_error(b"<Error><Message>no code</Message></Error>") is None


def test_long_messages_are_clipped() -> None:
    error = error_for_response(400, xml("InvalidArgument", "x" * 5000))
    assert len(error.message) < 500


def test_content_of_another_type_is_the_file_not_the_network() -> None:
    body = (
        b"<Error><Code>InvalidArgument</Code><Message>The content of the file is a JPEG "
        b"image, not the application/pdf its Content-Type declares.</Message>"
        b"<ArgumentName>Content-Type</ArgumentName><ArgumentValue>application/pdf"
        b"</ArgumentValue><RequestId>R1</RequestId></Error>"
    )
    error = error_for_response(400, body)
    assert isinstance(error, WrongContent)
    assert not error.retryable
    assert "a JPEG image, not the application/pdf" in error.message
    assert "retry" not in error.describe().lower()
    malformed = error_for_response(
        400,
        b"<Error><Code>InvalidArgument</Code><Message>Bad key</Message>"
        b"<ArgumentName>key</ArgumentName></Error>",
    )
    assert not isinstance(malformed, WrongContent)
