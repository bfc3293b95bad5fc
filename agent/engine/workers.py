"""The worker pool: each claimed file through the pipeline, retried on a schedule.

A bounded pool runs :class:`agent.engine.pipeline.Pipeline` for one journal entry at a
time per worker, so one slow or huge file does not hold up the others: in an upload
process (:mod:`agent.engine.upload_pool`; the worker thread waits for its answer), or on
the worker thread itself when there are none (``upload_processes = 0``). What cannot be
done now goes back on a schedule (a heap of due times the loop looks at each turn); a
file whose retry budget is spent goes to failed/ with a note that says what to do
(:func:`agent.engine.trouble.gave_up`). Rejected credentials and an unreachable
Kompliant are the agent's problems, not the file's: they do not count against it.

What went wrong is also said in the status (:mod:`agent.engine.trouble`): Kompliant
answering errors (counted against each file's budget, and never taken for "offline"),
files waiting for room on a full disk (not counted: a documented wait), and a bug met
while handling a file (counted, and its final note asks for a report, never gives
network advice). Claims are taken only as fast as workers can take them
(:meth:`Workers.has_room`), so another agent on the same tree gets its share. With upload
processes, ``workers`` files talk to Kompliant at once and each process has one more
file: it is read and hashed, or moved to done/, beside them, so that no file's turn with
Kompliant waits for another's local steps (:mod:`agent.engine.upload_process`).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.engine.connectivity import Connectivity
from agent.engine.folders import FolderView
from agent.engine.into_done import Settled
from agent.engine.locate import InPlace, Locator, claimed_in_place, done_somewhere
from agent.engine.pipeline import Job, Pipeline, Progress
from agent.engine.problems import Problems, internal_topic
from agent.engine.retry_policy import RetryPolicy, counts_against_budget
from agent.engine.stacks import Prepared, Stacks
from agent.engine.trouble import (
    SERVER,
    InternalError,
    RoomWaits,
    ServerTrouble,
    claim_lost,
    disk_full_topic,
    gave_up,
    internal_error,
    is_disk_full,
    server_status,
    volume_of,
)
from agent.engine.upload_pool import UploadInterrupted, UploadProcesses
from agent.engine.upload_wire import Setup, log_levels
from agent.errors import AuthError, FileChanged, NetworkError, RetryLater
from agent.journal import Entry, Journal, Outcome
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.logfile import log_file
from agent.settle.moves import MoveFailed

log = logging.getLogger(__name__)

AUTH_RETRY_SECONDS = 30.0  # a file held back by rejected credentials is looked at again
ROOM_RETRY_SECONDS = 5.0  # a file waiting for room on a full disk is tried again
MOVED_RETRY_SECONDS = 0.5  # a file whose folder moved while it was looked at: found again

#: Told which required documents of which workflow a file was just linked to.
Linked = Callable[[str, Sequence[str]], None]


@dataclass
class RunSummary:
    done: int = 0
    failed: int = 0
    unsettled: int = 0


class Workers:
    def __init__(
        self,
        *,
        client: KompliantClient,
        journal: Journal,
        folders: FolderView,
        connectivity: Connectivity,
        summary: RunSummary,
        policy: RetryPolicy,
        workers: int,
        verify_timeout: float,
        linked: Linked,
        problems: Problems,
        locator: Locator | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_free: Callable[[], None] = lambda: None,
        noticed: Callable[[Path], None] = lambda path: None,
        processes: int = 0,
        credentials: Credentials | None = None,
    ) -> None:
        self._client = client
        self._journal = journal
        self._folders = folders
        self._connectivity = connectivity
        self._summary = summary
        self._policy = policy
        self._linked = linked
        self._problems = problems
        self._clock = clock
        self._on_free = on_free  # a worker is free again: the loop may claim the next file
        self._size = max(1, workers)
        self._locator: Locator = locator or InPlace(journal)
        self._pipeline = Pipeline(
            client,
            journal,
            verify_timeout=verify_timeout,
            progress=self._progress_for,
            locator=self._locator,
        )
        self.stacks = Stacks(
            journal,
            tree=lambda: folders.tree,
            submit=self.submit,
            fail=self.fail,
            noticed=noticed,
        )
        # ``processes`` above 0 (and the credentials to hand them): the pipeline runs in
        # upload processes, off this interpreter's lock; each worker thread hands its
        # file over and waits. 0: it runs on the worker thread itself.
        self._processes: UploadProcesses | None = None
        if processes > 0 and credentials is not None:
            self._processes = UploadProcesses(
                count=processes,
                uploads=self._size,
                setup=Setup(credentials, journal.path, verify_timeout, log_levels()),
                locator=self._locator,
                progress_for=self._progress_for,
            )
        self._claimed = self._size if self._processes is None else self._processes.slots
        self._pool = ThreadPoolExecutor(max_workers=self._claimed, thread_name_prefix="upload")
        self._server = ServerTrouble()
        self._room = RoomWaits()
        self._lock = threading.Lock()
        self._inflight: set[int] = set()
        self._retries: list[tuple[float, int]] = []  # (monotonic due time, entry id)
        self._uploads: dict[int, tuple[str, int]] = {}  # entry id → (file name, percent)

    # -- what the loop asks ------------------------------------------------------------------

    def has_room(self) -> bool:
        """Whether a worker is free for one more file: claims are taken no faster."""
        with self._lock:
            return len(self._inflight) < self._claimed

    def working_on(self, entry_id: int) -> bool:
        with self._lock:
            return entry_id in self._inflight

    def taken_over(self, entry_id: int, since: datetime | None) -> None:
        """``entry_id`` took over another agent's claim; reconcile before creating."""
        if self._processes is not None:
            self._processes.taken_over(entry_id, since)
        else:
            self._pipeline.taken_over(entry_id, since)

    def lost(self, entry: Entry) -> None:
        """Another agent took this claim over (this one was thought gone): let it go."""
        text = claim_lost(entry.file_name)
        self._journal.settle(entry.id, Outcome.FAILED, None, text)
        if self._processes is not None:
            self._processes.forget(entry.id)
        log.warning("%s", text)

    def submit(self, entry_id: int, entry: Entry | None = None) -> None:
        """Start work on an entry unless under way (``entry``: as its claim just wrote it)."""
        with self._lock:
            if entry_id in self._inflight:
                return
            self._inflight.add(entry_id)
        self._pool.submit(self._work, entry_id, entry)

    def schedule(self, entry_id: int, delay: float) -> None:
        with self._lock:
            heapq.heappush(self._retries, (time.monotonic() + delay, entry_id))

    def dispatch(self, now: float) -> None:
        """Start the retries that are due."""
        due: list[int] = []
        with self._lock:
            while self._retries and self._retries[0][0] <= now:
                due.append(heapq.heappop(self._retries)[1])
        for entry_id in due:
            self.submit(entry_id)

    def all_due(self, now: float) -> None:
        """Make every scheduled retry due now (what waited for the network goes)."""
        with self._lock:
            self._retries = [(now, entry_id) for _, entry_id in self._retries]
            heapq.heapify(self._retries)

    def fail(self, entry: Entry, problem: str, action: str, *, retry_helps: bool = True) -> None:
        """Move a claimed file to failed/ with its reason (``retry_helps`` False: the file
        itself is wrong, so its note does not offer to try it again)."""
        self._pipeline.fail(entry, problem, action, retry_helps=retry_helps)
        self.stacks.settled(entry)
        self._summary.failed += 1
        if self._processes is not None:
            self._processes.forget(entry.id)

    def busy_now(self, now: float) -> bool:
        """Whether a file is being worked on or a retry is due."""
        with self._lock:
            return bool(self._inflight) or (bool(self._retries) and self._retries[0][0] <= now)

    def running(self) -> bool:
        with self._lock:
            return bool(self._inflight)

    def scheduled(self) -> bool:
        with self._lock:
            return bool(self._retries)

    def activity(self) -> tuple[tuple[tuple[str, int], ...], bool]:
        """(the uploads under way as (file name, percent), whether anything is to do)."""
        with self._lock:
            uploads = tuple(self._uploads.values())
            busy = bool(self._inflight) or bool(self._retries)
        return uploads, busy

    def start(self) -> None:
        """Start the upload processes (when the pipeline runs in processes)."""
        if self._processes is not None:
            self._processes.start()

    def expect(self) -> None:
        """A file arrived that will be claimed soon: upload processes that ended idle
        start again meanwhile."""
        if self._processes is not None:
            self._processes.warm()

    def shutdown(self) -> None:
        """Wait for the files under way; scheduled retries stay in the journal."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if self._processes is not None:
            self._processes.stop()
        self._pipeline.close()

    # -- on a worker thread ------------------------------------------------------------------

    def _work(self, entry_id: int, claimed: Entry | None) -> None:
        try:
            entry = claimed or self._journal.get(entry_id)
            if entry is None or entry.settled:
                return
            try:
                if entry.parent_id is None:  # where the claimed file is now (folders move)
                    if self._done_before(entry):
                        return
                    entry = self._locator.locate(entry) or entry
                try:
                    prepared = self.stacks.prepare(entry)
                except FileNotFoundError:  # its folder moved under the look: again shortly
                    self.schedule(entry_id, MOVED_RETRY_SECONDS)
                    return
                if prepared is Prepared.CONTINUE:  # as the look or the conversion wrote it
                    entry = self._journal.get(entry_id) or entry
                elif prepared is not Prepared.AS_GIVEN:
                    self.stacks.settled(entry)
                    return
                settled = self._run(entry, self._folders.job_for(entry, self._client))
                self.stacks.settled(entry)
            except UploadInterrupted as interrupted:  # its process died: it resumes shortly
                if interrupted.times:  # said until the file goes through
                    self._problems.set(internal_topic(entry_id), interrupted.sentence)
                self.schedule(entry_id, MOVED_RETRY_SECONDS)
                return
            except RetryLater as error:
                self._retry_later(entry_id, error)
                return
            except AuthError as error:
                self._connectivity.credentials_rejected(error)
                self.schedule(entry_id, AUTH_RETRY_SECONDS)
                return
            self._count(entry, settled.outcome)
        except Exception as error:  # a bug must not lose the file: it stays claimed
            log.exception("unexpected error while processing journal entry %d", entry_id)
            entry = self._journal.get(entry_id)
            name = entry.file_name if entry is not None else f"journal entry {entry_id}"
            self._problems.set(internal_topic(entry_id), internal_error(name, error, log_file()))
            self._retry_later(entry_id, InternalError(f"{type(error).__name__}: {error}"))
        finally:
            with self._lock:
                self._inflight.discard(entry_id)
                self._uploads.pop(entry_id, None)
            self._on_free()

    def _run(self, entry: Entry, job: Job) -> Settled:
        if self._processes is not None:
            return self._processes.run(entry, job)
        return self._pipeline.run(entry, job)

    def _count(self, entry: Entry, outcome: Outcome) -> None:
        if outcome is Outcome.DONE:
            self._summary.done += 1
            if entry.workflow_id is not None:
                self._linked(entry.workflow_id, entry.required_document_ids)
        else:
            self._summary.failed += 1
        if self._processes is not None:
            self._processes.forget(entry.id)
        self._went_well(entry.id)

    def _done_before(self, entry: Entry) -> bool:
        """An upload process died while it worked on ``entry``: like after a crash, a
        file it had moved to done/ before the journal said so is settled there."""
        if self._processes is None or not self._processes.interrupted(entry.id):
            return False
        if claimed_in_place(entry):
            return False
        done = done_somewhere(entry, self._folders.tree)
        if done is None:
            return False
        self._journal.settle(entry.id, Outcome.DONE, done, "uploaded")
        self._count(entry, Outcome.DONE)
        return True

    def _went_well(self, entry_id: int) -> None:
        """A file went through (or ended on purpose): what was wrong for it is over."""
        self._connectivity.went_online()
        if self._server.cleared():
            log.info("Kompliant answers without errors again")
        self._problems.set(SERVER, None)
        self._problems.set(internal_topic(entry_id), None)
        self._room_done(entry_id)

    def _room_done(self, entry_id: int) -> None:
        volume = self._room.done(entry_id)
        if volume is not None:
            self._problems.set(disk_full_topic(volume), self._room.sentence(volume))

    def _retry_later(self, entry_id: int, error: RetryLater) -> None:
        entry = self._journal.get(entry_id)
        if entry is None or entry.settled:
            self._room_done(entry_id)
            self._problems.set(internal_topic(entry_id), None)
            return
        policy = self._policy
        status = server_status(error)
        if status is not None:  # Kompliant answers, with an error: not offline
            self._server.seen(error.method or "", status, self._clock())
            self._problems.set(SERVER, self._server.sentence(self._clock()))
        elif isinstance(error, NetworkError):
            self._connectivity.went_offline(error)
        if isinstance(error, MoveFailed) and is_disk_full(error):
            where = entry.claimed_path or entry.source_path
            volume = volume_of(where)
            self._room.wait(entry_id, volume)
            self._problems.set(disk_full_topic(volume), self._room.sentence(volume))
            self.schedule(entry_id, ROOM_RETRY_SECONDS)
            log.info("%s waits for room on %s", entry.file_name, volume)
            return
        if not counts_against_budget(error):
            delay = policy.delay(1, error)
            self.schedule(entry_id, delay)
            log.info("%s: %s; trying again in %.0f s", entry.file_name, error.message, delay)
            return
        attempts = entry.attempts + 1  # the retries recorded, and this one
        if policy.exhausted(attempts):
            problem, action = gave_up(attempts, error)
            self.fail(entry, problem, action)
            self._problems.set(internal_topic(entry_id), None)
            return
        delay = 0.5 if isinstance(error, FileChanged) else policy.delay(attempts, error)
        at = datetime.now(UTC) + timedelta(seconds=delay)
        self._journal.record_retry(entry_id, error.describe(), at)
        self.schedule(entry_id, delay)
        log.info(
            "%s: %s; attempt %d of %d in %.0f s",
            entry.file_name,
            error.message,
            attempts + 1,
            policy.max_attempts,
            delay,
        )

    def _progress_for(self, entry: Entry) -> Progress | None:
        def report(sent: int, total: int) -> None:
            percent = int(sent * 100 / total) if total else 100
            with self._lock:
                self._uploads[entry.id] = (entry.file_name, percent)

        return report
