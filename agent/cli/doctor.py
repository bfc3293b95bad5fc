"""`kompliant-agent doctor`: is this installation able to work, and what to fix if not."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from typing import Any

from agent.cli import exitcodes
from agent.cli.profile import add_profile_option, profile_for
from agent.config import load_config
from agent.doctor import Finding, Outcome, run_checks

MARKS = {
    Outcome.OK: "ok  ",
    Outcome.WARNING: "warn",
    Outcome.FAILED: "FAIL",
    Outcome.SKIPPED: "skip",
}


def register(sub: argparse._SubParsersAction[Any]) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check the keyring, credentials, API, folders, file watching and tray",
        description=(
            "Check everything the agent needs: a secure keyring, credentials Kompliant "
            "accepts, the API within reach, the watched folders present and writable, "
            "enough inotify watches (Linux) and a tray backend. Each problem comes with "
            "its fix. Exit code 0 when nothing failed (warnings are fine), 4 otherwise."
        ),
    )
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    add_profile_option(doctor)
    doctor.set_defaults(func=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    config = load_config()
    profile = profile_for(args, config)
    findings = run_checks(config, profile, os.environ)
    ok = all(f.passed for f in findings)
    warnings = [f for f in findings if f.outcome is Outcome.WARNING]
    if args.json:
        data = [dataclasses.asdict(f) | {"outcome": f.outcome.value} for f in findings]
        print(json.dumps({"passed": ok, "warnings": len(warnings), "findings": data}, indent=2))
    else:
        for finding in findings:
            print(format_finding(finding))
        print(conclusion(ok, len(warnings)))
    return exitcodes.OK if ok else exitcodes.CANNOT_SUCCEED


def conclusion(ok: bool, warnings: int) -> str:
    """The last line: "All checks passed." only when nothing failed and nothing warned."""
    if not ok:
        return "Some checks failed: fix them as shown, then run `kompliant-agent doctor` again."
    if warnings:
        checks = "check" if warnings == 1 else "checks"
        return (
            f"No check failed, but {warnings} {checks} gave a warning ([warn] above): the "
            "agent works, and the fixes shown make it work better."
        )
    return "All checks passed."


def format_finding(finding: Finding) -> str:
    line = f"[{MARKS[finding.outcome]}] {finding.check}: {finding.detail}"
    if finding.fix and finding.outcome in (Outcome.FAILED, Outcome.WARNING):
        line += f"\n       fix: {finding.fix}"
    return line
