"""Ask Kompliant where required documents stand in review, keep it, and show it.

:class:`ReviewKeeper` is the shell around :mod:`agent.review.state`: it lists
fulfillments (one required document for the running agent's paced checks, a whole
workflow for ``missing`` and ``request``), stores what it saw in ``review.json``, puts the
``_STATUS - …`` notices in the folders, and announces rejections: a warning in the log,
a ``.rejected.txt`` note beside the file's receipt in done/, and ``on_rejected`` (for a
tray). ``review.json`` is read again before each change, so a ``missing`` run beside the
running agent loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from agent.config import Config
from agent.decide.cache import load_cache, requirements_file
from agent.decide.tree import FolderTree
from agent.kompliant.models import Fulfillment, RequiredDocument, Workflow
from agent.review.folders import note_rejections, show_states
from agent.review.state import (
    FulfillmentSeen,
    RequirementReview,
    WorkflowReview,
    newly_rejected,
)
from agent.review.store import (
    ReviewStore,
    load_review,
    requirement_review,
    review_file,
    save_review,
    workflow_reviews,
)

log = logging.getLogger(__name__)

#: Called for each required document with newly rejected fulfillments (a tray's hook).
RejectedHook = Callable[[RequirementReview, tuple[FulfillmentSeen, ...]], None]


class ReviewSource(Protocol):
    """The Kompliant calls a check needs (:class:`agent.kompliant.KompliantClient`)."""

    def get_workflow(self, workflow_id: str) -> Workflow: ...

    def list_required_documents(
        self, workflow_id: str, status: str | None = None
    ) -> list[RequiredDocument]: ...

    def list_fulfillments(
        self, required_document_id: str, verbose: bool = False
    ) -> list[Fulfillment]: ...


@dataclass(frozen=True)
class ReviewChange:
    """One required document checked: where it stood, where it stands, what was rejected."""

    before: RequirementReview | None
    after: RequirementReview
    rejected: tuple[FulfillmentSeen, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the state moved (a first check, with nothing before, counts too)."""
        return self.before is None or self.before.state is not self.after.state


class ReviewKeeper:
    def __init__(
        self,
        profile: str,
        *,
        on_rejected: RejectedHook | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = review_file(profile)
        self.profile = profile
        self._on_rejected = on_rejected
        self._now = now or (lambda: datetime.now(UTC))

    def store(self) -> ReviewStore:
        return load_review(self.path)

    def check_requirement(
        self, client: ReviewSource, workflow: Workflow, rd: RequiredDocument
    ) -> ReviewChange:
        """List one required document's fulfillments and store them."""
        seen = [FulfillmentSeen.of(f) for f in client.list_fulfillments(rd.required_document_id)]
        at = self._now().isoformat()
        store = load_review(self.path)
        before = self._review(store, workflow, rd)
        store = store.with_requirement(workflow.workflow_id, workflow.state, rd, seen, at)
        save_review(self.path, store)
        after = self._review(store, workflow, rd)
        assert after is not None
        return ReviewChange(before, after, newly_rejected(before, after))

    def check_workflow(
        self, client: ReviewSource, workflow_id: str
    ) -> tuple[Workflow, list[RequiredDocument], list[ReviewChange]]:
        """The workflow, its required documents, and each one's fresh review (stored).

        Fulfillments are listed for the required documents still open: not for INACTIVE
        ones, and for none once the workflow has ENDED.
        """
        workflow = client.get_workflow(workflow_id)
        rds = client.list_required_documents(workflow_id)
        listed = {
            rd.required_document_id: [
                FulfillmentSeen.of(f) for f in client.list_fulfillments(rd.required_document_id)
            ]
            for rd in rds
            if not rd.inactive and not workflow.ended
        }
        at = self._now().isoformat()
        store = load_review(self.path)
        befores = {rd.required_document_id: self._review(store, workflow, rd) for rd in rds}
        store = store.with_workflow(workflow_id, workflow.state, rds, listed, at)
        save_review(self.path, store)
        changes = []
        for rd in rds:
            before = befores[rd.required_document_id]
            after = self._review(store, workflow, rd)
            assert after is not None
            changes.append(ReviewChange(before, after, newly_rejected(before, after)))
        return workflow, rds, changes

    def publish(
        self,
        tree: FolderTree | None,
        changes: Sequence[ReviewChange] = (),
        *,
        only_changed: bool = False,
    ) -> None:
        """Show the stored states in the folders and announce the new rejections.

        ``only_changed``: the notices of the required documents whose state moved, and no
        others — a check that changed nothing writes nothing, whatever the tree's size.
        """
        if tree is not None:
            moved = {
                (c.after.workflow_id, c.after.required_document_id) for c in changes if c.changed
            }
            if moved or not only_changed:
                show_states(
                    tree,
                    self.reviews(tree.config),
                    self._now().isoformat(),
                    only=moved if only_changed else None,
                )
        for change in changes:
            if change.changed and change.before is not None:
                log.info(
                    "%s (%s): %s",
                    change.after.name,
                    change.after.required_document_id,
                    change.after.state.words,
                )
            if change.rejected:
                self._announce(tree, change)

    def reviews(self, config: Config) -> list[WorkflowReview]:
        """Every configured workflow's review, from the stored states and the cache."""
        cache = load_cache(requirements_file(self.profile))
        return workflow_reviews(config, cache, load_review(self.path))

    def _announce(self, tree: FolderTree | None, change: ReviewChange) -> None:
        after = change.after
        for item in change.rejected:
            log.warning(
                "The reviewer rejected %s for %s (%s) of workflow %s (fulfillment %s): "
                "drop a new file into its folder",
                f"document {item.document_id}" if item.document_id else "a file",
                after.name,
                after.required_document_id,
                after.workflow_id,
                item.fulfillment_id,
            )
        if tree is not None:
            note_rejections(
                tree,
                after.workflow_id,
                {after.required_document_id: change.rejected},
                {after.required_document_id: after.name},
                self._now(),
            )
        if self._on_rejected is not None:
            try:
                self._on_rejected(after, change.rejected)
            except Exception:  # a tray's hook must not stop the agent
                log.exception("the rejection hook failed")

    def _review(
        self, store: ReviewStore, workflow: Workflow, rd: RequiredDocument
    ) -> RequirementReview | None:
        stored = store.requirement(workflow.workflow_id, rd.required_document_id)
        if stored is None:
            return None
        return requirement_review(
            workflow.workflow_id,
            rd.required_document_id,
            rd.name,
            rd.status,
            workflow.ended,
            stored,
        )


def stored_reviews(config: Config) -> list[WorkflowReview]:
    """Every configured workflow's last known review, from the files alone (no agent, no
    network): what ``status`` shows and a tray can show."""
    profile = config.agent.profile
    cache = load_cache(requirements_file(profile))
    return workflow_reviews(config, cache, load_review(review_file(profile)))
