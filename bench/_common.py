"""What the engine benchmarks share: a sandbox in its own process, a throwaway agent home
with the demo workflow's folders, the running agent, and a way to see files land in done/.

The scripts run from a checkout (``.venv/bin/python bench/latency.py``); this module is
imported as ``_common`` because the script's folder is first on ``sys.path``.

Arrivals in ``done/`` are seen with Linux inotify (``IN_MOVED_TO`` / ``IN_CREATE``) read
through ``select``: the reading thread wakes when the kernel queues the event, so the
time taken is the rename's time plus the wake-up (tens of microseconds on an idle core,
more when both cores are busy). Elsewhere, a 1 ms ``stat`` loop does the same job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import resource
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEMO_WORKFLOW = "w_DemoApplication000000001"
DEMO_SUBJECT = "sr_DemoSubject000000000001"
DEMO_LABEL = "Demo Ltd"
#: The demo workflow's ACTIVE requirements: folder name → required document id.
REQUIREMENTS: Mapping[str, str] = {
    "Bank statements": "rd_BankStatements00000001",
    "Proof of address": "rd_ProofOfAddress0000001",
    "Government ID": "rd_GovernmentId000000001",
}
START_TIMEOUT = 30.0


@contextmanager
def bench_folder(prefix: str, *, keep: bool = False) -> Iterator[Path]:
    """A scratch folder for one benchmark run, removed after it unless ``keep``."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def machine() -> str:
    """One line naming what the figures were measured on."""
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{os.uname().sysname} {os.uname().release}{load}"
    )


