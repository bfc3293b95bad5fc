"""1,000 small files dropped at once: the watching agent next to a minimal client.

    .venv/bin/python bench/many_files.py [--files 1000] [--workers 4] [--order minimal,agent]
                                         [--close-confirm 0.25] [--py-spy] [--strace]
                                         [--shared-upload-client]

One sandbox runs in its own process for the whole run. Two contenders, one after the
other, each with ``--workers`` threads and the same number of files:

* **agent** — ``python -m agent run`` watching the demo workflow's folders. After three
  warm-up files, the files (2 KiB, unique content) are written into the three
  requirement folders as fast as this script can write them; the clock runs from the
  first write until inotify has reported every one of them in done/.
* **minimal** — :class:`MinimalClient`: the same Kompliant calls per file
  (document.create → presigned POST → document.get until COMPLETED → batchAdd) from a
  thread pool, on files already on disk: no watching, no stability wait, no claim, no
  journal, no move, no receipt.

The sandbox's call counters are reset before each contender and printed after, to show
that both made the same calls. The agent's journal then tells where its time went: when
the files were claimed (finished-file detection and the event loop) and how long each
took from claim to done/ (the workers' queue and the pipeline). ``--py-spy`` also
samples the agent with py-spy (``pip install py-spy``) and prints its busiest functions;
``--strace`` counts its fsync / rename / open / write calls per file.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    REQUIREMENTS,
    AgentHome,
    DoneWatch,
    Sandbox,
    Stability,
    machine,
    make_home,
    pdf_bytes,
    percentile,
    running_agent,
    running_sandbox,
)

ALL_DONE_TIMEOUT = 900.0


MINIMAL_FIRST_WAIT = 0.05


class MinimalClient:
    """The same Kompliant calls as the agent for one file, and nothing else.

    document.create → presigned POST → document.get until COMPLETED (hash compared) →
    fulfillment.batchAdd. No watching, no stability wait, no claim, no journal, no move:
    the floor the agent's figures are compared with. One signed client and one plain HTTP
    client are shared by all threads, as a hand-written uploader would.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        from agent.kompliant.auth import Credentials
        from agent.kompliant.client import KompliantClient

        credentials = Credentials(
            api_url=env["KOMPLIANT_API_URL"],
            api_key=env["KOMPLIANT_API_KEY"],
            secret_key=env["KOMPLIANT_SECRET_KEY"],
            auth_token=env["KOMPLIANT_AUTH_TOKEN"],
        )
        self._api = KompliantClient(credentials)
        self._http = httpx.Client(timeout=30.0)

    def close(self) -> None:
        self._api.close()
        self._http.close()

    def __enter__(self) -> MinimalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upload(self, path: Path, required_document_id: str) -> str:
        """Upload and link ``path``; return the fulfillment id."""
        content = path.read_bytes()
        sha256 = hashlib.sha256(content).hexdigest()
        created = self._api.create_document(DEMO_SUBJECT, path.name, len(content))
        form = created.form
        answer = self._http.post(
            form.upload_url,
            data=dict(form.fields),
            files={"file": (path.name, content, form.content_type)},
        )
        if answer.status_code not in (200, 201, 204):
            raise RuntimeError(f"upload of {path.name}: HTTP {answer.status_code} {answer.text}")
        wait = MINIMAL_FIRST_WAIT
        while True:
            document = self._api.get_document(created.document_id)
            if document.completed:
                break
            time.sleep(wait)
            wait = min(wait * 2, 1.0)
        if document.hash and document.hash.lower() != sha256:
            raise RuntimeError(f"{path.name}: stored hash {document.hash} is not {sha256}")
        (result,) = self._api.add_fulfillments(
            DEMO_WORKFLOW, [(created.document_id, required_document_id)]
        )
        if not result.ok or result.fulfillment_id is None:
            raise RuntimeError(f"{path.name}: batchAdd refused: {result.error}")
        return result.fulfillment_id


@dataclass
class Result:
    name: str
    files: int
    seconds: float
    calls: dict[str, int]
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.files / self.seconds


def run_minimal(work: Path, sandbox: Sandbox, count: int, workers: int) -> Result:
    folder = work / "minimal"
    folder.mkdir()
    rds = list(REQUIREMENTS.values())
    jobs = []
    for index in range(count):
        path = folder / f"minimal-{index:05d}.pdf"
        path.write_bytes(pdf_bytes(f"minimal {index}"))
        jobs.append((path, rds[index % len(rds)]))
    sandbox.reset_stats()
    with MinimalClient(sandbox.env) as client, ThreadPoolExecutor(workers) as pool:
        started = time.monotonic()
        fulfillments = list(pool.map(lambda job: client.upload(*job), jobs))
        seconds = time.monotonic() - started
    if len(set(fulfillments)) != count:
        raise RuntimeError("the minimal client did not make one fulfillment per file")
    return Result("minimal client", count, seconds, sandbox.stats())


