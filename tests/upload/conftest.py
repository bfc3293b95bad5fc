"""A sandbox per test (real HTTP on loopback) and a client with the demo credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import Document
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.sandbox.server import RunningSandbox, SandboxSettings, start_sandbox

SUBJECT = "sr_DemoSubject000000000001"
WORKFLOW = "w_DemoApplication000000001"
BANK = "rd_BankStatements00000001"
ADDRESS = "rd_ProofOfAddress0000001"
INACTIVE = "rd_OldTaxReturn00000001"
ENDED_WORKFLOW = "w_DemoEnded00000000000001"
ENDED_RD = "rd_EndedBankStatement001"


class FakeWallClock:
    """The sandbox's clock, moved by the test instead of by waiting."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def start(tmp_path: Path, settings: SandboxSettings | None = None) -> RunningSandbox:
    return start_sandbox(tmp_path / "sandbox-data", settings=settings)


@pytest.fixture
def upload_sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    sandbox = start(tmp_path)
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def credentials(upload_sandbox: RunningSandbox) -> Credentials:
    creds = upload_sandbox.demo_credentials()
    assert creds is not None
    return creds


def quick_client(credentials: Credentials) -> KompliantClient:
    pacer = Pacer(PacerPolicy(base=0.01, cap=0.05, max_elapsed=2.0))
    return KompliantClient(credentials, timeout=10.0, pacer=pacer)


@pytest.fixture
def client(credentials: Credentials) -> Iterator[KompliantClient]:
    with quick_client(credentials) as c:
        yield c


def set_faults(sandbox: RunningSandbox, body: dict[str, Any]) -> None:
    response = httpx.post(f"{sandbox.base_url}/_sandbox/faults", json=body, timeout=5)
    assert response.status_code == 200, response.text


def live_documents(client: KompliantClient) -> list[Document]:
    return [d for d in client.list_documents(SUBJECT) if d.deleted_at is None]
