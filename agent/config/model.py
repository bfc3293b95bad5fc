"""The agent's configuration as frozen records (the TOML schema is in docs/folders.md)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from agent.locations import DEFAULT_PROFILE, locations
from agent.watch.stability import StabilitySettings

ROOT_FOLDER_NAME = "Kompliant"
DEFAULT_WORKERS = 4
DEFAULT_UPLOAD_PROCESSES = 4
DEFAULT_REFRESH_INTERVAL = 900.0
DEFAULT_REVIEW_INTERVAL = 300.0
DEFAULT_REVIEW_CALLS_PER_MINUTE = 30
DEFAULT_CLAIM_LEASE = 60.0


def default_root() -> Path:
    """A ``Kompliant`` folder in the user's documents folder (``KOMPLIANT_AGENT_HOME`` aware)."""
    return locations().documents_dir / ROOT_FOLDER_NAME


@dataclass(frozen=True)
class AgentSettings:
    """The ``[agent]`` table. ``root`` is ``None`` when the file does not set it."""

    profile: str = DEFAULT_PROFILE
    root: Path | None = None
    workers: int = DEFAULT_WORKERS
    #: processes the uploads run in, off the engine's interpreter (0: in the engine's own)
    upload_processes: int = DEFAULT_UPLOAD_PROCESSES
    refresh_interval: float = DEFAULT_REFRESH_INTERVAL
    review_interval: float = DEFAULT_REVIEW_INTERVAL
    review_calls_per_minute: int = DEFAULT_REVIEW_CALLS_PER_MINUTE
    upload_duplicates: bool = False
    ignore: tuple[str, ...] = ()
    #: seconds a claim of an agent on another host may go without a heartbeat before
    #: another agent takes it over (docs/folders.md, "Two agents on one tree")
    claim_lease: float = DEFAULT_CLAIM_LEASE


@dataclass(frozen=True)
class FolderOverride:
    """One ``[[folders]]`` entry: finished-file settings for a folder below the root.

    ``path`` is relative to the root, with ``/`` between parts; the settings apply to the
    folder and everything below it. Only the keys written in the file are set here.
    """

    path: str
    quiet_seconds: float | None = None
    close_confirm_seconds: float | None = None
    whole_confirm_seconds: float | None = None
    max_wait_seconds: float | None = None
    polling: bool | None = None
    poll_interval: float | None = None
    incomplete_seconds: float | None = None
    #: A scanner's numbered page images (scan-1.png, scan-2.png …) arriving within
    #: ``join_window`` seconds of each other are joined into one PDF.
    join_images: bool | None = None
    join_window: float | None = None

    def apply_to(self, base: StabilitySettings) -> StabilitySettings:
        return StabilitySettings(
            quiet_seconds=_pick(self.quiet_seconds, base.quiet_seconds),
            close_confirm_seconds=_pick(self.close_confirm_seconds, base.close_confirm_seconds),
            whole_confirm_seconds=_pick(self.whole_confirm_seconds, base.whole_confirm_seconds),
            max_wait_seconds=_pick(self.max_wait_seconds, base.max_wait_seconds),
            polling=base.polling if self.polling is None else self.polling,
            poll_interval=_pick(self.poll_interval, base.poll_interval),
            incomplete_seconds=_pick(self.incomplete_seconds, base.incomplete_seconds),
        )


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


@dataclass(frozen=True)
class CombinedFolder:
    """A folder whose files are linked to several required documents at once."""

    folder: str
    required_document_ids: tuple[str, ...]


@dataclass(frozen=True)
class InboxRule:
    """A file-name rule for the scanner inbox; an empty id tuple means upload only."""

    pattern: str
    required_document_ids: tuple[str, ...]
    regex: bool = False


@dataclass(frozen=True)
class WorkflowConfig:
    workflow_id: str
    label: str = ""
    combined: tuple[CombinedFolder, ...] = ()
    inbox_rules: tuple[InboxRule, ...] = ()


@dataclass(frozen=True)
class Config:
    agent: AgentSettings = field(default_factory=AgentSettings)
    stability: StabilitySettings = field(default_factory=StabilitySettings)
    folders: tuple[FolderOverride, ...] = ()
    workflows: tuple[WorkflowConfig, ...] = ()

    @property
    def root(self) -> Path:
        """The folder tree's root: the configured one, or the default."""
        return self.agent.root if self.agent.root is not None else default_root()

    def workflow(self, workflow_id: str) -> WorkflowConfig | None:
        for workflow in self.workflows:
            if workflow.workflow_id == workflow_id:
                return workflow
        return None

    def with_workflow(self, workflow: WorkflowConfig) -> Config:
        """This config with ``workflow`` added, or replacing the one with the same id."""
        if self.workflow(workflow.workflow_id) is None:
            return replace(self, workflows=(*self.workflows, workflow))
        return replace(
            self,
            workflows=tuple(
                workflow if w.workflow_id == workflow.workflow_id else w for w in self.workflows
            ),
        )

    def without_workflow(self, workflow_id: str) -> Config:
        return replace(
            self, workflows=tuple(w for w in self.workflows if w.workflow_id != workflow_id)
        )
