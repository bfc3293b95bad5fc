"""The S3 upload endpoint over real HTTP on loopback: what it stores and what it refuses."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.sandbox.loop_http import INLINE_BODY
from agent.sandbox.s3policy import encode_policy, iso_expiration
from agent.sandbox.s3post import (
    FormSpec,
    RequestBody,
    S3Settings,
    StoredObject,
    UploadEndpoint,
    no_such_bucket,
    presign,
)
from tests.sandbox.big_upload import post_big_pdf
from tests.sandbox.conftest import resigned

T0 = 1_742_811_300.0  # 2025-03-24T10:15:00Z
SETTINGS = S3Settings()
KEY = "sr_DemoSubject000000000001/d_0001.pdf"
CONTENT = b"%PDF-1.7 a bank statement\n" * 40

Form = list[tuple[str, str]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        endpoint = self.server.endpoint
        if self.path != endpoint.path:
            status, headers, body = no_such_bucket(self.path.rsplit("/", 1)[-1])
        else:
            size = int(length) if length is not None else None
            stream: RequestBody = self.rfile
            if self.server.whole and size is not None and size <= INLINE_BODY:
                stream = io.BytesIO(self.rfile.read(size))  # as the sandbox reads a small body
            status, headers, body = endpoint.handle(dict(self.headers.items()), stream, size)
        self.server.answered.append(status)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client has gone
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: UploadEndpoint, whole: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.endpoint = endpoint
        self.whole = whole
        self.answered: list[int] = []


class Sandbox:
    """The endpoint behind a tiny loopback server, with a settable clock."""

    def __init__(self, storage: Path, *, whole: bool = False) -> None:
        self.now = T0 + 10
        self.stored: list[StoredObject] = []
        self.storage = storage
        self.endpoint = UploadEndpoint(
            storage, SETTINGS, clock=lambda: self.now, on_stored=self.stored.append
        )
        self.server = _Server(self.endpoint, whole)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/s3/{SETTINGS.bucket}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def form(
        self,
        changes: Mapping[str, str] | None = None,
        *,
        size: int = len(CONTENT),
        object_key: str = KEY,
    ) -> Form:
        changes = changes or {}
        spec = FormSpec(
            key=object_key,
            content_type="application/pdf",
            size=size,
            document_id="d_0001",
            expires_at=T0 + 300,
        )
        fields = presign(spec, upload_url=self.url, settings=SETTINGS, now=T0)
        return [(name, changes.get(name, value)) for name, value in fields]

    def post(
        self,
        fields: Form,
        file: bytes | None = CONTENT,
        *,
        after: Sequence[tuple[str, str]] = (),
    ) -> httpx.Response:
        body, content_type = multipart(fields, file, after=after)
        return httpx.post(self.url, content=body, headers={"Content-Type": content_type})

    def files(self) -> list[Path]:
        return sorted(p for p in self.storage.rglob("*") if p.is_file())

    def wait_answered(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.server.answered) < count:
            assert time.monotonic() < deadline, "the endpoint never answered"
            time.sleep(0.01)


@pytest.fixture(params=["streamed", "read-whole"])
def sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The endpoint reading the body as it arrives, or (as the sandbox's server gives a
    small body) from memory."""
    box = Sandbox(tmp_path / "objects", whole=request.param == "read-whole")
    yield box
    box.close()


