"""The presigned POST form: building and signing it, and judging a received one as S3 does.

This is the functional core of the sandbox's S3 emulator: plain data in, plain data out,
no sockets and no files. :mod:`agent.sandbox.s3post` streams the HTTP body and calls
:func:`judge_form` once every field before the file part has arrived.

What S3 checks, in the order this module checks it (test-infra.md, "What real S3 rejects"):

1. ``key`` present, then the SigV4 fields present → 400 ``InvalidArgument``
2. ``policy`` present → otherwise an anonymous POST: 403 ``AccessDenied``
3. access key known and sent with a session token → 403 ``InvalidAccessKeyId``; the
   session token is the sandbox's → 400 ``InvalidToken``; signature over the base64 policy, keyed
   with the scope named in ``X-Amz-Credential`` → 403 ``SignatureDoesNotMatch``
4. policy readable → 400 ``InvalidPolicyDocument``; not expired → 403 ``AccessDenied``
5. every ``eq`` / ``starts-with`` / exact-match condition → 403 ``AccessDenied``
   "Policy Condition failed"; every form field covered → "Extra input fields"

The file's size against ``content-length-range`` is judged while it streams (400
``EntityTooLarge`` / ``EntityTooSmall``); :class:`AcceptedForm` carries the range.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from agent.sandbox.timetext import amz_date, iso_millis, iso_millis_time

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
TERMINATOR = "aws4_request"
#: S3 refuses a POST upload larger than 5 GB whatever the policy says.
S3_MAX_POST_SIZE = 5 * 1024**3

#: Form fields no policy condition has to cover (S3's own exemptions).
_EXEMPT_FIELDS = frozenset({"policy", "x-amz-signature", "file"})
#: Fields whose absence S3 reports with this spelling of the name.
_SIGV4_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature")


@dataclass(frozen=True)
class S3Settings:
    """The sandbox bucket and the (public, sandbox-only) credentials that sign its forms."""

    bucket: str = "kompliant-sandbox"
    region: str = "us-east-1"
    access_key: str = "ASIASANDBOXACCESSKEY"
    secret_key: str = "SandboxSecretKey/0000000000000000000000+"
    session_token: str = "SandboxSessionToken0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class FormSpec:
    """What one presigned form allows: one object, its type, its exact size, its document."""

    key: str
    content_type: str
    size: int
    document_id: str
    expires_at: float  # unix seconds


@dataclass(frozen=True)
class S3Rejection:
    """An S3 error answer: HTTP status, ``Code``, ``Message`` and extra XML elements."""

    status: int
    code: str
    message: str
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AcceptedForm:
    """A form whose fields passed every check; the file still has to fit the size range."""

    key: str
    min_size: int
    max_size: int
    document_id: str | None
    success_status: int = 204
    content_type: str | None = None  # the form's Content-Type, which the content must fit


# --- signing ---------------------------------------------------------------------------


def iso_expiration(when: float) -> str:
    """A policy ``expiration``: ISO 8601 UTC with milliseconds, as S3 and Kompliant write it."""
    return iso_millis(when)


def parse_expiration(text: str) -> float:
    """The unix time of a policy ``expiration``; ``ValueError`` when it is not ISO 8601 UTC."""
    if not text.endswith("Z"):
        raise ValueError(f"expiration is not UTC: {text!r}")
    return datetime.fromisoformat(text[:-1] + "+00:00").timestamp()


@functools.lru_cache(maxsize=64)
def signing_key(secret_key: str, date: str, region: str, service: str = SERVICE) -> bytes:
    """The SigV4 signing key for one day (``yyyymmdd``), region and service (made once
    for each, as it is the same for every form of that day)."""
    key = hmac.new(("AWS4" + secret_key).encode("utf-8"), date.encode("utf-8"), hashlib.sha256)
    for part in (region, service, TERMINATOR):
        key = hmac.new(key.digest(), part.encode("utf-8"), hashlib.sha256)
    return key.digest()


@functools.lru_cache(maxsize=1024)
def sign_policy(policy_b64: str, key: bytes) -> str:
    """The POST signature: hex HMAC-SHA256 of the base64 policy string (kept for the last
    forms signed, which are the ones about to be judged)."""
    return hmac.digest(key, policy_b64.encode("ascii"), "sha256").hex()


@dataclass(frozen=True)
class _Known:
    """What judging a form reads of a policy presigned here, known when it was made: its
    expiration as a time, its conditions each as (subject, operator, value, the subject
    as the condition names it), and its size range."""

    expires: float
    conditions: tuple[tuple[str, str, str, str], ...]
    size_range: tuple[int, int]


#: The policies of the last forms presigned here, by their base64 text: what decoding
#: that text gives, without decoding it again.
_SIGNED: OrderedDict[str, _Known] = OrderedDict()
_SIGNED_KEPT = 1024


def _remember(policy_b64: str, known: _Known) -> None:
    _SIGNED[policy_b64] = known
    if len(_SIGNED) > _SIGNED_KEPT:
        with contextlib.suppress(KeyError):  # another thread took it first
            _SIGNED.popitem(last=False)


def encode_policy(policy: dict[str, Any]) -> str:
    """The base64 text of a policy document, as it travels in the ``policy`` field."""
    return base64.b64encode(json.dumps(policy).encode("utf-8")).decode("ascii")


#: ``json.dumps`` of the policy :func:`presign` writes, its strings and size left open.
_POLICY_TEXT = (
    '{"expiration": %s, "conditions": [{"bucket": %s}, ["eq", "$key", %s], '
    '["eq", "$Content-Type", %s], ["eq", "$x-amz-meta-document-id", %s], '
    '["content-length-range", %d, %d], {"x-amz-algorithm": %s}, {"x-amz-credential": %s}, '
    '{"x-amz-date": %s}, {"x-amz-security-token": %s}]}'
)
_quoted = encode_basestring_ascii  # what json.dumps writes for a string


def presign(
    spec: FormSpec, *, upload_url: str, settings: S3Settings, now: float
) -> list[tuple[str, str]]:
    """The ordered ``presign_values`` of a form for ``spec``, shaped like Kompliant's.

    ``upload_url`` is where the form will be posted; the policy names the bucket of
    ``settings``, so the URL must be that bucket's (``.../s3/<bucket>``).
    """
    if not upload_url.rstrip("/").endswith("/" + settings.bucket):
        raise ValueError(f"upload URL {upload_url!r} is not the bucket {settings.bucket!r}")
    date = amz_date(now)
    credential = f"{settings.access_key}/{date[:8]}/{settings.region}/{SERVICE}/{TERMINATOR}"
    expiration = iso_expiration(spec.expires_at)
    # The policy's text as encode_policy writes it, without the encoder's walk; and what
    # judging a form of it reads, without reading the text again.
    text = _POLICY_TEXT % (
        _quoted(expiration),
        _quoted(settings.bucket),
        _quoted(spec.key),
        _quoted(spec.content_type),
        _quoted(spec.document_id),
        spec.size,
        spec.size,
        _quoted(ALGORITHM),
        _quoted(credential),
        _quoted(date),
        _quoted(settings.session_token),
    )
    policy_b64 = base64.b64encode(text.encode("ascii")).decode("ascii")
    conditions = (
        ("bucket", "eq", settings.bucket, "$bucket"),
        ("key", "eq", spec.key, "$key"),
        ("content-type", "eq", spec.content_type, "$Content-Type"),
        ("x-amz-meta-document-id", "eq", spec.document_id, "$x-amz-meta-document-id"),
        ("x-amz-algorithm", "eq", ALGORITHM, "$x-amz-algorithm"),
        ("x-amz-credential", "eq", credential, "$x-amz-credential"),
        ("x-amz-date", "eq", date, "$x-amz-date"),
        ("x-amz-security-token", "eq", settings.session_token, "$x-amz-security-token"),
    )
    size_range = (spec.size, spec.size)
    expires = iso_millis_time(spec.expires_at)  # what parse_expiration reads of it
    _remember(policy_b64, _Known(expires, conditions, size_range))
    key = signing_key(settings.secret_key, date[:8], settings.region)
    return [
        ("Content-Type", spec.content_type),
        ("key", spec.key),
        ("policy", policy_b64),
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", credential),
        ("X-Amz-Date", date),
        ("X-Amz-Security-Token", settings.session_token),
        ("X-Amz-Signature", sign_policy(policy_b64, key)),
        ("x-amz-meta-document-id", spec.document_id),
    ]


# --- judging a received form -----------------------------------------------------------


def judge_form(
    fields: Sequence[tuple[str, str]], *, settings: S3Settings, now: float
) -> AcceptedForm | S3Rejection:
    """Judge the fields sent before the file part, as S3 does (module docstring, steps 1–5).

    Field names are compared without regard to case, values exactly. A field sent twice
    is refused (S3 leaves that undefined; the sandbox will not guess which one counts).
    """
    values: dict[str, str] = {}
    for name, value in fields:
        lower = name.lower()
        if lower in values:
            return _invalid_argument(f"The form field {name!r} appears more than once.", name)
        values[lower] = value

    for required in ("key", *_SIGV4_FIELDS):
        if required.lower() not in values:
            return _invalid_argument(
                f"Bucket POST must contain a field named '{required}'.  "
                "If it is specified, please check the order of the fields.",
                required,
            )
    if "policy" not in values:
        return S3Rejection(403, "AccessDenied", "Access Denied")

    refusal = _check_signature(values, settings)
    if refusal is not None:
        return refusal

    known = _SIGNED.get(values["policy"])
    if known is not None:  # presigned here: read once already
        if now > known.expires:
            return S3Rejection(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        judged = _check_known(known, values, settings)
    else:
        policy = _decode_policy(values["policy"])
        if isinstance(policy, S3Rejection):
            return policy
        try:
            expires = parse_expiration(str(policy["expiration"]))
        except ValueError:
            return _invalid_policy("Invalid Policy: Invalid 'expiration' value.")
        if now > expires:
            return S3Rejection(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        judged = _check_conditions(policy["conditions"], values, settings)
    if isinstance(judged, S3Rejection):
        return judged
    covered, size_range = judged

    extra = [
        name
        for name, _ in fields
        if (lower := name.lower()) not in covered
        and lower not in _EXEMPT_FIELDS
        and not lower.startswith("x-ignore-")
    ]
    if extra:
        return S3Rejection(
            403,
            "AccessDenied",
            "Invalid according to Policy: Extra input fields: " + ", ".join(extra),
        )

    min_size, max_size = size_range
    return AcceptedForm(
        key=values["key"],
        min_size=min_size,
        max_size=max_size,
        document_id=values.get("x-amz-meta-document-id"),
        success_status=_success_status(values.get("success_action_status")),
        content_type=values.get("content-type"),
    )


def size_rejection(size: int, accepted: AcceptedForm) -> S3Rejection | None:
    """S3's answer to a file of ``size`` bytes under ``accepted``'s range, or ``None``."""
    if size > accepted.max_size:
        return too_large(size, accepted.max_size)
    if size < accepted.min_size:
        return S3Rejection(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            (("ProposedSize", str(size)), ("MinSizeAllowed", str(accepted.min_size))),
        )
    return None


def too_large(size: int, max_size: int) -> S3Rejection:
    return S3Rejection(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        (("ProposedSize", str(size)), ("MaxSizeAllowed", str(max_size))),
    )


def _check_signature(values: dict[str, str], settings: S3Settings) -> S3Rejection | None:
    if values["x-amz-algorithm"] != ALGORITHM:
        return _invalid_argument(
            f"Unsupported algorithm {values['x-amz-algorithm']!r}: this sandbox takes "
            f"{ALGORITHM} only.",
            "X-Amz-Algorithm",
        )
    scope = values["x-amz-credential"].split("/")
    if len(scope) != 5:
        return _invalid_argument(
            "Error parsing the X-Amz-Credential parameter; the credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            "X-Amz-Credential",
        )
    access_key, date, region, service, terminator = scope
    if access_key != settings.access_key:
        return S3Rejection(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            (("AWSAccessKeyId", access_key),),
        )
    token = values.get("x-amz-security-token")
    if token is None:
        # A temporary (ASIA…) access key means nothing without its session token.
        return S3Rejection(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            (("AWSAccessKeyId", access_key),),
        )
    if not _same(token, settings.session_token):
        return S3Rejection(
            400, "InvalidToken", "The provided token is malformed or otherwise invalid."
        )
    if (region, service, terminator) != (settings.region, SERVICE, TERMINATOR):
        return _mismatch(access_key)
    if not values["x-amz-date"].startswith(date):
        return _mismatch(access_key)
    key = signing_key(settings.secret_key, date, region)
    expected = sign_policy(values["policy"], key) if values["policy"].isascii() else ""
    if not expected or not _same(values["x-amz-signature"].lower(), expected):
        return _mismatch(access_key)
    return None


def _mismatch(access_key: str) -> S3Rejection:
    return S3Rejection(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        (("AWSAccessKeyId", access_key),),
    )


def _decode_policy(policy_b64: str) -> dict[str, Any] | S3Rejection:
    try:
        document = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError):
        return _invalid_policy("Invalid Policy: Invalid JSON.")
    if not isinstance(document, dict):
        return _invalid_policy("Invalid Policy: Invalid JSON.")
    if "expiration" not in document:
        return _invalid_policy("Invalid Policy: Policy missing expiration.")
    if not isinstance(document.get("conditions"), list):
        return _invalid_policy("Invalid Policy: Policy missing conditions.")
    return document


def _check_conditions(
    conditions: list[Any], values: dict[str, str], settings: S3Settings
) -> tuple[set[str], tuple[int, int]] | S3Rejection:
    """The field names the conditions cover and the size range, or the first failure."""
    covered: set[str] = set()
    size_range = (0, S3_MAX_POST_SIZE)
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, expected),) = condition.items()
            op, subject = "eq", str(name).lower()
        elif isinstance(condition, list) and len(condition) == 3:
            op = str(condition[0]).lower()
            if op == "content-length-range":
                try:
                    size_range = (int(condition[1]), int(condition[2]))
                except (TypeError, ValueError):
                    return _invalid_policy("Invalid Policy: Invalid content-length-range.")
                continue
            if not isinstance(condition[1], str) or not condition[1].startswith("$"):
                return _invalid_policy(f"Invalid Policy: Invalid Condition: {condition}")
            subject, expected = condition[1][1:].lower(), condition[2]
        else:
            return _invalid_policy(f"Invalid Policy: Invalid Condition: {condition}")
        if op not in ("eq", "starts-with") or not isinstance(expected, str):
            return _invalid_policy(f"Invalid Policy: Invalid Condition: {condition}")
        actual = settings.bucket if subject == "bucket" else values.get(subject, "")
        ok = actual == expected if op == "eq" else actual.startswith(expected)
        if not ok:
            shown = condition if isinstance(condition, list) else ["eq", f"${name}", expected]
            return S3Rejection(
                403,
                "AccessDenied",
                "Invalid according to Policy: Policy Condition failed: " + json.dumps(shown),
            )
        covered.add(subject)
    return covered, size_range


def _check_known(
    known: _Known, values: dict[str, str], settings: S3Settings
) -> tuple[set[str], tuple[int, int]] | S3Rejection:
    """What :func:`_check_conditions` gives for a policy presigned here."""
    covered: set[str] = set()
    for subject, op, expected, named in known.conditions:
        actual = settings.bucket if subject == "bucket" else values.get(subject, "")
        if not (actual == expected if op == "eq" else actual.startswith(expected)):
            shown = json.dumps([op, named, expected])
            return S3Rejection(
                403,
                "AccessDenied",
                "Invalid according to Policy: Policy Condition failed: " + shown,
            )
        covered.add(subject)
    return covered, known.size_range


def _success_status(value: str | None) -> int:
    # S3 answers 204 when success_action_status is missing or not one of 200, 201, 204.
    return int(value) if value in ("200", "201", "204") else 204


def _invalid_argument(message: str, name: str) -> S3Rejection:
    return S3Rejection(
        400, "InvalidArgument", message, (("ArgumentName", name), ("ArgumentValue", ""))
    )


def _invalid_policy(message: str) -> S3Rejection:
    return S3Rejection(400, "InvalidPolicyDocument", message)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
