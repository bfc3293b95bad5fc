"""The client over real HTTP on loopback, against a scripted stdlib server."""

from __future__ import annotations

import time

import pytest

from agent.errors import AmbiguousRequest, NetworkError, Throttled, UnexpectedResponse
from agent.kompliant import KompliantClient
from agent.kompliant.auth import API_VERSION
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.kompliant.transport import USER_AGENT
from tests.kit.clock import FakeClock
from tests.kompliant.conftest import API_KEY, AUTH_TOKEN, SIGNATURE, make_credentials
from tests.kompliant.scripted_server import Reply, envelope, scripted

CREATED = {
    "document": {
        "document_id": "d_1",
        "upload_url": "http://127.0.0.1:1/s3/bucket",
        "presign_values": {"Content-Type": "application/pdf", "key": "sr_1/d_1.pdf"},
    }
}
DOC = {
    "document_id": "d_1",
    "subject_record_id": "sr_1",
    "file_name": "a.pdf",
    "file_size": 3,
    "upload_status": "COMPLETED",
}
GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def client_for(
    url: str, waits: FakeClock, *, timeout: float = 5.0, attempts: int = 4
) -> KompliantClient:
    pacer = Pacer(
        PacerPolicy(base=0.5, cap=4.0, max_attempts=attempts, max_elapsed=60.0),
        clock=waits,
        sleep=waits.sleep,
        rand=lambda: 0.5,
    )
    return KompliantClient(make_credentials(url), timeout=timeout, pacer=pacer)


def test_headers_on_the_wire() -> None:
    version = envelope({"current_version": "v", "latest_version": "v"})
    with scripted(Reply(200, version)) as srv, client_for(srv.url, FakeClock(0.0)) as client:
        client.check_version()
    (seen,) = srv.seen
    assert (seen.method, seen.target) == ("POST", "/meta.checkVersion")
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["authorization"] == f"KSig1-HMAC-SHA256 {SIGNATURE}"
    assert headers["x-api-key"] == API_KEY
    assert headers["x-api-auth-token"] == AUTH_TOKEN
    assert headers["x-api-version"] == API_VERSION
    assert headers["user-agent"] == USER_AGENT
    assert headers["content-type"] == "application/json"


def test_429_with_retry_after_then_200() -> None:
    waits = FakeClock(0.0)
    with (
        scripted(
            Reply(429, b"Too Many Requests", {"Retry-After": "2"}),
            Reply(200, envelope(CREATED)),
        ) as srv,
        client_for(srv.url, waits) as client,
    ):
        created = client.create_document("sr_1", "a.pdf", 3)
    assert created.document_id == "d_1"
    assert len(srv.seen) == 2
    assert waits.sleeps == [2.0]
    assert srv.seen[0].json() == srv.seen[1].json()


def test_429_for_too_long_gives_up_as_throttled() -> None:
    waits = FakeClock(0.0)
    replies = [Reply(429, b"", {"Retry-After": "1"}) for _ in range(3)]
    with (
        scripted(*replies) as srv,
        client_for(srv.url, waits, attempts=3) as client,
        pytest.raises(Throttled) as caught,
    ):
        client.list_documents("sr_1")
    assert len(srv.seen) == 3
    assert caught.value.retry_after == 1.0


def test_create_dropped_after_the_request_is_ambiguous_and_sent_once() -> None:
    with (
        scripted(Reply(action="close"), Reply(200, envelope(CREATED))) as srv,
        client_for(srv.url, FakeClock(0.0)) as client,
        pytest.raises(AmbiguousRequest) as caught,
    ):
        client.create_document("sr_1", "a.pdf", 3)
    assert len(srv.seen) == 1
    assert srv.seen[0].json() == {
        "subject_record_id": "sr_1",
        "file_name": "a.pdf",
        "file_size_in_bytes": 3,
    }
    assert caught.value.code == "NO_ANSWER"
    assert caught.value.method == "document.create"  # the status names the call


def test_a_read_dropped_after_the_request_is_simply_retried() -> None:
    with (
        scripted(Reply(action="close"), Reply(200, envelope({"document": DOC}))) as srv,
        client_for(srv.url, FakeClock(0.0)) as client,
    ):
        assert client.get_document("d_1").completed
    assert len(srv.seen) == 2


def test_gateway_html_page() -> None:
    page = Reply(502, GATEWAY_PAGE, {"Content-Type": "text/html"})
    with (
        scripted(page, page, page) as srv,
        client_for(srv.url, FakeClock(0.0), attempts=2) as client,
    ):
        with pytest.raises(AmbiguousRequest) as ambiguous:
            client.create_document("sr_1", "a.pdf", 3)
        assert len(srv.seen) == 1
        with pytest.raises(UnexpectedResponse) as unexpected:
            client.get_document("d_1")
        assert len(srv.seen) == 3
    for err in (ambiguous.value, unexpected.value):
        assert err.http_status == 502
        assert "502 Bad Gateway" in err.message
        assert "<" not in err.message


def test_slow_answer_beyond_the_read_timeout() -> None:
    slow = Reply(200, envelope(CREATED), action="hang")
    with (
        scripted(slow, slow) as srv,
        client_for(srv.url, FakeClock(0.0), timeout=0.3, attempts=1) as client,
    ):
        started = time.monotonic()
        with pytest.raises(AmbiguousRequest):
            client.create_document("sr_1", "a.pdf", 3)
        with pytest.raises(NetworkError) as caught:
            client.get_document("d_1")
        elapsed = time.monotonic() - started
        srv.release.set()
    assert not isinstance(caught.value, AmbiguousRequest)
    assert "timed out" in caught.value.message
    assert len(srv.seen) == 2
    assert elapsed < 3.0


def test_nothing_listening_is_a_network_error_and_create_may_retry_it() -> None:
    with scripted() as srv:
        url = srv.url
    waits = FakeClock(0.0)
    with client_for(url, waits, attempts=2) as client, pytest.raises(NetworkError) as caught:
        client.create_document("sr_1", "a.pdf", 3)
    # The connection could not be opened: the request certainly did not arrive, so
    # the create was retried instead of being reported ambiguous.
    assert not isinstance(caught.value, AmbiguousRequest)
    assert len(waits.sleeps) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_plain_http_is_accepted_on_loopback(host: str) -> None:
    with scripted(Reply(200, envelope({"current_version": "v", "latest_version": "w"}))) as srv:
        url = f"http://{host}:{srv.port}"
        with client_for(url, FakeClock(0.0)) as client:
            assert client.check_version().latest_version == "w"
    assert len(srv.seen) == 1
