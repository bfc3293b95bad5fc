"""The demo shows the tray when there is a display, as `run` does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from agent.engine.state import AgentState
from agent.tray.icons import COLOURS
from tests.tray.desktops import Desktop, icon_box, wait_until

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_shows_its_tray_icon(xfce: Desktop, tmp_path: Path) -> None:
    env = {k: v for k, v in xfce.env.items() if not k.startswith("KOMPLIANT_")}
    log = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen(
        [sys.executable, "-m", "agent", "demo", "--home", str(tmp_path / "demo")],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: icon_box(xfce.screenshot(), COLOURS[AgentState.IDLE]),
            what="the demo's icon in the tray, idle once the sample is settled",
            timeout=90,
        )
        assert xfce.sni_items() and xfce.sni_status(xfce.sni_items()[0]) == "Active"
        assert "The tray icon shows what the agent does" in (tmp_path / "demo.log").read_text()
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "demo.log").read_text()
    assert os.path.exists(tmp_path / "demo" / "logs" / "agent.log")
