"""The journal's own cost per file: the calls one file of a burst makes, replayed N times.

    .venv/bin/python bench/journal_steps.py [--files 2000] [--threads 1] [--no-sync]
                                            [--every-step] [--code DIR]

Per file, as the running agent makes them on its steady path: ``find_by_source`` and
``begin`` (the claim, on the loop), ``advance`` to STABLE with the claimed path, two
``get`` (the worker picking the file up), HASHED, ``find_uploaded``, CREATED, LINKED
(with VERIFIED: a file stored at once records no UPLOADED and VERIFIED on its own, see
agent/engine/stored_linked.py), ``settle`` as done. ``--every-step`` also records UPLOADED
and VERIFIED, as the agent did before. The process's CPU time (user + system, SQLite
included) is divided by the files; ``--no-sync`` leaves the syncs of the write-ahead log
out (their CPU is the kernel's and the same for any code), ``--threads`` replays from
several threads at once (their syncs are shared). ``--code`` imports the agent from
another checkout, to compare two versions with the same replay.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RD = "rd_BankStatements00000001"
WARM_UP = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-sync", action="store_true", help="leave the log's syncs out")
    parser.add_argument("--every-step", action="store_true", help="record UPLOADED, VERIFIED")
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    import agent.journal.transactions as transactions
    from agent.journal import Journal, Outcome, Step

    if args.no_sync:
        transactions._sync_data = lambda fd: None

    def one(journal: Any, n: int, base: Path) -> None:
        folder = base / "Bank statements"
        source = folder / f"statement-{n:06d}.png"
        journal.find_by_source(source)
        entry = journal.begin(
            source, folder_key=f"w_1/{RD}", workflow_id="w_1", required_document_ids=[RD]
        )
        claimed = folder / ".processing" / source.name
        entry = journal.advance(
            entry.id, Step.STABLE, claimed_path=claimed, claimed_ino=n, claimed_dev=1
        )
        entry = journal.get(entry.id)
        entry = journal.get(entry.id)
        sha256 = hashlib.sha256(source.name.encode()).hexdigest()
        entry = journal.advance(entry.id, Step.HASHED, sha256=sha256, size=2048, mtime_ns=n)
        journal.find_uploaded(sha256, [RD], workflow_id="w_1", exclude_id=entry.id)
        entry = journal.advance(entry.id, Step.CREATED, document_id=f"d_{n:08d}")
        if args.every_step:
            journal.advance(entry.id, Step.UPLOADED)
            journal.advance(entry.id, Step.VERIFIED)
        entry = journal.advance(entry.id, Step.LINKED, fulfillments={RD: f"f_{n:08d}"})
        done = folder / "done" / source.name
        journal.settle(entry.id, Outcome.DONE, done, f"uploaded as {entry.document_id}")

    with tempfile.TemporaryDirectory(prefix="journal-steps-") as work:
        base = Path(work)
        journal = Journal.open(base / "journal.sqlite3")
        for n in range(WARM_UP):
            one(journal, 10**6 + n, base)
        commits, syncs = journal.changes, journal.disk_syncs
        cpu, wall = time.process_time(), time.perf_counter()

        def replay(first: int) -> None:
            for n in range(first, args.files, args.threads):
                one(journal, n, base)

        threads = [threading.Thread(target=replay, args=(k,)) for k in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        commits, syncs = journal.changes - commits, journal.disk_syncs - syncs
        journal.close()
    files = args.files
    print(
        f"{files} files, {args.threads} thread(s), syncs {'left out' if args.no_sync else 'made'}: "
        f"CPU {cpu * 1000 / files:.3f} ms per file, wall {wall * 1000 / files:.3f} ms, "
        f"{commits / files:.1f} commits and {syncs / files:.2f} syncs per file"
    )


if __name__ == "__main__":
    main()
