"""`setup` without questions (flags only) and at a real terminal (pexpect)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from agent.config import load_config
from agent.kompliant.auth import Credentials
from agent.locations import HOME_ENV, locations
from tests.conftest import DEMO_SUBJECT, DEMO_WORKFLOW, ENDED_WORKFLOW, OTHER_WORKFLOW
from tests.kit.agent import REPO, agent_cli, credentials_env


def agent_env(tmp_path: Path, credentials: Credentials | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KOMPLIANT_") or k == "KOMPLIANT_REQUIRE_KEYRING"
    }
    env.update(
        {HOME_ENV: os.environ[HOME_ENV], "PYTHONPATH": str(REPO), "HOME": str(tmp_path / "home")}
    )
    env.pop("XDG_CONFIG_HOME", None)
    if credentials is not None:
        env.update(credentials_env(credentials))
    return env


def setup(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return agent_cli(env, "setup", *args, stdin=stdin)


def workflow_ids() -> list[str]:
    return [w.workflow_id for w in load_config().workflows]


def test_non_interactive_with_environment_credentials_and_workflow_ids(
    tmp_path: Path, demo_credentials: Credentials
) -> None:
    env = agent_env(tmp_path, demo_credentials)
    done = setup(env, "--workflow", DEMO_WORKFLOW, "--no-autostart", "--non-interactive")
    assert done.returncode == 0, done.stderr
    assert "KOMPLIANT_* environment" in done.stdout
    assert workflow_ids() == [DEMO_WORKFLOW]
    folder = locations().documents_dir / "Kompliant"
    assert any(DEMO_WORKFLOW in p.name for p in folder.iterdir())
    assert not (tmp_path / "home" / ".config" / "autostart").exists()


def test_non_interactive_subject_adds_its_workflows_that_have_not_ended(
    tmp_path: Path, demo_credentials: Credentials
) -> None:
    env = agent_env(tmp_path, demo_credentials)
    done = setup(env, "--subject", DEMO_SUBJECT, "--autostart", "--non-interactive")
    assert done.returncode == 0, done.stderr
    assert DEMO_WORKFLOW in workflow_ids()
    assert ENDED_WORKFLOW not in workflow_ids()
    assert OTHER_WORKFLOW not in workflow_ids()
    autostart = tmp_path / "home" / ".config"
    assert list(autostart.rglob("kompliant-agent.*")), done.stdout


def test_non_interactive_sign_in_with_stdin_secrets(
    tmp_path: Path, demo_credentials: Credentials
) -> None:
    env = agent_env(tmp_path)
    secrets = f"{demo_credentials.secret_key}\n{demo_credentials.auth_token}\n"
    args = ["--api-url", demo_credentials.api_url, "--api-key", demo_credentials.api_key]
    done = setup(env, *args, "--stdin", "--allow-plaintext", "--no-autostart", stdin=secrets)
    assert done.returncode == 0, done.stderr
    assert "Signed in: API key" in done.stdout
    # signed in for good: a second setup finds the stored profile and asks nothing
    again = setup(env, "--non-interactive", "--no-autostart")
    assert again.returncode == 0, again.stderr
    assert "profile 'default'" in again.stdout


def test_non_interactive_without_credentials_is_a_usage_error(tmp_path: Path) -> None:
    done = setup(agent_env(tmp_path), "--non-interactive")
    assert done.returncode == 2
    assert "--api-url URL --api-key KEY" in done.stderr


def test_wrong_secrets_are_refused_and_nothing_is_saved(
    tmp_path: Path, demo_credentials: Credentials
) -> None:
    env = agent_env(tmp_path)
    secrets = f"{demo_credentials.secret_key}\n{'z' * 40}\n"
    args = ["--api-url", demo_credentials.api_url, "--api-key", demo_credentials.api_key]
    done = setup(env, *args, "--stdin", "--allow-plaintext", stdin=secrets)
    assert done.returncode == 4, done.stdout
    assert "z" * 40 not in done.stdout + done.stderr
    assert not (locations().config_dir / "profiles").exists() or not any(
        (locations().config_dir / "profiles").iterdir()
    )


@pytest.mark.timeout(120)
def test_interactive_walk_through(tmp_path: Path, demo_credentials: Credentials) -> None:
    env = agent_env(tmp_path)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agent", "setup", "--allow-plaintext"],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=30,
    )
    transcript = (tmp_path / "session.txt").open("w")
    child.logfile_read = transcript
    child.expect("Kompliant API URL")
    child.sendline(demo_credentials.api_url)
    child.expect("API key")
    child.sendline(demo_credentials.api_key)
    child.expect(r"Secret key \(hidden\)")
    child.sendline(demo_credentials.secret_key)
    child.expect(r"Auth token \(hidden\)")
    child.sendline(demo_credentials.auth_token)
    child.expect("Signed in: API key")
    child.expect("Subject record ids")
    child.sendline(DEMO_SUBJECT)
    child.expect(f"1. {DEMO_WORKFLOW}")
    child.expect("Which ones")
    child.sendline("1")
    child.expect("when you log in")
    child.sendline("n")
    child.expect("Setup done")
    child.expect(pexpect.EOF)
    child.close()
    transcript.close()
    assert child.exitstatus == 0
    assert workflow_ids() == [DEMO_WORKFLOW]
    session = (tmp_path / "session.txt").read_text()
    # hidden prompts: the secrets were typed, never shown
    assert demo_credentials.secret_key not in session
    assert demo_credentials.auth_token not in session
