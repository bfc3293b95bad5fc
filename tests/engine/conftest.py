"""Helpers for the engine's end-to-end tests: the agent as a real process against the sandbox.

- ``agent_home`` (:class:`AgentHome`): a fresh ``KOMPLIANT_AGENT_HOME`` with the demo
  credentials in the environment, small stability settings in the config, and helpers to
  add workflows, run ``python -m agent …`` as a subprocess (``cli``), start a long-running
  ``run`` (``start``), and look at the folders;
- ``wait_for(condition, …)`` (:mod:`tests.kit.wait`): a bounded polling wait for a
  condition, never a fixed sleep;
- ``Kompliant`` reads the sandbox back through its API with the agent's own client
  (document.list, fulfillment.list);
- for the engine run in the test's own process (a retry policy of the test's choosing,
  a patched step): a quick ``client``, the demo workflow's ``config`` under a fresh root,
  its :func:`bank` folder and a :data:`SHORT` retry policy.
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

from agent.config import AgentSettings, Config
from agent.decide import add_workflow
from agent.engine.control import request_refresh, set_paused
from agent.engine.retry_policy import RetryPolicy
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import Document, Fulfillment
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.locations import HOME_ENV, locations
from agent.owned_names import AGENT_OWNED
from agent.sandbox import RunningSandbox
from agent.watch.stability import StabilitySettings
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
#: Three tries, a few hundredths of a second apart (an engine run in the test's process).
SHORT = RetryPolicy(base_seconds=0.05, cap_seconds=0.2, max_attempts=3)


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


# -- the engine in the test's own process ------------------------------------------------


@pytest.fixture
def client(demo_credentials: Credentials) -> Iterator[KompliantClient]:
    pacer = Pacer(PacerPolicy(base=0.01, cap=0.05, max_elapsed=2.0))
    with KompliantClient(demo_credentials, timeout=10.0, pacer=pacer) as made:
        yield made


@pytest.fixture
def config(client: KompliantClient, tmp_path: Path) -> Config:
    """The demo workflow's folders under a fresh root, finished-file waits kept short."""
    base = Config(
        agent=AgentSettings(root=tmp_path / "Kompliant", workers=1),
        stability=StabilitySettings(quiet_seconds=0.3, close_confirm_seconds=0.1),
    )
    configured, _ = add_workflow(client, base, DEMO_WORKFLOW, LABEL)
    return configured


def bank(config: Config) -> Path:
    """The demo workflow's Bank statements folder under ``config``'s root."""
    return config.root / DEMO_FOLDER / "Bank statements"
