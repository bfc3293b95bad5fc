"""Shared fixtures for the Kompliant client tests."""

from __future__ import annotations

import pytest

from agent.kompliant.auth import Credentials

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)

# Kompliant's published test vector (kompliant-api.md §2.4): public, useless elsewhere.
API_KEY = "sb_3eY9UJuj09636NVPlgmhfa"
SECRET_KEY = "xBeain5pFnPyQkl98qzA+BG+Cjzskpqq9fGKDbDoXNP5"
AUTH_TOKEN = "7F2Av26rUgtzJYgUG9IilG1W6ZMLnt7Dak3Gyht220KLpkBLSJRMOzhBYd"
SIGNATURE = "iWEh4jjK9wfjTXd/3GzImPLL1swTZiCPpDbj62vFo2Q="
SECRETS = (SECRET_KEY, AUTH_TOKEN, SIGNATURE)


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback tests must not be routed through a proxy the machine happens to set."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def make_credentials(api_url: str = "https://api.kompliant.test") -> Credentials:
    return Credentials(
        api_url=api_url, api_key=API_KEY, secret_key=SECRET_KEY, auth_token=AUTH_TOKEN
    )
