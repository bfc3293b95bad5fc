"""What to change on disk so a workflow's folders match Kompliant: a pure plan.

:func:`plan_workflow` compares the workflow and its required documents with the markers
found under the root and returns actions; :mod:`agent.decide.refresh` carries them out.
Folders are only ever created or marked — never renamed, moved or deleted — so nothing a
user put into them is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from agent.config import WorkflowConfig
from agent.decide.cache import CachedWorkflow
from agent.decide.markers import NOTICE_ENDED, NOTICE_INACTIVE, FolderKind, Marker
from agent.decide.names import safe_name, type_in_words, unique_names
from agent.owned_names import AGENT_OWNED

INBOX_NAME = "Inbox"
UPLOAD_ONLY_NAME = "Upload only"


@dataclass(frozen=True)
class CreateFolder:
    path: Path
    marker: Marker


@dataclass(frozen=True)
class UpdateMarker:
    path: Path
    marker: Marker


@dataclass(frozen=True)
class WriteNotice:
    folder: Path
    name: str
    text: str


@dataclass(frozen=True)
class RemoveNotice:
    folder: Path
    name: str


Action = CreateFolder | UpdateMarker | WriteNotice | RemoveNotice


def workflow_label(workflow_config: WorkflowConfig, cached: CachedWorkflow) -> str:
    """The label to show: the config's, else the workflow type in words, else the id."""
    return (
        workflow_config.label or type_in_words(cached.workflow.type) or workflow_config.workflow_id
    )


