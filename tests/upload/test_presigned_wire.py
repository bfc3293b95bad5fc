"""The presigned POST as seen on the wire by a loopback server."""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agent.errors import (
    FileChanged,
    NetworkError,
    UnexpectedResponse,
    UploadFormExpired,
    UploadRejected,
)
from agent.kompliant.models import PresignedForm
from agent.upload.identity import FileIdentity, identify
from agent.upload.presigned import (
    CHUNK_SIZE,
    FILE_MOVED,
    FormBody,
    _Shrank,
    check_upload_url,
    expected_status,
    send_form,
)
from tests.upload.capture import Captured, CaptureServer, capture_server

FIELDS = (
    ("Content-Type", "application/pdf"),
    ("key", "sr_X/d_Y.pdf"),
    ("policy", "eyJleHBpcmF0aW9uIjoi"),
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    ("X-Amz-Credential", "AKIA/20250101/us-east-1/s3/aws4_request"),
    ("X-Amz-Date", "20250101T000000Z"),
    ("X-Amz-Security-Token", "token"),
    ("X-Amz-Signature", "abc123"),
    ("x-amz-meta-document-id", "d_Y"),
)


def parts(captured: Captured) -> list[tuple[dict[str, str], bytes]]:
    match = re.fullmatch(r"multipart/form-data; boundary=(\S+)", captured.headers["content-type"])
    assert match, captured.headers["content-type"]
    boundary = match.group(1).encode()
    body = captured.body
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    chunks = body.split(b"--" + boundary)
    assert chunks[0] == b"" and chunks[-1] == b"--\r\n"
    out = []
    for chunk in chunks[1:-1]:
        assert chunk.startswith(b"\r\n") and chunk.endswith(b"\r\n")
        head, _, content = chunk[2:-2].partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            headers[name.lower()] = value
        out.append((headers, content))
    return out


def field_name(headers: dict[str, str]) -> str:
    match = re.search(r'name="([^"]*)"', headers["content-disposition"])
    assert match
    return match.group(1)


@pytest.fixture
def server() -> CaptureServer:
    with capture_server() as state:
        yield state  # type: ignore[misc]


def make_file(tmp_path: Path, size: int = 300_000) -> Path:
    path = tmp_path / "statement.pdf"
    path.write_bytes(os.urandom(size))
    return path


def sent_whole(
    tmp_path: Path, server: CaptureServer, size: int, chunk_size: int = CHUNK_SIZE
) -> tuple[Path, FileIdentity, list[tuple[int, int]]]:
    """A file of ``size`` random bytes sent to the capture server's form with its progress
    recorded: the file, what was read of it, and the progress reports."""
    path = make_file(tmp_path, size)
    identity = identify(path)
    seen: list[tuple[int, int]] = []
    send_form(
        PresignedForm(server.url, FIELDS),
        path,
        file_name="statement.pdf",
        identity=identity,
        progress=lambda sent, total: seen.append((sent, total)),
        chunk_size=chunk_size,
    )
    return path, identity, seen


