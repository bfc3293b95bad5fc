"""A small in-memory stand-in for the Kompliant client's document and fulfillment calls."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from agent.errors import AgentError, AmbiguousRequest, BadRequest
from agent.kompliant.models import (
    BatchItemResult,
    CreatedDocument,
    Document,
    Fulfillment,
    PresignedForm,
)

T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class FakeKompliant:
    now: datetime = T0
    documents: dict[str, Document] = field(default_factory=dict)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    # per call name: a queue of faults; each is "lose_answer" (act, then raise ambiguous),
    # "ambiguous_before" (raise without acting) or an exception to raise
    faults: dict[str, list[object]] = field(default_factory=dict)
    item_errors: dict[str, AgentError] = field(default_factory=dict)
    statuses: list[str] = field(default_factory=list)
    stored_hash: str | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _fault(self, name: str) -> object | None:
        queue = self.faults.get(name)
        return queue.pop(0) if queue else None

    def _apply(self, name: str, act: Callable[[], object]) -> object:
        self.calls.append(name)
        fault = self._fault(name)
        if fault == "ambiguous_before":
            raise AmbiguousRequest(f"{name}: no answer")
        if isinstance(fault, Exception):
            raise fault
        result = act()
        if fault == "lose_answer":
            raise AmbiguousRequest(f"{name}: answer lost")
        return result

    def live(self) -> list[Document]:
        return [d for d in self.documents.values() if d.deleted_at is None]

    # -- document calls
    def create_document(
        self, subject_record_id: str, file_name: str, file_size: int
    ) -> CreatedDocument:
        def act() -> CreatedDocument:
            document_id = f"d_{next(self._ids)}"
            self.documents[document_id] = Document(
                document_id,
                subject_record_id,
                file_name,
                file_size,
                "PENDING",
                created_at=self.now.isoformat().replace("+00:00", "Z"),
            )
            return CreatedDocument(document_id, PresignedForm("http://127.0.0.1:1/s3/b", ()))

        return self._apply("create", act)  # type: ignore[return-value]

    def list_documents(self, subject_record_id: str) -> list[Document]:
        self.calls.append("list")
        return [d for d in self.documents.values() if d.subject_record_id == subject_record_id]

    def delete_document(self, document_id: str) -> None:
        self.calls.append(f"delete {document_id}")
        doc = self.documents[document_id]
        self.documents[document_id] = replace(doc, deleted_at=self.now.isoformat())

    def get_document(self, document_id: str) -> Document:
        self.calls.append("get")
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return replace(self.documents[document_id], upload_status=status, hash=self.stored_hash)

    # -- fulfillment calls
    def add_fulfillments(
        self, workflow_id: str, links: Sequence[tuple[str, str]]
    ) -> list[BatchItemResult]:
        def act() -> list[BatchItemResult]:
            out = []
            for document_id, rd in links:
                request = {"document_id": document_id, "required_document_id": rd}
                if rd in self.item_errors:
                    out.append(BatchItemResult(request, False, error=self.item_errors[rd]))
                elif any(
                    f.document_id == document_id and f.required_document_id == rd
                    for f in self.fulfillments
                ):
                    # Kompliant documents no code or words for "already linked".
                    dup = BadRequest("This item was not processed.", code="BAD_REQUEST")
                    out.append(BatchItemResult(request, False, error=dup))
                else:
                    fulfillment = Fulfillment(
                        f"f_{next(self._ids)}", document_id, rd, "NEEDS_REVIEW"
                    )
                    self.fulfillments.append(fulfillment)
                    out.append(
                        BatchItemResult(
                            request,
                            True,
                            data={"fulfillment": {"fulfillment_id": fulfillment.fulfillment_id}},
                        )
                    )
            return out

        return self._apply("batchAdd", act)  # type: ignore[return-value]

    def list_fulfillments(
        self, required_document_id: str, verbose: bool = False
    ) -> list[Fulfillment]:
        self.calls.append(f"list_fulfillments {required_document_id}")
        return [f for f in self.fulfillments if f.required_document_id == required_document_id]
