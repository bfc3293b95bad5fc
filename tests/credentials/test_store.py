"""Saving, loading and deleting a profile's credentials against fake keyring backends."""

from __future__ import annotations

import logging
import stat
import tomllib
from pathlib import Path

import pytest

from agent.credentials import (
    SecretStore,
    delete_credentials,
    files,
    load_credentials,
    plan_storage,
    save_credentials,
    stored_profile,
)
from agent.credentials.keyring_store import service_name
from agent.errors import CredentialsError
from agent.kompliant.auth import Credentials
from tests.credentials.conftest import (
    API_KEY,
    API_URL,
    AUTH_TOKEN,
    SECRET_KEY,
    BrokenBusSecretService,
    DismissedSecretService,
    Installer,
    LockedSecretService,
    MemorySecretService,
    PlaintextKeyring,
)

CREDS = Credentials(API_URL, API_KEY, SECRET_KEY, AUTH_TOKEN)


def assert_no_secret(text: str) -> None:
    assert SECRET_KEY not in text
    assert AUTH_TOKEN not in text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_service_name_is_namespaced_by_profile_and_agent_home(tmp_path: Path) -> None:
    assert service_name("default", None) == "kompliant-agent/default"
    a = service_name("work", str(tmp_path / "a"))
    assert a.startswith("kompliant-agent/home-") and a.endswith("/work")
    assert a == service_name("work", str(tmp_path / "a" / ".." / "a"))  # stable per folder
    assert a != service_name("work", str(tmp_path / "b"))


def test_round_trip_keeps_secrets_in_the_keyring_only(
    memory_keyring: MemorySecretService, agent_home: Path
) -> None:
    plan = save_credentials("default", CREDS)
    assert plan.secret_store is SecretStore.KEYRING and plan.warning is None
    service = service_name("default", str(agent_home))
    assert memory_keyring.entries == {
        (service, "secret_key"): SECRET_KEY,
        (service, "auth_token"): AUTH_TOKEN,
    }
    profile = files.profile_file("default")
    assert_no_secret(profile.read_text())
    assert tomllib.loads(profile.read_text())["secret_store"] == "keyring"
    assert mode(profile) == 0o600 and mode(profile.parent) == 0o700
    assert not files.plaintext_file("default").exists()
    assert load_credentials("default") == CREDS


def test_profiles_do_not_share_entries(memory_keyring: MemorySecretService) -> None:
    other = Credentials("https://api.kompliant.com", "lv_other", SECRET_KEY[::-1], "tok2")
    save_credentials("default", CREDS)
    save_credentials("live", other)
    assert load_credentials("default") == CREDS
    assert load_credentials("live") == other
    delete_credentials("live")
    assert load_credentials("default") == CREDS


def test_no_secure_keyring_refuses_and_writes_nothing(no_keyring: object) -> None:
    with pytest.raises(CredentialsError) as raised:
        save_credentials("default", CREDS)
    assert raised.value.code == "NO_SECURE_KEYRING"
    assert "--allow-plaintext" in raised.value.describe()
    assert_no_secret(raised.value.describe())
    assert not files.profile_file("default").exists()
    assert not files.plaintext_file("default").exists()


def test_plaintext_backend_is_never_written(use_backend: Installer, agent_home: Path) -> None:
    backend = PlaintextKeyring()
    use_backend(backend)
    with pytest.raises(CredentialsError, match="plain file"):
        save_credentials("default", CREDS)
    assert backend.entries == {}
    assert not files.profile_file("default").exists()


def test_plaintext_opt_in_writes_a_private_file_and_warns(
    no_keyring: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    plan = save_credentials("default", CREDS, allow_plaintext=True)
    assert plan.secret_store is SecretStore.PLAINTEXT
    assert plan.warning is not None and "UNENCRYPTED" in plan.warning
    secrets = files.plaintext_file("default")
    assert mode(secrets) == 0o600
    assert tomllib.loads(secrets.read_text()) == {
        "secret_key": SECRET_KEY,
        "auth_token": AUTH_TOKEN,
    }
    assert any(
        r.levelno == logging.WARNING and "UNENCRYPTED" in r.getMessage() for r in caplog.records
    )
    assert load_credentials("default") == CREDS
    for record in caplog.records:
        assert_no_secret(record.getMessage())


def test_opt_in_still_prefers_a_secure_keyring(memory_keyring: MemorySecretService) -> None:
    plan = save_credentials("default", CREDS, allow_plaintext=True)
    assert plan.secret_store is SecretStore.KEYRING
    assert not files.plaintext_file("default").exists()


def test_moving_from_plaintext_to_keyring_removes_the_file(
    use_backend: Installer, agent_home: Path
) -> None:
    from keyring.backends import fail

    use_backend(fail.Keyring())
    save_credentials("default", CREDS, allow_plaintext=True)
    use_backend(MemorySecretService())
    save_credentials("default", CREDS)
    assert not files.plaintext_file("default").exists()
    assert stored_profile("default") is not None
    assert stored_profile("default").secret_store is SecretStore.KEYRING  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("backend", "code", "words"),
    [
        (LockedSecretService(), "KEYRING_LOCKED", "Unlock"),
        (DismissedSecretService(), "KEYRING_LOCKED", "dismissed"),
        (BrokenBusSecretService(), "KEYRING_UNAVAILABLE", "D-Bus"),
    ],
)
def test_keyring_failures_become_clear_errors_before_anything_is_written(
    use_backend: Installer, agent_home: Path, backend: MemorySecretService, code: str, words: str
) -> None:
    use_backend(backend)
    with pytest.raises(CredentialsError) as raised:
        plan_storage("default")
    assert raised.value.code == code
    assert words in raised.value.describe()
    with pytest.raises(CredentialsError):
        save_credentials("default", CREDS)
    assert not files.profile_file("default").exists()


