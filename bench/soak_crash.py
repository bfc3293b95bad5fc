"""Crash soak: SIGKILL the agent at 20 random moments during a 200-file run.

    .venv/bin/python bench/soak_crash.py [--files 200] [--kills 20] [--seed N]
        [--latency-ms 40] [--workers 4] [--limit 900] [--keep]

The sandbox runs in its own process (it outlives every kill) with ``--latency-ms`` added
to every API call and upload, which widens the windows between the steps. The agent
(``python -m agent run``) watches two requirement folders and a combined folder. The files
are dropped before each round, an even share of those left, so the agent always has work
when it is killed. Each round starts the agent and SIGKILLs it at a
random moment: one in five during start-up and recovery (0.2–1.5 s after the start), the
others 0–1.5 s after it says it is watching, while files are claimed, hashed, created,
sent, verified, linked or moved. After the last kill
the agent is started once more, left to finish, and stopped with SIGTERM.

PASS when every file is in its done/ once with a receipt that names what the sandbox holds,
nothing is left in the folders, .processing/ or failed/, the sandbox holds exactly one
COMPLETED document per file and exactly one live fulfillment per (file, requirement), no
pending document is left behind, the journal says ``done`` once per file, and what a kill
leaves behind is at most a hidden temporary file (a note or claim record being written)
per kill, never a document.

Bounded: every wait has a limit, and ``--limit`` seconds after its start a SIGALRM ends
it with a FAIL verdict. Exit code 0 only on PASS.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

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
)

from tests.engine.crashkit import (
    Dropped,
    Install,
    all_settled,
    drop,
    journal_steps,
    make_batch,
    settled_names,
)
from tests.kit.agent import AgentProcess


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--limit", type=float, default=900.0, help="hard limit in seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    verdict = Verdict("crash soak")
    verdict.figure("machine", machine())
    verdict.figure("code", git_commit())
    verdict.figure("seed", seed)
    work = Path(tempfile.mkdtemp(prefix="soak-crash-"))
    print(f"crash soak: seed {seed}, folder {work}, limit {args.limit:.0f} s", flush=True)
    sandbox = SandboxProcess(
        data=work / "sandbox" / "data",
        home=work / "sandbox" / "home",
        options=["--latency-ms", str(args.latency_ms), "--upload-faults"],
    )
    install: Install | None = None
    try:
        with hard_deadline(args.limit):
            install = _soak(args, seed, work, sandbox, verdict)
    except SoakTimeout as error:
        verdict.check("finished within the limit", False, str(error))
    except Exception as error:  # the verdict must come whatever broke
        verdict.check("ran without an error in the soak itself", False, repr(error))
    finally:
        if install is not None:
            install.kill_all()
        sandbox.stop()
    return conclude(verdict, install, work, keep=args.keep, last_logs=2)


def _soak(
    args: argparse.Namespace, seed: int, work: Path, sandbox: SandboxProcess, verdict: Verdict
) -> Install:
    rng = random.Random(seed)
    credentials = sandbox.start()
    install = Install.create(work / "home", work / "root", credentials, workers=args.workers)
    install.add_workflow()
    batch = make_batch(rng, args.files, tag="c")
    dropped: list[Dropped] = []
    in_flight: Counter[str] = Counter()  # the steps files were at when a kill came
    busy_kills = 0
    moments: Counter[str] = Counter()
    began = time.monotonic()

    for round_no in range(args.kills):
        # an even share of the files left, so that every round has work to be killed in
        share = -(-(len(batch) - len(dropped)) // (args.kills - round_no))
        dropped += drop(install.workflow, batch[len(dropped) : len(dropped) + share])
        agent = install.start()
        moment, when = _kill_moment(agent, rng)
        if not agent.alive():
            raise RuntimeError(f"the agent exited by itself:\n{agent.output()[-4000:]}")
        steps = journal_steps(install.journal)
        agent.kill()
        moments[when] += 1
        in_flight.update(steps)
        busy_kills += bool(steps)
        done = sum(1 for n in settled_names(install.workflow).values() if n)
        print(
            f"kill {round_no + 1:2d} {when} at {moment:.2f} s: {done:3d}/{len(dropped)} done, "
            f"in flight {dict(steps)}",
            flush=True,
        )

    last = install.start()
    started = poll_until(lambda: "watching" in last.output(), timeout=60)
    settled = started and poll_until(
        lambda: all_settled(install.workflow, dropped) and not journal_steps(install.journal),
        timeout=300,
    )
    code = last.stop(timeout=60)
    leftovers = [
        p.relative_to(install.workflow)
        for p in install.workflow.rglob("*")
        if p.is_file() and (p.name.startswith(".tmp-") or p.parent.name == ".processing")
    ]

    verdict.figure("files", len(dropped))
    verdict.figure("sandbox latency", f"{args.latency_ms:g} ms per call and upload")
    verdict.figure("kills", f"{args.kills}: {dict(moments)}")
    verdict.figure("kills with files in flight", busy_kills)
    verdict.figure("journal steps in flight at the kills", dict(sorted(in_flight.items())))
    verdict.figure("whole run", f"{time.monotonic() - began:.1f} s")
    verdict.figure("leftovers (hidden temporary files)", [str(p) for p in leftovers])

    verdict.check(
        f"{len(dropped)}/{len(dropped)} settled",
        settled,
        f"{sum(1 for n in settled_names(install.workflow).values() if n)} in done/",
    )
    verdict.check("the last run stopped cleanly on SIGTERM", code == 0, f"exit code {code}")
    verdict.check(
        "kills leave at most one hidden temporary file each, never a document",
        len(leftovers) <= args.kills
        and all(p.name.startswith(".tmp-") or p.name.endswith(".claim.json") for p in leftovers),
        f"{len(leftovers)}",
    )
    check_end_state(install, dropped, sandbox.state(), verdict)
    return install


def _kill_moment(agent: AgentProcess, rng: random.Random) -> tuple[float, str]:
    """Wait for a random moment to kill ``agent``: (seconds since its start, which kind).

    One kill in five comes during start-up and recovery (0.2–1.5 s after the start); the
    others come 0–1.5 s after the agent says it is watching, while files are claimed,
    hashed, created, sent, verified, linked or moved.
    """
    started = time.monotonic()
    if rng.random() < 0.2:
        with contextlib.suppress(subprocess.TimeoutExpired):
            agent.process.wait(timeout=rng.uniform(0.2, 1.5))
        return time.monotonic() - started, "start-up"
    poll_until(lambda: "watching" in agent.output() or not agent.alive(), timeout=30, interval=0.01)
    with contextlib.suppress(subprocess.TimeoutExpired):
        agent.process.wait(timeout=rng.uniform(0.0, 1.5))
    return time.monotonic() - started, "working"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
