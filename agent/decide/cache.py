"""The last known state of each workflow and its required documents (``requirements.json``).

Written after every refresh into the profile's state folder, so that routing can tell an
INACTIVE requirement or an ENDED workflow apart while Kompliant cannot be reached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.atomic import write_atomically
from agent.kompliant.models import RequiredDocument, Workflow
from agent.locations import locations

log = logging.getLogger(__name__)

CACHE_NAME = "requirements.json"
CACHE_VERSION = 1


def requirements_file(profile: str) -> Path:
    return locations().profile_state(profile) / CACHE_NAME


@dataclass(frozen=True)
class CachedWorkflow:
    workflow: Workflow
    required_documents: tuple[RequiredDocument, ...]
    fetched_at: str = ""

    def required_document(self, required_document_id: str) -> RequiredDocument | None:
        for item in self.required_documents:
            if item.required_document_id == required_document_id:
                return item
        return None


@dataclass(frozen=True)
class RequirementsCache:
    workflows: Mapping[str, CachedWorkflow] = field(default_factory=dict)

    def get(self, workflow_id: str) -> CachedWorkflow | None:
        return self.workflows.get(workflow_id)

    def with_workflows(self, entries: Iterable[CachedWorkflow]) -> RequirementsCache:
        merged = dict(self.workflows)
        merged.update({e.workflow.workflow_id: e for e in entries})
        return replace(self, workflows=merged)

    def without(self, workflow_id: str) -> RequirementsCache:
        return replace(
            self, workflows={k: v for k, v in self.workflows.items() if k != workflow_id}
        )


def load_cache(path: Path) -> RequirementsCache:
    """The cache in ``path``; empty when absent or unreadable (it is rebuilt by a refresh)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RequirementsCache()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        log.warning("ignoring the unreadable requirements cache %s (%s)", path, error)
        return RequirementsCache()
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        log.warning("ignoring the requirements cache %s: unknown format", path)
        return RequirementsCache()
    workflows: dict[str, CachedWorkflow] = {}
    for raw in data.get("workflows", {}).values():
        entry = _entry(raw)
        if entry is not None:
            workflows[entry.workflow.workflow_id] = entry
    return RequirementsCache(workflows)


def save_cache(path: Path, cache: RequirementsCache) -> None:
    data = {
        "version": CACHE_VERSION,
        "workflows": {
            workflow_id: {
                "workflow": {
                    "workflow_id": entry.workflow.workflow_id,
                    "type": entry.workflow.type,
                    "subject_record_id": entry.workflow.subject_record_id,
                    "state": entry.workflow.state,
                },
                "fetched_at": entry.fetched_at,
                "required_documents": [_rd_data(rd) for rd in entry.required_documents],
            }
            for workflow_id, entry in sorted(cache.workflows.items())
        },
    }
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_atomically(path, text.encode("utf-8"))


def _rd_data(rd: RequiredDocument) -> dict[str, str]:
    return {
        "required_document_id": rd.required_document_id,
        "document_type_code": rd.document_type_code,
        "name": rd.name,
        "status": rd.status,
        "category": rd.category,
        "requirement_text": rd.requirement_text,
    }


def _entry(raw: Any) -> CachedWorkflow | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("workflow"), dict):
        return None
    workflow = Workflow.from_api(raw["workflow"])
    if not workflow.workflow_id:
        return None
    items = raw.get("required_documents", [])
    return CachedWorkflow(
        workflow=workflow,
        required_documents=tuple(
            RequiredDocument.from_api(item) for item in items if isinstance(item, dict)
        ),
        fetched_at=str(raw.get("fetched_at") or ""),
    )
