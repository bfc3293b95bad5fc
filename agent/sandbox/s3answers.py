"""S3's answers, as the sandbox's upload endpoint gives them: XML errors and success.

Every refusal is an :class:`~agent.sandbox.s3policy.S3Rejection` rendered as S3 renders it::

    <Error><Code>…</Code><Message>…</Message>[details]<RequestId>…</RequestId>…</Error>

Details carry S3's extra elements (``ProposedSize``, ``MaxSizeAllowed``, ``ArgumentName``…)
and never a secret or a signature.
"""

from __future__ import annotations

import os
from urllib.parse import quote
from xml.sax.saxutils import escape

from agent.sandbox.s3policy import AcceptedForm, S3Rejection

#: What the HTTP server sends: status, headers (no Content-Length), body.
Response = tuple[int, dict[str, str], bytes]


def new_request_id() -> str:
    """Sixteen random upper-case hex digits, like S3's ``x-amz-request-id``."""
    return os.urandom(8).hex().upper()


def error_response(rejection: S3Rejection, request_id: str) -> Response:
    """S3's XML error answer for ``rejection``."""
    details = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in rejection.details)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(rejection.code)}</Code>"
        f"<Message>{escape(rejection.message)}</Message>{details}"
        f"<RequestId>{request_id}</RequestId><HostId>sandbox</HostId></Error>"
    ).encode()
    headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
    return rejection.status, headers, body


def no_such_bucket(bucket: str) -> Response:
    """The answer to a POST for a bucket the sandbox does not have."""
    rejection = S3Rejection(
        404,
        "NoSuchBucket",
        "The specified bucket does not exist",
        (("BucketName", bucket),),
    )
    return error_response(rejection, new_request_id())


def success_response(
    accepted: AcceptedForm, *, bucket: str, md5: str, host: str, rid: str
) -> Response:
    """The answer to a stored upload: ``success_action_status`` or 204, with the ETag."""
    bucket_path = f"/s3/{quote(bucket)}/{quote(accepted.key)}"
    location = f"http://{host}{bucket_path}" if host else bucket_path
    headers = {"ETag": f'"{md5}"', "Location": location, "x-amz-request-id": rid}
    if accepted.success_status != 201:
        return accepted.success_status, headers, b""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<PostResponse><Location>{escape(location)}</Location>"
        f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(accepted.key)}</Key>"
        f'<ETag>"{md5}"</ETag></PostResponse>'
    ).encode()
    headers["Content-Type"] = "application/xml"
    return 201, headers, body


def closing(response: Response) -> Response:
    """``response`` with ``Connection: close``: the rest of the body will not be read."""
    status, headers, body = response
    return status, {**headers, "Connection": "close"}, body


def content_mismatch(declared: str, found: str) -> S3Rejection:
    """The file's real type is not the one its form declares (docs/sandbox.md)."""
    return S3Rejection(
        400,
        "InvalidArgument",
        f"The content of the file is {found}, not the {declared} its Content-Type declares: "
        "the upload store takes only a file whose real type matches its name.",
        (("ArgumentName", "Content-Type"), ("ArgumentValue", declared)),
    )


def unstorable_key(key: str) -> S3Rejection:
    """A key the sandbox cannot store as a file below its storage folder."""
    return S3Rejection(
        400,
        "InvalidArgument",
        f"This sandbox stores each object as a file and cannot store the key {key!r} "
        "(empty, '.' or '..' path segments, a trailing '/' or a backslash).",
        (("ArgumentName", "key"), ("ArgumentValue", key)),
    )


MISSING_LENGTH = S3Rejection(
    411, "MissingContentLength", "You must provide the Content-Length HTTP header."
)
NOT_MULTIPART = S3Rejection(
    412,
    "PreconditionFailed",
    "At least one of the pre-conditions you specified did not hold",
    (("Condition", "Bucket POST must be of the enclosure-type multipart/form-data"),),
)
MALFORMED = S3Rejection(
    400,
    "MalformedPOSTRequest",
    "The body of your POST request is not well-formed multipart/form-data.",
)
INCOMPLETE = S3Rejection(
    400,
    "IncompleteBody",
    "You did not provide the number of bytes specified by the Content-Length HTTP header.",
)
INTERNAL = S3Rejection(500, "InternalError", "We encountered an internal error. Please try again.")
NO_FILE = S3Rejection(
    400,
    "InvalidArgument",
    "POST requires exactly one file upload per request.",
    (("ArgumentName", "file"), ("ArgumentValue", "0")),
)
FIELD_AFTER_FILE = S3Rejection(
    400,
    "InvalidArgument",
    "The file must be the last field of the form: S3 ignores every field after it, so "
    "those fields would be lost. Send the file part last.",
    (("ArgumentName", "file"), ("ArgumentValue", "")),
)
PRE_DATA_TOO_LARGE = S3Rejection(
    400,
    "MaxPostPreDataLengthExceededError",
    "Your POST request fields preceeding the upload file was too large.",
)
