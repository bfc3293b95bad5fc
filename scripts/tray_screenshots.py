#!/usr/bin/env python3
"""Pictures of the tray for docs/tray.md: each state with its menu, a submenu, a
notification.

Needs what the tray tests need (Xvfb, xfce4-panel, dunst, xdotool, ImageMagick, PyGObject
and the AppIndicator library):
    python3 scripts/dev.py lint                      # makes .venv
    .venv/bin/python scripts/tray_screenshots.py [OUT_DIR]   # docs/ by default

Starts a desktop of its own (a virtual display, its own D-Bus session, xfce4-panel's
Status Tray, dunst), shows the agent's own icon (the AppIndicator backend, as on a user's
XFCE, KDE or GNOME desktop) with its icons and menu for a sample snapshot of each state,
opens the menu with a right click and saves ``tray-<state>.png``; then the Failed ▸ file
submenu (``tray-menu.png``) and a failure notification (``tray-notification.png``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.engine.state import AgentState  # noqa: E402
from agent.engine.status import FileOutcome, FolderStatus, Snapshot  # noqa: E402
from agent.tray.icons import COLOURS, icon_for  # noqa: E402
from agent.tray.menu import MenuEntry, MenuFacts, WorkflowProgress, build_menu  # noqa: E402
from agent.tray.notifier import DesktopNotifier  # noqa: E402
from agent.tray.notify import NotificationPolicy  # noqa: E402
from agent.tray.words import tooltip  # noqa: E402
from tests.tray.desktops import (  # noqa: E402
    PANEL_HEIGHT,
    Desktop,
    icon_box,
    menu_open,
    running_desktop,
)

BANK = "w_DemoApplication000000001/rd_BankStatements00000001"
NAMES = {"rd_BankStatements00000001": "Bank statements"}
FAILED = FileOutcome(
    "notes.txt",
    "/home/you/Documents/Kompliant/Demo Ltd/Bank statements/failed/notes.txt",
    BANK,
    "w_DemoApplication000000001",
    ("rd_BankStatements00000001",),
    "Kompliant does not accept .txt files (PDF, JPEG and PNG only). Save the document as "
    "a PDF and drop the new file into the folder.",
)
DONE = FileOutcome(
    "statement-2024.pdf",
    "/home/you/Documents/Kompliant/Demo Ltd/Bank statements/done/statement-2024.pdf",
    BANK,
    "w_DemoApplication000000001",
    ("rd_BankStatements00000001",),
)


def samples() -> dict[AgentState, Snapshot]:
    def snap(state: AgentState, **kw: Any) -> Snapshot:
        return Snapshot(state=state, pid=1, updated_at="", recent=(DONE,), **kw)

    return {
        AgentState.IDLE: snap(AgentState.IDLE, folders=(FolderStatus(BANK, BANK, done=3),)),
        AgentState.WORKING: snap(
            AgentState.WORKING,
            uploads=(("statement-2025.pdf", 62),),
            folders=(FolderStatus(BANK, BANK, waiting=2, in_progress=1, done=1),),
        ),
        AgentState.PAUSED: snap(AgentState.PAUSED, paused=True, checking=2),
        AgentState.OFFLINE: snap(AgentState.OFFLINE, offline=True),
        AgentState.ATTENTION: snap(
            AgentState.ATTENTION,
            folders=(FolderStatus(BANK, BANK, done=2, failed=1),),
            failed_files=(FAILED,),
        ),
        AgentState.ERROR: snap(
            AgentState.ERROR,
            problems=("Kompliant refused the credentials: sign in again",),
            sign_in_needed=True,
        ),
    }


WORKFLOWS = (
    WorkflowProgress(
        "w_DemoApplication000000001",
        "Demo Ltd",
        requirements=(
            ("Proof of address", "missing"),
            ("Government ID", "rejected"),
            ("Bank statements", "needs_review"),
        ),
    ),
)


def items(pystray: Any, entries: tuple[MenuEntry, ...]) -> list[Any]:
    out: list[Any] = []
    for entry in entries:
        if entry.separator:
            out.append(pystray.Menu.SEPARATOR)
        elif entry.submenu:
            out.append(pystray.MenuItem(entry.text, pystray.Menu(*items(pystray, entry.submenu))))
        else:
            out.append(
                pystray.MenuItem(
                    entry.text, lambda *_: None, default=entry.default, enabled=entry.enabled
                )
            )
    return out


def wait(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    from tests.kit.wait import wait_for

    return wait_for(condition, timeout=timeout, interval=0.1, what=what)


def save(desktop: Desktop, path: Path) -> None:
    """The panel's right part and what is open below it."""
    shot = desktop.screenshot()
    below = shot.crop((0, PANEL_HEIGHT + 1, shot.width, shot.height)).convert("L")
    box = Image.eval(below, lambda v: 255 if v > 8 else 0).getbbox()
    left = min(box[0] if box else shot.width, shot.width - 240) - 8
    bottom = PANEL_HEIGHT + 1 + (box[3] if box else 0) + 8
    shot.crop((max(0, left), 0, shot.width, min(shot.height, bottom))).save(path, optimize=True)
    print(f"saved {path}")