def run_agent(
    work: Path,
    sandbox: Sandbox,
    count: int,
    workers: int,
    stability: Stability,
    *,
    tools: tuple[str, ...] = (),
    shared_upload_client: bool = False,
) -> Result:
    home = make_home(work, sandbox, stability, workers=workers)
    folders = list(home.folders.values())
    names = [f"agent-{index:05d}.pdf" for index in range(count)]
    contents = [pdf_bytes(f"agent {index}") for index in range(count)]
    agent_run = running_agent(home, shared_upload_client=shared_upload_client)
    with agent_run as agent, DoneWatch(f / "done" for f in folders) as watch:
        warm = {f"warm-{index}.pdf" for index in range(len(folders))}
        for index, folder in enumerate(folders):
            (folder / f"warm-{index}.pdf").write_bytes(pdf_bytes(f"warm {index}"))
        if not watch.wait_for(warm, 60):
            raise RuntimeError(f"the warm-up files did not reach done/; see {home.path}/run.log")
        sandbox.reset_stats()
        attached = [a for a in (_attach(tool, agent.pid, work) for tool in tools) if a]
        started_wall = time.time()
        started = time.monotonic()
        for index, name in enumerate(names):
            (folders[index % len(folders)] / name).write_bytes(contents[index])
        written = time.monotonic() - started
        if not watch.wait_for(set(names), ALL_DONE_TIMEOUT):
            missing = len(set(names) - watch.seen.keys())
            raise RuntimeError(f"{missing} file(s) did not reach done/; see {home.path}/run.log")
        seconds = max(watch.seen[name] for name in names) - started
        calls = sandbox.stats()
        profile = [line for a in attached for line in _detach(a, count)]
    label = "agent, shared http" if shared_upload_client else "agent (watching)"
    result = Result(label, count, seconds, calls)
    result.notes.append(f"writing the {count} files took {written * 1000:.0f} ms")
    result.notes.extend(_journal_notes(home, set(names), started_wall, seconds))
    result.notes.extend(profile)
    return result


def _journal_notes(home: AgentHome, names: set[str], t0: float, total: float) -> list[str]:
    journal = home.path / "state" / "profiles" / "default" / "journal.sqlite3"
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as conn:
        rows = [
            (created - t0, updated - t0)
            for name, created, updated in conn.execute(
                "SELECT file_name, created_at, updated_at FROM entries WHERE step = 'settled'"
            )
            if name in names
        ]
    claimed = [c for c, _ in rows]
    spans = [u - c for c, u in rows]
    return [
        f"claimed (finished + journaled): first {min(claimed):.2f} s, median "
        f"{percentile(claimed, 0.5):.2f} s, last {max(claimed):.2f} s after the first write",
        f"claim → settled per file: p50 {percentile(spans, 0.5):.2f} s, p95 "
        f"{percentile(spans, 0.95):.2f} s (includes waiting for a worker)",
        f"settled per second once claimed: {len(rows) / max(1e-9, total - min(claimed)):.1f}",
    ]


@dataclass
class Attached:
    """A tool attached to the agent for the measured window."""

    tool: str  # "py-spy" or "strace"
    process: subprocess.Popen[bytes]
    output: Path


SYSCALLS = "fsync,fdatasync,rename,renameat,renameat2,openat,write"


def _attach(tool: str, pid: int, work: Path) -> Attached | None:
    found = shutil.which(tool) or str(Path(sys.executable).with_name(tool))
    if not Path(found).exists():
        print(f"{tool} is not installed; the run goes on without it", file=sys.stderr)
        return None
    output = work / f"agent.{tool}.txt"
    if tool == "py-spy":
        command = [found, "record", "--pid", str(pid), "--format", "raw", "--rate", "200"]
        command += ["--threads", "--nonblocking", "--output", str(output)]
    else:
        command = [found, "-f", "-c", "-e", f"trace={SYSCALLS}", "-o", str(output)]
        command += ["-p", str(pid)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # the tool attaches; before the clock starts
    return Attached(tool, process, output)


def _detach(attached: Attached, files: int) -> list[str]:
    attached.process.send_signal(signal.SIGINT)
    attached.process.wait(timeout=60)
    if not attached.output.exists():
        return [f"{attached.tool} wrote nothing"]
    if attached.tool == "py-spy":
        return top_functions(attached.output)
    return syscall_counts(attached.output, files)


def syscall_counts(summary: Path, files: int) -> list[str]:
    """Calls per file of each traced system call, from ``strace -c``'s table."""
    lines = ["strace (slows the agent; timings of this run are not comparable), per file:"]
    for line in summary.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1] in SYSCALLS.split(",") and parts[3].isdigit():
            calls, seconds = int(parts[3]), float(parts[1])
            per_file_ms = seconds * 1000 / files
            lines.append(
                f"  {parts[-1]:<10} {calls / files:6.1f} calls, {per_file_ms:6.2f} ms system time"
            )
    return lines


