"""The tray for real, on the tray hosts users have, with the backend the agent picks.

`kompliant-agent run` under Xvfb against the sandbox: on xfce4-panel (a StatusNotifier
host: the AppIndicator backend) and on trayer (an XEmbed tray: the GTK backend), with
the AppIndicator library installed as on a user's machine. The icon is found in
screenshots, the menu is opened with a right click and every entry is picked with the
keyboard (xdotool), and what it did is checked on the engine, the folders and the
sandbox.
"""

from __future__ import annotations

from pathlib import Path

from agent.engine.control import read_control
from agent.engine.state import AgentState
from agent.tray.icons import COLOURS
from agent.tray.menu import Action
from tests.conftest import DEMO_WORKFLOW, RD_ADDRESS, RD_ID, sandbox_admin
from tests.engine.conftest import AgentHome, Kompliant, documents_in, drop
from tests.tray.conftest import TrayAgent, start_on
from tests.tray.desktops import Desktop, icon_box, stays, wait_until


def pause_and_resume(tray: TrayAgent, kompliant: Kompliant) -> None:
    idle = tray.desktop.screenshot().crop(tray.icon(AgentState.IDLE))

    tray.choose(Action.PAUSE)

    wait_until(lambda: tray.status().get("paused"), what="the engine to pause")
    paused = tray.desktop.screenshot().crop(tray.icon(AgentState.PAUSED))
    assert icon_box(tray.desktop.screenshot(), COLOURS[AgentState.IDLE]) is None
    assert idle.tobytes() != paused.tobytes()
    bank = tray.home.folder("Bank statements")
    drop(bank, "held.pdf", b"%PDF-1.4 held while paused\n%%EOF\n")
    wait_until(lambda: tray.status().get("checking"), what="the engine to see the file")
    stays(
        lambda: documents_in(bank) == ["held.pdf"] and not kompliant.documents(),
        seconds=2.0,
        what="a file dropped while paused was taken",
    )

    tray.choose(Action.RESUME)

    wait_until(lambda: (bank / "done" / "held.pdf").exists(), what="held.pdf to be uploaded")
    assert [d.file_name for d in kompliant.documents()] == ["held.pdf"]
    tray.icon(AgentState.IDLE)


def opens(tray: TrayAgent, action: Action, expected: Path, arg: str = "") -> None:
    before = len(tray.opened())
    tray.choose(action, arg)
    wait_until(lambda: len(tray.opened()) > before, what=f"{action.value} to open something")
    assert tray.opened()[before:] == [str(expected)]


WRONG_TYPE = b"a type Kompliant does not take"


def a_failed_file(tray: TrayAgent) -> Path:
    """Drop a file that fails: the attention icon, a notification that names it, its
    requirement and why, whose click opens its folder; then each of its menu entries."""
    bank = tray.home.folder("Bank statements")
    drop(bank, "notes.txt", WRONG_TYPE)
    failed = wait_until(lambda: _file(bank / "failed" / "notes.txt"), what="notes.txt to fail")
    tray.icon(AgentState.ATTENTION)
    wait_until(lambda: tray.desktop.shown_notifications(), what="the failure notification")
    tray.desktop.notification_action()  # a click on it: the failed folder opens
    wait_until(lambda: str(failed.parent) in tray.opened(), what="the failed folder to open")
    told = wait_until(
        lambda: [t for t in tray.desktop.notifications() if "notes.txt failed" in t],
        what="the failure notification's text",
    )
    assert told[0].startswith("Kompliant agent: notes.txt failed\nnotes.txt (Bank statements): ")
    assert "retry" not in told[0].lower()  # trying again cannot fix a wrong type

    tray.choose(Action.SHOW_REASON, str(failed))
    why = wait_until(
        lambda: [t for t in tray.desktop.notifications() if "why notes.txt failed" in t],
        what="the reason as a notification",
    )
    assert "notes.txt (Bank statements): " in why[0]
    opens(tray, Action.OPEN_FILE_FOLDER, failed.parent, str(failed))
    recent = tray.snapshot().recent[0]
    opens(tray, Action.OPEN_FILE_FOLDER, Path(recent.path).parent, recent.path)

    creates = _creates(tray)
    tray.choose(Action.RETRY_FILE, str(failed))  # this file: back in its folder, sent again
    wait_until(lambda: _creates(tray) > creates, what="notes.txt to be sent again")
    wait_until(lambda: _file(failed), what="notes.txt to fail again")
    creates = _creates(tray)
    tray.choose(Action.RETRY)  # all of them
    wait_until(lambda: _creates(tray) > creates, what="notes.txt to be sent once more")
    wait_until(lambda: _file(failed), what="notes.txt to fail once more")
    return failed


def _file(path: Path) -> Path | None:
    return path if path.exists() else None


def _creates(tray: TrayAgent) -> int:
    stats = sandbox_admin(tray.home.sandbox, "stats").json()
    by_method = stats.get("by_method", {}).get("document.create", {})
    return sum(int(n) for n in by_method.values())


