"""Each state's icon, drawn at runtime, and the tooltip that goes with it.

Pure functions: a state (and, while working, the percent of the file being sent) in, a
``PIL.Image`` out. Colours and shapes differ per state, so the state shows at a glance
even for people who do not tell colours apart.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from agent.engine.state import AgentState
from agent.engine.status import Snapshot

SIZE = 64
TOOLTIP_LIMIT = 120  # some tray hosts cut longer tooltips (Windows: 127 characters)

# (fill, mark) per state; the mark is drawn in white on the coloured disc.
COLOURS: dict[AgentState, tuple[int, int, int]] = {
    AgentState.IDLE: (46, 160, 67),  # green
    AgentState.WORKING: (30, 110, 220),  # blue
    AgentState.PAUSED: (120, 120, 120),  # grey
    AgentState.OFFLINE: (140, 90, 200),  # violet
    AgentState.ATTENTION: (240, 160, 0),  # amber
    AgentState.ERROR: (210, 40, 40),  # red
}
WHITE = (255, 255, 255, 255)
TRACK = (255, 255, 255, 90)


def draw_icon(state: AgentState, percent: int | None = None) -> Image.Image:
    """The icon of ``state``; while working, a ring shows ``percent`` of the current file."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    colour = (*COLOURS[state], 255)
    draw.ellipse((2, 2, SIZE - 3, SIZE - 3), fill=colour)
    _MARKS[state](draw, percent)
    return image


def _check(draw: ImageDraw.ImageDraw, _: int | None) -> None:
    draw.line([(17, 33), (28, 44), (47, 21)], fill=WHITE, width=7, joint="curve")


def _working(draw: ImageDraw.ImageDraw, percent: int | None) -> None:
    # An upward arrow; with a percent, a ring around it that fills clockwise.
    draw.polygon([(32, 13), (46, 30), (37, 30), (37, 48), (27, 48), (27, 30), (18, 30)], WHITE)
    if percent is not None:
        box = (7, 7, SIZE - 8, SIZE - 8)
        draw.arc(box, 0, 360, fill=TRACK, width=5)
        sweep = max(0, min(100, percent)) * 360 // 100
        if sweep:
            draw.arc(box, -90, -90 + sweep, fill=WHITE, width=5)


def _paused(draw: ImageDraw.ImageDraw, _: int | None) -> None:
    draw.rectangle((20, 17, 28, 47), fill=WHITE)
    draw.rectangle((36, 17, 44, 47), fill=WHITE)


def _offline(draw: ImageDraw.ImageDraw, _: int | None) -> None:
    # A broken link: two rings apart, with a slash.
    draw.ellipse((12, 24, 30, 40), outline=WHITE, width=4)
    draw.ellipse((34, 24, 52, 40), outline=WHITE, width=4)
    draw.line([(22, 50), (42, 14)], fill=WHITE, width=5)


def _attention(draw: ImageDraw.ImageDraw, _: int | None) -> None:
    draw.rectangle((28, 13, 36, 38), fill=WHITE)
    draw.rectangle((28, 43, 36, 51), fill=WHITE)


def _error(draw: ImageDraw.ImageDraw, _: int | None) -> None:
    draw.line([(20, 20), (44, 44)], fill=WHITE, width=8)
    draw.line([(44, 20), (20, 44)], fill=WHITE, width=8)


_MARKS = {
    AgentState.IDLE: _check,
    AgentState.WORKING: _working,
    AgentState.PAUSED: _paused,
    AgentState.OFFLINE: _offline,
    AgentState.ATTENTION: _attention,
    AgentState.ERROR: _error,
}


def current_percent(snapshot: Snapshot) -> int | None:
    """Percent of the file being sent (the least advanced one), or None when none is."""
    if snapshot.state is not AgentState.WORKING or not snapshot.uploads:
        return None
    return min(percent for _, percent in snapshot.uploads)


def icon_for(snapshot: Snapshot) -> Image.Image:
    return draw_icon(snapshot.state, current_percent(snapshot))


def icon_key(snapshot: Snapshot) -> tuple[AgentState, int | None]:
    """What the icon depends on: the tray redraws only when this changes."""
    return snapshot.state, current_percent(snapshot)


def tooltip(snapshot: Snapshot) -> str:
    """One line: the state and what matters most now."""
    parts = [f"Kompliant agent: {snapshot.state.value}"]
    waiting = sum(f.waiting + f.in_progress for f in snapshot.folders) + snapshot.checking
    failed = sum(f.failed for f in snapshot.folders)
    routing = sum(f.needs_routing for f in snapshot.folders)
    if snapshot.uploads:
        name, percent = snapshot.uploads[0]
        parts.append(f"sending {name} {percent}%")
    if waiting:
        parts.append(f"{waiting} to do")
    if failed:
        parts.append(f"{failed} failed")
    if routing:
        parts.append(f"{routing} need routing")
    if snapshot.problems:
        parts.append(snapshot.problems[0])
    text = parts[0] + (": " + ", ".join(parts[1:]) if len(parts) > 1 else "")
    if len(text) > TOOLTIP_LIMIT:
        text = text[: TOOLTIP_LIMIT - 1] + "…"
    return text
