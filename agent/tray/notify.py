"""When to show a notification, and what it says: the file, its requirement, the reason.

A policy with an injected clock, so it is tested without waiting. New failures are
gathered for a short while and shown as one notice; after a notice the next one waits at
least ``min_interval`` — a batch of 500 failing files gives one summary, not 500 pop-ups.
A notice names the failed files (up to three), what each was for and why it failed, in
the words of its note; it never adds "retry" advice the note does not give (a wrong file
type is not fixed by trying again). Snoozing holds notices back; when the snooze ends,
one summary tells what happened.

Rejected credentials are told at once ("sign in again"), and once per problem. When no
tray shows the icon, the policy says so once, with the fix, and goes on notifying: then
notifications are the only way the agent reaches the user.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath

from agent.engine.state import AgentState
from agent.engine.status import FileOutcome, Snapshot
from agent.tray.menu import requirement_of
from agent.tray.words import failed, files, routing

GATHER_SECONDS = 3.0  # wait this long after the first new failure, to take in a burst
MIN_INTERVAL = 60.0  # at most one notice a minute (sign-in and no-tray notices excepted)
SNOOZE_SECONDS = 3600.0
NAMED = 3  # failed files named in one notice
TITLE = "Kompliant agent"


class NoticeAction(enum.Enum):
    OPEN_FOLDER = "open-folder"  # the folder in ``Notice.folder``
    OPEN_FAILED = "open-failed"  # every failed/ folder
    SIGN_IN = "sign-in"


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    folder: str = ""  # the folder OPEN_FOLDER shows
    actions: tuple[NoticeAction, ...] = field(default=())
    urgent: bool = False


def failure_line(item: FileOutcome, names: Mapping[str, str]) -> str:
    """``notes.txt (Bank statements): <what went wrong and what to do>``."""
    reason = item.reason.strip() or "see the note beside it in failed/"
    return f"{item.name} ({requirement_of(item, names)}): {reason}"


class NotificationPolicy:
    """Feed it every snapshot (:meth:`observe`) and call :meth:`due` now and then."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        gather: float = GATHER_SECONDS,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        self._clock = clock
        self._gather = gather
        self._min_interval = min_interval
        self._seen_failed: int | None = None  # failures already told (or there at start)
        self._seen_routing = 0
        self._seen_paths: set[str] = set()
        self._new_failed = 0
        self._new_routing = 0
        self._named: list[FileOutcome] = []
        self._names: Mapping[str, str] = {}
        self._problem: str | None = None  # an ERROR state's problem not yet told
        self._sign_in = False
        self._told_problem: str | None = None
        self._first_new_at: float | None = None
        self._last_notice_at: float | None = None
        self._snoozed_until: float | None = None
        self._urgent: list[Notice] = []

    # -- snooze ------------------------------------------------------------------------

    def snooze(self, seconds: float = SNOOZE_SECONDS) -> float:
        """Hold notices back for ``seconds``; returns when the snooze ends (clock time)."""
        self._snoozed_until = self._clock() + seconds
        return self._snoozed_until

    def unsnooze(self) -> None:
        self._snoozed_until = None

    def snooze_left(self) -> float | None:
        """Seconds until the snooze ends; None when not snoozed."""
        until = self.snoozed_until()
        return None if until is None else until - self._clock()

    def snoozed_until(self) -> float | None:
        if self._snoozed_until is not None and self._clock() >= self._snoozed_until:
            self._snoozed_until = None
        return self._snoozed_until

    # -- input -------------------------------------------------------------------------

    def no_tray(self, why: str, fix: str) -> None:
        """The icon is not shown: say so once (snooze or not) with the fix."""
        self._urgent.append(
            Notice(
                f"{TITLE} runs without a tray icon",
                f"{why}. {fix}".strip(),
                urgent=False,
            )
        )

    def observe(self, snapshot: Snapshot, names: Mapping[str, str] | None = None) -> Notice | None:
        """Take in a snapshot (``names``: required document id → name); returns a notice
        when one is due now."""
        if names is not None:
            self._names = names
        total_failed, total_routing = failed(snapshot), routing(snapshot)
        paths = {item.path for item in snapshot.failed_files}
        if self._seen_failed is None:  # what was there before the tray started is no news
            self._seen_failed, self._seen_routing = total_failed, total_routing
            self._seen_paths = paths
        else:
            self._new_failed += max(0, total_failed - self._seen_failed)
            self._new_routing += max(0, total_routing - self._seen_routing)
            fresh = [i for i in snapshot.failed_files if i.path not in self._seen_paths]
            self._named += [i for i in fresh if i.path not in {n.path for n in self._named}]
            if len(paths) >= total_failed:  # the list is whole: a file not in it is gone
                self._named = [i for i in self._named if i.path in paths]
            self._seen_failed, self._seen_routing = total_failed, total_routing
            self._seen_paths = paths
        self._observe_problem(snapshot)
        if self._pending() and self._first_new_at is None:
            self._first_new_at = self._clock()
        return self.due()

    def _observe_problem(self, snapshot: Snapshot) -> None:
        if snapshot.state is AgentState.ERROR or snapshot.sign_in_needed:
            problem = snapshot.problems[0] if snapshot.problems else snapshot.message
            if problem != self._told_problem:
                self._problem = problem
                self._sign_in = snapshot.sign_in_needed
        else:
            self._problem = None
            self._told_problem = None

    def due(self) -> Notice | None:
        """The next notice, when it is due: a sign-in or no-tray notice at once, failures
        after the gathering time and the interval."""
        if self._urgent:
            return self._urgent.pop(0)
        if self._problem and self._sign_in:
            return self._sign_in_notice()
        if not self._pending() or self.snoozed_until() is not None:
            return None
        now = self._clock()
        if self._first_new_at is not None and now - self._first_new_at < self._gather:
            return None
        if self._last_notice_at is not None and now - self._last_notice_at < self._min_interval:
            return None
        notice = self._notice()
        self._new_failed = self._new_routing = 0
        self._named = []
        self._told_problem, self._problem = self._problem or self._told_problem, None
        self._first_new_at = None
        self._last_notice_at = now
        return notice

    def _pending(self) -> bool:
        return bool(self._new_failed or self._new_routing or self._problem)

    def _sign_in_notice(self) -> Notice:
        problem = self._problem or ""
        self._told_problem, self._problem = problem, None
        return Notice(
            f"{TITLE}: sign in again",
            f"{problem}\nChoose “Sign in…” in the tray menu. Files wait until then.",
            actions=(NoticeAction.SIGN_IN,),
            urgent=True,
        )

    def _notice(self) -> Notice:
        lines = [self._problem] if self._problem else []
        count = max(self._new_failed, len(self._named))
        named = self._named[:NAMED]
        lines += [failure_line(item, self._names) for item in named]
        if count > len(named):
            more = count - len(named)
            lines.append(
                f"{more} {'more file' if named else 'file'}{'s' if more > 1 else ''} "
                "failed: the note beside each in failed/ says why."
            )
        if self._new_routing:
            lines.append(
                f"{self._new_routing} file(s) in an Inbox match no rule. Move each into the "
                "folder of its required document."
            )
        if count == 1 and named:
            title = f"{TITLE}: {named[0].name} failed"
        elif count:
            title = f"{TITLE}: {files(count)} failed"
        elif self._new_routing:
            title = f"{TITLE}: {self._new_routing} file(s) need routing"
        else:
            title = f"{TITLE}: something needs fixing"
        folder = str(PurePath(named[0].path).parent) if named else ""
        actions: tuple[NoticeAction, ...] = ()
        if count:
            actions = (
                (NoticeAction.OPEN_FOLDER,)
                if folder and count == 1
                else (NoticeAction.OPEN_FAILED,)
            )
        return Notice(title=title, body="\n".join(lines), folder=folder, actions=actions)