def multipart(
    fields: Form,
    file: bytes | None,
    *,
    after: Sequence[tuple[str, str]] = (),
    boundary: str = "",
) -> tuple[bytes, str]:
    boundary = boundary or uuid.uuid4().hex
    out = b"".join(_field(boundary, name, value) for name, value in fields)
    if file is not None:
        out += _file_head(boundary) + file + b"\r\n"
    out += b"".join(_field(boundary, name, value) for name, value in after)
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def _field(boundary: str, name: str, value: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def _file_head(boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()


def s3_error(response: httpx.Response) -> dict[str, str]:
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def assert_refused(
    sandbox: Sandbox, response: httpx.Response, status: int, code: str, message: str | None = None
) -> dict[str, str]:
    error = s3_error(response)
    assert (response.status_code, error["Code"]) == (status, code), error
    if message is not None:
        assert error["Message"] == message
    assert sandbox.stored == []
    assert sandbox.files() == []
    return error


def _resigned(sandbox: Sandbox, conditions: list[Any]) -> Form:
    """The presigned form with its policy replaced by ``conditions``, correctly signed."""
    return resigned(sandbox.form(), conditions, expiration=T0 + 300, settings=SETTINGS)


_KOMPLIANT_CONDITIONS: list[Any] = [
    {"bucket": SETTINGS.bucket},
    ["eq", "$key", KEY],
    ["eq", "$Content-Type", "application/pdf"],
    ["eq", "$x-amz-meta-document-id", "d_0001"],
]


# --- accepted --------------------------------------------------------------------------


def test_presigned_form_is_stored_with_its_hash(sandbox: Sandbox) -> None:
    response = sandbox.post(sandbox.form())

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["ETag"] == f'"{hashlib.md5(CONTENT).hexdigest()}"'
    path = sandbox.storage / KEY
    assert path.read_bytes() == CONTENT
    assert sandbox.files() == [path]  # no temporary file left beside it
    assert sandbox.stored == [
        StoredObject(
            key=KEY,
            size=len(CONTENT),
            sha256_hex=hashlib.sha256(CONTENT).hexdigest(),
            path=path,
            document_id="d_0001",
        )
    ]


def test_success_action_status_201_answers_post_response(sandbox: Sandbox) -> None:
    form = _resigned(sandbox, [*_KOMPLIANT_CONDITIONS, {"success_action_status": "201"}])
    response = sandbox.post([*form, ("success_action_status", "201")])

    assert response.status_code == 201, response.text
    root = ET.fromstring(response.content)
    assert root.tag == "PostResponse"
    assert root.findtext("Bucket") == SETTINGS.bucket
    assert root.findtext("Key") == KEY
    assert root.findtext("ETag") == f'"{hashlib.md5(CONTENT).hexdigest()}"'
    assert root.findtext("Location") == f"{sandbox.url}/{KEY}"
    assert len(sandbox.stored) == 1


def test_success_action_status_200_answers_empty(sandbox: Sandbox) -> None:
    form = _resigned(sandbox, [*_KOMPLIANT_CONDITIONS, {"success_action_status": "200"}])
    response = sandbox.post([*form, ("success_action_status", "200")])
    assert (response.status_code, response.content) == (200, b"")
    assert len(sandbox.stored) == 1


def test_field_names_match_without_case(sandbox: Sandbox) -> None:
    lowered = [(name.lower(), value) for name, value in sandbox.form()]
    assert sandbox.post(lowered).status_code == 204


def test_field_values_match_exactly(sandbox: Sandbox) -> None:
    response = sandbox.post(sandbox.form({"Content-Type": "Application/PDF"}))
    assert_refused(
        sandbox,
        response,
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", '
        '"application/pdf"]',
    )


def test_x_ignore_fields_need_no_condition(sandbox: Sandbox) -> None:
    response = sandbox.post([*sandbox.form(), ("x-ignore-client", "kompliant-agent")])
    assert response.status_code == 204, response.text


def test_upload_to_another_bucket_is_no_such_bucket(sandbox: Sandbox) -> None:
    body, content_type = multipart(sandbox.form(), CONTENT)
    response = httpx.post(
        sandbox.url + "-other", content=body, headers={"Content-Type": content_type}
    )
    assert (response.status_code, s3_error(response)["Code"]) == (404, "NoSuchBucket")


# --- refused: the policy ---------------------------------------------------------------


def test_expired_policy(sandbox: Sandbox) -> None:
    sandbox.now = T0 + 301
    assert_refused(
        sandbox,
        sandbox.post(sandbox.form()),
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )


def test_policy_still_valid_at_its_last_second(sandbox: Sandbox) -> None:
    sandbox.now = T0 + 300
    assert sandbox.post(sandbox.form()).status_code == 204


def _edited_policy(sandbox: Sandbox) -> Form:
    fields = dict(sandbox.form())
    conditions = [*_KOMPLIANT_CONDITIONS[:2], ["eq", "$Content-Type", "image/png"]]
    fields["policy"] = encode_policy(
        {"expiration": iso_expiration(T0 + 3600), "conditions": conditions}
    )
    return list(fields.items())


def _wrong_secret(sandbox: Sandbox) -> Form:
    spec = FormSpec(KEY, "application/pdf", len(CONTENT), "d_0001", T0 + 300)
    other = S3Settings(secret_key="not-the-sandbox-secret")
    return presign(spec, upload_url=sandbox.url, settings=other, now=T0)


def _other_day(sandbox: Sandbox) -> Form:
    credential = dict(sandbox.form())["X-Amz-Credential"].replace("20250324", "20250323")
    return sandbox.form({"X-Amz-Credential": credential})


def _other_region(sandbox: Sandbox) -> Form:
    credential = dict(sandbox.form())["X-Amz-Credential"].replace("us-east-1", "eu-west-1")
    return sandbox.form({"X-Amz-Credential": credential})


def _flipped_signature(sandbox: Sandbox) -> Form:
    signature = dict(sandbox.form())["X-Amz-Signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    return sandbox.form({"X-Amz-Signature": flipped})


@pytest.mark.parametrize(
    "make_form", [_edited_policy, _wrong_secret, _other_day, _other_region, _flipped_signature]
)
def test_signature_does_not_match(sandbox: Sandbox, make_form: Callable[[Sandbox], Form]) -> None:
    error = assert_refused(sandbox, sandbox.post(make_form(sandbox)), 403, "SignatureDoesNotMatch")
    assert error["Message"].startswith("The request signature we calculated does not match")
    assert SETTINGS.secret_key not in str(error)


def test_unknown_access_key(sandbox: Sandbox) -> None:
    credential = dict(sandbox.form())["X-Amz-Credential"].replace("ASIASANDBOX", "AKIAOTHER")
    response = sandbox.post(sandbox.form({"X-Amz-Credential": credential}))
    assert_refused(sandbox, response, 403, "InvalidAccessKeyId")


def test_wrong_session_token(sandbox: Sandbox) -> None:
    response = sandbox.post(sandbox.form({"X-Amz-Security-Token": "stolen-token"}))
    assert_refused(sandbox, response, 400, "InvalidToken")


def test_missing_policy_is_an_anonymous_post(sandbox: Sandbox) -> None:
    form = [(n, v) for n, v in sandbox.form() if n != "policy"]
    assert_refused(sandbox, sandbox.post(form), 403, "AccessDenied", "Access Denied")


@pytest.mark.parametrize(
    ("field", "value", "condition"),
    [
        ("key", "sr_DemoSubject000000000001/d_0002.pdf", f'["eq", "$key", "{KEY}"]'),
        ("Content-Type", "image/png", '["eq", "$Content-Type", "application/pdf"]'),
        (
            "x-amz-meta-document-id",
            "d_0002",
            '["eq", "$x-amz-meta-document-id", "d_0001"]',
        ),
        # Same day, so the signing key still fits; the policy pins the exact time.
        ("X-Amz-Date", "20250324T101501Z", '["eq", "$x-amz-date", "20250324T101500Z"]'),
    ],
)
def test_field_differing_from_its_condition(
    sandbox: Sandbox, field: str, value: str, condition: str
) -> None:
    response = sandbox.post(sandbox.form({field: value}))
    assert_refused(
        sandbox,
        response,
        403,
        "AccessDenied",
        f"Invalid according to Policy: Policy Condition failed: {condition}",
    )


def test_bucket_condition(sandbox: Sandbox) -> None:
    form = _resigned(sandbox, [{"bucket": "another-bucket"}, *_KOMPLIANT_CONDITIONS[1:]])
    assert_refused(
        sandbox,
        sandbox.post(form),
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "another-bucket"]',
    )


@pytest.mark.parametrize("extra", ["x-amz-meta-note", "success_action_status", "acl"])
def test_field_outside_the_policy(sandbox: Sandbox, extra: str) -> None:
    response = sandbox.post([*sandbox.form(), (extra, "201")])
    assert_refused(
        sandbox,
        response,
        403,
        "AccessDenied",
        f"Invalid according to Policy: Extra input fields: {extra}",
    )


# --- refused: the file ---------------------------------------------------------------


def test_file_larger_than_declared(sandbox: Sandbox) -> None:
    response = sandbox.post(sandbox.form(size=len(CONTENT) - 1))
    error = assert_refused(sandbox, response, 400, "EntityTooLarge")
    assert error["Message"] == "Your proposed upload exceeds the maximum allowed size"
    assert (error["ProposedSize"], error["MaxSizeAllowed"]) == (
        str(len(CONTENT)),
        str(len(CONTENT) - 1),
    )


def test_file_much_larger_than_declared_stops_being_stored(sandbox: Sandbox) -> None:
    big = b"x" * (5 * 1024 * 1024)
    response = sandbox.post(sandbox.form(size=1024), big)
    error = assert_refused(sandbox, response, 400, "EntityTooLarge")
    assert error["ProposedSize"] == str(len(big))


def test_file_smaller_than_declared(sandbox: Sandbox) -> None:
    response = sandbox.post(sandbox.form(size=len(CONTENT) + 1))
    error = assert_refused(sandbox, response, 400, "EntityTooSmall")
    assert error["Message"] == "Your proposed upload is smaller than the minimum allowed size"
    assert (error["ProposedSize"], error["MinSizeAllowed"]) == (
        str(len(CONTENT)),
        str(len(CONTENT) + 1),
    )


# --- refused: the form's shape ----------------------------------------------------------


def test_no_file_field(sandbox: Sandbox) -> None:
    assert_refused(
        sandbox,
        sandbox.post(sandbox.form(), None),
        400,
        "InvalidArgument",
        "POST requires exactly one file upload per request.",
    )


def test_missing_key(sandbox: Sandbox) -> None:
    form = [(n, v) for n, v in sandbox.form() if n != "key"]
    assert_refused(
        sandbox,
        sandbox.post(form),
        400,
        "InvalidArgument",
        "Bucket POST must contain a field named 'key'.  If it is specified, please check the "
        "order of the fields.",
    )


def test_field_after_the_file(sandbox: Sandbox) -> None:
    # Real S3 would ignore the late field and store the file; the sandbox refuses, so a
    # client that passes here loses nothing on S3.
    response = sandbox.post(sandbox.form(), after=[("x-ignore-late", "1")])
    error = assert_refused(sandbox, response, 400, "InvalidArgument")
    assert "last field" in error["Message"]


def test_policy_field_after_the_file_counts_as_missing(sandbox: Sandbox) -> None:
    fields = sandbox.form()
    response = sandbox.post(fields[:-1], after=fields[-1:])
    assert_refused(
        sandbox,
        response,
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", '
        '"$x-amz-meta-document-id", "d_0001"]',
    )


def test_file_first_misses_the_key(sandbox: Sandbox) -> None:
    response = sandbox.post([], after=sandbox.form())
    error = assert_refused(sandbox, response, 400, "InvalidArgument")
    assert error["ArgumentName"] == "key"


def test_not_multipart(sandbox: Sandbox) -> None:
    response = httpx.post(sandbox.url, data=dict(sandbox.form()))
    error = assert_refused(sandbox, response, 412, "PreconditionFailed")
    assert error["Condition"] == "Bucket POST must be of the enclosure-type multipart/form-data"


def test_body_without_content_length(sandbox: Sandbox) -> None:
    body, content_type = multipart(sandbox.form(), CONTENT)
    response = httpx.post(sandbox.url, content=iter([body]), headers={"Content-Type": content_type})
    assert_refused(sandbox, response, 411, "MissingContentLength")


def test_body_without_closing_boundary(sandbox: Sandbox) -> None:
    body, content_type = multipart(sandbox.form(), CONTENT)
    truncated = body[: body.rindex(b"--")]  # fields and file, no final boundary
    response = httpx.post(sandbox.url, content=truncated, headers={"Content-Type": content_type})
    assert_refused(sandbox, response, 400, "MalformedPOSTRequest")


def test_fields_before_the_file_too_large(sandbox: Sandbox) -> None:
    response = sandbox.post([("x-ignore-padding", "p" * 30_000), *sandbox.form()])
    assert_refused(sandbox, response, 400, "MaxPostPreDataLengthExceededError")


def test_key_that_is_no_path_below_the_store(sandbox: Sandbox) -> None:
    response = sandbox.post(sandbox.form(object_key="../escaped.pdf"))
    assert_refused(sandbox, response, 400, "InvalidArgument")
    assert not (sandbox.storage.parent / "escaped.pdf").exists()


def test_client_gone_mid_body_leaves_nothing(sandbox: Sandbox) -> None:
    body, content_type = multipart(sandbox.form(size=2_000_000), b"y" * 2_000_000)
    port = sandbox.server.server_address[1]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = (
            f"POST /s3/{SETTINGS.bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body[: len(body) // 2])
        # Wait until the temporary file shows the body is being received, then hang up.
        deadline = time.monotonic() + 5
        while not any(p.name.startswith(".incoming-") for p in sandbox.storage.iterdir()):
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.01)

    sandbox.wait_answered(1)
    assert sandbox.server.answered == [400]
    assert sandbox.stored == []
    assert list(sandbox.storage.iterdir()) == []


# --- streaming -------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_large_upload_is_streamed_to_disk(sandbox: Sandbox) -> None:
    size = 200 * 1024 * 1024
    boundary = uuid.uuid4().hex
    head, _ = multipart(sandbox.form(size=size), None, boundary=boundary)
    head = head[: -len(f"--{boundary}--\r\n")] + _file_head(boundary)
    sent = post_big_pdf(sandbox.url, head, boundary, size, timeout=60)

    assert sent.response.status_code == 204, sent.response.text
    (stored,) = sandbox.stored
    assert (stored.size, stored.sha256_hex) == (size, sent.sha256)
    assert stored.path.stat().st_size == size
    assert sent.growth_mib < 40, f"peak RSS grew by {sent.growth_mib:.0f} MiB for a 200 MiB upload"
