"""Desktops without the tray the agent expected: none at all, or one that comes later.

With no tray host (a display and a session bus, no StatusNotifier host and no XEmbed
tray — GNOME without its extension), ``doctor`` says so with the fix, the agent logs it,
and a failed file still reaches the user, by notification. A tray that starts after the
agent (a panel slower than the autostart at login) gets the icon, in the backend it
takes.
"""

from __future__ import annotations

import json
import subprocess

from agent.engine.state import AgentState
from tests.engine.conftest import AgentHome, drop
from tests.tray.conftest import start_on
from tests.tray.desktops import TRAYER, Desktop, wait_until


def test_without_a_tray_doctor_says_so_and_a_failure_reaches_the_user_by_notification(
    agent_home: AgentHome, bare: Desktop
) -> None:
    bare.env["XDG_CURRENT_DESKTOP"] = "GNOME"
    tray = start_on(agent_home, bare)
    wait_until(lambda: tray.tray().get("problem"), what="the tray report to tell the problem")
    assert tray.tray()["hosts"] == "no tray host"
    assert "icon not shown: no tray host on this desktop" in tray.agent.output()

    doctor = agent_home.cli("doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr  # a warning, not a failure
    found = {f["check"]: f for f in json.loads(doctor.stdout)["findings"]}
    assert found["tray"]["outcome"] == "warning"
    assert "no tray host on this desktop" in found["tray"]["detail"]
    assert "gnome-shell-extension-appindicator" in found["tray"]["fix"]
    plain = agent_home.cli("doctor")
    assert "[warn] tray:" in plain.stdout and "All checks passed." not in plain.stdout

    told = wait_until(
        lambda: [t for t in bare.notifications() if "without a tray icon" in t],
        what="a notification that the agent runs without a tray icon",
    )
    assert "gnome-shell-extension-appindicator" in told[0]
    bank = agent_home.folder("Bank statements")
    drop(bank, "notes.txt", b"a type Kompliant does not take")
    wait_until(lambda: (bank / "failed" / "notes.txt").exists(), what="notes.txt to fail")
    failed = wait_until(
        lambda: [t for t in bare.notifications() if "notes.txt" in t],
        what="a notification naming the failed file",
    )
    assert "notes.txt failed" in failed[0] and "Bank statements" in failed[0]
    assert tray.agent.stop() == 0


def test_a_tray_that_starts_after_the_agent_gets_the_icon(
    agent_home: AgentHome, bare: Desktop
) -> None:
    tray = start_on(agent_home, bare)
    wait_until(lambda: tray.tray().get("problem"), what="the agent to find no tray")
    assert tray.tray()["backend"] == "appindicator"  # the best guess without a host

    trayer = subprocess.Popen(TRAYER, env=bare.env, stderr=subprocess.DEVNULL)
    bare.processes.append(trayer)

    tray.icon(AgentState.IDLE)
    wait_until(
        lambda: tray.tray().get("shown") and tray.tray().get("backend") == "gtk",
        what="the agent to show the icon in the XEmbed tray",
        timeout=60,
    )
    assert "switching from the appindicator to the gtk backend" in tray.agent.output()
    assert tray.tray()["problem"] is None
    tray.open_menu()  # the new icon has the menu
    bare.keys("Escape")
    assert tray.agent.stop() == 0
