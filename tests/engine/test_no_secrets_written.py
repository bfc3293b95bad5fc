"""No file the agent writes holds the secret key, the auth token or a KSig1 signature.

A full one-shot ``upload`` and a ``run --once`` go through the sandbox with debug logging
(the most the log ever says); the sandbox records every Authorization header it was sent.
Then the whole agent home — log files, journal, config, status, receipts and error notes —
is searched for the secrets and for each signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import agent.sandbox.server as sandbox_server
from agent.logfile import LOG_FILE_NAME
from tests.conftest import DEMO_WORKFLOW, RD_BANK
from tests.engine.conftest import AgentHome, drop
from tests.kit.wait import wait_for

PDF = b"%PDF-1.4 statement for the secret test\n%%EOF\n"


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = sandbox_server.authenticate

    def recording(headers: Mapping[str, str], *args: Any, **kwargs: Any) -> Any:
        value = headers.get("authorization", "")
        if value:
            seen.append(value.split()[-1])
        return real(headers, *args, **kwargs)

    monkeypatch.setattr(sandbox_server, "authenticate", recording)
    return seen


def test_logs_journal_config_and_notes_hold_no_secret(
    agent_home: AgentHome, signatures: list[str], tmp_path: Path
) -> None:
    agent_home.write_config()
    workflow = agent_home.add_workflow()
    one_shot = tmp_path / "one-shot.pdf"
    one_shot.write_bytes(PDF + b" one-shot")
    done = agent_home.cli(
        "-v", "upload", str(one_shot), "--workflow", DEMO_WORKFLOW, "--requirement", RD_BANK
    )
    assert done.returncode == 0, done.stderr
    drop(workflow / "Bank statements", "statement.pdf", PDF)
    drop(workflow / "Bank statements", "notes.exe", b"not a document")
    run = agent_home.cli("-v", "run", "--once")
    assert run.returncode == 0, run.stderr
    wait_for(
        lambda: (
            (workflow / "Bank statements" / "done" / "statement.pdf").exists()
            and (workflow / "Bank statements" / "failed" / "notes.exe.error.txt").exists()
        ),
        what="both files settled",
    )
    log = agent_home.home / "logs" / LOG_FILE_NAME
    assert log.is_file()
    logged = log.read_text(encoding="utf-8")
    assert "run" in logged and "statement.pdf" in logged, logged[-2000:]
    assert len(signatures) > 5
    secrets = [
        agent_home.credentials.secret_key,
        agent_home.credentials.auth_token,
        "KSig1-HMAC-SHA256",
        *set(signatures),
    ]
    files = [p for p in agent_home.home.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    searched = {LOG_FILE_NAME, "journal.sqlite3", "config.toml", "status.json"}
    searched |= {"statement.pdf.receipt.txt", "notes.exe.error.txt"}
    assert searched <= names, names
    found = [
        (str(path), secret[:6])
        for path in files
        for secret in secrets
        if secret.encode() in path.read_bytes()
    ]
    assert found == []
    # the output on screen is clean too
    assert not [s for s in secrets if s in done.stdout + done.stderr + run.stdout + run.stderr]
