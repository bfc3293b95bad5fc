"""Fixtures shared by every test package.

- ``sandbox``: a running sandbox (demo fixture, fresh data folder), stopped after the test;
- ``demo_credentials``: the demo credential set pointed at it;
- ``sandbox_call(sandbox, method, body)``: a signed Kompliant call with the demo key, made
  with plain httpx so that the sandbox's tests do not depend on the agent's client;
- ``sandbox_admin(sandbox, path, body)`` and ``sandbox_upload(document, content)``.

Every test gets its own ``KOMPLIANT_AGENT_HOME``, so nothing touches a user's folders.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.kompliant.auth import Credentials
from agent.locations import HOME_ENV
from agent.sandbox import RunningSandbox, start_sandbox

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


@pytest.fixture(autouse=True)
def _agent_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path_factory.mktemp("agent-home")))


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path / "sandbox-data")
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


@contextlib.contextmanager
def small_tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """A real, small file system (tmpfs of ``size``, e.g. ``2m``) at ``mount_point``, for
    full-disk cases; the test is skipped where it cannot be mounted (needs root)."""
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)
