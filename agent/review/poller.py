"""The running agent's review checks: which required documents, when, and what follows.

The engine's loop calls :meth:`ReviewPoller.tick` every turn; workers call
:meth:`ReviewPoller.linked` when a file was linked, so its required documents are checked
soon after. The pace is :class:`agent.review.schedule.ReviewSchedule`'s; the calls,
the stored states and the folders' notices are :class:`agent.review.keeper.ReviewKeeper`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from agent.config import Config
from agent.decide.tree import FolderTree
from agent.errors import AgentError, AuthError
from agent.review.keeper import RejectedHook, ReviewChange, ReviewKeeper, ReviewSource
from agent.review.schedule import Key, ReviewPacing, ReviewSchedule
from agent.review.state import WorkflowReview

log = logging.getLogger(__name__)


class ReviewPoller:
    def __init__(
        self,
        profile: str,
        pacing: ReviewPacing,
        *,
        clock: Callable[[], float],
        on_rejected: RejectedHook | None = None,
        on_auth_error: Callable[[AuthError], None] | None = None,
    ) -> None:
        self.keeper = ReviewKeeper(profile, on_rejected=on_rejected)
        self.schedule = ReviewSchedule(pacing, clock)
        self._tree: FolderTree | None = None  # the tree the watched set was taken from
        self._lock = threading.Lock()
        self._soon: set[Key] = set()
        self._on_auth_error = on_auth_error

    def linked(self, workflow_id: str, required_document_ids: Iterable[str]) -> None:
        """A file was just linked to these: check them soon (any thread)."""
        with self._lock:
            self._soon.update((workflow_id, rd) for rd in required_document_ids)

    def refresh_requested(self) -> None:
        self.schedule.all_soon()

    def tick(self, tree: FolderTree, client: ReviewSource, *, offline: bool) -> None:
        """Check what is due (nothing while offline) and show what changed."""
        if tree is not self._tree:
            self._tree = tree
            self.schedule.watch(watched_requirements(tree))
        with self._lock:
            soon, self._soon = self._soon, set()
        self.schedule.linked(soon)
        if offline:
            return
        changes: list[ReviewChange] = []
        for key in self.schedule.take():
            workflow_id, rd_id = key
            cached = tree.cached(workflow_id)
            rd = cached.required_document(rd_id) if cached else None
            if cached is None or rd is None:
                continue
            try:
                changes.append(self.keeper.check_requirement(client, cached.workflow, rd))
            except AuthError as error:  # the credentials stopped working: the agent says so
                self.schedule.failed(key)
                if self._on_auth_error is not None:
                    self._on_auth_error(error)
                break
            except AgentError as error:
                log.info("cannot check the review of %s now: %s", rd_id, error.message)
                self.schedule.failed(key)
            except OSError as error:
                log.warning("cannot keep the review states: %s", error)
                self.schedule.failed(key)
        if changes:
            self.keeper.publish(tree, changes, only_changed=True)

    def republish(self, tree: FolderTree) -> None:
        """Show the stored states again (after a refresh marked something ENDED/INACTIVE)."""
        self.keeper.publish(tree)

    def states(self, config: Config) -> list[WorkflowReview]:
        return self.keeper.reviews(config)


def watched_requirements(tree: FolderTree) -> list[Key]:
    """The open required documents of the folders watched: not INACTIVE ones, none of an
    ENDED workflow (their state comes from the requirements cache)."""
    keys: set[Key] = set()
    for marker in tree.folders.values():
        cached = tree.cached(marker.workflow_id)
        if cached is None or cached.workflow.ended:
            continue
        for rd_id in marker.required_document_ids:
            rd = cached.required_document(rd_id)
            if rd is not None and not rd.inactive:
                keys.add((marker.workflow_id, rd_id))
    return sorted(keys)
