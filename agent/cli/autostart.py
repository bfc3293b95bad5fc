"""`kompliant-agent autostart enable|disable|status`: start the agent at login."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from agent.autostart import (
    AutostartKind,
    current_launch,
    default_kind,
    disable,
    enable,
    status,
)
from agent.autostart.entries import SYSTEMD_UNIT, describe
from agent.cli import exitcodes


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "autostart",
        help="start the agent when you log in (enable, disable, status)",
        description=(
            "enable: start this installation of the agent at login — on Linux as a systemd "
            "user service (restarted if it fails) or from the desktop session's autostart "
            "(--kind xdg, with the tray); on macOS as a LaunchAgent; on Windows from the "
            "Startup folder. disable: remove it. status: show what is set up."
        ),
    )
    parser.add_argument("action", choices=("enable", "disable", "status"))
    parser.add_argument(
        "--kind",
        choices=[k.value for k in AutostartKind],
        help="how to start it (default: the usual way on this system)",
    )
    parser.set_defaults(func=run_autostart)


def run_autostart(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    if args.action == "enable":
        kind = AutostartKind(args.kind) if args.kind else default_kind()
        return enable_and_say(kind, environ)
    if args.action == "disable":
        removed = disable(environ)
        if not removed:
            print("Autostart was not set up; nothing to remove.")
        for path in removed:
            print(f"Removed {path}")
        if removed:
            print("The agent no longer starts at login.")
        return exitcodes.OK
    states = status(current_launch(environ), environ)
    if not any(s.installed for s in states):
        print(
            f"Autostart is off ({describe([s.kind for s in states])} not set up). "
            "Turn it on with `kompliant-agent autostart enable`."
        )
    for state in states:
        if not state.installed:
            continue
        note = (
            "up to date"
            if state.current
            else "made by another installation or version: run "
            "`kompliant-agent autostart enable` again to update it"
        )
        print(f"on: {describe([state.kind])} — {state.path} ({note})")
    return exitcodes.OK


def enable_and_say(kind: AutostartKind, environ: dict[str, str]) -> int:
    path = enable(kind, current_launch(environ), environ)
    print(f"The agent now starts at login ({describe([kind])}): {path}")
    if kind is AutostartKind.SYSTEMD:
        print(
            f"To start it now: systemctl --user start {SYSTEMD_UNIT}; its output: "
            f"journalctl --user -u {SYSTEMD_UNIT} (and `kompliant-agent logs`)."
        )
    elif sys.platform == "darwin":
        print(f"To start it now: launchctl load {path}")
    return exitcodes.OK
