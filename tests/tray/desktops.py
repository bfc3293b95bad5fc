"""Real desktops for the tray tests: Xvfb, a D-Bus session of their own, a tray host and
the dunst notification daemon.

Three kinds, the hosts a user's machine has:

- ``xfce``: xfce4-panel 4.18 with its Status Tray plugin — a StatusNotifier host (it owns
  ``org.kde.StatusNotifierWatcher``) that also docks XEmbed icons;
- ``trayer``: an XEmbed tray manager only (``_NET_SYSTEM_TRAY_S0``), as on bare window
  managers;
- ``bare``: no tray at all (GNOME without its AppIndicator extension).

Nothing forces a pystray backend: the agent picks it as it would on a user's machine,
where the AppIndicator library (``gir1.2-ayatanaappindicator3-0.1``) is installed.
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.tray.hosts import probe_hosts
from tests.kit.wait import wait_for

SCREEN = (720, 480)
PANEL_HEIGHT = 48
TOOLS = {
    "xfce": ("xfce4-panel",),
    "trayer": ("trayer",),
    "bare": (),
}
COMMON_TOOLS = (
    "Xvfb",
    "xdotool",
    "dunst",
    "dunstctl",
    "import",
    "dbus-daemon",
    "gdbus",
    "xdpyinfo",
)
GI_CHECK = (
    "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk; "
    "gi.require_version('AyatanaAppIndicator3', '0.1'); "
    "from gi.repository import AyatanaAppIndicator3"
)

# xfce4-panel's settings: one panel on top, a spacer, then the Status Tray plugin.
XFCE_PANEL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="dark-mode" type="bool" value="false"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="{height}"/>
      <property name="icon-size" type="uint" value="0"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
        <value type="int" value="2"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="separator">
      <property name="expand" type="bool" value="true"/>
      <property name="style" type="uint" value="0"/>
    </property>
    <property name="plugin-2" type="string" value="systray">
      <property name="square-icons" type="bool" value="true"/>
      <property name="icon-size" type="uint" value="{icon}"/>
    </property>
  </property>
</channel>
"""
TRAYER = (
    *("trayer", "--edge", "top", "--align", "right", "--widthtype", "request"),
    *("--height", str(PANEL_HEIGHT), "--transparent", "false", "--SetDockType", "true"),
    *("--expand", "true"),
)


def tray_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("KOMPLIANT_REQUIRE_TRAY") == "1"


def missing_for(kind: str) -> str | None:
    """Why a desktop of ``kind`` cannot run here (None: it can)."""
    missing = [t for t in (*COMMON_TOOLS, *TOOLS[kind]) if shutil.which(t) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (python3 scripts/dev.py test installs them)"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run([sys.executable, "-c", GI_CHECK], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return f"PyGObject with GTK 3 and AyatanaAppIndicator3 does not load: {last}"
    return None


@dataclass
class Desktop:
    """A virtual display with a tray host (or none) and a notification daemon."""

    kind: str
    env: dict[str, str]
    home: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *command: str, check: bool = True) -> str:
        done = subprocess.run(
            list(command), env=self.env, capture_output=True, text=True, timeout=30, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed: {done.stderr}")
        return done.stdout

    def screenshot(self) -> Image.Image:
        shot = subprocess.run(
            ["import", "-window", "root", "png:-"],
            env=self.env,
            capture_output=True,
            timeout=30,
            check=True,
        )
        return Image.open(io.BytesIO(shot.stdout)).convert("RGB")

    def hover(self, box: tuple[int, int, int, int]) -> None:
        """Move the pointer across the middle of ``box``, as a hand would (tooltips
        answer to motion, not to a pointer that jumps there once)."""
        x, y = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
        steps: list[str] = []
        for dx in (-3, -2, -1, 0, 1):  # xdotool paces the moves (its own "sleep")
            steps += ["mousemove", str(x + dx), str(y), "sleep", "0.1"]
        self.run("xdotool", *steps)

    def tooltip_shown(self) -> bool:
        """Something drawn below the panel on the black screen (a tooltip's box)."""
        image = self.screenshot()
        return light_pixels(image, below_panel(image), above=16) > 300

    def click(self, x: int, y: int, button: int) -> None:
        self.run("xdotool", "mousemove", str(x), str(y), "click", str(button))

    def keys(self, *names: str) -> None:
        self.run("xdotool", "key", "--delay", "80", *names)

    def type_text(self, text: str) -> None:
        self.run("xdotool", "type", "--delay", "20", text)

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

    def shown_notifications(self) -> int:
        """How many notifications are on screen now."""
        return int(self.run("dunstctl", "count", "displayed").strip() or 0)

    def notification_action(self) -> None:
        """Click the newest notification on screen (dunst runs its ``default`` action)."""
        self.run("dunstctl", "action", "0")

    def focus(self, name: str) -> None:
        """Give the keyboard to the window named ``name`` (there is no window manager)."""
        self.run(
            "xdotool", "search", "--sync", "--onlyvisible", "--name", name, "windowfocus", "--sync"
        )

    def window_shown(self, name: str) -> bool:
        done = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", name],
            env=self.env,
            capture_output=True,
            timeout=10,
        )
        return done.returncode == 0 and bool(done.stdout.strip())

    def sni_items(self) -> list[str]:
        """The StatusNotifierWatcher's registered items (xfce only)."""
        out = self.run(
            *("gdbus", "call", "--session", "--dest", "org.kde.StatusNotifierWatcher"),
            *("--object-path", "/StatusNotifierWatcher", "--method"),
            "org.freedesktop.DBus.Properties.Get",
            "org.kde.StatusNotifierWatcher",
            "RegisteredStatusNotifierItems",
        )
        return [part for part in out.replace("'", " ").split() if "/" in part]

    def sni_status(self, item: str) -> str:
        return self.sni_property(item, "Status")

    def sni_property(self, item: str, name: str) -> str:
        """A string property of a registered StatusNotifierItem, as its host reads it."""
        bus_name, _, path = item.partition("/")
        out = self.run(
            *("gdbus", "call", "--session", "--dest", bus_name, "--object-path", "/" + path),
            *("--method", "org.freedesktop.DBus.Properties.Get"),
            "org.kde.StatusNotifierItem",
            name,
        )
        return out.split("'")[1] if "'" in out else out.strip()

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _start(
    desktop: Desktop, command: list[str] | tuple[str, ...], **kwargs: Any
) -> subprocess.Popen[bytes]:
    env = kwargs.pop("env", desktop.env)
    process = subprocess.Popen(list(command), env=env, **kwargs)
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


