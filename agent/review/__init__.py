"""Where required documents stand in review: the only part that knows decision statuses.

The flow: the running agent's loop asks :class:`ReviewPoller` every turn; its
:class:`ReviewSchedule` says which required documents are due (paced, clock injected);
:class:`ReviewKeeper` lists their fulfillments, stores what it saw (``review.json``,
:mod:`agent.review.store`) and shows it in the folders (:mod:`agent.review.folders`).
:mod:`agent.review.state` holds the states and the pure rules. docs/review.md describes
it for users.

Public face::

    requirement_state(fulfillments, inactive=, workflow_ended=) -> RequirementState  # pure
    stored_reviews(config) -> list[WorkflowReview]     # from the files, no agent, no network
    ReviewKeeper(profile).check_workflow(client, workflow_id)   # `missing`, `request`
    ReviewPoller(profile, pacing, clock=...).tick(tree, client, offline=...)  # the engine
"""

from agent.review.keeper import (
    RejectedHook,
    ReviewChange,
    ReviewKeeper,
    ReviewSource,
    stored_reviews,
)
from agent.review.poller import ReviewPoller
from agent.review.schedule import ReviewPacing, ReviewSchedule
from agent.review.state import (
    FulfillmentSeen,
    RequirementReview,
    RequirementState,
    WorkflowReview,
    requirement_state,
)

__all__ = [
    "FulfillmentSeen",
    "RejectedHook",
    "RequirementReview",
    "RequirementState",
    "ReviewChange",
    "ReviewKeeper",
    "ReviewPacing",
    "ReviewPoller",
    "ReviewSchedule",
    "ReviewSource",
    "WorkflowReview",
    "requirement_state",
    "stored_reviews",
]