def test_fields_in_order_then_the_file_last_with_length_and_no_kompliant_headers(
    tmp_path: Path, server: CaptureServer
) -> None:
    path, identity, seen = sent_whole(tmp_path, server, 300_000, chunk_size=65536)
    [request] = server.requests
    assert request.path == "/s3/bucket"
    assert int(request.headers["content-length"]) == len(request.body)
    assert "transfer-encoding" not in request.headers
    for name in ("authorization", "x-api-key", "x-api-auth-token", "x-api-version"):
        assert name not in request.headers
    got = parts(request)
    assert [(field_name(h), c.decode()) for h, c in got[:-1]] == list(FIELDS)
    file_headers, content = got[-1]
    assert field_name(file_headers) == "file"
    assert 'filename="statement.pdf"' in file_headers["content-disposition"]
    assert file_headers["content-type"] == "application/pdf"
    assert content == path.read_bytes()
    assert seen[-1] == (identity.size, identity.size)
    assert len(seen) == -(-identity.size // 65536)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)


def test_a_file_of_one_chunk_goes_as_one_body_read_once(
    tmp_path: Path, server: CaptureServer
) -> None:
    path, identity, seen = sent_whole(tmp_path, server, 2048)
    [request] = server.requests
    assert int(request.headers["content-length"]) == len(request.body)
    assert "transfer-encoding" not in request.headers
    got = parts(request)
    assert [(field_name(h), c.decode()) for h, c in got[:-1]] == list(FIELDS)
    file_headers, content = got[-1]
    assert 'filename="statement.pdf"' in file_headers["content-disposition"]
    assert content == path.read_bytes()
    assert hashlib.sha256(content).hexdigest() == identity.sha256
    assert seen == [(2048, 2048)]


def test_a_file_shorter_than_its_size_is_never_sent_whole() -> None:
    body = FormBody((), io.BytesIO(b"abc"), file_name="a.pdf", content_type="x/y", size=10)
    with pytest.raises(_Shrank):
        body.content()
    assert body.sent_sha256 is None


def test_the_http_clients_own_headers_and_cookies_never_go_to_the_upload_store(
    tmp_path: Path, server: CaptureServer
) -> None:
    path = make_file(tmp_path, 10)
    kompliant = {
        "Authorization": "KSig1-HMAC-SHA256 x",
        "X-Api-Key": "key",
        "X-Api-Auth-Token": "token",
        "X-Api-Version": "2",
    }
    with httpx.Client(headers=kompliant, cookies={"session": "s"}) as http:
        send_form(
            PresignedForm(server.url, FIELDS),
            path,
            file_name="a.pdf",
            identity=identify(path),
            http=http,
        )
    [request] = server.requests
    for name in (*(n.lower() for n in kompliant), "cookie"):
        assert name not in request.headers
    assert request.headers["user-agent"].startswith("kompliant-agent/")


def test_the_upload_goes_through_the_proxy_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_file(tmp_path, 10)
    with capture_server() as proxy, capture_server() as store:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.removesuffix("/s3/bucket"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        send_form(
            PresignedForm(store.url, FIELDS), path, file_name="a.pdf", identity=identify(path)
        )
    assert store.requests == []
    [request] = proxy.requests
    assert request.path == store.url  # the absolute form a proxy is asked with
    assert parts(request)[-1][1] == path.read_bytes()


def test_success_action_status_is_honoured(tmp_path: Path, server: CaptureServer) -> None:
    path = make_file(tmp_path, 10)
    form = PresignedForm(server.url, (*FIELDS, ("success_action_status", "201")))
    assert expected_status(form) == 201
    server.status = 201
    server.body = b"<PostResponse/>"
    send_form(form, path, file_name="a.pdf", identity=identify(path))
    server.status = 204
    server.body = b""
    with pytest.raises(UnexpectedResponse) as info:
        send_form(form, path, file_name="a.pdf", identity=identify(path))
    assert "not the 201" in info.value.message


def test_200_is_not_success_without_asking(tmp_path: Path, server: CaptureServer) -> None:
    path = make_file(tmp_path, 10)
    server.status = 200
    with pytest.raises(UnexpectedResponse) as info:
        send_form(
            PresignedForm(server.url, FIELDS), path, file_name="a.pdf", identity=identify(path)
        )
    assert "not the 204" in info.value.message


def test_policy_expired_answer_is_upload_form_expired(
    tmp_path: Path, server: CaptureServer
) -> None:
    path = make_file(tmp_path, 10)
    server.status = 403
    server.body = (
        b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
        b"<Message>Invalid according to Policy: Policy expired.</Message>"
        b"<RequestId>R1</RequestId></Error>"
    )
    with pytest.raises(UploadFormExpired) as info:
        send_form(
            PresignedForm(server.url, FIELDS), path, file_name="a.pdf", identity=identify(path)
        )
    assert info.value.http_status == 403
    assert info.value.retryable


def send_while_changing(
    tmp_path: Path, server: CaptureServer, change: Callable[[Path], object]
) -> tuple[FileChanged, FileIdentity]:
    """Send a 200 kB file and ``change`` it once the first 64 KiB are out: the FileChanged
    the send raises, and the file's identity from before."""
    path = make_file(tmp_path, 200_000)
    identity = identify(path)

    def progress(sent: int, total: int) -> None:
        if sent == 65536:
            change(path)

    with pytest.raises(FileChanged) as info:
        send_form(
            PresignedForm(server.url, FIELDS),
            path,
            file_name="a.pdf",
            identity=identity,
            progress=progress,
            chunk_size=65536,
        )
    return info.value, identity


def test_a_file_grown_during_the_upload_is_never_reported_uploaded(
    tmp_path: Path, server: CaptureServer
) -> None:
    def grow(path: Path) -> None:
        with path.open("ab") as handle:
            handle.write(b"more scanned pages")

    error, identity = send_while_changing(tmp_path, server, grow)
    assert "not reported as uploaded" in error.message
    # exactly the declared bytes went out: the wire stayed valid
    [request] = server.requests
    assert len(parts(request)[-1][1]) == identity.size


def test_a_file_rewritten_in_place_with_the_same_size_and_mtime_is_caught(
    tmp_path: Path, server: CaptureServer
) -> None:
    def rewrite(path: Path) -> None:
        mtime_ns = path.stat().st_mtime_ns
        with path.open("r+b") as handle:
            handle.seek(100_000)
            handle.write(b"X" * 10)
        os.utime(path, ns=(mtime_ns, mtime_ns))

    send_while_changing(tmp_path, server, rewrite)


def test_a_file_truncated_during_the_upload_is_file_changed(
    tmp_path: Path, server: CaptureServer
) -> None:
    send_while_changing(tmp_path, server, lambda path: os.truncate(path, 1000))


def test_a_file_renamed_while_it_is_sent_is_said_to_be_moved(
    tmp_path: Path, server: CaptureServer
) -> None:
    error, _ = send_while_changing(
        tmp_path, server, lambda path: path.rename(path.with_name("renamed.pdf"))
    )
    assert error.code == FILE_MOVED  # the caller may find it again by its inode
    assert len(server.requests[0].body) > 200_000  # it was all sent


def test_a_file_changed_before_sending_is_not_sent(tmp_path: Path, server: CaptureServer) -> None:
    path = make_file(tmp_path, 1000)
    identity = identify(path)
    path.write_bytes(b"y" * 1001)
    with pytest.raises(FileChanged):
        send_form(PresignedForm(server.url, FIELDS), path, file_name="a.pdf", identity=identity)
    assert server.requests == []


def test_nothing_listening_is_a_network_error(tmp_path: Path) -> None:
    path = make_file(tmp_path, 10)
    with capture_server() as gone:
        url = gone.url
    with pytest.raises(NetworkError):
        send_form(PresignedForm(url, FIELDS), path, file_name="a.pdf", identity=identify(path))


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://bucket.s3.us-east-1.amazonaws.com", True),
        ("http://127.0.0.1:9000/s3/b", True),
        ("http://localhost/s3/b", True),
        ("http://[::1]:9000/s3/b", True),
        ("http://bucket.s3.amazonaws.com", False),
        ("ftp://127.0.0.1/x", False),
        ("", False),
    ],
)
def test_documents_go_in_clear_text_only_to_this_machine(url: str, ok: bool) -> None:
    if ok:
        check_upload_url(url)
    else:
        with pytest.raises(UploadRejected):
            check_upload_url(url)
