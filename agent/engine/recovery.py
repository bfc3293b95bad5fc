"""Crash recovery: what a previous run left, resumed or put back before new work starts.

Three kinds of leftovers, each settled by looking at the disk, never by guessing:

- this agent's own unsettled journal entries: a claimed file still in ``.processing/``
  resumes at the step after the last one recorded; one already in done/ (found by its
  receipt) is settled; one removed by hand is settled as failed with a note;
- an entry killed between the claim's rename and its record (:meth:`Recovery._reclaim`);
- claims of a stopped agent in the watched folders (:func:`agent.settle.claim.stale_claims`):
  taken over and uploaded, or put back where the user left them when no folder rule
  says what they are for.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

from agent.decide import NeedsRouting, route
from agent.engine.folders import FolderView
from agent.engine.workers import Workers
from agent.journal import Entry, Journal, Outcome, Step
from agent.settle.claim import adopt, claims_in, local_owner_alive, release, stale_claims
from agent.settle.outcome import find_done

log = logging.getLogger(__name__)

ORPHAN_SETTLE = 1.0  # a claim without a record this old was not made by a live agent


class Recovery:
    def __init__(self, *, journal: Journal, folders: FolderView, workers: Workers) -> None:
        self._journal = journal
        self._folders = folders
        self._workers = workers

    def resume(self) -> None:
        """Resume what a previous run left: own journal entries, then orphaned claims."""
        journal = self._journal
        for entry in journal.unsettled():
            if self._workers.stacks.recover(entry):  # a part, or a stack cut into parts
                continue
            if entry.claimed_path is None:
                if not entry.source_path.exists() and not self._reclaim(entry):
                    journal.forget(entry.id)
                continue
            if not entry.claimed_path.exists():
                done = (
                    find_done(entry.claimed_path.parent.parent, entry.document_id)
                    if entry.document_id and entry.reached(Step.VERIFIED)
                    else None
                )
                if done is not None:  # moved to done/ just before the crash
                    journal.settle(entry.id, Outcome.DONE, done, "uploaded")
                elif entry.step <= Step.STABLE:
                    journal.forget(entry.id)
                else:
                    journal.settle(
                        entry.id,
                        Outcome.FAILED,
                        None,
                        f"{entry.file_name} was removed from .processing/ before it was finished",
                    )
                continue
            self._take_over(entry.claimed_path)
            log.info("resuming %s at step %s", entry.file_name, entry.step.name)
            self._workers.submit(entry.id)
        self._take_over_stale()

    def _take_over_stale(self) -> None:
        """Claims a stopped agent left in the watched folders: ours to finish or put back."""
        tree = self._folders.tree
        for folder in tree.folders:
            for stale in stale_claims(folder):
                if self._journal.find_by_claimed(stale.path) is not None:
                    continue
                taken = adopt(stale)
                if taken is None:
                    continue
                decision = route(stale.source, tree)
                if decision is None or isinstance(decision, NeedsRouting):
                    release(taken)  # not ours to upload: back where the user put it
                    continue
                key, workflow_id, rds = self._folders.key_for(stale.source, decision)
                entry = self._journal.begin(
                    stale.source,
                    folder_key=key,
                    claimed=taken.path,
                    step=Step.STABLE,
                    workflow_id=workflow_id,
                    required_document_ids=rds,
                )
                log.info("took over %s, left claimed by a stopped agent", stale.source.name)
                self._workers.submit(entry.id)

    def _reclaim(self, entry: Entry) -> bool:
        """Take back the claim of an entry killed between the claim's rename and its step.

        The entry is at SEEN, its file gone from the folder: the earlier run may have
        renamed it into ``.processing/`` and died before recording the claimed path (or
        even before writing the claim's record). A claim there for the same source whose
        owner is dead, or one without a record that stays without one for
        :data:`ORPHAN_SETTLE` seconds (a live agent writes its record at once), is ours.
        A claim of a live agent is its, and the entry is forgotten.
        """
        if entry.needs_routing:
            return False
        source = entry.source_path
        for found in claims_in(source.parent):
            if found.source != source or self._journal.find_by_claimed(found.path):
                continue
            if found.owner is None:
                try:
                    age = time.time() - found.path.stat().st_ctime
                except FileNotFoundError:
                    continue
                time.sleep(max(0.0, min(ORPHAN_SETTLE, ORPHAN_SETTLE - age)))
                if found.record_path.exists():
                    continue  # another agent's claim after all
            elif local_owner_alive(found.owner) or found.owner.host != socket.gethostname():
                continue
            taken = adopt(found)
            if taken is None:
                continue
            self._journal.advance(entry.id, Step.STABLE, claimed_path=taken.path)
            log.info("took back %s, claimed just before the agent stopped", source.name)
            self._workers.submit(entry.id)
            return True
        return False

    def _take_over(self, claimed: Path) -> None:
        for found in claims_in(claimed.parent.parent):
            if found.path == claimed and found.owner is not None and found.owner.pid != os.getpid():
                adopt(found)
                return
