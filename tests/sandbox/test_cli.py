"""`kompliant-agent sandbox` as a user runs it: a real process, real HTTP, SIGTERM to stop."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agent.cli import build_parser
from agent.cli.sandbox import parse_extensions
from tests.conftest import DEMO_SUBJECT
from tests.kit.processes import reaped
from tests.sandbox.conftest import printed_credentials

DEMO_KEY = "sb_DemoKey00000000000000001"


def test_the_command_serves_prints_credentials_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "KOMPLIANT_AGENT_HOME": str(tmp_path / "home")}
    command = [
        sys.executable,
        "-m",
        "agent",
        "sandbox",
        "--port",
        "0",
        "--data",
        str(tmp_path / "d"),
    ]
    with reaped(
        subprocess.Popen(
            [*command, "--hash-encoding", "base64", "--form-lifetime", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    ) as process:
        output, credentials = printed_credentials(process)
        assert "public test values" in output and credentials.api_key == DEMO_KEY
        auth = credentials.auth()
        with httpx.Client(base_url=credentials.api_url, auth=auth, timeout=30) as client:
            listed = client.post("/document.list", json={"subject_record_id": DEMO_SUBJECT})
        assert listed.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert (tmp_path / "d" / "state.sqlite3").exists()


def test_a_port_in_use_is_a_readable_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = build_parser().parse_args(["sandbox", "--port", str(port), "--data", str(tmp_path)])
        assert args.func(args) == 4
    assert "Choose another --port" in capsys.readouterr().err


def test_extension_lists() -> None:
    assert parse_extensions("PDF, tiff=image/tiff") == {
        "pdf": "application/pdf",
        "tiff": "image/tiff",
    }
    with pytest.raises(argparse.ArgumentTypeError, match="tiff=<content type>"):
        parse_extensions("tiff")
