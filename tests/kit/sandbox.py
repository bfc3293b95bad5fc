"""The sandbox for the tests: a fixture, and plain-httpx calls to it.

- ``sandbox``: a running sandbox (demo fixture, fresh data folder), stopped after the test;
  its settings come from the ``sandbox_settings`` fixture (None: the defaults), which a
  test module overrides or parametrizes;
- ``demo_credentials``: the demo credential set pointed at it;
- ``sandbox_call(sandbox, method, body)``: a signed Kompliant call with the demo key, made
  with plain httpx so that the sandbox's tests do not depend on the agent's client;
- ``sandbox_admin(sandbox, path, body)``, ``sandbox_upload(document, content)`` and
  ``create_document(sandbox, …)``;
- ``set_faults(sandbox, …)``, ``sandbox_stats(sandbox)``, ``sandbox_state(sandbox)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.kompliant.auth import Credentials
from agent.sandbox import RunningSandbox, SandboxSettings, start_sandbox

# The demo fixture's ids (docs/architecture.md lists them).
DEMO_SUBJECT = "sr_DemoSubject000000000001"
OTHER_SUBJECT = "sr_OtherSubject00000000002"
DEMO_WORKFLOW = "w_DemoApplication000000001"
ENDED_WORKFLOW = "w_DemoEnded00000000000001"
OTHER_WORKFLOW = "w_OtherApplication0000001"
RD_BANK = "rd_BankStatements00000001"
RD_ADDRESS = "rd_ProofOfAddress0000001"
RD_ID = "rd_GovernmentId000000001"
RD_INACTIVE = "rd_OldTaxReturn00000001"
RD_ENDED = "rd_EndedBankStatement001"
RD_OTHER = "rd_OtherBankStatement001"

# One client for every helper: making an httpx.Client costs tens of milliseconds.
_http = httpx.Client(timeout=30)


@pytest.fixture
def sandbox_settings() -> SandboxSettings | None:
    """The sandbox's settings (None: its defaults); a test module may override this."""
    return None


@pytest.fixture
def sandbox(tmp_path: Path, sandbox_settings: SandboxSettings | None) -> Iterator[RunningSandbox]:
    """A running sandbox (demo fixture, fresh data folder), stopped after the test."""
    running = start_sandbox(tmp_path / "sandbox-data", settings=sandbox_settings)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def demo_credentials(sandbox: RunningSandbox) -> Credentials:
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    return credentials


def sandbox_call(
    sandbox: RunningSandbox,
    method: str,
    body: Mapping[str, Any] | None = None,
    *,
    credentials: Credentials | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST ``body`` to ``method``, signed with the demo key (or ``credentials``)."""
    creds = credentials or sandbox.demo_credentials()
    assert creds is not None
    request = httpx.Request(
        "POST", f"{sandbox.base_url}/{method}", json=dict(body or {}), headers=headers
    )
    signed = next(creds.auth().auth_flow(request))
    return _http.send(signed)


def sandbox_admin(
    sandbox: RunningSandbox, path: str, body: Mapping[str, Any] | None = None
) -> httpx.Response:
    """An admin request: POST with a body, GET without."""
    url = f"{sandbox.base_url}/_sandbox/{path}"
    if body is None:
        return _http.get(url)
    return _http.post(url, json=dict(body))


def sandbox_upload(document: Mapping[str, Any], content: bytes) -> httpx.Response:
    """Send ``content`` with the presigned form of a ``document.create`` answer."""
    fields = dict(document["presign_values"])
    files = {"file": ("upload", content, fields.get("Content-Type", "application/octet-stream"))}
    return _http.post(document["upload_url"], data=fields, files=files)


def create_document(
    sandbox: RunningSandbox,
    content: bytes = b"%PDF-1.4 demo",
    *,
    file_name: str = "statement.pdf",
    subject_record_id: str = DEMO_SUBJECT,
    upload: bool = True,
) -> str:
    """A document of the demo account, uploaded unless ``upload`` is False; its id."""
    answer = sandbox_call(
        sandbox,
        "document.create",
        {
            "subject_record_id": subject_record_id,
            "file_name": file_name,
            "file_size_in_bytes": len(content),
        },
    )
    assert answer.status_code == 200, answer.text
    document = answer.json()["data"]["document"]
    if upload:
        sent = sandbox_upload(document, content)
        assert sent.status_code == 204, sent.text
    return str(document["document_id"])


@pytest.fixture
def uploaded_document(sandbox: RunningSandbox) -> str:
    return create_document(sandbox)


def set_faults(sandbox: RunningSandbox, **settings: Any) -> None:
    """Change what goes wrong in the sandbox (POST /_sandbox/faults): rates, latency, a
    ``script`` of steps, upload-form settings."""
    answer = sandbox_admin(sandbox, "faults", settings)
    assert answer.status_code == 200, answer.text


def sandbox_stats(sandbox: RunningSandbox) -> dict[str, Any]:
    """Requests the sandbox answered, per method and status (GET /_sandbox/stats)."""
    answer = sandbox_admin(sandbox, "stats")
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def sandbox_state(sandbox: RunningSandbox) -> dict[str, Any]:
    """Everything the sandbox holds, deleted records included (GET /_sandbox/state)."""
    answer = sandbox_admin(sandbox, "state")
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data
