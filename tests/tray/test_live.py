"""The tray for real: `kompliant-agent run` under Xvfb with the trayer tray host and the
dunst notification daemon, against the sandbox, driven with xdotool and screenshots."""

from __future__ import annotations

from typing import Any

from agent.engine.state import AgentState
from agent.engine.status import Snapshot
from agent.tray.icons import COLOURS
from agent.tray.menu import Action, WorkflowProgress, build_menu, keyboard_steps
from tests.conftest import sandbox_admin
from tests.engine.conftest import AgentHome, Kompliant, documents_in, drop
from tests.kit.agent import AgentProcess
from tests.tray.conftest import Desktop, icon_box, menu_open, stays, wait_until


def start_with_tray(agent_home: AgentHome, desktop: Desktop) -> AgentProcess:
    agent_home.write_config()
    agent_home.add_workflow()
    agent_home.env.update(desktop.env)
    agent_home.env.update({k: v for k, v in agent_home.env.items() if k.startswith("KOMPLIANT_")})
    return agent_home.start()


def shown_box(desktop: Desktop, state: AgentState) -> tuple[int, int, int, int]:
    box: tuple[int, int, int, int] = wait_until(
        lambda: icon_box(desktop.screenshot(), COLOURS[state]),
        what=f"the {state.value} icon in the tray",
    )
    return box


def choose(desktop: Desktop, agent_home: AgentHome, action: Action) -> None:
    """Right-click the icon and pick ``action`` with the keyboard, as a person would."""
    snapshot = Snapshot.from_data(agent_home.status_file())
    entries = build_menu(snapshot, workflows=[WorkflowProgress("Demo Ltd", ())])
    steps = keyboard_steps(entries, action)
    box = shown_box(desktop, snapshot.state)
    desktop.click((box[0] + box[2]) // 2, (box[1] + box[3]) // 2, 3)
    wait_until(lambda: menu_open(desktop.screenshot()), what="the tray menu to open")
    desktop.keys(*["Down"] * steps, "Return")
    wait_until(lambda: not menu_open(desktop.screenshot()), what="the tray menu to close")


def status(agent_home: AgentHome) -> dict[str, Any]:
    return agent_home.status_file()


def test_the_icon_shows_and_pause_from_the_menu_holds_new_files(
    agent_home: AgentHome, desktop: Desktop, kompliant: Kompliant
) -> None:
    agent = start_with_tray(agent_home, desktop)
    idle = desktop.screenshot().crop(shown_box(desktop, AgentState.IDLE))

    choose(desktop, agent_home, Action.PAUSE)

    wait_until(lambda: status(agent_home).get("paused"), what="the engine to pause")
    paused_box = shown_box(desktop, AgentState.PAUSED)
    paused = desktop.screenshot().crop(paused_box)
    assert icon_box(desktop.screenshot(), COLOURS[AgentState.IDLE]) is None
    assert idle.tobytes() != paused.tobytes()
    bank = agent_home.folder("Bank statements")
    drop(bank, "held.pdf", b"%PDF-1.4 held while paused\n%%EOF\n")
    wait_until(lambda: status(agent_home).get("checking"), what="the engine to see the file")
    stays(
        lambda: documents_in(bank) == ["held.pdf"] and not kompliant.documents(),
        seconds=2.0,
        what="a file dropped while paused was taken",
    )

    choose(desktop, agent_home, Action.RESUME)

    wait_until(lambda: (bank / "done" / "held.pdf").exists(), what="held.pdf to be uploaded")
    assert [d.file_name for d in kompliant.documents()] == ["held.pdf"]
    shown_box(desktop, AgentState.IDLE)
    assert agent.stop() == 0


def test_a_failure_notifies_and_retry_from_the_menu_sends_the_file_again(
    agent_home: AgentHome, desktop: Desktop
) -> None:
    agent = start_with_tray(agent_home, desktop)
    shown_box(desktop, AgentState.IDLE)
    bank = agent_home.folder("Bank statements")

    drop(bank, "notes.txt", b"a type Kompliant does not take")

    wait_until(lambda: (bank / "failed" / "notes.txt").exists(), what="notes.txt to fail")
    shown_box(desktop, AgentState.ATTENTION)
    texts = wait_until(
        lambda: [t for t in desktop.notifications() if "failed" in t],
        what="a notification about the failed file",
    )
    assert "1 file(s) failed" in texts[0]
    first_note = (bank / "failed" / "notes.txt.error.txt").read_text(encoding="utf-8")
    creates = _creates(agent_home)

    choose(desktop, agent_home, Action.RETRY)

    wait_until(lambda: _creates(agent_home) > creates, what="notes.txt to be sent again")
    wait_until(lambda: (bank / "failed" / "notes.txt").exists(), what="notes.txt to fail again")
    assert "agent.engine.runner: moved 1 failed file(s) back" in agent.output()
    assert first_note  # the note was there before the retry
    assert agent.stop() == 0


def _creates(agent_home: AgentHome) -> int:
    stats = sandbox_admin(agent_home.sandbox, "stats").json()
    by_method = stats.get("by_method", {}).get("document.create", {})
    return sum(int(n) for n in by_method.values())


def test_with_only_the_xorg_backend_the_icon_shows_and_the_log_says_why_no_menu(
    agent_home: AgentHome, desktop: Desktop
) -> None:
    desktop.env["PYSTRAY_BACKEND"] = "xorg"
    agent = start_with_tray(agent_home, desktop)

    shown_box(desktop, AgentState.IDLE)

    assert "the tray menu is unavailable" in agent.output()
    assert "pystray issue #151" in agent.output()
    assert agent.stop() == 0


def test_rejected_credentials_show_the_error_icon_and_files_wait(
    agent_home: AgentHome, desktop: Desktop, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    agent_home.env.update(desktop.env)
    agent_home.env["KOMPLIANT_AUTH_TOKEN"] = "revoked-token"
    agent = agent_home.start()
    bank = agent_home.folder("Bank statements")
    drop(bank, "waits.pdf", b"%PDF-1.4 waits for valid credentials\n%%EOF\n")

    shown_box(desktop, AgentState.ERROR)
    assert any("refused the credentials" in p for p in status(agent_home)["problems"])
    assert documents_in(bank / "failed") == []
    assert kompliant.documents() == []
    assert agent.stop() == 3  # the file is still to do
