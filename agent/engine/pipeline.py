"""One claimed file through the steps, with the journal written after each finished step.

A crash or kill between two steps resumes at the step after the last one recorded, and
a finished step is never repeated: no second document for an uploaded file, no second
fulfillment. The upload form itself is never written down (it carries S3 signatures):
a file that was created but not confirmed as uploaded when the agent stopped is checked
with ``document.get`` — if the upload did arrive, the file goes on; if not, the record
is deleted and a new one created.

A kill can also fall between a call's effect on the server and the journal write that
records it. Each such window is closed by asking Kompliant, never by repeating the call:

- ``document.create`` answered but CREATED not written: the entry is still at HASHED,
  written by an earlier run. Before creating again, the pending record that run left
  (same name and size, created since) is deleted (:meth:`Pipeline._remove_lost_creates`);
- a record deleted (``discard``) but the rewind not written: the entry is at CREATED
  with a document that is gone; it is rewound now (:meth:`Pipeline._after_interrupted_upload`);
- ``fulfillment.batchAdd`` answered but LINKED not written: the retry is refused (the
  link exists), and the refusal — whatever its code — sends the agent to
  ``fulfillment.list``, which shows our document: the fulfillment is read back
  (:func:`agent.upload.link.link`);
- moved to done/ but not settled in the journal: found by its receipt at start.

The claimed file may move while it is worked on: its folder (or one above it) renamed or
moved, or the file renamed inside ``.processing/``. Before each try, and whenever a step
finds it missing, the pipeline asks its :class:`Locator` where it is now; only a file
that is nowhere ends, with a note that says truthfully what reached Kompliant.

A file whose claim was taken over from an agent that stopped (:meth:`Pipeline.taken_over`)
is reconciled with Kompliant before anything is created: a document that agent uploaded
for it is used (``document.list`` / ``document.get``, then ``fulfillment.batchAdd`` finds
its links), one it left pending is deleted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from agent.engine.locate import InPlace, Locator, moved_whole
from agent.engine.same_content import ContentTurns
from agent.errors import (
    AgentError,
    AuthError,
    BadRequest,
    CannotSucceed,
    EntityNotFound,
    FileChanged,
    FileProblem,
    HashMismatch,
    RetryLater,
    UploadFormExpired,
)
from agent.journal import Entry, Journal, Outcome, Step
from agent.kompliant.client import KompliantClient
from agent.owned_names import AGENT_OWNED
from agent.settle.claim import Claim
from agent.settle.outcome import (
    ClaimMissing,
    DoneRecord,
    Fulfilled,
    settle_done,
    settle_failed,
)
from agent.settle.stack import remove_work_file, settle_members, tidy_work_folder
from agent.sizes import humanize_sizes, size_refusal
from agent.upload.create import (
    DEFAULT_SKEW,
    create_document,
    discard,
    find_uploaded_copy,
    remove_orphans,
)
from agent.upload.identity import FileIdentity, identify
from agent.upload.link import LinkFailed, LinkIncomplete, link
from agent.upload.presigned import DEFAULT_TIMEOUT as UPLOAD_TIMEOUT
from agent.upload.presigned import FILE_MOVED, send_form
from agent.upload.verify import wait_until_stored

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

SIZE_REFUSED_HINT = (
    "Make the file smaller (scan at a lower resolution, or split it into parts), then put "
    "it back into its folder."
)
LOOKS = 3  # how often one try looks for a claimed file that keeps moving

CREATE_REFUSED_HINT = (
    "Save the file in a type Kompliant accepts (for example PDF, JPG or PNG), or check that "
    "its size is allowed, then put it back into its folder."
)


@dataclass(frozen=True)
class Settled:
    outcome: Outcome
    final_path: Path
    message: str


@dataclass(frozen=True)
class Job:
    """What the pipeline needs besides the journal entry."""

    subject_record_id: str
    requirement_names: dict[str, str]
    upload_duplicates: bool = False


class Pipeline:
    def __init__(
        self,
        client: KompliantClient,
        journal: Journal,
        *,
        verify_timeout: float = 120.0,
        progress: Callable[[Entry], Progress | None] = lambda entry: None,
        locator: Locator | None = None,
    ) -> None:
        self._client = client
        self._journal = journal
        self._locator: Locator = locator or InPlace(journal)
        self._taken_over: dict[int, datetime | None] = {}
        self._verify_timeout = verify_timeout
        self._progress = progress
        self._turns = ContentTurns()
        # One client for every presigned POST: a client per upload costs a new connection
        # pool and TLS context each time (bench/many_files.py measured it as most of the
        # workers' time). It is thread-safe; the workers share it.
        self._uploads = httpx.Client(timeout=httpx.Timeout(UPLOAD_TIMEOUT))
        # Journal writes older than this were made by an earlier run of the agent.
        self._started_at = datetime.now(UTC)

    def close(self) -> None:
        self._uploads.close()

    def taken_over(self, entry_id: int, since: datetime | None) -> None:
        """``entry_id``'s claim was taken over from an agent that stopped; it worked on the
        file since ``since``: reconcile with Kompliant before creating anything."""
        self._taken_over[entry_id] = since

    def run(self, entry: Entry, job: Job) -> Settled:
        """Carry ``entry`` to done/ or failed/; raises :class:`RetryLater` to try later.

        :class:`AuthError` is raised too: rejected credentials are the agent's problem,
        not the file's, so the file waits (claimed) until they are fixed.
        """
        for _ in range(LOOKS):
            found = self._locator.locate(entry)
            if found is None:
                return self._gone(entry)
            entry = found
            claim = _claim_of(entry)
            try:
                return self._steps(entry, job, claim)
            except AuthError:
                raise
            except (ClaimMissing, FileNotFoundError):
                pass  # moved meanwhile: look for it again
            except FileProblem as error:
                if error.code != "FILE_VANISHED":
                    return self.fail(entry, error.message, _action(error))
            except CannotSucceed as error:
                return self.fail(entry, error.message, _action(error))
            entry = self._journal.get(entry.id) or entry
            if entry.settled:
                return Settled(entry.outcome or Outcome.FAILED, entry.final_path or claim.path, "")
        raise RetryLater(f"{entry.file_name} keeps moving; it is looked for again shortly")

    def fail(self, entry: Entry, problem: str, action: str) -> Settled:
        """Move the claimed file to failed/ with its reason (and settle the entry)."""
        for _ in range(LOOKS):
            found = self._locator.locate(entry)
            if found is None:
                break
            entry = found
            claim = _claim_of(entry)
            try:
                members = entry.scan.get("members", ())
                settle_members(members, claim.folder, AGENT_OWNED.failed_dir)
                final = settle_failed(claim, problem, action)
            except ClaimMissing:
                continue  # moved meanwhile: look for it again
            if entry.upload_path is not None:
                remove_work_file(entry.upload_path)  # the converted copy; the original failed
                tidy_work_folder(claim.folder)
            self._journal.settle(entry.id, Outcome.FAILED, final, f"{problem} {action}".strip())
            log.warning("%s failed: %s", entry.file_name, problem)
            return Settled(Outcome.FAILED, final, problem)
        return self._gone(entry)

    def _gone(self, entry: Entry) -> Settled:
        """The claimed file is nowhere: a truthful note, and no half-made document left."""
        fresh = self._journal.get(entry.id) or entry
        if fresh.settled:
            return Settled(fresh.outcome or Outcome.FAILED, fresh.final_path or Path(), "")
        if fresh.document_id and not fresh.reached(Step.VERIFIED):
            discard(self._client, fresh.document_id)  # never a pending stray on Kompliant
        text = self._locator.gone(fresh)
        settled = self._journal.get(entry.id) or fresh
        return Settled(settled.outcome or Outcome.FAILED, fresh.claimed_path or Path(), text)

    # -- the steps ---------------------------------------------------------------------

    def _steps(self, entry: Entry, job: Job, claim: Claim) -> Settled:
        journal = self._journal
        path = _upload_path(entry, claim)
        if entry.reached(Step.HASHED):
            identity = self._same_file(entry, path)
        else:
            identity = identify(path)
            entry = journal.advance(
                entry.id,
                Step.HASHED,
                sha256=identity.sha256,
                size=identity.size,
                mtime_ns=identity.mtime_ns,
            )

        if entry.reached(Step.CREATED) or job.upload_duplicates:
            return self._upload(entry, job, claim, identity)
        key = (identity.sha256, entry.workflow_id, frozenset(entry.required_document_ids))
        with self._turns.turn(key):
            earlier = journal.find_uploaded(
                identity.sha256,
                entry.required_document_ids,
                workflow_id=entry.workflow_id,
                exclude_id=entry.id,
            )
            if earlier is not None and earlier.document_id:
                return self._done_duplicate(entry, job, claim, earlier)
            return self._upload(entry, job, claim, identity)

    def _upload(self, entry: Entry, job: Job, claim: Claim, identity: FileIdentity) -> Settled:
        """Create, send, verify and link (each step once), then move the file to done/."""
        journal = self._journal
        path = _upload_path(entry, claim)
        if entry.reached(Step.CREATED) and not entry.reached(Step.UPLOADED):
            entry = self._after_interrupted_upload(entry)

        if not entry.reached(Step.CREATED) and entry.id in self._taken_over:
            entry = self._reconcile_taken_over(entry, job, identity)
        if not entry.reached(Step.CREATED):
            if entry.updated_at is not None and entry.updated_at < self._started_at:
                self._remove_lost_creates(entry, job, identity)
            entry = self._create_and_send(entry, job, identity, path)

        assert entry.document_id is not None
        if not entry.reached(Step.VERIFIED):
            try:
                wait_until_stored(
                    self._client, entry.document_id, identity, timeout=self._verify_timeout
                )
            except HashMismatch:
                discard(self._client, entry.document_id)
                journal.rewind(entry.id, Step.HASHED, "the stored copy differed; sending again")
                raise
            entry = journal.advance(entry.id, Step.VERIFIED)

        if entry.required_document_ids and not entry.reached(Step.LINKED):
            entry = self._link(entry)

        return self._done(entry, job, claim, identity)

    def _same_file(self, entry: Entry, path: Path) -> FileIdentity:
        """The identity recorded before a restart, if the claimed file is unchanged."""
        assert entry.sha256 is not None and entry.size is not None
        st = os.stat(path)
        if st.st_size != entry.size or st.st_mtime_ns != entry.mtime_ns:
            if not entry.reached(Step.CREATED):
                self._journal.rewind(entry.id, Step.STABLE, "the file changed; reading it again")
                raise FileChanged(f"{entry.file_name} changed after it was read")
            if not entry.reached(Step.UPLOADED):
                assert entry.document_id is not None
                discard(self._client, entry.document_id)
                self._journal.rewind(entry.id, Step.STABLE, "the file changed before it was sent")
                raise FileChanged(f"{entry.file_name} changed before it was sent")
            log.warning(
                "%s changed after it was uploaded; the uploaded copy stands", entry.file_name
            )
        return FileIdentity(size=entry.size, mtime_ns=entry.mtime_ns or 0, sha256=entry.sha256)

    def _remove_lost_creates(self, entry: Entry, job: Job, identity: FileIdentity) -> None:
        """Delete what a ``document.create`` of an earlier run may have left pending.

        The entry is at HASHED and was last written by an earlier run: that run may have
        sent document.create and been killed before its answer reached the journal. The
        record it made cannot be used (its upload form was only in that run's memory), so
        it is deleted, as after a lost answer (:mod:`agent.upload.create`). Documents of
        this agent's other unfinished files are kept; a file of the same name and size
        that another agent is sending at this moment could lose its record, which only
        makes that agent send it again — never a second document.
        """
        assert entry.updated_at is not None
        keep = {e.document_id for e in self._journal.unsettled() if e.document_id}
        removed = remove_orphans(
            self._client,
            job.subject_record_id,
            _upload_name(entry),
            identity.size,
            entry.updated_at - DEFAULT_SKEW,
            keep=keep,
        )
        if removed:
            log.info(
                "%s: deleted %s, left pending by a document.create the agent did not "
                "see answered before it stopped",
                entry.file_name,
                ", ".join(removed),
            )

    def _reconcile_taken_over(self, entry: Entry, job: Job, identity: FileIdentity) -> Entry:
        """What the agent that stopped did for this file, as Kompliant holds it: a document
        it uploaded is used (its links are found by the link step); pending ones it left
        are deleted. Only then is a document created, if none was found."""
        since = self._taken_over.pop(entry.id, None)
        lower = (since or entry.created_at or datetime.now(UTC)) - DEFAULT_SKEW
        found = find_uploaded_copy(
            self._client,
            job.subject_record_id,
            entry.file_name,
            identity.size,
            identity.sha256,
            lower,
        )
        if found is not None:
            log.info("%s was uploaded as %s by the agent that stopped", entry.file_name, found)
            entry = self._journal.advance(entry.id, Step.CREATED, document_id=found)
            return self._journal.advance(entry.id, Step.UPLOADED)
        keep = {e.document_id for e in self._journal.unsettled() if e.document_id}
        remove_orphans(
            self._client, job.subject_record_id, entry.file_name, identity.size, lower, keep=keep
        )
        return entry

    def _after_interrupted_upload(self, entry: Entry) -> Entry:
        assert entry.document_id is not None
        try:
            document = self._client.get_document(entry.document_id)
        except EntityNotFound:
            document = None
        if document is None or document.deleted_at is not None:
            # deleted before the stop, but the rewind that goes with it was not written
            return self._journal.rewind(
                entry.id, Step.HASHED, "the unfinished document was deleted; starting again"
            )
        if document.completed:
            log.info("the upload of %s had arrived before the restart", entry.file_name)
            return self._journal.advance(entry.id, Step.UPLOADED)
        discard(self._client, entry.document_id)
        return self._journal.rewind(
            entry.id, Step.HASHED, "the upload was interrupted; starting it again"
        )

    def _create_and_send(self, entry: Entry, job: Job, identity: FileIdentity, path: Path) -> Entry:
        journal = self._journal
        try:
            created = create_document(
                self._client, job.subject_record_id, _upload_name(entry), identity.size
            )
        except BadRequest as error:
            # Kompliant's message names what it refused (the file type, the size); its
            # generic hint does not say what the person holding the file should do.
            too_big = size_refusal(entry.file_name, identity.size, error.message)
            if too_big is not None:
                error.message, error.hint = too_big, SIZE_REFUSED_HINT
            else:
                error.message, error.hint = humanize_sizes(error.message), CREATE_REFUSED_HINT
            raise
        entry = journal.advance(entry.id, Step.CREATED, document_id=created.document_id)
        try:
            send_form(
                created.form,
                path,
                file_name=_upload_name(entry),
                identity=identity,
                http=self._uploads,
                progress=self._progress(entry),
            )
        except AgentError as error:
            if isinstance(error, FileChanged) and error.code == FILE_MOVED:
                moved = moved_whole(self._locator, entry, identity)
                if moved is not None:  # renamed or moved while sent: what was sent stands
                    return self._journal.advance(moved.id, Step.UPLOADED)
            # The form lives only in memory: without a confirmed upload the record is of no
            # use. Delete it so the workflow shows no half-made documents, and start over.
            discard(self._client, created.document_id)
            step = Step.STABLE if isinstance(error, FileChanged) else Step.HASHED
            journal.rewind(entry.id, step, error.message)
            if isinstance(error, UploadFormExpired):
                log.info("the upload form of %s expired; a new one is asked for", entry.file_name)
            raise
        return journal.advance(entry.id, Step.UPLOADED)

    def _link(self, entry: Entry) -> Entry:
        assert entry.workflow_id is not None and entry.document_id is not None
        missing = [rd for rd in entry.required_document_ids if rd not in entry.fulfillments]
        try:
            made = link(self._client, entry.workflow_id, entry.document_id, missing)
        except (LinkFailed, LinkIncomplete) as error:
            partial = getattr(error, "linked", None)
            if partial:
                self._journal.record_fulfillments(entry.id, dict(partial))
            if isinstance(error, LinkFailed) and not partial and not entry.fulfillments:
                self._discard_unlinked(entry)
            raise
        except CannotSucceed:  # the whole batch refused: an ended or unknown workflow
            if not entry.fulfillments:
                self._discard_unlinked(entry)
            raise
        return self._journal.advance(entry.id, Step.LINKED, fulfillments=made)

    def _discard_unlinked(self, entry: Entry) -> None:
        """Delete a document no required document took: the file goes to failed/, and
        Kompliant keeps no stray copy that a reviewer would find unlinked (moving the file
        back uploads it afresh)."""
        assert entry.document_id is not None
        discard(self._client, entry.document_id)

    def _done(self, entry: Entry, job: Job, claim: Claim, identity: FileIdentity) -> Settled:
        assert entry.document_id is not None
        message = f"uploaded as {entry.document_id}"
        if entry.parent_id is not None:
            return self._part_done(entry, claim, message)
        record = DoneRecord(
            document_id=entry.document_id,
            sha256=identity.sha256,
            size=identity.size,
            fulfillments=_fulfilled(entry, job),
            settled_at=datetime.now(UTC),
            converted=_converted(entry),
        )
        settle_members(entry.scan.get("members", ()), claim.folder, AGENT_OWNED.done_dir)
        final = settle_done(claim, record)
        self._journal.settle(entry.id, Outcome.DONE, final, message)
        if entry.upload_path is not None:
            remove_work_file(entry.upload_path)
            tidy_work_folder(claim.folder)
        return Settled(Outcome.DONE, final, message)

    def _part_done(self, entry: Entry, claim: Claim, message: str) -> Settled:
        """A part of a stack is in Kompliant: its file (a copy of pages of the stack, which
        goes to done/ with the receipt of every part) is removed, then the entry settled.
        Stopped in between, the restart finds the part uploaded and its file gone, and
        settles it (agent.engine.stacks)."""
        remove_work_file(claim.path)
        self._journal.settle(entry.id, Outcome.DONE, None, message)
        tidy_work_folder(claim.folder)
        log.info("part %s of a stack: %s", entry.file_name, message)
        return Settled(Outcome.DONE, claim.path, message)

    def _done_duplicate(self, entry: Entry, job: Job, claim: Claim, earlier: Entry) -> Settled:
        assert earlier.document_id is not None and entry.sha256 is not None
        if entry.parent_id is not None:
            remove_work_file(claim.path)
            message = f"not uploaded again: same content as document {earlier.document_id}"
            self._journal.settle(
                entry.id, Outcome.DONE, None, message, duplicate_of=earlier.document_id
            )
            return Settled(Outcome.DONE, claim.path, message)
        record = DoneRecord(
            document_id=earlier.document_id,
            sha256=entry.sha256,
            size=entry.size or 0,
            fulfillments=_fulfilled(earlier, job),
            duplicate=True,
            settled_at=datetime.now(UTC),
            converted=_converted(entry),
        )
        settle_members(entry.scan.get("members", ()), claim.folder, AGENT_OWNED.done_dir)
        final = settle_done(claim, record)
        message = f"not uploaded again: same content as document {earlier.document_id}"
        self._journal.settle(
            entry.id, Outcome.DONE, final, message, duplicate_of=earlier.document_id
        )
        log.info("%s: %s", entry.file_name, message)
        return Settled(Outcome.DONE, final, message)


def _claim_of(entry: Entry) -> Claim:
    if entry.claimed_path is None:
        raise ValueError(f"journal entry {entry.id} has no claimed file")
    # A part of a stack is made in the work folder; its notes go to the stack's folder.
    home = entry.source_path.parent if entry.parent_id is not None else None
    return Claim(
        path=entry.claimed_path,
        source=entry.source_path,
        owner=None,
        claimed_at=None,
        home=home,
    )


def _upload_path(entry: Entry, claim: Claim) -> Path:
    """The file sent: a converted copy when there is one, else the claimed file."""
    return entry.upload_path if entry.upload_path is not None else claim.path


def _upload_name(entry: Entry) -> str:
    return entry.upload_name or entry.file_name


def _converted(entry: Entry) -> str:
    words = entry.scan.get("converted", "")
    if not words or entry.upload_path is None:
        return ""
    return f"{words}; uploaded as {_upload_name(entry)}"


def _fulfilled(entry: Entry, job: Job) -> tuple[Fulfilled, ...]:
    return tuple(
        Fulfilled(rd, job.requirement_names.get(rd, rd), fulfillment)
        for rd, fulfillment in sorted(entry.fulfillments.items())
    )


def _action(error: AgentError) -> str:
    return error.hint or "Check the file, then move it back into its folder to try again."
