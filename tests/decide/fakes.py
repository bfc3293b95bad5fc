"""A stand-in for the two Kompliant calls a refresh makes, with the demo fixture's data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from agent.errors import EntityNotFound, NetworkError
from agent.kompliant.models import RequiredDocument, Workflow
from tests.kit.sandbox import DEMO_SUBJECT as SUBJECT
from tests.kit.sandbox import DEMO_WORKFLOW as DEMO
from tests.kit.sandbox import ENDED_WORKFLOW as ENDED
from tests.kit.sandbox import RD_ADDRESS as ADDRESS
from tests.kit.sandbox import RD_BANK as BANK
from tests.kit.sandbox import RD_ENDED as ENDED_BANK
from tests.kit.sandbox import RD_ID as GOV_ID
from tests.kit.sandbox import RD_INACTIVE as OLD_TAX

__all__ = ["ADDRESS", "BANK", "DEMO", "ENDED", "ENDED_BANK", "GOV_ID", "OLD_TAX", "SUBJECT"]


def rd(rd_id: str, code: str, name: str, status: str = "ACTIVE") -> RequiredDocument:
    return RequiredDocument(rd_id, code, name, status)


@dataclass
class FakeKompliant:
    """Answers like the sandbox's demo fixture; tests change ``required`` and ``workflows``."""

    workflows: dict[str, Workflow] = field(
        default_factory=lambda: {
            DEMO: Workflow(DEMO, "BUSINESS_APPLICATION", SUBJECT, "STARTED"),
            ENDED: Workflow(ENDED, "BUSINESS_APPLICATION", SUBJECT, "ENDED"),
        }
    )
    required: dict[str, list[RequiredDocument]] = field(
        default_factory=lambda: {
            DEMO: [
                rd(BANK, "BANK_STATEMENTS", "Bank statements"),
                rd(ADDRESS, "PROOF_OF_ADDRESS", "Proof of address"),
                rd(GOV_ID, "GOVERNMENT_ID", "Government ID"),
                rd(OLD_TAX, "TAX_RETURN", "Tax return 2019", "INACTIVE"),
            ],
            ENDED: [rd(ENDED_BANK, "BANK_STATEMENTS", "Bank statement")],
        }
    )
    offline: bool = False
    calls: list[str] = field(default_factory=list)

    def get_workflow(self, workflow_id: str) -> Workflow:
        self.calls.append(f"workflow.get {workflow_id}")
        if self.offline:
            raise NetworkError("Kompliant cannot be reached")
        if workflow_id not in self.workflows:
            raise EntityNotFound(f"Workflow {workflow_id} not found", code="ENTITY_NOT_FOUND")
        return self.workflows[workflow_id]

    def list_required_documents(
        self, workflow_id: str, status: str | None = None
    ) -> list[RequiredDocument]:
        self.calls.append(f"workflow.requiredDocument.list {workflow_id}")
        if self.offline:
            raise NetworkError("Kompliant cannot be reached")
        return list(self.required.get(workflow_id, []))

    def set_status(self, workflow_id: str, rd_id: str, status: str) -> None:
        self.required[workflow_id] = [
            replace(r, status=status) if r.required_document_id == rd_id else r
            for r in self.required[workflow_id]
        ]
