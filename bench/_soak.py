"""Shared pieces of the soaks: a sandbox in its own process, a hard deadline, a verdict.

The agent installation, the files and the end-state check come from the crash test's kit
(``tests/engine/crashkit.py``): an :class:`Install` with two requirement folders and a
combined folder, :func:`make_batch` / :func:`drop`, and :func:`check_settled_once`, which
compares the folders, the receipts and the sandbox's state.

- :class:`SandboxProcess`: ``python -m agent sandbox`` on a fixed port and data folder, so
  it can be stopped (SIGTERM, state saved) and started again where it was;
- :func:`hard_deadline`: SIGALRM raises :class:`SoakTimeout` when the soak runs too long, so
  it always stops by itself with a verdict;
- :class:`Verdict`: the checks and figures printed at the end; exit code 0 only on PASS.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agent.kompliant.auth import Credentials  # noqa: E402
from tests.engine.crashkit import (  # noqa: E402
    Dropped,
    Install,
    check_settled_once,
    journal_outcomes,
)

START_TIMEOUT = 30.0


class SoakTimeout(Exception):
    """The soak ran past its hard deadline."""


@contextlib.contextmanager
def hard_deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`SoakTimeout` in the main thread after ``seconds`` (SIGALRM)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise SoakTimeout(f"the soak ran past its limit of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def machine() -> str:
    load = f", load {os.getloadavg()[0]:.1f}"
    return (
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{os.uname().sysname} {os.uname().release}{load}"
    )


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "agent"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() + (" (agent/ modified)" if dirty.stdout.strip() else "")


@dataclass
class SandboxProcess:
    """``python -m agent sandbox`` in its own process, on one port and one data folder."""

    data: Path
    home: Path  # its KOMPLIANT_AGENT_HOME (nothing of the user's is touched)
    options: Sequence[str] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data.parent / f"sandbox-{self.starts:02d}.log"

    def start(self) -> Credentials:
        """Start it (again) and wait until it answers; the demo credentials it printed."""
        self.starts += 1
        self.data.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "KOMPLIANT_AGENT_HOME": str(self.home), "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "agent", "sandbox", "--port", str(self.port)]
        command += ["--data", str(self.data), *self.options]
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with self.log.open("wb") as handle:
                self.process = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
                )
            while self.process.poll() is None and "auth token:" not in self._output():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start:\n{self._output()}")
                time.sleep(0.05)
            if self.process.poll() is None:
                return self._credentials()
            # the port may still be held by the previous process for a moment
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start:\n{self._output()}")
            time.sleep(0.5)

    def _output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def _credentials(self) -> Credentials:
        values: dict[str, str] = {}
        for line in self._output().splitlines():
            key, _, value = line.strip().partition(":")
            values[key.strip()] = value.strip()
        return Credentials(
            api_url=self.base_url,
            api_key=values["API key"],
            secret_key=values["secret key"],
            auth_token=values["auth token"],
        )

    def stop(self) -> None:
        """SIGTERM: the sandbox saves its state and exits; SIGKILL if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def state(self) -> dict[str, Any]:
        """Everything it holds, deleted records included (GET /_sandbox/state)."""
        answer = httpx.get(f"{self.base_url}/_sandbox/state", timeout=60)
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data

    def stats(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.base_url}/_sandbox/stats", timeout=30)
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data

    def set_faults(self, **settings: Any) -> None:
        answer = httpx.post(f"{self.base_url}/_sandbox/faults", json=settings, timeout=30)
        answer.raise_for_status()


def read_status(install_home: Path) -> dict[str, Any]:
    """The running agent's status.json ({} when there is none or it is being replaced)."""
    path = install_home / "state" / "profiles" / "default" / "status.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data


def poll_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``condition`` until true (``True``) or until ``timeout`` s (``False``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


@dataclass
class Verdict:
    """Named checks and figures, printed as one report."""

    title: str
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, ok, detail))
        return ok

    def figure(self, name: str, value: object) -> None:
        self.figures.append((name, str(value)))

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def report(self) -> str:
        lines = [f"== {self.title}: {'PASS' if self.passed else 'FAIL'}"]
        lines += [f"  {name}: {value}" for name, value in self.figures]
        for name, ok, detail in self.checks:
            lines.append(
                f"  [{'ok' if ok else 'FAIL'}] {name}" + (f" — {detail}" if detail else "")
            )
        return "\n".join(lines)


def check_end_state(
    install: Install, dropped: list[Dropped], state: dict[str, Any], verdict: Verdict
) -> None:
    """Duplicates counted on the sandbox, then the crash test's full end-state check."""
    live_docs = [d for d in state["documents"] if d["deleted_at"] is None]
    completed = Counter(d["hash"] for d in live_docs if d["upload_status"] == "COMPLETED")
    links = Counter(
        (f["document_id"], f["required_document_id"])
        for f in state["fulfillments"]
        if f["deleted_at"] is None
    )
    duplicate_docs = sum(1 for n in completed.values() if n > 1)
    duplicate_links = sum(1 for n in links.values() if n > 1)
    deleted = sum(1 for d in state["documents"] if d["deleted_at"] is not None)
    verdict.figure(
        "sandbox documents",
        f"{len(live_docs)} live, {deleted} deleted (abandoned uploads cleaned up)",
    )
    verdict.figure("live fulfillments", sum(links.values()))
    verdict.check("no duplicate COMPLETED document", duplicate_docs == 0, f"{duplicate_docs}")
    verdict.check("no duplicate fulfillment", duplicate_links == 0, f"{duplicate_links}")
    try:
        check_settled_once(install.workflow, dropped, state)
        verdict.check("folders, receipts and sandbox agree (check_settled_once)", True)
    except AssertionError as problems:
        text = str(problems)
        verdict.check(
            "folders, receipts and sandbox agree (check_settled_once)",
            False,
            f"{text.count(chr(10)) + 1} problems: {text[:2000]}",
        )
    outcomes = journal_outcomes(install.journal)
    wanted = Counter({(d.name, "done"): 1 for d in dropped})
    verdict.check(
        "the journal says done once per file",
        outcomes == wanted,
        "" if outcomes == wanted else str(outcomes - wanted)[:1000],
    )


def conclude(
    verdict: Verdict, install: Install | None, work: Path, *, keep: bool, last_logs: int
) -> int:
    """Print the verdict (and, on FAIL, the agent's last logs); keep or remove ``work``."""
    print(verdict.report(), flush=True)
    if not verdict.passed and install is not None:
        print(install.logs(last=last_logs)[-4000 * last_logs :])
    if keep or not verdict.passed:
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if verdict.passed else 1
