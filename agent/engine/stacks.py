"""Scanned stacks and files to convert, between the claim and the upload (on a worker).

A claimed PDF or TIFF in the Inbox or a requirement folder is first looked at for cover
sheets (:mod:`agent.scan`):

- no cover: the file goes on as it is — uploaded by the folder's rule; a TIFF made a PDF
  first; an inbox file no rule matches goes back into the Inbox to wait for routing;
- only covers (a printout of the sheets): it fails with a note saying how to use them;
- covers: the stack is cut. Every part is written to the work folder and recorded with
  the stack in one journal transaction (:meth:`agent.journal.Journal.split`); then each
  part goes its way as an entry of its own — uploaded and linked, saved in the folder for
  routing, or failed with its own file and note — and when the last part is settled the
  stack goes to done/ with one receipt listing every part.

A HEIC, BMP or TIFF that is no stack is made a PDF before upload; the entry keeps the
converted copy (upload_path) and the original goes to done/ with a receipt that says
what was converted.

Everything here is decided from the journal, so a restart carries on where the stop
fell: a stack not yet cut is looked at again, a cut stack waits for its parts, a part
whose file is gone after its upload is settled as done.

This module decides; the cut is :mod:`agent.engine.stack_cut`, the PDF made of images
:mod:`agent.engine.conversion`, and pages saved back for routing by hand
:mod:`agent.engine.left_to_route`.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.decide import FolderKind, FolderTree, Marker
from agent.decide.parts import PartKind, PartRoute
from agent.engine.conversion import convert, join_pages
from agent.engine.left_to_route import leave_joined, leave_part
from agent.engine.locate import claim_of
from agent.engine.stack_cut import cut_stack, required_document_names
from agent.engine.stack_record import stack_record
from agent.errors import FileProblem
from agent.journal import Entry, Journal, Outcome, Step
from agent.owned_names import AGENT_OWNED
from agent.scan.convert import needs_conversion
from agent.scan.stack import STACK_SUFFIXES, StackPlan, StackUnreadable, examine
from agent.settle.claim import Claim, release
from agent.settle.stack import (
    find_stack_done,
    remove_work_file,
    settle_members,
    settle_stack_done,
    tidy_work_folder,
    work_folder,
    working_in,
)

log = logging.getLogger(__name__)

#: scan["check"] of an inbox file no rule matched, claimed only to be looked at
CHECK_INBOX = "inbox"
ONLY_COVERS_ACTION = (
    "Print the sheets, put each on top of its document, and scan each stack into the Inbox. "
    "This file itself is not uploaded."
)


class Prepared(enum.Enum):
    CONTINUE = "continue"  # upload the entry (its file or its converted copy)
    AS_GIVEN = "as given"  # upload the entry: nothing was written, it is as it was given
    WAITING = "waiting"  # a cut stack: its parts are under way
    SETTLED = "settled"  # nothing more to do for this entry now (counted by outcome)
    RELEASED = "released"  # back in the Inbox, waiting for routing (no outcome)


def stack_candidate(path: Path, kind: FolderKind | None) -> bool:
    """Whether a file found in a folder of ``kind`` is looked at for cover sheets."""
    return path.suffix.lower() in STACK_SUFFIXES and kind in (
        FolderKind.INBOX,
        FolderKind.REQUIREMENT,
        FolderKind.COMBINED,
    )


def marker_of(tree: FolderTree, path: Path) -> Marker | None:
    """The marker of the agent's folder ``path`` belongs to."""
    for folder in path.parents:
        marker = tree.folders.get(folder)
        if marker is not None:
            return marker
        if folder == tree.root:
            return None
    return None