def plan_workflow(
    cached: CachedWorkflow,
    workflow_config: WorkflowConfig,
    root: Path,
    existing: Mapping[Path, Marker],
    listing: Mapping[Path, Iterable[str]],
    new_id: Callable[[], str],
    today: str,
) -> list[Action]:
    """Actions that give the workflow every folder it needs and mark what changed.

    ``existing`` holds this workflow's folders (from their markers, wherever they are under
    the root); ``listing`` the names already present in the root and in the workflow's
    folder, so new folders never take a name in use. ``new_id`` makes folder ids.
    """
    workflow = cached.workflow
    workflow_id = workflow_config.workflow_id
    label = workflow_label(workflow_config, cached)
    subject = workflow.subject_record_id
    actions: list[Action] = []

    def base(kind: FolderKind, ids: tuple[str, ...] = (), title: str = "") -> Marker:
        return Marker(kind, new_id(), workflow_id, subject, ids, title, ended=workflow.ended)

    # The workflow's own folder.
    workflow_folders = sorted(p for p, m in existing.items() if m.kind is FolderKind.WORKFLOW)
    if workflow_folders:
        home = workflow_folders[0]
    else:
        name = unique_names([[safe_name(f"{label} ({workflow_id})")]], listing.get(root, ()))[0]
        home = root / name
        actions.append(CreateFolder(home, base(FolderKind.WORKFLOW, title=label)))
    taken = [*listing.get(home, ()), AGENT_OWNED.done_dir, AGENT_OWNED.failed_dir]

    # Folders to create inside it: (kind, ids, title, candidate names, combined name).
    wanted: list[tuple[FolderKind, tuple[str, ...], str, list[str], str]] = []
    for kind, title in ((FolderKind.INBOX, INBOX_NAME), (FolderKind.UPLOAD_ONLY, UPLOAD_ONLY_NAME)):
        if not any(m.kind is kind for m in existing.values()):
            wanted.append((kind, (), title, [title], ""))
    have_required = {
        m.required_document_ids[0]
        for m in existing.values()
        if m.kind is FolderKind.REQUIREMENT and m.required_document_ids
    }
    for required in cached.required_documents:
        if required.required_document_id in have_required:
            continue
        name = required.name or required.document_type_code or required.required_document_id
        options = [
            safe_name(name),
            safe_name(f"{name} ({required.document_type_code})"),
            safe_name(f"{name} ({required.required_document_id})"),
        ]
        ids: tuple[str, ...] = (required.required_document_id,)
        wanted.append((FolderKind.REQUIREMENT, ids, name, options, ""))
    have_combined = {
        m.combined_name.casefold() for m in existing.values() if m.kind is FolderKind.COMBINED
    }
    for entry in workflow_config.combined:
        if entry.folder.casefold() not in have_combined:
            ids = entry.required_document_ids
            wanted.append(
                (FolderKind.COMBINED, ids, entry.folder, [safe_name(entry.folder)], entry.folder)
            )

    names = unique_names([w[3] for w in wanted], taken)
    inactive_ids = {r.required_document_id for r in cached.required_documents if r.inactive}
    for (kind, ids, title, _options, combined_name), name in zip(wanted, names, strict=True):
        marker = replace(
            base(kind, ids, title),
            combined_name=combined_name,
            inactive=bool(inactive_ids.intersection(ids)),
        )
        actions.append(CreateFolder(home / name, marker))
        if marker.inactive:
            actions.append(
                WriteNotice(home / name, NOTICE_INACTIVE, _inactive_notice(marker, cached, today))
            )

    # Folders that exist: bring their flags up to date and show the change.
    for path, marker in sorted(existing.items()):
        ids = marker.required_document_ids
        if marker.kind is FolderKind.COMBINED:
            for entry in workflow_config.combined:
                if entry.folder.casefold() == marker.combined_name.casefold():
                    ids = entry.required_document_ids
        inactive = bool(inactive_ids.intersection(ids))
        updated = replace(
            marker,
            required_document_ids=ids,
            subject_record_id=marker.subject_record_id or subject,
            inactive=inactive,
            ended=workflow.ended,
        )
        if updated != marker:
            actions.append(UpdateMarker(path, updated))
        if inactive and not marker.inactive:
            actions.append(
                WriteNotice(path, NOTICE_INACTIVE, _inactive_notice(updated, cached, today))
            )
        elif marker.inactive and not inactive:
            actions.append(RemoveNotice(path, NOTICE_INACTIVE))
        if marker.kind is FolderKind.WORKFLOW and path == home:
            if workflow.ended and not marker.ended:
                actions.append(
                    WriteNotice(path, NOTICE_ENDED, _ended_notice(label, workflow_id, today))
                )
            elif marker.ended and not workflow.ended:
                actions.append(RemoveNotice(path, NOTICE_ENDED))
    if workflow.ended and not workflow_folders:
        actions.append(WriteNotice(home, NOTICE_ENDED, _ended_notice(label, workflow_id, today)))
    return actions


def _inactive_notice(marker: Marker, cached: CachedWorkflow, today: str) -> str:
    names = []
    for required_document_id in marker.required_document_ids:
        required = cached.required_document(required_document_id)
        if required is not None and required.inactive:
            names.append(f'"{required.name}" ({required_document_id})')
    return (
        f"{' and '.join(names) or 'A required document'} was removed from workflow "
        f"{marker.workflow_id} on Kompliant's side: its status is now INACTIVE.\n\n"
        "Files dropped into this folder are not uploaded: they move to failed/ with the "
        "reason.\nPut new files into another requirement folder, or into "
        f'"{UPLOAD_ONLY_NAME}" to upload them without linking.\n'
        "Nothing in this folder was deleted.\n\n"
        f"Written by kompliant-agent on {today}. This note goes away by itself if the "
        "requirement becomes active again.\n"
    )


def _ended_notice(label: str, workflow_id: str, today: str) -> str:
    return (
        f"The workflow {label} ({workflow_id}) has ended on Kompliant's side and takes no "
        "more documents.\n\n"
        "Files dropped into its folders are not uploaded: they move to failed/ with the "
        "reason.\nAsk the Kompliant team which workflow should receive new files.\n"
        f"`kompliant-agent remove-workflow {workflow_id}` stops watching these folders; "
        "every file stays where it is.\n\n"
        f"Written by kompliant-agent on {today}.\n"
    )
