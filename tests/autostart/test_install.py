"""enable / disable / status against a redirected HOME, and the CLI on top."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from agent.autostart import AutostartKind, Launch, disable, enable, status
from agent.autostart.entries import wants_link
from agent.autostart.install import current_launch
from agent.cli import main


class Systemctl:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, arguments: Sequence[str]) -> bool:
        self.calls.append(list(arguments))
        return True


LAUNCH = Launch(program=("/opt/kompliant-agent/kompliant-agent",))


def test_enable_systemd_writes_the_unit_and_the_wants_link(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    systemctl = Systemctl()
    unit = enable(AutostartKind.SYSTEMD, LAUNCH, env, platform="linux", systemctl=systemctl)
    assert unit == tmp_path / ".config/systemd/user/kompliant-agent.service"
    link = wants_link(unit)
    assert link.is_symlink() and link.resolve() == unit.resolve()
    assert ["daemon-reload"] in systemctl.calls
    [systemd, xdg] = status(LAUNCH, env, platform="linux")
    assert (systemd.installed, systemd.current, xdg.installed) == (True, True, False)


def test_enabling_one_linux_kind_removes_the_other(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    systemctl = Systemctl()
    unit = enable(AutostartKind.SYSTEMD, LAUNCH, env, platform="linux", systemctl=systemctl)
    desktop = enable(AutostartKind.XDG, LAUNCH, env, platform="linux", systemctl=systemctl)
    assert desktop.is_file()
    assert not unit.exists() and not wants_link(unit).is_symlink()
    assert ["stop", "kompliant-agent.service"] in systemctl.calls


def test_status_notices_a_file_of_another_installation(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    enable(AutostartKind.LAUNCHD, LAUNCH, env, platform="darwin", systemctl=Systemctl())
    other = Launch(program=("/Applications/Other.app/kompliant-agent",))
    [state] = status(other, env, platform="darwin")
    assert state.installed and not state.current


def test_disable_removes_everything_and_is_safe_to_repeat(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "APPDATA": str(tmp_path / "AppData")}
    entry = enable(AutostartKind.WINDOWS, LAUNCH, env, platform="win32", systemctl=Systemctl())
    assert entry.read_bytes().startswith(b"@echo off\r\n")
    assert disable(env, platform="win32", systemctl=Systemctl()) == [entry]
    assert not entry.exists()
    assert disable(env, platform="win32", systemctl=Systemctl()) == []


def test_a_kind_of_another_platform_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not available on linux"):
        enable(AutostartKind.LAUNCHD, LAUNCH, {"HOME": str(tmp_path)}, platform="linux")


def test_the_launch_keeps_the_relocated_home(tmp_path: Path) -> None:
    start = current_launch({"KOMPLIANT_AGENT_HOME": str(tmp_path)})
    assert start.program[1:] == ("-m", "agent")
    assert start.environment == (("KOMPLIANT_AGENT_HOME", str(tmp_path)),)


def test_cli_enable_status_disable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setattr("agent.autostart.install.systemctl_user", Systemctl())
    assert main(["autostart", "enable", "--kind", "xdg"]) == 0
    desktop = tmp_path / ".config/autostart/kompliant-agent.desktop"
    assert desktop.is_file()
    assert os.environ["KOMPLIANT_AGENT_HOME"] in desktop.read_text()
    capsys.readouterr()
    assert main(["autostart", "status"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["autostart", "disable"]) == 0
    assert not desktop.exists()
    assert main(["autostart", "status"]) == 0
    assert "Autostart is off" in capsys.readouterr().out
