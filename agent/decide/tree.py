"""The folder tree under the root, as the markers describe it.

:meth:`FolderTree.scan` is the only part that reads the disk: it walks the root once,
reads every marker and keeps the folders of workflows listed in the config. Everything
else (:func:`agent.decide.route.route`, :func:`watched_folders`, :meth:`settings_for`,
:meth:`FolderTree.place`, :meth:`FolderTree.located`) works on the resulting plain data.

Folders are known by identity: each marker carries a random ``folder_id`` that moves with
the folder, so a folder renamed or moved inside the root (or a folder above it) is the
same folder at its new path once the tree is read again — :meth:`FolderTree.located`
finds it by that id. Paths are only where a folder was when the tree was read.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agent.config import Config
from agent.decide.cache import CachedWorkflow, RequirementsCache
from agent.decide.markers import Marker, MarkerUnreadable, read_marker
from agent.errors import FileProblem
from agent.owned_names import AGENT_OWNED
from agent.watch.ignore import is_ignored
from agent.watch.stability import StabilitySettings

log = logging.getLogger(__name__)

PROCESSING_DIR = AGENT_OWNED.processing_dir


@dataclass(frozen=True)
class FolderTree:
    """Folder → marker for every folder of a configured workflow under ``root``.

    ``broken`` holds folders whose marker exists but cannot be used, with the reason.
    """

    root: Path
    config: Config
    cache: RequirementsCache = field(default_factory=RequirementsCache)
    folders: Mapping[Path, Marker] = field(default_factory=dict)
    broken: Mapping[Path, str] = field(default_factory=dict)
    #: Folders (marked ones, or sub-folders of them) that hold a ``.processing/`` folder.
    processing: frozenset[Path] = frozenset()

    @classmethod
    def scan(cls, root: Path, config: Config, cache: RequirementsCache) -> FolderTree:
        """Walk ``root`` and read the markers; a missing root is an error, never "empty"."""
        root = Path(os.path.abspath(root.expanduser()))
        if not root.is_dir():
            raise FileProblem(
                f"The agent's folder {root} does not exist or is not a folder",
                code="ROOT_MISSING",
                hint="Connect the drive or share that holds it, or run "
                "`kompliant-agent add-workflow` to create it.",
            )
        folders: dict[Path, Marker] = {}
        broken: dict[Path, str] = {}
        processing: set[Path] = set()
        configured = {w.workflow_id for w in config.workflows}
        for current, dirs, _files in os.walk(root, onerror=_log_walk_error):
            folder = Path(current)
            if PROCESSING_DIR in dirs:
                processing.add(folder)
            # Skip the agent's own folders (done/, failed/, .processing/) and hidden ones.
            dirs[:] = sorted(d for d in dirs if not is_ignored(d))
            try:
                marker = read_marker(folder)
            except MarkerUnreadable as error:
                broken[folder] = error.reason
                continue
            if marker is None:
                continue
            if marker.workflow_id not in configured:
                continue  # a removed workflow: its folders stay, unwatched
            folders[folder] = marker
        return cls(
            root=root,
            config=config,
            cache=cache,
            folders=folders,
            broken=broken,
            processing=frozenset(processing),
        )

    def place(self, folder: Path) -> tuple[Path, Marker, str] | None:
        """The marked folder ``folder`` belongs to (itself, or the nearest above it within
        the root), its marker, and the sub-folders between them ("" or "2024/jan")."""
        for candidate in self.up_to_root(folder):
            marker = self.folders.get(candidate)
            if marker is not None:
                sub = "" if candidate == folder else folder.relative_to(candidate).as_posix()
                return candidate, marker, sub
        return None

    def up_to_root(self, folder: Path) -> Iterator[Path]:
        """``folder`` and each folder above it, up to the root (included); none when
        ``folder`` is not within the root. The root is compared once: every folder above
        one within it is within it too, up to the root."""
        if not folder.is_relative_to(self.root):
            return
        for candidate in itertools.chain((folder,), folder.parents):
            yield candidate
            if candidate == self.root:
                return

    def located(self, folder_id: str, sub: str = "") -> list[Path]:
        """Where the folder with marker id ``folder_id`` is now (a copied folder carries the
        same id: every copy), with ``sub`` below it; [] when it is nowhere in the root."""
        found = [p for p, m in self.folders.items() if m.folder_id == folder_id]
        return sorted(p / sub if sub else p for p in found)

    def workflow_folders(self, workflow_id: str) -> dict[Path, Marker]:
        return {p: m for p, m in self.folders.items() if m.workflow_id == workflow_id}

    def cached(self, workflow_id: str) -> CachedWorkflow | None:
        return self.cache.get(workflow_id)

    def subject_record_id(self, workflow_id: str) -> str:
        """The workflow's subject record: the requirements cache's, else the one its
        folders' markers were written with; "" when neither knows it."""
        cached = self.cached(workflow_id)
        if cached is not None and cached.workflow.subject_record_id:
            return cached.workflow.subject_record_id
        for marker in self.folders.values():
            if marker.workflow_id == workflow_id and marker.subject_record_id:
                return marker.subject_record_id
        return ""

    def settings_for(self, path: Path) -> StabilitySettings:
        """Finished-file settings for a file or folder below the root.

        Every ``[[folders]]`` entry whose path is the folder or one above it applies,
        the shallowest first, so a deeper entry refines a shallower one (``polling`` on a
        network share's folder still holds for a sub-folder that sets ``quiet_seconds``).
        Paths are compared part by part, without regard to case.
        """
        try:
            relative = Path(os.path.abspath(path)).relative_to(self.root)
        except ValueError:
            return self.config.stability
        parts = [p.casefold() for p in relative.parts]
        matching = []
        for override in self.config.folders:
            wanted = [p.casefold() for p in PurePosixPath(override.path).parts]
            if parts[: len(wanted)] == wanted:
                matching.append((len(wanted), override))
        settings = self.config.stability
        for _depth, override in sorted(matching, key=lambda item: item[0]):
            settings = override.apply_to(settings)
        return settings


DEFAULT_JOIN_WINDOW = 10.0


def join_window_for(tree: FolderTree, path: Path) -> float | None:
    """Seconds within which numbered page images in ``path``'s folder are joined into one
    PDF (``[[folders]] join_images``), or None when they are not joined. The deepest entry
    that says something wins."""
    if not tree.config.folders:
        return None  # nothing says so
    try:
        relative = Path(os.path.abspath(path)).relative_to(tree.root)
    except ValueError:
        return None
    parts = [p.casefold() for p in relative.parts]
    join: bool | None = None
    window = DEFAULT_JOIN_WINDOW
    matching = []
    for override in tree.config.folders:
        wanted = [p.casefold() for p in PurePosixPath(override.path).parts]
        if parts[: len(wanted)] == wanted:
            matching.append((len(wanted), override))
    for _depth, override in sorted(matching, key=lambda item: item[0]):
        join = join if override.join_images is None else override.join_images
        window = window if override.join_window is None else override.join_window
    return window if join else None


def watched_folders(tree: FolderTree) -> list[Path]:
    """Every folder whose files the agent handles, shallowest first.

    Workflow folders are included: a file dropped straight into one shows as "needs
    routing". Files in sub-folders a user makes inside these belong to the nearest one.
    """
    return sorted(tree.folders, key=lambda p: (len(p.parts), str(p)))


def _log_walk_error(error: OSError) -> None:
    log.warning("cannot read folder %s: %s", error.filename, error.strerror or error)
