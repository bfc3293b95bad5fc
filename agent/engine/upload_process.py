"""An upload process: the pipeline run for the engine, on an interpreter of its own.

The engine's Python runs its loop, the watcher and the workers' scheduling under one
interpreter lock; hashing, the HTTP calls and the journal writes of each file would hold
that same lock. So the engine starts a few upload processes (:mod:`agent.engine.upload_pool`)
and each runs :class:`~agent.engine.pipeline.Pipeline` for the files the engine hands it:
its own Kompliant client (credentials from the pipe, :mod:`agent.engine.upload_wire`), its
own journal connection (SQLite in WAL mode takes writers from several processes; every
step is committed as the engine's own would be), and one thread per *slot* — a pipe on
which the engine hands one file at a time and waits for its answer.

What only the engine knows is asked of it over the slot's pipe, while the file is worked
on: where a claimed file is now when it is not where the journal says (the engine's
folder tree follows moved folders), the note of a file that is nowhere, a turn for
content another file is uploading right now; upload progress and log records are told
(they go with the next ask or answer: :class:`~agent.engine.upload_wire.Outbox`).

A process never outlives its engine: a thread waits on a pipe only the engine holds, and
when the engine is gone — killed, say — the process exits at once, mid-file or not, as a
killed agent would (the journal keeps the step it reached).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from agent.engine.locate import claimed_in_place
from agent.engine.pipeline import Job, Pipeline, Progress
from agent.engine.reconcile import remove_lost_creates
from agent.engine.same_content import ContentTurns
from agent.engine.upload_wire import (
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
    Outbox,
    ProcessGone,
    Setup,
    log_record,
    portable,
    receive,
)
from agent.errors import AgentError
from agent.journal import Entry, Journal, Step
from agent.kompliant.client import KompliantClient
from agent.upload.identity import FileIdentity

log = logging.getLogger(__name__)

STOP = "stop"  # on the lifeline: the engine stops; anything else (or its end): it is gone

_slot = threading.local()  # the outbox of the slot a thread serves


def serve(conns: list[Connection], lifeline: Connection) -> None:
    """The upload process's whole life (its ``target``): set up from the first pipe,
    one thread per slot, until the engine says stop — or is gone."""
    kind, setup = receive(conns[0])
    assert kind == SETUP and isinstance(setup, Setup)
    logging.getLogger().handlers[:] = [_ToEngine()]
    for name, level in setup.log_levels.items():
        logging.getLogger(name or None).setLevel(level)
    with Journal.open(setup.journal) as journal, KompliantClient(setup.credentials) as client:
        gate = threading.BoundedSemaphore(setup.uploads)  # its files talking to Kompliant
        slots = [_Slot(conn, client, journal, setup, gate) for conn in conns]
        threads = [
            threading.Thread(target=slot.serve, name=f"upload-slot-{n}", daemon=True)
            for n, slot in enumerate(slots)
        ]
        for thread in threads:
            thread.start()
        try:
            said = lifeline.recv()
        except (EOFError, OSError):
            said = None
        if said != STOP:  # the engine is gone: stop now, wherever the files are
            os._exit(1)
        for thread in threads:  # the engine closes the slots' pipes once they are idle
            thread.join()
        for slot in slots:
            slot.close()


class _Slot:
    """One pipe, one file at a time: the engine's job run through a pipeline."""

    def __init__(
        self,
        conn: Connection,
        client: KompliantClient,
        journal: Journal,
        setup: Setup,
        gate: threading.BoundedSemaphore,
    ) -> None:
        self._conn = conn
        self._outbox = Outbox(conn)
        self._client = client
        self._journal = journal
        self._turns = _TurnsOfEngine(self._outbox)
        self._pipeline = Pipeline(
            client,
            journal,
            verify_timeout=setup.verify_timeout,
            progress=self._progress,
            locator=_AskEngine(self._outbox),
            turns=self._turns,
            gate=gate,
        )

    def close(self) -> None:
        self._pipeline.close()

    def serve(self) -> None:
        _slot.outbox = self._outbox
        while True:
            try:
                message = receive(self._conn)
            except ProcessGone:
                return  # the engine closed this slot (it stops)
            kind, entry, job, read, taken_over, interrupted, ahead = message
            assert kind == RUN
            self._turns.given(ahead)
            try:
                self._run(entry, job, read, taken_over, interrupted)
            except ProcessGone:
                return

    def _run(
        self,
        entry: Entry,
        job: Job,
        read: FileIdentity | None,
        taken_over: tuple[datetime | None] | None,
        interrupted: bool,
    ) -> None:
        pipeline = self._pipeline
        if read is not None:
            pipeline.reads.remember(entry.id, read)
        if taken_over is not None:
            pipeline.taken_over(entry.id, taken_over[0])
        try:
            if interrupted and entry.reached(Step.HASHED) and not entry.reached(Step.CREATED):
                # The process that ran it was killed, maybe between document.create and
                # the journal's CREATED: what that left pending goes, as after a crash.
                assert entry.size is not None
                remove_lost_creates(
                    self._client, self._journal, entry, job.subject_record_id, entry.size
                )
            settled = pipeline.run(entry, job)
        except ProcessGone:
            raise
        except Exception as error:
            if not isinstance(error, AgentError):
                log.error("unexpected error while processing %s", entry.file_name, exc_info=True)
            self._outbox.send(RAISED, portable(error), self._kept(entry.id))
            return
        self._outbox.send(SETTLED, settled, self._kept(entry.id))

    def _kept(self, entry_id: int) -> FileIdentity | None:
        """What was read of the file (the engine keeps it for the file's next try)."""
        reads = self._pipeline.reads
        read = reads.kept(entry_id)
        reads.forget(entry_id)
        return read

    def _progress(self, entry: Entry) -> Progress:
        said = [-1]

        def report(sent: int, total: int) -> None:
            percent = int(sent * 100 / total) if total else 100
            if percent != said[0]:  # a percent once, not every chunk
                said[0] = percent
                self._outbox.tell(PROGRESS, sent, total)

        return report


