"""Close → done latency of the watching agent, on inotify and on polling.

    .venv/bin/python bench/latency.py [--files 50] [--polling-files 20] [--workers 4]
                                      [--modes inotify,inotify-tuned,polling,polling-tuned]

A sandbox runs in its own process; for each mode a fresh agent home gets the demo
workflow's folders and its own ``python -m agent run``. Files (2 KiB, unique content) are
written one at a time, rotating over the three requirement folders, and the next is
written only after the previous one reached done/, so the figure is the path of one file
and not a queue. "close" is the moment this script closes the file it wrote; "done" is
the moment inotify reports the file's name in done/ (see bench/_common.py for the
resolution). The journal's own times split each latency into *detect* (close → the
file claimed and journaled: finished-file detection, routing, claim) and *upload*
(claimed → done/: hash, document.create, presigned POST, document.get, batchAdd, the
move and the receipt). Six warm-up files per mode (two per
folder) are not counted: the first files after the agent starts take longer (see
docs/performance.md). In the polling
modes each write waits a random part of the poll interval first, so that files do not
all arrive at the same point of the observer's cycle.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from dataclasses import dataclass

from _common import (
    REQUIREMENTS,
    AgentHome,
    DoneWatch,
    Stability,
    bench_folder,
    machine,
    make_home,
    pdf_bytes,
    running_agent,
    running_sandbox,
    summary_ms,
    write_file,
)

#: The modes: the shipped defaults, and settings tuned for speed on a local disk.
MODES: dict[str, Stability] = {
    "inotify": Stability(),
    "inotify-tuned": Stability(close_confirm_seconds=0.05, quiet_seconds=0.5),
    "polling": Stability(polling=True),
    "polling-tuned": Stability(polling=True, poll_interval=0.2, quiet_seconds=0.5),
}
FILE_TIMEOUT = 60.0
WARM_UP = 6


@dataclass(frozen=True)
class Sample:
    name: str
    close_wall: float  # time.time() at close, for comparing with the journal
    latency: float  # seconds, close → seen in done/


@dataclass(frozen=True)
class ModeResult:
    mode: str
    stability: Stability
    samples: list[Sample]
    detect: list[float]  # close → claimed, seconds
    upload: list[float]  # claimed → done/, seconds


def measure(home: AgentHome, count: int, mode: str, stability: Stability) -> list[Sample]:
    # A polling observer looks every poll_interval: writing each file right after the
    # previous one settled would always land at the same point of its cycle. A random
    # pause spreads the writes over the cycle, as files arrive in real life.
    gaps = random.Random(count)
    names = list(REQUIREMENTS)
    folders = [home.folders[name] for name in names]
    samples: list[Sample] = []
    with DoneWatch(folder / "done" for folder in folders) as watch:
        for index in range(-WARM_UP, count):  # negative: warm-up
            folder = folders[index % len(folders)]
            name = f"{mode}-{index + WARM_UP:04d}.pdf"
            content = pdf_bytes(f"{mode} {index}")
            if stability.polling:
                time.sleep(gaps.uniform(0, stability.poll_interval))
            closed = write_file(folder / name, content)
            close_wall = time.time()  # microseconds after ``closed``
            if not watch.wait_for({name}, FILE_TIMEOUT):
                raise RuntimeError(
                    f"{name} did not reach done/ within {FILE_TIMEOUT:g} s; "
                    f"see {home.path / 'run.log'}"
                )
            if index >= 0:
                samples.append(Sample(name, close_wall, watch.seen[name] - closed))
    return samples


def journal_split(home: AgentHome, samples: list[Sample]) -> tuple[list[float], list[float]]:
    """(close → claimed, claimed → done) per sample, from the journal's created_at."""
    journal = home.path / "state" / "profiles" / "default" / "journal.sqlite3"
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as conn:
        created = dict(conn.execute("SELECT file_name, created_at FROM entries").fetchall())
    detect: list[float] = []
    upload: list[float] = []
    for sample in samples:
        claimed = created.get(sample.name)
        if claimed is None:
            continue
        split = claimed - sample.close_wall
        detect.append(split)
        upload.append(sample.latency - split)
    return detect, upload


def table(results: list[ModeResult]) -> str:
    head = (
        f"{'mode':<14} {'settings':<44} {'files':>5} {'p50':>7} {'p95':>7} {'max':>7}"
        f" {'detect p50':>11} {'upload p50':>11}"
    )
    lines = [head, "-" * len(head)]
    for result in results:
        total = summary_ms([s.latency for s in result.samples])
        detect = summary_ms(result.detect)["p50"] if result.detect else float("nan")
        upload = summary_ms(result.upload)["p50"] if result.upload else float("nan")
        lines.append(
            f"{result.mode:<14} {result.stability.describe():<44} {len(result.samples):>5}"
            f" {total['p50']:>5.0f}ms {total['p95']:>5.0f}ms {total['max']:>5.0f}ms"
            f" {detect:>9.0f}ms {upload:>9.0f}ms"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=50, help="files per mode (default 50)")
    parser.add_argument(
        "--polling-files",
        type=int,
        default=20,
        help="files for the 'polling' mode, whose default settings take ~3 s a file (default 20)",
    )
    parser.add_argument("--workers", type=int, default=4, help="the agent's workers (default 4)")
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")

    host = machine()
    results: list[ModeResult] = []
    started = time.monotonic()
    with (
        bench_folder("latency-bench-", keep=args.keep) as work,
        running_sandbox(work / "sandbox") as sandbox,
    ):
        for mode in modes:
            stability = MODES[mode]
            count = args.polling_files if mode == "polling" else args.files
            home = make_home(work, sandbox, stability, workers=args.workers)
            print(f"{mode}: {count} files, {stability.describe()} …", file=sys.stderr)
            with running_agent(home):
                samples = measure(home, count, mode, stability)
            detect, upload = journal_split(home, samples)
            results.append(ModeResult(mode, stability, samples, detect, upload))

    print(f"close → done latency, one file at a time ({host}, {args.workers} workers)")
    print(table(results))
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
