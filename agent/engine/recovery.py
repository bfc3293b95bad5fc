"""Crash recovery: what a previous run left, resumed or put back before new work starts.

Two kinds of leftovers, each settled by looking at the disk, never by guessing:

- this agent's own unsettled journal entries: a claimed file still in ``.processing/``
  resumes at the step after the last one recorded — also when its folder was renamed or
  moved meanwhile (followed by the folder's marker id, :mod:`agent.engine.relocate`); one
  already in done/ (found by its receipt) is settled; one gone for good ends with a note
  saying what reached Kompliant;
- an entry killed between the claim's rename and its record (:meth:`Recovery._reclaim`).

Claims other agents left, stopped or not, are judged while the agent runs, not only at
its start (:mod:`agent.engine.claims`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

from agent.engine.folders import FolderView
from agent.engine.locate import done_somewhere
from agent.engine.relocate import Relocator
from agent.engine.workers import Workers
from agent.journal import Entry, Journal, Outcome, Step
from agent.settle.claim import ClaimOwner, adopt, claims_in, local_owner_alive

log = logging.getLogger(__name__)

ORPHAN_SETTLE = 1.0  # a claim without a record this old was not made by a live agent


class Recovery:
    def __init__(
        self,
        *,
        journal: Journal,
        folders: FolderView,
        workers: Workers,
        relocator: Relocator,
        me: ClaimOwner,
    ) -> None:
        self._journal = journal
        self._folders = folders
        self._workers = workers
        self._relocator = relocator
        self._me = me

    def resume(self) -> None:
        """Resume what a previous run left: this agent's own journal entries. (Claims of
        other agents, stopped or not, are :mod:`agent.engine.claims`' to judge.)"""
        journal = self._journal
        for entry in journal.unsettled():
            if self._workers.stacks.recover(entry):  # a part, or a stack cut into parts
                continue
            claimed = entry.claimed_path
            if claimed is None:
                if not entry.source_path.exists() and not self._reclaim(entry):
                    journal.forget(entry.id)
                continue
            if not self._relocator.in_place(entry):
                done = done_somewhere(entry, self._folders.tree)
                if done is not None:  # moved to done/ just before the crash
                    journal.settle(entry.id, Outcome.DONE, done, "uploaded")
                    continue
                found = self._relocator.locate(entry)
                if found is None and entry.step <= Step.STABLE:
                    journal.forget(entry.id)  # gone before any work on Kompliant
                    continue
                # moved while the agent was stopped (followed), or gone: the pipeline says
                entry = found or entry
            else:
                self._take_over(claimed)
            log.info("resuming %s at step %s", entry.file_name, entry.step.name)
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
            taken = adopt(found, owner=self._me)
            if taken is None:
                continue
            self._journal.advance(entry.id, Step.STABLE, claimed_path=taken.path)
            log.info("took back %s, claimed just before the agent stopped", source.name)
            self._workers.submit(entry.id)
            return True
        return False

    def _take_over(self, claimed: Path) -> None:
        """The claim this agent's previous run held: its record names this run now."""
        for found in claims_in(claimed.parent.parent):
            if found.path == claimed and found.owner is not None and found.owner.pid != os.getpid():
                adopt(found, owner=self._me)
                return
