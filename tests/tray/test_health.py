"""A backend that fails, or an icon no host shows, reaches the log, tray.json (status)
and doctor — never silence; a host of the other kind makes the icon change backend."""

from __future__ import annotations

import logging
import os
import types
from pathlib import Path
from typing import Any

import pytest

from agent.config import Config
from agent.credentials.policy import BackendChoice, BackendKind
from agent.doctor import Outcome, Probes, TrayFacts, run_checks
from agent.tray.health import SHOW_GRACE, IconHealth, RunningIcon
from agent.tray.hosts import TrayHosts
from agent.tray.loader import Tray
from agent.tray.report import read_report
from tests.kit.clock import FakeClock

SNI = TrayHosts(sni=True, sni_host=True)
XEMBED = TrayHosts(xembed=True)
ALL = ("appindicator", "gtk", "xorg")


class Probe:
    """The desktop as the health watch sees it: hosts, and the watcher's items."""

    def __init__(self, hosts: TrayHosts, items: tuple[str, ...] = (), status: str = "Active"):
        self._hosts, self.items, self.status = hosts, items, status

    def hosts(self) -> TrayHosts:
        return self._hosts

    def registered_items(self) -> tuple[str, ...]:
        return self.items

    def item_status(self, item: str) -> str:
        return self.status


class Watch:
    def __init__(self, tmp_path: Path, backend: str, hosts: TrayHosts) -> None:
        self.clock = FakeClock()
        self.problems: list[tuple[str, str]] = []
        self.switches: list[str] = []
        tray = Tray(types.SimpleNamespace(), backend, hosts, ALL)  # type: ignore[arg-type]
        self.health = IconHealth(
            tray,
            tmp_path,
            "kompliant-agent",
            clock=self.clock,
            post=lambda call: call(),
            notifications=lambda: True,
            on_problem=lambda why, fix: self.problems.append((why, fix)),
            on_switch=self.switches.append,
        )
        self.state_dir = tmp_path

    def icon(self, backend: str, **attributes: Any) -> None:
        icon = types.SimpleNamespace(failures=[], **attributes)
        self.health.running = RunningIcon(icon, backend, self.clock(), bus_name=":1.42")


def test_an_item_the_host_shows_is_reported_shown(tmp_path: Path) -> None:
    watch = Watch(tmp_path, "appindicator", SNI)
    watch.icon("appindicator")
    item = ":1.42/org/ayatana/NotificationItem/kompliant_agent"
    watch.health.look(Probe(SNI, (item,)))  # type: ignore[arg-type]
    report = read_report(tmp_path)
    assert report is not None and report.pid == os.getpid()
    assert report.shown is True and report.problem is None and report.backend == "appindicator"


def test_a_passive_item_is_a_problem_after_the_grace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watch = Watch(tmp_path, "appindicator", SNI)
    watch.icon("appindicator")
    passive = Probe(SNI, (":1.42/org/ayatana/NotificationItem/kompliant_agent",), "Passive")
    watch.health.look(passive)  # type: ignore[arg-type]
    assert watch.problems == []  # a host may take a moment
    watch.clock.advance(SHOW_GRACE)
    with caplog.at_level(logging.WARNING):
        watch.health.look(passive)  # type: ignore[arg-type]
    report = read_report(tmp_path)
    assert report is not None and report.shown is False
    assert "did not take the icon" in (report.problem or "")
    assert watch.problems and "tray icon not shown" in caplog.text
    watch.health.look(passive)  # type: ignore[arg-type]
    assert len(watch.problems) == 1  # told once


def test_a_failure_in_the_backends_loop_reaches_status_and_doctor(tmp_path: Path) -> None:
    watch = Watch(tmp_path, "gtk", XEMBED)
    watch.icon("gtk", shown=lambda: True)
    running = watch.health.running
    assert running is not None
    running.icon.failures.append("_update_menu: AttributeError: boom")
    watch.health.look(Probe(XEMBED))  # type: ignore[arg-type]
    report = read_report(tmp_path)
    assert report is not None and "the gtk backend failed: _update_menu" in (report.problem or "")

    secure = BackendChoice(BackendKind.SECURE, "keyring.backends.SecretService.Keyring", None)
    probes = Probes(
        keyring=lambda: secure,
        inotify_limit=lambda: 8192,
        tray=lambda env: TrayFacts(True, "gtk", has_menu=True, host_found=True, hosts="x"),
        running_tray=lambda profile: report,
        platform="linux",
    )
    tray = next(f for f in run_checks(Config(), "default", {}, probes) if f.check == "tray")
    assert tray.outcome is Outcome.WARNING
    assert "the running agent's tray icon is not shown" in tray.detail
    assert "_update_menu" in tray.detail and "restart the agent" in tray.fix


def test_an_xembed_tray_makes_the_appindicator_icon_switch_to_gtk(tmp_path: Path) -> None:
    watch = Watch(tmp_path, "appindicator", TrayHosts())
    watch.icon("appindicator")
    watch.health.look(Probe(XEMBED))  # type: ignore[arg-type]
    assert watch.switches == []  # not before the grace
    watch.clock.advance(SHOW_GRACE)
    watch.health.look(Probe(XEMBED))  # type: ignore[arg-type]
    assert watch.switches == ["gtk"]
