"""The agent as a real process: ``python -m agent …`` from this checkout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.kompliant.auth import Credentials
from agent.locations import HOME_ENV

REPO = Path(__file__).resolve().parents[2]


def credentials_env(credentials: Credentials) -> dict[str, str]:
    """The ``KOMPLIANT_*`` variables that hand ``credentials`` to a command."""
    return {
        "KOMPLIANT_API_URL": credentials.api_url,
        "KOMPLIANT_API_KEY": credentials.api_key,
        "KOMPLIANT_SECRET_KEY": credentials.secret_key,
        "KOMPLIANT_AUTH_TOKEN": credentials.auth_token,
    }


def agent_env(home: Path, credentials: Credentials) -> dict[str, str]:
    """This process's environment for an agent whose home is ``home`` and whose
    credentials are ``credentials``, running this checkout."""
    return {
        **os.environ,
        HOME_ENV: str(home),
        **credentials_env(credentials),
        "PYTHONPATH": str(REPO),
    }


def agent_cli(
    env: Mapping[str, str], *args: str, stdin: str | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """``python -m agent ARGS`` to its end, in ``env``, output captured; ``stdin``, when
    given, is piped in."""
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        input=stdin,
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class AgentProcess:
    """A long-running ``python -m agent run``; its output goes to ``log``."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the agent."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the agent's own clean exit (the test fails if it does not
        come); its exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the agent did not stop on SIGTERM:\n{self.output()}") from None


def start_agent(
    env: Mapping[str, str],
    log: Path,
    *args: str,
    command: str = "run",
    prefix: Sequence[str] = (),
) -> AgentProcess:
    """Start ``python -m agent run ARGS`` (behind ``prefix``, e.g. setpriv) with stdout and
    stderr in ``log``."""
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "agent", command, *args],
            env=dict(env),
            cwd=REPO,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    return AgentProcess(process, log)
