"""Scale and cost in one run: latency, a burst of files, memory, idle cost, throughput.

    .venv/bin/python bench/scale.py [--only latency,many,rss,idle,history,throughput]
                                    [--big 2G] [--curl-size 1G] [--idle-folders 500]
                                    [--idle-seconds 60] [--latency-files 50] [--files 1000]
                                    [--history 0,20000] [--status-runs 5]

One after the other, on the same machine, each printing its own table, then a summary
against the targets of docs/performance.md:

* **latency** — ``bench/latency.py --modes inotify`` (close → done, p50 / p95).
* **many** — ``bench/many_files.py`` (1,000 small files: minimal client, then the agent).
* **rss** — the running agent (``python -m agent run``, a fresh home each) uploading one
  1 MiB file, then one ``--big`` file; its peak RSS (VmHWM, from start to done/) read
  from /proc. Then ``bench/upload_memory.py`` for the one-shot steps, same sizes.
* **idle** — the demo workflow given enough extra required documents (sandbox admin
  ``add_required_document``) for ``--idle-folders`` requirement folders; the agent
  started, left 5 s to settle, then its CPU time (utime + stime of all its threads) and
  RSS sampled every second for ``--idle-seconds``.
* **history** — idle cost against the files ever handled: for each count in ``--history``
  a fresh agent home whose journal already holds that many settled entries (files in
  done/, with their receipts, spread over the three requirement folders), written as
  the first journal format (``agent.journal.schema.MIGRATIONS[1]``) so that any version
  of the agent reads it, upgrading it as it would a user's; the agent started, 5 s to
  settle, CPU and RSS sampled as in **idle**; then ``status --json`` run
  ``--status-runs`` times beside it (wall time of the whole command, median and max).
* **throughput** — two forms from document.create for one ``--curl-size`` file: one
  POSTed by ``curl -F`` (fields in the form's order, the file last), the other by the
  agent's upload step (``agent.upload.presigned.send_form``, one httpx client), in turn,
  twice; the hash is computed before the clock starts.

Every part starts its own sandbox in its own process and stops by itself (each wait is
bounded). Linux only (/proc, inotify).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _common import (
    DEMO_SUBJECT,
    DEMO_WORKFLOW,
    REQUIREMENTS,
    ROOT,
    AgentHome,
    Sandbox,
    Stability,
    big_pdf,
    machine,
    make_home,
    running_agent,
    running_sandbox,
)

sys.path.insert(0, str(ROOT))

BENCH = Path(__file__).resolve().parent
UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}
DONE_TIMEOUT = 600.0
SETTLE_SECONDS = 5.0


def parse_size(text: str) -> int:
    text = text.strip().upper()
    return int(float(text[:-1]) * UNITS[text[-1]]) if text[-1] in UNITS else int(text)


def proc_status(pid: int, key: str) -> int:
    """A ``kB`` figure of /proc/<pid>/status (VmRSS, VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` (every 50 ms) until true; the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def run_script(args: list[str]) -> str:
    """Run another bench script, echo its output, return it."""
    print(f"$ .venv/bin/python {' '.join(args)}", flush=True)
    out = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    print(out.stdout + out.stderr, flush=True)
    if out.returncode:
        raise RuntimeError(f"{args[0]} failed ({out.returncode})")
    return out.stdout


# ---------------------------------------------------------------- the parts


def part_latency(files: int) -> dict[str, float]:
    out = run_script(["bench/latency.py", "--modes", "inotify", "--files", str(files)])
    row = re.search(r"^inotify .*?\s+\d+\s+(\d+)ms\s+(\d+)ms", out, re.M)
    if row is None:
        return {}
    return {"p50_ms": float(row.group(1)), "p95_ms": float(row.group(2))}


def part_many(files: int) -> dict[str, float]:
    out = run_script(["bench/many_files.py", "--files", str(files), "--latency", "0"])
    found = {}
    for who in ("minimal", "agent"):
        hit = re.search(rf"^\s*{who}[^\n/]*? files +\d+ ms +([\d.]+) s ", out, re.M)
        if hit:
            found[f"{who}_s"] = float(hit.group(1))
    return found


def agent_peak_rss(work: Path, sandbox: Sandbox, size: int, label: str) -> dict[str, float]:
    """One fresh agent uploads one file of ``size``: its peak RSS and time to done/."""
    home = make_home(work, sandbox, Stability())
    staged = work / f"rss-{label}.pdf"
    big_pdf(staged, size)
    folder = home.folders["Bank statements"]
    with running_agent(home, log_name=f"run-{label}.log") as agent:
        started_kib = proc_status(agent.pid, "VmRSS")
        os.rename(staged, folder / staged.name)  # a drop: one rename into the folder
        took = wait_until(
            lambda: (
                (folder / "done" / staged.name).exists()
                or (folder / "failed" / staged.name).exists()
            ),
            DONE_TIMEOUT,
            f"{staged.name} in done/",
        )
        peak_kib = proc_status(agent.pid, "VmHWM")
        if not (folder / "done" / staged.name).exists():
            raise RuntimeError(f"{staged.name} went to failed/; see {home.path}")
    (folder / "done" / staged.name).unlink()
    return {"peak_mib": peak_kib / 1024, "idle_mib": started_kib / 1024, "seconds": took}


def part_rss(work: Path, big: str) -> dict[str, float]:
    with running_sandbox(work / "sandbox-rss") as sandbox:
        small = agent_peak_rss(work, sandbox, parse_size("1M"), "1M")
        large = agent_peak_rss(work, sandbox, parse_size(big), big)
    print("running agent, one file each (fresh agent per file):")
    for label, row in (("1M", small), (big, large)):
        print(
            f"  {label:>4}: peak RSS {row['peak_mib']:.1f} MiB (at start {row['idle_mib']:.1f} "
            f"MiB), drop → done {row['seconds']:.1f} s"
        )
    run_script(["bench/upload_memory.py", "--sizes", f"1M,{big}"])
    return {"small_mib": small["peak_mib"], "big_mib": large["peak_mib"]}


def part_idle(work: Path, folders: int, seconds: float) -> dict[str, float]:
    with running_sandbox(work / "sandbox-idle") as sandbox:
        extra = max(0, folders - 3)  # the demo workflow has three active requirements
        with httpx.Client(timeout=10) as http:
            for n in range(extra):
                http.post(
                    f"{sandbox.base_url}/_sandbox/admin",
                    json={
                        "op": "add_required_document",
                        "workflow_id": DEMO_WORKFLOW,
                        "document_type_code": "OTHER",
                        "name": f"Extra requirement {n:03d}",
                    },
                ).raise_for_status()
        home = make_home(work, sandbox, Stability())
        workflow = next(iter(home.folders.values())).parent
        made = sum(1 for p in workflow.iterdir() if p.is_dir() and not p.name.startswith("."))
        with running_agent(home, log_name="run-idle.log") as agent:
            time.sleep(SETTLE_SECONDS)  # start-up work (scan, first review poll) is not idle
            rss: list[float] = []
            cpu0, t0 = cpu_seconds(agent.pid), time.monotonic()
            deadline = t0 + seconds
            while time.monotonic() < deadline:
                rss.append(proc_status(agent.pid, "VmRSS") / 1024)
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            cpu1, t1 = cpu_seconds(agent.pid), time.monotonic()
            threads = len(os.listdir(f"/proc/{agent.pid}/task"))
        calls = sandbox.stats()
    share = 100 * (cpu1 - cpu0) / (t1 - t0)
    print(
        f"idle over {t1 - t0:.0f} s with {made} folders in the workflow "
        f"({folders} requirement folders asked): CPU {share:.2f} % of a core "
        f"({cpu1 - cpu0:.2f} s), RSS {min(rss):.1f}–{max(rss):.1f} MiB, {threads} threads; "
        f"sandbox calls over the whole run: {calls}"
    )
    return {"cpu_pct": share, "rss_max_mib": max(rss), "folders": float(made)}


HISTORY_FOLDERS = ("Bank statements", "Proof of address", "Government ID")


def seed_history(home: AgentHome, entries: int) -> None:
    """``entries`` settled journal rows and their files in done/, as a long-used agent has.

    The rows are written in the journal's first format, the one every version of the agent
    reads (and upgrades), so before/after figures start from the same bytes.
    """
    import sqlite3

    from agent.journal import JOURNAL_FILE
    from agent.journal.schema import MIGRATIONS

    state = home.path / "state" / "profiles" / "default"
    state.mkdir(parents=True, exist_ok=True)
    path = state / JOURNAL_FILE
    if path.exists():
        raise RuntimeError(f"{path} exists already; the history goes into a fresh home")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    start = time.time() - entries * 10.0
    rows = []
    for n in range(entries):
        name = HISTORY_FOLDERS[n % len(HISTORY_FOLDERS)]
        rd = REQUIREMENTS[name]
        folder = home.folders[name]
        done = folder / "done"
        if n < len(HISTORY_FOLDERS):
            done.mkdir(exist_ok=True)
        file_name = f"history-{n:06d}.pdf"
        document_id = f"d_History{n:017d}"
        fulfillment = f"f_History{n:017d}"
        sha = f"{n:064x}"
        (done / file_name).write_bytes(b"%PDF-1.4\n% history " + str(n).encode() + b"\n")
        (done / f"{file_name}.receipt.txt").write_text(
            f"kompliant-agent receipt for {file_name}\n\n"
            f"Uploaded to Kompliant as document {document_id}.\n"
            f"Linked to:\n  {name} ({rd}): fulfillment {fulfillment}\n"
            f"SHA-256: {sha}\nSize: 30 bytes\nTime: 2025-01-01T00:00:00Z\n",
            encoding="utf-8",
        )
        at = start + n * 10.0
        rows.append(
            (
                "settled",
                str(folder / file_name),
                str(folder / ".processing" / file_name),
                str(done / file_name),
                f"{DEMO_WORKFLOW}/{rd}",
                DEMO_WORKFLOW,
                json.dumps([rd]),
                file_name,
                30,
                1,
                sha,
                document_id,
                json.dumps({rd: fulfillment}),
                "done",
                f"uploaded as {document_id}",
                at,
                at + 1.0,
            )
        )
    conn.executemany(
        """
        INSERT INTO entries (step, source_path, claimed_path, final_path, folder_key,
            workflow_id, required_document_ids, file_name, size, mtime_ns, sha256,
            document_id, fulfillments, outcome, message, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        rows,
    )
    conn.execute("COMMIT")
    conn.close()


def sample_idle(pid: int, seconds: float) -> tuple[float, list[float]]:
    """CPU share (% of one core) and RSS samples (MiB, once a second) over ``seconds``."""
    rss: list[float] = []
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    deadline = t0 + seconds
    while time.monotonic() < deadline:
        rss.append(proc_status(pid, "VmRSS") / 1024)
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    return 100 * (cpu1 - cpu0) / (t1 - t0), rss


def time_status(home: AgentHome, runs: int) -> list[float]:
    """Wall seconds of ``python -m agent status --json``, ``runs`` times."""
    took = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "agent", "status", "--json"],
            env=home.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        took.append(time.perf_counter() - t0)
        if out.returncode:
            raise RuntimeError(f"status --json failed: {out.stderr}")
        json.loads(out.stdout)
    return took


def part_history(
    work: Path, counts: list[int], seconds: float, status_runs: int
) -> dict[str, float]:
    found: dict[str, float] = {}
    with running_sandbox(work / "sandbox-history") as sandbox:
        for entries in counts:
            home = make_home(work, sandbox, Stability())
            t0 = time.monotonic()
            seed_history(home, entries)
            seeded = time.monotonic() - t0
            with running_agent(home, log_name=f"run-history-{entries}.log") as agent:
                time.sleep(SETTLE_SECONDS)  # start-up work is not idle
                share, rss = sample_idle(agent.pid, seconds)
                took = time_status(home, status_runs)
            found[f"cpu_pct_{entries}"] = share
            found[f"rss_mean_mib_{entries}"] = statistics.fmean(rss)
            found[f"status_s_{entries}"] = statistics.median(took)
            print(
                f"  {entries:>6} entries (seeded in {seeded:.1f} s): idle CPU {share:.2f} % "
                f"of a core over {seconds:.0f} s, RSS {min(rss):.1f}–{max(rss):.1f} MiB "
                f"(mean {statistics.fmean(rss):.1f}); status --json median "
                f"{statistics.median(took):.3f} s, max {max(took):.3f} s",
                flush=True,
            )
            shutil.rmtree(home.path, ignore_errors=True)
    return found


def part_throughput(work: Path, size_text: str, rounds: int = 2) -> dict[str, float]:
    from agent.kompliant.auth import Credentials
    from agent.kompliant.client import KompliantClient
    from agent.upload.create import create_document
    from agent.upload.identity import identify
    from agent.upload.presigned import send_form

    size = parse_size(size_text)
    path = work / f"throughput-{size_text}.pdf"
    big_pdf(path, size)
    identity = identify(path)
    times: dict[str, list[float]] = {"curl": [], "agent": []}
    with running_sandbox(work / "sandbox-throughput") as sandbox:
        env = sandbox.env
        credentials = Credentials(
            api_url=env["KOMPLIANT_API_URL"],
            api_key=env["KOMPLIANT_API_KEY"],
            secret_key=env["KOMPLIANT_SECRET_KEY"],
            auth_token=env["KOMPLIANT_AUTH_TOKEN"],
        )
        with KompliantClient(credentials) as client, httpx.Client(timeout=600) as http:
            for _ in range(rounds):
                for who in ("agent", "curl") if _ % 2 == 0 else ("curl", "agent"):
                    created = create_document(client, DEMO_SUBJECT, path.name, size)
                    form = created.form
                    t0 = time.perf_counter()
                    if who == "curl":
                        command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}"]
                        for name, value in form.fields:
                            command += ["--form-string", f"{name}={value}"]
                        command += ["-F", f"file=@{path};type=application/pdf", form.upload_url]
                        status = subprocess.run(
                            command, capture_output=True, text=True, check=True
                        ).stdout
                        if not status.startswith("2"):
                            raise RuntimeError(f"curl got HTTP {status}")
                    else:
                        send_form(form, path, file_name=path.name, identity=identity, http=http)
                    times[who].append(time.perf_counter() - t0)
                    stored = client.get_document(created.document_id)
                    if not stored.completed:
                        raise RuntimeError(f"{who}'s upload was not stored: {stored}")
                    client.delete_document(created.document_id)
    path.unlink()
    mib = size / 1024**2
    rates = {who: mib / statistics.median(ts) for who, ts in times.items()}
    for who, ts in times.items():
        print(f"  {who:>5}: {', '.join(f'{t:.2f} s' for t in ts)} → median {rates[who]:.0f} MiB/s")
    return {"curl_mibs": rates["curl"], "agent_mibs": rates["agent"]}


# ---------------------------------------------------------------- the run


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="latency,many,rss,idle,history,throughput")
    parser.add_argument("--big", default="2G", help="the large file of the memory part")
    parser.add_argument("--curl-size", default="1G", help="the file of the throughput part")
    parser.add_argument("--idle-folders", type=int, default=500)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--latency-files", type=int, default=50)
    parser.add_argument("--files", type=int, default=1000, help="files of the burst")
    parser.add_argument(
        "--history", default="0,20000", help="journal entries (files ever handled) to compare"
    )
    parser.add_argument("--status-runs", type=int, default=5, help="status --json runs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    parts = set(args.only.split(","))

    print(machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    results: dict[str, dict[str, float]] = {}
    try:
        for name, run in (
            ("latency", lambda: part_latency(args.latency_files)),
            ("many", lambda: part_many(args.files)),
            ("rss", lambda: part_rss(work, args.big)),
            ("idle", lambda: part_idle(work, args.idle_folders, args.idle_seconds)),
            (
                "history",
                lambda: part_history(
                    work,
                    [int(n) for n in args.history.split(",")],
                    args.idle_seconds,
                    args.status_runs,
                ),
            ),
            ("throughput", lambda: part_throughput(work, args.curl_size)),
        ):
            if name in parts:
                print(f"\n== {name} ==", flush=True)
                results[name] = run()
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print("\n== summary against the targets ==")
    lat = results.get("latency", {})
    if lat:
        print(
            f"close → done p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms "
            f"(target p50 <= 500 ms): {verdict(lat['p50_ms'] <= 500)}"
        )
    many = results.get("many", {})
    if len(many) == 2:
        ratio = many["agent_s"] / many["minimal_s"]
        print(
            f"{args.files} files: agent {many['agent_s']:.2f} s, minimal {many['minimal_s']:.2f} s,"
            f" ratio {ratio:.2f} (target <= 1.25): {verdict(ratio <= 1.25)}"
        )
    rss = results.get("rss", {})
    if rss:
        ratio = rss["big_mib"] / rss["small_mib"]
        print(
            f"peak RSS, running agent: {args.big} {rss['big_mib']:.1f} MiB vs 1M "
            f"{rss['small_mib']:.1f} MiB, ratio {ratio:.2f} (target <= 1.2): "
            f"{verdict(ratio <= 1.2)}"
        )
    idle = results.get("idle", {})
    if idle:
        ok = idle["cpu_pct"] <= 1.0 and idle["rss_max_mib"] <= 80
        print(
            f"idle with {idle['folders']:.0f} folders: {idle['cpu_pct']:.2f} % of a core, "
            f"RSS max {idle['rss_max_mib']:.1f} MiB (target <= 1 %, <= 80 MiB): {verdict(ok)}"
        )
    history = results.get("history", {})
    counts = [int(n) for n in args.history.split(",")]
    if history and len(counts) >= 2:
        low, high = min(counts), max(counts)
        worst = max(history[f"cpu_pct_{n}"] for n in counts)
        drift = history[f"rss_mean_mib_{high}"] - history[f"rss_mean_mib_{low}"]
        print(
            f"idle with {low} → {high} journal entries: CPU "
            f"{history[f'cpu_pct_{low}']:.2f} % → {history[f'cpu_pct_{high}']:.2f} % of a core "
            f"(target <= 0.5 %): {verdict(worst <= 0.5)}; RSS {drift:+.1f} MiB "
            f"(target within ±5 MiB): {verdict(abs(drift) <= 5)}"
        )
        status_s = history[f"status_s_{high}"]
        print(
            f"status --json at {high} entries: {status_s:.3f} s (target <= 0.3 s): "
            f"{verdict(status_s <= 0.3)}"
        )
    put = results.get("throughput", {})
    if put:
        ratio = put["agent_mibs"] / put["curl_mibs"]
        print(
            f"{args.curl_size} upload: agent {put['agent_mibs']:.0f} MiB/s, curl -F "
            f"{put['curl_mibs']:.0f} MiB/s, ratio {ratio:.2f} (target >= 0.8): "
            f"{verdict(ratio >= 0.8)}"
        )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