def every_other_entry(tray: TrayAgent) -> None:
    """Ask the applicant; print cover sheets; open the folder, the status text, the log;
    refresh; snooze and back; then Quit."""
    home = tray.home
    tray.choose(Action.REQUEST_MISSING, DEMO_WORKFLOW)
    told = wait_until(
        lambda: [t for t in tray.desktop.notifications() if "documents requested" in t],
        what="the notification of the request",
    )
    assert told[0].startswith("Kompliant agent: Demo Ltd: documents requested")
    requests = sandbox_admin(home.sandbox, "state").json()["document_requests"]
    # what the menu listed as missing, not the bank statement already sent
    assert {r["required_document_id"] for r in requests} == {RD_ADDRESS, RD_ID}

    covers = home.state_dir / "cover-sheets" / f"cover-sheets {DEMO_WORKFLOW}.pdf"
    opens(tray, Action.PRINT_COVERS, covers, DEMO_WORKFLOW)  # made, then opened to print
    assert covers.read_bytes().startswith(b"%PDF")
    opens(tray, Action.OPEN_ROOT, home.root)
    opens(tray, Action.SHOW_STATUS, home.state_dir / "status.txt")
    status_text = (home.state_dir / "status.txt").read_text(encoding="utf-8")
    assert status_text.startswith("Needs you: ") and "Tray: shown by" in status_text
    opens(tray, Action.OPEN_LOG, home.home / "logs" / "agent.log")

    refreshes = read_control(home.state_dir).refresh_requests
    tray.choose(Action.REFRESH)
    wait_until(
        lambda: read_control(home.state_dir).refresh_requests == refreshes + 1,
        what="the refresh request",
    )
    wait_until(lambda: "refresh: " in tray.agent.output(), what="the engine to refresh")

    tray.choose(Action.SNOOZE)
    wait_until(lambda: "tray: snooze" in tray.agent.output(), what="the snooze")
    tray.choose(Action.UNSNOOZE, snoozed=True)  # the menu now offers to turn them on again
    wait_until(lambda: "tray: unsnooze" in tray.agent.output(), what="the unsnooze")

    tray.choose(Action.QUIT)
    assert tray.agent.process.wait(timeout=30) == 0


def test_on_a_statusnotifier_host_the_appindicator_icon_shows_and_every_entry_works(
    agent_home: AgentHome, xfce: Desktop, kompliant: Kompliant
) -> None:
    tray = start_on(agent_home, xfce)

    tray.icon(AgentState.IDLE)
    items = wait_until(xfce.sni_items, what="the icon to register with the host")
    assert [i.rpartition("/")[2] for i in items] == ["kompliant_agent"]
    assert xfce.sni_status(items[0]) == "Active"
    # its title (what StatusNotifier hosts show for it): the tooltip's words
    wait_until(
        lambda: xfce.sni_property(items[0], "Title") == "Kompliant: all files are settled",
        what="the item's title",
    )
    wait_until(lambda: tray.tray().get("shown"), what="tray.json to say the icon shows")
    assert tray.tray()["backend"] == "appindicator"
    assert "tray icon shown by a StatusNotifier host" in tray.agent.output()
    status = agent_home.cli("status")  # `status` says how the tray is
    assert "tray:  shown by a StatusNotifier host" in status.stdout
    assert agent_home.status()["tray"]["shown"] is True

    pause_and_resume(tray, kompliant)
    assert xfce.sni_status(items[0]) == "Active"
    a_failed_file(tray)
    tray.icon(AgentState.ATTENTION)
    wait_until(
        lambda: xfce.sni_status(items[0]) == "NeedsAttention",
        what="the item to ask for attention while a file failed",
    )
    every_other_entry(tray)


def test_on_an_xembed_tray_the_gtk_icon_docks_with_a_tooltip_and_every_entry_works(
    agent_home: AgentHome, trayer: Desktop, kompliant: Kompliant
) -> None:
    tray = start_on(agent_home, trayer)

    box = tray.icon(AgentState.IDLE)
    wait_until(lambda: tray.tray().get("shown"), what="tray.json to say the icon docked")
    assert tray.tray()["backend"] == "gtk"  # not the AppIndicator library, though installed
    assert not trayer.tooltip_shown()
    trayer.hover(box)
    wait_until(trayer.tooltip_shown, what="the tooltip")

    pause_and_resume(tray, kompliant)
    a_failed_file(tray)
    every_other_entry(tray)


def test_without_pygobject_the_xorg_icon_still_shows_unsquashed_and_the_log_says_why(
    agent_home: AgentHome, trayer: Desktop
) -> None:
    # A machine without PyGObject has only pystray's xorg backend; this one has
    # PyGObject, so the variable stands in for its absence (the default choice on an
    # XEmbed tray is tested above).
    trayer.env["PYSTRAY_BACKEND"] = "xorg"
    tray = start_on(agent_home, trayer)

    box = tray.icon(AgentState.IDLE)

    width, height = box[2] - box[0], box[3] - box[1]
    assert abs(width - height) <= 2, f"the icon is squashed: {width}×{height}"
    assert "the tray menu is unavailable" in tray.agent.output()
    assert "pystray issue #151" in tray.agent.output()
    assert tray.agent.stop() == 0
