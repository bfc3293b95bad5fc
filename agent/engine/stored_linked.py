"""After the upload: Kompliant stored the file (verified), then the requirements it fulfils.

UPLOADED and VERIFIED are recorded only where a restart needs them, each commit costing
CPU in a burst of files:

- UPLOADED when the first ``document.get`` after the upload does not find it stored
  (before waiting), or when the wait fails: a restart then waits for the same document;
- VERIFIED with LINKED, in one commit; alone for an upload-only file, or when the link is
  not made now (so a retry does not verify again).

So a kill between the upload and LINKED mostly leaves CREATED, and ``document.get``
decides at the restart (:func:`agent.engine.reconcile.after_interrupted_upload`): a
stored document goes on (verified again; a fulfillment already added is read back by
:func:`agent.upload.link.link`), one not yet stored is deleted and the file sent again —
never a second document or fulfillment.
"""

from __future__ import annotations

import time

from agent.errors import CannotSucceed, HashMismatch
from agent.journal import Entry, Journal, Step
from agent.kompliant.client import KompliantClient
from agent.upload.create import discard
from agent.upload.identity import FileIdentity
from agent.upload.link import LinkFailed, LinkIncomplete, link
from agent.upload.verify import wait_until_stored


def verify(
    client: KompliantClient,
    journal: Journal,
    entry: Entry,
    identity: FileIdentity,
    *,
    timeout: float,
) -> Entry:
    """Wait until Kompliant stored the file sent as it was read (``identity``)."""
    assert entry.document_id is not None
    sent = entry

    def record_then_sleep(seconds: float) -> None:
        nonlocal sent
        if not sent.reached(Step.UPLOADED):
            sent = journal.advance(sent.id, Step.UPLOADED)
        time.sleep(seconds)

    try:
        wait_until_stored(
            client, entry.document_id, identity, timeout=timeout, sleep=record_then_sleep
        )
    except HashMismatch:
        discard(client, entry.document_id)
        journal.rewind(entry.id, Step.HASHED, "the stored copy differed; sending again")
        raise
    except BaseException:
        if not sent.reached(Step.UPLOADED):  # a retry asks again; it never sends again
            journal.advance(sent.id, Step.UPLOADED)
        raise
    if entry.required_document_ids and not entry.reached(Step.LINKED):
        return sent  # VERIFIED is recorded with LINKED, in one commit
    return journal.advance(entry.id, Step.VERIFIED)


def link_required(client: KompliantClient, journal: Journal, entry: Entry) -> Entry:
    """Fulfil the entry's required documents not linked yet with its verified document."""
    try:
        made = _add_links(client, journal, entry)
    except BaseException:
        if not entry.reached(Step.VERIFIED):
            journal.advance(entry.id, Step.VERIFIED)
        raise
    return journal.advance(entry.id, Step.LINKED, fulfillments=made)


def _add_links(client: KompliantClient, journal: Journal, entry: Entry) -> dict[str, str]:
    assert entry.workflow_id is not None and entry.document_id is not None
    missing = [rd for rd in entry.required_document_ids if rd not in entry.fulfillments]
    try:
        return link(client, entry.workflow_id, entry.document_id, missing)
    except (LinkFailed, LinkIncomplete) as error:
        partial = getattr(error, "linked", None)
        if partial:
            journal.record_fulfillments(entry.id, dict(partial))
        if isinstance(error, LinkFailed) and not partial and not entry.fulfillments:
            _discard_unlinked(client, entry)
        raise
    except CannotSucceed:  # the whole batch refused: an ended or unknown workflow
        if not entry.fulfillments:
            _discard_unlinked(client, entry)
        raise


def _discard_unlinked(client: KompliantClient, entry: Entry) -> None:
    """Delete a document no required document took: the file goes to failed/, and
    Kompliant keeps no stray copy that a reviewer would find unlinked (moving the file
    back uploads it afresh)."""
    assert entry.document_id is not None
    discard(client, entry.document_id)
