"""Arrival and claim: watcher events in, claimed files with a journal entry out.

The watcher's threads only put events on a queue (:meth:`Arrivals.put`); the loop drains
it into the stability tracker (:mod:`agent.watch.stability`), which says when a file is
finished. A finished file is routed (:func:`agent.decide.route`), and one with a
destination is claimed — renamed into ``.processing/`` (:mod:`agent.settle.claim`) — and
handed to the workers. While the agent is paused, offline or signed out, finished files
wait here, unclaimed, in the user's folder; a folder that refuses the claim (read-only,
full) has its file tried again after :data:`CLAIM_RETRY_SECONDS`. A file the tracker gave
up on (it stayed incomplete or empty for its folder's ``incomplete_seconds``) is claimed
and failed with a note that says so (:meth:`Arrivals.given_up`); it is never uploaded.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from pathlib import Path

from agent.content.filetype import Kind, kind_of
from agent.decide import Destination, NeedsRouting, Refusal, route
from agent.engine.folders import FolderView
from agent.engine.problems import Problems, claim_topic
from agent.engine.watch_notes import given_up_note
from agent.engine.workers import Workers
from agent.journal import Journal, Step
from agent.settle.claim import claim
from agent.settle.moves import MoveFailed
from agent.watch.events import EventKind
from agent.watch.readiness import Readiness
from agent.watch.stability import StabilityTracker

log = logging.getLogger(__name__)

CLAIM_RETRY_SECONDS = 5.0  # a file its folder would not let go is tried again


class Arrivals:
    def __init__(
        self,
        *,
        folders: FolderView,
        journal: Journal,
        tracker: StabilityTracker,
        problems: Problems,
        workers: Workers,
        held_back: Callable[[], bool],
    ) -> None:
        self._folders = folders
        self._journal = journal
        self._tracker = tracker
        self._problems = problems
        self._workers = workers
        self._held_back = held_back  # paused, offline or signed out: new files wait
        self._events: queue.SimpleQueue[tuple[Path, EventKind]] = queue.SimpleQueue()
        self._held: dict[Path, None] = {}  # finished files waiting while paused / offline
        self._refused: dict[Path, float] = {}  # files whose folder refused the claim → when

    # -- events → finished files ---------------------------------------------------------------

    def put(self, path: Path, kind: EventKind) -> None:
        """An event from the watcher (any thread)."""
        self._events.put((path, kind))

    def drain(self, timeout: float) -> None:
        """Feed the tracker every queued event, waiting up to ``timeout`` for the first."""
        try:
            path, kind = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._observe(path, kind)
            try:
                path, kind = self._events.get_nowait()
            except queue.Empty:
                return

    def _observe(self, path: Path, kind: EventKind) -> None:
        self._tracker.observe(path, kind)
        if kind is EventKind.DELETED:
            self._held.pop(path, None)
            entry = self._journal.find_by_source(path)
            if entry is not None and entry.needs_routing and entry.claimed_path is None:
                self._journal.forget(entry.id)

    def events_waiting(self) -> bool:
        return not self._events.empty()

    def held(self) -> int:
        """Finished files waiting to be claimed until the agent may upload again."""
        return len(self._held)

    def release(self, now: float) -> None:
        """Take the files that waited (the agent may upload again, or their time came)."""
        for path in list(self._held):
            del self._held[path]
            if path.exists():
                self.finished(path)
        for path, again_at in list(self._refused.items()):
            if again_at <= now:
                del self._refused[path]
                if path.exists():
                    self.finished(path)

    # -- a finished file --------------------------------------------------------------------

    def finished(self, path: Path) -> None:
        """A finished file: decide what it is for, claim it, and start its work."""
        self._take(path, None)

    def given_up(self, path: Path, found: Readiness) -> None:
        """A file that stayed incomplete or empty: claim it and fail it with a note."""
        self._take(path, found)

    def _take(self, path: Path, given_up: Readiness | None) -> None:
        self._folders.ensure_knows(path)
        decision = route(path, self._folders.tree)
        if decision is None:
            return
        if isinstance(decision, NeedsRouting):
            self._needs_routing(path, decision)
            return
        if given_up is None and isinstance(decision, Destination) and self._held_back():
            self._held[path] = None
            return
        earlier = self._journal.find_by_source(path)
        if earlier is not None and earlier.claimed_path is None:
            self._journal.forget(earlier.id)
        key, workflow_id, rds = self._folders.key_for(path, decision)
        # The journal hears of the claim before the rename: a kill between the rename and
        # the claim's record would otherwise leave a claimed file nobody knows is ours
        # (see agent.engine.recovery).
        entry = self._journal.begin(
            path, folder_key=key, workflow_id=workflow_id, required_document_ids=rds
        )
        try:
            taken = claim(path)
        except MoveFailed as error:  # the folder refuses the move: read-only, full disk
            self._journal.forget(entry.id)
            self._claim_refused(path, error)
            return
        except BaseException:
            self._journal.forget(entry.id)
            raise
        self._problems.set(claim_topic(path.parent), None)
        if taken is None:
            self._journal.forget(entry.id)
            return  # gone, or another agent took it
        entry = self._journal.advance(entry.id, Step.STABLE, claimed_path=taken.path)
        if given_up is not None:
            settings = self._folders.settings_for(path)
            problem, action = given_up_note(path, given_up, _kind(taken.path), settings)
            self._workers.fail(entry, problem, action, retry_helps=False)
            return
        if isinstance(decision, Refusal):
            self._workers.fail(entry, decision.problem, decision.action)
            return
        self._workers.submit(entry.id)

    def _claim_refused(self, path: Path, error: MoveFailed) -> None:
        """The file stays where it is; it is tried again after a while, the agent runs on."""
        topic = claim_topic(path.parent)
        if not self._problems.known(topic):
            log.warning("%s", error.describe())
        self._problems.set(topic, error.describe())
        self._refused[path] = time.monotonic() + CLAIM_RETRY_SECONDS

    def _needs_routing(self, path: Path, decision: NeedsRouting) -> None:
        if self._journal.find_by_source(path) is not None:
            return
        key, workflow_id, _ = self._folders.key_for(path, decision)
        entry = self._journal.begin(path, folder_key=key, workflow_id=workflow_id)
        self._journal.mark_needs_routing(
            entry.id,
            f"{path.name} matches no inbox rule: move it into the folder of its required "
            "document, or add a rule to the config",
        )
        log.warning("%s needs routing: no inbox rule matches it", path)


def _kind(path: Path) -> Kind | None:
    try:
        return kind_of(path)
    except (OSError, ValueError):
        return None
