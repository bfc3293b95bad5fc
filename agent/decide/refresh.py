"""Bring the folder tree in line with Kompliant: add-workflow, refresh, remove-workflow.

This is the imperative shell around :mod:`agent.decide.plan`: it asks Kompliant for each
workflow and its required documents, stores them in ``requirements.json`` (so routing
works offline), reads the markers under the root, and carries out the plan. It creates
folders, writes markers and notices — and never renames, moves or deletes anything.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from agent.config import Config, WorkflowConfig
from agent.decide.cache import CachedWorkflow, load_cache, requirements_file, save_cache
from agent.decide.markers import NOTICE_ENDED, NOTICE_INACTIVE, FolderKind, write_marker
from agent.decide.plan import (
    Action,
    CreateFolder,
    RemoveNotice,
    UpdateMarker,
    WriteNotice,
    plan_workflow,
    workflow_label,
)
from agent.decide.tree import FolderTree
from agent.errors import AgentError, EntityNotFound, FileProblem
from agent.kompliant.models import RequiredDocument, Workflow

log = logging.getLogger(__name__)


class WorkflowSource(Protocol):
    """The two Kompliant calls a refresh needs (:class:`agent.kompliant.KompliantClient`)."""

    def get_workflow(self, workflow_id: str) -> Workflow: ...

    def list_required_documents(
        self, workflow_id: str, status: str | None = None
    ) -> list[RequiredDocument]: ...


@dataclass(frozen=True)
class WorkflowRefresh:
    """What one workflow's refresh did; ``error`` when it could not be done."""

    workflow_id: str
    workflow: Workflow | None = None
    folder: Path | None = None
    created: tuple[Path, ...] = ()
    marked_inactive: tuple[Path, ...] = ()
    reactivated: tuple[Path, ...] = ()
    marked_ended: bool = False
    error: AgentError | None = None

    def lines(self) -> list[str]:
        if self.error is not None:
            return [f"{self.workflow_id}: not refreshed: {self.error.describe()}"]
        state = self.workflow.state if self.workflow else "?"
        lines = [f"{self.workflow_id}: {state}, folder {self.folder}"]
        lines += [f"  created {p}" for p in self.created]
        lines += [f"  marked INACTIVE (no longer required): {p}" for p in self.marked_inactive]
        lines += [f"  active again: {p}" for p in self.reactivated]
        if self.marked_ended:
            lines.append("  the workflow has ENDED: its files now fail with that reason")
        return lines


@dataclass(frozen=True)
class RefreshReport:
    workflows: tuple[WorkflowRefresh, ...] = ()

    @property
    def ok(self) -> bool:
        return all(w.error is None for w in self.workflows)

    @property
    def errors(self) -> list[AgentError]:
        return [w.error for w in self.workflows if w.error is not None]

    def lines(self) -> list[str]:
        if not self.workflows:
            return ["No workflows are configured: add one with `kompliant-agent add-workflow`."]
        return [line for w in self.workflows for line in w.lines()]


def refresh_workflow(
    client: WorkflowSource,
    config: Config,
    root: Path | None = None,
    *,
    workflow_ids: Sequence[str] | None = None,
    cache_file: Path | None = None,
    create_root: bool = False,
    new_id: Callable[[], str] | None = None,
    now: Callable[[], datetime] | None = None,
) -> RefreshReport:
    """Refresh the configured workflows (or ``workflow_ids`` among them) under ``root``.

    One workflow that cannot be fetched does not stop the others; its error is in the
    report and its cached state stays as it was. A missing root is reported for every
    workflow (an unmounted share must not be filled with new folders) unless
    ``create_root`` is set, as ``add-workflow`` does.
    """
    root = root if root is not None else config.root
    cache_file = cache_file or requirements_file(config.agent.profile)
    make_id = new_id or (lambda: secrets.token_hex(8))
    moment = (now or (lambda: datetime.now(UTC)))()
    targets = [w for w in config.workflows if workflow_ids is None or w.workflow_id in workflow_ids]
    results: dict[str, WorkflowRefresh] = {}
    fetched: list[tuple[WorkflowConfig, CachedWorkflow]] = []
    for target in targets:
        try:
            fetched.append((target, _fetch(client, target.workflow_id, moment)))
        except AgentError as error:
            log.warning("cannot refresh %s: %s", target.workflow_id, error.describe())
            results[target.workflow_id] = WorkflowRefresh(target.workflow_id, error=error)
    cache = load_cache(cache_file)
    if fetched:
        cache = cache.with_workflows(entry for _, entry in fetched)
        save_cache(cache_file, cache)
    try:
        if create_root:
            root.mkdir(parents=True, exist_ok=True)
        tree = FolderTree.scan(root, config, cache) if fetched else None
    except (AgentError, OSError) as error:
        problem = _as_agent_error(error, root)
        for target, entry in fetched:
            results[target.workflow_id] = WorkflowRefresh(
                target.workflow_id, entry.workflow, error=problem
            )
        tree = None
    if tree is not None:
        for target, entry in fetched:
            results[target.workflow_id] = _sync(tree, target, entry, make_id, moment)
    return RefreshReport(tuple(results[t.workflow_id] for t in targets))


