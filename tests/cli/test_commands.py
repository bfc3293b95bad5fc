"""The command table: each module's commands as it registers them, and one loaded per run."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from agent.cli import COMMANDS, build_parser
from tests.kit.agent import REPO


def test_the_table_names_exactly_the_commands_each_module_registers() -> None:
    for module, commands in COMMANDS.items():
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers(dest="command")
        importlib.import_module(module).register(sub)
        assert tuple(sub.choices) == commands, module


def test_help_lists_every_command_and_a_command_loads_only_its_module() -> None:
    every = [c for commands in COMMANDS.values() for c in commands]
    listed = build_parser().format_help()
    assert all(command in listed for command in every)
    assert build_parser(["status", "--json"]).parse_args(["status", "--json"]).json
    probe = (
        "import sys; from agent.cli import build_parser; build_parser(['status']); "
        "print(sorted(m for m in ('agent.engine.runner', 'httpx', 'watchdog', 'keyring') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
