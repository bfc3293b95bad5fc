"""Small files dropped at once: the watching agent next to a minimal client.

    .venv/bin/python bench/many_files.py [--files 300,1000] [--latency 0,50] [--rounds 1]
                                         [--workers 4] [--order minimal,agent]
                                         [--close-confirm 0.25] [--whole-confirm 0.1]
                                         [--py-spy] [--strace] [--keep]

One sandbox runs in its own process for the whole run. For each number of files and each
injected latency (the sandbox's ``latency_ms`` fault, on its API and its upload endpoint
alike: every request waits that long before it is served), two contenders run one after
the other, each with ``--workers`` threads and the same number of files:

* **agent** — ``python -m agent run`` watching the demo workflow's folders, with the
  shipped settings (only ``workers`` and the stability settings are written, at their
  defaults). After one warm-up file per folder, the files (2 KiB, unique content, PNG
  images by default; ``--kind .pdf`` for one-page PDFs, which the agent also looks at for
  cover sheets) are written into the three requirement folders as fast as this script
  can write them; the clock runs from the first write until inotify has reported every
  one of them in done/.
* **minimal** — :class:`MinimalClient`: the same Kompliant calls per file
  (document.create → presigned POST → document.get until COMPLETED → batchAdd) from a
  thread pool, on files already on disk: no watching, no stability wait, no claim, no
  journal, no move, no receipt.

With ``--rounds`` above 1 each round swaps which contender goes first, so both see the
machine's load alike. Beside the wall time each run reports CPU time per file: the
contender's processes (the agent with its upload processes — the whole process tree, see
:func:`tree_cpu_seconds` —, or this script for the minimal client) and the sandbox's,
read from ``/proc`` over the measured window — steadier than wall time on a shared
machine —, and how busy the machine's cores were over it (every process, from
``/proc/stat``): a contender that keeps them all busy is bound by the machine, one that
leaves them idle by its own design. Before each contender the minimal client's signed
client times a few ``meta.checkVersion`` calls, to show the latency both see.

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
import os
import shutil
import signal
import sqlite3
import statistics
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
    SAMPLES,
    AgentHome,
    DoneWatch,
    Sandbox,
    Stability,
    bench_folder,
    busy_share,
    cpu_seconds,
    machine,
    machine_ticks,
    make_home,
    percentile,
    running_agent,
    running_sandbox,
)

ALL_DONE_TIMEOUT = 1800.0
LATENCY_PROBES = 5


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

    def call_ms(self, probes: int = LATENCY_PROBES) -> float:
        """Median milliseconds of a few ``meta.checkVersion`` calls: the latency it sees."""
        times = []
        for _ in range(probes):
            started = time.monotonic()
            self._api.check_version()
            times.append(time.monotonic() - started)
        return statistics.median(times) * 1000

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
    latency_ms: int
    seconds: float
    cpu: float  # CPU seconds of the contender's processes over the window
    system: float  # the part of it spent in the kernel
    sandbox_cpu: float  # the sandbox's, over the same window
    call_ms: float  # what a meta.checkVersion took, as the minimal client saw it
    calls: dict[str, int]
    busy: float = 0.0  # the share of the machine's cores busy over the window (all processes)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.files / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.files

    @property
    def system_ms(self) -> float:
        return self.system * 1000 / self.files

    @property
    def sandbox_ms(self) -> float:
        return self.sandbox_cpu * 1000 / self.files

    @classmethod
    def measured(
        cls,
        name: str,
        window: tuple[int, int, float],
        cpu: tuple[tuple[float, float], tuple[float, float], float],
        call_ms: float,
        calls: dict[str, int],
    ) -> Result:
        """From (files, latency, seconds) and (process CPU (user, system) before and
        after the window, the sandbox's CPU over it)."""
        (user_before, system_before), (user_after, system_after), sandbox_cpu = cpu
        system = system_after - system_before
        user = user_after - user_before
        return cls(name, *window, user + system, system, sandbox_cpu, call_ms, calls)


def probe_latency(sandbox: Sandbox) -> float:
    with MinimalClient(sandbox.env) as client:
        return client.call_ms()


def run_minimal(
    work: Path, sandbox: Sandbox, count: int, workers: int, latency: int, kind: str
) -> Result:
    folder = Path(tempfile.mkdtemp(prefix="minimal-", dir=work))
    rds = list(REQUIREMENTS.values())
    jobs = []
    for index in range(count):
        path = folder / f"minimal-{index:05d}{kind}"
        path.write_bytes(SAMPLES[kind](f"minimal {index}"))
        jobs.append((path, rds[index % len(rds)]))
    with MinimalClient(sandbox.env) as client, ThreadPoolExecutor(workers) as pool:
        call_ms = client.call_ms()
        sandbox.reset_stats()
        before, sandbox_cpu = cpu_seconds(), sandbox.cpu_seconds()
        ticks = machine_ticks()
        started = time.monotonic()
        fulfillments = list(pool.map(lambda job: client.upload(*job), jobs))
        seconds = time.monotonic() - started
        busy = busy_share(ticks, machine_ticks())
        after, sandbox_cpu = cpu_seconds(), sandbox.cpu_seconds() - sandbox_cpu
    if len(set(fulfillments)) != count:
        raise RuntimeError("the minimal client did not make one fulfillment per file")
    # Its files stay until the run's scratch folder goes, after the last contender:
    # deleted here, they would be deleted just before the agent's next window, and on a
    # file system that looks past recently deleted inodes for each new one (ext4 without
    # a journal) the agent's creates would pay for them (docs/performance.md).
    result = Result.measured(
        "minimal client",
        (count, latency, seconds),
        (before, after, sandbox_cpu),
        call_ms,
        sandbox.stats(),
    )
    result.busy = busy
    return result


def run_agent(
    work: Path,
    sandbox: Sandbox,
    count: int,
    workers: int,
    latency: int,
    kind: str,
    stability: Stability,
    *,
    tools: tuple[str, ...] = (),
    upload_processes: int | None = None,
    idle_before: float = 0.0,
) -> Result:
    home = make_home(work, sandbox, stability, workers=workers)
    if upload_processes is not None:
        _set_agent_key(home, "upload_processes", upload_processes)
    folders = list(home.folders.values())
    names = [f"agent-{index:05d}{kind}" for index in range(count)]
    contents = [SAMPLES[kind](f"agent {index}") for index in range(count)]
    with running_agent(home) as agent, DoneWatch(f / "done" for f in folders) as watch:
        warm = {f"warm-{index}{kind}" for index in range(len(folders))}
        for index, folder in enumerate(folders):
            (folder / f"warm-{index}{kind}").write_bytes(SAMPLES[kind](f"warm {index}"))
        if not watch.wait_for(warm, 120):
            raise RuntimeError(f"the warm-up files did not reach done/; see {home.path}/run.log")
        if idle_before:
            running, memory = _upload_processes(agent.pid), _tree_pss_mib(agent.pid)
            time.sleep(idle_before)  # the agent sits idle, as between two scanner runs
            left, memory_left = _upload_processes(agent.pid), _tree_pss_mib(agent.pid)
            idle_notes = [
                f"upload processes: {running} after the warm-up ({memory:.0f} MiB in all, "
                f"PSS), {left} after {idle_before:.0f} s idle ({memory_left:.0f} MiB), when "
                "the files were dropped"
            ]
        else:
            idle_notes = []
        call_ms = probe_latency(sandbox)
        sandbox.reset_stats()
        attached = [a for a in (_attach(tool, agent.pid, work) for tool in tools) if a]
        threads_before = thread_cpu(agent.pid) if "threads" in tools else {}
        before, sandbox_cpu = tree_cpu_seconds(agent.pid), sandbox.cpu_seconds()
        ticks = machine_ticks()
        started_wall = time.time()
        started = time.monotonic()
        for index, name in enumerate(names):
            (folders[index % len(folders)] / name).write_bytes(contents[index])
        written = time.monotonic() - started
        if not watch.wait_for(set(names), ALL_DONE_TIMEOUT):
            missing = len(set(names) - watch.seen.keys())
            raise RuntimeError(f"{missing} file(s) did not reach done/; see {home.path}/run.log")
        seconds = max(watch.seen[name] for name in names) - started
        busy = busy_share(ticks, machine_ticks())
        after, sandbox_cpu = tree_cpu_seconds(agent.pid), sandbox.cpu_seconds() - sandbox_cpu
        calls = sandbox.stats()
        profile = [line for a in attached for line in _detach(a, count)]
        if "threads" in tools:
            profile += cpu_by_thread(agent.pid, threads_before, count)
    result = Result.measured(
        "agent (watching)", (count, latency, seconds), (before, after, sandbox_cpu), call_ms, calls
    )
    result.busy = busy
    result.notes.append(f"writing the {count} files took {written * 1000:.0f} ms")
    result.notes.extend(idle_notes)
    result.notes.extend(_journal_notes(home, set(names), started_wall, seconds))
    result.notes.extend(profile)
    return result


def _upload_processes(pid: int) -> int:
    """How many upload processes the agent ``pid`` runs now (its children but the
    multiprocessing resource tracker)."""
    count = 0
    for child, fields in process_tree(pid).items():
        if int(fields[1]) != pid or fields[0] == "Z":
            continue
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                count += 1
        except OSError:
            continue  # ended meanwhile
    return count


def _tree_pss_mib(pid: int) -> float:
    """The memory of the agent ``pid`` and every process under it (PSS: shared pages
    divided among the processes that share them), in MiB."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue  # ended meanwhile, or no smaps_rollup
    return total / 1024


def _set_agent_key(home: AgentHome, key: str, value: int) -> None:
    """Set one ``[agent]`` key in the home's config (``add-workflow`` wrote it out)."""
    config = home.path / "config" / "config.toml"
    lines = config.read_text(encoding="utf-8").splitlines()
    lines = [line for line in lines if not line.startswith(f"{key} =")]
    lines.insert(lines.index("[agent]") + 1, f"{key} = {value}")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def process_tree(pid: int) -> dict[int, list[str]]:
    """Process ``pid`` and every process under it: each one's ``/proc/<pid>/stat`` fields
    after its name (state, parent, …)."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
    children: dict[int, list[int]] = {}
    for child, its in stats.items():
        children.setdefault(int(its[1]), []).append(child)
    tree: dict[int, list[str]] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            tree[current] = stats[current]
            todo += children.get(current, [])
    return tree


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU time of process ``pid`` and every process under it: the agent
    runs its uploads in processes of its own, which ``/proc/<pid>/stat``'s own times leave
    out (a child's times reach its parent's only once it ended and was waited for; those
    are counted too)."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    for fields in process_tree(pid).values():
        # utime, stime, and cutime, cstime: children that ended and were waited for
        user += (int(fields[11]) + int(fields[13])) / tick
        system += (int(fields[12]) + int(fields[14])) / tick
    return user, system


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


#: System calls always listed by ``--strace`` (the others when they come once per file or more).
DISK_CALLS = ("fsync", "fdatasync", "rename", "renameat2", "openat", "newfstatat", "statx")


def _attach(tool: str, pid: int, work: Path) -> Attached | None:
    if tool == "threads":
        return None  # read from /proc, see cpu_by_thread
    found = shutil.which(tool) or str(Path(sys.executable).with_name(tool))
    if not Path(found).exists():
        print(f"{tool} is not installed; the run goes on without it", file=sys.stderr)
        return None
    output = work / f"agent.{tool}.txt"
    if tool == "py-spy":
        command = [found, "record", "--pid", str(pid), "--format", "raw", "--rate", "200"]
        command += ["--threads", "--gil", "--subprocesses", "--nonblocking"]
        command += ["--output", str(output)]
    else:
        command = [found, "-f", "-c", "-o", str(output)]
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


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each of the process's threads, by thread id."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def thread_names(pid: int) -> dict[int, str]:
    """Thread id → a name from ``py-spy dump``: the Python name, or for an unnamed thread
    (``Thread-3``) the package its stack runs in (watchdog's threads, for one)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return {}
    dump = subprocess.run(
        [spy, "dump", "--pid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    names: dict[int, str] = {}
    tid, name = 0, ""
    for line in dump.splitlines():
        if line.startswith("Thread "):
            words = line.split()
            tid, name = int(words[1], 0), line.split('"')[1] if '"' in line else "?"
            names[tid] = name.rstrip("0123456789_") or name
        elif tid and name.startswith("Thread-") and "watchdog/" in line:
            names[tid] = "watchdog"
    return names


def cpu_by_thread(pid: int, before: dict[int, float], files: int) -> list[str]:
    """The agent's CPU per file, by thread (group), over the measured window."""
    names = thread_names(pid)
    spent: dict[str, float] = {}
    for tid, seconds in thread_cpu(pid).items():
        name = names.get(tid, "(ended or unnamed)")
        spent[name] = spent.get(name, 0.0) + seconds - before.get(tid, 0.0)
    lines = ["CPU per file by thread:"]
    lines += [
        f"  {name:<22} {seconds * 1000 / files:6.2f} ms"
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1])
    ]
    return lines


def syscall_counts(summary: Path, files: int) -> list[str]:
    """Calls per file of the agent's system calls, from ``strace -c``'s table: every one
    made at least once per file, and the disk's own (syncs, renames, opens, stats)."""
    lines = ["strace (slows the agent; timings of this run are not comparable), per file:"]
    total = 0
    for line in summary.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 5 or not parts[3].isdigit() or parts[-1] == "total":
            continue
        calls, seconds = int(parts[3]), float(parts[1])
        total += calls
        if calls >= files or parts[-1] in DISK_CALLS:
            lines.append(
                f"  {parts[-1]:<16} {calls / files:6.1f} calls, "
                f"{seconds * 1000 / files:6.2f} ms system time"
            )
    lines.append(f"  {'all':<16} {total / files:6.1f} calls")
    return lines


def top_functions(raw: Path, limit: int = 10) -> list[str]:
    """Where the agent's threads were running, from py-spy's raw (collapsed) output.

    Three groups: the upload processes (most of the agent's CPU), the engine's threads
    that serve them, and the engine's loop (its main thread). A frame's share is of the
    group's samples that have it anywhere on the stack; frames on nearly every stack
    (thread start-up, the CLI) are left out. py-spy samples threads holding the
    interpreter's lock only (``--gil``), so a thread waiting for the lock, a disk sync or
    the network is not counted.
    """
    processes, workers = "upload processes", "upload workers (engine)"
    loop = "engine loop (main thread)"
    inclusive: dict[str, Counter[str]] = {g: Counter() for g in (processes, workers, loop)}
    totals = dict.fromkeys(inclusive, 0)
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        parts = stack.split(";")
        owners = [p for p in parts if p.startswith(("process ", "thread "))]
        frames = parts[len(owners) :]
        thread = owners[-1] if owners else ""
        child = sum(1 for p in owners if p.startswith("process ")) > 1  # under the engine
        group = (
            processes
            if child
            else workers
            if "upload_" in thread
            else loop
            if "MainThread" in thread
            else None
        )
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


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--files", default="300,1000", help="numbers of files, comma-separated (default 300,1000)"
    )
    parser.add_argument(
        "--latency",
        default="0,50",
        help="injected latency per request in ms, comma-separated (default 0,50)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds; each swaps the order (default 1)"
    )
    parser.add_argument("--workers", type=int, default=4, help="workers of both (default 4)")
    parser.add_argument(
        "--kind",
        choices=sorted(SAMPLES),
        default=".png",
        help="the files: .png (default), or .pdf, which the agent also looks at for "
        "cover sheets (a scanned stack is cut at them)",
    )
    parser.add_argument(
        "--order", default="minimal,agent", help="which runs first (default minimal,agent)"
    )
    parser.add_argument(
        "--close-confirm",
        type=float,
        default=Stability().close_confirm_seconds,
        help="the agent's close_confirm_seconds (default: the shipped %(default)s)",
    )
    parser.add_argument(
        "--whole-confirm",
        type=float,
        default=Stability().whole_confirm_seconds,
        help="the agent's whole_confirm_seconds (default: the shipped %(default)s)",
    )
    parser.add_argument("--py-spy", action="store_true", help="profile the agent with py-spy")
    parser.add_argument(
        "--strace",
        action="store_true",
        help="count the agent's fsync, rename, open and write calls (slows it down)",
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="the agent's CPU per file by thread (/proc, names from py-spy dump)",
    )
    parser.add_argument(
        "--upload-processes",
        type=int,
        default=None,
        help="the agent's upload_processes (default: the shipped setting; 0: uploads in the "
        "agent's own process)",
    )
    parser.add_argument(
        "--idle-before",
        type=float,
        default=0.0,
        help="seconds the agent sits idle after its warm-up, before the files are dropped "
        "(over 300: its idle upload processes have ended and start again for the burst)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    order = [name.strip() for name in args.order.split(",") if name.strip()]
    if sorted(order) != ["agent", "minimal"] and order not in (["agent"], ["minimal"]):
        parser.error("--order lists minimal and agent, e.g. agent,minimal")
    file_counts, latencies = _numbers(args.files), _numbers(args.latency)
    kind = args.kind
    stability = Stability(
        close_confirm_seconds=args.close_confirm, whole_confirm_seconds=args.whole_confirm
    )
    tools = tuple(
        tool
        for tool, wanted in (
            ("py-spy", args.py_spy),
            ("strace", args.strace),
            ("threads", args.threads),
        )
        if wanted
    )

    host = machine()
    results: list[Result] = []
    started = time.monotonic()
    with (
        bench_folder("many-files-bench-", keep=args.keep) as work,
        running_sandbox(work / "sandbox") as sandbox,
    ):
        for round_index in range(args.rounds):
            turn = order if round_index % 2 == 0 else order[::-1]
            for latency in latencies:
                sandbox.set_faults(latency_ms=latency, on_upload=True)
                for count in file_counts:
                    for name in turn:
                        print(
                            f"round {round_index + 1}, {latency} ms: {name}, {count} files, "
                            f"{args.workers} workers, load {os.getloadavg()[0]:.1f} …",
                            file=sys.stderr,
                            flush=True,
                        )
                        if name == "minimal":
                            result = run_minimal(work, sandbox, count, args.workers, latency, kind)
                        else:
                            result = run_agent(
                                work,
                                sandbox,
                                count,
                                args.workers,
                                latency,
                                kind,
                                stability,
                                tools=tools,
                                upload_processes=args.upload_processes,
                                idle_before=args.idle_before,
                            )
                        results.append(result)
                        print(f"  {_line(result)}", file=sys.stderr, flush=True)
            sandbox.set_faults(latency_ms=0)
    _report(results, args.workers, kind, host, stability)
    print(f"({time.monotonic() - started:.0f} s in all, load at the end {os.getloadavg()[0]:.1f})")
    return 0


def _line(result: Result) -> str:
    return (
        f"{result.name:<18} {result.files:>5} files {result.latency_ms:>3} ms  "
        f"{result.seconds:>7.2f} s {result.rate:>7.1f}/s  CPU {result.cpu_ms:5.2f} ms/file "
        f"({result.system_ms:.2f} system), "
        f"sandbox {result.sandbox_ms:5.2f} ms/file, machine busy {result.busy:4.0%}  "
        f"(a call took {result.call_ms:.1f} ms)"
    )


def _report(
    results: list[Result], workers: int, kind: str, host: str, stability: Stability
) -> None:
    print(
        f"small {kind} files, {workers} workers each, one sandbox ({host}); "
        f"agent: {stability.describe()}"
    )
    methods = sorted({m for r in results for m in r.calls})
    print("calls per contender: " + ", ".join(methods))
    for result in results:
        counts = " ".join(str(result.calls.get(m, 0)) for m in methods)
        print(f"  {_line(result)}  calls {counts}")
    print()
    print(
        f"{'files':>6} {'latency':>8} {'minimal':>9} {'agent':>9} {'ratio':>6}  "
        f"{'CPU/file: minimal':>17} {'agent':>7}  {'sandbox (m / a)':>15}"
    )
    for count, latency in dict.fromkeys((r.files, r.latency_ms) for r in results):
        same = [r for r in results if (r.files, r.latency_ms) == (count, latency)]
        minimal = [r for r in same if r.name.startswith("minimal")]
        agent = [r for r in same if r.name.startswith("agent")]
        if not minimal or not agent:
            continue
        pairs = list(zip(minimal, agent, strict=False))
        ratios = [a.seconds / m.seconds for m, a in pairs]
        for m, a in pairs:
            print(
                f"{count:>6} {latency:>5} ms {m.seconds:>7.2f} s {a.seconds:>7.2f} s "
                f"{a.seconds / m.seconds:>6.2f}  {m.cpu_ms:>14.2f} ms {a.cpu_ms:>4.2f} ms  "
                f"{m.sandbox_ms:>6.2f} / {a.sandbox_ms:.2f} ms"
            )
        if len(pairs) > 1:
            print(f"{count:>6} {latency:>5} ms  median ratio {statistics.median(ratios):.2f}")
    for result in results:
        for note in result.notes:
            print(f"{result.name}, {result.files} files, {result.latency_ms} ms: {note}")


if __name__ == "__main__":
    raise SystemExit(main())
