"""A client with the demo credentials for the shared ``sandbox`` fixture, and test helpers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import Document
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.sandbox import RunningSandbox, start_sandbox
from agent.sandbox.server import SandboxSettings
from tests.conftest import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    ENDED_WORKFLOW,
    RD_ADDRESS,
    RD_BANK,
    RD_ENDED,
    RD_INACTIVE,
)
from tests.kit.clock import FakeClock
from tests.kit.sandbox import set_faults

SUBJECT = DEMO_SUBJECT
WORKFLOW = DEMO_WORKFLOW
BANK = RD_BANK
ADDRESS = RD_ADDRESS
INACTIVE = RD_INACTIVE
ENDED_RD = RD_ENDED
__all__ = ["ENDED_WORKFLOW"]


def start(tmp_path: Path, settings: SandboxSettings | None = None) -> RunningSandbox:
    return start_sandbox(tmp_path / "sandbox-data", settings=settings)


def quick_client(credentials: Credentials) -> KompliantClient:
    pacer = Pacer(PacerPolicy(base=0.01, cap=0.05, max_elapsed=2.0))
    return KompliantClient(credentials, timeout=10.0, pacer=pacer)


@pytest.fixture
def client(demo_credentials: Credentials) -> Iterator[KompliantClient]:
    with quick_client(demo_credentials) as c:
        yield c


@pytest.fixture
def expiring_forms(tmp_path: Path) -> Iterator[tuple[KompliantClient, FakeClock]]:
    """A client to a sandbox of its own whose upload forms live one second on ``clock``
    (moving the clock on expires them)."""
    clock = FakeClock(time.time())
    sandbox = start(tmp_path, SandboxSettings(clock=clock))
    try:
        credentials = sandbox.demo_credentials()
        assert credentials is not None
        set_faults(sandbox, form_lifetime=1)
        with quick_client(credentials) as client:
            yield client, clock
    finally:
        sandbox.stop()


def live_documents(client: KompliantClient) -> list[Document]:
    return [d for d in client.list_documents(SUBJECT) if d.deleted_at is None]
