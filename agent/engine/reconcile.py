"""What an earlier run, or an agent that stopped, may have left on Kompliant for a file.

Each window between a call's effect on the server and the journal write that records it
is closed by asking Kompliant, never by repeating the call (:mod:`agent.engine.pipeline`
says which window each function closes).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from agent.errors import EntityNotFound
from agent.journal import Entry, Journal, Step
from agent.kompliant.client import KompliantClient
from agent.upload.create import DEFAULT_SKEW, discard, find_uploaded_copy, remove_orphans
from agent.upload.identity import FileIdentity

log = logging.getLogger(__name__)


def remove_lost_creates(
    client: KompliantClient, journal: Journal, entry: Entry, subject_record_id: str, size: int
) -> None:
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
    keep = {e.document_id for e in journal.unsettled() if e.document_id}
    removed = remove_orphans(
        client,
        subject_record_id,
        entry.upload_name or entry.file_name,
        size,
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


def reconcile_taken_over(
    client: KompliantClient,
    journal: Journal,
    entry: Entry,
    subject_record_id: str,
    identity: FileIdentity,
    since: datetime | None,
) -> Entry:
    """What the agent that stopped (working on the file since ``since``) did for this
    file, as Kompliant holds it: a document it uploaded is used (its links are found by
    the link step); pending ones it left are deleted. Only then is a document created,
    if none was found."""
    lower = (since or entry.created_at or datetime.now(UTC)) - DEFAULT_SKEW
    found = find_uploaded_copy(
        client,
        subject_record_id,
        entry.file_name,
        identity.size,
        identity.sha256,
        lower,
    )
    if found is not None:
        log.info("%s was uploaded as %s by the agent that stopped", entry.file_name, found)
        entry = journal.advance(entry.id, Step.CREATED, document_id=found)
        return journal.advance(entry.id, Step.UPLOADED)
    keep = {e.document_id for e in journal.unsettled() if e.document_id}
    remove_orphans(client, subject_record_id, entry.file_name, identity.size, lower, keep=keep)
    return entry


def after_interrupted_upload(client: KompliantClient, journal: Journal, entry: Entry) -> Entry:
    """An entry at CREATED but not UPLOADED when the agent stopped: ``document.get``
    decides whether the upload arrived (go on) or not (delete the record, start again)."""
    assert entry.document_id is not None
    try:
        document = client.get_document(entry.document_id)
    except EntityNotFound:
        document = None
    if document is None or document.deleted_at is not None:
        # deleted before the stop, but the rewind that goes with it was not written
        return journal.rewind(
            entry.id, Step.HASHED, "the unfinished document was deleted; starting again"
        )
    if document.completed:
        log.info("the upload of %s had arrived before the restart", entry.file_name)
        return journal.advance(entry.id, Step.UPLOADED)
    discard(client, entry.document_id)
    return journal.rewind(entry.id, Step.HASHED, "the upload was interrupted; starting it again")
