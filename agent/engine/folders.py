"""The folder tree as the running agent knows it, and the journal's name for a folder.

The tree (:class:`agent.decide.FolderTree`) is read at start, after each refresh, when
the watched folder comes back, and whenever a finished file lands in a folder the last
reading may not describe (:meth:`FolderView.ensure_knows`). Folders are renamed, moved in
and created (by ``refresh`` or by hand) while the agent runs; the marker that says what a
folder is for moves with it, and :meth:`FolderView.key_for` names a folder by what its
marker says, not by its path; :meth:`FolderView.identity` gives the journal the folder's
marker id, by which a renamed or moved folder is found again. A folder of the tree that
disappears from its path (:meth:`FolderView.gone`) makes the tree be read again at once.
The loop, the workers and the threads beside the loop all read it: reading it again is
one at a time, and each reader sees a whole tree.
"""

from __future__ import annotations

import threading
from pathlib import Path

from agent.config import Config
from agent.decide import (
    MARKER_NAME,
    Destination,
    FolderKind,
    FolderTree,
    NeedsRouting,
    Refusal,
    load_cache,
    requirements_file,
)
from agent.engine.pipeline import Job
from agent.engine.problems import ROOT, Problems
from agent.errors import AgentError, RetryLater
from agent.journal import Entry
from agent.kompliant.client import KompliantClient
from agent.watch.stability import StabilitySettings

Decision = Destination | Refusal | NeedsRouting


class FolderView:
    def __init__(self, config: Config, problems: Problems) -> None:
        self.config = config  # replaced when the config is read again
        self._problems = problems
        self._unmarked: set[Path] = set()  # folders under no marker as of the last scan
        self._lock = threading.RLock()
        self._above: tuple[FolderTree, frozenset[Path]] | None = None  # see gone()
        self.tree = FolderTree(root=config.root, config=config)
        self.rescan()

    def rescan(self) -> FolderTree:
        """Read the tree again (a missing root is a problem, and an empty tree)."""
        with self._lock:
            return self._rescan()

    def _rescan(self) -> FolderTree:
        cache = load_cache(requirements_file(self.config.agent.profile))
        try:
            tree = FolderTree.scan(self.config.root, self.config, cache)
        except AgentError as error:
            self._problems.set(ROOT, error.describe())
            self.tree = FolderTree(root=self.config.root, config=self.config, cache=cache)
            return self.tree
        self._problems.set(ROOT, None)
        self._unmarked = set()
        self.tree = tree
        return tree

    def ensure_knows(self, path: Path) -> None:
        """Read the tree again if it may not describe ``path``'s folder (see :meth:`knows`)."""
        with self._lock:
            if not self.knows(path):
                self._rescan()
                if not self.knows(path):
                    self._unmarked.add(path.parent)

    def gone(self, path: Path) -> bool:
        """``path`` left its place (a watcher event): when it was a folder of the tree or
        above one (renamed, moved or deleted), the tree is read again. Whether it was."""
        if path in self._folders_and_above():
            self.rescan()
            return True
        return False

    def _folders_and_above(self) -> frozenset[Path]:
        """The tree's folders and every folder above one, worked out once per reading
        (each file that leaves a folder is looked up here)."""
        tree = self.tree
        known = self._above
        if known is None or known[0] is not tree:
            places = {above for folder in tree.folders for above in (folder, *folder.parents)}
            known = self._above = (tree, frozenset(places))
        return known[1]

    def identity(self, path: Path) -> tuple[str | None, str]:
        """(the marker id of the agent's folder ``path`` — a file — belongs to, the
        sub-folders between them): how the journal finds that folder again."""
        place = self.tree.place(path.parent)
        return (place[1].folder_id, place[2]) if place is not None else (None, "")

    def knows(self, path: Path) -> bool:
        """Whether the folder tree read at the last scan still describes ``path``'s folder.

        A file whose folder chain holds no known marker (or only its workflow folder's,
        above a folder not known), or whose nearest known marker is gone, makes the tree
        be read again — once per unmarked folder, so that files outside every workflow
        folder do not make the agent walk the root for each of them.
        """
        tree = self.tree
        for folder in tree.up_to_root(path.parent):
            if folder in tree.broken:
                return True
            marker = tree.folders.get(folder)
            if marker is not None:
                if not (folder / MARKER_NAME).exists():
                    return False
                if marker.kind is FolderKind.WORKFLOW and folder != path.parent:
                    break  # in a folder of the workflow folder that had no marker
                return True
        return path.parent in self._unmarked

    def key_for(self, path: Path, decision: Decision) -> tuple[str, str | None, tuple[str, ...]]:
        """(the journal's name for ``path``'s folder, its workflow id, its required
        document ids). The name comes from the marker, so it stays across renames."""
        tree = self.tree
        folder = path.parent
        while folder not in tree.folders and folder != folder.parent:
            if folder == tree.root:
                break
            folder = folder.parent
        marker = tree.folders.get(folder)
        if isinstance(decision, Destination):
            kind = decision.kind
            rds = decision.required_document_ids
            workflow_id: str | None = decision.workflow_id
        else:
            kind = marker.kind if marker else FolderKind.WORKFLOW
            rds = marker.required_document_ids if marker else ()
            workflow_id = marker.workflow_id if marker else None
        if kind is FolderKind.INBOX:
            suffix = "inbox" if not isinstance(decision, Destination) else "+".join(rds)
        elif kind is FolderKind.UPLOAD_ONLY or (kind is not FolderKind.WORKFLOW and not rds):
            suffix = "upload-only"
        elif kind is FolderKind.WORKFLOW:
            suffix = "workflow"
        else:
            suffix = "+".join(sorted(rds))
        return f"{workflow_id or '?'}/{suffix}", workflow_id, tuple(rds)

    def settings_for(self, path: Path) -> StabilitySettings:
        tree = self.tree
        if not tree.config.folders:  # no [[folders]] entries: the same for every path
            return tree.config.stability
        return tree.settings_for(path)

    def job_for(self, entry: Entry, client: KompliantClient) -> Job:
        """What the pipeline needs for ``entry`` besides the entry, as this view knows it."""
        if entry.workflow_id is None:
            raise RetryLater(f"{entry.file_name} has no workflow in the journal")
        tree = self.tree
        # Known from the requirements cache or the folders' markers, as routing knew it;
        # Kompliant is asked only when neither has it.
        subject = tree.subject_record_id(entry.workflow_id)
        if not subject:
            subject = client.get_workflow(entry.workflow_id).subject_record_id
        cached = tree.cached(entry.workflow_id)
        names = (
            {rd.required_document_id: rd.name for rd in cached.required_documents}
            if cached is not None
            else {}
        )
        return Job(
            subject,
            names,
            upload_duplicates=self.config.agent.upload_duplicates,
            incomplete_seconds=self.settings_for(entry.source_path).incomplete_seconds,
        )
