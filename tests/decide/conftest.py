"""An isolated agent home, a root folder and the fake Kompliant for the decide tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import AgentSettings, Config
from agent.kompliant.auth import Credentials
from tests.decide.fakes import FakeKompliant
from tests.kit.home import isolated_home


@pytest.fixture(autouse=True)
def agent_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolated_home(monkeypatch, tmp_path / "home")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "Kompliant"


@pytest.fixture
def config(root: Path) -> Config:
    return Config(agent=AgentSettings(root=root))


@pytest.fixture
def kompliant() -> FakeKompliant:
    return FakeKompliant()


@pytest.fixture
def live_sandbox(tmp_path: Path) -> Iterator[Credentials]:
    """The real sandbox on loopback with the demo fixture; yields its demo credentials."""
    from agent.sandbox.server import start_sandbox

    running = start_sandbox(tmp_path / "sandbox")
    try:
        credentials = running.demo_credentials()
        assert credentials is not None
        yield credentials
    finally:
        running.stop()
