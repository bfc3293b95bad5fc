"""The tray menu as data: a snapshot (and a few facts) in, menu entries out.

Pure, so that what the menu says in each state is tested without a display; :mod:`app`
turns the entries into pystray items and runs the actions.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from agent.config import Config
from agent.decide import RequirementsCache
from agent.engine.state import AgentState
from agent.engine.status import FolderStatus, Snapshot
from agent.review.state import RequirementState, WorkflowReview

TEXT_LIMIT = 60  # characters of a menu line; longer ones end in "…"


class Action(enum.Enum):
    SHOW_STATUS = "show-status"
    OPEN_ROOT = "open-root"
    OPEN_FAILED = "open-failed"
    RETRY = "retry"
    PAUSE = "pause"
    RESUME = "resume"
    REFRESH = "refresh"
    SNOOZE = "snooze"
    UNSNOOZE = "unsnooze"
    SIGN_IN = "sign-in"
    SIGN_OUT = "sign-out"
    OPEN_LOG = "open-log"
    QUIT = "quit"
    REQUEST_MISSING = "request-missing"
    PRINT_COVERS = "print-covers"


@dataclass(frozen=True)
class MenuEntry:
    """One line of the menu. Without an action it is an information line (greyed out)."""

    text: str
    action: Action | None = None
    default: bool = False  # what a left click on the icon does
    submenu: tuple[MenuEntry, ...] = ()
    separator: bool = False
    argument: str = ""  # what the action is for (PRINT_COVERS: the workflow id)

    @property
    def enabled(self) -> bool:
        return self.action is not None or bool(self.submenu)


SEPARATOR = MenuEntry("", separator=True)


@dataclass(frozen=True)
class WorkflowProgress:
    """What one workflow still lacks, from the requirements cache and the folder counts."""

    label: str
    missing: tuple[str, ...]  # names of active required documents with no file done yet
    to_do: int = 0
    failed: int = 0
    needs_routing: int = 0
    known: bool = True  # False: not in the requirements cache yet (no refresh so far)
    #: (required document name, review state) from the review poller, when it has looked
    review: tuple[tuple[str, str], ...] = ()
    ended: bool = False
    workflow_id: str = ""

    def line(self) -> str:
        if self.ended:
            what = "workflow ended"
        elif self.review:
            what = "; ".join(
                f"{state.replace('_', ' ')}: {', '.join(names)}"
                for state, names in _group(self.review)
            )
        elif not self.known:
            what = "requirements not fetched yet (refresh)"
        elif self.missing:
            what = "missing " + ", ".join(self.missing)
        else:
            what = "nothing missing"
        extra = [
            f"{n} {word}"
            for n, word in (
                (self.to_do, "to do"),
                (self.failed, "failed"),
                (self.needs_routing, "need routing"),
            )
            if n
        ]
        return f"{self.label}: {what}" + (f" ({', '.join(extra)})" if extra else "")


def _group(review: tuple[tuple[str, str], ...]) -> list[tuple[str, list[str]]]:
    """Names grouped by state, the states that need someone first."""
    order = ["rejected", "missing", "needs_review", "in_review", "accepted"]
    grouped: dict[str, list[str]] = {}
    for name, state in review:
        grouped.setdefault(state, []).append(name)
    return sorted(grouped.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9)


def with_reviews(
    progress: Sequence[WorkflowProgress], reviews: Sequence[WorkflowReview]
) -> tuple[WorkflowProgress, ...]:
    """``progress`` with the review poller's states where it has looked (issue: the
    tray shows each requirement's state: missing, needs review, in review, accepted,
    rejected)."""
    by_label = {r.label or r.workflow_id: r for r in reviews}
    result = []
    for item in progress:
        review = by_label.get(item.label)
        if review is None:
            result.append(item)
            continue
        states = tuple(
            (r.name, r.state.value)
            for r in review.requirements
            if r.state not in (RequirementState.UNKNOWN, RequirementState.INACTIVE)
        )
        result.append(
            replace(
                item,
                review=states,
                ended=review.ended,
                missing=tuple(r.name for r in review.outstanding) if states else item.missing,
            )
        )
    return tuple(result)


def workflow_progress(
    config: Config, cache: RequirementsCache, folders: Iterable[FolderStatus]
) -> tuple[WorkflowProgress, ...]:
    """Per configured workflow: active required documents with nothing done for them yet.

    A folder's key is ``<workflow id>/<required document ids joined by +>`` (or
    ``/workflow``, ``/inbox``, ``/upload-only``); a done file in a combined folder counts
    for each of its required documents.
    """
    by_workflow: dict[str, list[FolderStatus]] = {}
    for folder in folders:
        workflow_id, _, _ = folder.key.partition("/")
        by_workflow.setdefault(workflow_id, []).append(folder)
    result = []
    for workflow in config.workflows:
        counts = by_workflow.get(workflow.workflow_id, [])
        covered = {
            rd
            for f in counts
            if f.done
            for rd in f.key.partition("/")[2].split("+")
            if rd.startswith("rd_")
        }
        cached = cache.get(workflow.workflow_id)
        missing = (
            tuple(
                rd.name or rd.required_document_id
                for rd in cached.required_documents
                if not rd.inactive and rd.required_document_id not in covered
            )
            if cached is not None
            else ()
        )
        result.append(
            WorkflowProgress(
                workflow_id=workflow.workflow_id,
                label=workflow.label or workflow.workflow_id,
                missing=missing,
                to_do=sum(f.waiting + f.in_progress for f in counts),
                failed=sum(f.failed for f in counts),
                needs_routing=sum(f.needs_routing for f in counts),
                known=cached is not None,
            )
        )
    return tuple(result)


def status_line(snapshot: Snapshot) -> str:
    """The first line of the menu: the state in words."""
    failed = sum(f.failed for f in snapshot.folders)
    routing = sum(f.needs_routing for f in snapshot.folders)
    to_do = sum(f.waiting + f.in_progress for f in snapshot.folders) + snapshot.checking
    state = snapshot.state
    if state is AgentState.WORKING:
        if snapshot.uploads:
            name, percent = snapshot.uploads[0]
            return f"Uploading {name} ({percent}%), {to_do} to do"
        return f"Working: {to_do} file(s) to do"
    if state is AgentState.PAUSED:
        return f"Paused: {to_do} file(s) wait" if to_do else "Paused"
    if state is AgentState.OFFLINE:
        return "Offline: Kompliant is unreachable, retrying"
    if state is AgentState.ATTENTION:
        parts = [f"{failed} failed"] if failed else []
        parts += [f"{routing} need routing"] if routing else []
        return "Needs you: " + ", ".join(parts or ["see the folders"])
    if state is AgentState.ERROR:
        return "Problem: " + (snapshot.problems[0] if snapshot.problems else snapshot.message)
    return "All files are settled"


def build_menu(
    snapshot: Snapshot,
    *,
    workflows: Sequence[WorkflowProgress] = (),
    signed_in: bool = True,
    snoozed_until: str | None = None,
) -> tuple[MenuEntry, ...]:
    """The whole menu for ``snapshot``; texts and enabled items follow the state."""
    failed = sum(f.failed for f in snapshot.folders)
    entries: list[MenuEntry] = [
        MenuEntry(_short(status_line(snapshot)), Action.SHOW_STATUS, default=True),
    ]
    if workflows:
        outstanding = any(w.missing and not w.ended for w in workflows)
        entries.append(
            MenuEntry(
                "Still missing",
                submenu=(
                    *(MenuEntry(_short(w.line(), 2 * TEXT_LIMIT)) for w in workflows),
                    SEPARATOR,
                    MenuEntry(
                        "Ask the applicant for the missing documents",
                        Action.REQUEST_MISSING if outstanding else None,
                    ),
                ),
            )
        )
        entries.append(
            MenuEntry(
                "Print cover sheets…",
                submenu=tuple(
                    MenuEntry(
                        _short(w.label),
                        None if w.ended or not w.workflow_id else Action.PRINT_COVERS,
                        argument=w.workflow_id,
                    )
                    for w in workflows
                ),
            )
        )
    entries += [
        SEPARATOR,
        MenuEntry("Open the documents folder", Action.OPEN_ROOT),
        MenuEntry(
            f"Open failed files ({failed})" if failed else "No failed files",
            Action.OPEN_FAILED if failed else None,
        ),
        MenuEntry(
            f"Retry {failed} failed file(s)" if failed else "Retry failed files",
            Action.RETRY if failed else None,
        ),
        MenuEntry("Resume uploads", Action.RESUME)
        if snapshot.paused
        else MenuEntry("Pause uploads", Action.PAUSE),
        MenuEntry("Refresh requirements", Action.REFRESH),
        MenuEntry(f"Notifications snoozed until {snoozed_until}: turn on", Action.UNSNOOZE)
        if snoozed_until
        else MenuEntry("Snooze notifications for 1 hour", Action.SNOOZE),
        SEPARATOR,
        MenuEntry("Sign out", Action.SIGN_OUT)
        if signed_in
        else MenuEntry("Sign in…", Action.SIGN_IN),
        MenuEntry("Open the log", Action.OPEN_LOG),
        MenuEntry("Quit", Action.QUIT),
    ]
    return tuple(entries)


def _short(text: str, limit: int | None = None) -> str:
    """Menu lines stay readable: the whole text is in the status view."""
    limit = limit or TEXT_LIMIT
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def keyboard_steps(entries: Sequence[MenuEntry], action: Action) -> int:
    """How many Down presses select ``action`` in a freshly opened menu (GTK skips
    separators and greyed-out lines). Raises ValueError when the action is not offered."""
    steps = 0
    for entry in entries:
        if entry.separator or not entry.enabled:
            continue
        steps += 1
        if entry.action is action:
            return steps
    raise ValueError(f"{action.value} is not in the menu")