def _bus_has(desktop: Desktop, name: str) -> bool:
    out = subprocess.run(
        [
            *("gdbus", "call", "--session", "--dest", "org.freedesktop.DBus"),
            *("--object-path", "/org/freedesktop/DBus"),
            *("--method", "org.freedesktop.DBus.NameHasOwner", name),
        ],
        env=desktop.env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return "true" in out.stdout


def _start_panel(desktop: Desktop, log: Any) -> None:
    if desktop.kind == "trayer":
        _start(desktop, TRAYER, stdout=log, stderr=log)
        wait_for(
            lambda: (
                _works(desktop, "xdotool", "search", "--class", "trayer")
                and probe_hosts(desktop.env).xembed
            ),
            what="trayer's panel and its tray selection",
        )
    elif desktop.kind == "xfce":
        # xfconfd, which D-Bus starts for the panel, reads $HOME/.config of the bus
        config = desktop.home / ".config" / "xfce4" / "xfconf" / "xfce-perchannel-xml"
        config.mkdir(parents=True, exist_ok=True)
        (config / "xfce4-panel.xml").write_text(
            XFCE_PANEL_XML.format(height=PANEL_HEIGHT, icon=PANEL_HEIGHT - 8), encoding="utf-8"
        )
        _start(desktop, ["xfce4-panel", "--disable-wm-check"], stdout=log, stderr=log)
        wait_for(
            lambda: _bus_has(desktop, "org.kde.StatusNotifierWatcher"),
            what="xfce4-panel's StatusNotifierWatcher",
            timeout=60,
        )


def _start_dunst(desktop: Desktop, log: Any) -> None:
    dunst = [_start(desktop, ["dunst"], stdout=log, stderr=log)]

    def dunst_owns_the_name() -> bool:
        if dunst[0].poll() is not None and len(dunst) < 3:
            # dunst gives up when the display or the bus is slow to answer (a loaded
            # machine): start it again, twice at most
            dunst.insert(0, _start(desktop, ["dunst"], stdout=log, stderr=log))
        return _bus_has(desktop, "org.freedesktop.Notifications")

    wait_for(dunst_owns_the_name, what="dunst on D-Bus", timeout=60)


def _start_keyring(desktop: Desktop, log: Any) -> None:
    """An unlocked, empty gnome-keyring on the desktop's bus (as after a desktop login)."""
    for folder in (desktop.home / ".local" / "share", desktop.home / ".cache"):
        folder.mkdir(parents=True, exist_ok=True)
    unlock = subprocess.run(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
        input=b"desktop-password",
        env=desktop.env,
        stdout=subprocess.PIPE,
        stderr=log,
        timeout=30,
        check=True,
    )
    for line in unlock.stdout.decode().splitlines():  # GNOME_KEYRING_CONTROL=…
        name, _, value = line.partition("=")
        if name.startswith("GNOME_KEYRING"):
            desktop.env[name] = value
    wait_for(lambda: _bus_has(desktop, "org.freedesktop.secrets"), what="the keyring on D-Bus")


def require_desktop(kind: str, *, keyring: bool = False) -> None:
    """Skip the test when a desktop of ``kind`` (with ``keyring``, a gnome-keyring on it)
    cannot run here; fail it where the tray tests must run (CI, KOMPLIANT_REQUIRE_TRAY)."""
    problem = missing_for(kind)
    if keyring and shutil.which("gnome-keyring-daemon") is None:
        problem = "not installed: gnome-keyring-daemon (python3 scripts/dev.py test installs it)"
    if problem:
        if tray_required():
            pytest.fail(f"the tray tests must run here (CI / KOMPLIANT_REQUIRE_TRAY): {problem}")
        pytest.skip(problem)


@contextmanager
def running_desktop(
    kind: str, tmp_path: Path, *, notifications: bool = True, keyring: bool = False
) -> Iterator[Desktop]:
    """A desktop of ``kind`` with its own bus and display (and dunst, and with ``keyring``
    a gnome-keyring), stopped after."""
    home = tmp_path / f"desktop-{kind}"
    (home / ".cache").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, NO_AT_BRIDGE="1", HOME=str(home))
    for name in (
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "WAYLAND_DISPLAY",
        "PYSTRAY_BACKEND",
        "XDG_CURRENT_DESKTOP",
        "DESKTOP_SESSION",
    ):
        env.pop(name, None)
    desktop = Desktop(kind, env, home)
    log_path = home / "desktop.log"
    log = log_path.open("wb")
    try:
        # A bus of its own for every desktop: one shared with earlier tests keeps their
        # leftovers (a notification daemon's name, a watcher of a panel that is gone).
        bus = _start(
            desktop,
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=log,
        )
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
        for attempt in range(3):
            env["DISPLAY"] = _start_xvfb(desktop)
            try:
                _start_panel(desktop, log)
                break
            except AssertionError as error:
                if attempt == 2:
                    output = log_path.read_text(errors="replace")
                    raise AssertionError(f"{error}; the desktop's output:\n{output}") from None
        if keyring:
            _start_keyring(desktop, log)
        if notifications:
            try:
                _start_dunst(desktop, log)
            except AssertionError as error:
                output = log_path.read_text(errors="replace")
                raise AssertionError(f"{error}; the desktop's output:\n{output}") from None
        yield desktop
    finally:
        desktop.stop()
        log.close()