def main(out: Path) -> int:
    with tempfile.TemporaryDirectory() as scratch, running_desktop("xfce", Path(scratch)) as desk:
        os.environ.update(
            DISPLAY=desk.env["DISPLAY"],
            DBUS_SESSION_BUS_ADDRESS=desk.env["DBUS_SESSION_BUS_ADDRESS"],
            NO_AT_BRIDGE="1",
            PYSTRAY_BACKEND="appindicator",
        )
        import pystray

        from agent.tray.backends import icon_class

        snapshots = samples()
        first = snapshots[AgentState.IDLE]
        icon = icon_class("appindicator")(
            "kompliant-agent", icon_for(first), tooltip(first), pystray.Menu(*items(pystray, ()))
        )

        def show(snapshot: Snapshot) -> tuple[MenuEntry, ...]:
            entries = build_menu(
                snapshot,
                MenuFacts(
                    workflows=WORKFLOWS,
                    requirement_names=NAMES,
                    signed_in=not snapshot.sign_in_needed,
                ),
            )
            icon.icon = icon_for(snapshot)
            icon.title = tooltip(snapshot)
            icon.menu = pystray.Menu(*items(pystray, entries))
            return entries

        def open_menu(state: AgentState) -> None:
            box = wait(lambda: icon_box(desk.screenshot(), COLOURS[state]), f"the {state} icon")
            desk.click((box[0] + box[2]) // 2, (box[1] + box[3]) // 2, 3)
            wait(lambda: menu_open(desk.screenshot()), "the menu")

        def close_menu() -> None:
            desk.keys("Escape", "Escape", "Escape")
            wait(lambda: not menu_open(desk.screenshot()), "the menu to close")

        def shoot(icon: Any) -> None:
            icon.visible = True
            try:
                for state, snapshot in snapshots.items():
                    show(snapshot)
                    open_menu(state)
                    save(desk, out / f"tray-{state.value}.png")
                    close_menu()
                show(snapshots[AgentState.ATTENTION])
                open_menu(AgentState.ATTENTION)
                desk.keys("Down", "Down", "Right", "Right")  # Failed ▸ notes.txt ▸
                wait(lambda: desk.tooltip_shown(), "the submenus")
                save(desk, out / "tray-menu.png")
                close_menu()
                policy = NotificationPolicy(lambda: 0.0, gather=0)
                policy.observe(snapshots[AgentState.IDLE], NAMES)
                notice = policy.observe(snapshots[AgentState.ATTENTION], NAMES)
                assert notice is not None
                notifier = DesktopNotifier(desk.env)
                assert notifier.notify(notice.title, notice.body), "no notification service"
                wait(desk.tooltip_shown, "the notification")
                save(desk, out / "tray-notification.png")
                notifier.close()
            finally:
                icon.stop()

        icon.run(shoot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"))
