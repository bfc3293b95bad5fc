"""A bug and a failing Kompliant, each said for what it is, with its own final note.

The engine runs in this process (a short retry policy, a patched pipeline for the bug)
against the sandbox over real HTTP on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.config import Config
from agent.engine.pipeline import Pipeline
from agent.engine.runner import Engine, EngineOptions, RunSummary
from agent.engine.status import Snapshot
from agent.kompliant.client import KompliantClient
from agent.logfile import log_file
from agent.owned_names import AGENT_OWNED
from agent.sandbox import RunningSandbox
from tests.engine.conftest import SHORT, bank
from tests.kit.sandbox import DEMO_SUBJECT, set_faults

PDF = b"%PDF-1.4 a statement\n%%EOF\n"


def run_once(config: Config, client: KompliantClient) -> tuple[RunSummary, list[Snapshot]]:
    """A statement into the bank folder and the engine run once: its summary and every
    snapshot it showed."""
    seen: list[Snapshot] = []
    (bank(config) / "statement.pdf").write_bytes(PDF)
    summary = Engine(
        config,
        client,
        options=EngineOptions(once=True, retry_policy=SHORT),
        on_snapshot=seen.append,
    ).run()
    return summary, seen


def note_of(config: Config) -> str:
    failed = bank(config) / AGENT_OWNED.failed_dir
    return (failed / ("statement.pdf" + AGENT_OWNED.error_suffix)).read_text(encoding="utf-8")


def test_a_bug_is_an_internal_error_asking_for_a_report_never_network_advice(
    client: KompliantClient, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Pipeline, *args: Any, **kw: Any) -> Any:
        raise KeyError("no such thing")

    monkeypatch.setattr(Pipeline, "run", broken)
    summary, seen = run_once(config, client)
    assert (summary.done, summary.failed) == (0, 1)
    said = [p for s in seen for p in s.problems if p.startswith("internal error")]
    assert said, [s.problems for s in seen]
    assert "KeyError" in said[0] and str(log_file()) in said[0] and "report" in said[0]
    assert any(s.state.value == "error" for s in seen if s.problems)
    note = note_of(config)
    assert "internal error" in note and "please report it" in note, note
    assert "network" not in note, note


def test_kompliant_answering_500_is_counted_and_ends_in_a_clear_failure(
    sandbox: RunningSandbox, client: KompliantClient, config: Config
) -> None:
    steps = [{"method": "document.create", "action": "http_500", "count": 100}]
    set_faults(sandbox, script=steps)
    summary, seen = run_once(config, client)
    assert (summary.done, summary.failed, summary.unsettled) == (0, 1, 0)
    said = [p for s in seen for p in s.problems if p.startswith("Kompliant answers errors")]
    assert said and "HTTP 500 from document.create" in said[0], [s.problems for s in seen]
    assert not any(s.offline for s in seen)  # it answers: never taken for offline
    note = note_of(config)
    assert "Kompliant answered HTTP 500 to document.create on each of 3 attempts" in note, note
    assert "Check the network" not in note
    assert [d for d in client.list_documents(DEMO_SUBJECT) if d.deleted_at is None] == []
