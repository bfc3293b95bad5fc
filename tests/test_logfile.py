"""The log file: secrets masked, rotation, and `logs` / `logs --follow`."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.cli.logs import Follower, follow, last_lines
from agent.logfile import SecretFilter, log_file, setup_logging

SECRET = "s6MgmwW+DXGP5vyN1K5VbqFjAxc8FF4XqtnRkzs172Fv"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_the_filter_masks_known_secrets_and_credential_shapes() -> None:
    secret_filter = SecretFilter([SECRET, "short"])
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "key %s and %s",
        (SECRET, "Authorization: KSig1-HMAC-SHA256 abcdef"),
        None,
    )
    assert secret_filter.filter(record)
    text = record.getMessage()
    assert SECRET not in text and "abcdef" not in text
    assert text.count("[redacted]") == 2
    assert "short" in secret_filter.clean("short")  # too short to mask by value


def test_setup_logging_writes_the_file_without_secrets(tmp_path: Path) -> None:
    path = setup_logging(environ={"KOMPLIANT_SECRET_KEY": SECRET}, stream=io.StringIO())
    assert path == log_file() and path is not None
    logger = logging.getLogger("agent.test")
    logger.info("signed with %s", SECRET)
    try:
        raise ValueError(f"boom {SECRET}")
    except ValueError:
        logger.exception("failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text()
    assert "signed with [redacted]" in text
    assert "ValueError: boom [redacted]" in text
    assert SECRET not in text
    if os.name == "posix":
        assert path.stat().st_mode & 0o077 == 0


def test_logs_prints_the_last_lines(capsys: pytest.CaptureFixture[str]) -> None:
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    assert main(["logs", "-n", "3"]) == 0
    assert capsys.readouterr().out == "line 97\nline 98\nline 99\n"
    assert main(["logs", "--path"]) == 0
    assert capsys.readouterr().out.strip() == str(path)


def test_follow_reads_appends_and_survives_rotation(tmp_path: Path) -> None:
    path = tmp_path / "agent.log"
    path.write_text("old\n")
    lines, end = last_lines(path, 10)
    assert lines == ["old\n"]
    follower = Follower(path, end)
    with path.open("a") as handle:
        handle.write("one\n")
    assert follower.read_new() == "one\n"
    path.rename(tmp_path / "agent.log.1")
    assert follower.read_new() == ""
    path.write_text("two\n")
    assert follower.read_new() == "two\n"
    out = io.StringIO()
    rounds = iter([True, True, False])
    with path.open("a") as handle:
        handle.write("three\n")
    follow(follower, out, keep_going=lambda: next(rounds), sleep=lambda _: None)
    assert out.getvalue() == "three\n"


def test_logs_follow_as_a_process(tmp_path: Path) -> None:
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("before\n")
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "agent", "logs", "--follow"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "before\n"
        with path.open("a") as handle:
            handle.write("after\n")
        assert process.stdout.readline() == "after\n"
    finally:
        process.terminate()
        process.wait(timeout=10)
