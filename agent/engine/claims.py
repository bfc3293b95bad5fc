"""Live claims: this agent's heartbeats, and the takeover of claims whose owner is gone.

Runs beside the loop (:class:`agent.engine.beside.Ticker`), never on it:

- every :data:`agent.settle.liveness.HEARTBEAT_SECONDS` each claim this agent holds (its
  unsettled journal entries) is touched (:func:`agent.settle.liveness.heartbeat`); a claim
  whose file is not at its path is looked for (:mod:`agent.engine.relocate`), one that
  another agent took over is let go;
- every :data:`WATCH_SECONDS` the ``.processing/`` folders known to hold claims are read
  and each claim of another agent judged (:func:`agent.settle.liveness.judge`): one whose
  owner is gone is taken over (:func:`agent.settle.claim.adopt`: of several survivors
  exactly one wins) and resumed at the step the owner's journal recorded when it can be
  read (same host), else from what Kompliant holds (the pipeline reconciles with
  ``document.list`` / ``fulfillment.list``);
- which folders hold a ``.processing/`` is known from the tree's last reading and the
  watcher (:meth:`LiveClaims.noticed`: a change inside a ``.processing/``, or a file that
  left a folder — what another agent's claim looks like when its ``.processing/`` is too
  new to be watched yet); a light sweep every :data:`SWEEP_SECONDS` finds those on shares
  that send no events.

Failed files that left ``failed/`` (retried, deleted, moved away) are resolved out of the
status here too: the same kind of look at the disk, on the same thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agent.decide import NeedsRouting, route
from agent.engine.folders import FolderView
from agent.engine.relocate import Relocator
from agent.engine.workers import Workers
from agent.journal import Journal, Step, read_claimed_entry
from agent.owned_names import AGENT_OWNED
from agent.settle.claim import Claim, ClaimOwner, adopt, claims_in, release
from agent.settle.liveness import HEARTBEAT_SECONDS, Hold, LeaseWatch, heartbeat, judge

log = logging.getLogger(__name__)

WATCH_SECONDS = 2.0  # how often other agents' claims are judged
SWEEP_SECONDS = 60.0  # how often every folder is checked for a .processing/ of its own
FAILED_SECONDS = 5.0  # how often failed files are checked for still being in failed/


class LiveClaims:
    def __init__(
        self,
        *,
        journal: Journal,
        folders: FolderView,
        workers: Workers,
        relocator: Relocator,
        me: ClaimOwner,
        lease: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._journal = journal
        self._folders = folders
        self._workers = workers
        self._relocator = relocator
        self._me = me
        self._clock = clock
        self._watch = LeaseWatch(lease=lease, clock=clock)
        self._lock = threading.Lock()
        self._dirs: set[Path] = set()  # folders holding a .processing/ (or that did)
        self._next_beat = 0.0
        self._next_watch = 0.0
        self._next_sweep = 0.0
        self._next_failed = 0.0

    # -- from other threads ------------------------------------------------------------------

    def noticed(self, folder: Path) -> None:
        """``folder`` has a ``.processing/`` (a claim was seen there): watch it."""
        with self._lock:
            self._dirs.add(folder)

    # -- the ticker's task -------------------------------------------------------------------

    def tick(self) -> float:
        """Whatever is due; the seconds until something is due again."""
        now = self._clock()
        if now >= self._next_beat:
            self._next_beat = now + HEARTBEAT_SECONDS
            self.beat()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self.sweep()
        if now >= self._next_watch:
            self._next_watch = now + WATCH_SECONDS
            self.watch()
        if now >= self._next_failed:
            self._next_failed = now + FAILED_SECONDS
            self.resolve_failed()
        return max(0.05, min(self._next_beat, self._next_watch, self._next_failed) - self._clock())

    def beat(self) -> None:
        """Touch every claim this agent holds; follow or let go of those that changed."""
        for entry in self._journal.unsettled():
            if entry.claimed_path is None or entry.parent_id is not None:
                continue  # a part of a stack lives in the work folder, under the stack's claim
            claim = Claim(entry.claimed_path, entry.source_path, self._me, None)
            hold = heartbeat(claim, self._me)
            if hold is Hold.HELD:
                continue
            if self._workers.working_on(entry.id):
                continue  # its worker meets the change at its next step
            if hold is Hold.LOST:
                self._workers.lost(entry)
            else:
                self._workers.submit(entry.id)  # its worker looks for it (or says it is gone)

    def sweep(self) -> None:
        """Every folder of the tree checked for a ``.processing/`` (a stat each)."""
        tree = self._folders.tree
        found = set(tree.processing)
        for folder in tree.folders:
            if (folder / AGENT_OWNED.processing_dir).is_dir():
                found.add(folder)
        with self._lock:
            self._dirs |= found

    def watch(self) -> None:
        """Judge the other agents' claims; take over those whose owner is gone."""
        with self._lock:
            dirs = sorted(self._dirs)
        mine = {e.claimed_path for e in self._journal.unsettled() if e.claimed_path}
        seen: list[Path] = []
        for folder in dirs:
            if not (folder / AGENT_OWNED.processing_dir).is_dir():
                with self._lock:  # a hint that came to nothing (again when a claim shows)
                    self._dirs.discard(folder)
                continue
            for found in claims_in(folder):
                if found.path in mine:
                    continue
                seen.append(found.path)
                if found.owner is not None and found.owner.instance_id == self._me.instance_id:
                    continue
                if judge(found, me=self._me, watch=self._watch):
                    self._take_over(found)
        self._watch.keep_only(seen)

    def resolve_failed(self) -> None:
        """Failed files no longer in failed/ need the user no more."""
        for entry in self._journal.failed_waiting():
            if entry.final_path is None or not os.path.lexists(entry.final_path):
                self._journal.resolve(entry.id)
                log.info("%s left failed/; it no longer counts as failed", entry.file_name)

    # -- taking a claim over -----------------------------------------------------------------

    def _take_over(self, found: Claim) -> None:
        tree = self._folders.tree
        folder = found.path.parent.parent
        # The record's source may name where the folder was; the file belongs where its
        # .processing/ is now.
        source = folder / found.source.name
        if tree.place(folder) is None:
            tree = self._folders.rescan()
            if tree.place(folder) is None:
                return  # not in a marked folder: not this agent's to take or to put back
        taken = adopt(found, owner=self._me)
        if taken is None:
            return  # another agent was first
        owner = found.owner
        who = f"pid {owner.pid} on {owner.host}" if owner is not None else "an unknown agent"
        decision = route(source, tree)
        if decision is None or isinstance(decision, NeedsRouting):
            release(Claim(taken.path, source, self._me, taken.claimed_at))
            log.info("put %s back into %s, left claimed by %s", source.name, folder, who)
            return
        earlier = None
        if owner is not None and owner.host == self._me.host and owner.journal:
            earlier = read_claimed_entry(Path(owner.journal), found.path)
        key, workflow_id, rds = self._folders.key_for(source, decision)
        place = tree.place(source.parent)
        folder_id, sub = (place[1].folder_id, place[2]) if place is not None else (None, "")
        try:
            st = os.stat(taken.path, follow_symlinks=False)
        except OSError:
            return
        if earlier is not None and not earlier.settled:
            entry = self._journal.take_over(
                source,
                earlier,
                folder_key=key,
                claimed=taken.path,
                folder_id=folder_id,
                folder_sub=sub,
                claimed_ino=st.st_ino,
                claimed_dev=st.st_dev,
            )
            since = earlier.updated_at
        else:
            entry = self._journal.begin(
                source,
                folder_key=key,
                claimed=taken.path,
                step=Step.STABLE,
                workflow_id=workflow_id,
                required_document_ids=rds,
                folder_id=folder_id,
                folder_sub=sub,
                claimed_ino=st.st_ino,
                claimed_dev=st.st_dev,
            )
            since = found.claimed_at
        log.info(
            "took over %s, left claimed by %s (gone); resuming at %s",
            source.name,
            who,
            entry.step.name,
        )
        self._workers.taken_over(entry.id, since)
        self._workers.submit(entry.id)
