"""Arrival and claim: watcher events in, claimed files with a journal entry out.

The watcher's threads only put events on a queue (:meth:`Arrivals.put`); the loop drains
it into the stability tracker (:mod:`agent.watch.stability`), which says when a file is
finished. A finished file is routed (:func:`agent.decide.route`), and one with a
destination is claimed — renamed into ``.processing/`` (:mod:`agent.settle.claim`) — and
handed to the workers. While the agent is paused, offline or signed out, finished files
wait here, unclaimed, in the user's folder; a folder that refuses the claim (read-only,
full) has its file tried again after :data:`CLAIM_RETRY_SECONDS`.

Claims are taken only as fast as the workers can take them: a finished file waits here,
unclaimed, until a worker is free (:meth:`Arrivals.release`), so another agent on the
same tree takes its share meanwhile. The journal records the folder by its marker id and
the claimed file by its inode, so both are found again after a rename
(:mod:`agent.engine.relocate`). A folder of the tree that disappears from its path makes
the tree be read again at once. Something that is not a regular file under a document's
name (a FIFO, a socket, a device) is said in the status until it is gone. A file the
tracker gave up on (it stayed incomplete or empty for its folder's ``incomplete_seconds``)
is claimed and failed with a note that says so (:meth:`Arrivals.given_up`); it is never
uploaded.
"""

from __future__ import annotations

import logging
import os
import queue
import stat
import time
from collections.abc import Callable
from pathlib import Path

from agent.content.filetype import Kind, kind_of
from agent.decide import Destination, FolderKind, NeedsRouting, Refusal, route
from agent.decide.tree import FolderTree, join_window_for
from agent.engine.folders import Decision, FolderView
from agent.engine.problems import Problems, claim_topic
from agent.engine.stacks import CHECK_INBOX, marker_of, stack_candidate
from agent.engine.trouble import not_regular, not_regular_topic
from agent.engine.watch_notes import given_up_note
from agent.engine.workers import Workers
from agent.journal import Entry, Journal
from agent.scan.join import JoinGroups, page_name
from agent.settle.claim import ClaimOwner, claim, prepare
from agent.settle.moves import MoveFailed
from agent.watch.events import EventKind
from agent.watch.readiness import Readiness
from agent.watch.stability import StabilityTracker

log = logging.getLogger(__name__)

CLAIM_RETRY_SECONDS = 5.0  # a file its folder would not let go is tried again

Routed = tuple[FolderTree, Decision]  # a decision, and the reading of the tree it came from


