"""Helpers for the engine's end-to-end tests: the agent as a real process against the sandbox.

- ``agent_home`` (:class:`AgentHome`): a fresh ``KOMPLIANT_AGENT_HOME`` with the demo
  credentials in the environment, small stability settings in the config, and helpers to
  add workflows, run ``python -m agent …`` as a subprocess (``cli``), start a long-running
  ``run`` (``start``), and look at the folders;
- ``wait_for(condition, …)`` (:mod:`tests.kit.wait`): a bounded polling wait for a
  condition, never a fixed sleep;
- ``Kompliant`` reads the sandbox back through its API with the agent's own client
  (document.list, fulfillment.list).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.engine.control import request_refresh, set_paused
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import Document, Fulfillment
from agent.locations import HOME_ENV, locations
from agent.owned_names import AGENT_OWNED
from agent.sandbox import RunningSandbox
from tests.conftest import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    RD_ADDRESS,
    RD_BANK,
    RD_ID,
    RD_INACTIVE,
)
from tests.kit.agent import AgentProcess, agent_cli, agent_env, start_agent
from tests.kit.wait import wait_for

LABEL = "Demo Ltd"
DEMO_FOLDER = f"{LABEL} ({DEMO_WORKFLOW})"
ALL_RDS = (RD_BANK, RD_ADDRESS, RD_ID, RD_INACTIVE)


def files_in(folder: Path) -> list[str]:
    """Names of the plain files in ``folder`` (hidden ones too), sorted; [] when missing."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def documents_in(folder: Path) -> list[str]:
    """Visible files in ``folder`` that are not the agent's notes, notices or markers."""
    return [
        n
        for n in files_in(folder)
        if not n.startswith((".", "_")) and not n.endswith(AGENT_OWNED.sidecar_suffixes)
    ]


@dataclass
class Kompliant:
    """The sandbox as the tests read it back: through the API, with the agent's client."""

    client: KompliantClient

    def documents(self, subject_record_id: str = DEMO_SUBJECT) -> list[Document]:
        return self.client.list_documents(subject_record_id)

    def fulfillments(self, required_document_id: str) -> list[Fulfillment]:
        return self.client.list_fulfillments(required_document_id)

    def all_fulfillments(self, rds: Sequence[str] = ALL_RDS) -> dict[str, list[Fulfillment]]:
        return {rd: self.fulfillments(rd) for rd in rds}

    def fulfillment_count(self, rds: Sequence[str] = ALL_RDS) -> int:
        return sum(len(f) for f in self.all_fulfillments(rds).values())


@dataclass
class AgentHome:
    """One agent installation in a temporary ``KOMPLIANT_AGENT_HOME``."""

    home: Path
    sandbox: RunningSandbox
    credentials: Credentials
    env: dict[str, str]
    running: list[AgentProcess] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.home / "documents" / "Kompliant"

    @property
    def workflow(self) -> Path:
        return self.root / DEMO_FOLDER

    def folder(self, name: str, workflow: Path | None = None) -> Path:
        return (workflow or self.workflow) / name

    @property
    def state_dir(self) -> Path:
        return locations().profile_state("default")

    @property
    def config_file(self) -> Path:
        return self.home / "config" / "config.toml"

    # -- config and folders ------------------------------------------------------------

    def write_config(
        self,
        *,
        workflows: str = "",
        agent: Mapping[str, Any] | None = None,
        quiet_seconds: float = 0.3,
        close_confirm_seconds: float = 0.1,
        max_wait_seconds: float = 30.0,
        incomplete_seconds: float = 600.0,
        polling: bool | None = None,
    ) -> None:
        """A config with small stability settings; ``workflows`` is raw TOML appended."""
        settings: dict[str, Any] = {"workers": 2}
        settings.update(agent or {})
        lines = ["[agent]"] + [f"{k} = {_toml(v)}" for k, v in settings.items()]
        lines += [
            "",
            "[stability]",
            f"quiet_seconds = {quiet_seconds}",
            f"close_confirm_seconds = {close_confirm_seconds}",
            f"max_wait_seconds = {max_wait_seconds}",
            f"incomplete_seconds = {incomplete_seconds}",
            "poll_interval = 0.2",
            *([] if polling is None else [f"polling = {_toml(polling)}"]),
            "",
            workflows,
        ]
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text("\n".join(lines), encoding="utf-8")

    def add_workflow(self, workflow_id: str = DEMO_WORKFLOW, label: str = LABEL) -> Path:
        """``add-workflow`` (as a subprocess); the workflow's folder."""
        done = self.cli("add-workflow", workflow_id, "--label", label)
        assert done.returncode == 0, done.stderr
        return self.root / f"{label} ({workflow_id})"

    # -- processes ---------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``python -m agent ARGS`` to its end."""
        return agent_cli(self.env, *args, timeout=timeout)

    def run_once(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.cli("run", "--once", *extra)

    def start(self, *extra: str, wait: bool = True, prefix: Sequence[str] = ()) -> AgentProcess:
        """A long-running ``run`` (behind ``prefix``, e.g. setpriv); with ``wait``, returns
        once it watches (status.json)."""
        log = self.home / f"agent-{len(self.running)}.log"
        agent = start_agent(self.env, log, *extra, prefix=prefix)
        self.running.append(agent)
        if wait:
            wait_for(
                lambda: "watching" in agent.output() and self.status_file().get("pid"),
                what="the agent to start watching",
                process=agent.process,
            )
        return agent

    def status_file(self) -> dict[str, Any]:
        """The running agent's status.json ({} when there is none)."""
        try:
            data: dict[str, Any] = json.loads(
                (self.state_dir / "status.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return {}
        return data

    def status(self) -> dict[str, Any]:
        """``status --json`` (as a subprocess)."""
        done = self.cli("status", "--json")
        assert done.returncode == 0, done.stderr
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    def pause(self, paused: bool) -> None:
        set_paused(self.state_dir, paused)

    def request_refresh(self) -> None:
        request_refresh(self.state_dir)

    def secrets_found(self) -> list[str]:
        """Files under the home (logs, notes, journal, status) holding the secret key or token."""
        secrets = [self.credentials.secret_key.encode(), self.credentials.auth_token.encode()]
        return [
            str(path)
            for path in self.home.rglob("*")
            if path.is_file() and any(secret in path.read_bytes() for secret in secrets)
        ]

    def stop_all(self) -> None:
        for agent in self.running:
            agent.kill()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def drop(folder: Path, name: str, content: bytes) -> Path:
    """Write a file the way a person saving it would: written, then closed."""
    path = folder / name
    path.write_bytes(content)
    return path


@pytest.fixture
def agent_home(sandbox: RunningSandbox) -> Iterator[AgentHome]:
    home = Path(os.environ[HOME_ENV])
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    env = agent_env(home, credentials)
    installed = AgentHome(home=home, sandbox=sandbox, credentials=credentials, env=env)
    try:
        yield installed
    finally:
        installed.stop_all()


@pytest.fixture
def kompliant(sandbox: RunningSandbox) -> Iterator[Kompliant]:
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    with KompliantClient(credentials) as client:
        yield Kompliant(client)
