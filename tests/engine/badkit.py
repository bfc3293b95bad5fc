"""Helpers for the bad-input catalogue (tests/engine/test_bad_input.py) and the real-writer
and bad-content tests (tests/engine/writerkit.py).

A long-running agent against the sandbox (:class:`RunningAgent`, :func:`started`), files
dropped into its folders, and bounded waits for each file's outcome: ``done/`` with a
receipt or ``failed/`` with a note. Every case also checks that the agent is still
running afterwards.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from agent.kompliant.models import Document
from agent.owned_names import AGENT_OWNED
from tests.engine.conftest import AgentHome, Kompliant
from tests.kit.agent import AgentProcess
from tests.kit.notes import went_wrong
from tests.kit.wait import wait_for

# The capabilities that let root read and write whatever the permissions say; without
# them root meets permission bits like any other user.
DAC_CAPS = "-dac_override,-dac_read_search,-fowner"


@dataclass
class RunningAgent:
    """A running agent with the demo workflow: its home, its process, and Kompliant read
    back through the API."""

    home: AgentHome
    agent: AgentProcess
    kompliant: Kompliant

    @property
    def bank(self) -> Path:
        return self.home.folder("Bank statements")

    def alive(self) -> bool:
        return self.agent.process.poll() is None

    def live(self, name: str | None = None) -> list[Document]:
        """The documents not deleted (called ``name``, if given), read one by one
        (document.list does not carry their hashes)."""
        listed = [
            d
            for d in self.kompliant.documents()
            if d.deleted_at is None and (name is None or d.file_name == name)
        ]
        return [self.kompliant.client.get_document(d.document_id) for d in listed]


R = TypeVar("R", bound=RunningAgent)


def started(kind: type[R], home: AgentHome, kompliant: Kompliant, **config: Any) -> R:
    """The config written (``config``: :meth:`AgentHome.write_config`'s settings), the demo
    workflow added and the agent started, as a ``kind``."""
    home.write_config(**config)
    home.add_workflow()
    return kind(home, home.start(), kompliant)


@dataclass(frozen=True)
class Outcome:
    """Where a file ended: ``done`` or ``failed``, its path and its sidecar's text."""

    kind: str
    path: Path
    note: str

    def what(self) -> str:
        """The note's "What went wrong" line."""
        return went_wrong(self.note)

    def todo(self) -> str:
        """The note's "What to do" paragraph."""
        return self.note.split("What to do:", 1)[1].strip()


def settled(folder: Path, name: str) -> Outcome | None:
    """The outcome of ``name`` dropped in ``folder``, once it has its sidecar."""
    for kind, suffix in (
        (AGENT_OWNED.done_dir, AGENT_OWNED.receipt_suffix),
        (AGENT_OWNED.failed_dir, AGENT_OWNED.error_suffix),
    ):
        path = folder / kind / name
        sidecar = path.with_name(name + suffix)
        if path.exists() or path.is_symlink():
            try:
                return Outcome(kind, path, sidecar.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return None
    return None


def wait_outcome(agent: AgentProcess, folder: Path, name: str, *, timeout: float = 30.0) -> Outcome:
    """Wait (bounded) for ``name`` to reach done/ or failed/; the agent must stay up."""
    found = wait_for(
        lambda: settled(folder, name),
        timeout=timeout,
        what=f"{name} to reach done/ or failed/",
        process=agent.process,
    )
    assert agent.process.poll() is None, agent.output()
    return found


def start_without_dac(home: AgentHome) -> AgentProcess:
    """A running agent as root without the capabilities that bypass file permissions."""
    if shutil.which("setpriv") is None:
        raise RuntimeError("setpriv (util-linux) is needed to drop root's file capabilities")
    return home.start(prefix=("setpriv", f"--inh-caps={DAC_CAPS}", f"--bounding-set={DAC_CAPS}"))