class _AskEngine:
    """The engine's :class:`~agent.engine.locate.Locator`, asked over the slot's pipe
    when the claimed file is not where the journal says."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def locate(self, entry: Entry) -> Entry | None:
        if claimed_in_place(entry):
            return entry
        return _ask(self._outbox, LOCATED, LOCATE, entry)  # type: ignore[no-any-return]

    def gone(self, entry: Entry) -> str:
        return str(_ask(self._outbox, GONE_SAID, GONE, entry))


class _TurnsOfEngine(ContentTurns):
    """Turns for the same content, taken from the engine: one upload at a time across
    all the processes."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__()
        self._outbox = outbox
        self._given: Hashable | None = None

    def given(self, key: Hashable | None) -> None:
        """The engine took ``key``'s turn for the file it hands over now (it holds it
        until the answer)."""
        self._given = key

    @contextmanager
    def turn(self, key: Hashable) -> Iterator[None]:
        if key == self._given:  # the content the engine read: its turn is held
            yield
            return
        self._given = None  # the engine lets that turn go when this one is asked for
        _ask(self._outbox, TURN_GIVEN, TURN, key)
        try:
            yield
        finally:
            # Told: it goes with the answer that follows (or the next ask, before it).
            self._outbox.tell(TURN_END, key)


def _ask(outbox: Outbox, answer: str, *question: Any) -> Any:
    outbox.send(*question)
    kind, value = receive(outbox.conn)
    assert kind == answer, f"asked {question[0]}, answered {kind}"
    return value


class _ToEngine(logging.Handler):
    """Log records go to the engine's log (its file, its filter of secrets) over the pipe
    of the slot that logs — a warning or worse at once, the others with the slot's next
    message —; anything logged elsewhere to standard error."""

    def emit(self, record: logging.LogRecord) -> None:
        outbox: Outbox | None = getattr(_slot, "outbox", None)
        try:
            if outbox is None:
                print(self.format(record), file=sys.stderr)
            else:
                outbox.tell(LOG, log_record(record))
                if record.levelno >= logging.WARNING:
                    outbox.flush()
        except Exception:
            self.handleError(record)
