"""The engine: watched folders in, files settled in done/ or failed/ out.

Threads: watchdog's threads only put events on a queue; one loop thread owns the
stability tracker, routing, claiming and scheduling; a bounded pool of workers runs the
per-file pipeline, so one slow or huge file does not hold up the others (on their own
threads, or with ``upload_processes`` each hands its file to an upload process,
:mod:`agent.engine.upload_pool`, so that its CPU is not spent under this interpreter's
lock). Everything a
worker learns goes back through the journal and a small locked schedule. The loop never
waits on the network or on a slow share: review checks and refreshes, the online probe,
and the claims' heartbeats and watch each run on a thread of their own beside it
(:mod:`agent.engine.beside`).

This module wires the rooms together and runs the loop; each idea has its own module:

- :mod:`agent.engine.arrival`: watcher events → finished files → routed and claimed;
- :mod:`agent.engine.folders`: the folder tree as the agent knows it, folder keys;
- :mod:`agent.engine.workers`: the worker pool, retries, giving up;
- :mod:`agent.engine.connectivity`: online/offline and rejected credentials, the probe;
- :mod:`agent.engine.refreshing`: the config read again, workflows refreshed, review checks;
- :mod:`agent.engine.recovery`: what a previous run left, at start;
- :mod:`agent.engine.claims`: heartbeats of this agent's claims, takeover of stopped
  agents' claims; :mod:`agent.engine.relocate`: claimed files followed when folders move;
- :mod:`agent.engine.reporting`: the status, gathered and published;
  :mod:`agent.engine.snapshot`: the snapshot itself; :mod:`agent.engine.problems` and
  :mod:`agent.engine.trouble`: what is wrong now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.config import Config
from agent.engine.arrival import Arrivals
from agent.engine.beside import Ticker
from agent.engine.claims import LiveClaims
from agent.engine.connectivity import Connectivity
from agent.engine.control import ControlWatcher
from agent.engine.folders import FolderView
from agent.engine.problems import ROOT, Problems
from agent.engine.recovery import Recovery
from agent.engine.refreshing import Refresher
from agent.engine.relocate import Relocator
from agent.engine.reporting import Reporter
from agent.engine.retry_policy import RetryPolicy
from agent.engine.status import Snapshot
from agent.engine.workers import RunSummary, Workers
from agent.journal import Journal, journal_path
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.locations import locations
from agent.owned_names import AGENT_OWNED
from agent.review.keeper import RejectedHook
from agent.review.poller import ReviewPoller
from agent.review.schedule import ReviewPacing
from agent.review.state import WorkflowReview
from agent.settle.claim import current_owner
from agent.settle.moves import MoveFailed
from agent.settle.outcome import retry_failed
from agent.watch.events import EventKind
from agent.watch.ignore import ignore_under
from agent.watch.observer import FolderWatcher
from agent.watch.stability import StabilityTracker

__all__ = ["Engine", "EngineOptions", "RunSummary"]

log = logging.getLogger(__name__)

TICK = 0.25  # longest wait of the loop between looks at the clock and the control file
PROBE_TICK = 0.5  # how often the probe thread looks whether a probe is due


@dataclass(frozen=True)
class EngineOptions:
    once: bool = False
    # --once: how long to wait for files still being retried before giving up the run
    once_retry_window: float = 30.0
    verify_timeout: float = 120.0
    check_interval: float = 1.0
    rescan_interval: float = 300.0
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    probe_intervals: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
    # processes the uploads run in (agent/engine/upload_pool.py); None: the config's
    # ``upload_processes``. They need the credentials handed to the Engine: without them
    # (or at 0) the pipeline runs on the workers' threads in this process.
    upload_processes: int | None = None


class Engine:
    def __init__(
        self,
        config: Config,
        client: KompliantClient,
        *,
        probe_client: KompliantClient | None = None,
        options: EngineOptions | None = None,
        on_snapshot: Callable[[Snapshot], None] | None = None,
        on_rejected: RejectedHook | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.profile = config.agent.profile
        self.options = options or EngineOptions()
        self.state_dir = locations().profile_state(self.profile)
        self._probe_client = probe_client or client
        self._journal = Journal.open(journal_path(self.profile))
        self._me = current_owner(journal=str(self._journal.path))
        self._problems = Problems()
        self._folders = FolderView(config, self._problems)
        self._relocator = Relocator(journal=self._journal, folders=self._folders, me=self._me)
        self._connectivity = Connectivity(
            self._probe_client, self._problems, self.options.probe_intervals
        )
        self._summary = RunSummary()
        self._review = ReviewPoller(
            self.profile,
            ReviewPacing(
                interval=config.agent.review_interval,
                calls_per_minute=config.agent.review_calls_per_minute,
            ),
            clock=time.monotonic,
            on_rejected=on_rejected,
            on_auth_error=self._connectivity.credentials_rejected,
        )
        self._workers = Workers(
            client=client,
            journal=self._journal,
            folders=self._folders,
            connectivity=self._connectivity,
            summary=self._summary,
            policy=self.options.retry_policy,
            workers=config.agent.workers,
            verify_timeout=self.options.verify_timeout,
            linked=self._review.linked,
            problems=self._problems,
            locator=self._relocator,
            on_free=lambda: self._arrivals.wake(),
            # a file the agent saved into a watched folder (a stack's loose pages) is taken
            # in at once: a run --once must not end before the watcher reports it
            noticed=lambda path: self._arrivals.put(path, EventKind.MOVED_IN),
            processes=(
                config.agent.upload_processes
                if self.options.upload_processes is None
                else self.options.upload_processes
            ),
            credentials=credentials,
        )
        self._tracker = StabilityTracker(
            self._folders.settings_for,
            clock=time.monotonic,
            close_reported=lambda path: self._watcher.reports_close(path),
        )
        self._arrivals = Arrivals(
            folders=self._folders,
            journal=self._journal,
            tracker=self._tracker,
            problems=self._problems,
            workers=self._workers,
            held_back=self._held_back,
            me=self._me,
            left=lambda folder: self._claims.noticed(folder),
        )
        self._recovery = Recovery(
            journal=self._journal,
            folders=self._folders,
            workers=self._workers,
            relocator=self._relocator,
            me=self._me,
        )
        self._claims = LiveClaims(
            journal=self._journal,
            folders=self._folders,
            workers=self._workers,
            relocator=self._relocator,
            me=self._me,
            lease=config.agent.claim_lease,
        )
        self._watcher = FolderWatcher(
            [config.root],
            on_event=self._arrivals.put,
            on_root_problem=self._root_problem,
            on_root_recovered=self._root_recovered,
            settings_for=self._folders.settings_for,
            ignore=self._ignore_for(config),
            rescan_interval=self.options.rescan_interval,
        )
        self._control = ControlWatcher(self.state_dir)
        self._reporter = Reporter(
            journal=self._journal,
            problems=self._problems,
            workers=self._workers,
            folders=self._folders,
            tracker=self._tracker,
            watcher=self._watcher,
            arrivals=self._arrivals,
            connectivity=self._connectivity,
            paused=lambda: self._paused,
            state_dir=self.state_dir,
            on_snapshot=on_snapshot,
        )
        self._refresher = Refresher(
            profile=self.profile,
            client=client,
            review_client=self._probe_client,
            folders=self._folders,
            problems=self._problems,
            review=self._review,
            connectivity=self._connectivity,
        )
        self._tickers = (
            Ticker("claims", self._claims.tick),
            Ticker("review", self._refresher.tick),
            Ticker("probe", self._probe_task),
        )

    def _ignore_for(self, config: Config) -> Callable[[Path], bool]:
        """The watcher's ignore rule; on the way it notes each folder a claim was seen in
        (a change inside some ``.processing/``), for the claims' watch."""
        base = ignore_under([config.root], config.agent.ignore)
        processing = AGENT_OWNED.processing_dir

        def ignore(path: Path) -> bool:
            if path.parent.name == processing:
                self._claims.noticed(path.parent.parent)
            return base(path)

        return ignore

    @property
    def config(self) -> Config:
        """The config as last read (workflows added or removed by other commands)."""
        return self._folders.config

    # -- running -------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> RunSummary:
        stop = stop or threading.Event()
        self._workers.start()
        self._recovery.resume()
        self._watcher.start()
        for ticker in self._tickers:
            ticker.start()
        next_check = time.monotonic() + self.options.check_interval
        once_deadline: float | None = None
        try:
            while not stop.is_set():
                self._arrivals.drain(self._wait_time())
                self._poll_control()
                for path in self._tracker.due():
                    self._arrivals.finished(path)
                for path, found in self._tracker.given_up():
                    self._arrivals.given_up(path, found)
                self._arrivals.joins_due(time.monotonic())
                now = time.monotonic()
                if now >= next_check:
                    self._watcher.check()
                    next_check = now + self.options.check_interval
                self._dispatch(now)
                self._reporter.publish()
                if self.options.once:
                    if self._busy():
                        once_deadline = None
                    elif self._waiting_retries():
                        once_deadline = once_deadline or now + self.options.once_retry_window
                        if now >= once_deadline:
                            break
                    else:
                        break
        finally:
            self._workers.shutdown()
            # still to do: files claimed and not settled, and finished files that waited
            # unclaimed (paused, offline, credentials refused)
            self._summary.unsettled = self._arrivals.held() + sum(
                1 for e in self._journal.unsettled() if e.claimed_path is not None
            )
            self._shutdown()
        return self._summary

    def _shutdown(self) -> None:
        for ticker in self._tickers:
            # a review call waiting on Kompliant is not waited for long: its thread does not
            # keep the process alive, and writes no journal (the claims' ticker, which does,
            # only looks at the disk and stops at once)
            ticker.stop(timeout=2.0)
        self._watcher.stop()
        self._workers.shutdown()
        self._reporter.publish(final=True)
        self._workers.close()
        self._journal.close()

    def _busy(self) -> bool:
        inflight = self._workers.running()
        busy = (
            self._workers.busy_now(time.monotonic())
            or self._tracker.pending() > 0
            or self._arrivals.ready() > 0
            or self._arrivals.events_waiting()
            or self._arrivals.joining() > 0
        )
        return busy and not (self._paused and not inflight)

    def _waiting_retries(self) -> bool:
        return self._workers.scheduled() or self._arrivals.held() > 0

    def _wait_time(self) -> float:
        deadline = min(
            (
                d
                for d in (self._tracker.next_deadline(), self._arrivals.next_join_deadline())
                if d is not None
            ),
            default=None,
        )
        return TICK if deadline is None else max(0.0, min(TICK, deadline - time.monotonic()))

    @property
    def _paused(self) -> bool:
        return self._control.current.paused

    def _held_back(self) -> bool:
        """Whether finished files wait unclaimed: paused, offline or signed out."""
        return self._paused or self._connectivity.blocked

    def _dispatch(self, now: float) -> None:
        if self._held_back():
            return
        self._arrivals.release(now)
        self._workers.dispatch(now)

    # -- control, refresh, review ------------------------------------------------------

    def _poll_control(self) -> None:
        _, refresh, retry = self._control.poll()
        if refresh:
            self._refresher.ask()  # the review thread refreshes and checks all soon
            self._tickers[1].wake()
        if retry:
            self.retry_failed()

    def retry_failed(self) -> int:
        """Move every failed file back into its folder; the watcher picks them up. A
        folder that refuses the move (read-only, full) is logged and the others go on:
        a retry asked for from the tray or the CLI never stops the agent."""
        moved = 0
        for folder in self._folders.tree.folders:
            try:
                moved += len(retry_failed(folder))
            except MoveFailed as error:
                log.warning("could not retry the failed files of %s: %s", folder, error.describe())
        log.info("moved %d failed file(s) back to be tried again", moved)
        return moved

    # -- beside the loop: the network ----------------------------------------------------

    def _probe_task(self) -> float:
        """The probe thread: is Kompliant back (and taking the credentials)?"""
        now = time.monotonic()
        if self._connectivity.probe(now):
            self._workers.all_due(now)
        return PROBE_TICK

    def requirement_states(self) -> list[WorkflowReview]:
        """Where each configured workflow's required documents stand (for a tray)."""
        return self._review.states(self.config)

    def _root_problem(self, root: Path, problem: str) -> None:
        self._problems.set(ROOT, f"The watched folder {root} is unavailable: {problem}")

    def _root_recovered(self, root: Path) -> None:
        self._problems.set(ROOT, None)
        self._folders.rescan()
