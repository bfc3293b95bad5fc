"""Cutting a scanned stack at its cover sheets (on a worker): every part written to the
work folder and recorded with the stack in one journal transaction
(:meth:`agent.journal.Journal.split`), each part routed by its cover."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from agent.decide import FolderTree
from agent.decide.parts import PartKind, PartRoute, StackFolder, part_file_name, route_part
from agent.journal import Entry, Journal, NewPart
from agent.scan.split import Part
from agent.scan.stack import StackPlan, write_cover, write_parts
from agent.settle.claim import Claim
from agent.upload.identity import identify

log = logging.getLogger(__name__)


def cut_stack(
    journal: Journal,
    tree: FolderTree,
    entry: Entry,
    claim: Claim,
    plan: StackPlan,
    work: Path,
    stack: Path,
    *,
    needs_routing: bool,
) -> list[Entry]:
    """Write the parts of ``stack`` as ``plan`` cuts it and record them; the parts' entries."""
    workflow_id = entry.workflow_id or ""
    cached = tree.cached(workflow_id)
    configured = tree.config.workflow(workflow_id)
    folder = StackFolder(
        workflow_id,
        configured.label if configured and configured.label else workflow_id,
        entry.required_document_ids,
        needs_routing=needs_routing,
    )
    names = required_document_names(tree, workflow_id)
    identity = identify(claim.path)
    parts: list[NewPart] = []
    described: dict[str, Any] = {}
    targets: dict[int, Path] = {}
    covers: list[tuple[Part, Path]] = []
    for part in plan.parts:
        route = route_part(part, folder, cached)
        rd = part.cover.required_document_id if part.cover else ""
        name = part_file_name(entry.file_name, part, names.get(rd, rd))
        path = work / f"{entry.id}-{part.number}.pdf"
        if part.empty:
            covers.append((part, path))
        else:
            targets[part.number] = path
        rds = route.required_document_ids if route.kind is PartKind.UPLOAD else ()
        key = _part_key(route, entry.folder_key)
        parts.append(NewPart(part.number, claim.folder / name, path, key, workflow_id, rds))
        described[str(part.number)] = {
            "route": route.to_data(),
            "pages": part.pages_words(),
            "cover_page": part.cover_page,
        }
    write_parts(stack, plan.parts, targets, work)
    for part, path in covers:
        write_cover(stack, part, path, work)
    notes = []
    if entry.scan.get("converted"):
        notes.append(str(entry.scan["converted"]))
    if plan.repaired:
        notes.append("the PDF was damaged; it was read with qpdf's repairs")
    if plan.converted_from:
        notes.append(f"a {plan.converted_from}, read as a PDF without loss")
    scan = {
        "pages": plan.page_count,
        "parts": described,
        "notes": notes,
        "sha256": identity.sha256,
        "size": identity.size,
    }
    made = journal.split(entry.id, scan, parts)
    log.info(
        "%s: %d page(s), %d cover sheet(s), cut into %d part(s) in %.1f s",
        entry.file_name,
        plan.page_count,
        sum(1 for f in plan.findings if f.is_cover),
        len(made),
        plan.seconds,
    )
    return made


def required_document_names(tree: FolderTree, workflow_id: str | None) -> dict[str, str]:
    """Required document id → name, from the workflow's cached definition (empty if none)."""
    cached = tree.cached(workflow_id or "")
    if cached is None:
        return {}
    return {rd.required_document_id: rd.name for rd in cached.required_documents}


def _part_key(route: PartRoute, stack_key: str) -> str:
    if route.kind is not PartKind.UPLOAD:
        return stack_key
    if not route.required_document_ids:
        return f"{route.workflow_id}/upload-only"
    return f"{route.workflow_id}/{'+'.join(sorted(route.required_document_ids))}"
