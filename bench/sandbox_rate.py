"""The sandbox alone: how many of the agent's requests per second it serves, by state size.

    .venv/bin/python bench/sandbox_rate.py [--documents 0,1000,10000] [--clients 8]
                                           [--processes 2] [--seconds 10] [--code DIR]
    .venv/bin/python bench/sandbox_rate.py --saturate [--connections 64] [--processes 1]
                                           [--sandbox-cpu 0] [--load-cpu 1] [...]

For each state size, a fresh data folder holds a saved state: the demo fixture plus that
many uploaded documents of the demo subject, each linked to one of the demo workflow's
three ACTIVE requirements (as the agent leaves them), written as ``state.json``, the form
every version of the sandbox reads. The sandbox then runs in its own process as the
other benchmarks run it (bench/_common.py), from ``--code`` (default: this checkout;
give an export of another commit, e.g. ``git archive main | tar -x -C /tmp/main``, to
measure its store).

The load is the agent's calls for one small file (2 KiB), one file after another:
document.create → presigned POST → document.get →
workflow.requiredDocument.fulfillment.batchAdd. The senders start at once; the
sandbox's counters are reset after a warm-up second and read ``--seconds`` later, so
*requests/s* counts only requests the sandbox answered inside the window, whoever sent
them. The sandbox process's CPU time over the window (``/proc/<pid>/stat``) gives its
*CPU/request*, and *core* is that CPU time over the window (1.0: one CPU all the time);
*load* is the senders' CPU time, in the same unit. Two ways to drive it:

- **the agent's clients** (default): ``--clients`` threads in ``--processes`` processes
  (default 2) make the calls through the agent's own
  :class:`~agent.kompliant.client.KompliantClient` and httpx, one client per process as
  the agent shares one among its workers. Those clients need more CPU than the sandbox
  on the same two cores, so the sandbox is never saturated (about a third of a core):
  its loop sleeps and wakes for almost every request, and its ceiling is read as
  ``1 / CPU per request`` — an extrapolation, since one Python process serves at most
  about one core's worth of requests.
- **at saturation** (``--saturate``): every thread of the sandbox is pinned to one CPU
  (``--sandbox-cpu``) and a lean load generator (bench/_load.py: the same calls and
  bodies, signed by the agent's own KSig1 code, every answer checked as the agent checks
  it) to another (``--load-cpu``), over ``--connections`` keep-alive connections in
  ``--processes`` processes (default 1). It needs about a third of a CPU for what the
  sandbox serves on a whole one, so requests queue at the sandbox and *requests/s* is
  what it serves on its CPU — measured, not extrapolated. *others* is what other work on
  the machine took of that CPU over the window (``/proc/stat``), and *per core* the rate
  over the sandbox's share: what it would serve on a CPU of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _common import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    REQUIREMENTS,
    ROOT,
    bench_folder,
    machine,
    pdf_bytes,
    running_sandbox,
)

WARM_UP = 1.0
BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
CALLS = (
    "document.create",
    "upload",
    "document.get",
    "workflow.requiredDocument.fulfillment.batchAdd",
)


# ---------------------------------------------------------------- the seeded state


def _id(prefix: str, index: int) -> str:
    digits = ""
    while True:
        index, rest = divmod(index, 62)
        digits = BASE62[rest] + digits
        if not index:
            break
    return f"{prefix}_Bench{digits.rjust(17, '0')}"


def seeded_fixture(documents: int) -> dict[str, Any]:
    """The demo fixture plus ``documents`` uploaded and linked documents."""
    from agent.sandbox import DEMO_FIXTURE

    raw: dict[str, Any] = json.loads(DEMO_FIXTURE.read_text(encoding="utf-8"))
    demo_key = next(k["api_key"] for k in raw["api_keys"] if k.get("public"))
    stamp = "2025-01-01T00:00:00.000Z"
    rds = list(REQUIREMENTS.values())
    raw["documents"] = []
    raw["fulfillments"] = []
    for index in range(documents):
        document_id = _id("d", index)
        raw["documents"].append(
            {
                "document_id": document_id,
                "subject_record_id": DEMO_SUBJECT,
                "file_name": f"seeded-{index:05d}.pdf",
                "file_size": 2048,
                "content_type": "application/pdf",
                "key": f"{DEMO_SUBJECT}/{document_id}.pdf",
                "upload_status": "COMPLETED",
                "hash": secrets.token_hex(32),
                "uploaded_by": demo_key,
                "stored_at": 1735689600.0,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        raw["fulfillments"].append(
            {
                "fulfillment_id": _id("f", index),
                "workflow_id": DEMO_WORKFLOW,
                "required_document_id": rds[index % len(rds)],
                "document_id": document_id,
                "decision_status": "NEEDS_REVIEW",
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    if documents:
        for workflow in raw["workflows"]:
            for rd in workflow["required_documents"]:
                if rd["required_document_id"] in rds:
                    rd["status"] = "NEEDS_REVIEW"
    return raw


# ---------------------------------------------------------------- the sandbox process


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_seconds(cpu: int) -> float:
    """The time CPU ``cpu`` has been busy so far, whoever ran (``/proc/stat``)."""
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name == f"cpu{cpu}":
            ticks = [int(v) for v in values]
            idle = ticks[3] + ticks[4]  # idle, iowait
            return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    return 0.0


# ---------------------------------------------------------------- the clients


def run_client(env: Mapping[str, str], threads: int, until: float, tag: str) -> dict[str, Any]:
    """``threads`` threads doing the agent's calls for one file after another until ``until``
    (wall-clock time); how many files they finished and which errors they met."""
    from agent.kompliant.auth import Credentials
    from agent.kompliant.client import KompliantClient

    credentials = Credentials(
        env["KOMPLIANT_API_URL"],
        env["KOMPLIANT_API_KEY"],
        env["KOMPLIANT_SECRET_KEY"],
        env["KOMPLIANT_AUTH_TOKEN"],
    )
    rds = list(REQUIREMENTS.values())
    done = [0] * threads
    errors: list[str] = []

    def work(api: KompliantClient, http: httpx.Client, slot: int) -> None:
        index = 0
        while time.time() < until and not errors:
            name = f"rate-{tag}-{slot}-{index}.pdf"
            content = pdf_bytes(name)
            try:
                created = api.create_document(DEMO_SUBJECT, name, len(content))
                form = created.form
                sent = http.post(
                    form.upload_url,
                    data=dict(form.fields),
                    files={"file": (name, content, form.content_type)},
                )
                if sent.status_code not in (200, 201, 204):
                    raise RuntimeError(f"upload: HTTP {sent.status_code} {sent.text[:200]}")
                document = api.get_document(created.document_id)
                if not document.completed:
                    raise RuntimeError(f"{created.document_id} is not COMPLETED after its upload")
                (result,) = api.add_fulfillments(
                    DEMO_WORKFLOW, [(created.document_id, rds[index % len(rds)])]
                )
                if not result.ok:
                    raise RuntimeError(f"batchAdd refused: {result.error}")
            except Exception as error:  # reported to the parent, which fails the run
                errors.append(f"{type(error).__name__}: {error}")
                return
            done[slot] += 1
            index += 1

    with KompliantClient(credentials) as api, httpx.Client(timeout=30.0) as http:
        workers = [
            threading.Thread(target=work, args=(api, http, slot), daemon=True)
            for slot in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    return {"files": sum(done), "errors": errors[:5]}


@dataclass
class Measured:
    documents: int
    seconds: float
    requests: int
    calls: dict[str, int]
    cpu: float
    load_cpu: float  # the clients' processes over the window
    others: float  # --saturate: the CPU time others took on the sandbox's CPU

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / max(1, self.requests)

    @property
    def core(self) -> float:
        """The share of one CPU the sandbox used over the window."""
        return self.cpu / self.seconds


@dataclass(frozen=True)
class Load:
    """Who sends the requests: the agent's clients, or the lean generator at saturation."""

    clients: int = 8
    processes: int = 2
    saturate: bool = False
    connections: int = 64
    sandbox_cpu: int = 0
    load_cpu: int = 1

    def describe(self) -> str:
        if self.saturate:
            return (
                f"saturated: sandbox on CPU {self.sandbox_cpu}, {self.connections} connections "
                f"in {self.processes} load process{'es' if self.processes != 1 else ''} "
                f"on CPU {self.load_cpu}"
            )
        return f"{self.clients} clients in {self.processes} processes"

    def commands(self, until: float) -> list[list[str]]:
        if self.saturate:
            count, kind, cpu = self.connections, "--load", str(self.load_cpu)
        else:
            count, kind, cpu = self.clients, "--client", ""
        shares = [
            count // self.processes + (i < count % self.processes) for i in range(self.processes)
        ]
        return [
            [sys.executable, __file__, kind, str(share), str(until), f"p{i}", cpu]
            for i, share in enumerate(shares)
            if share
        ]


