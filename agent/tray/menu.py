"""The tray menu as data: a snapshot (and a few facts) in, menu entries out.

Pure, so that what the menu says in each state is tested without a display; :mod:`app`
turns the entries into pystray items and :mod:`actions` carries them out.

The menu, top to bottom: the status line; **Failed ▸** (per file: open its folder, why
it failed, retry; then retry all); **Recent ▸** (the last files done, with their
requirement); **Still missing ▸** (per workflow: each required document's state, and
asking the applicant); **Print cover sheets… ▸** (per workflow); Pause / Resume; Open
the documents folder; Sign in… / Sign out…; **More ▸** (refresh, snooze, the log); Quit.
Each workflow's submenu under Still missing comes from :func:`workflow_menu`, the place
for more per-workflow entries.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from agent.config import Config
from agent.decide import RequirementsCache
from agent.engine.status import FileOutcome, FolderStatus, Snapshot
from agent.review.state import RequirementState, WorkflowReview
from agent.tray.words import Batch, failed, status_line

TEXT_LIMIT = 60  # characters of a menu line; longer ones end in "…"
FILES_SHOWN = 10  # failed files listed one by one; the rest through "Open failed folders"


class Action(enum.Enum):
    SHOW_STATUS = "show-status"
    OPEN_ROOT = "open-root"
    OPEN_FAILED = "open-failed"  # every failed/ folder with files
    RETRY = "retry"  # every failed file
    OPEN_FILE_FOLDER = "open-file-folder"  # arg: a file's path; shows its folder
    SHOW_REASON = "show-reason"  # arg: a failed file's path
    RETRY_FILE = "retry-file"  # arg: a failed file's path
    PAUSE = "pause"
    RESUME = "resume"
    REFRESH = "refresh"
    SNOOZE = "snooze"
    UNSNOOZE = "unsnooze"
    SIGN_IN = "sign-in"
    SIGN_OUT = "sign-out"
    OPEN_LOG = "open-log"
    QUIT = "quit"
    REQUEST_MISSING = "request-missing"  # arg: a workflow id
    PRINT_COVERS = "print-covers"  # arg: a workflow id


@dataclass(frozen=True)
class MenuEntry:
    """One line of the menu. Without an action or submenu it is an information line
    (greyed out). ``arg`` is what the action works on (a file's path, a workflow id)."""

    text: str
    action: Action | None = None
    arg: str = ""
    default: bool = False  # what a left click on the icon does (where the host allows)
    submenu: tuple[MenuEntry, ...] = ()
    separator: bool = False

    @property
    def enabled(self) -> bool:
        return self.action is not None or bool(self.submenu)


SEPARATOR = MenuEntry("", separator=True)


@dataclass(frozen=True)
class WorkflowProgress:
    """Where one workflow's required documents stand, for the Still missing menu."""

    workflow_id: str
    label: str
    known: bool = True  # False: requirements not fetched yet ("checking…")
    ended: bool = False
    #: (required document name, state) of each active required document; a state is a
    #: review state (missing, rejected, needs_review, in_review, accepted) or "sent"
    #: (a file is done, its review not checked yet)
    requirements: tuple[tuple[str, str], ...] = ()
    to_do: int = 0
    failed: int = 0
    needs_routing: int = 0

    @property
    def missing(self) -> tuple[str, ...]:
        """Required documents that still need a file from the applicant."""
        if self.ended:
            return ()
        return tuple(name for name, state in self.requirements if state in OUTSTANDING)

    def line(self) -> str:
        if self.ended:
            what = "workflow ended"
        elif not self.known:
            what = "checking…"
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


OUTSTANDING = ("missing", "rejected")
STATE_WORDS = {
    "missing": "missing",
    "rejected": "rejected, send a new file",
    "needs_review": "waiting for review",
    "in_review": "in review",
    "accepted": "accepted",
    "sent": "sent",
}
_ORDER = ("rejected", "missing", "needs_review", "in_review", "sent", "accepted")


def workflow_progress(
    config: Config,
    cache: RequirementsCache,
    folders: Iterable[FolderStatus],
    reviews: Sequence[WorkflowReview] = (),
) -> tuple[WorkflowProgress, ...]:
    """Per configured workflow, each active required document's state.

    The requirements cache lists them all from the first refresh on; the review poller's
    state is used where it has looked, else a done file counts as "sent" and no file as
    "missing" — so the list is complete before every requirement has been checked. A
    folder's key is ``<workflow id>/<required document ids joined by +>``; a done file in
    a combined folder counts for each of its required documents.
    """
    by_workflow: dict[str, list[FolderStatus]] = {}
    for folder in folders:
        by_workflow.setdefault(folder.key.partition("/")[0], []).append(folder)
    reviewed = {r.workflow_id: r for r in reviews}
    result = []
    for workflow in config.workflows:
        counts = by_workflow.get(workflow.workflow_id, [])
        covered = {rd for f in counts if f.done for rd in f.key.partition("/")[2].split("+") if rd}
        cached = cache.get(workflow.workflow_id)
        review = reviewed.get(workflow.workflow_id)
        states = {
            r.required_document_id: r.state
            for r in (review.requirements if review else ())
            if r.state not in (RequirementState.UNKNOWN, RequirementState.INACTIVE)
        }
        lines = []
        for rd in cached.required_documents if cached is not None else ():
            if rd.inactive:
                continue
            state = states.get(rd.required_document_id)
            if state is not None and state.value in STATE_WORDS:
                word = state.value
            else:
                word = "sent" if rd.required_document_id in covered else "missing"
            lines.append((rd.name or rd.required_document_id, word))
        result.append(
            WorkflowProgress(
                workflow_id=workflow.workflow_id,
                label=workflow.label or workflow.workflow_id,
                known=cached is not None,
                ended=bool(review and review.ended)
                or bool(cached is not None and cached.workflow.ended),
                requirements=tuple(sorted(lines, key=lambda line: _ORDER.index(line[1]))),
                to_do=sum(f.waiting + f.in_progress for f in counts),
                failed=sum(f.failed for f in counts),
                needs_routing=sum(f.needs_routing for f in counts),
            )
        )
    return tuple(result)


def requirement_of(item: FileOutcome, names: Mapping[str, str]) -> str:
    """The words for what a file was for: its required documents, else its folder."""
    named = [names.get(rd, rd) for rd in item.required_document_ids]
    if named:
        return " + ".join(named)
    kind = item.folder_key.partition("/")[2]
    return {"inbox": "Inbox", "upload-only": "Upload only", "workflow": "workflow folder"}.get(
        kind, kind or "its folder"
    )


@dataclass(frozen=True)
class MenuFacts:
    """What the menu needs besides the snapshot."""

    workflows: tuple[WorkflowProgress, ...] = ()
    requirement_names: Mapping[str, str] | None = None  # required document id → name
    signed_in: bool = True
    snoozed_until: str | None = None  # "14:05" while notifications are snoozed
    batch: Batch | None = None
    #: no window can ask (no GTK: Windows, macOS): Sign out asks in a submenu instead
    confirm_in_menu: bool = False


def build_menu(snapshot: Snapshot, facts: MenuFacts | None = None) -> tuple[MenuEntry, ...]:
    """The whole menu for ``snapshot``; texts and enabled items follow the state."""
    facts = facts or MenuFacts()
    names = facts.requirement_names or {}
    entries = [
        MenuEntry(_short(status_line(snapshot, facts.batch)), Action.SHOW_STATUS, default=True),
        failed_menu(snapshot, names),
        recent_menu(snapshot, names),
    ]
    if facts.workflows:
        entries.append(
            MenuEntry("Still missing", submenu=tuple(workflow_menu(w) for w in facts.workflows))
        )
        entries.append(cover_sheets_menu(facts.workflows))
    entries += [
        SEPARATOR,
        MenuEntry("Resume uploads", Action.RESUME)
        if snapshot.paused
        else MenuEntry("Pause uploads", Action.PAUSE),
        MenuEntry("Open the documents folder", Action.OPEN_ROOT),
        SEPARATOR,
        sign_out(facts.confirm_in_menu)
        if facts.signed_in
        else MenuEntry("Sign in…", Action.SIGN_IN),
        MenuEntry(
            "More",
            submenu=(
                MenuEntry("Refresh requirements", Action.REFRESH),
                MenuEntry(
                    f"Notifications snoozed until {facts.snoozed_until}: turn on", Action.UNSNOOZE
                )
                if facts.snoozed_until
                else MenuEntry("Snooze notifications for 1 hour", Action.SNOOZE),
                MenuEntry("Open the log", Action.OPEN_LOG),
            ),
        ),
        MenuEntry("Quit", Action.QUIT),
    ]
    return tuple(entries)


CONFIRMED = "confirmed"


def sign_out(confirm_in_menu: bool) -> MenuEntry:
    """Sign out asks first: in a window, or where no window can, in a submenu."""
    if not confirm_in_menu:
        return MenuEntry("Sign out…", Action.SIGN_OUT)
    yes = MenuEntry("Yes: remove my credentials and stop the agent", Action.SIGN_OUT, CONFIRMED)
    return MenuEntry("Sign out", submenu=(yes,))


def failed_menu(snapshot: Snapshot, names: Mapping[str, str]) -> MenuEntry:
    count = failed(snapshot)
    if not count:
        return MenuEntry("No failed files")
    shown = snapshot.failed_files[:FILES_SHOWN]
    entries = [
        MenuEntry(
            _short(f"{item.name} — {requirement_of(item, names)}"),
            submenu=(
                MenuEntry("Open its folder", Action.OPEN_FILE_FOLDER, item.path),
                MenuEntry("Why it failed", Action.SHOW_REASON, item.path),
                MenuEntry("Retry", Action.RETRY_FILE, item.path),
            ),
        )
        for item in shown
    ]
    if count > len(shown):
        entries.append(
            MenuEntry(f"{count - len(shown)} more: open the failed folders", Action.OPEN_FAILED)
        )
    retry_all = "Retry the failed file" if count == 1 else f"Retry all {count} failed files"
    entries += [SEPARATOR, MenuEntry(retry_all, Action.RETRY)]
    return MenuEntry(f"Failed ({count})", submenu=tuple(entries))


def recent_menu(snapshot: Snapshot, names: Mapping[str, str]) -> MenuEntry:
    if not snapshot.recent:
        return MenuEntry("Nothing uploaded yet")
    return MenuEntry(
        "Recent",
        submenu=tuple(
            MenuEntry(
                _short(f"{item.name} — {requirement_of(item, names)}"),
                Action.OPEN_FILE_FOLDER,
                item.path,
            )
            for item in snapshot.recent
        ),
    )


def workflow_menu(workflow: WorkflowProgress) -> MenuEntry:
    """One workflow's submenu under Still missing: its required documents and actions."""
    if workflow.ended or not workflow.known:
        return MenuEntry(_short(workflow.line()))
    lines = tuple(
        MenuEntry(_short(f"{name}: {STATE_WORDS.get(state, state)}"))
        for name, state in workflow.requirements
    ) or (MenuEntry("No required documents"),)
    ask = MenuEntry(
        "Ask the applicant for the missing documents",
        Action.REQUEST_MISSING if workflow.missing else None,
        workflow.workflow_id,
    )
    title = (
        f"{workflow.label}: {len(workflow.missing)} missing"
        if workflow.missing
        else (f"{workflow.label}: nothing missing")
    )
    return MenuEntry(_short(title), submenu=(*lines, SEPARATOR, ask))


def cover_sheets_menu(workflows: Sequence[WorkflowProgress]) -> MenuEntry:
    """Print cover sheets… ▸ one entry per workflow (none for an ended one): the sheets
    a scanner's stack is split at (docs/scanning.md)."""
    return MenuEntry(
        "Print cover sheets…",
        submenu=tuple(
            MenuEntry(
                _short(w.label),
                None if w.ended else Action.PRINT_COVERS,
                w.workflow_id,
            )
            for w in workflows
        ),
    )


def _short(text: str, limit: int = TEXT_LIMIT) -> str:
    """Menu lines stay readable: the whole text is in the status view."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def find(entries: Sequence[MenuEntry], action: Action, arg: str = "") -> list[int]:
    """The path of indexes to the entry with ``action`` (and ``arg``); [] when absent."""
    for index, entry in enumerate(entries):
        if entry.action is action and (not arg or entry.arg == arg):
            return [index]
        inner = find(entry.submenu, action, arg)
        if inner:
            return [index, *inner]
    return []


def file_name(path: str) -> str:
    return PurePath(path).name
