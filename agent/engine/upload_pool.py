"""The upload processes, seen from the engine: a file handed over, the answer waited for.

:class:`UploadProcesses` starts a few processes (:mod:`agent.engine.upload_process`)
with the ``spawn`` start method, which works alike on Linux, macOS and Windows (a fresh
interpreter: nothing of the engine's threads or open files is inherited). Each has
*slots*, one pipe per file it may work on at once; together there are as many slots as
workers. A worker thread takes a free slot, hands over the journal entry and its
:class:`~agent.engine.pipeline.Job`, and waits — serving the process's asks meanwhile
(where a claimed file is now, the note of a file that is gone, a turn for the same
content; progress and log records) — for the answer: the settled file, or the error
raised, whole (a ``RetryLater`` with its retry hint goes on the engine's schedule as
the in-process pipeline's would). A small file's turn for its content is taken before
it is handed over (:mod:`agent.engine.same_content`), so its process need not ask.

Processes beyond the first :data:`KEPT` end after :data:`IDLE_SECONDS` without a file, so
that an idle agent does not hold an interpreter per worker; they start again when files
arrive (:meth:`UploadProcesses.warm`, while a file is still being confirmed as finished)
or, at the latest, when a file is handed to one of them. The kept ones take a burst's
first files while the others start (each start is a new interpreter: ~0.2 s of CPU).

What the engine keeps of a file between its tries is kept here, not in a process: what
was read of it (the check before done/ compares the file with it), and a claim taken
over from a stopped agent (to be reconciled before anything is created).

A process that dies while it works on a file (killed, out of memory) leaves the file
as a killed agent would: the journal step it reached. :meth:`UploadProcesses.run`
raises :class:`UploadInterrupted`; the process is replaced at once, and the file's next
try is a resumption (``interrupted``): a ``document.create`` the dead process may have
sent without recording its answer is looked for and its record deleted, as after a
restart (:func:`agent.engine.reconcile.remove_lost_creates`).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from agent.engine.into_done import Settled
from agent.engine.locate import Locator
from agent.engine.pipeline import Job, Progress
from agent.engine.same_content import ContentTurns, key_ahead
from agent.engine.upload_child import Child, end, spawn, stop_all
from agent.engine.upload_wire import (
    BATCH,
    GONE,
    GONE_SAID,
    LOCATE,
    LOCATED,
    LOG,
    PROGRESS,
    RAISED,
    RUN,
    SETTLED,
    TURN,
    TURN_END,
    TURN_GIVEN,
    Connection,
    ProcessGone,
    Setup,
    receive,
    send,
)
from agent.journal import Entry, Step
from agent.upload.identity import FileIdentity

log = logging.getLogger(__name__)

IDLE_SECONDS = 300.0  # a process beyond the kept ones ends after this long without a file
KEPT = 2  # processes that never end idle


class UploadInterrupted(Exception):
    """The upload process working on the file died (``times`` so far for this file; 0:
    the agent stops); the file resumes on its next try."""

    def __init__(self, file_name: str, exitcode: int | None = None, times: int = 0) -> None:
        super().__init__(file_name)
        self.times = times
        self.sentence = (
            f"the upload process working on {file_name} ended (exit code {exitcode}"
            f"{'' if times == 1 else f', {times} times'}); {file_name} resumes where it "
            "stood. If this goes on, please report it with the log."
        )


@dataclass
class _Held:
    """What a worker holds for the file it hands over: the turns the process took."""

    turns: list[Hashable] = field(default_factory=list)


class UploadProcesses:
    """``count`` upload processes (no more than ``uploads``) in which ``uploads`` files in
    all talk to Kompliant at once; each process has a slot more than its share, for a
    file that is read or settled beside them (thread-safe)."""

    def __init__(
        self,
        *,
        count: int,
        uploads: int,
        setup: Setup,
        locator: Locator,
        progress_for: Callable[[Entry], Progress | None],
    ) -> None:
        self._count = max(1, min(count, uploads))
        self._setup = setup
        self._locator = locator
        self._progress_for = progress_for
        self._turns = ContentTurns()
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._stopped = False
        self._processes: list[Child | None] = [None] * self._count
        self._uploads = [0] * self._count  # each process's share of ``uploads``
        for n in range(max(1, uploads)):
            self._uploads[n % self._count] += 1
        self._slots = [share + 1 for share in self._uploads]
        self.slots = sum(self._slots)
        self._free: list[tuple[int, int]] = []  # (process, slot), taken from the front
        for slot in range(max(self._slots)):  # spread over the processes
            for index, count_here in enumerate(self._slots):
                if slot < count_here:
                    self._free.append((index, slot))
        self._slot_freed = threading.Condition(self._lock)
        self._working = [0] * self._count  # files in each process now
        self._idle_since = [time.monotonic()] * self._count
        self._all_up = False  # every process is running (a hint read without the lock)
        self._warming = False
        self._stopping = threading.Event()
        self._reads: dict[int, FileIdentity] = {}
        self._taken_over: dict[int, datetime | None] = {}
        self._interrupted: set[int] = set()
        self._interruptions: dict[int, int] = {}  # entry id → its processes that died

    # -- the processes -------------------------------------------------------------------

    def start(self) -> None:
        """Start every process now (else each starts when first needed), and the watch
        that ends idle ones."""
        for index in range(self._count):
            self._process(index)
        if self._count > KEPT:
            threading.Thread(target=self._watch_idle, name="upload-idle", daemon=True).start()

    def warm(self) -> None:
        """Files are arriving: start the processes that ended idle, beside the caller, so
        that the files find them ready once claimed. Cheap when all are running."""
        if self._all_up:
            return
        with self._lock:
            if self._stopped or self._warming:
                return
            self._warming = True
        threading.Thread(target=self._start_all, name="upload-warm", daemon=True).start()

    def _start_all(self) -> None:
        try:
            for index in range(self._count):
                self._process(index)
        except UploadInterrupted:
            pass  # the agent stops
        finally:
            with self._lock:
                self._warming = False

    def _watch_idle(self) -> None:
        while not self._stopping.wait(IDLE_SECONDS / 10):  # ended within 10 % of the time
            self._end_idle(time.monotonic())

    def _end_idle(self, now: float) -> None:
        """End the processes beyond the kept ones that had no file for
        :data:`IDLE_SECONDS`."""
        ended = []
        with self._lock:
            for index in range(KEPT, self._count):
                process = self._processes[index]
                idle = now - self._idle_since[index] >= IDLE_SECONDS
                if process is not None and not self._working[index] and idle:
                    self._processes[index] = None
                    self._all_up = False
                    ended.append(process)
        stop_all(ended)
        if ended:
            log.info(
                "%d upload process(es) ended after %.0f s without files; they start again "
                "when files arrive",
                len(ended),
                IDLE_SECONDS,
            )

    def pids(self) -> list[int]:
        with self._lock:
            return [p.process.pid for p in self._processes if p is not None and p.process.pid]

    def _process(self, index: int) -> Child:
        with self._lock:
            if self._stopped:
                raise UploadInterrupted("the agent stops")
            current = self._processes[index]
            if current is not None and current.process.is_alive():
                return current
            if current is not None:
                end(current)
                log.warning("upload process %d ended; a new one is started", index + 1)
            setup = replace(self._setup, uploads=self._uploads[index])
            started = spawn(self._context, index, self._slots[index], setup)
            self._processes[index] = started
            self._idle_since[index] = time.monotonic()  # idle from its start, not before
            self._all_up = all(p is not None for p in self._processes)
            return started

    def stop(self) -> None:
        """Stop every process (their files are done: the workers were waited for)."""
        self._stopping.set()
        with self._lock:
            self._stopped = True
            processes = [p for p in self._processes if p is not None]
            self._processes = [None] * self._count
            self._all_up = False
        stop_all(processes)

    # -- what the workers keep of a file -----------------------------------------------

    def taken_over(self, entry_id: int, since: datetime | None) -> None:
        with self._lock:
            self._taken_over[entry_id] = since

    def interrupted(self, entry_id: int) -> bool:
        """Whether a process died while it worked on ``entry_id`` (not resumed since)."""
        with self._lock:
            return entry_id in self._interrupted

    def forget(self, entry_id: int) -> None:
        """``entry_id`` is settled: nothing of it is kept any more."""
        with self._lock:
            self._reads.pop(entry_id, None)
            self._taken_over.pop(entry_id, None)
            self._interrupted.discard(entry_id)
            self._interruptions.pop(entry_id, None)

    # -- one file ------------------------------------------------------------------------

    def run(self, entry: Entry, job: Job) -> Settled:
        """``entry`` through the pipeline in an upload process: the settled file, or the
        error raised there; :class:`UploadInterrupted` when the process died meanwhile."""
        index, slot = self._take_slot()
        held = _Held()
        try:
            ahead = self._turn_ahead(entry, job)
            if ahead is not None:  # after the slot: no turn is held while one is waited for
                self._turns.take(ahead)
                held.turns.append(ahead)
            process = self._process(index)
            try:
                answer = self._serve(process.conns[slot], entry, job, held, ahead)
            except ProcessGone:
                with self._lock:
                    self._interrupted.add(entry.id)
                    times = self._interruptions[entry.id] = self._interruptions.get(entry.id, 0) + 1
                process.process.join(1.0)
                log.warning(
                    "the upload process working on %s ended (exit code %s); the file "
                    "resumes at the step its journal entry reached",
                    entry.file_name,
                    process.process.exitcode,
                )
                self._process(index)  # replaced at once
                raise UploadInterrupted(entry.file_name, process.process.exitcode, times) from None
            except BaseException:
                # This side failed mid-conversation (a bug in an answer to an ask): the
                # process waits for an answer that will not come. It is ended (replaced
                # when next needed); its files resume as after its death.
                with self._lock:
                    self._interrupted.add(entry.id)
                end(process)
                raise
            if isinstance(answer, BaseException):
                raise answer
            return answer
        finally:
            for key in held.turns:
                self._turns.release(key)
            self._give_back(index, slot)

    def _take_slot(self) -> tuple[int, int]:
        """A free slot, of a running process when there is one (a process that ended
        idle starts again only when every running one is full)."""
        with self._slot_freed:
            while not self._free:
                self._slot_freed.wait()
            processes = self._processes
            pick = next((n for n, (i, _) in enumerate(self._free) if processes[i] is not None), 0)
            index, slot = self._free.pop(pick)
            self._working[index] += 1
            return index, slot

    def _give_back(self, index: int, slot: int) -> None:
        with self._slot_freed:
            self._free.append((index, slot))
            self._working[index] -= 1
            if not self._working[index]:
                self._idle_since[index] = time.monotonic()
            self._slot_freed.notify()

    def _turn_ahead(self, entry: Entry, job: Job) -> Hashable | None:
        """The turn a small file will need for its upload, known before it is handed over
        (:func:`~agent.engine.same_content.key_ahead`): taken here, the process need not
        ask for it."""
        if job.upload_duplicates or entry.reached(Step.CREATED) or entry.claimed_path is None:
            return None  # no turn is taken for it
        path = entry.upload_path if entry.upload_path is not None else entry.claimed_path
        return key_ahead(path, entry.workflow_id, entry.required_document_ids)

    def _serve(
        self, conn: Connection, entry: Entry, job: Job, held: _Held, ahead: Hashable | None
    ) -> Settled | BaseException:
        """The conversation about one file, to its answer: the settled file or the error
        the process raised."""
        with self._lock:
            read = self._reads.pop(entry.id, None)
            since = (self._taken_over[entry.id],) if entry.id in self._taken_over else None
            interrupted = entry.id in self._interrupted
        send(conn, RUN, entry, job, read, since, interrupted, ahead)
        progress = self._progress_for(entry)
        waiting: list[tuple[Any, ...]] = []  # what came in one batch, still to handle
        while True:
            if not waiting:
                message = receive(conn)
                waiting = list(reversed(message[1])) if message[0] == BATCH else [message]
            kind, *said = waiting.pop()
            if kind == PROGRESS:
                if progress is not None:
                    progress(said[0], said[1])
            elif kind == LOG:
                record = logging.makeLogRecord(said[0])
                logger = logging.getLogger(record.name)
                if logger.isEnabledFor(record.levelno):
                    logger.handle(record)
            elif kind == LOCATE:
                send(conn, LOCATED, self._locator.locate(said[0]))
            elif kind == GONE:
                send(conn, GONE_SAID, self._locator.gone(said[0]))
            elif kind == TURN:
                for key in held.turns:  # one turn at a time: one taken ahead is let go
                    self._turns.release(key)
                held.turns.clear()
                self._turns.take(said[0])
                held.turns.append(said[0])
                send(conn, TURN_GIVEN, None)
            elif kind == TURN_END:
                held.turns.remove(said[0])
                self._turns.release(said[0])
            elif kind in (SETTLED, RAISED):
                self._after(entry.id, kind == SETTLED, said[-1])
                answer = said[0]
                assert isinstance(answer, Settled | BaseException)
                return answer
            else:
                raise ProcessGone(f"the upload process said {kind!r}")

    def _after(self, entry_id: int, settled: bool, read: FileIdentity | None) -> None:
        with self._lock:
            if settled:
                self._reads.pop(entry_id, None)
                self._taken_over.pop(entry_id, None)
                self._interrupted.discard(entry_id)
                self._interruptions.pop(entry_id, None)
                return
            if read is not None:
                self._reads[entry_id] = read