def cpu_seconds(pid: int | None = None) -> tuple[float, float]:
    """(user, system) CPU time of process ``pid`` (all its threads), or of this process."""
    if pid is None:
        times = os.times()
        return times.user, times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def machine_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of every core since boot, from ``/proc/stat``: busy is all
    but idle and waiting for the disk. Two readings tell how busy the machine was in
    between (:func:`busy_share`)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - fields[3] - fields[4], total


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the machine's cores that were busy between two :func:`machine_ticks`."""
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..1) percentile by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max / mean of seconds, in milliseconds."""
    return {
        "p50": percentile(values, 0.5) * 1000,
        "p95": percentile(values, 0.95) * 1000,
        "max": max(values) * 1000,
        "mean": statistics.fmean(values) * 1000,
    }


# ---------------------------------------------------------------- the sandbox process


def serve_sandbox(data_dir: Path) -> None:
    """The child's side: run the sandbox, print the credentials' variables, wait for EOF."""
    from agent.sandbox.server import start_sandbox

    sandbox = start_sandbox(data_dir)
    credentials = sandbox.demo_credentials()
    assert credentials is not None
    print(
        json.dumps(
            {
                "KOMPLIANT_API_URL": credentials.api_url,
                "KOMPLIANT_API_KEY": credentials.api_key,
                "KOMPLIANT_SECRET_KEY": credentials.secret_key,
                "KOMPLIANT_AUTH_TOKEN": credentials.auth_token,
            }
        ),
        flush=True,
    )
    try:
        sys.stdin.read()  # until the parent closes the pipe
    finally:
        sandbox.stop()


@dataclass
class Sandbox:
    """A sandbox running in a child process (its CPU is not the agent's)."""

    process: subprocess.Popen[str]
    env: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.env["KOMPLIANT_API_URL"]

    def stats(self) -> dict[str, int]:
        """Calls per method since the last :meth:`reset_stats`."""
        answer = httpx.get(f"{self.base_url}/_sandbox/stats", timeout=10)
        answer.raise_for_status()
        methods: dict[str, int] = answer.json()["methods"]
        return methods

    def reset_stats(self) -> None:
        httpx.post(f"{self.base_url}/_sandbox/stats/reset", timeout=10).raise_for_status()

    def set_faults(self, **settings: object) -> None:
        """Change the sandbox's faults (docs/sandbox.md, Faults), e.g. ``latency_ms=50``."""
        answer = httpx.post(f"{self.base_url}/_sandbox/faults", json=settings, timeout=10)
        answer.raise_for_status()

    def cpu_seconds(self) -> float:
        """The sandbox process's CPU time so far (user and system)."""
        return sum(cpu_seconds(self.process.pid))


@contextmanager
def running_sandbox(data_dir: Path, *, root: Path = ROOT) -> Iterator[Sandbox]:
    """The sandbox of the checkout at ``root`` (default: this one) in a child process."""
    process = subprocess.Popen(
        [sys.executable, str(root / "bench" / "_common.py"), "--sandbox", str(data_dir)],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox did not start; see its output above")
        yield Sandbox(process, json.loads(line))
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- the agent's home


@dataclass(frozen=True)
class Stability:
    """The ``[stability]`` settings a run uses (see docs/folders.md)."""

    quiet_seconds: float = 2.0
    close_confirm_seconds: float = 0.25
    whole_confirm_seconds: float = 0.1
    polling: bool = False
    poll_interval: float = 1.0

    def describe(self) -> str:
        if self.polling:
            return f"polling every {self.poll_interval:g} s, quiet {self.quiet_seconds:g} s"
        return (
            f"inotify, close confirm {self.close_confirm_seconds:g} s, "
            f"{self.whole_confirm_seconds:g} s when whole (quiet {self.quiet_seconds:g} s)"
        )

    def toml(self) -> str:
        return (
            "[stability]\n"
            f"quiet_seconds = {self.quiet_seconds!r}\n"
            f"close_confirm_seconds = {self.close_confirm_seconds!r}\n"
            f"whole_confirm_seconds = {self.whole_confirm_seconds!r}\n"
            f"polling = {'true' if self.polling else 'false'}\n"
            f"poll_interval = {self.poll_interval!r}\n"
        )


@dataclass(frozen=True)
class AgentHome:
    """A ``KOMPLIANT_AGENT_HOME`` with env credentials and the demo workflow's folders."""

    path: Path
    env: dict[str, str]
    folders: dict[str, Path]  # requirement folder name → folder

    def done(self, name: str) -> Path:
        return self.folders[name] / "done"


def make_home(
    parent: Path, sandbox: Sandbox, stability: Stability, *, workers: int = 4
) -> AgentHome:
    """A fresh agent home under ``parent``: config, the demo workflow, its folders."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=parent))
    root = home / "Kompliant"
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[agent]\nroot = "{root}"\nworkers = {workers}\nrefresh_interval = 3600\n\n'
        + stability.toml(),
        encoding="utf-8",
    )
    env = {**os.environ, **sandbox.env, "KOMPLIANT_AGENT_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-m", "agent", "add-workflow", DEMO_WORKFLOW, "--label", DEMO_LABEL],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    workflow = root / f"{DEMO_LABEL} ({DEMO_WORKFLOW})"
    folders = {name: workflow / name for name in REQUIREMENTS}
    for folder in folders.values():
        if not folder.is_dir():
            raise RuntimeError(f"add-workflow did not create {folder}")
    _check_kept(config, stability)
    return AgentHome(home, env, folders)


def _check_kept(config: Path, stability: Stability) -> None:
    """add-workflow rewrites the config: make sure the stability settings survived."""
    import tomllib

    data = tomllib.loads(config.read_text(encoding="utf-8")).get("stability", {})
    wanted = {
        "quiet_seconds": stability.quiet_seconds,
        "close_confirm_seconds": stability.close_confirm_seconds,
        "whole_confirm_seconds": stability.whole_confirm_seconds,
        "polling": stability.polling,
        "poll_interval": stability.poll_interval,
    }
    for key, value in wanted.items():
        if data.get(key, value) != value:
            raise RuntimeError(f"the config lost [stability] {key} = {value!r}: {data}")


# ---------------------------------------------------------------- the running agent


@dataclass
class RunningAgent:
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def running_agent(home: AgentHome, *, log_name: str = "run.log") -> Iterator[RunningAgent]:
    """``python -m agent run`` in the background, stopped with SIGTERM at the end.

    Its output goes to ``<home>/<log_name>``; ready once it says it is watching.
    """
    log_path = home.path / log_name
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "agent", "run"],
            env=home.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while b"watching" not in log_path.read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the agent did not start:\n{log_path.read_text(errors='replace')}"
                    )
                time.sleep(0.02)
            yield RunningAgent(process, log)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---------------------------------------------------------------- arrivals in done/

_IN_CREATE = 0x00000100
_IN_MOVED_TO = 0x00000080
_IN_NONBLOCK = 0o4000
_EVENT = struct.Struct("iIII")


class DoneWatch:
    """Names arriving in some ``done/`` folders, each with the monotonic time it was seen.

    Receipts (``*.receipt.txt``) are left out. Create the folders before watching.
    """

    def __init__(self, folders: Iterable[Path]) -> None:
        self._folders = list(folders)
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = self._libc.inotify_init1(_IN_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        for folder in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            wd = self._libc.inotify_add_watch(
                self._fd, os.fsencode(folder), _IN_MOVED_TO | _IN_CREATE
            )
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"cannot watch {folder}")
        self.seen: dict[str, float] = {}

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> DoneWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if not ready:
            return
        now = time.monotonic()
        try:
            data = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return
        offset = 0
        while offset < len(data):
            _, _, _, length = _EVENT.unpack_from(data, offset)
            raw = data[offset + _EVENT.size : offset + _EVENT.size + length]
            offset += _EVENT.size + length
            name = raw.rstrip(b"\0").decode(errors="replace")
            if name and not name.endswith(".txt") and not name.startswith("."):
                self.seen.setdefault(name, now)

    def wait_for(self, names: set[str], timeout: float) -> bool:
        """Wait until every name in ``names`` was seen; ``False`` when time runs out."""
        deadline = time.monotonic() + timeout
        while not names <= self.seen.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._read(min(left, 1.0))
        return True


def write_file(path: Path, content: bytes) -> float:
    """Write ``content`` to ``path`` like a program saving a file; return the close time."""
    with path.open("wb") as handle:
        handle.write(content)
    return time.monotonic()


def big_pdf(path: Path, size: int) -> None:
    """``size`` bytes on disk that Kompliant takes for a PDF, cheap to make: the header, a
    random 1 MiB block repeated (unique per file), the end marker."""
    head, tail = b"%PDF-1.4\n", b"\n%%EOF\n"
    block = os.urandom(1024 * 1024)
    with path.open("wb") as handle:
        handle.write(head)
        left = size - len(head) - len(tail)
        while left > 0:
            step = min(left, len(block))
            handle.write(block[:step])
            left -= step
        handle.write(tail)


def pdf_bytes(tag: str, size: int = 2048) -> bytes:
    """A small, unique PDF that opens: one blank A4 page, the tag and padding in a comment,
    an exact cross-reference table and ``%%EOF`` (unique, so no run sees a duplicate)."""
    note = f"% bench {tag} {time.time_ns()} ".encode()
    objects = (
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    )

    def build(padding: int) -> bytes:
        body = bytearray(b"%PDF-1.4\n" + note + b"0" * padding + b"\n")
        offsets = []
        for number, obj in enumerate(objects, start=1):
            offsets.append(len(body))
            body += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
        xref = len(body)
        body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
        body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
        body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
        body += f"startxref\n{xref}\n%%EOF\n".encode()
        return bytes(body)

    return build(max(0, size - len(build(0))))


def png_bytes(tag: str, size: int = 2048) -> bytes:
    """A small, unique PNG that decodes: one grey pixel, the tag and padding in a text
    chunk, ending with IEND (unique, so no run sees a duplicate)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    idat = chunk(b"IDAT", zlib.compress(b"\x00\x80"))
    iend = chunk(b"IEND", b"")
    text = f"bench {tag} {time.time_ns()} ".encode()
    fixed = 8 + len(ihdr) + len(idat) + len(iend) + 12 + len(b"Comment\x00")
    text += b"0" * max(0, size - fixed - len(text))
    return b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"tEXt", b"Comment\x00" + text) + idat + iend


#: What a benchmark's sample files are: name suffix → a function of (tag, size) to bytes.
SAMPLES = {".pdf": pdf_bytes, ".png": png_bytes}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--sandbox":
        serve_sandbox(Path(sys.argv[2]))
    else:
        sys.exit("usage: _common.py --sandbox DATA_DIR (started by the benchmarks)")
