"""What the watcher knows that the status must say, in words (pure).

- a file that stopped changing but is not finished: ``waiting: incomplete — x.pdf …``
  (also empty, still being written, still changing);
- a folder checked by polling: ``network folder — checked every 1 s: …``;
- and the note of a file given up because it stayed incomplete or empty.

Each line has a topic of its own in the status's problems (``waiting:<path>``,
``polled:<path>``), so that it comes and goes with its file or folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from agent.content.ends import cut_short
from agent.content.filetype import Kind
from agent.watch.polling import PolledFolder
from agent.watch.readiness import Readiness
from agent.watch.stability import StabilitySettings

WAITING = "waiting:"
POLLED = "polled:"
#: Topics that inform rather than complain: never the status's headline.
NOTE_TOPICS = (POLLED,)


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g} min" if minutes >= 1 else f"{seconds:g} s"


def waiting_lines(
    waiting: Mapping[Path, Readiness], settings_for: Callable[[Path], StabilitySettings]
) -> dict[str, str]:
    """``waiting:<path>`` → its line, for every file that waits to be finished."""
    lines: dict[str, str] = {}
    for path, found in waiting.items():
        settings = settings_for(path)
        limit = _duration(settings.incomplete_seconds)
        if found is Readiness.INCOMPLETE:
            text = (
                f"waiting: incomplete — {path.name} in {path.parent} has no end yet; it goes "
                f"once it is whole, or to failed/ if it stays unchanged for {limit}"
            )
        elif found is Readiness.EMPTY:
            text = (
                f"waiting: empty — {path.name} in {path.parent} is 0 bytes (a placeholder "
                f"until its data comes); it fails if it stays empty for {limit}"
            )
        elif found is Readiness.WRITING:
            text = (
                f"waiting: still being written — {path.name} in {path.parent} is open for "
                "writing in a program; it goes once that program closes it"
            )
        else:
            text = (
                f"waiting: still changing — {path.name} in {path.parent} keeps being "
                f"rewritten; it goes once it stays unchanged for {settings.quiet_seconds:g} s "
                "(if a program writes it all the time, move it out of the folder)"
            )
        lines[f"{WAITING}{path}"] = text
    return lines


def polled_lines(polled: Iterable[PolledFolder]) -> dict[str, str]:
    """``polled:<folder>`` → its line, for every folder checked by polling."""
    return {f"{POLLED}{folder.path}": folder.describe() for folder in polled}


def given_up_note(
    path: Path, found: Readiness, kind: Kind | None, settings: StabilitySettings
) -> tuple[str, str]:
    """(what went wrong, what to do) for a file that stayed incomplete or empty."""
    if found is Readiness.EMPTY:
        return (
            f"{path.name} stayed empty (0 bytes) for {_duration(settings.incomplete_seconds)}: "
            "the program that created it never wrote the document into it",
            "Save or scan it again, check that it opens, then put it into this folder.",
        )
    refusal = cut_short(path.name, kind, unchanged_for=settings.incomplete_seconds)
    return refusal.message, refusal.hint