def top_functions(raw: Path, limit: int = 10) -> list[str]:
    """Where the agent's threads were running, from py-spy's raw (collapsed) output.

    Two groups: the upload workers and the engine's loop (the main thread). A frame's
    share is of the group's samples that have it anywhere on the stack; frames on
    nearly every stack (thread start-up, the CLI) are left out. py-spy samples running
    threads only, so a thread waiting for the GIL, a lock or the network is not counted.
    """
    workers, loop = "upload workers", "engine loop (main thread)"
    inclusive: dict[str, Counter[str]] = {workers: Counter(), loop: Counter()}
    totals = dict.fromkeys(inclusive, 0)
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        thread, *frames = stack.split(";")
        group = workers if "upload_" in thread else loop if "MainThread" in thread else None
        if group is None:
            continue
        totals[group] += int(count_text)
        inclusive[group].update({frame: int(count_text) for frame in set(frames)})
    lines = []
    for name, total in totals.items():
        if not total:
            continue
        lines.append(f"py-spy, {name}: {total} samples while running; share of them:")
        common = inclusive[name].most_common()
        shown = [(frame, count) for frame, count in common if count < 0.95 * total]
        for frame, count in shown[:limit]:
            lines.append(f"  {count * 100 / total:5.1f}%  {frame}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="files (default 1000)")
    parser.add_argument("--workers", type=int, default=4, help="workers of both (default 4)")
    parser.add_argument(
        "--order", default="minimal,agent", help="which runs first (default minimal,agent)"
    )
    parser.add_argument(
        "--close-confirm",
        type=float,
        default=Stability().close_confirm_seconds,
        help="the agent's close_confirm_seconds (default: the shipped %(default)s)",
    )
    parser.add_argument("--py-spy", action="store_true", help="profile the agent with py-spy")
    parser.add_argument(
        "--strace",
        action="store_true",
        help="count the agent's fsync, rename, open and write calls (slows it down)",
    )
    parser.add_argument(
        "--shared-upload-client",
        action="store_true",
        help="experiment: also run the agent with one upload HTTP client for all workers "
        "(patched in at start-up; see bench/_common.py)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    order = [name.strip() for name in args.order.split(",") if name.strip()]
    if not order or any(name not in ("minimal", "agent") for name in order):
        parser.error("--order lists minimal and agent, e.g. agent,minimal")
    if args.shared_upload_client:
        order.append("shared")
    stability = Stability(close_confirm_seconds=args.close_confirm)

    host = machine()
    work = Path(tempfile.mkdtemp(prefix="many-files-bench-"))
    results: list[Result] = []
    started = time.monotonic()
    try:
        with running_sandbox(work / "sandbox") as sandbox:
            for name in order:
                print(f"{name}: {args.files} files, {args.workers} workers …", file=sys.stderr)
                if name == "minimal":
                    results.append(run_minimal(work, sandbox, args.files, args.workers))
                else:
                    result = run_agent(
                        work,
                        sandbox,
                        args.files,
                        args.workers,
                        stability,
                        tools=tuple(
                            tool
                            for tool, wanted in (("py-spy", args.py_spy), ("strace", args.strace))
                            if wanted
                        ),
                        shared_upload_client=name == "shared",
                    )
                    results.append(result)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"{args.files} small files, {args.workers} workers, one sandbox ({host}); "
        f"agent: {stability.describe()}"
    )
    methods = sorted({m for r in results for m in r.calls})
    head = f"{'':<18} {'wall time':>10} {'files/s':>8}  " + "  ".join(methods)
    print(head)
    print("-" * len(head))
    for result in results:
        counts = "  ".join(f"{result.calls.get(m, 0):>{len(m)}}" for m in methods)
        print(f"{result.name:<18} {result.seconds:>8.2f} s {result.rate:>8.1f}  {counts}")
    minimal = next((r for r in results if r.name.startswith("minimal")), None)
    for result in results:
        if minimal is not None and result is not minimal:
            print(f"{result.name} / {minimal.name}: {result.seconds / minimal.seconds:.2f}")
    for result in results:
        for note in result.notes:
            print(f"{result.name}: {note}")
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
