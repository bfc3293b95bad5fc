"""The engine: watched folders in, files settled in done/ or failed/ out.

Threads: watchdog's threads only put events on a queue; one loop thread owns the
stability tracker, routing, claiming and scheduling; a bounded pool of workers runs the
per-file pipeline (:mod:`agent.engine.pipeline`), so one slow or huge file does not hold
up the others. Everything a worker learns goes back through the journal and a small
locked schedule.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.config import Config, load_config
from agent.decide import (
    MARKER_NAME,
    Destination,
    FolderKind,
    FolderTree,
    NeedsRouting,
    Refusal,
    WorkflowReview,
    load_cache,
    refresh_workflow,
    requirements_file,
    route,
)
from agent.decide.tree import join_window_for
from agent.engine.control import ControlWatcher
from agent.engine.pipeline import Job, Pipeline, Progress, gave_up
from agent.engine.retry_policy import RetryPolicy, counts_against_budget
from agent.engine.review import RejectedHook
from agent.engine.review_poller import ReviewPoller
from agent.engine.review_schedule import ReviewPacing
from agent.engine.stacks import CHECK_INBOX, Prepared, Stacks, marker_of, stack_candidate
from agent.engine.state import AgentState, overall_state
from agent.engine.status import FolderStatus, Snapshot, write_snapshot
from agent.errors import AgentError, AuthError, FileChanged, NetworkError, RetryLater, Throttled
from agent.journal import Entry, Journal, Outcome, Step, journal_path
from agent.kompliant.client import KompliantClient
from agent.locations import locations
from agent.scan.join import JoinGroups, page_name
from agent.settle.claim import adopt, claim, claims_in, local_owner_alive, release, stale_claims
from agent.settle.moves import MoveFailed
from agent.settle.outcome import find_done, retry_failed
from agent.watch.events import EventKind
from agent.watch.ignore import ignore_under
from agent.watch.observer import FolderWatcher
from agent.watch.stability import StabilitySettings, StabilityTracker

log = logging.getLogger(__name__)

AUTH_RETRY_SECONDS = 30.0  # a file held back by rejected credentials is looked at again
TICK = 0.25  # longest wait of the loop between looks at the clock and the control file
CLAIM_RETRY_SECONDS = 5.0  # a file its folder would not let go is tried again
ORPHAN_SETTLE = 1.0  # a claim without a record this old was not made by a live agent


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


@dataclass
class RunSummary:
    done: int = 0
    failed: int = 0
    unsettled: int = 0


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
    ) -> None:
        self.config = config
        self.profile = config.agent.profile
        self.options = options or EngineOptions()
        self.state_dir = locations().profile_state(self.profile)
        self._client = client
        self._probe_client = probe_client or client
        self._on_snapshot = on_snapshot
        self._journal = Journal.open(journal_path(self.profile))
        self._pipeline = Pipeline(
            client,
            self._journal,
            verify_timeout=self.options.verify_timeout,
            progress=self._progress_for,
        )
        self._stacks = Stacks(
            self._journal,
            tree=lambda: self._tree,
            submit=self._submit,
            fail=self._fail_file,
            noticed=lambda path: self._events.put((path, EventKind.MOVED_IN)),
        )
        self._joins = JoinGroups()  # numbered page images waiting for their last page
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}
        self._unmarked: set[Path] = set()  # folders under no marker as of the last tree scan
        self._events: queue.SimpleQueue[tuple[Path, EventKind]] = queue.SimpleQueue()
        self._tree = self._scan_tree()
        self._tracker = StabilityTracker(
            self._settings_for,
            clock=time.monotonic,
            close_reported=lambda path: self._watcher.reports_close(path),
        )
        self._watcher = FolderWatcher(
            [config.root],
            on_event=lambda path, kind: self._events.put((path, kind)),
            on_root_problem=self._root_problem,
            on_root_recovered=self._root_recovered,
            settings_for=self._settings_for,
            ignore=ignore_under([config.root], config.agent.ignore),
            rescan_interval=self.options.rescan_interval,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, config.agent.workers), thread_name_prefix="upload"
        )
        self._control = ControlWatcher(self.state_dir)
        self._inflight: set[int] = set()
        self._retries: list[tuple[float, int]] = []  # (monotonic due time, entry id)
        self._held: dict[Path, None] = {}  # finished files waiting while paused / offline
        self._refused: dict[Path, float] = {}  # files whose folder refused the claim → when
        self._uploads: dict[int, tuple[str, int]] = {}
        self._offline = False
        self._auth_blocked = False
        self._probe_at = 0.0
        self._probe_step = 0
        self._next_refresh = time.monotonic() + config.agent.refresh_interval
        self._last_snapshot: Snapshot | None = None
        self._summary = RunSummary()
        self._review = ReviewPoller(
            self.profile,
            ReviewPacing(
                interval=config.agent.review_interval,
                calls_per_minute=config.agent.review_calls_per_minute,
            ),
            clock=time.monotonic,
            on_rejected=on_rejected,
        )

    # -- running -------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> RunSummary:
        stop = stop or threading.Event()
        self._recover()
        self._watcher.start()
        next_check = time.monotonic() + self.options.check_interval
        once_deadline: float | None = None
        try:
            while not stop.is_set():
                self._drain_events(self._wait_time())
                self._poll_control()
                for path in self._tracker.due():
                    self._arrived(path)
                for group in self._joins.due(time.monotonic()):
                    self._arrived_group(group)
                now = time.monotonic()
                if now >= next_check:
                    self._watcher.check()
                    next_check = now + self.options.check_interval
                self._maybe_refresh(now)
                self._maybe_review()
                self._maybe_probe(now)
                self._dispatch(now)
                self._publish()
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
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._summary.unsettled = sum(
                1 for e in self._journal.unsettled() if e.claimed_path is not None
            )
            self._shutdown()
        return self._summary

    def _shutdown(self) -> None:
        self._watcher.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._publish(final=True)
        self._pipeline.close()
        self._journal.close()

    def _busy(self) -> bool:
        with self._lock:
            inflight = bool(self._inflight)
            due_now = bool(self._retries) and self._retries[0][0] <= time.monotonic()
        return (
            inflight
            or due_now
            or self._tracker.pending() > 0
            or self._joins.pending() > 0
            or not self._events.empty()
        ) and not (self._paused and not inflight)

    def _waiting_retries(self) -> bool:
        with self._lock:
            return bool(self._retries) or bool(self._held)

    def _wait_time(self) -> float:
        deadline = min(
            (d for d in (self._tracker.next_deadline(), self._joins.next_deadline()) if d),
            default=None,
        )
        wait = TICK if deadline is None else max(0.0, min(TICK, deadline - time.monotonic()))
        return wait

    # -- events → finished files ---------------------------------------------------------------

    def _drain_events(self, timeout: float) -> None:
        try:
            path, kind = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._observe(path, kind)
            try:
                path, kind = self._events.get_nowait()
            except queue.Empty:
                return

    def _observe(self, path: Path, kind: EventKind) -> None:
        self._tracker.observe(path, kind)
        if kind is EventKind.DELETED:
            self._held.pop(path, None)
            self._joins.forget(path)
            entry = self._journal.find_by_source(path)
            if entry is not None and entry.needs_routing and entry.claimed_path is None:
                self._journal.forget(entry.id)

    def _arrived_group(self, group: list[Path]) -> None:
        """A scanner's numbered page images, complete: one file made of them all."""
        present = [path for path in group if path.exists()]
        if present:
            self._arrived(present[0], members=present[1:])

    def _arrived(self, path: Path, *, members: list[Path] | None = None) -> None:
        """A finished file: decide what it is for, claim it, and start its work.

        ``members``: the other page images of a scan joined with ``path`` (already
        gathered); without it, a numbered page image in a folder that joins them waits
        for the rest of its scan.
        """
        if not self._tree_knows(path):
            self._tree = self._scan_tree()
            if not self._tree_knows(path):
                self._unmarked.add(path.parent)
        if members is None:
            window = join_window_for(self._tree, path)
            if window is not None and self._joins.add(path, window, time.monotonic()):
                return
        decision = route(path, self._tree)
        if decision is None:
            return
        look_first = isinstance(decision, NeedsRouting) and (
            bool(members) or self._inbox_stack(path)
        )
        if isinstance(decision, NeedsRouting) and not look_first:
            self._needs_routing(path, decision)
            return
        if (isinstance(decision, Destination) or look_first) and (
            self._paused or self._offline or self._auth_blocked
        ):
            for waiting in (path, *(members or ())):  # a joined scan is gathered again
                self._held[waiting] = None
            return
        earlier = self._journal.find_by_source(path)
        if earlier is not None and earlier.claimed_path is None:
            self._journal.forget(earlier.id)
        key, workflow_id, rds = self._folder_key(path, decision)
        # The journal hears of the claim before the rename: a kill between the rename and
        # the claim's record would otherwise leave a claimed file nobody knows is ours
        # (see _reclaim).
        entry = self._journal.begin(
            path, folder_key=key, workflow_id=workflow_id, required_document_ids=rds
        )
        try:
            taken = claim(path)
        except MoveFailed as error:  # the folder refuses the move: read-only, full disk
            self._journal.forget(entry.id)
            for refused in (path, *(members or ())):
                self._claim_refused(refused, error)
            return
        except BaseException:
            self._journal.forget(entry.id)
            raise
        self._set_problem(f"claim:{path.parent}", None)
        if taken is None:
            self._journal.forget(entry.id)
            return  # gone, or another agent took it
        entry = self._journal.advance(entry.id, Step.STABLE, claimed_path=taken.path)
        if look_first:  # looked at for cover sheets; without any it goes back to wait
            entry = self._journal.record_scan(entry.id, {"check": CHECK_INBOX})
        if members:
            entry = self._claim_members(entry, path, members)
        if isinstance(decision, Refusal):
            self._pipeline.fail(entry, decision.problem, decision.action)
            self._summary.failed += 1
            return
        self._submit(entry.id)

    def _claim_members(self, entry: Entry, first: Path, members: list[Path]) -> Entry:
        """Claim the other page images of a joined scan with the first one's entry. One
        that cannot be claimed now (gone, or taken by another agent) is left out."""
        taken = []
        for member in members:
            try:
                claimed = claim(member)
            except MoveFailed as error:
                log.warning("%s stays out of the joined scan: %s", member.name, error.describe())
                continue
            if claimed is not None:
                taken.append(str(claimed.path))
        name = page_name(first.name)
        return self._journal.record_scan(
            entry.id,
            {
                "members": taken,
                "joined_name": name.joined_name if name else f"{first.stem}.pdf",
            },
        )

    def _inbox_stack(self, path: Path) -> bool:
        """An inbox PDF or TIFF no rule matches, not looked at yet: it may be a stack of
        documents behind cover sheets, so it is claimed to be looked at."""
        marker = marker_of(self._tree, path)
        return (
            marker is not None
            and marker.kind is FolderKind.INBOX
            and stack_candidate(path, marker.kind)
            and self._journal.find_by_source(path) is None
        )

    def _fail_file(self, entry: Entry, problem: str, action: str) -> None:
        self._pipeline.fail(entry, problem, action)
        self._summary.failed += 1

    def _claim_refused(self, path: Path, error: MoveFailed) -> None:
        """The file stays where it is; it is tried again after a while, the agent runs on."""
        key = f"claim:{path.parent}"
        with self._lock:
            known = key in self._problems
        if not known:
            log.warning("%s", error.describe())
        self._set_problem(key, error.describe())
        self._refused[path] = time.monotonic() + CLAIM_RETRY_SECONDS

    def _tree_knows(self, path: Path) -> bool:
        """Whether the folder tree read at the last scan still describes ``path``'s folder.

        Folders are renamed, moved in and created (by ``refresh`` or by hand) while the agent
        runs, and the marker that says what a folder is for moves with it. A file whose
        folder chain holds no known marker (or only its workflow folder's, above a folder
        not known), or whose nearest known marker is gone, makes the tree be read again —
        once per unmarked folder, so that files outside every workflow folder do not make
        the agent walk the root for each of them.
        """
        for folder in path.parents:
            if folder in self._tree.broken:
                return True
            marker = self._tree.folders.get(folder)
            if marker is not None:
                if not (folder / MARKER_NAME).exists():
                    return False
                if marker.kind is FolderKind.WORKFLOW and folder != path.parent:
                    break  # in a folder of the workflow folder that had no marker
                return True
            if folder == self._tree.root or self._tree.root not in folder.parents:
                break
        return path.parent in self._unmarked

    def _needs_routing(self, path: Path, decision: NeedsRouting) -> None:
        if self._journal.find_by_source(path) is not None:
            return
        key, workflow_id, _ = self._folder_key(path, decision)
        entry = self._journal.begin(path, folder_key=key, workflow_id=workflow_id)
        self._journal.mark_needs_routing(
            entry.id,
            f"{path.name} matches no inbox rule: move it into the folder of its required "
            "document, or add a rule to the config",
        )
        log.warning("%s needs routing: no inbox rule matches it", path)

    def _folder_key(
        self, path: Path, decision: Destination | Refusal | NeedsRouting
    ) -> tuple[str, str | None, tuple[str, ...]]:
        """The journal's name for the folder a file belongs to (stable across renames)."""
        folder = path.parent
        while folder not in self._tree.folders and folder != folder.parent:
            if folder == self._tree.root:
                break
            folder = folder.parent
        marker = self._tree.folders.get(folder)
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

    # -- scheduling ---------------------------------------------------------------------------

    @property
    def _paused(self) -> bool:
        return self._control.current.paused

    def _submit(self, entry_id: int) -> None:
        with self._lock:
            if entry_id in self._inflight:
                return
            self._inflight.add(entry_id)
        self._pool.submit(self._work, entry_id)

    def _schedule(self, entry_id: int, delay: float) -> None:
        with self._lock:
            heapq.heappush(self._retries, (time.monotonic() + delay, entry_id))

    def _dispatch(self, now: float) -> None:
        if self._paused or self._offline or self._auth_blocked:
            return
        for path in list(self._held):
            del self._held[path]
            if path.exists():
                self._arrived(path)
        for path, again_at in list(self._refused.items()):
            if again_at <= now:
                del self._refused[path]
                if path.exists():
                    self._arrived(path)
        due: list[int] = []
        with self._lock:
            while self._retries and self._retries[0][0] <= now:
                due.append(heapq.heappop(self._retries)[1])
        for entry_id in due:
            self._submit(entry_id)

    def _work(self, entry_id: int) -> None:
        try:
            entry = self._journal.get(entry_id)
            if entry is None or entry.settled:
                return
            try:
                prepared = self._stacks.prepare(entry)
                if prepared is not Prepared.CONTINUE:
                    self._stacks.part_settled(entry)
                    return
                entry = self._journal.get(entry_id) or entry
                settled = self._pipeline.run(entry, self._job(entry))
                self._stacks.part_settled(entry)
            except RetryLater as error:
                self._retry_later(entry_id, error)
                return
            except AuthError as error:
                self._credentials_rejected(error)
                self._schedule(entry_id, AUTH_RETRY_SECONDS)
                return
            if settled.outcome is Outcome.DONE:
                self._summary.done += 1
                if entry.workflow_id is not None:
                    self._review.linked(entry.workflow_id, entry.required_document_ids)
            else:
                self._summary.failed += 1
            self._went_online()
        except Exception as error:  # a bug must not lose the file: it stays claimed
            log.exception("unexpected error while processing journal entry %d", entry_id)
            self._retry_later(
                entry_id, RetryLater(f"internal error: {type(error).__name__}: {error}")
            )
        finally:
            with self._lock:
                self._inflight.discard(entry_id)
                self._uploads.pop(entry_id, None)

    def _retry_later(self, entry_id: int, error: RetryLater) -> None:
        entry = self._journal.get(entry_id)
        if entry is None or entry.settled:
            return
        policy = self.options.retry_policy
        if isinstance(error, NetworkError):
            self._went_offline(error)
        if not counts_against_budget(error):
            delay = policy.delay(1, error)
            self._schedule(entry_id, delay)
            log.info("%s: %s; trying again in %.0f s", entry.file_name, error.message, delay)
            return
        attempts = entry.attempts + 1
        if policy.exhausted(attempts):
            problem, action = gave_up(entry, error)
            self._pipeline.fail(entry, problem, action)
            self._summary.failed += 1
            return
        delay = 0.5 if isinstance(error, FileChanged) else policy.delay(attempts, error)
        at = datetime.now(UTC) + timedelta(seconds=delay)
        self._journal.record_retry(entry_id, error.describe(), at)
        self._schedule(entry_id, delay)
        log.info(
            "%s: %s; attempt %d of %d in %.0f s",
            entry.file_name,
            error.message,
            attempts + 1,
            policy.max_attempts,
            delay,
        )

    def _job(self, entry: Entry) -> Job:
        cached = self._tree.cached(entry.workflow_id) if entry.workflow_id else None
        if cached is not None:
            subject = cached.workflow.subject_record_id
            names = {rd.required_document_id: rd.name for rd in cached.required_documents}
        else:
            if entry.workflow_id is None:
                raise RetryLater(f"{entry.file_name} has no workflow in the journal")
            subject = self._client.get_workflow(entry.workflow_id).subject_record_id
            names = {}
        return Job(subject, names, upload_duplicates=self.config.agent.upload_duplicates)

    # -- online / offline ---------------------------------------------------------------------

    def _went_offline(self, error: AgentError) -> None:
        if not self._offline:
            log.warning("Kompliant is unreachable (%s); pausing uploads until it answers", error)
        self._offline = True
        self._set_problem("offline", f"Kompliant is unreachable: {error.message}")

    def _went_online(self) -> None:
        if self._offline:
            log.info("Kompliant answers again; resuming uploads")
        if self._auth_blocked:
            log.info("Kompliant accepts the credentials again; resuming uploads")
        self._offline = False
        self._auth_blocked = False
        self._probe_step = 0
        self._set_problem("offline", None)
        self._set_problem("credentials", None)

    def _credentials_rejected(self, error: AuthError) -> None:
        """Stop taking files until the credentials work: no file fails for them."""
        if not self._auth_blocked:
            log.error("Kompliant refused the credentials: %s", error.describe())
        self._auth_blocked = True
        self._set_problem(
            "credentials",
            f"Kompliant refused the credentials ({error.message}). Run `kompliant-agent "
            "login` with valid ones; waiting files are sent once they work.",
        )

    def _maybe_probe(self, now: float) -> None:
        if not (self._offline or self._auth_blocked) or now < self._probe_at:
            return
        intervals = self.options.probe_intervals
        self._probe_at = now + intervals[min(self._probe_step, len(intervals) - 1)]
        self._probe_step += 1
        try:
            self._probe_client.check_version()
        except (NetworkError, Throttled) as error:
            log.debug("still offline: %s", error.message)
            return
        except AuthError as error:
            self._credentials_rejected(error)
            return
        except AgentError as error:
            log.warning("Kompliant answers, with an error: %s", error.describe())
        self._went_online()
        with self._lock:  # what waited for the network goes now
            self._retries = [(now, entry_id) for _, entry_id in self._retries]
            heapq.heapify(self._retries)

    # -- control, refresh, recovery ----------------------------------------------------

    def _poll_control(self) -> None:
        _, refresh, retry = self._control.poll()
        if refresh:
            self._next_refresh = 0.0
            self._review.refresh_requested()
        if retry:
            self.retry_failed()

    def retry_failed(self) -> int:
        """Move every failed file back into its folder; the watcher picks them up."""
        moved = 0
        for folder in self._tree.folders:
            moved += len(retry_failed(folder))
        log.info("moved %d failed file(s) back to be tried again", moved)
        return moved

    def _maybe_refresh(self, now: float) -> None:
        if now < self._next_refresh:
            return
        self._next_refresh = now + self.config.agent.refresh_interval
        self._reload_config()
        report = refresh_workflow(self._client, self.config)
        for line in report.lines():
            log.info("refresh: %s", line)
        self._tree = self._scan_tree()
        self._review.republish(self._tree)  # an ENDED or INACTIVE mark changes the notices

    # -- review states ------------------------------------------------------------------

    def requirement_states(self) -> list[WorkflowReview]:
        """Where each configured workflow's required documents stand (for a tray)."""
        return self._review.states(self.config)

    def _maybe_review(self) -> None:
        self._review.tick(self._tree, self._probe_client, offline=self._offline)

    def _reload_config(self) -> None:
        """Take in workflows added or removed by other commands (the profile stays)."""
        try:
            fresh = load_config()
        except AgentError as error:
            log.warning("keeping the previous config: %s", error.describe())
            return
        agent = dataclasses.replace(fresh.agent, profile=self.profile)
        self.config = dataclasses.replace(fresh, agent=agent)

    def _scan_tree(self) -> FolderTree:
        cache = load_cache(requirements_file(self.profile))
        try:
            tree = FolderTree.scan(self.config.root, self.config, cache)
        except AgentError as error:
            self._set_problem("root", error.describe())
            return FolderTree(root=self.config.root, config=self.config, cache=cache)
        self._set_problem("root", None)
        self._unmarked = set()
        return tree

    def _set_problem(self, key: str, text: str | None) -> None:
        """Record or clear a problem; workers and the loop both call this."""
        with self._lock:
            if text is None:
                self._problems.pop(key, None)
            else:
                self._problems[key] = text

    def _settings_for(self, path: Path) -> StabilitySettings:
        return self._tree.settings_for(path)

    def _root_problem(self, root: Path, problem: str) -> None:
        self._set_problem("root", f"The watched folder {root} is unavailable: {problem}")

    def _root_recovered(self, root: Path) -> None:
        self._set_problem("root", None)
        self._tree = self._scan_tree()

    def _recover(self) -> None:
        """Resume what a previous run left: own journal entries, then orphaned claims."""
        for entry in self._journal.unsettled():
            if self._stacks.recover(entry):
                continue
            if entry.claimed_path is None:
                if not entry.source_path.exists() and not self._reclaim(entry):
                    self._journal.forget(entry.id)
                continue
            if not entry.claimed_path.exists():
                done = (
                    find_done(entry.claimed_path.parent.parent, entry.document_id)
                    if entry.document_id and entry.reached(Step.VERIFIED)
                    else None
                )
                if done is not None:  # moved to done/ just before the crash
                    self._journal.settle(entry.id, Outcome.DONE, done, "uploaded")
                elif entry.step <= Step.STABLE:
                    self._journal.forget(entry.id)
                else:
                    self._journal.settle(
                        entry.id,
                        Outcome.FAILED,
                        None,
                        f"{entry.file_name} was removed from .processing/ before it was finished",
                    )
                continue
            self._take_over(entry.claimed_path)
            log.info("resuming %s at step %s", entry.file_name, entry.step.name)
            self._submit(entry.id)
        for folder in self._tree.folders:
            for stale in stale_claims(folder):
                if self._journal.find_by_claimed(stale.path) is not None:
                    continue
                taken = adopt(stale)
                if taken is None:
                    continue
                decision = route(stale.source, self._tree)
                if decision is None or isinstance(decision, NeedsRouting):
                    release(taken)  # not ours to upload: back where the user put it
                    continue
                key, workflow_id, rds = self._folder_key(stale.source, decision)
                entry = self._journal.begin(
                    stale.source,
                    folder_key=key,
                    claimed=taken.path,
                    step=Step.STABLE,
                    workflow_id=workflow_id,
                    required_document_ids=rds,
                )
                log.info("took over %s, left claimed by a stopped agent", stale.source.name)
                self._submit(entry.id)

    def _reclaim(self, entry: Entry) -> bool:
        """Take back the claim of an entry killed between the claim's rename and its step.

        The entry is at SEEN, its file gone from the folder: the earlier run may have
        renamed it into ``.processing/`` and died before recording the claimed path (or
        even before writing the claim's record). A claim there for the same source whose
        owner is dead, or one without a record that stays without one for
        :data:`ORPHAN_SETTLE` seconds (a live agent writes its record at once), is ours.
        A claim of a live agent is its, and the entry is forgotten.
        """
        if entry.needs_routing:
            return False
        source = entry.source_path
        for found in claims_in(source.parent):
            if found.source != source or self._journal.find_by_claimed(found.path):
                continue
            if found.owner is None:
                try:
                    age = time.time() - found.path.stat().st_ctime
                except FileNotFoundError:
                    continue
                time.sleep(max(0.0, min(ORPHAN_SETTLE, ORPHAN_SETTLE - age)))
                if found.record_path.exists():
                    continue  # another agent's claim after all
            elif local_owner_alive(found.owner) or found.owner.host != socket.gethostname():
                continue
            taken = adopt(found)
            if taken is None:
                continue
            self._journal.advance(entry.id, Step.STABLE, claimed_path=taken.path)
            log.info("took back %s, claimed just before the agent stopped", source.name)
            self._submit(entry.id)
            return True
        return False

    def _take_over(self, claimed: Path) -> None:
        for found in claims_in(claimed.parent.parent):
            if found.path == claimed and found.owner is not None and found.owner.pid != os.getpid():
                adopt(found)
                return

    # -- progress and status -----------------------------------------------------------------

    def _progress_for(self, entry: Entry) -> Progress | None:
        def report(sent: int, total: int) -> None:
            percent = int(sent * 100 / total) if total else 100
            with self._lock:
                self._uploads[entry.id] = (entry.file_name, percent)

        return report

    def snapshot(self) -> Snapshot:
        counts = self._journal.status()
        folders = tuple(FolderStatus.from_counts(c) for c in counts)
        with self._lock:
            uploads = tuple(self._uploads.values())
            busy = bool(self._inflight) or bool(self._retries)
            problems = dict(self._problems)
        checking = self._tracker.pending() + len(self._held)
        needs_user = any(f.failed or f.needs_routing for f in folders)
        state = overall_state(
            paused=self._paused,
            offline=self._offline,
            error="root" in problems or "credentials" in problems,
            busy=busy or checking > 0,
            needs_user=needs_user,
        )
        return Snapshot(
            state=state,
            pid=os.getpid(),
            updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            message=_message(state, problems),
            paused=self._paused,
            offline=self._offline,
            problems=tuple(problems.values()),
            checking=checking,
            uploads=uploads,
            folders=folders,
        )

    def _publish(self, final: bool = False) -> None:
        snapshot = self.snapshot()
        if final:
            snapshot = Snapshot(
                state=snapshot.state,
                pid=0,
                updated_at=snapshot.updated_at,
                message="the agent is not running",
                folders=snapshot.folders,
            )
        last = self._last_snapshot
        if last is not None and _same(last, snapshot):
            return
        self._last_snapshot = snapshot
        try:
            write_snapshot(self.state_dir, snapshot)
        except OSError as error:
            log.warning("cannot write the status file: %s", error)
        if self._on_snapshot is not None:
            self._on_snapshot(snapshot)


def _same(a: Snapshot, b: Snapshot) -> bool:
    return a.to_data() | {"updated_at": ""} == b.to_data() | {"updated_at": ""}


def _message(state: AgentState, problems: dict[str, str]) -> str:
    if problems:
        return next(iter(problems.values()))
    return {
        AgentState.IDLE: "All files are settled.",
        AgentState.WORKING: "Uploading files.",
        AgentState.PAUSED: "Paused: new files wait until you resume.",
        AgentState.OFFLINE: "Kompliant is unreachable; retrying.",
        AgentState.ATTENTION: "Some files need you: see failed/ or the inbox.",
        AgentState.ERROR: "Something needs fixing.",
    }[state]