def test_load_without_login_says_how_to_log_in(memory_keyring: MemorySecretService) -> None:
    with pytest.raises(CredentialsError) as raised:
        load_credentials("work")
    assert raised.value.code == "NOT_LOGGED_IN"
    assert "kompliant-agent login --profile work" in raised.value.describe()


def test_load_when_entries_vanished_from_the_keyring(
    memory_keyring: MemorySecretService,
) -> None:
    save_credentials("default", CREDS)
    memory_keyring.entries.clear()
    with pytest.raises(CredentialsError) as raised:
        load_credentials("default")
    assert raised.value.code == "SECRETS_MISSING"
    assert f"--api-key {API_KEY}" in raised.value.describe()


def test_load_when_keyring_disappeared_says_what_to_install(
    memory_keyring: MemorySecretService, use_backend: Installer
) -> None:
    save_credentials("default", CREDS)
    from keyring.backends import fail

    use_backend(fail.Keyring())
    with pytest.raises(CredentialsError, match="No secure keyring"):
        load_credentials("default")


def test_delete_is_idempotent_and_says_what_it_removed(
    memory_keyring: MemorySecretService,
) -> None:
    save_credentials("default", CREDS)
    removed = delete_credentials("default")
    assert len(removed) == 3
    assert any("secret key" in item for item in removed)
    assert any("auth token" in item for item in removed)
    assert any("profile file" in item for item in removed)
    assert memory_keyring.entries == {}
    assert not files.profile_file("default").exists()
    assert delete_credentials("default") == []


def test_delete_plaintext_profile_removes_the_file(no_keyring: object) -> None:
    save_credentials("default", CREDS, allow_plaintext=True)
    removed = delete_credentials("default")
    assert any("plaintext" in item for item in removed)
    assert not files.plaintext_file("default").exists()
    assert delete_credentials("default") == []


def test_delete_keeps_the_profile_when_its_keyring_is_unreachable(
    memory_keyring: MemorySecretService, use_backend: Installer
) -> None:
    save_credentials("default", CREDS)
    use_backend(LockedSecretService())
    with pytest.raises(CredentialsError, match="locked"):
        delete_credentials("default")
    assert files.profile_file("default").exists()  # so logout can be run again


@pytest.mark.parametrize(
    "bad",
    [
        Credentials(API_URL, API_KEY, "not base64!", AUTH_TOKEN),
        Credentials(API_URL, API_KEY, SECRET_KEY[:-4], AUTH_TOKEN),
        Credentials(API_URL, API_KEY, SECRET_KEY, ""),
        Credentials(API_URL, API_KEY, SECRET_KEY, AUTH_TOKEN + "\n"),
        Credentials(API_URL, "", SECRET_KEY, AUTH_TOKEN),
    ],
)
def test_invalid_values_are_refused_without_echoing_them(
    memory_keyring: MemorySecretService, bad: Credentials
) -> None:
    with pytest.raises(CredentialsError) as raised:
        save_credentials("default", bad)
    assert_no_secret(raised.value.describe())
    assert bad.secret_key not in raised.value.describe()
    assert memory_keyring.entries == {}


@pytest.mark.parametrize("name", ["../x", "", ".hidden", "a/b", "x" * 65])
def test_profile_names_stay_plain(memory_keyring: MemorySecretService, name: str) -> None:
    with pytest.raises(CredentialsError) as raised:
        save_credentials(name, CREDS)
    assert raised.value.code == "BAD_PROFILE"


def test_damaged_profile_file_is_reported_without_its_content(
    memory_keyring: MemorySecretService,
) -> None:
    save_credentials("default", CREDS, allow_plaintext=True)
    files.profile_file("default").write_text(f'api_url = "{SECRET_KEY}\n')
    with pytest.raises(CredentialsError) as raised:
        load_credentials("default")
    assert "damaged" in raised.value.describe()
    assert_no_secret(raised.value.describe())
