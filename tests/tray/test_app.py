"""When the tray is shown, and that headless runs never import pystray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.tray.loader import display_available

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="X11 / Wayland only")
def test_a_display_is_x11_or_wayland() -> None:
    assert display_available({"DISPLAY": ":0"})
    assert display_available({"WAYLAND_DISPLAY": "wayland-0"})
    assert not display_available({})
    assert not display_available({"DISPLAY": ""})


def test_headless_runs_never_import_pystray(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from agent.cli import build_parser\n"
        "import agent.cli.run\n"
        "from agent.tray.loader import load_tray\n"
        "assert load_tray() is None\n"
        "print('pystray' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "KOMPLIANT_AGENT_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
