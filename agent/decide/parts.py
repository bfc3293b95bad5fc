"""Where each part of a scanned stack goes: plain data in, a decision out.

A part after a cover goes to the required document its cover names — when the cover is
of the stack's own workflow and that requirement is still part of it and active. A part
before the first cover follows the folder's usual rule: the requirement folder's required
documents, the inbox rule that matched the stack, or, in the Inbox without a rule, it is
saved there as a file of its own to be routed by hand. Everything else fails with a note
that says what to do; the other parts still go through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from agent.decide.cache import CachedWorkflow
from agent.decide.names import safe_name
from agent.scan.split import Part

MAX_STEM = 80


class PartKind(enum.Enum):
    UPLOAD = "upload"  # to workflow_id, linked to required_document_ids (none: upload only)
    FAIL = "fail"  # to failed/, with problem and action
    LEAVE = "leave"  # saved in the stack's folder, to be routed by hand


@dataclass(frozen=True)
class PartRoute:
    kind: PartKind
    workflow_id: str
    required_document_ids: tuple[str, ...] = ()
    problem: str = ""
    action: str = ""

    def to_data(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "workflow_id": self.workflow_id,
            "required_document_ids": list(self.required_document_ids),
            "problem": self.problem,
            "action": self.action,
        }

    @classmethod
    def from_data(cls, raw: dict[str, object]) -> PartRoute:
        ids = raw.get("required_document_ids", [])
        return cls(
            PartKind(str(raw["kind"])),
            str(raw.get("workflow_id", "")),
            tuple(str(i) for i in ids) if isinstance(ids, list) else (),
            str(raw.get("problem", "")),
            str(raw.get("action", "")),
        )


@dataclass(frozen=True)
class StackFolder:
    """The folder the stack was found in, and what its usual rule says."""

    workflow_id: str
    workflow_label: str
    required_document_ids: tuple[str, ...]  # the rule's (a requirement folder, an inbox rule)
    needs_routing: bool  # the Inbox, and no inbox rule matched the stack


_AGAIN = (
    "Put the file from failed/ (it holds exactly these pages) into the right requirement "
    "folder, or print a new cover sheet (`kompliant-agent cover-sheets`) and scan the "
    "pages again behind it."
)


def route_part(part: Part, folder: StackFolder, cached: CachedWorkflow | None) -> PartRoute:
    """Where ``part`` of a stack found in ``folder`` goes (``cached``: the stack's
    workflow as of the last refresh, None when never refreshed)."""
    wf = folder.workflow_id
    if part.cover is None:
        if folder.needs_routing:
            return PartRoute(PartKind.LEAVE, wf)
        return PartRoute(PartKind.UPLOAD, wf, folder.required_document_ids)
    cover = f"the cover sheet on page {part.cover_page}"
    if part.conflict:
        return PartRoute(
            PartKind.FAIL,
            wf,
            problem=f"{cover} carries the codes of two different required documents.",
            action=_AGAIN,
        )
    if part.empty:
        return PartRoute(
            PartKind.FAIL,
            wf,
            problem=f"No pages follow {cover} (another cover sheet or the end of the stack "
            "comes right after it); the file in failed/ is that cover page.",
            action="Scan the document's pages behind its cover sheet and put the new stack "
            "into the Inbox.",
        )
    if part.cover.workflow_id != wf:
        return PartRoute(
            PartKind.FAIL,
            wf,
            problem=f"{cover} belongs to another workflow ({part.cover.workflow_id}), not to "
            f"'{folder.workflow_label}' ({wf}), whose folder the stack was put in.",
            action="Put the file from failed/ into that workflow's Inbox (or the folder of "
            "its required document) if the agent watches it.",
        )
    rd = part.cover.required_document_id
    required = cached.required_document(rd) if cached is not None else None
    if cached is not None and required is None:
        return PartRoute(
            PartKind.FAIL,
            wf,
            problem=f"{cover} names the required document {rd}, which is no longer part of "
            f"the workflow (as of the last refresh).",
            action=_AGAIN,
        )
    if required is not None and required.inactive:
        return PartRoute(
            PartKind.FAIL,
            wf,
            problem=f"{cover} names '{required.name or rd}', which was removed from the "
            "workflow on Kompliant's side (its status is INACTIVE).",
            action="Put the file from failed/ into another requirement folder of the "
            "workflow, or into 'Upload only' to upload it without linking.",
        )
    return PartRoute(PartKind.UPLOAD, wf, (rd,))


def part_file_name(stack_name: str, part: Part, requirement: str) -> str:
    """The name a part is uploaded (or saved, or failed) under: the stack's name, which
    pages, and the requirement its cover names."""
    stem = stack_name.rsplit(".", 1)[0] if "." in stack_name else stack_name
    stem = safe_name(stem, "scan")[:MAX_STEM].rstrip(". ")
    pages = part.pages_words() if not part.empty else f"cover on page {part.cover_page}"
    what = f" - {safe_name(requirement, '')}" if requirement else ""
    return f"{stem} ({pages}){what}.pdf"
