"""Where a file goes: plain data in (a path and a :class:`FolderTree`), a decision out.

A file belongs to the nearest folder above it that has a marker (so files in a sub-folder
a user made inside ``Bank statements`` go to Bank statements). What the folder is for is
read from its marker, never from its name (see :mod:`agent.decide.markers`). Nothing here
touches the disk or the network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agent.decide.cache import CachedWorkflow
from agent.decide.markers import AGENT_OWNED_NAMES, FolderKind, Marker
from agent.decide.rules import first_match
from agent.decide.tree import FolderTree
from agent.watch.ignore import is_ignored


@dataclass(frozen=True)
class Destination:
    """Upload the file for this workflow's subject record and link it to these required
    documents (none: upload only). ``folder`` is the agent's folder the file belongs to."""

    workflow_id: str
    subject_record_id: str
    required_document_ids: tuple[str, ...]
    folder: Path
    kind: FolderKind = FolderKind.REQUIREMENT


@dataclass(frozen=True)
class Refusal:
    """The file cannot succeed where it is: what is wrong, and what the user should do."""

    problem: str
    action: str

    def describe(self) -> str:
        return f"{self.problem} {self.action}"


@dataclass(frozen=True)
class NeedsRouting:
    """An inbox file no rule matches (or a file dropped on a workflow folder): it stays put."""

    folder: Path


Decision = Destination | Refusal | NeedsRouting | None


def route(path: Path, tree: FolderTree) -> Decision:
    """Decide what ``path`` (a file) is for; ``None`` when it is not the agent's business.

    Not the agent's business: files outside the root or outside every workflow folder,
    files in ``done/``, ``failed/`` or ``.processing/``, and ignored names (hidden, temporary,
    the agent's markers and notices, the config's ignore patterns).
    """
    path = _absolute(path)
    try:
        relative = path.relative_to(tree.root)
    except ValueError:
        return None
    if not relative.parts or path.name in AGENT_OWNED_NAMES:
        return None
    if any(is_ignored(part, tree.config.agent.ignore) for part in relative.parts):
        return None
    for folder in path.parents:  # each one inside the root, up to it
        if folder == tree.root:
            return None
        reason = tree.broken.get(folder)
        if reason is not None:
            return _damaged_marker(folder, reason)
        marker = tree.folders.get(folder)
        if marker is not None:
            return _decide(path, folder, marker, tree)
    return None


def _absolute(path: Path) -> Path:
    """``path`` made absolute and normal; the same object when it is already (a watcher's
    paths are: not parsed again)."""
    text = os.path.abspath(path)
    return path if text == os.fspath(path) else Path(text)


def _decide(path: Path, folder: Path, marker: Marker, tree: FolderTree) -> Decision:
    cached = tree.cached(marker.workflow_id)
    if cached.workflow.ended if cached is not None else marker.ended:
        return _ended(marker.workflow_id, tree)
    subject = tree.subject_record_id(marker.workflow_id) or marker.subject_record_id
    if marker.kind is FolderKind.WORKFLOW:
        if path.parent == folder:
            return NeedsRouting(folder)
        return _unmarked(path.relative_to(folder).parts[0])
    if marker.kind is FolderKind.UPLOAD_ONLY:
        return Destination(marker.workflow_id, subject, (), folder, marker.kind)
    workflow = tree.config.workflow(marker.workflow_id)
    ids = marker.required_document_ids
    if marker.kind is FolderKind.COMBINED and workflow is not None:
        # The config is where combined folders are declared: its ids win over the marker's.
        for entry in workflow.combined:
            if entry.folder.casefold() == marker.combined_name.casefold():
                ids = entry.required_document_ids
    if marker.kind is FolderKind.INBOX:
        match = first_match(workflow.inbox_rules if workflow else (), path.name)
        if match is None:
            return NeedsRouting(folder)
        ids = match[1].required_document_ids
    refusal = _check_required(ids, marker, cached)
    if refusal is not None:
        return refusal
    return Destination(marker.workflow_id, subject, ids, folder, marker.kind)


def _check_required(
    ids: tuple[str, ...], marker: Marker, cached: CachedWorkflow | None
) -> Refusal | None:
    if cached is None:  # never refreshed: Kompliant itself refuses what is not allowed
        if marker.inactive:
            return _inactive(marker.title or ", ".join(ids))
        return None
    for required_document_id in ids:
        required = cached.required_document(required_document_id)
        if required is None:
            return Refusal(
                problem=f"The required document {required_document_id} is not part of "
                f"workflow {marker.workflow_id} (as of the last refresh).",
                action="Check the required_document_ids in the config file, or run "
                "`kompliant-agent refresh` if it was added on Kompliant's side just now; "
                "then move the file back into this folder.",
            )
        if required.inactive:
            return _inactive(required.name or required_document_id)
    return None


def _inactive(name: str) -> Refusal:
    return Refusal(
        problem=f"'{name}' was removed from the workflow on Kompliant's side "
        "(its status is INACTIVE), so a file here cannot be linked to it.",
        action="Put the file into another requirement folder of the workflow, or into "
        "'Upload only' to upload it without linking.",
    )


def _ended(workflow_id: str, tree: FolderTree) -> Refusal:
    workflow = tree.config.workflow(workflow_id)
    name = f"'{workflow.label}' ({workflow_id})" if workflow and workflow.label else workflow_id
    return Refusal(
        problem=f"The workflow {name} has ended on Kompliant's side and takes no more documents.",
        action="Ask the Kompliant team which workflow should receive the file now, and put it "
        f"there. `kompliant-agent remove-workflow {workflow_id}` stops watching these folders.",
    )


def _unmarked(name: str) -> Refusal:
    return Refusal(
        problem=f"The folder '{name}' was not created by the agent (it has no marker file), "
        "so the agent cannot tell which required document the file is for.",
        action="Move the file into one of the workflow's requirement folders, 'Inbox' or "
        f"'Upload only'. If '{name}' was a requirement folder whose marker file was deleted, "
        "run `kompliant-agent refresh` to create that folder again.",
    )


def _damaged_marker(folder: Path, reason: str) -> Refusal:
    return Refusal(
        problem=f"The marker file of the folder '{folder.name}' cannot be used ({reason}), "
        "so the agent cannot tell which required document the file is for.",
        action="Move the file into another of the workflow's folders. To repair the folder, "
        "delete its hidden .kompliant-folder.json and run `kompliant-agent refresh`, which "
        "creates the requirement's folder again.",
    )
