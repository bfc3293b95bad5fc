"""S3's answers to a refused presigned POST, turned into the agent's errors.

S3 answers with an XML body ``<Error><Code/><Message/>…</Error>`` (test-infra.md lists the
cases). Only ``Code``, ``Message`` and the size figures are read: the other elements of a
``SignatureDoesNotMatch`` answer echo the string to sign and are never put in a message.
A body that is not S3's XML (a proxy page, an empty body) is judged by its HTTP status.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from agent.errors import (
    AgentError,
    ServerError,
    Throttled,
    UnexpectedResponse,
    UploadFormExpired,
    UploadRejected,
    WrongContent,
)

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_MESSAGE = 300

_RETRY_CODES = frozenset(
    {"InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed"}
)
_EXPIRED_CODES = frozenset({"ExpiredToken", "TokenRefreshRequired"})


@dataclass(frozen=True)
class S3Error:
    """The readable parts of S3's XML error body."""

    code: str
    message: str
    request_id: str | None = None
    proposed_size: int | None = None
    max_size: int | None = None
    min_size: int | None = None
    argument_name: str | None = None


def parse_s3_error(body: bytes) -> S3Error | None:
    """The ``<Error>`` of an S3 answer, or ``None`` when the body is not one."""
    text = body[:MAX_BODY]
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    if _local(root.tag) != "Error":
        return None
    values: dict[str, str] = {}
    for child in root:
        values[_local(child.tag)] = (child.text or "").strip()
    code = values.get("Code", "")
    if not code:
        return None
    return S3Error(
        code=code,
        message=_clip(values.get("Message", "")),
        request_id=values.get("RequestId") or None,
        proposed_size=_to_int(values.get("ProposedSize")),
        max_size=_to_int(values.get("MaxSizeAllowed")),
        min_size=_to_int(values.get("MinSizeAllowed")),
        argument_name=values.get("ArgumentName") or None,
    )


def error_for_response(status: int, body: bytes, *, retry_after: float | None = None) -> AgentError:
    """The agent's error for a non-success answer of the upload endpoint."""
    parsed = parse_s3_error(body)
    if parsed is None:
        return _unparsed(status, retry_after)
    return _for_s3_error(status, parsed, retry_after)


def _for_s3_error(status: int, err: S3Error, retry_after: float | None) -> AgentError:
    code, trace = err.code, err.request_id
    lower = err.message.lower()
    if (err.code == "AccessDenied" and "policy expired" in lower) or err.code in _EXPIRED_CODES:
        return UploadFormExpired(
            "The upload form from Kompliant has expired",
            code=code,
            http_status=status,
            trace_id=trace,
        )
    if err.code == "SlowDown":
        return Throttled(
            "The upload store asked to slow down",
            retry_after=retry_after,
            code=code,
            http_status=status,
            trace_id=trace,
        )
    if status >= 500 or err.code in _RETRY_CODES:
        return ServerError(
            f"The upload store had a problem: {err.message or err.code}",
            code=code,
            http_status=status,
            trace_id=trace,
        )
    if err.code == "InvalidArgument" and err.argument_name == "Content-Type":
        # The store looked at the bytes: they are not the type the name says. Sending the
        # same file again cannot help; another file (or name) can.
        return WrongContent(
            f"The upload store refused the file: {err.message or err.code}",
            hint="Save the document in the type its name says (or give it the extension of "
            "its real type), then put it into its folder.",
            code=code,
            http_status=status,
            trace_id=trace,
        )
    return UploadRejected(
        _rejection_message(err),
        hint=_rejection_hint(err),
        code=code,
        http_status=status,
        trace_id=trace,
    )


def _rejection_message(err: S3Error) -> str:
    lower = err.message.lower()
    if err.code == "EntityTooLarge":
        if err.proposed_size is not None and err.max_size is not None:
            extra = err.proposed_size - err.max_size
            return (
                f"The upload store refused the file: it is {extra} bytes larger than the "
                f"{err.max_size} bytes declared to Kompliant"
            )
        return "The upload store refused the file: it is larger than declared to Kompliant"
    if err.code == "EntityTooSmall":
        if err.proposed_size is not None and err.min_size is not None:
            short = err.min_size - err.proposed_size
            return (
                f"The upload store refused the file: it is {short} bytes smaller than the "
                f"{err.min_size} bytes declared to Kompliant"
            )
        return "The upload store refused the file: it is smaller than declared to Kompliant"
    if "policy condition failed" in lower:
        condition = err.message.split("Policy Condition failed:", 1)[-1].strip()
        return (
            "The upload store refused the form: a field does not match Kompliant's upload "
            f"policy ({condition})"
        )
    if "extra input fields" in lower:
        return (
            "The upload store refused the form: it carries a field Kompliant's upload policy "
            f"does not allow ({err.message})"
        )
    if err.code == "SignatureDoesNotMatch":
        return "The upload store did not accept the upload form's signature"
    if err.code == "InvalidArgument":
        return f"The upload store refused the form as malformed: {err.message or err.code}"
    return f"The upload store refused the file: {err.message or err.code}"


def _rejection_hint(err: S3Error) -> str:
    if err.code in ("EntityTooLarge", "EntityTooSmall"):
        return (
            "The file changed after its size was sent to Kompliant. If it is still being "
            "written, wait until it is finished, then upload it again."
        )
    return (
        "The upload form from Kompliant and the file sent do not fit together. Upload the "
        "file again; if this keeps happening, contact Kompliant support with the ids above."
    )


def _unparsed(status: int, retry_after: float | None) -> AgentError:
    if status == 429:
        return Throttled(
            "The upload store asked to slow down", http_status=status, retry_after=retry_after
        )
    if status >= 500 or status == 408:
        return ServerError(f"The upload store had a problem (HTTP {status})", http_status=status)
    if status == 413:
        return UploadRejected(
            "The upload store (or a proxy in front of it) refused the file as too large",
            http_status=status,
            hint="Check the proxy's size limit, or upload a smaller file.",
        )
    return UnexpectedResponse(
        f"The upload store gave an answer that is not S3's (HTTP {status})",
        http_status=status,
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _to_int(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"\d+", text):
        return None
    return int(text)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
