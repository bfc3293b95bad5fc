"""What a file is for: the folder tree, its markers, the config's rules, inbox routing.

Public face::

    FolderTree.scan(root, config, cache) -> FolderTree      # reads the markers (I/O)
    route(path, tree) -> Destination | Refusal | NeedsRouting | None   # pure
    watched_folders(tree) -> list[Path];  tree.settings_for(path) -> StabilitySettings
    refresh_workflow(client, config, root=None) -> RefreshReport      # timer and `refresh`
    add_workflow(client, config, workflow_id, label=None) -> (Config, WorkflowRefresh)
    remove_workflow(config, workflow_id) -> Config
    load_cache(requirements_file(profile)) -> RequirementsCache

docs/folders.md describes the tree for users.
"""

from agent.decide.cache import (
    CachedWorkflow,
    RequirementsCache,
    load_cache,
    requirements_file,
    save_cache,
)
from agent.decide.markers import (
    AGENT_OWNED_NAMES,
    MARKER_NAME,
    NOTICE_ENDED,
    NOTICE_INACTIVE,
    FolderKind,
    Marker,
    read_marker,
    write_marker,
)
from agent.decide.refresh import (
    RefreshReport,
    WorkflowRefresh,
    WorkflowSource,
    add_workflow,
    refresh_workflow,
    remove_workflow,
)
from agent.decide.route import Decision, Destination, NeedsRouting, Refusal, route
from agent.decide.tree import FolderTree, watched_folders

__all__ = [
    "AGENT_OWNED_NAMES",
    "MARKER_NAME",
    "NOTICE_ENDED",
    "NOTICE_INACTIVE",
    "CachedWorkflow",
    "Decision",
    "Destination",
    "FolderKind",
    "FolderTree",
    "Marker",
    "NeedsRouting",
    "RefreshReport",
    "Refusal",
    "RequirementsCache",
    "WorkflowRefresh",
    "WorkflowSource",
    "add_workflow",
    "load_cache",
    "read_marker",
    "refresh_workflow",
    "remove_workflow",
    "requirements_file",
    "route",
    "save_cache",
    "watched_folders",
    "write_marker",
]
