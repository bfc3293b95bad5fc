"""KSig1-HMAC-SHA256 against Kompliant's published test vector (kompliant-api.md §2.4)."""

from __future__ import annotations

import httpx
import pytest

from agent.errors import CredentialsError
from agent.kompliant.auth import API_VERSION, Credentials, KSig1Auth, signature

API_KEY = "sb_3eY9UJuj09636NVPlgmhfa"
SECRET_KEY = "xBeain5pFnPyQkl98qzA+BG+Cjzskpqq9fGKDbDoXNP5"
AUTH_TOKEN = "7F2Av26rUgtzJYgUG9IilG1W6ZMLnt7Dak3Gyht220KLpkBLSJRMOzhBYd"
EXPECTED = "iWEh4jjK9wfjTXd/3GzImPLL1swTZiCPpDbj62vFo2Q="


def test_published_vector_byte_for_byte() -> None:
    assert signature(API_KEY, SECRET_KEY) == EXPECTED


def test_auth_sets_the_three_headers_and_pins_the_version() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.post(
            "https://api.example/meta.checkVersion", auth=KSig1Auth(API_KEY, SECRET_KEY, AUTH_TOKEN)
        )
    assert seen["authorization"] == f"KSig1-HMAC-SHA256 {EXPECTED}"
    assert seen["x-api-key"] == API_KEY
    assert seen["x-api-auth-token"] == AUTH_TOKEN
    assert seen["x-api-version"] == API_VERSION == "2025-03-24"


@pytest.mark.parametrize("bad", ["not base64!!", "AAAA"])
def test_bad_secret_key_is_a_clear_error_without_the_secret(bad: str) -> None:
    with pytest.raises(CredentialsError) as info:
        signature(API_KEY, bad)
    assert bad not in str(info.value)


def test_secrets_do_not_show_in_repr() -> None:
    creds = Credentials("http://127.0.0.1:1", API_KEY, SECRET_KEY, AUTH_TOKEN)
    text = repr(creds) + repr(creds.auth())
    assert SECRET_KEY not in text and AUTH_TOKEN not in text and EXPECTED not in text
