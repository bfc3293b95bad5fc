"""A real desktop for the tray tests: Xvfb, the trayer tray host and the dunst
notification daemon, in a D-Bus session (dev.py's, or one started here).

The tools are Debian packages (scripts/dev.py installs them as root). Without them the
live tests skip — except in CI (``CI=true``) or with ``KOMPLIANT_REQUIRE_TRAY=1``, where
they fail, so a CI run can never pass without having shown the tray.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.engine.conftest import agent_home, kompliant  # noqa: F401
from tests.kit.wait import wait_for

TOOLS = (
    "Xvfb",
    "trayer",
    "xdotool",
    "dunst",
    "dunstctl",
    "import",
    "dbus-daemon",
    "dbus-send",
    "xdpyinfo",
)
SCREEN = (640, 240)
PANEL_HEIGHT = 48


def tray_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("KOMPLIANT_REQUIRE_TRAY") == "1"


def _gi_problem() -> str | None:
    check = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env)
    return None if done.returncode == 0 else done.stderr.strip().splitlines()[-1]


def missing_for_tray() -> str | None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (python3 scripts/dev.py test installs them)"
    problem = _gi_problem()
    return f"PyGObject with GTK 3 does not load: {problem}" if problem else None


@dataclass
class Desktop:
    """A virtual display with a tray host and a notification daemon."""

    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *command: str) -> str:
        done = subprocess.run(
            list(command), env=self.env, capture_output=True, text=True, timeout=20, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed: {done.stderr}")
        return done.stdout

    def screenshot(self) -> Image.Image:
        shot = subprocess.run(
            ["import", "-window", "root", "png:-"],
            env=self.env,
            capture_output=True,
            timeout=20,
            check=True,
        )
        return Image.open(io.BytesIO(shot.stdout)).convert("RGB")

    def click(self, x: int, y: int, button: int) -> None:
        self.run("xdotool", "mousemove", str(x), str(y), "click", str(button))

    def keys(self, *names: str) -> None:
        self.run("xdotool", "key", "--delay", "60", *names)

    def notifications(self) -> list[str]:
        """Summaries and bodies of every notification dunst got (shown ones are closed)."""
        self.run("dunstctl", "close-all")
        history = json.loads(self.run("dunstctl", "history"))
        texts = []
        for group in history.get("data", []):
            for item in group:
                summary = item.get("summary", {}).get("data", "")
                body = item.get("body", {}).get("data", "")
                texts.append(f"{summary}\n{body}")
        return texts

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _start(desktop: Desktop, command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=desktop.env, **kwargs)
    desktop.processes.append(process)
    return process


def _works(desktop: Desktop, *command: str) -> bool:
    done = subprocess.run(list(command), env=desktop.env, capture_output=True, timeout=10)
    return done.returncode == 0


def _start_xvfb(desktop: Desktop) -> str:
    """A virtual display on a free number (well above the usual :0), ready for clients."""
    for _ in range(5):
        number = random.randrange(200, 900)
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        display = f":{number}"
        screen = f"{SCREEN[0]}x{SCREEN[1]}x24"
        xvfb = _start(
            desktop,
            ["Xvfb", display, "-screen", "0", screen, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = dict(desktop.env, DISPLAY=display)
        deadline = time.monotonic() + 20
        while xvfb.poll() is None and time.monotonic() < deadline:
            ready = subprocess.run(["xdpyinfo"], env=probe, capture_output=True, timeout=10)
            # Ours only if our server still runs: a display taken by someone else in the
            # meantime answers xdpyinfo while our Xvfb exits.
            if ready.returncode == 0 and xvfb.poll() is None:
                time.sleep(0.2)
                if xvfb.poll() is None:
                    return display
            time.sleep(0.05)
        if xvfb.poll() is None:
            xvfb.kill()
    raise AssertionError("Xvfb did not start on any of five display numbers")


TRAYER = [
    "trayer",
    "--edge",
    "top",
    "--align",
    "right",
    "--widthtype",
    "request",
    "--height",
    str(PANEL_HEIGHT),
    "--transparent",
    "false",
    "--SetDockType",
    "true",
    "--expand",
    "true",
]


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[Desktop]:
    problem = missing_for_tray()
    if problem:
        if tray_required():
            pytest.fail(f"the tray tests must run here (CI / KOMPLIANT_REQUIRE_TRAY): {problem}")
        pytest.skip(problem)
    env = dict(os.environ, NO_AT_BRIDGE="1", PYSTRAY_BACKEND="gtk")
    env.pop("WAYLAND_DISPLAY", None)
    running = Desktop(env)
    try:
        # A bus of its own for every desktop: one shared with earlier tests keeps their
        # leftovers (a notification daemon's name, services D-Bus started for a display
        # that is gone), and the fourth desktop of a run would inherit them.
        bus = _start(
            running,
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
        )
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
        log = (tmp_path / "desktop.log").open("wb")
        for attempt in range(3):
            env["DISPLAY"] = _start_xvfb(running)
            panel = _start(running, TRAYER, stdout=log, stderr=log)
            try:
                wait_for(
                    lambda: _works(running, "xdotool", "search", "--class", "trayer"),
                    what="trayer's panel",
                )
                break
            except AssertionError as error:
                if attempt == 2:
                    output = (tmp_path / "desktop.log").read_text(errors="replace")
                    raise AssertionError(
                        f"{error} on {env['DISPLAY']}; its output:\n{output}"
                    ) from None
                panel.kill()  # a display that went wrong: try a fresh one
        dunst = [_start(running, ["dunst"], stdout=log, stderr=log)]
        # Ask D-Bus whether dunst owns the name; dunstctl would D-Bus-activate a second one.
        owner = [
            "dbus-send",
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.Notifications",
        ]

        def dunst_owns_the_name() -> bool:
            if dunst[0].poll() is not None and len(dunst) < 3:
                # dunst gives up when the display or the bus is slow to answer (a loaded
                # machine): start it again, twice at most
                dunst.insert(0, _start(running, ["dunst"], stdout=log, stderr=log))
            answer = subprocess.run(owner, env=env, capture_output=True, text=True)
            return "boolean true" in answer.stdout

        try:
            wait_for(dunst_owns_the_name, what="dunst on D-Bus", timeout=60)
        except AssertionError as error:
            output = (tmp_path / "desktop.log").read_text(errors="replace")
            raise AssertionError(f"{error}; the desktop's output:\n{output}") from None
        yield running
    finally:
        running.stop()


# -- finding the icon on screen ------------------------------------------------------------


def pixels_of(image: Image.Image, colour: tuple[int, int, int]) -> list[tuple[int, int]]:
    """Where ``colour`` is, in the tray panel's strip at the top of the screen."""
    width = image.width
    data = image.crop((0, 0, width, PANEL_HEIGHT)).tobytes()
    wanted = bytes(colour)
    return [
        ((i // 3) % width, (i // 3) // width)
        for i in range(0, len(data), 3)
        if data[i : i + 3] == wanted
    ]


def icon_box(image: Image.Image, colour: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    """Bounding box of the icon drawn in ``colour`` (None unless clearly there)."""
    found = pixels_of(image, colour)
    if len(found) < 200:
        return None
    xs = [x for x, _ in found]
    ys = [y for _, y in found]
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1


def menu_open(image: Image.Image) -> bool:
    """A menu pops up below the panel on the black screen: many light pixels there."""
    below = image.crop((0, PANEL_HEIGHT + 2, image.width, image.height)).convert("L")
    return sum(1 for value in below.tobytes() if value > 200) > 2000


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    return wait_for(condition, timeout=timeout, interval=0.1, what=what)


def stays(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """``condition`` holds on every look for ``seconds`` (for things that must NOT happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition(), what
        time.sleep(0.1)