def add_workflow(
    client: WorkflowSource,
    config: Config,
    workflow_id: str,
    label: str | None = None,
    *,
    root: Path | None = None,
    cache_file: Path | None = None,
    new_id: Callable[[], str] | None = None,
    now: Callable[[], datetime] | None = None,
) -> tuple[Config, WorkflowRefresh]:
    """The config with the workflow added, after its folders were created under the root.

    Raises the workflow's error (unknown id, network…) and leaves the config unchanged
    when it cannot be fetched or its folders cannot be made. Adding a workflow again
    refreshes its folders and, with ``label``, changes its label (not its folder's name).
    """
    previous = config.workflow(workflow_id)
    wanted = (
        replace(previous, label=label or previous.label)
        if previous
        else WorkflowConfig(workflow_id, label or "")
    )
    candidate = config.with_workflow(wanted)
    report = refresh_workflow(
        client,
        candidate,
        root,
        workflow_ids=[workflow_id],
        cache_file=cache_file,
        create_root=True,
        new_id=new_id,
        now=now,
    )
    result = report.workflows[0]
    if result.error is not None:
        raise result.error
    if not wanted.label and result.workflow is not None:
        cached = CachedWorkflow(result.workflow, ())
        wanted = replace(wanted, label=workflow_label(wanted, cached))
    return candidate.with_workflow(wanted), result


def remove_workflow(config: Config, workflow_id: str, cache_file: Path | None = None) -> Config:
    """The config without the workflow. Every file and folder stays where it is; the
    folders simply stop being watched (their markers name a workflow no longer configured)."""
    if config.workflow(workflow_id) is None:
        known = ", ".join(w.workflow_id for w in config.workflows) or "none"
        raise EntityNotFound(
            f"The workflow {workflow_id} is not in the agent's configuration (configured: {known})",
            code="WORKFLOW_NOT_CONFIGURED",
            hint="Check the id; `kompliant-agent refresh` lists the configured workflows.",
        )
    cache_file = cache_file or requirements_file(config.agent.profile)
    cache = load_cache(cache_file)
    if cache.get(workflow_id) is not None:
        save_cache(cache_file, cache.without(workflow_id))
    return config.without_workflow(workflow_id)


def _fetch(client: WorkflowSource, workflow_id: str, moment: datetime) -> CachedWorkflow:
    workflow = client.get_workflow(workflow_id)
    if not workflow.workflow_id:
        workflow = replace(workflow, workflow_id=workflow_id)
    required = client.list_required_documents(workflow_id)
    return CachedWorkflow(workflow, tuple(required), fetched_at=moment.isoformat())


def _sync(
    tree: FolderTree,
    target: WorkflowConfig,
    entry: CachedWorkflow,
    new_id: Callable[[], str],
    moment: datetime,
) -> WorkflowRefresh:
    existing = tree.workflow_folders(target.workflow_id)
    listing = {tree.root: _names(tree.root)}
    for path, marker in existing.items():
        if marker.kind is FolderKind.WORKFLOW:
            listing[path] = _names(path)
    actions = plan_workflow(
        entry, target, tree.root, existing, listing, new_id, moment.date().isoformat()
    )
    try:
        for action in actions:
            _apply(action)
    except OSError as error:
        return WorkflowRefresh(
            target.workflow_id, entry.workflow, error=_as_agent_error(error, tree.root)
        )
    homes = [
        a.path
        for a in actions
        if isinstance(a, CreateFolder) and a.marker.kind is FolderKind.WORKFLOW
    ]
    homes += sorted(p for p, m in existing.items() if m.kind is FolderKind.WORKFLOW)
    return WorkflowRefresh(
        target.workflow_id,
        entry.workflow,
        folder=homes[0] if homes else None,
        created=tuple(a.path for a in actions if isinstance(a, CreateFolder)),
        marked_inactive=tuple(
            a.folder for a in actions if isinstance(a, WriteNotice) and a.name == NOTICE_INACTIVE
        ),
        reactivated=tuple(
            a.folder for a in actions if isinstance(a, RemoveNotice) and a.name == NOTICE_INACTIVE
        ),
        marked_ended=any(isinstance(a, WriteNotice) and a.name == NOTICE_ENDED for a in actions),
    )


def _apply(action: Action) -> None:
    if isinstance(action, CreateFolder):
        action.path.mkdir(parents=False, exist_ok=True)
        write_marker(action.path, action.marker)
        log.info("created folder %s", action.path)
    elif isinstance(action, UpdateMarker):
        write_marker(action.path, action.marker)
    elif isinstance(action, WriteNotice):
        (action.folder / action.name).write_text(action.text, encoding="utf-8")
        log.info("marked %s: %s", action.folder, action.name)
    else:
        with contextlib.suppress(FileNotFoundError):
            (action.folder / action.name).unlink()


def _names(folder: Path) -> list[str]:
    try:
        return [child.name for child in folder.iterdir()]
    except OSError:
        return []


def _as_agent_error(error: BaseException, root: Path) -> AgentError:
    if isinstance(error, AgentError):
        return error
    detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return FileProblem(
        f"The agent cannot create its folders under {root}: {detail}",
        code="FOLDER_NOT_WRITABLE",
        hint="Check that the folder exists and that you may write to it, then run "
        "`kompliant-agent refresh`.",
    )
