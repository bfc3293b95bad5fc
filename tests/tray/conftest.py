"""Fixtures of the live tray tests: desktops (see :mod:`tests.tray.desktops`) and the agent
running on them, driven as a person would — a right click on the icon, the keyboard in
the menu — with screenshots to see what shows.

The tools are Debian packages (scripts/dev.py installs them as root). Without them the
live tests skip — except in CI (``CI=true``) or with ``KOMPLIANT_REQUIRE_TRAY=1``, where
they fail, so a CI run can never pass without having shown the tray.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.config import load_config
from agent.decide import load_cache, requirements_file
from agent.engine.reporting import PUBLISH_EVERY
from agent.engine.state import AgentState
from agent.engine.status import Snapshot
from agent.review.keeper import stored_reviews
from agent.tray.icons import COLOURS
from agent.tray.menu import Action, MenuEntry, MenuFacts, build_menu, find, workflow_progress
from tests.engine.conftest import AgentHome, agent_home, kompliant  # noqa: F401
from tests.kit.agent import AgentProcess
from tests.tray.desktops import (
    Desktop,
    icon_box,
    menu_open,
    require_desktop,
    running_desktop,
    wait_until,
)


def _desktop(
    kind: str, tmp_path: Path, notifications: bool = True, keyring: bool = False
) -> Iterator[Desktop]:
    require_desktop(kind, keyring=keyring)
    with running_desktop(kind, tmp_path, notifications=notifications, keyring=keyring) as desktop:
        yield desktop


@pytest.fixture
def xfce(tmp_path: Path) -> Iterator[Desktop]:
    """xfce4-panel's Status Tray: a StatusNotifier host (and XEmbed tray)."""
    yield from _desktop("xfce", tmp_path)


@pytest.fixture
def xfce_with_keyring(tmp_path: Path) -> Iterator[Desktop]:
    """xfce4-panel and an empty, unlocked gnome-keyring on the desktop's bus."""
    yield from _desktop("xfce", tmp_path, keyring=True)


@pytest.fixture
def trayer(tmp_path: Path) -> Iterator[Desktop]:
    """trayer: an XEmbed tray only."""
    yield from _desktop("trayer", tmp_path)


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Desktop]:
    """A display and a session bus with a notification daemon, and no tray."""
    yield from _desktop("bare", tmp_path)


@pytest.fixture
def desktop(trayer: Desktop) -> Desktop:
    return trayer


# -- the agent on a desktop ------------------------------------------------------------------