def pin_process(pid: int, cpu: int) -> None:
    """Every thread of ``pid`` (those it starts later inherit it) on CPU ``cpu``."""
    for task in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(task), {cpu})


def measure(code: Path, work: Path, documents: int, load: Load, seconds: float) -> Measured:
    data = work / f"state-{documents}"
    data.mkdir()
    # The saved state of a sandbox from before its database, which every version reads.
    (data / "state.json").write_text(json.dumps(seeded_fixture(documents)), encoding="utf-8")
    with running_sandbox(data, root=code) as sandbox:
        pid = sandbox.process.pid
        if load.saturate:
            pin_process(pid, load.sandbox_cpu)
        until = time.time() + WARM_UP + seconds + 0.5
        children = [
            subprocess.Popen(
                command, env={**os.environ, **sandbox.env}, stdout=subprocess.PIPE, text=True
            )
            for command in load.commands(until)
        ]
        time.sleep(WARM_UP)
        sandbox.reset_stats()
        senders = [child.pid for child in children]
        load_start = sum(cpu_seconds(p) for p in senders)
        cpu_start, started = cpu_seconds(pid), time.monotonic()
        busy_start = busy_seconds(load.sandbox_cpu)
        time.sleep(seconds)
        calls = sandbox.stats()
        cpu, elapsed = cpu_seconds(pid) - cpu_start, time.monotonic() - started
        others = busy_seconds(load.sandbox_cpu) - busy_start - cpu if load.saturate else 0.0
        load_cpu = sum(cpu_seconds(p) for p in senders) - load_start
        outcomes = [json.loads(child.communicate(timeout=300)[0]) for child in children]
    errors = [e for outcome in outcomes for e in outcome["errors"]]
    if errors:
        raise RuntimeError("the clients met errors:\n" + "\n".join(errors))
    return Measured(documents, elapsed, sum(calls.values()), calls, cpu, load_cpu, max(0.0, others))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--documents",
        default="0,1000,10000",
        help="documents already in state, one run each (default %(default)s)",
    )
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--processes", type=int, default=None, help="client processes (default 2; --saturate: 1)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window (default 10)")
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="checkout the sandbox runs from (default: this one)"
    )
    parser.add_argument(
        "--saturate",
        action="store_true",
        help="pin the sandbox to one CPU and queue requests at it from the lean load generator",
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="--saturate: connections (default 64)"
    )
    parser.add_argument("--sandbox-cpu", type=int, default=0, help="--saturate: its CPU (0)")
    parser.add_argument("--load-cpu", type=int, default=1, help="--saturate: the load's CPU (1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    sizes = [int(n) for n in args.documents.split(",") if n.strip()]
    processes = args.processes or (1 if args.saturate else 2)
    senders = args.connections if args.saturate else args.clients
    if senders < 1 or not 1 <= processes <= senders:
        parser.error("give at least one client and at most one process per client")
    cpus = os.sched_getaffinity(0)
    if args.saturate and not {args.sandbox_cpu, args.load_cpu} <= cpus:
        parser.error(f"--sandbox-cpu and --load-cpu must be among this machine's CPUs {cpus}")
    code = args.code.resolve()
    if not (code / "agent" / "sandbox").is_dir():
        parser.error(f"{code} holds no agent/sandbox")
    load = Load(
        args.clients, processes, args.saturate, args.connections, args.sandbox_cpu, args.load_cpu
    )

    host = machine()
    results = []
    with bench_folder("sandbox-rate-bench-", keep=args.keep) as work:
        for documents in sizes:
            print(f"{documents} documents in state …", file=sys.stderr)
            results.append(measure(code, work, documents, load, args.seconds))

    print(f"sandbox from {code}; {load.describe()}, {args.seconds:g} s windows ({host})")
    print(
        f"{'documents':>9} {'requests/s':>10} {'files/s':>8} {'CPU/request':>11} {'core':>5} "
        f"{'per core':>8} {'load':>5} {'others':>6}  calls"
    )
    for r in results:
        calls = " ".join(str(r.calls.get(name, 0)) for name in CALLS)
        files = r.calls.get("document.create", 0) / r.seconds
        per_core = r.rate / r.core if r.core else 0.0
        print(
            f"{r.documents:>9} {r.rate:>10.0f} {files:>8.0f} {r.cpu_ms:>8.3f} ms {r.core:>5.2f} "
            f"{per_core:>8.0f} {r.load_cpu / r.seconds:>5.2f} {r.others / r.seconds:>6.2f}  {calls}"
        )
    print("calls: " + ", ".join(CALLS))
    print(
        "core: the sandbox's CPU time over the window, in cores; per core: requests/s over "
        "that share; load: the clients' CPU time over the window, in cores; others "
        "(--saturate): what other work took of the sandbox's CPU over the window"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] in ("--client", "--load"):
        kind, count, until, tag, cpu = sys.argv[1:]
        if kind == "--client":
            outcome = run_client(os.environ, int(count), float(until), tag)
        else:
            from _load import run_load

            outcome = run_load(os.environ, int(count), float(until), tag, int(cpu))
        print(json.dumps(outcome), flush=True)
        raise SystemExit(0)
    raise SystemExit(main())
