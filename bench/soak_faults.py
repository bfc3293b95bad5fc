"""Fault soak: 500 files through a faulty sandbox that also goes away for two minutes.

    .venv/bin/python bench/soak_faults.py [--files 500] [--outage 120] [--seed N]
        [--rate-5xx 0.10] [--rate-429 0.05] [--retry-after 1] [--drop-rate 0.02]
        [--form-lifetime 2] [--no-upload-faults] [--workers 4] [--limit SECONDS] [--keep]

The sandbox runs in its own process with the faults from the start: a share of API calls
answered 500/503, a share answered 429 with ``Retry-After``, a share whose connection is
closed without an answer (before or after the call was processed) — the presigned uploads
too, unless ``--no-upload-faults`` — and upload forms that expire after ``--form-lifetime``
seconds (an upload retried after a fault may meet its form expired). The agent
(``python -m agent run``) watches a workflow with two requirement folders and a combined
folder (two requirements per file).

1. 60 % of the files are dropped at once.
2. When 30 % of all files are in done/, the sandbox is stopped (SIGTERM: it saves its state
   and exits) and 20 % more files are dropped while it is away.
3. After ``--outage`` seconds it is started again on the same port and data folder, and the
   last 20 % are dropped.
4. The soak waits for every file to settle and stops the agent with SIGTERM.

PASS when every file is in its done/ once with a receipt that names what the sandbox holds,
nothing is left in the folders, .processing/ or failed/, the sandbox holds exactly one
COMPLETED document per file and one live fulfillment per (file, requirement) — no duplicate,
no pending document left behind — the journal says ``done`` once per file, status.json said
``offline`` during the outage, and the agent left it by itself once the sandbox was back.

It stops by itself: every wait is bounded, and ``--limit`` seconds after its start a
SIGALRM ends it with a FAIL verdict whatever is hanging. Exit code 0 only on PASS.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _soak import (
    SandboxProcess,
    SoakTimeout,
    Verdict,
    check_end_state,
    conclude,
    git_commit,
    hard_deadline,
    machine,
    poll_until,
    read_status,
)

from tests.engine.crashkit import (
    Dropped,
    Install,
    all_settled,
    drop,
    make_batch,
    settled_names,
)
from tests.kit.agent import AgentProcess


@dataclass
class StatusLog:
    """status.json sampled every 0.2 s by a thread: (monotonic time, state, offline)."""

    home: Path
    samples: list[tuple[float, str, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            status = read_status(self.home)
            if status:
                offline = bool(status.get("offline")) or status.get("state") == "offline"
                self.samples.append((time.monotonic(), str(status.get("state")), offline))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def between(self, start: float, end: float) -> list[tuple[float, str, bool]]:
        return [s for s in self.samples if start <= s[0] <= end]

    def first_online_after(self, moment: float) -> float | None:
        for at, _, offline in self.samples:
            if at >= moment and not offline:
                return at
        return None


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--outage", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--rate-5xx", type=float, default=0.10)
    parser.add_argument("--rate-429", type=float, default=0.05)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--drop-rate", type=float, default=0.02)
    parser.add_argument("--form-lifetime", type=float, default=2.0)
    parser.add_argument(
        "--no-upload-faults",
        dest="upload_faults",
        action="store_false",
        help="keep the presigned uploads free of faults (by default the rates hit them too)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--limit", type=float, default=None, help="hard limit in seconds (default: outage + 900)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    limit = args.limit if args.limit is not None else args.outage + 900.0
    verdict = Verdict("fault soak")
    verdict.figure("machine", machine())
    verdict.figure("code", git_commit())
    verdict.figure("seed", seed)
    verdict.figure(
        "faults",
        f"5xx {args.rate_5xx:.0%}, 429 {args.rate_429:.0%} (Retry-After {args.retry_after:g} s), "
        f"dropped {args.drop_rate:.0%}, form lifetime {args.form_lifetime:g} s, "
        f"outage {args.outage:g} s, uploads {'too' if args.upload_faults else 'spared'}",
    )
    work = Path(tempfile.mkdtemp(prefix="soak-faults-"))
    print(f"fault soak: seed {seed}, folder {work}, limit {limit:.0f} s", flush=True)
    sandbox = SandboxProcess(
        data=work / "sandbox" / "data",
        home=work / "sandbox" / "home",
        options=[
            "--form-lifetime", str(args.form_lifetime),
            "--5xx-rate", str(args.rate_5xx),
            "--429-rate", str(args.rate_429),
            "--retry-after", str(args.retry_after),
            "--drop-rate", str(args.drop_rate),
            "--seed", str(seed),
            *(["--upload-faults"] if args.upload_faults else []),
        ],
    )  # fmt: skip
    install: Install | None = None
    status: StatusLog | None = None
    try:
        with hard_deadline(limit):
            install, status = _soak(args, seed, work, sandbox, verdict)
    except SoakTimeout as error:
        verdict.check("finished within the limit", False, str(error))
    except Exception as error:  # the verdict must come whatever broke
        verdict.check("ran without an error in the soak itself", False, repr(error))
    finally:
        if status is not None:
            status.stop()
        if install is not None:
            install.kill_all()
        sandbox.stop()
    return conclude(verdict, install, work, keep=args.keep, last_logs=1)


def _soak(
    args: argparse.Namespace,
    seed: int,
    work: Path,
    sandbox: SandboxProcess,
    verdict: Verdict,
) -> tuple[Install, StatusLog]:
    rng = random.Random(seed)
    began = time.monotonic()
    credentials = sandbox.start()
    install = Install.create(work / "home", work / "root", credentials, workers=args.workers)
    status = StatusLog(install.home)
    for _ in range(10):  # add-workflow meets the faults too; it may give up on one
        install.cli("add-workflow", "w_DemoApplication000000001", "--label", "Crash Ltd")
        if install.workflow.is_dir():
            break
    else:
        raise RuntimeError("add-workflow did not create the workflow's folders")
    agent = install.start()
    if not poll_until(lambda: "watching" in agent.output(), timeout=60):
        raise RuntimeError(f"the agent did not start:\n{agent.output()}")
    status.start()

    batch = make_batch(rng, args.files, tag="f")
    first, second = int(args.files * 0.6), int(args.files * 0.8)
    dropped: list[Dropped] = drop(install.workflow, batch[:first])
    t_first = time.monotonic()

    # -- the outage, once 30 % of all files are done
    target = int(args.files * 0.3)
    if not poll_until(lambda: _done(install) >= target, timeout=600):
        raise RuntimeError(f"only {_done(install)} files done before the outage")
    before = sandbox.stats()
    done_at_outage = _done(install)
    sandbox.stop()
    t_down = time.monotonic()
    print(f"sandbox stopped at {t_down - began:.0f} s ({done_at_outage} done)", flush=True)
    dropped += drop(install.workflow, batch[first:second])
    saw_offline = poll_until(
        lambda: any(o for _, _, o in status.between(t_down, time.monotonic())),
        timeout=args.outage,
    )
    _alive(agent, "during the outage")
    time.sleep(max(0.0, t_down + args.outage - time.monotonic()))  # the outage's own length
    during = status.between(t_down, time.monotonic())
    failed_during = _failed(install)
    sandbox.start()
    t_up = time.monotonic()
    print(f"sandbox back at {t_up - began:.0f} s", flush=True)
    dropped += drop(install.workflow, batch[second:])

    settled = poll_until(lambda: all_settled(install.workflow, dropped), timeout=900)
    t_settled = time.monotonic()
    _alive(agent, "after the outage")
    back = status.first_online_after(t_up)
    after = sandbox.stats()
    status.stop()
    code = agent.stop(timeout=60)

    offline_share = sum(1 for _, _, o in during if o) / max(1, len(during))
    verdict.figure("files", f"{len(dropped)} ({first} before, {second - first} during, "
                            f"{args.files - second} after the outage)")  # fmt: skip
    verdict.figure("done when the sandbox stopped", done_at_outage)
    verdict.figure("first drop → all settled", f"{t_settled - t_first:.1f} s")
    verdict.figure("sandbox back → all settled", f"{t_settled - t_up:.1f} s")
    verdict.figure(
        "sandbox back → status online",
        f"{back - t_up:.1f} s" if back is not None else "never",
    )
    verdict.figure("status.json offline during the outage", f"{offline_share:.0%} of samples")
    verdict.figure("faults injected (before + after the outage)", _faults(before, after))
    verdict.figure("calls by status", _statuses(before, after))
    verdict.figure("upload answers", _statuses(before, after, method="upload"))

    verdict.check("every file settled", settled, f"{_done(install)}/{len(dropped)} in done/")
    verdict.check(
        "status.json showed offline during the outage",
        saw_offline,
        f"first seen {_first_offline(status, t_down):.1f} s after the stop"
        if saw_offline
        else "never",
    )
    verdict.check(
        "no file failed while the sandbox was away", not failed_during, str(failed_during)
    )
    verdict.check(
        "the agent went back online by itself",
        back is not None and settled,
        "no restart, no command",
    )
    verdict.check("the agent stopped cleanly on SIGTERM", code == 0, f"exit code {code}")
    verdict.check("the agent ran once, never restarted", len(install.started) == 1)
    check_end_state(install, dropped, sandbox.state(), verdict)
    return install, status


def _done(install: Install) -> int:
    return sum(1 for n in settled_names(install.workflow).values() if n)


def _failed(install: Install) -> list[str]:
    return sorted(str(p.name) for p in install.workflow.glob("*/failed/*") if p.is_file())


def _alive(agent: AgentProcess, when: str) -> None:
    if not agent.alive():
        raise RuntimeError(f"the agent exited {when}:\n{agent.output()[-4000:]}")


def _first_offline(status: StatusLog, since: float) -> float:
    for at, _, offline in status.samples:
        if at >= since and offline:
            return at - since
    return float("nan")


def _faults(before: dict[str, Any], after: dict[str, Any]) -> str:
    total: Counter[str] = Counter(before.get("faults", {}))
    total.update(after.get("faults", {}))
    return ", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "none"


def _statuses(before: dict[str, Any], after: dict[str, Any], method: str = "") -> str:
    if method:
        total: Counter[str] = Counter(before.get("by_method", {}).get(method, {}))
        total.update(after.get("by_method", {}).get(method, {}))
    else:
        total = Counter(before.get("statuses", {}))
        total.update(after.get("statuses", {}))
    return ", ".join(f"{k} {v}" for k, v in sorted(total.items()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