@dataclass
class TrayAgent:
    """``kompliant-agent run`` on a desktop, and a person's hands on its tray."""

    home: AgentHome
    desktop: Desktop
    agent: AgentProcess

    def status(self) -> dict[str, Any]:
        return self.home.status_file()

    def opened(self) -> list[str]:
        """What the agent asked the desktop to open (xdg-open's arguments), in order."""
        record = self.home.home / OPENED
        if not record.exists():
            return []
        return record.read_text(encoding="utf-8").splitlines()

    def snapshot(self) -> Snapshot:
        return Snapshot.from_data(self.status())

    def tray(self) -> dict[str, Any]:
        import json

        try:
            data: dict[str, Any] = json.loads(
                (self.home.state_dir / "tray.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return {}
        return data

    def icon(self, state: AgentState) -> tuple[int, int, int, int]:
        box: tuple[int, int, int, int] = wait_until(
            lambda: icon_box(self.desktop.screenshot(), COLOURS[state]),
            what=f"the {state.value} icon in the tray",
            timeout=60,
        )
        return box

    def settled_menu(self, snoozed: bool = False) -> tuple[MenuEntry, ...]:
        """The menu once it has stayed the same for longer than the agent's status may
        lag behind a change (its progress is written at most twice a second): keys
        worked out from a menu that is about to change would land on other entries."""
        quiet = PUBLISH_EVERY + 0.3
        deadline = time.monotonic() + 30.0
        entries, since = self.menu(snoozed), time.monotonic()
        while time.monotonic() - since < quiet:
            assert time.monotonic() < deadline, f"the menu kept changing: {entries}"
            time.sleep(0.1)
            now = self.menu(snoozed)
            if now != entries:
                entries, since = now, time.monotonic()
        return entries

    def menu(self, snoozed: bool = False) -> tuple[MenuEntry, ...]:
        """The menu the agent shows now, from the same files it reads (``snoozed``: while
        notifications are snoozed, which only the running tray knows)."""
        snapshot = self.snapshot()
        config = load_config()
        cache = load_cache(requirements_file(config.agent.profile))
        names = {
            rd.required_document_id: rd.name
            for w in config.workflows
            if (cached := cache.get(w.workflow_id)) is not None
            for rd in cached.required_documents
        }
        facts = MenuFacts(
            workflows=workflow_progress(config, cache, snapshot.folders, stored_reviews(config)),
            requirement_names=names,
            signed_in=not snapshot.sign_in_needed,
            snoozed_until="00:00" if snoozed else None,
        )
        return build_menu(snapshot, facts)

    def open_menu(self) -> None:
        state = self.snapshot().state
        box = self.icon(state)
        # Notifications on screen would be taken for the menu (they stay in the history).
        self.desktop.run("dunstctl", "close-all", check=False)
        wait_until(
            lambda: not menu_open(self.desktop.screenshot()), what="the screen below the panel"
        )
        self.desktop.click((box[0] + box[2]) // 2, (box[1] + box[3]) // 2, 3)
        wait_until(lambda: menu_open(self.desktop.screenshot()), what="the tray menu to open")
        self.settle()

    def settle(self) -> None:
        """Wait until two looks in a row are the same: a StatusNotifier host draws a
        menu (and each submenu) before its items arrive over D-Bus, and draws it again
        then; keys sent meanwhile would go astray."""
        looks = [b"", b"x"]

        def settled() -> bool:
            looks[:] = [looks[1], self.desktop.screenshot().tobytes()]
            return looks[0] == looks[1]

        wait_until(settled, what="the tray menu to settle")

    def choose(
        self, action: Action, arg: str = "", *, snoozed: bool = False, window: str = ""
    ) -> None:
        """Right-click the icon and pick ``action`` with the keyboard, as a person would
        (``window``: the title of the window the action opens, waited for instead of
        the menu closing). The menu is read from the same files as the agent reads; if
        it changed while it opened, it is closed and opened again."""
        for _ in range(3):
            entries = self.settled_menu(snoozed)
            path = find(entries, action, arg)
            assert path, f"{action.value} {arg} is not in the menu: {entries}"
            self.open_menu()
            if self.menu(snoozed) == entries:
                break
            self.desktop.keys("Escape")
            wait_until(lambda: not menu_open(self.desktop.screenshot()), what="the menu to close")
        for keys in key_presses(entries, path):
            self.desktop.keys(*keys)
            if keys[-1] == "Right":
                self.settle()
        try:
            if window:
                wait_until(lambda: self.desktop.window_shown(window), what=f"the window {window!r}")
            else:
                wait_until(
                    lambda: not menu_open(self.desktop.screenshot()),
                    what="the tray menu to close",
                )
        except AssertionError as error:
            shot = self.home.home / f"menu-{action.value}.png"
            self.desktop.screenshot().save(shot)
            raise AssertionError(f"{error} (the screen: {shot})") from None


def key_presses(entries: Sequence[MenuEntry], path: Sequence[int]) -> list[list[str]]:
    """The keys that reach ``path`` in a menu just opened with the mouse, one list per
    menu level: Down to the entry (GTK skips separators and greyed-out lines), then
    Right into its submenu (which selects the submenu's first entry), or Return."""
    keys: list[list[str]] = []
    level: Sequence[MenuEntry] = entries
    for depth, index in enumerate(path):
        steps = sum(1 for e in level[: index + 1] if not e.separator and e.enabled)
        downs = ["Down"] * (steps if depth == 0 else steps - 1)
        if depth < len(path) - 1:
            keys.append([*downs, "Right"])
            level = level[index].submenu
        else:
            keys.append([*downs, "Return"])
    return keys


OPENED = "xdg-open.txt"
XDG_OPEN = """#!/bin/sh
# What the agent asks the desktop to open, written down instead of opened.
printf '%s\\n' "$*" >> "{record}"
"""


def start_on(
    home: AgentHome, desktop: Desktop, *extra: str, wait: bool = True, configure: bool = True
) -> TrayAgent:
    """The agent with the demo workflow (``configure``: set it up first), started on
    ``desktop``; ``xdg-open`` only writes down what it was asked to open
    (``TrayAgent.opened``)."""
    if configure:
        home.write_config()
        home.add_workflow()
    tools = home.home / "bin"
    tools.mkdir(exist_ok=True)
    opener = tools / "xdg-open"
    opener.write_text(XDG_OPEN.format(record=home.home / OPENED), encoding="utf-8")
    opener.chmod(0o755)
    home.env.update(
        {k: v for k, v in desktop.env.items() if k not in ("HOME",) and not k.startswith("KOMP")}
    )
    home.env["PATH"] = f"{tools}{os.pathsep}{home.env.get('PATH', '')}"
    return TrayAgent(home, desktop, home.start(*extra, wait=wait))
