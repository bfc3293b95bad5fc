"""The tray's "Print cover sheets…": one entry per workflow, the PDF made and opened."""

from __future__ import annotations

import threading
import types
from pathlib import Path

import pytest

from agent.config import load_config
from agent.engine.state import AgentState
from agent.engine.status import Snapshot
from agent.scan.detect import classify, decode_texts
from agent.tray.app import TrayApp
from agent.tray.loader import Tray
from agent.tray.menu import Action, MenuFacts, WorkflowProgress, build_menu
from agent.tray.notify import Notice
from tests.conftest import DEMO_WORKFLOW, RD_BANK
from tests.engine.conftest import AgentHome
from tests.scan.scans import rasterise


def test_the_menu_offers_cover_sheets_per_workflow() -> None:
    snapshot = Snapshot(state=AgentState.IDLE, pid=1, updated_at="")
    workflows = (
        WorkflowProgress(DEMO_WORKFLOW, "Demo Ltd", requirements=(("Bank statements", "missing"),)),
        WorkflowProgress("w_Old", "Old Ltd", ended=True),
    )
    menu = build_menu(snapshot, MenuFacts(workflows=workflows))
    covers = next(e for e in menu if e.text.startswith("Print"))
    assert covers.text == "Print cover sheets…"
    assert [(e.text, e.action, e.arg) for e in covers.submenu] == [
        ("Demo Ltd", Action.PRINT_COVERS, DEMO_WORKFLOW),
        ("Old Ltd", None, "w_Old"),
    ]


def test_print_cover_sheets_makes_the_pdf_and_opens_it(
    agent_home: AgentHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in agent_home.env.items():  # the agent's environment, as in `run`
        if name.startswith("KOMPLIANT_"):
            monkeypatch.setenv(name, value)
    agent_home.write_config()
    agent_home.add_workflow()
    opened: list[Path] = []

    def open_path(path: Path) -> bool:
        opened.append(path)
        return True

    fake = Tray(pystray=types.SimpleNamespace(), backend="none")  # type: ignore[arg-type]
    app = TrayApp(load_config(agent_home.config_file), fake, threading.Event(), open_path=open_path)
    notices: list[Notice] = []
    app.actions._notify = notices.append  # what would be shown

    made = app.actions.print_covers(DEMO_WORKFLOW)

    assert made is not None and opened == [made] and not notices
    assert not made.is_relative_to(agent_home.root)  # never where the agent would take it
    first = classify(1, decode_texts(rasterise(made.read_bytes(), 0, 100)))
    assert first.code is not None and first.code.required_document_id == RD_BANK

    app.actions.print_covers("w_Unknown000000000000001")
    assert [n.title for n in notices] == ["Kompliant agent: no cover sheets"]
    assert "w_Unknown000000000000001" in notices[0].body
