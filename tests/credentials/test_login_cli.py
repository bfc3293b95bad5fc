"""`kompliant-agent login / logout / whoami` with fake keyrings and a fake Kompliant check."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from agent.cli import exitcodes, main
from agent.cli import login as login_cli
from agent.credentials import files, load_credentials
from agent.errors import AuthError, NetworkError
from agent.kompliant.auth import Credentials
from agent.kompliant.models import VersionInfo
from agent.locations import locations
from tests.credentials.conftest import (
    API_KEY,
    API_URL,
    AUTH_TOKEN,
    SECRET_KEY,
    Installer,
    LockedSecretService,
    MemorySecretService,
)

LOGIN = ["login", "--api-url", API_URL, "--api-key", API_KEY]
SECRETS = f"{SECRET_KEY}\n{AUTH_TOKEN}\n"


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[Credentials]:
    """Kompliant accepts every credential set; the sets it was asked about are recorded."""
    seen: list[Credentials] = []

    def accept(credentials: Credentials) -> VersionInfo:
        seen.append(credentials)
        return VersionInfo("2025-03-24", "2025-03-24")

    monkeypatch.setattr(login_cli, "verify_credentials", accept)
    return seen


def pipe(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def login_piped(monkeypatch: pytest.MonkeyPatch, *options: str) -> int:
    """``login --stdin`` with the secret key and auth token piped in: its exit code."""
    pipe(monkeypatch, SECRETS)
    return main([*LOGIN, "--stdin", *options])


def test_login_with_stdin_checks_then_stores(
    memory_keyring: MemorySecretService,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert login_piped(monkeypatch) == exitcodes.OK
    expected = Credentials(API_URL, API_KEY, SECRET_KEY, AUTH_TOKEN)
    assert checked == [expected]
    assert load_credentials("default") == expected
    out, err = capsys.readouterr()
    assert "Logged in" in out and "system keyring" in out
    assert SECRET_KEY not in out + err and AUTH_TOKEN not in out + err


def test_login_with_hidden_prompt(
    memory_keyring: MemorySecretService, checked: list[Credentials], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([SECRET_KEY, AUTH_TOKEN])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("sys.stdin", FakeTty())
    monkeypatch.setattr(login_cli.getpass, "getpass", fake_getpass)
    assert main([*LOGIN, "--profile", "work"]) == exitcodes.OK
    assert prompts == ["Secret key (hidden): ", "Auth token (hidden): "]
    assert load_credentials("work").auth_token == AUTH_TOKEN


def test_rejected_credentials_save_nothing(
    memory_keyring: MemorySecretService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def reject(credentials: Credentials) -> VersionInfo:
        raise AuthError("Kompliant refused the signature", code="UNAUTHORIZED", http_status=401)

    monkeypatch.setattr(login_cli, "verify_credentials", reject)
    assert login_piped(monkeypatch) == exitcodes.CANNOT_SUCCEED
    err = capsys.readouterr().err
    assert "refused the signature" in err and "HTTP 401" in err
    assert "Nothing was saved" in err
    assert memory_keyring.entries == {}
    assert not files.profile_file("default").exists()


def test_unreachable_api_is_retry_later_and_saves_nothing(
    memory_keyring: MemorySecretService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def unreachable(credentials: Credentials) -> VersionInfo:
        raise NetworkError("Could not connect to 127.0.0.1:9")

    monkeypatch.setattr(login_cli, "verify_credentials", unreachable)
    assert login_piped(monkeypatch) == exitcodes.RETRY_LATER
    err = capsys.readouterr().err
    assert "Could not check the credentials" in err and "127.0.0.1:9" in err
    assert "Nothing was saved" in err and "retries by itself" not in err
    assert memory_keyring.entries == {}


def test_no_keyring_refuses_before_asking_kompliant(
    no_keyring: object,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert login_piped(monkeypatch) == exitcodes.CANNOT_SUCCEED
    assert checked == []
    err = capsys.readouterr().err
    assert "No secure keyring" in err and "--allow-plaintext" in err
    assert not files.profile_file("default").exists()


def test_locked_keyring_refuses_before_asking_kompliant(
    use_backend: Installer,
    agent_home: Path,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_backend(LockedSecretService())
    assert login_piped(monkeypatch) == exitcodes.CANNOT_SUCCEED
    assert checked == []
    assert "keyring is locked" in capsys.readouterr().err


def test_plaintext_opt_in_warns_loudly_on_stderr(
    no_keyring: object,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert login_piped(monkeypatch, "--allow-plaintext") == exitcodes.OK
    out, err = capsys.readouterr()
    assert "WARNING" in err and "UNENCRYPTED" in err
    assert str(files.plaintext_file("default")) in out
    assert load_credentials("default").secret_key == SECRET_KEY


@pytest.mark.parametrize("text", ["", f"{SECRET_KEY}\n", "\n\n"])
def test_stdin_needs_two_lines(
    memory_keyring: MemorySecretService,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
) -> None:
    pipe(monkeypatch, text)
    assert main([*LOGIN, "--stdin"]) == exitcodes.USAGE
    assert "two lines" in capsys.readouterr().err
    assert checked == []


def test_no_terminal_and_no_stdin_flag_is_a_usage_error(
    memory_keyring: MemorySecretService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pipe(monkeypatch, SECRETS)  # a pipe, not a terminal
    assert main(LOGIN) == exitcodes.USAGE
    assert "--stdin" in capsys.readouterr().err


def test_stdin_flag_at_a_terminal_is_refused_so_secrets_do_not_echo(
    memory_keyring: MemorySecretService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", FakeTty(SECRETS))
    assert main([*LOGIN, "--stdin"]) == exitcodes.USAGE
    assert "hidden prompt" in capsys.readouterr().err
    assert memory_keyring.entries == {}


def test_bad_api_url_is_a_usage_error(
    memory_keyring: MemorySecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe(monkeypatch, SECRETS)
    args = ["login", "--api-url", "api.kompliant.com", "--api-key", API_KEY, "--stdin"]
    assert main(args) == exitcodes.USAGE


@pytest.mark.parametrize("option", ["--secret-key", "--auth-token", "--secret", "--token"])
def test_secrets_are_never_accepted_as_arguments(option: str) -> None:
    with pytest.raises(SystemExit) as raised:
        main([*LOGIN, option, SECRET_KEY])
    assert raised.value.code == exitcodes.USAGE


def test_logout_says_what_it_removed_and_can_be_repeated(
    memory_keyring: MemorySecretService,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert login_piped(monkeypatch) == exitcodes.OK
    capsys.readouterr()
    assert main(["logout"]) == exitcodes.OK
    out = capsys.readouterr().out
    assert "secret key" in out and "auth token" in out and "profile file" in out
    assert memory_keyring.entries == {}
    assert main(["logout"]) == exitcodes.OK
    assert "nothing to remove" in capsys.readouterr().out


def test_whoami_shows_where_the_secrets_are_but_not_them(
    memory_keyring: MemorySecretService,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["whoami"]) == exitcodes.CANNOT_SUCCEED
    assert "kompliant-agent login" in capsys.readouterr().err
    login_piped(monkeypatch)
    capsys.readouterr()
    assert main(["whoami"]) == exitcodes.OK
    out = capsys.readouterr().out
    assert API_KEY in out and "system keyring" in out
    assert SECRET_KEY not in out and AUTH_TOKEN not in out


def test_plain_http_off_this_computer_is_the_agents_own_refusal(
    memory_keyring: MemorySecretService,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pipe(monkeypatch, SECRETS)
    args = ["login", "--api-url", "http://api.kompliant.com", "--api-key", API_KEY, "--stdin"]
    assert main(args) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert "kompliant-agent itself refuses" in err and "before asking Kompliant" in err
    assert "Kompliant did not accept" not in err
    assert "Use https://" in err and "127.0.0.1" in err
    assert checked == [] and memory_keyring.entries == {}


def test_login_logout_and_whoami_use_the_configured_profile_unless_told_otherwise(
    memory_keyring: MemorySecretService,
    checked: list[Credentials],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = locations().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[agent]\nprofile = "office"\n', encoding="utf-8")
    assert login_piped(monkeypatch) == exitcodes.OK
    assert "profile 'office'" in capsys.readouterr().out
    assert load_credentials("office") == Credentials(API_URL, API_KEY, SECRET_KEY, AUTH_TOKEN)
    assert main(["whoami"]) == exitcodes.OK
    assert "Profile 'office'" in capsys.readouterr().out
    # --profile wins over the configured one, as in every other command.
    assert main(["whoami", "--profile", "default"]) == exitcodes.CANNOT_SUCCEED
    assert "profile 'default'" in capsys.readouterr().err
    assert main(["logout"]) == exitcodes.OK
    assert "Logged out of profile 'office'" in capsys.readouterr().out
    assert memory_keyring.entries == {}
