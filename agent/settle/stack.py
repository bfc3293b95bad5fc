"""Where a scanned stack ends: the original in ``done/`` with one receipt for every part.

The receipt lists each part (its pages, where its cover was, what became of it: the
document it was uploaded as and the requirement it was linked to, or why it failed and
where its own file and note are). A converted file's receipt says what was converted.

The parts' own files live in the agent's work folder (``.processing/.scan/``) while they
are sent; a part that is uploaded is only a copy of pages of the original, so its file
is removed then. A part that cannot go through is moved to ``failed/`` with its note,
like any file (:func:`agent.settle.outcome.settle_failed`).
"""

from __future__ import annotations

import contextlib
import errno
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agent.owned_names import AGENT_OWNED
from agent.settle.claim import Claim
from agent.settle.moves import move_to_free_name, sidecar_name
from agent.settle.outcome import receipts_in, settle_with_receipt

WORK_DIR = ".scan"  # inside .processing/: the agent's own files made from a stack
RECEIPT_HEAD = "kompliant-agent receipt for "


# Workers share a folder's work folder: it is removed when empty, but never while one of
# them is working in it (it would vanish between its creation and a file written there).
_work_lock = threading.Lock()
_work_users: Counter[Path] = Counter()


def _work_path(folder: Path) -> Path:
    return folder / AGENT_OWNED.processing_dir / WORK_DIR


def work_folder(folder: Path) -> Path:
    """The agent's work folder for stacks found in ``folder`` (created on demand)."""
    work = _work_path(folder)
    with _work_lock:
        if not folder.is_dir():  # renamed, moved or deleted: never made again
            raise FileNotFoundError(errno.ENOENT, "the folder is no longer there", str(folder))
        work.mkdir(parents=True, exist_ok=True)
    return work


@contextlib.contextmanager
def working_in(folder: Path) -> Iterator[None]:
    """While inside, ``folder``'s work folder is not removed; it is tidied at the end."""
    work = _work_path(folder)
    with _work_lock:
        _work_users[work] += 1
    try:
        yield
    finally:
        with _work_lock:
            _work_users[work] -= 1
            if _work_users[work] <= 0:
                del _work_users[work]
                with contextlib.suppress(OSError):
                    work.rmdir()


def tidy_work_folder(folder: Path) -> None:
    """Remove the work folder of ``folder`` when nothing is left in it (and nobody is
    working in it)."""
    work = _work_path(folder)
    with _work_lock:
        if _work_users.get(work):
            return
        with contextlib.suppress(OSError):
            work.rmdir()


@dataclass(frozen=True)
class PartLine:
    """One part, as the stack's receipt tells it."""

    number: int
    pages: str  # "pages 4-6", "page 8", "no pages"
    cover_page: int | None
    outcome: str  # what became of it, in words


@dataclass(frozen=True)
class StackRecord:
    """What the receipt of a stack says."""

    page_count: int
    parts: Sequence[PartLine]
    sha256: str
    size: int
    notes: Sequence[str] = ()  # repaired, converted from TIFF, …
    settled_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stack_receipt_text(file_name: str, record: StackRecord) -> str:
    """The stack's receipt (pure)."""
    covers = sum(1 for p in record.parts if p.cover_page is not None)
    lines = [
        f"{RECEIPT_HEAD}{file_name}",
        "",
        f"A scanned stack of {record.page_count} pages with {covers} cover sheet(s), cut "
        f"into {len(record.parts)} part(s); the cover pages were not uploaded.",
    ]
    lines += [f"Note: {note}" for note in record.notes]
    lines.append("")
    for part in record.parts:
        where = (
            f"after the cover on page {part.cover_page}"
            if part.cover_page is not None
            else "before the first cover"
        )
        lines.append(f"Part {part.number}, {part.pages} ({where}): {part.outcome}")
    lines += [
        "",
        f"SHA-256: {record.sha256}",
        f"Size: {record.size} bytes",
        f"Time: {_iso(record.settled_at)}",
        "",
    ]
    return "\n".join(lines)


def settle_stack_done(claimed: Claim, record: StackRecord) -> Path:
    """Move the stack's original to ``done/`` with its receipt; return where it is now."""
    return settle_with_receipt(claimed, stack_receipt_text(claimed.source.name, record))


def find_stack_done(folder: Path, file_name: str, sha256: str) -> Path | None:
    """The stack moved to ``folder/done`` before the journal heard of it (a restart), by
    its receipt: the same name (or a numbered variant) and the same SHA-256."""
    for target, text in receipts_in(folder / AGENT_OWNED.done_dir):
        if (
            text.startswith(f"{RECEIPT_HEAD}{file_name}\n")
            and f"\nSHA-256: {sha256}\n" in text
            and target.exists()
        ):
            return target
    return None


def settle_members(members: Sequence[str], folder: Path, target_dir: str) -> list[Path]:
    """Move the other page images of a joined scan (claimed with the first) into
    ``folder/target_dir``; those already gone are passed over (a restart)."""
    moved = []
    for member in members:
        path = Path(member)
        if not path.exists():
            continue
        target = folder / target_dir
        target.mkdir(exist_ok=True)
        moved.append(move_to_free_name(path, target, path.name))
        with contextlib.suppress(OSError):
            path.with_name(sidecar_name(path.name, AGENT_OWNED.claim_suffix)).unlink()
    return moved


def remove_work_file(path: Path) -> None:
    """Remove a part's file made by the agent (the original keeps its pages)."""
    path.unlink(missing_ok=True)
