"""Drop → done latency per writer pattern, and whether each file arrived whole and once.

    .venv/bin/python bench/writers.py [--files 20] [--writers cp,mv,...] [--workers 4]

A sandbox runs in its own process; one agent (`python -m agent run`, the shipped
stability settings: inotify, close confirm 0.25 s, quiet 2 s) watches the demo
workflow's three requirement folders. For each writer of
``tests/realwriters/patterns.py`` (cp, cp -p, mv, rename-over, rsync, rsync --inplace,
browser, append in passes) files are written one at a time, rotating over the folders:
the next file starts only after the previous one settled, so each figure is the path of
one file. "drop" is the moment the writer finished (its last close, rename or attribute
change); "done" is the moment inotify reports the name in done/ (bench/_common.py).

Each file is also checked once the run is over: exactly one file of that name in done/
with the bytes written, nothing of it in failed/, and on Kompliant exactly one live
COMPLETED document of that name whose SHA-256 is the file's. A pattern whose files break
any of these is marked in the table: its latency is that of a wrong upload.
Two warm-up files per writer are not counted.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import (
    REQUIREMENTS,
    AgentHome,
    DoneWatch,
    Stability,
    bench_folder,
    machine,
    make_home,
    running_agent,
    running_sandbox,
    summary_ms,
)

from tests.realwriters.documents import pdf
from tests.realwriters.patterns import LOCAL_WRITERS, Writer

FILE_TIMEOUT = 30.0
WARM_UP = 2
SIZE = 64 * 1024


@dataclass
class WriterResult:
    writer: Writer
    latencies: list[float] = field(default_factory=list)
    files: dict[str, tuple[Path, str]] = field(default_factory=dict)  # name → folder, sha256
    timeouts: int = 0
    wrong: list[str] = field(default_factory=list)


def measure(home: AgentHome, staging: Path, writer: Writer, count: int) -> WriterResult:
    result = WriterResult(writer)
    folders = [home.folders[name] for name in REQUIREMENTS]
    slug = writer.name.replace(" ", "-").replace("--", "")
    with DoneWatch(folder / "done" for folder in folders) as watch:
        for index in range(-WARM_UP, count):
            folder = folders[index % len(folders)]
            name = f"{slug}-{index + WARM_UP:03d}.pdf"
            content = pdf(f"{writer.name} {index} {time.time_ns()}", SIZE)
            finished = writer.write(staging, folder, name, content)
            result.files[name] = (folder, hashlib.sha256(content).hexdigest())
            if not watch.wait_for({name}, FILE_TIMEOUT):
                result.timeouts += 1
                continue
            if index >= 0:
                result.latencies.append(watch.seen[name] - finished)
        # Let a wrong first upload's followers (the rest of a file written in passes)
        # settle before the files are checked.
        time.sleep(3.0)
    return result


def check(result: WriterResult, documents: list[dict[str, object]]) -> None:
    """Fill ``result.wrong`` with what went wrong for each of its files."""
    live = Counter(
        (str(d["file_name"]), str(d.get("hash")))
        for d in documents
        if d.get("deleted_at") is None and d.get("upload_status") == "COMPLETED"
    )
    by_name = Counter(str(d["file_name"]) for d in documents if d.get("deleted_at") is None)
    for name, (folder, sha) in result.files.items():
        stem = name.rsplit(".", 1)[0]
        done = [p for p in (folder / "done").glob(f"{stem}*.pdf")]
        failed = (
            [p for p in (folder / "failed").glob(f"{stem}*")]
            if (folder / "failed").exists()
            else []
        )
        problems = []
        if len(done) != 1:
            problems.append(f"{len(done)} files in done/")
        elif hashlib.sha256(done[0].read_bytes()).hexdigest() != sha:
            problems.append("done/ holds other bytes")
        if failed:
            problems.append(f"{len(failed)} in failed/")
        if by_name[name] != 1 or live[(name, sha)] != 1:
            problems.append(f"{by_name[name]} live documents, {live[(name, sha)]} whole")
        if problems:
            result.wrong.append(f"{name}: {', '.join(problems)}")


def table(results: list[WriterResult]) -> str:
    head = f"{'writer':<18} {'files':>5} {'p50':>8} {'p95':>8} {'max':>8}  result"
    lines = [head, "-" * len(head)]
    for result in results:
        counted = len(result.files) - WARM_UP
        bad = len({w.split(":", 1)[0] for w in result.wrong})
        if result.latencies and not bad:
            s = summary_ms(result.latencies)
            figures = f"{s['p50']:>6.0f}ms {s['p95']:>6.0f}ms {s['max']:>6.0f}ms"
        else:  # a wrong upload's arrival is no latency (it may come before the writer ends)
            figures = f"{'-':>8} {'-':>8} {'-':>8}"
        verdict = (
            "all whole, once"
            if not bad and not result.timeouts
            else (
                f"WRONG: {bad} of {len(result.files)} files"
                + (f", {result.timeouts} never in done/" if result.timeouts else "")
            )
        )
        lines.append(f"{result.writer.name:<18} {counted:>5} {figures}  {verdict}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20, help="files per writer (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="the agent's workers (default 4)")
    parser.add_argument(
        "--writers",
        default=",".join(w.name for w in LOCAL_WRITERS),
        help="comma-separated writer names (default: all)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    wanted = [w.strip() for w in args.writers.split(",") if w.strip()]
    writers = [w for w in LOCAL_WRITERS if w.name in wanted]
    unknown = set(wanted) - {w.name for w in writers}
    if unknown:
        parser.error(f"unknown writer(s): {', '.join(sorted(unknown))}")
    missing = [w.name for w in writers if not w.available()]
    if missing:
        parser.error(f"programs missing for: {', '.join(missing)} (install rsync)")

    host = machine()
    results: list[WriterResult] = []
    started = time.monotonic()
    with (
        bench_folder("writers-bench-", keep=args.keep) as work,
        running_sandbox(work / "sandbox") as sandbox,
    ):
        home = make_home(work, sandbox, Stability(), workers=args.workers)
        with running_agent(home):
            for writer in writers:
                print(f"{writer.name}: {args.files} files …", file=sys.stderr)
                results.append(measure(home, work / "staging", writer, args.files))
        state = httpx.get(f"{sandbox.base_url}/_sandbox/state", timeout=30).json()
        for result in results:
            check(result, state["documents"])

    print(f"drop → done per writer, one file at a time ({host}, {args.workers} workers,")
    print(f"{SIZE // 1024} KiB PDFs, {Stability().describe()})")
    print(table(results))
    for result in results:
        for line in result.wrong[:5]:
            print(f"  {result.writer.name}: {line}")
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
