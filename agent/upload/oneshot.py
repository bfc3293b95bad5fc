"""One file all the way: identify → check its content → check the workflow → create → send
→ verify → link.

Each step is its own function taking the ids of the step before, so the engine can run
them one by one with its journal in between; :func:`upload_file` is the composition for
the one-shot ``kompliant-agent upload`` command, which has no journal. Because of that,
a document this command created but could not finish (the file changed, S3 refused the
form, the stored copy differs) is deleted again so that no half-done record is left for
a reviewer to see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx

from agent.content.ends import refuse_cut_short
from agent.content.filetype import check_type
from agent.errors import (
    AgentError,
    CannotSucceed,
    EntityNotFound,
    RuleViolation,
    UploadFormExpired,
    WorkflowEnded,
)
from agent.kompliant.models import RequiredDocument, Workflow
from agent.upload.create import DocumentApi, create_document, discard, utc_now
from agent.upload.identity import identify
from agent.upload.link import FulfillmentApi
from agent.upload.link import link as link_document
from agent.upload.presigned import Progress, send_form
from agent.upload.verify import DEFAULT_TIMEOUT, DocumentReader, wait_until_stored

log = logging.getLogger(__name__)

FORM_ATTEMPTS = 3


class UploadApi(DocumentApi, DocumentReader, FulfillmentApi, Protocol):
    def get_workflow(self, workflow_id: str) -> Workflow: ...

    def list_required_documents(
        self, workflow_id: str, status: str | None = None
    ) -> list[RequiredDocument]: ...


@dataclass(frozen=True)
class UploadResult:
    document_id: str
    fulfillment_ids: Mapping[str, str] = field(default_factory=dict)
    sha256: str = ""


def check_workflow(
    client: UploadApi,
    workflow_id: str,
    required_document_ids: Sequence[str],
    *,
    subject_record_id: str | None = None,
) -> str:
    """Refuse before any upload what ``batchAdd`` would refuse after it; return the subject.

    An ended workflow, a requirement that is not the workflow's, or an inactive one would
    leave an uploaded document nobody asked for.
    """
    workflow = client.get_workflow(workflow_id)
    if subject_record_id and workflow.subject_record_id != subject_record_id:
        raise CannotSucceed(
            f"Workflow {workflow_id} belongs to subject record {workflow.subject_record_id}, "
            f"not {subject_record_id}",
            code="SUBJECT_RECORD_MISMATCH",
            hint="Give the workflow's own subject record, or leave --subject out.",
        )
    if not required_document_ids:
        return workflow.subject_record_id
    if workflow.ended:
        raise WorkflowEnded(
            f"Workflow {workflow_id} has ended; nothing was uploaded",
            code="SYSTEM_RULE_VIOLATION",
            entity_type="Workflow",
            sub_code="WORKFLOW_ENDED",
        )
    known = {rd.required_document_id: rd for rd in client.list_required_documents(workflow_id)}
    for rd_id in required_document_ids:
        required = known.get(rd_id)
        if required is None:
            raise EntityNotFound(
                f"Workflow {workflow_id} has no required document {rd_id}; nothing was uploaded",
                code="ENTITY_NOT_FOUND",
                hint="Check the id with the workflow's list of required documents.",
            )
        if required.inactive:
            raise RuleViolation(
                f"The required document {rd_id} ({required.name}) is inactive and takes no "
                "documents; nothing was uploaded",
                code="SYSTEM_RULE_VIOLATION",
                entity_type="RequiredDocument",
                sub_code="REQUIRED_DOCUMENT_INACTIVE",
                hint="Ask the Kompliant team whether another requirement should get the file.",
            )
    return workflow.subject_record_id


def upload_file(
    client: UploadApi,
    path: Path | str,
    *,
    subject_record_id: str | None = None,
    workflow_id: str | None = None,
    required_document_ids: Sequence[str] = (),
    link: bool = True,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    http: httpx.Client | None = None,
    verify_timeout: float = DEFAULT_TIMEOUT,
) -> UploadResult:
    """Upload ``path`` and (with ``link``) fulfil the required documents with it."""
    path = Path(path)
    to_link = list(dict.fromkeys(required_document_ids)) if link else []
    if link and (not workflow_id or not to_link):
        raise ValueError("linking needs a workflow and at least one required document")
    if not workflow_id and not subject_record_id:
        raise ValueError("an upload needs a subject record or a workflow")

    identity = identify(path)
    check_type(path)
    refuse_cut_short(path)
    if workflow_id:
        subject_record_id = check_workflow(
            client, workflow_id, to_link, subject_record_id=subject_record_id
        )
    assert subject_record_id is not None

    created = create_document(client, subject_record_id, path.name, identity.size, clock=clock)
    for attempt in range(1, FORM_ATTEMPTS + 1):
        try:
            send_form(
                created.form,
                path,
                file_name=path.name,
                identity=identity,
                http=http,
                progress=progress,
            )
            break
        except UploadFormExpired:
            discard(client, created.document_id)
            if attempt == FORM_ATTEMPTS:
                raise
            log.info("the upload form expired; asking Kompliant for a new one")
            created = create_document(
                client, subject_record_id, path.name, identity.size, clock=clock
            )
        except AgentError:
            discard(client, created.document_id)
            raise

    document_id = created.document_id
    try:
        wait_until_stored(
            client, document_id, identity, timeout=verify_timeout, clock=monotonic, sleep=sleep
        )
    except AgentError:
        discard(client, document_id)
        raise

    fulfillment_ids: dict[str, str] = {}
    if to_link:
        assert workflow_id is not None
        fulfillment_ids = link_document(client, workflow_id, document_id, to_link)
    return UploadResult(document_id, fulfillment_ids, identity.sha256)
