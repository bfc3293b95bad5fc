"""The sandbox with a real S3-compatible store (moto's server on loopback) behind it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent.sandbox import SandboxSettings, start_sandbox
from agent.sandbox.external_s3 import ExternalS3
from tests.conftest import DEMO_SUBJECT, DEMO_WORKFLOW, RD_BANK, sandbox_call, sandbox_upload


def test_documents_complete_once_the_store_holds_the_object(endpoint: str, tmp_path: Path) -> None:
    store = ExternalS3(endpoint, "sandbox-external", "AKIAEXAMPLE", "example-secret", "us-east-1")
    store.ensure_bucket()
    with start_sandbox(tmp_path, settings=SandboxSettings(external_store=store)) as sandbox:
        content = b"%PDF-1.7 statement"
        created = sandbox_call(
            sandbox,
            "document.create",
            {
                "subject_record_id": DEMO_SUBJECT,
                "file_name": "s.pdf",
                "file_size_in_bytes": len(content),
            },
        ).json()["data"]["document"]
        assert created["upload_url"].startswith(endpoint)
        document_id = created["document_id"]
        get = {"document_id": document_id}
        pending = sandbox_call(sandbox, "document.get", get).json()["data"]["document"]
        assert pending["upload_status"] == "PENDING"
        assert sandbox_upload(created, content).status_code == 204
        done = sandbox_call(sandbox, "document.get", get).json()["data"]["document"]
        assert done["upload_status"] == "COMPLETED"
        assert done["hash"] == hashlib.sha256(content).hexdigest()
        linked = sandbox_call(
            sandbox,
            "workflow.requiredDocument.fulfillment.batchAdd",
            {
                "workflow_id": DEMO_WORKFLOW,
                "fulfillments": [{"document_id": document_id, "required_document_id": RD_BANK}],
            },
        )
        assert linked.json()["results"][0]["status"] == "SUCCESS"
