#!/usr/bin/env python3
"""Screenshots of the tray in each state, with its menu open, for docs/tray.md.

Needs what the tray tests need (Xvfb, trayer, dunst, xdotool, ImageMagick, PyGObject),
in a D-Bus session:
    python3 scripts/dev.py lint            # makes .venv
    dbus-run-session -- .venv/bin/python scripts/tray_screenshots.py [OUT_DIR]  # docs/

Starts its own virtual display and tray host, shows the real pystray icon (GTK backend)
with the agent's icons and menu model for a sample snapshot of each state, opens the menu
with a right click and saves ``tray-<state>.png``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.engine.state import AgentState  # noqa: E402
from agent.engine.status import FolderStatus, Snapshot  # noqa: E402
from agent.tray.icons import COLOURS, icon_for, tooltip  # noqa: E402
from agent.tray.menu import MenuEntry, WorkflowProgress, build_menu  # noqa: E402

WIDTH, HEIGHT = 720, 420


def samples() -> dict[AgentState, Snapshot]:
    def snap(state: AgentState, **kw: Any) -> Snapshot:
        return Snapshot(state=state, pid=1, updated_at="", **kw)

    bank = "w_DemoApplication000000001/rd_BankStatements00000001"
    return {
        AgentState.IDLE: snap(AgentState.IDLE, folders=(FolderStatus(bank, bank, done=3),)),
        AgentState.WORKING: snap(
            AgentState.WORKING,
            uploads=(("statement-2024.pdf", 62),),
            folders=(FolderStatus(bank, bank, waiting=2, in_progress=1),),
        ),
        AgentState.PAUSED: snap(AgentState.PAUSED, paused=True, checking=2),
        AgentState.OFFLINE: snap(AgentState.OFFLINE, offline=True),
        AgentState.ATTENTION: snap(
            AgentState.ATTENTION, folders=(FolderStatus(bank, bank, done=2, failed=2),)
        ),
        AgentState.ERROR: snap(
            AgentState.ERROR,
            problems=("The watched folder ~/Documents/Kompliant is unavailable",),
        ),
    }


def run(env: dict[str, str], *command: str) -> bytes:
    return subprocess.run(list(command), env=env, capture_output=True, check=True).stdout


def screenshot(env: dict[str, str]) -> Image.Image:
    return Image.open(io.BytesIO(run(env, "import", "-window", "root", "png:-"))).convert("RGB")


def find(env: dict[str, str], colour: tuple[int, int, int]) -> tuple[int, int] | None:
    image = screenshot(env).crop((0, 0, WIDTH, 48))
    data = image.tobytes()
    hits = [i // 3 for i in range(0, len(data), 3) if data[i : i + 3] == bytes(colour)]
    if len(hits) < 200:
        return None
    xs, ys = [i % WIDTH for i in hits], [i // WIDTH for i in hits]
    return (min(xs) + max(xs)) // 2, (min(ys) + max(ys)) // 2


def wait(condition: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"tray_screenshots: timed out waiting for {what}")


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


def main(out: Path) -> int:
    env = dict(os.environ, NO_AT_BRIDGE="1", PYSTRAY_BACKEND="gtk")
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
    )
    assert xvfb.stdout is not None
    env["DISPLAY"] = ":" + xvfb.stdout.readline().decode().strip()
    os.environ.update(env)
    trayer = subprocess.Popen(
        [
            *("trayer", "--edge", "top", "--align", "right", "--widthtype", "request"),
            *("--height", "48", "--transparent", "false", "--SetDockType", "true"),
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    # pystray's GTK backend asks D-Bus for the notification service at start; a daemon
    # started here has the display (one activated by D-Bus might not).
    dunst = subprocess.Popen(["dunst"], env=env, stderr=subprocess.DEVNULL)
    wait(
        lambda: subprocess.run(["dunstctl", "count"], env=env, capture_output=True).returncode == 0,
        "dunst",
    )
    try:
        import pystray

        snapshots = samples()
        workflows = [WorkflowProgress("Demo Ltd", ("Proof of address", "Government ID"), 1)]
        first = snapshots[AgentState.IDLE]
        icon = pystray.Icon("kompliant-agent", icon_for(first), tooltip(first))

        def shoot(icon: Any) -> None:
            icon.visible = True
            try:
                for state, snapshot in snapshots.items():
                    icon.icon = icon_for(snapshot)
                    icon.title = tooltip(snapshot)
                    entries = build_menu(snapshot, workflows=workflows)
                    icon.menu = pystray.Menu(*items(pystray, entries))
                    x, y = wait(lambda s=state: find(env, COLOURS[s]), f"the {state.value} icon")
                    run(env, "xdotool", "mousemove", str(x), str(y), "click", "3")
                    wait(lambda: _menu_shown(env), "the menu")
                    shot = screenshot(env)
                    box = shot.getbbox() or (0, 0, WIDTH, HEIGHT)  # the panel and the menu
                    shot = shot.crop((max(0, box[0] - 8), 0, WIDTH, min(HEIGHT, box[3] + 8)))
                    shot.save(out / f"tray-{state.value}.png", optimize=True)
                    print(f"saved {out / f'tray-{state.value}.png'}")
                    run(env, "xdotool", "key", "Escape")
                    wait(lambda: not _menu_shown(env), "the menu to close")
            finally:
                icon.stop()

        icon.run(shoot)
    finally:
        dunst.terminate()
        trayer.terminate()
        xvfb.terminate()
    return 0


def _menu_shown(env: dict[str, str]) -> bool:
    below = screenshot(env).crop((0, 50, WIDTH, HEIGHT)).convert("L").tobytes()
    return sum(1 for value in below if value > 200) > 2000


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"))
