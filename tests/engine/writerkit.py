"""A running agent for the real-writer and bad-content tests, and the checks they end with.

:meth:`Run.one_document` is the end every real write pattern must reach: the whole file
once in done/ (its receipt giving its size and SHA-256), exactly one live COMPLETED
document of that name on Kompliant with that SHA-256, nothing in failed/, the agent up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.owned_names import AGENT_OWNED
from tests.engine.badkit import Outcome, RunningAgent, started, wait_outcome
from tests.engine.conftest import AgentHome, Kompliant
from tests.kit.sandbox import sandbox_stats

RECEIPT = AGENT_OWNED.receipt_suffix


@dataclass
class Run(RunningAgent):
    @property
    def staging(self) -> Path:
        path = self.home.home / "staging"
        path.mkdir(exist_ok=True)
        return path

    def outcome(self, name: str, *, folder: Path | None = None, timeout: float = 60.0) -> Outcome:
        return wait_outcome(self.agent, folder or self.bank, name, timeout=timeout)

    def creates(self) -> int:
        stats: dict[str, Any] = sandbox_stats(self.home.sandbox)
        return int(stats["methods"].get("document.create", 0))

    def one_document(self, name: str, content: bytes, *, folder: Path | None = None) -> None:
        """The whole file reached done/ once, and Kompliant holds exactly it, once."""
        where = folder or self.bank
        found = self.outcome(name, folder=where)
        assert found.kind == "done", found.note
        stored = found.path.read_bytes()
        sha = hashlib.sha256(stored).hexdigest()
        assert stored == content, f"done/ holds {len(stored)} of {len(content)} bytes"
        assert f"SHA-256: {sha}" in found.note and f"Size: {len(stored)} bytes" in found.note
        (document,) = self.live(name)
        assert (document.upload_status, document.hash) == ("COMPLETED", sha)
        assert document.document_id in found.note
        assert not (where / "failed").exists() or not any((where / "failed").iterdir())
        stem = name.rsplit(".", 1)[0]
        others = [p.name for p in (where / "done").iterdir() if p.name.startswith(stem)]
        assert sorted(others) == [name, name + RECEIPT]  # no second, numbered copy
        assert self.alive()


def start(agent_home: AgentHome, kompliant: Kompliant, **config: Any) -> Run:
    return started(Run, agent_home, kompliant, **config)
