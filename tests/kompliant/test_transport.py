"""The HTTP connection: https rule, timeouts, proxies from the environment (real loopback)."""

from __future__ import annotations

import pytest

from agent.errors import CannotSucceed, NetworkError
from agent.kompliant import KompliantClient
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.kompliant.transport import (
    USER_AGENT,
    check_api_url,
    is_loopback_host,
    make_http_client,
    timeouts,
)
from tests.kompliant.conftest import make_credentials
from tests.kompliant.scripted_server import Reply, envelope, scripted

VERSION = envelope({"current_version": "v", "latest_version": "v"})


@pytest.mark.parametrize(
    "url",
    [
        "https://api.kompliant.com",
        "https://api.kompliant.com/base/",
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://localhost:1234",
        "http://LOCALHOST",
        "http://[::1]:5000",
    ],
)
def test_allowed_api_urls(url: str) -> None:
    assert check_api_url(url).host


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://api.kompliant.com",
        "http://10.0.0.5:8080",
        "http://[2001:db8::1]",
        "http://localhost.example.com",
        "http://128.0.0.1",
    ],
)
def test_plain_http_to_other_hosts_is_refused(url: str) -> None:
    with pytest.raises(CannotSucceed) as caught:
        check_api_url(url)
    assert caught.value.code == "INSECURE_API_URL"
    assert "https://" in caught.value.hint


@pytest.mark.parametrize("url", ["ftp://api.kompliant.com", "api.kompliant.com", "https://", ""])
def test_urls_that_are_not_http_are_refused(url: str) -> None:
    with pytest.raises(CannotSucceed) as caught:
        check_api_url(url)
    assert caught.value.code == "INVALID_API_URL"


def test_the_refusal_does_not_repeat_credentials_in_the_url() -> None:
    with pytest.raises(CannotSucceed) as caught:
        check_api_url("http://user:hunter2@example.com/api?token=abc")
    assert "hunter2" not in str(caught.value)
    assert "token=abc" not in str(caught.value)
    assert "example.com" in str(caught.value)


def test_loopback_hosts() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1")
    assert is_loopback_host("[::1]") and is_loopback_host("app.localhost")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("example.com")


def test_client_settings() -> None:
    with make_http_client("https://api.kompliant.com", timeout=30.0) as http:
        assert http.headers["User-Agent"] == USER_AGENT
        assert http.timeout.read == 30.0 and http.timeout.connect == 10.0
        assert http.timeout.pool == 10.0 and http.timeout.write == 30.0
        assert http.follow_redirects is False
        assert http.trust_env is True
    short = timeouts(2.0)
    assert (short.connect, short.read) == (2.0, 2.0)


def test_requests_resolve_under_a_base_path() -> None:
    with (
        scripted(Reply(200, VERSION)) as srv,
        KompliantClient(make_credentials(srv.url + "/kompliant")) as client,
    ):
        client.check_version()
    assert srv.seen[0].target == "/kompliant/meta.checkVersion"


# --------------------------------------------------------------------------- proxies


def one_shot_client(url: str) -> KompliantClient:
    pacer = Pacer(PacerPolicy(max_attempts=1), sleep=lambda s: None)
    return KompliantClient(make_credentials(url), timeout=5.0, pacer=pacer)


def test_http_proxy_from_the_environment_carries_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with scripted(Reply(200, VERSION)) as proxy, scripted(Reply(200, VERSION)) as api:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with one_shot_client(api.url) as client:
            client.check_version()
    assert api.seen == []
    (seen,) = proxy.seen
    assert (seen.method, seen.target) == ("POST", f"{api.url}/meta.checkVersion")


def test_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted(Reply(200, VERSION)) as proxy, scripted(Reply(200, VERSION)) as api:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")
        with one_shot_client(api.url) as client:
            client.check_version()
    assert proxy.seen == []
    assert [s.target for s in api.seen] == ["/meta.checkVersion"]


def test_https_goes_through_the_proxy_with_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    # The dummy proxy refuses the tunnel: no TLS server or outside network is needed to
    # see that the agent asked the proxy for api.kompliant.test:443.
    with scripted(Reply(403, b"tunnel refused")) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        with (
            one_shot_client("https://api.kompliant.test") as client,
            pytest.raises(NetworkError) as caught,
        ):
            client.check_version()
    (seen,) = proxy.seen
    assert (seen.method, seen.target) == ("CONNECT", "api.kompliant.test:443")
    assert seen.body == b""  # nothing of the request, headers included, went to the proxy
    assert "authorization" not in {k.lower() for k in seen.headers}
    assert caught.value.code == "NETWORK"
