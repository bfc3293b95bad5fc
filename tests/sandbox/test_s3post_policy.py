"""The presigned form as plain data: presign(), the SigV4 signature, and judge_form()."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from agent.sandbox.s3policy import (
    AcceptedForm,
    FormSpec,
    S3Rejection,
    S3Settings,
    encode_policy,
    iso_expiration,
    judge_form,
    parse_expiration,
    presign,
    sign_policy,
    signing_key,
    size_rejection,
)
from tests.sandbox.conftest import resigned

NOW = 1_742_811_300.0  # 2025-03-24T10:15:00Z
SETTINGS = S3Settings()
SPEC = FormSpec(
    key="sr_DemoSubject000000000001/d_0001.pdf",
    content_type="application/pdf",
    size=1234,
    document_id="d_0001",
    expires_at=NOW + 300,
)
URL = "http://127.0.0.1:8080/s3/kompliant-sandbox"


def _independent_sigv4_key(secret: str, date: str, region: str, service: str) -> bytes:
    def step(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    return step(step(step(step(f"AWS4{secret}".encode(), date), region), service), "aws4_request")


def test_signing_key_matches_aws_published_example() -> None:
    # AWS's "derive a signing key" example (IAM, us-east-1, 2012-02-15).
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_presign_gives_kompliants_fields_in_order() -> None:
    values = presign(SPEC, upload_url=URL, settings=SETTINGS, now=NOW)
    assert [name for name, _ in values] == [
        "Content-Type",
        "key",
        "policy",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "x-amz-meta-document-id",
    ]
    fields = dict(values)
    assert fields["Content-Type"] == "application/pdf"
    assert fields["key"] == SPEC.key
    assert fields["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["X-Amz-Credential"] == "ASIASANDBOXACCESSKEY/20250324/us-east-1/s3/aws4_request"
    assert fields["X-Amz-Date"] == "20250324T101500Z"
    assert fields["X-Amz-Security-Token"] == SETTINGS.session_token
    assert fields["x-amz-meta-document-id"] == "d_0001"


def test_presign_policy_document() -> None:
    fields = dict(presign(SPEC, upload_url=URL, settings=SETTINGS, now=NOW))
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert policy == {
        "expiration": "2025-03-24T10:20:00.000Z",
        "conditions": [
            {"bucket": "kompliant-sandbox"},
            ["eq", "$key", SPEC.key],
            ["eq", "$Content-Type", "application/pdf"],
            ["eq", "$x-amz-meta-document-id", "d_0001"],
            ["content-length-range", 1234, 1234],
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            {"x-amz-credential": "ASIASANDBOXACCESSKEY/20250324/us-east-1/s3/aws4_request"},
            {"x-amz-date": "20250324T101500Z"},
            {"x-amz-security-token": SETTINGS.session_token},
        ],
    }


def test_presign_signature_verifies_with_independent_sigv4_key() -> None:
    fields = dict(presign(SPEC, upload_url=URL, settings=SETTINGS, now=NOW))
    key = _independent_sigv4_key(SETTINGS.secret_key, "20250324", "us-east-1", "s3")
    expected = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    assert fields["X-Amz-Signature"] == expected
    other = _independent_sigv4_key("another secret", "20250324", "us-east-1", "s3")
    assert fields["X-Amz-Signature"] != sign_policy(fields["policy"], other)


def test_presign_refuses_an_upload_url_of_another_bucket() -> None:
    with pytest.raises(ValueError, match="kompliant-sandbox"):
        presign(SPEC, upload_url="http://127.0.0.1:1/s3/other", settings=SETTINGS, now=NOW)


def test_expiration_round_trip_keeps_milliseconds() -> None:
    assert iso_expiration(NOW + 0.25) == "2025-03-24T10:15:00.250Z"
    assert parse_expiration("2025-03-24T10:15:00.250Z") == NOW + 0.25
    assert parse_expiration("2025-03-24T10:15:00Z") == NOW
    with pytest.raises(ValueError):
        parse_expiration("2025-03-24T10:15:00")


def _form(**changes: str) -> list[tuple[str, str]]:
    fields = presign(SPEC, upload_url=URL, settings=SETTINGS, now=NOW)
    return [(name, changes.get(name, value)) for name, value in fields]


def _signed(conditions: list[Any], *, expiration: float = NOW + 300) -> list[tuple[str, str]]:
    """A form whose policy is ``conditions`` (plus the SigV4 ones), correctly signed."""
    return resigned(_form(), conditions, expiration=expiration, settings=SETTINGS)


def test_judge_accepts_presigned_form_with_its_size_range() -> None:
    verdict = judge_form(_form(), settings=SETTINGS, now=NOW + 10)
    assert verdict == AcceptedForm(
        key=SPEC.key,
        min_size=1234,
        max_size=1234,
        document_id="d_0001",
        success_status=204,
        content_type=SPEC.content_type,
    )


def test_judge_refuses_a_field_sent_twice() -> None:
    verdict = judge_form([*_form(), ("KEY", SPEC.key)], settings=SETTINGS, now=NOW)
    assert isinstance(verdict, S3Rejection)
    assert (verdict.status, verdict.code) == (400, "InvalidArgument")


def test_judge_starts_with_condition() -> None:
    conditions: list[Any] = [
        {"bucket": "kompliant-sandbox"},
        ["starts-with", "$key", "sr_DemoSubject000000000001/"],
        ["starts-with", "$Content-Type", "application/"],
        ["eq", "$x-amz-meta-document-id", "d_0001"],
    ]
    assert isinstance(judge_form(_signed(conditions), settings=SETTINGS, now=NOW), AcceptedForm)
    fields = [(n, "image/png" if n == "Content-Type" else v) for n, v in _signed(conditions)]
    verdict = judge_form(fields, settings=SETTINGS, now=NOW)
    assert verdict == S3Rejection(
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["starts-with", '
        '"$Content-Type", "application/"]',
    )


def test_judge_bucket_condition_names_the_bucket() -> None:
    fields = _signed(
        [
            {"bucket": "someone-elses-bucket"},
            ["eq", "$key", SPEC.key],
            ["eq", "$Content-Type", "application/pdf"],
            ["eq", "$x-amz-meta-document-id", "d_0001"],
        ]
    )
    verdict = judge_form(fields, settings=SETTINGS, now=NOW)
    assert verdict == S3Rejection(
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", '
        '"someone-elses-bucket"]',
    )


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (base64.b64encode(b"not json").decode(), "Invalid Policy: Invalid JSON."),
        (encode_policy({"conditions": []}), "Invalid Policy: Policy missing expiration."),
        (
            encode_policy({"expiration": iso_expiration(NOW + 60)}),
            "Invalid Policy: Policy missing conditions.",
        ),
    ],
)
def test_judge_refuses_unreadable_policy(policy: str, message: str) -> None:
    key = signing_key(SETTINGS.secret_key, "20250324", SETTINGS.region)
    fields = _form(policy=policy, **{"X-Amz-Signature": sign_policy(policy, key)})
    assert judge_form(fields, settings=SETTINGS, now=NOW) == S3Rejection(
        400, "InvalidPolicyDocument", message
    )


def test_judge_success_action_status_only_takes_s3s_values() -> None:
    conditions: list[Any] = [
        ["starts-with", "$key", ""],
        ["starts-with", "$Content-Type", ""],
        ["starts-with", "$x-amz-meta-document-id", ""],
        ["starts-with", "$success_action_status", ""],
    ]
    for sent, expected in (("201", 201), ("200", 200), ("204", 204), ("302", 204)):
        fields = [*_signed(conditions), ("success_action_status", sent)]
        verdict = judge_form(fields, settings=SETTINGS, now=NOW)
        assert isinstance(verdict, AcceptedForm), verdict
        assert verdict.success_status == expected


def test_size_rejection_reports_sizes() -> None:
    accepted = AcceptedForm(key="k", min_size=10, max_size=20, document_id=None)
    assert size_rejection(10, accepted) is None
    assert size_rejection(20, accepted) is None
    small = size_rejection(9, accepted)
    large = size_rejection(21, accepted)
    assert small is not None and large is not None
    assert (small.status, small.code) == (400, "EntityTooSmall")
    assert dict(small.details) == {"ProposedSize": "9", "MinSizeAllowed": "10"}
    assert (large.status, large.code) == (400, "EntityTooLarge")
    assert dict(large.details) == {"ProposedSize": "21", "MaxSizeAllowed": "20"}


def test_presign_writes_the_policy_text_encode_policy_writes() -> None:
    # presign fills a template instead of running the encoder; the text must be the same,
    # escapes included.
    spec = FormSpec('sr_X/d_\u00e9"\\1.pdf', "application/pdf", 7, 'd_"\u00e9', NOW + 60)
    fields = dict(presign(spec, upload_url=URL, settings=SETTINGS, now=NOW))
    document = json.loads(base64.b64decode(fields["policy"]))
    assert fields["policy"] == encode_policy(document)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("key", "sr_DemoSubject000000000001/d_0002.pdf"),
        ("Content-Type", "image/png"),
        ("x-amz-meta-document-id", "d_0002"),
        ("extra-field", "x"),
        ("X-Amz-Date", "20250324T101501Z"),
    ],
)
def test_a_form_presigned_here_is_judged_as_any_other(name: str, value: str) -> None:
    # A policy presigned here is read once, when it is made; judging a form of it must
    # give what reading its text gives (the same policy written another way).
    form = presign(SPEC, upload_url=URL, settings=SETTINGS, now=NOW)
    fields = dict(form)
    compact = json.dumps(json.loads(base64.b64decode(fields["policy"])), separators=(",", ":"))
    policy = base64.b64encode(compact.encode()).decode()
    key = signing_key(SETTINGS.secret_key, fields["X-Amz-Date"][:8], SETTINGS.region)
    other = [
        (n, policy if n == "policy" else sign_policy(policy, key) if n == "X-Amz-Signature" else v)
        for n, v in form
    ]
    judged = []
    for sent in (form, other):
        changed = [(n, value if n == name else v) for n, v in sent]
        if name not in fields:
            changed.append((name, value))
        judged.append(
            [
                judge_form(sent, settings=SETTINGS, now=NOW),
                judge_form(changed, settings=SETTINGS, now=NOW),
                judge_form(sent, settings=SETTINGS, now=SPEC.expires_at + 1),
            ]
        )
    assert isinstance(judged[0][0], AcceptedForm)
    assert isinstance(judged[0][1], S3Rejection)
    assert judged[0] == judged[1]
