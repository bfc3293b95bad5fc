"""Keeping up with Kompliant and the config, on the review thread beside the loop.

:class:`Refresher` is the review ticker's task (:mod:`agent.engine.beside`): when a
refresh is due (every ``refresh_interval``) or asked for (``refresh`` from the tray or
the CLI), it reads the config again — workflows added or removed by other commands; the
profile stays —, refreshes the workflows' folders from Kompliant and rescans the tree;
then it runs the review checks that are due. Both may wait on Kompliant for a whole
timeout; the loop does not.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from agent.config import load_config
from agent.decide import refresh_workflow
from agent.engine.connectivity import Connectivity
from agent.engine.folders import FolderView
from agent.engine.problems import ROOT, Problems
from agent.errors import AgentError
from agent.kompliant.client import KompliantClient
from agent.review.poller import ReviewPoller

log = logging.getLogger(__name__)

REVIEW_TICK = 1.0  # how often the review thread looks for checks that are due


class Refresher:
    def __init__(
        self,
        *,
        profile: str,
        client: KompliantClient,
        review_client: KompliantClient,
        folders: FolderView,
        problems: Problems,
        review: ReviewPoller,
        connectivity: Connectivity,
    ) -> None:
        self._profile = profile
        self._client = client
        self._review_client = review_client
        self._folders = folders
        self._problems = problems
        self._review = review
        self._connectivity = connectivity
        self._next_refresh = time.monotonic() + folders.config.agent.refresh_interval
        self._refresh_now = threading.Event()

    def ask(self) -> None:
        """A refresh was asked for (any thread): it runs on the next call of :meth:`tick`."""
        self._refresh_now.set()

    def tick(self) -> float:
        """A refresh when due or asked for, then the review checks that are due; returns
        how long to sleep before the next call."""
        now = time.monotonic()
        if self._refresh_now.is_set() or now >= self._next_refresh:
            if self._refresh_now.is_set():
                self._refresh_now.clear()
                self._review.refresh_requested()
            self._next_refresh = now + self._folders.config.agent.refresh_interval
            self._refresh()
        self._review.tick(
            self._folders.tree, self._review_client, offline=self._connectivity.blocked
        )
        return max(0.0, min(REVIEW_TICK, self._next_refresh - time.monotonic()))

    def _refresh(self) -> None:
        self._reload_config()
        config = self._folders.config
        if self._problems.known(ROOT) and not config.root.is_dir():
            return  # nothing is created under a missing root; it comes back by the watcher
        report = refresh_workflow(self._client, config)
        for line in report.lines():
            log.info("refresh: %s", line)
        tree = self._folders.rescan()
        self._review.republish(tree)  # an ENDED or INACTIVE mark changes the notices

    def _reload_config(self) -> None:
        """Take in workflows added or removed by other commands (the profile stays)."""
        try:
            fresh = load_config()
        except AgentError as error:
            log.warning("keeping the previous config: %s", error.describe())
            return
        agent = dataclasses.replace(fresh.agent, profile=self._profile)
        self._folders.config = dataclasses.replace(fresh, agent=agent)
