"""Typed methods for the Kompliant Web API (contract in docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import httpx

from agent.kompliant.auth import Credentials
from agent.kompliant.models import (
    BatchItemResult,
    CreatedDocument,
    Document,
    Fulfillment,
    RequiredDocument,
    VersionInfo,
    Workflow,
)


class KompliantClient:
    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        raise NotImplementedError

    def __enter__(self) -> KompliantClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError

    def check_version(self) -> VersionInfo:
        raise NotImplementedError

    def create_document(
        self, subject_record_id: str, file_name: str, file_size: int
    ) -> CreatedDocument:
        raise NotImplementedError

    def get_document(self, document_id: str) -> Document:
        raise NotImplementedError

    def list_documents(self, subject_record_id: str) -> list[Document]:
        raise NotImplementedError

    def delete_document(self, document_id: str) -> None:
        raise NotImplementedError

    def get_workflow(self, workflow_id: str) -> Workflow:
        raise NotImplementedError

    def list_workflows(self, subject_record_id: str) -> list[Workflow]:
        raise NotImplementedError

    def list_required_documents(
        self, workflow_id: str, status: str | None = None
    ) -> list[RequiredDocument]:
        raise NotImplementedError

    def request_documents(
        self, workflow_id: str, required_document_ids: Sequence[str]
    ) -> list[BatchItemResult]:
        raise NotImplementedError

    def add_fulfillments(
        self, workflow_id: str, links: Sequence[tuple[str, str]]
    ) -> list[BatchItemResult]:
        raise NotImplementedError

    def list_fulfillments(
        self, required_document_id: str, verbose: bool = False
    ) -> list[Fulfillment]:
        raise NotImplementedError

    def update_fulfillment(self, fulfillment_id: str, decision_status: str) -> None:
        raise NotImplementedError
