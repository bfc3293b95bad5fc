"""One claimed file through the steps, with the journal written after each finished step.

A crash or kill between two steps resumes at the step after the last one recorded, and
a finished step is never repeated: no second document for an uploaded file, no second
fulfillment. The upload form itself is never written down (it carries S3 signatures):
a file that was created but not confirmed as uploaded when the agent stopped is checked
with ``document.get`` — if the upload did arrive, the file goes on; if not, the record
is deleted and a new one created.

UPLOADED and VERIFIED are recorded only where a restart needs them
(:mod:`agent.engine.stored_linked`): a kill between a stored upload and LINKED mostly
leaves CREATED, and ``document.get`` decides as above.

A kill can also fall between a call's effect on the server and the journal write that
records it. Each such window is closed by asking Kompliant, never by repeating the call:

- ``document.create`` answered but CREATED not written: the entry is still at HASHED,
  written by an earlier run. Before creating again, the pending record that run left
  (same name and size, created since) is deleted
  (:func:`agent.engine.reconcile.remove_lost_creates`);
- a record deleted (``discard``) but the rewind not written: the entry is at CREATED
  with a document that is gone; it is rewound now
  (:func:`agent.engine.reconcile.after_interrupted_upload`);
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
is reconciled with Kompliant before anything is created
(:func:`agent.engine.reconcile.reconcile_taken_over`): a document that agent uploaded
for it is used (``document.list`` / ``document.get``, then ``fulfillment.batchAdd`` finds
its links), one it left pending is deleted.

Before ``document.create`` the file's content is checked against its name
(:func:`agent.content.filetype.check_type`): a mislabeled file fails with words a person
acts on and is never sent. Before the move to done/ (also after a restart) the claimed
file must still be the file that was read (:mod:`agent.engine.verified_settle`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from agent.content.filetype import check_type
from agent.engine import into_done, stored_linked
from agent.engine.into_done import Settled
from agent.engine.locate import InPlace, Locator, claim_of, moved_whole
from agent.engine.reconcile import (
    after_interrupted_upload,
    reconcile_taken_over,
    remove_lost_creates,
)
from agent.engine.same_content import ContentTurns, content_key
from agent.engine.verified_settle import VerifiedSettle
from agent.errors import (
    AgentError,
    AuthError,
    BadRequest,
    CannotSucceed,
    FileChanged,
    FileProblem,
    RetryLater,
    UploadFormExpired,
    WrongContent,
)
from agent.journal import Entry, Journal, Outcome, Step
from agent.kompliant.client import KompliantClient
from agent.owned_names import AGENT_OWNED
from agent.settle.claim import Claim
from agent.settle.outcome import (
    ClaimMissing,
    settle_failed,
)
from agent.settle.stack import remove_work_file, settle_members
from agent.sizes import humanize_sizes, size_refusal
from agent.upload.create import (
    create_document,
    discard,
)
from agent.upload.identity import FileIdentity, identify
from agent.upload.presigned import DEFAULT_TIMEOUT as UPLOAD_TIMEOUT
from agent.upload.presigned import FILE_MOVED, send_form
from agent.watch.readiness import still_finished

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
class Job:
    """What the pipeline needs besides the journal entry."""

    subject_record_id: str
    requirement_names: dict[str, str]
    upload_duplicates: bool = False
    # how long a claimed file without its end may stay unchanged before it is cut short
    incomplete_seconds: float = 600.0


class Pipeline:
    def __init__(
        self,
        client: KompliantClient,
        journal: Journal,
        *,
        verify_timeout: float = 120.0,
        progress: Callable[[Entry], Progress | None] = lambda entry: None,
        locator: Locator | None = None,
        turns: ContentTurns | None = None,
        gate: AbstractContextManager[object] | None = None,
    ) -> None:
        self._client = client
        # Held from document.create to the links: how many files talk to Kompliant at
        # once, while others are read and hashed or moved to done/ beside them.
        self._gate = gate if gate is not None else nullcontext()
        self._journal = journal
        self._locator: Locator = locator or InPlace(journal)
        self._taken_over: dict[int, datetime | None] = {}
        self._verify_timeout = verify_timeout
        self._progress = progress
        self._turns = turns or ContentTurns()  # one upload at a time for the same content
        # One client for every presigned POST: a client per upload costs a new connection
        # pool and TLS context each time (bench/many_files.py measured it as most of the
        # workers' time). It is thread-safe; the workers share it.
        self._uploads = httpx.Client(timeout=httpx.Timeout(UPLOAD_TIMEOUT))
        # Journal writes older than this were made by an earlier run of the agent.
        self._started_at = datetime.now(UTC)
        self._settle = VerifiedSettle(client, journal)

    def close(self) -> None:
        self._uploads.close()

    @property
    def reads(self) -> VerifiedSettle:
        """What was read of each claimed file (kept by the engine between two tries
        of a file that an upload process runs)."""
        return self._settle

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
            claim = claim_of(entry)
            try:
                settled = self._steps(entry, job, claim)
            except AuthError:
                raise
            except (ClaimMissing, FileNotFoundError):
                pass  # moved meanwhile: look for it again
            except FileProblem as error:
                if error.code != "FILE_VANISHED":
                    return self._refuse(entry, error)
            except CannotSucceed as error:
                return self._refuse(entry, error)
            else:
                self._settle.forget(entry.id)
                return settled
            entry = self._journal.get(entry.id) or entry
            if entry.settled:
                return Settled(entry.outcome or Outcome.FAILED, entry.final_path or claim.path, "")
        raise RetryLater(f"{entry.file_name} keeps moving; it is looked for again shortly")

    def _refuse(self, entry: Entry, error: CannotSucceed) -> Settled:
        """Fail a file that cannot succeed as it is; wrong content is no case for a retry."""
        retry_helps = not isinstance(error, WrongContent)
        return self.fail(entry, error.message, _action(error), retry_helps=retry_helps)

    def fail(self, entry: Entry, problem: str, action: str, *, retry_helps: bool = True) -> Settled:
        """Move the claimed file to failed/ with its reason (and settle the entry).

        ``retry_helps`` False: the file itself is wrong (its content), so its note does
        not offer to try it again."""
        self._settle.forget(entry.id)
        for _ in range(LOOKS):
            found = self._locator.locate(entry)
            if found is None:
                break
            entry = found
            claim = claim_of(entry)
            try:
                members = entry.scan.get("members", ())
                settle_members(members, claim.folder, AGENT_OWNED.failed_dir)
                final = settle_failed(claim, problem, action, retry_helps=retry_helps)
            except ClaimMissing:
                continue  # moved meanwhile: look for it again
            if entry.upload_path is not None:
                remove_work_file(entry.upload_path)  # the converted copy; the original failed
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
            identity = self._settle.recorded(entry, path)
        else:
            still_finished(
                path,
                _upload_name(entry),
                incomplete_seconds=job.incomplete_seconds,
                now=datetime.now(UTC).timestamp(),
            )
            identity = identify(path)
            self._settle.remember(entry.id, identity)
            entry = journal.advance(
                entry.id,
                Step.HASHED,
                sha256=identity.sha256,
                size=identity.size,
                mtime_ns=identity.mtime_ns,
            )
        if not entry.reached(Step.CREATED):
            check_type(path, _upload_name(entry))  # Kompliant's store would refuse it

        if entry.reached(Step.CREATED) or job.upload_duplicates:
            return self._upload(entry, job, claim, identity)
        key = content_key(identity.sha256, entry.workflow_id, entry.required_document_ids)
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
        with self._gate:
            entry = self._stored_and_linked(entry, job, claim, identity)
        return self._done(entry, job, claim, identity)

    def _stored_and_linked(
        self, entry: Entry, job: Job, claim: Claim, identity: FileIdentity
    ) -> Entry:
        journal = self._journal
        path = _upload_path(entry, claim)
        if entry.reached(Step.CREATED) and not entry.reached(Step.UPLOADED):
            entry = after_interrupted_upload(self._client, self._journal, entry)

        if not entry.reached(Step.CREATED) and entry.id in self._taken_over:
            since = self._taken_over.pop(entry.id, None)
            entry = reconcile_taken_over(
                self._client, journal, entry, job.subject_record_id, identity, since
            )
        if not entry.reached(Step.CREATED):
            if entry.updated_at is not None and entry.updated_at < self._started_at:
                remove_lost_creates(
                    self._client, journal, entry, job.subject_record_id, identity.size
                )
            entry = self._create_and_send(entry, job, identity, path)

        if not entry.reached(Step.VERIFIED):
            timeout = self._verify_timeout
            entry = stored_linked.verify(self._client, journal, entry, identity, timeout=timeout)
        if entry.required_document_ids and not entry.reached(Step.LINKED):
            entry = stored_linked.link_required(self._client, journal, entry)
        return entry

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
        return entry  # sent: UPLOADED is recorded only if it is not stored at once

    def _done(self, entry: Entry, job: Job, claim: Claim, identity: FileIdentity) -> Settled:
        identity = self._settle.verified(entry, _upload_path(entry, claim), identity)
        return into_done.uploaded(self._journal, entry, claim, identity, job.requirement_names)

    def _done_duplicate(self, entry: Entry, job: Job, claim: Claim, earlier: Entry) -> Settled:
        read = None
        if entry.parent_id is None:
            path = _upload_path(entry, claim)
            read = self._settle.verified(entry, path, self._settle.read_of(entry))
        names = job.requirement_names
        return into_done.duplicate(self._journal, entry, claim, earlier, read, names)


def _upload_path(entry: Entry, claim: Claim) -> Path:
    """The file sent: a converted copy when there is one, else the claimed file."""
    return entry.upload_path if entry.upload_path is not None else claim.path


def _upload_name(entry: Entry) -> str:
    return entry.upload_name or entry.file_name


def _action(error: AgentError) -> str:
    return error.hint or "Check the file, then move it back into its folder to try again."
