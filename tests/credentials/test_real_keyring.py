"""Login, use and logout on the REAL Secret Service (gnome-keyring over D-Bus).

``python3 scripts/dev.py test`` runs the suite inside ``dbus-run-session`` with an
unlocked throwaway gnome-keyring. Elsewhere these tests skip, unless
KOMPLIANT_REQUIRE_KEYRING=1 (CI), where a missing Secret Service is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.credentials import files, resolve_credentials
from agent.credentials.environment import ENV_VARIABLES
from agent.credentials.keyring_store import service_name
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from tests.kit.agent import agent_cli
from tests.kit.sandbox import DEMO_WORKFLOW

pytestmark = pytest.mark.keyring

REQUIRED = os.environ.get("KOMPLIANT_REQUIRE_KEYRING") == "1"


def _secret_service_problem() -> str | None:
    """Why the Secret Service cannot be used in this process, or None when it can."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session (run the tests with `python3 scripts/dev.py test`)"
    if shutil.which("secret-tool") is None:
        return "secret-tool is missing (apt-get install libsecret-tools)"
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 - raises with the reason
    except Exception as error:
        return f"Secret Service not usable: {error}"
    return None


def _require(problem: str | None) -> None:
    if problem is None:
        return
    if REQUIRED:
        pytest.fail(f"KOMPLIANT_REQUIRE_KEYRING=1 but {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def secret_service() -> None:
    _require(_secret_service_problem())


@pytest.fixture
def agent_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """An agent home of its own, for this process and the commands it starts."""
    home = tmp_path / "agent-home"
    monkeypatch.setenv("KOMPLIANT_AGENT_HOME", str(home))
    env = dict(os.environ)
    for name in (*ENV_VARIABLES, "PYTHON_KEYRING_BACKEND"):
        env.pop(name, None)
        monkeypatch.delenv(name, raising=False)
    yield env


def agent(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return agent_cli(env, *args, stdin=stdin, timeout=120)


def lookup(service: str, entry: str) -> subprocess.CompletedProcess[str]:
    """What another program sees in the keyring (libsecret's command-line tool)."""
    return subprocess.run(
        ["secret-tool", "lookup", "service", service, "username", entry],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def login_args(credentials: Credentials, profile: str) -> list[str]:
    return [
        "login",
        "--stdin",
        "--profile",
        profile,
        "--api-url",
        credentials.api_url,
        "--api-key",
        credentials.api_key,
    ]


def test_login_use_logout_round_trip(
    secret_service: None, sandbox: object, demo_credentials: Credentials, agent_env: dict[str, str]
) -> None:
    secrets = f"{demo_credentials.secret_key}\n{demo_credentials.auth_token}\n"
    done = agent(login_args(demo_credentials, "ci"), agent_env, secrets)
    assert done.returncode == 0, done.stderr
    assert "system keyring" in done.stdout
    for text in (done.stdout, done.stderr):
        assert demo_credentials.secret_key not in text
        assert demo_credentials.auth_token not in text

    # Another program sees the entries where the agent said they are.
    service = service_name("ci", agent_env["KOMPLIANT_AGENT_HOME"])
    assert lookup(service, "secret_key").stdout == demo_credentials.secret_key
    assert lookup(service, "auth_token").stdout == demo_credentials.auth_token
    profile_text = files.profile_file("ci").read_text()
    assert demo_credentials.secret_key not in profile_text
    assert demo_credentials.auth_token not in profile_text

    # A call made with the stored credentials works.
    stored = resolve_credentials("ci")
    assert stored == demo_credentials
    with KompliantClient(stored) as client:
        assert client.check_version().current_version
        assert client.get_workflow(DEMO_WORKFLOW).workflow_id == DEMO_WORKFLOW

    done = agent(["logout", "--profile", "ci"], agent_env)
    assert done.returncode == 0, done.stderr
    assert "secret key" in done.stdout and "auth token" in done.stdout
    for entry in ("secret_key", "auth_token"):
        gone = lookup(service, entry)
        assert gone.returncode != 0 and gone.stdout == ""
    assert not files.profile_file("ci").exists()
    again = agent(["logout", "--profile", "ci"], agent_env)
    assert again.returncode == 0 and "nothing to remove" in again.stdout


def test_rejected_credentials_leave_the_keyring_untouched(
    secret_service: None, sandbox: object, demo_credentials: Credentials, agent_env: dict[str, str]
) -> None:
    wrong_token = demo_credentials.auth_token[::-1]
    done = agent(
        login_args(demo_credentials, "wrong"),
        agent_env,
        f"{demo_credentials.secret_key}\n{wrong_token}\n",
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "Nothing was saved" in done.stderr
    assert wrong_token not in done.stderr
    service = service_name("wrong", agent_env["KOMPLIANT_AGENT_HOME"])
    assert lookup(service, "secret_key").stdout == ""
    assert not files.profile_file("wrong").exists()


LOCK_DEFAULT_COLLECTION = (
    "import secretstorage; "
    "c = secretstorage.get_default_collection(secretstorage.dbus_init()); c.lock(); "
    "assert c.is_locked()"
)


def test_locked_keyring_is_a_clear_error(
    demo_credentials: Credentials, tmp_path: Path, agent_env: dict[str, str]
) -> None:
    """A keyring of its own, unlocked then locked, in a D-Bus session of its own."""
    tools = [shutil.which(t) for t in ("dbus-run-session", "gnome-keyring-daemon")]
    _require(None if all(tools) else "dbus-run-session / gnome-keyring-daemon not installed")
    home = tmp_path / "user"
    runtime = home / "run"
    for folder in (home / ".cache", home / ".local" / "share", runtime):
        folder.mkdir(parents=True)
    runtime.chmod(0o700)
    env = dict(agent_env, HOME=str(home), XDG_RUNTIME_DIR=str(runtime), PW="throwaway")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        env.pop(name, None)  # no unlock prompt can appear, nor the outer session be used
    script = (
        'echo -n "$PW" | gnome-keyring-daemon --unlock --components=secrets >/dev/null\n'
        f'"{sys.executable}" -c "{LOCK_DEFAULT_COLLECTION}"\n'
        f'exec "{sys.executable}" -m agent "$@"\n'
    )
    done = subprocess.run(
        [
            "dbus-run-session",
            "--",
            "bash",
            "-c",
            script,
            "bash",
            *login_args(demo_credentials, "locked"),
        ],
        input=f"{demo_credentials.secret_key}\n{demo_credentials.auth_token}\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "the keyring is locked" in done.stderr
    assert "Unlock it" in done.stderr
    assert not files.profile_file("locked").exists()


def test_no_dbus_session_refuses_with_the_fix(
    demo_credentials: Credentials, agent_env: dict[str, str]
) -> None:
    """Without a D-Bus session keyring falls back to fail.Keyring: login must refuse."""
    env = dict(agent_env)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    done = agent(
        login_args(demo_credentials, "nobus"),
        env,
        f"{demo_credentials.secret_key}\n{demo_credentials.auth_token}\n",
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "keyring" in done.stderr and "--allow-plaintext" in done.stderr
    assert not files.profile_file("nobus").exists()