# -- finding the icon on screen ------------------------------------------------------------


def pixels_of(
    image: Image.Image, colour: tuple[int, int, int], box: tuple[int, int, int, int] | None = None
) -> list[tuple[int, int]]:
    """Where ``colour`` is, in the panel's strip at the top of the screen (or ``box``)."""
    left, top, right, bottom = box or (0, 0, image.width, PANEL_HEIGHT)
    part = image.crop((left, top, right, bottom))
    data = part.tobytes()
    wanted = bytes(colour)
    width = part.width
    return [
        (left + (i // 3) % width, top + (i // 3) // width)
        for i in range(0, len(data), 3)
        if data[i : i + 3] == wanted
    ]


def icon_box(
    image: Image.Image, colour: tuple[int, int, int], least: int = 40
) -> tuple[int, int, int, int] | None:
    """Bounding box of the icon drawn in ``colour`` in the panel (None unless clearly
    there: ``least`` pixels of exactly that colour)."""
    found = pixels_of(image, colour)
    if len(found) < least:
        return None
    xs = [x for x, _ in found]
    ys = [y for _, y in found]
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1


def light_pixels(image: Image.Image, box: tuple[int, int, int, int], above: int = 200) -> int:
    grey = image.crop(box).convert("L").tobytes()
    return sum(1 for value in grey if value > above)


def below_panel(image: Image.Image) -> tuple[int, int, int, int]:
    return (0, PANEL_HEIGHT + 2, image.width, image.height)


def menu_open(image: Image.Image) -> bool:
    """A menu pops up below the panel on the black screen: many light pixels there."""
    return light_pixels(image, (0, PANEL_HEIGHT + 2, image.width, image.height)) > 2000


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    return wait_for(condition, timeout=timeout, interval=0.1, what=what)


def stays(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """``condition`` holds on every look for ``seconds`` (for things that must NOT happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition(), what
        time.sleep(0.1)
