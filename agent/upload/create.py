"""``document.create`` without leaving duplicate documents behind.

Kompliant's API has no idempotency keys (kompliant-api.md §8): every ``document.create``
makes a new document record. When the answer is lost (a read timeout, a connection
dropped after sending, a 5xx) the record may exist without our knowing its id. Repeating
the call blindly would then leave that first record pending for ever — a reviewer sees a
document that never got its file. So after an ambiguous answer we reconcile first:

1. ``document.list`` the subject record and look for the orphan of our lost attempt: a
   record created after the attempt started (minus a little clock skew), not uploaded,
   not deleted, with the same file name and size;
2. its upload form cannot be fetched again (``document.list`` and ``document.get`` do not
   return ``presign_values``), so the orphan is useless to us: delete it
   (``document.delete`` is idempotent) and
3. create anew.

The number of attempts is bounded; the last ambiguity is raised as it came (retry later).

:func:`discard` deletes a document that was created but cannot be finished (its upload
failed, its stored copy differs, no required document took it), for the engine's
pipeline and the one-shot ``upload`` alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from agent.errors import AgentError, AmbiguousRequest, AuthError, CannotSucceed
from agent.kompliant.models import CreatedDocument, Document
from agent.upload.verify import hashes_match

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DEFAULT_SKEW = timedelta(seconds=60)
DEFAULT_ATTEMPTS = 3


class DocumentApi(Protocol):
    def create_document(
        self, subject_record_id: str, file_name: str, file_size: int
    ) -> CreatedDocument: ...

    def list_documents(self, subject_record_id: str) -> list[Document]: ...

    def delete_document(self, document_id: str) -> None: ...

    def get_document(self, document_id: str) -> Document: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp from Kompliant as an aware UTC datetime (``None`` if unreadable)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def find_orphans(
    documents: Iterable[Document], file_name: str, file_size: int, since: datetime
) -> list[Document]:
    """Records that can only be the lost result of our own ``document.create`` since ``since``.

    A record whose creation time cannot be read is left alone: deleting someone else's
    pending document would be worse than leaving a duplicate.
    """
    found = []
    for doc in documents:
        created = parse_time(doc.created_at)
        if (
            doc.file_name == file_name
            and doc.file_size == file_size
            and not doc.completed
            and doc.deleted_at is None
            and created is not None
            and created >= since
        ):
            found.append(doc)
    return found


def remove_orphans(
    client: DocumentApi,
    subject_record_id: str,
    file_name: str,
    file_size: int,
    since: datetime,
    *,
    keep: Collection[str] = (),
) -> list[str]:
    """Delete the orphans of lost ``document.create`` calls started at ``since`` or later.

    Returns the deleted ids. The engine calls this on resume too, with the time its journal
    recorded before the create whose answer it never saw; ``keep`` names documents that
    are known to be in use (other files of the same name and size still in progress).
    """
    documents = client.list_documents(subject_record_id)
    orphans = [
        doc
        for doc in find_orphans(documents, file_name, file_size, since)
        if doc.document_id not in keep
    ]
    removed = []
    for orphan in orphans:
        log.info(
            "deleting %s: left pending by a document.create whose answer was lost",
            orphan.document_id,
        )
        try:
            client.delete_document(orphan.document_id)
        except AuthError:
            raise
        except CannotSucceed as error:
            # Only its uploader may delete a document: one that another key created (a
            # colleague's agent sending a file of the same name) is not ours to remove.
            log.info("%s is left as it is: %s", orphan.document_id, error.message)
            continue
        removed.append(orphan.document_id)
    return removed


def find_uploaded_copy(
    client: DocumentApi,
    subject_record_id: str,
    file_name: str,
    file_size: int,
    sha256: str,
    since: datetime,
) -> str | None:
    """A document that already holds exactly this file, uploaded since ``since``: the work
    of an agent that stopped before it could say so (a claim taken over from an agent
    whose journal cannot be read). Same name and size, COMPLETED, not deleted, and the
    same SHA-256 as ``document.get`` reports it. None when there is none.
    """
    for doc in client.list_documents(subject_record_id):
        created = parse_time(doc.created_at)
        if (
            doc.file_name != file_name
            or doc.file_size != file_size
            or not doc.completed
            or doc.deleted_at is not None
            or created is None
            or created < since
        ):
            continue
        stored = client.get_document(doc.document_id)
        if stored.hash and hashes_match(stored.hash, sha256):
            return doc.document_id
    return None


def create_document(
    client: DocumentApi,
    subject_record_id: str,
    file_name: str,
    file_size: int,
    *,
    clock: Clock = utc_now,
    skew: timedelta = DEFAULT_SKEW,
    attempts: int = DEFAULT_ATTEMPTS,
) -> CreatedDocument:
    """Create a document record and its upload form; reconcile instead of blindly repeating."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    last: AmbiguousRequest | None = None
    for attempt in range(1, attempts + 1):
        started = clock()
        try:
            return client.create_document(subject_record_id, file_name, file_size)
        except AmbiguousRequest as error:
            last = error
            log.warning(
                "document.create for %s may or may not have happened (attempt %d of %d): %s",
                file_name,
                attempt,
                attempts,
                error.message,
            )
            remove_orphans(client, subject_record_id, file_name, file_size, started - skew)
    assert last is not None
    raise last


def discard(client: DocumentApi, document_id: str) -> None:
    """Delete a document this run could not finish; a failure here is only logged."""
    try:
        client.delete_document(document_id)
        log.info("deleted %s, which could not be finished", document_id)
    except AgentError as error:
        log.warning("could not delete unfinished document %s: %s", document_id, error)
