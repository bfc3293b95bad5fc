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

import contextlib
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from multiprocessing.process import BaseProcess
from typing import Any

from agent.engine.into_done import Settled
from agent.engine.locate import Locator
from agent.engine.pipeline import Job, Progress
from agent.engine.same_content import ContentTurns, key_ahead
from agent.engine.upload_process import STOP, serve
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
    SETUP,
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

STOP_WAIT = 10.0  # seconds a stopping process is given to end before it is ended


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
class _Process:
    process: BaseProcess
    conns: list[Connection]
    lifeline: Connection


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
        self._processes: list[_Process | None] = [None] * self._count
        self._uploads = [0] * self._count  # each process's share of ``uploads``
        for n in range(max(1, uploads)):
            self._uploads[n % self._count] += 1
        self._slots = [share + 1 for share in self._uploads]
        self.slots = sum(self._slots)
        self._free: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        for slot in range(max(self._slots)):  # spread over the processes
            for index, count_here in enumerate(self._slots):
                if slot < count_here:
                    self._free.put((index, slot))
        self._reads: dict[int, FileIdentity] = {}
        self._taken_over: dict[int, datetime | None] = {}
        self._interrupted: set[int] = set()
        self._interruptions: dict[int, int] = {}  # entry id → its processes that died

    # -- the processes -------------------------------------------------------------------

    def start(self) -> None:
        """Start every process now (else each starts when first needed)."""
        for index in range(self._count):
            self._process(index)

    def pids(self) -> list[int]:
        with self._lock:
            return [p.process.pid for p in self._processes if p is not None and p.process.pid]

    def _process(self, index: int) -> _Process:
        with self._lock:
            if self._stopped:
                raise UploadInterrupted("the agent stops")
            current = self._processes[index]
            if current is not None and current.process.is_alive():
                return current
            if current is not None:
                _end(current)
                log.warning("upload process %d ended; a new one is started", index + 1)
            started = self._spawn(index)
            self._processes[index] = started
            return started

    def _spawn(self, index: int) -> _Process:
        pairs = [self._context.Pipe() for _ in range(self._slots[index])]
        lifeline_in, lifeline_out = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=serve,
            args=([theirs for _, theirs in pairs], lifeline_in),
            name=f"kompliant-upload-{index + 1}",
            daemon=True,
        )
        process.start()
        for _, theirs in pairs:  # only the process holds its ends: its death ends our reads
            theirs.close()
        lifeline_in.close()
        mine: list[Connection] = [ours for ours, _ in pairs]
        send(mine[0], SETUP, replace(self._setup, uploads=self._uploads[index]))
        return _Process(process, mine, lifeline_out)

    def stop(self) -> None:
        """Stop every process (their files are done: the workers were waited for)."""
        with self._lock:
            self._stopped = True
            processes = [p for p in self._processes if p is not None]
            self._processes = [None] * self._count
        for process in processes:
            with contextlib.suppress(OSError):
                process.lifeline.send(STOP)
            for conn in process.conns:
                conn.close()
        for process in processes:
            process.process.join(STOP_WAIT)
            _end(process)

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
        index, slot = self._free.get()
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
                _end(process)
                raise
            if isinstance(answer, BaseException):
                raise answer
            return answer
        finally:
            for key in held.turns:
                self._turns.release(key)
            self._free.put((index, slot))

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


def _end(process: _Process) -> None:
    """Make sure ``process`` is gone and its pipes closed."""
    if process.process.is_alive():
        process.process.kill()
        process.process.join(STOP_WAIT)
    for conn in (*process.conns, process.lifeline):
        conn.close()