class Stacks:
    def __init__(
        self,
        journal: Journal,
        *,
        tree: Callable[[], FolderTree],
        submit: Callable[[int], None],
        fail: Callable[[Entry, str, str], Any],
        noticed: Callable[[Path], None] = lambda path: None,
    ) -> None:
        self._journal = journal
        self._tree = tree
        self._submit = submit
        self._fail = fail
        # A file the agent itself saved into a watched folder: handled like a new arrival
        # at once (a run --once must not end before the watcher reports it).
        self._noticed = noticed
        self._finishing = threading.Lock()

    # -- before the upload ---------------------------------------------------------------

    def prepare(self, entry: Entry) -> Prepared:
        """What to do with a claimed entry before (or instead of) uploading it."""
        if entry.claimed_path is None:
            return self._prepare(entry)
        with working_in(claim_of(entry).folder):
            return self._prepare(entry)

    def _prepare(self, entry: Entry) -> Prepared:
        if entry.parent_id is not None:
            return self._part(entry)
        state = entry.scan.get("state")
        if state == "split":
            self.finish(entry.id)
            return Prepared.WAITING
        if state == "whole" or entry.scan.get("looked") or entry.reached(Step.HASHED):
            return Prepared.AS_GIVEN
        made = entry.upload_path is not None and entry.upload_path.exists()
        if state == "converted" and made:
            return Prepared.AS_GIVEN
        assert entry.claimed_path is not None
        claim = claim_of(entry)
        if claim.path.is_symlink():
            return Prepared.AS_GIVEN  # never followed: the upload refuses it with its note
        kind = self._kind(entry)
        try:
            if entry.scan.get("members"):
                if not (state == "joined" and made):
                    entry = join_pages(self._journal, entry, claim)
                assert entry.upload_path is not None
                if kind in (FolderKind.INBOX, FolderKind.REQUIREMENT, FolderKind.COMBINED):
                    return self._look(entry, claim, entry.upload_path)
                return Prepared.CONTINUE
            if stack_candidate(entry.source_path, kind):
                return self._look(entry, claim, claim.path)
            if not needs_conversion(entry.source_path):
                return Prepared.AS_GIVEN
            convert(self._journal, entry, claim)
        except FileProblem as error:  # a password, damage, an image that is none
            self._fail(entry, error.message, error.hint)
            return Prepared.SETTLED
        return Prepared.CONTINUE

    def _kind(self, entry: Entry) -> FolderKind | None:
        marker = marker_of(self._tree(), entry.source_path)
        return marker.kind if marker is not None else None

    def _look(self, entry: Entry, claim: Claim, stack: Path) -> Prepared:
        work = work_folder(claim.folder)
        try:
            plan = examine(stack, work)
        except StackUnreadable as error:
            if entry.scan.get("check") == CHECK_INBOX or entry.scan.get("members"):
                raise  # nothing says what it is for: failed, with the reason
            # The folder (or an inbox rule) says what the file is for, so it goes as the
            # user put it — a statement kept behind its password is a document too.
            log.warning(
                "%s: cannot look for cover sheets (%s); it is uploaded as it is",
                entry.file_name,
                error.message,
            )
            self._journal.record_scan(entry.id, {"state": "whole", "unreadable": True})
            return Prepared.CONTINUE
        if plan.only_covers:
            self._fail(
                entry,
                f"{entry.file_name} holds only cover sheets ({plan.page_count} page(s)), no "
                "document pages.",
                ONLY_COVERS_ACTION,
            )
            return Prepared.SETTLED
        if not plan.has_covers:
            return self._no_covers(entry, claim, plan)
        self._split(entry, claim, plan, work, stack)
        return Prepared.WAITING

    def _no_covers(self, entry: Entry, claim: Claim, plan: StackPlan) -> Prepared:
        log.info("%s: no cover sheet on its %d page(s)", entry.file_name, plan.page_count)
        if entry.scan.get("members") and entry.scan.get("check") == CHECK_INBOX:
            leave_joined(self._journal, entry, claim, self._noticed)
            return Prepared.SETTLED
        if entry.scan.get("members"):
            self._journal.record_scan(entry.id, {"looked": True})
            return Prepared.CONTINUE
        if entry.scan.get("check") == CHECK_INBOX:
            back = release(claim)
            self._journal.unclaim(
                entry.id,
                f"{back.name} matches no inbox rule and holds no cover sheet: move it into "
                "the folder of its required document, add a rule to the config, or scan it "
                "again behind a cover sheet",
            )
            log.warning("%s needs routing: no inbox rule matches it, no cover sheet in it", back)
            return Prepared.RELEASED
        if needs_conversion(entry.source_path):
            convert(self._journal, entry, claim)
        else:
            self._journal.record_scan(entry.id, {"state": "whole", "pages": plan.page_count})
        return Prepared.CONTINUE

    def _split(self, entry: Entry, claim: Claim, plan: StackPlan, work: Path, stack: Path) -> None:
        routing = entry.scan.get("check") == CHECK_INBOX
        made = cut_stack(
            self._journal, self._tree(), entry, claim, plan, work, stack, needs_routing=routing
        )
        for part_entry in made:
            self._submit(part_entry.id)

    # -- a part --------------------------------------------------------------------------

    def _part(self, entry: Entry) -> Prepared:
        parent = self._journal.get(entry.parent_id or 0)
        info = (parent.scan.get("parts", {}) if parent else {}).get(str(entry.part_number))
        if parent is None or not info:
            self._fail(entry, "the stack this part was cut from is not in the journal.", "")
            self.finish(entry.parent_id or 0)
            return Prepared.SETTLED
        route = PartRoute.from_data(info["route"])
        if route.kind is PartKind.UPLOAD:
            return Prepared.AS_GIVEN
        if route.kind is PartKind.FAIL:
            self._fail(entry, route.problem, route.action)
        else:
            leave_part(self._journal, entry, self._noticed)
        self.finish(parent.id)
        return Prepared.SETTLED

    def settled(self, entry: Entry) -> None:
        """After ``entry`` settled (done or failed) on a worker: its stack goes to done/
        when it was the stack's last part, and the work folder its PDF was made in is
        removed when empty. Only the engine removes that folder, since only the engine
        writes there (:func:`working_in`): an upload process that removed it could not
        know that a worker had just made it to write a conversion into."""
        if entry.parent_id is not None:
            self.finish(entry.parent_id)
        elif entry.upload_path is not None and entry.claimed_path is not None:
            tidy_work_folder(claim_of(entry).folder)

    # -- the stack's end -------------------------------------------------------------------

    def finish(self, parent_id: int) -> None:
        """When every part of the stack is settled: the stack to done/ with its receipt."""
        with self._finishing:
            parent = self._journal.get(parent_id)
            if parent is None or parent.settled:
                return
            parts = self._journal.parts_of(parent_id)
            if any(not p.settled for p in parts):
                return
            record = stack_record(
                parent, parts, required_document_names(self._tree(), parent.workflow_id)
            )
            claim = claim_of(parent)
            settle_members(parent.scan.get("members", ()), claim.folder, AGENT_OWNED.done_dir)
            final = settle_stack_done(claim, record)
            if parent.upload_path is not None:
                remove_work_file(parent.upload_path)
            tidy_work_folder(claim.folder)
            done = sum(1 for p in parts if p.outcome is Outcome.DONE)
            self._journal.settle(
                parent_id,
                Outcome.DONE,
                final,
                f"cut into {len(parts)} part(s): {done} done, {len(parts) - done} failed",
            )

    # -- after a restart -------------------------------------------------------------------

    def recover(self, entry: Entry) -> bool:
        """Settle what a stop left between a step and its record; True when handled.

        For entries whose claimed file is gone: a part uploaded before its file was
        removed is done; a cut stack moved to done/ is found by its receipt.
        """
        if entry.claimed_path is None or entry.claimed_path.exists():
            return False
        if entry.parent_id is not None:
            uploaded = entry.reached(Step.LINKED) or (
                entry.reached(Step.VERIFIED) and not entry.required_document_ids
            )
            if uploaded:
                self._journal.settle(
                    entry.id, Outcome.DONE, None, f"uploaded as {entry.document_id}"
                )
            else:
                self._journal.settle(
                    entry.id,
                    Outcome.FAILED,
                    None,
                    f"{entry.file_name} was removed from the agent's work folder before it "
                    "was sent; its pages are still in the stack",
                )
            self.finish(entry.parent_id)
            return True
        if entry.scan.get("state") == "split":
            folder = entry.claimed_path.parent.parent
            found = find_stack_done(folder, entry.file_name, str(entry.scan.get("sha256")))
            self._journal.settle(
                entry.id,
                Outcome.DONE if found else Outcome.FAILED,
                found,
                "cut into parts"
                if found
                else f"{entry.file_name} was removed from "
                ".processing/ after it was cut; its parts went their way",
            )
            return True
        return False
