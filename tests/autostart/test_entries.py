"""The autostart files, rendered from packaging/autostart/ and read back by each format's rules."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.autostart import AutostartKind, Launch, render, target_path
from agent.autostart.entries import parse_desktop_exec, systemd_quote

# Awkward on purpose: spaces, %, $, quotes and a backslash in paths and values.
HOME_VALUE = "/home/ann/My Kompliant $HOME 100%"


def launch(tmp_path: Path) -> Launch:
    folder = tmp_path / "App 100% new"
    folder.mkdir()
    program = folder / "kompliant-agent"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    return Launch(
        program=(str(program),),
        environment=(("KOMPLIANT_AGENT_HOME", HOME_VALUE),),
        log_dir=tmp_path / "logs & more",
    )


def test_the_systemd_unit_restarts_on_failure_and_reaches_the_keyring(tmp_path: Path) -> None:
    text = render(AutostartKind.SYSTEMD, launch(tmp_path))
    lines = text.splitlines()
    assert "Restart=on-failure" in lines
    assert "Environment=DBUS_SESSION_BUS_ADDRESS=unix:path=%t/bus" in lines
    assert "WantedBy=default.target" in lines
    assert "${" not in text
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    assert exec_start.endswith(" run --no-tray")
    # % is doubled (a specifier otherwise), $ too (a variable otherwise), quotes escaped
    assert '"KOMPLIANT_AGENT_HOME=/home/ann/My Kompliant $$HOME 100%%"' in text
    assert exec_start.startswith('ExecStart="') and "App 100%% new" in exec_start


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_analyze_accepts_the_unit_and_rejects_a_broken_one(tmp_path: Path) -> None:
    unit = tmp_path / "kompliant-agent.service"
    unit.write_text(render(AutostartKind.SYSTEMD, launch(tmp_path)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "kompliant-agent.service" not in done.stderr, done.stderr
    # The check can fail: an ExecStart that is not executable is reported.
    broken = tmp_path / "broken.service"
    broken.write_text(unit.read_text().replace("ExecStart=", "ExecStart=/nonexistent/x "))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0


def test_the_desktop_entry_parses_and_its_exec_gives_back_the_arguments(tmp_path: Path) -> None:
    start = launch(tmp_path)
    text = render(AutostartKind.XDG, start)
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(text)
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Kompliant Agent"
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    assert parse_desktop_exec(entry["Exec"]) == [
        "env",
        f"KOMPLIANT_AGENT_HOME={HOME_VALUE}",
        *start.program,
        "run",
    ]


def test_the_launch_agent_plist_parses(tmp_path: Path) -> None:
    start = launch(tmp_path)
    data = plistlib.loads(render(AutostartKind.LAUNCHD, start).encode("utf-8"))
    assert data["Label"] == "com.kompliant.agent"
    assert data["ProgramArguments"] == [*start.program, "run"]
    assert data["EnvironmentVariables"] == {"KOMPLIANT_AGENT_HOME": HOME_VALUE}
    assert data["RunAtLoad"] is True
    assert data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["StandardErrorPath"] == str(start.log_dir / "launchd.log")


def test_the_windows_startup_entry_is_a_crlf_batch_file(tmp_path: Path) -> None:
    start = launch(tmp_path)
    text = render(AutostartKind.WINDOWS, start)
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[0] == "@echo off"
    assert 'set "KOMPLIANT_AGENT_HOME=/home/ann/My Kompliant $HOME 100%%"' in lines
    start_line = next(line for line in lines if line.startswith("start "))
    assert start_line.endswith('" "run"')


def test_without_environment_no_blank_line_is_left(tmp_path: Path) -> None:
    text = render(AutostartKind.SYSTEMD, Launch(program=("/usr/bin/kompliant-agent",)))
    assert "ExecStart=/usr/bin/kompliant-agent run --no-tray\nRestart=" not in text
    assert "\n\n\n" not in text
    assert "Environment=\n" not in text


def test_locations_follow_home_and_xdg(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert target_path(AutostartKind.SYSTEMD, env) == (
        tmp_path / "cfg" / "systemd" / "user" / "kompliant-agent.service"
    )
    assert target_path(AutostartKind.XDG, env) == tmp_path / "cfg/autostart/kompliant-agent.desktop"
    assert target_path(AutostartKind.XDG, {"HOME": str(tmp_path)}) == (
        tmp_path / ".config/autostart/kompliant-agent.desktop"
    )
    assert target_path(AutostartKind.LAUNCHD, env) == (
        tmp_path / "Library/LaunchAgents/com.kompliant.agent.plist"
    )
    windows = target_path(AutostartKind.WINDOWS, {"HOME": "x", "APPDATA": str(tmp_path)})
    assert windows == tmp_path / "Microsoft/Windows/Start Menu/Programs/Startup/Kompliant Agent.cmd"


@pytest.mark.parametrize(
    ("word", "quoted"),
    [("/usr/bin/x", "/usr/bin/x"), ("a b", '"a b"'), ("50%", "50%%"), ("$X", '"$$X"')],
)
def test_systemd_quoting(word: str, quoted: str) -> None:
    assert systemd_quote(word) == quoted
