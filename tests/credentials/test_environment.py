"""resolve_credentials: the KOMPLIANT_* environment first, then the stored profile."""

from __future__ import annotations

import pytest

from agent.credentials import ENV_VARIABLES, resolve_credentials, save_credentials
from agent.errors import CredentialsError
from agent.kompliant.auth import Credentials
from tests.credentials.conftest import (
    API_KEY,
    API_URL,
    AUTH_TOKEN,
    SECRET_KEY,
    MemorySecretService,
)

ENV = dict(zip(ENV_VARIABLES, (API_URL, API_KEY, SECRET_KEY, AUTH_TOKEN), strict=True))


def test_all_four_variables_win_over_the_profile(memory_keyring: MemorySecretService) -> None:
    save_credentials("default", Credentials("https://other", "lv_x", SECRET_KEY, "tok"))
    assert resolve_credentials("default", environ=ENV) == Credentials(
        API_URL, API_KEY, SECRET_KEY, AUTH_TOKEN
    )


def test_without_variables_the_profile_is_used(memory_keyring: MemorySecretService) -> None:
    stored = Credentials("https://other", "lv_x", SECRET_KEY, "tok")
    save_credentials("work", stored)
    assert resolve_credentials("work", environ={}) == stored


def test_default_profile_and_process_environment(
    memory_keyring: MemorySecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert resolve_credentials().api_key == API_KEY


def test_a_partial_environment_is_an_error_naming_what_is_missing(
    memory_keyring: MemorySecretService,
) -> None:
    partial = {k: v for k, v in ENV.items() if k != "KOMPLIANT_AUTH_TOKEN"}
    with pytest.raises(CredentialsError) as raised:
        resolve_credentials("default", environ=partial)
    text = raised.value.describe()
    assert "KOMPLIANT_AUTH_TOKEN is missing" in text
    assert SECRET_KEY not in text
