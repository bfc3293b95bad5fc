"""What the running agent says about itself, gathered from the rooms that know it.

:class:`Reporter` reads what the rooms hold — the journal's counts and failed files, the
problems, the workers' uploads, the files watched or waiting to be finished, the folders
checked by polling, paused or offline — into
:class:`~agent.engine.snapshot.EngineFacts`, makes the snapshot of them
(:func:`~agent.engine.snapshot.take_snapshot`) and hands it to the
:class:`~agent.engine.snapshot.Publisher`. The loop asks it to publish on every turn; it
builds the snapshot again only when one of those facts moved, and reads the journal
again only when the journal changed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from agent.engine.arrival import Arrivals
from agent.engine.connectivity import Connectivity
from agent.engine.folders import FolderView
from agent.engine.problems import Problems
from agent.engine.snapshot import (
    EngineFacts,
    Publisher,
    SettledFiles,
    failed_lines,
    stopped,
    take_snapshot,
)
from agent.engine.status import Snapshot
from agent.engine.watch_notes import polled_lines, waiting_lines
from agent.engine.workers import Workers
from agent.journal import FolderCounts, Journal
from agent.watch.observer import FolderWatcher
from agent.watch.stability import StabilityTracker

COUNTS_AGE = 2.0  # the journal's counts are read again at least this often (back-offs end)
PUBLISH_EVERY = 0.5  # while files move, the status is written again at most this often


class Reporter:
    def __init__(
        self,
        *,
        journal: Journal,
        problems: Problems,
        workers: Workers,
        folders: FolderView,
        tracker: StabilityTracker,
        watcher: FolderWatcher,
        arrivals: Arrivals,
        connectivity: Connectivity,
        paused: Callable[[], bool],
        state_dir: Path,
        on_snapshot: Callable[[Snapshot], None] | None,
    ) -> None:
        self._journal = journal
        self._problems = problems
        self._workers = workers
        self._folders = folders
        self._tracker = tracker
        self._watcher = watcher
        self._arrivals = arrivals
        self._connectivity = connectivity
        self._paused = paused
        self._publisher = Publisher(state_dir, on_snapshot)
        self._settled = SettledFiles(journal)
        self._counts: tuple[int, float, list[FolderCounts], dict[str, str]] = (-1, 0.0, [], {})
        self._last_facts: tuple[object, ...] | None = None
        self._published_at = 0.0

    def snapshot(self) -> Snapshot:
        counts, failed = self._journal_facts()
        uploads, busy = self._workers.activity()
        # What the watcher knows goes with the problems, each line on a topic of its own.
        problems = {**self._problems.current(), **failed}
        problems.update(waiting_lines(self._tracker.waiting(), self._folders.settings_for))
        problems.update(polled_lines(self._watcher.polled()))
        failed_files, recent = self._settled.of(counts)
        facts = EngineFacts(
            paused=self._paused(),
            offline=self._connectivity.offline,
            problems=problems,
            busy=busy,
            checking=self._tracker.pending() + self._arrivals.held() + self._arrivals.ready(),
            uploads=uploads,
            failed_files=failed_files,
            recent=recent,
        )
        return take_snapshot(
            facts,
            counts,
            pid=os.getpid(),
            updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def _journal_facts(self) -> tuple[list[FolderCounts], dict[str, str]]:
        """The journal's counts and the failed files' lines, read again only when the
        journal changed (or, for back-offs that end, every :data:`COUNTS_AGE` seconds):
        the hot rows and the totals, never the whole history."""
        changes, read_at, counts, failed = self._counts
        now = time.monotonic()
        if changes != self._journal.changes or now - read_at >= COUNTS_AGE:
            changes = self._journal.changes
            counts = self._journal.status()
            failed = failed_lines(
                [
                    (
                        e.file_name,
                        str((e.final_path or e.source_path).parent.parent),
                        e.message or "",
                    )
                    for e in self._journal.failed_waiting()
                ]
            )
            self._counts = (changes, now, counts, failed)
        return counts, failed

    def publish(self, final: bool = False) -> None:
        """Say what the agent does — built again only when something it depends on moved.

        A change of state (paused, offline, a problem) is said at once; progress (files
        counted, uploads under way) at most every :data:`PUBLISH_EVERY` seconds: in a
        burst the journal changes with every step of every file, and building and writing
        the status each time cost more than a third of the loop's time. What is held back
        is said by a later turn (the loop turns at least every
        :data:`~agent.engine.runner.TICK`).
        """
        state = (self._problems.version, self._paused(), self._connectivity.offline)
        last = self._last_facts
        now = time.monotonic()
        if (
            not final
            and last is not None
            and state == last[: len(state)]
            and now - self._published_at < PUBLISH_EVERY
        ):
            return  # only progress can have moved, and it was said less than PUBLISH_EVERY ago
        facts = (
            *state,
            self._journal.changes,
            self._workers.activity(),
            self._tracker.pending(),
            self._tracker.waiting_changes,
            tuple(self._watcher.polled()),
            self._arrivals.held(),
            self._arrivals.ready(),
            int(time.monotonic() // COUNTS_AGE),
        )
        if facts == last and not final:
            return
        self._last_facts, self._published_at = facts, now
        snapshot = self.snapshot()
        self._publisher.publish(stopped(snapshot) if final else snapshot)
