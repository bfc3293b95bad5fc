"""One agent per profile: a real second process is refused; a killed holder frees the lock."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from agent.settle import AlreadyRunning, ProfileLock
from tests.journal.helpers import python
from tests.kit.processes import reaped

HOLDER = """
import sys, time
from pathlib import Path
from agent.settle import ProfileLock

lock = ProfileLock.acquire(Path(sys.argv[1]), profile="default")
print("held", flush=True)
time.sleep(120)
"""

SECOND = """
import sys
from pathlib import Path
from agent.settle import AlreadyRunning, ProfileLock

try:
    ProfileLock.acquire(Path(sys.argv[1]), profile="default")
except AlreadyRunning as error:
    print(error.pid)
    print(error.describe())
    sys.exit(4)
print("acquired")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_second_agent_is_told_who_runs_and_a_killed_one_frees_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "state" / "profiles" / "default"
    with reaped(python(HOLDER, str(state))) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"

        second = python(SECOND, str(state))
        out, err = second.communicate(timeout=30)
        assert second.returncode == 4, err
        pid_line, message = out.split("\n", 1)
        assert int(pid_line) == holder.pid
        assert f"already running for profile 'default' (process {holder.pid})" in message
        assert "another --profile" in message

        with pytest.raises(AlreadyRunning):  # also within another process's threads
            ProfileLock.acquire(state)

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)

    third = python(SECOND, str(state))
    out, err = third.communicate(timeout=30)
    assert (third.returncode, out.strip()) == (0, "acquired"), err


def test_release_lets_the_next_agent_in(tmp_path: Path) -> None:
    with ProfileLock.acquire(tmp_path, profile="p") as lock:
        assert lock.held
        with pytest.raises(AlreadyRunning, match="for profile 'p'") as caught:
            ProfileLock.acquire(tmp_path, profile="p")
        assert caught.value.pid is not None
    assert not lock.held
    again = ProfileLock.acquire(tmp_path)
    again.release()
    again.release()  # twice is harmless


def test_the_lock_file_left_behind_does_not_block(tmp_path: Path) -> None:
    (tmp_path / "agent.lock").write_text('{"pid": 999999, "host": "gone"}')
    lock = ProfileLock.acquire(tmp_path)
    try:
        assert json.loads((tmp_path / "agent.lock").read_text())["pid"] == os.getpid()
    finally:
        lock.release()