class Arrivals:
    def __init__(
        self,
        *,
        folders: FolderView,
        journal: Journal,
        tracker: StabilityTracker,
        problems: Problems,
        workers: Workers,
        held_back: Callable[[], bool],
        me: ClaimOwner,
        left: Callable[[Path], None] = lambda folder: None,
    ) -> None:
        self._folders = folders
        self._journal = journal
        self._tracker = tracker
        self._problems = problems
        self._workers = workers
        self._held_back = held_back  # paused, offline or signed out: new files wait
        # watcher events, and None: "a worker is free" (the loop then claims the next file)
        self._events: queue.SimpleQueue[tuple[Path, EventKind] | None] = queue.SimpleQueue()
        self._me = me  # the owner every claim names
        # told of each folder a file left: another agent's claim looks like that, and its
        # .processing/ may be too new for the watcher to report what moves into it
        self._left = left
        self._held: dict[Path, None] = {}  # finished files waiting while paused / offline
        # finished files waiting for a free worker (with the other pages of a joined scan,
        # and what they were found to be for, by which reading of the folder tree)
        self._ready: dict[Path, tuple[list[Path] | None, Routed]] = {}
        self._refused: dict[Path, float] = {}  # files whose folder refused the claim → when
        self._odd: set[Path] = set()  # not regular files shown in the status
        self._joins = JoinGroups()  # numbered page images waiting for their last page
        self._prepared: set[Path] = set()  # folders whose .processing/ was made ahead
        # files this agent claimed whose leaving (the claim's rename) is still to be seen:
        # it is then no news to the journal, which holds their entries as claimed
        self._claimed: set[Path] = set()

    # -- events → finished files ---------------------------------------------------------------

    def put(self, path: Path, kind: EventKind) -> None:
        """An event from the watcher (any thread)."""
        self._events.put((path, kind))

    def wake(self) -> None:
        """A worker is free (any thread): the loop claims the next file waiting for one at
        once, not at its next turn."""
        self._events.put(None)

    def drain(self, timeout: float) -> None:
        """Feed the tracker every queued event, waiting up to ``timeout`` for the first."""
        try:
            item = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if item is not None:
                self._observe(*item)
            try:
                item = self._events.get_nowait()
            except queue.Empty:
                return

    def _observe(self, path: Path, kind: EventKind) -> None:
        if kind is EventKind.DELETED and path in self._claimed:
            self._tracker.forget_file(path)  # this agent's claim renamed a file away
        else:
            self._tracker.observe(path, kind)
        if kind is EventKind.DELETED:
            self._left(path.parent)
            self._held.pop(path, None)
            self._ready.pop(path, None)
            self._joins.forget(path)
            if path in self._odd:
                self._odd.discard(path)
                self._problems.set(not_regular_topic(path), None)
            if path in self._claimed:  # this agent's own claim: its entry says claimed
                self._claimed.discard(path)
                return
            if self._folders.gone(path):
                return  # a folder of the tree: its files are reported where they are now
            entry = self._journal.find_by_source(path)
            if entry is not None and entry.needs_routing and entry.claimed_path is None:
                self._journal.forget(entry.id)
            return
        self._claimed.discard(path)  # a new file under the name of one claimed before
        if not self._tracker.tracks(path):
            self._maybe_odd(path)
            return
        self._workers.expect()  # a file to claim soon: its upload process gets ready
        if path.parent not in self._prepared:  # and its target is watched
            self._prepared.add(path.parent)
            prepare(path.parent)

    def _maybe_odd(self, path: Path) -> None:
        """A name the tracker does not follow: say so when it is not a regular file."""
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return
        kind = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else None
        )
        if kind is None or route(path, self._folders.tree) is None:
            return
        if path not in self._odd:
            log.warning("%s is %s, not a document: it is left alone", path, kind)
        self._odd.add(path)
        self._problems.set(not_regular_topic(path), not_regular(path, kind))

    def joins_due(self, now: float) -> None:
        """A scanner's numbered page images, complete: each group becomes one file."""
        for group in self._joins.due(now):
            present = [path for path in group if path.exists()]
            if present:
                self.finished(present[0], members=present[1:])

    def joining(self) -> int:
        """Page images waiting for the rest of their scan."""
        return self._joins.pending()

    def next_join_deadline(self) -> float | None:
        return self._joins.next_deadline()

    def events_waiting(self) -> bool:
        return not self._events.empty()

    def held(self) -> int:
        """Finished files waiting to be claimed until the agent may upload again."""
        return len(self._held)

    def ready(self) -> int:
        """Finished files waiting for a free worker, unclaimed."""
        return len(self._ready)

    def release(self, now: float) -> None:
        """Take the files that waited (the agent may upload again, a worker is free, or
        their time came)."""
        for path in list(self._held):
            del self._held[path]
            if path.exists():
                self.finished(path)
        while self._ready and self._workers.has_room():
            path = next(iter(self._ready))
            members, routed = self._ready.pop(path)
            if os.path.lexists(path):
                self.finished(path, members=members, routed=routed)
        for path, again_at in list(self._refused.items()):
            if again_at <= now:
                del self._refused[path]
                if path.exists():
                    self.finished(path)

    # -- a finished file --------------------------------------------------------------------

    def given_up(self, path: Path, found: Readiness) -> None:
        """A file that stayed incomplete or empty: claim it and fail it with a note that
        says so (never uploaded, also where it would need routing)."""
        self._folders.ensure_knows(path)
        decision = route(path, self._folders.tree)
        if decision is None:
            return
        entry = self._claimed_entry(path, decision)
        if entry is None:
            return
        settings = self._folders.settings_for(path)
        claimed = entry.claimed_path or path
        problem, action = given_up_note(path, found, _kind(claimed), settings)
        self._workers.fail(entry, problem, action, retry_helps=False)

    def finished(
        self, path: Path, *, members: list[Path] | None = None, routed: Routed | None = None
    ) -> None:
        """A finished file: decide what it is for, claim it, and start its work.

        ``members``: the other page images of a scan joined with ``path`` (gathered by
        :meth:`joins_due`); without it, a numbered page image in a folder that joins them
        waits for the rest of its scan. ``routed``: the tree and the decision ``path``
        got when it waited for a worker — still the decision while the tree is the same
        reading (:func:`route` decides from the path and the tree alone).
        """
        self._folders.ensure_knows(path)
        tree = self._folders.tree
        if routed is not None and routed[0] is tree:
            decision: Decision | None = routed[1]
        else:
            if members is None:
                window = join_window_for(tree, path)
                if window is not None and self._joins.add(path, window, time.monotonic()):
                    return
            decision = route(path, tree)
        if decision is None:
            return
        # An inbox PDF or TIFF no rule matches may be a stack behind cover sheets: it is
        # claimed to be looked at (agent.engine.stacks), and goes back to wait without.
        look_first = isinstance(decision, NeedsRouting) and (
            bool(members) or self._inbox_stack(path)
        )
        if isinstance(decision, NeedsRouting) and not look_first:
            self._needs_routing(path, decision)
            return
        if (isinstance(decision, Destination) or look_first) and self._held_back():
            for waiting in (path, *(members or ())):  # a joined scan is gathered again
                self._held[waiting] = None
            return
        if not self._workers.has_room():
            self._ready[path] = (members, (tree, decision))  # claimed once a worker is free
            return
        entry = self._claimed_entry(path, decision, members)
        if entry is None:
            return
        if look_first:
            entry = self._journal.record_scan(entry.id, {"check": CHECK_INBOX})
        if members:
            entry = self._claim_members(entry, path, members)
        if isinstance(decision, Refusal):
            self._workers.fail(entry, decision.problem, decision.action)
            return
        self._workers.submit(entry.id, entry)

    def _claimed_entry(
        self,
        path: Path,
        decision: Destination | Refusal | NeedsRouting,
        members: list[Path] | None = None,
    ) -> Entry | None:
        """The journal entry of ``path`` once it is claimed; ``None`` when it is gone, taken
        by another agent, or its folder refuses the claim (it is tried again later)."""
        earlier = self._journal.find_by_source(path)
        if earlier is not None and earlier.claimed_path is None:
            self._journal.forget(earlier.id)
        key, workflow_id, rds = self._folders.key_for(path, decision)
        folder_id, sub = self._folders.identity(path)
        # The journal hears of the claim before the rename: a kill between the rename and
        # the claim's record would otherwise leave a claimed file nobody knows is ours
        # (see agent.engine.recovery).
        entry = self._journal.begin(
            path,
            folder_key=key,
            workflow_id=workflow_id,
            required_document_ids=rds,
            folder_id=folder_id,
            folder_sub=sub,
        )
        try:  # a rename keeps the inode: known even if the folder moves right after
            before: os.stat_result | None = os.stat(path, follow_symlinks=False)
        except OSError:
            before = None
        try:
            taken = claim(path, owner=self._me)
        except MoveFailed as error:  # the folder refuses the move: read-only, full disk
            self._journal.forget(entry.id)
            for refused in (path, *(members or ())):
                self._claim_refused(refused, error)
            return None
        except BaseException:
            self._journal.forget(entry.id)
            raise
        self._problems.set(claim_topic(path.parent), None)
        if taken is None:
            self._journal.forget(entry.id)
            return None  # gone, or another agent took it
        self._claimed.add(path)
        ino, dev = (before.st_ino, before.st_dev) if before is not None else (None, None)
        try:
            st = os.stat(taken.path, follow_symlinks=False)
            ino, dev = st.st_ino, st.st_dev
        except OSError:
            pass  # its folder moved already: the inode read before the claim stands
        return self._journal.claimed(entry, taken.path, claimed_ino=ino, claimed_dev=dev)

    def _inbox_stack(self, path: Path) -> bool:
        """An inbox PDF or TIFF not looked at yet (no journal entry for it)."""
        marker = marker_of(self._folders.tree, path)
        return (
            marker is not None
            and marker.kind is FolderKind.INBOX
            and stack_candidate(path, marker.kind)
            and self._journal.find_by_source(path) is None
        )

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

    def _claim_refused(self, path: Path, error: MoveFailed) -> None:
        """The file stays where it is; it is tried again after a while, the agent runs on."""
        topic = claim_topic(path.parent)
        if not self._problems.known(topic):
            log.warning("%s", error.describe())
        self._problems.set(topic, error.describe())
        self._refused[path] = time.monotonic() + CLAIM_RETRY_SECONDS

    def _needs_routing(self, path: Path, decision: NeedsRouting) -> None:
        if self._journal.find_by_source(path) is not None:
            return
        key, workflow_id, _ = self._folders.key_for(path, decision)
        entry = self._journal.begin(path, folder_key=key, workflow_id=workflow_id)
        self._journal.mark_needs_routing(
            entry.id,
            f"{path.name} matches no inbox rule: move it into the folder of its required "
            "document, or add a rule to the config",
        )
        log.warning("%s needs routing: no inbox rule matches it", path)


def _kind(path: Path) -> Kind | None:
    try:
        return kind_of(path)
    except (OSError, ValueError):
        return None
