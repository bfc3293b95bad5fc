"""Each state's icon, drawn at runtime: a shape, a colour and a mark of its own.

Pure functions: a state (and, while working, the percent of the file being sent) in, a
``PIL.Image`` out. The states differ in outline, not only in colour, so they stay apart
for people who do not tell colours apart and on a grey panel:

- idle: a green disc with a check mark;
- working: a blue disc with an arrow up; the disc fills clockwise with the percent of
  the file being sent (a pie, which still reads at 16 px where a thin ring does not);
- paused: a grey rounded square with two bars;
- offline: a violet cloud, struck through;
- attention: an amber triangle with an exclamation mark;
- error: a red octagon with a cross.

Every shape has a dark rim, so it keeps its outline on light panels as well as dark
ones. Drawn four times larger and scaled down, for smooth edges.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

from agent.engine.state import AgentState
from agent.engine.status import Snapshot

SIZE = 64
_SCALE = 4
_S = SIZE * _SCALE  # the drawing canvas

Colour = tuple[int, int, int]

COLOURS: dict[AgentState, Colour] = {
    AgentState.IDLE: (46, 160, 67),  # green
    AgentState.WORKING: (30, 110, 220),  # blue
    AgentState.PAUSED: (150, 150, 150),  # grey
    AgentState.OFFLINE: (140, 90, 200),  # violet
    AgentState.ATTENTION: (240, 160, 0),  # amber
    AgentState.ERROR: (210, 40, 40),  # red
}
#: The part of the working disc not filled yet by the percent.
WORKING_TRACK: Colour = (120, 160, 215)
WHITE: Colour = (255, 255, 255)
DARK: Colour = (35, 35, 35)
MARK_COLOURS: dict[AgentState, Colour] = {
    state: DARK if state is AgentState.ATTENTION else WHITE for state in AgentState
}
RIM = 6  # the dark rim's width on the drawing canvas (1.5 px of the 64 px icon)

Draw = ImageDraw.ImageDraw


def _rim(colour: Colour) -> tuple[int, int, int, int]:
    red, green, blue = (int(c * 0.45) for c in colour)
    return red, green, blue, 255


# -- shapes (on the 256 px canvas) ------------------------------------------------------


def _disc(draw: Draw) -> None:
    draw.ellipse((12, 12, _S - 13, _S - 13), fill=255)


def _rounded_square(draw: Draw) -> None:
    draw.rounded_rectangle((22, 22, _S - 23, _S - 23), radius=44, fill=255)


def _cloud(draw: Draw) -> None:
    draw.ellipse((54, 30, 206, 182), fill=255)  # the top bump
    draw.ellipse((10, 98, 128, 216), fill=255)  # left
    draw.ellipse((128, 98, 246, 216), fill=255)  # right
    draw.rounded_rectangle((60, 130, 196, 216), radius=30, fill=255)


def _triangle(draw: Draw) -> None:
    points = [(_S // 2, 26), (_S - 20, _S - 34), (20, _S - 34)]
    draw.polygon(points, fill=255)
    draw.line([*points, points[0]], fill=255, width=20, joint="curve")


def _octagon(draw: Draw) -> None:
    draw.regular_polygon((_S // 2, _S // 2, _S // 2 - 12), 8, rotation=22.5, fill=255)


_SHAPES: dict[AgentState, Callable[[Draw], None]] = {
    AgentState.IDLE: _disc,
    AgentState.WORKING: _disc,
    AgentState.PAUSED: _rounded_square,
    AgentState.OFFLINE: _cloud,
    AgentState.ATTENTION: _triangle,
    AgentState.ERROR: _octagon,
}

# -- marks -------------------------------------------------------------------------------


def _check(draw: Draw, ink: Colour) -> None:
    draw.line([(66, 134), (108, 176), (190, 86)], fill=ink, width=30, joint="curve")


def _arrow(draw: Draw, ink: Colour) -> None:
    draw.polygon(
        [(128, 46), (190, 118), (150, 118), (150, 202), (106, 202), (106, 118), (66, 118)], fill=ink
    )


def _bars(draw: Draw, ink: Colour) -> None:
    draw.rectangle((78, 70, 112, 186), fill=ink)
    draw.rectangle((144, 70, 178, 186), fill=ink)


def _strike(draw: Draw, ink: Colour) -> None:
    draw.line([(72, 214), (188, 48)], fill=ink, width=26)


def _exclamation(draw: Draw, ink: Colour) -> None:
    draw.rounded_rectangle((114, 84, 142, 168), radius=8, fill=ink)
    draw.ellipse((112, 180, 144, 212), fill=ink)


def _cross(draw: Draw, ink: Colour) -> None:
    draw.line([(84, 84), (172, 172)], fill=ink, width=32)
    draw.line([(172, 84), (84, 172)], fill=ink, width=32)


_MARKS: dict[AgentState, Callable[[Draw, Colour], None]] = {
    AgentState.IDLE: _check,
    AgentState.WORKING: _arrow,
    AgentState.PAUSED: _bars,
    AgentState.OFFLINE: _strike,
    AgentState.ATTENTION: _exclamation,
    AgentState.ERROR: _cross,
}


def draw_icon(state: AgentState, percent: int | None = None) -> Image.Image:
    """The icon of ``state``; while working, the disc fills with ``percent``."""
    return _drawn(state, percent).copy()


@functools.lru_cache(maxsize=64)
def _drawn(state: AgentState, percent: int | None) -> Image.Image:
    shape = Image.new("L", (_S, _S), 0)
    _SHAPES[state](ImageDraw.Draw(shape))
    colour = COLOURS[state]
    body = Image.new("RGBA", (_S, _S), (*colour, 255))
    if state is AgentState.WORKING and percent is not None:
        body = Image.new("RGBA", (_S, _S), (*WORKING_TRACK, 255))
        sweep = max(0, min(100, percent)) * 360 / 100
        if sweep:
            ImageDraw.Draw(body).pieslice(
                (0, 0, _S - 1, _S - 1), -90, -90 + sweep, fill=(*colour, 255)
            )
    _MARKS[state](ImageDraw.Draw(body), MARK_COLOURS[state])
    outer = shape.filter(ImageFilter.MaxFilter(2 * RIM + 1))
    image = Image.new("RGBA", (_S, _S), (0, 0, 0, 0))
    image.paste(Image.new("RGBA", (_S, _S), _rim(colour)), (0, 0), outer)
    image.paste(body, (0, 0), shape)
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def silhouette(state: AgentState) -> Image.Image:
    """The shape of ``state``'s icon alone (white on black), at 64 px."""
    shape = Image.new("L", (_S, _S), 0)
    _SHAPES[state](ImageDraw.Draw(shape))
    return shape.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def current_percent(snapshot: Snapshot) -> int | None:
    """Percent of the file being sent (the least advanced one), or None when none is."""
    if snapshot.state is not AgentState.WORKING or not snapshot.uploads:
        return None
    return min(percent for _, percent in snapshot.uploads)


def icon_for(snapshot: Snapshot) -> Image.Image:
    return draw_icon(*icon_key(snapshot))


def icon_key(snapshot: Snapshot) -> tuple[AgentState, int | None]:
    """What the icon depends on: the tray redraws only when this changes. The percent is
    rounded to 5 %: finer steps do not show at panel sizes."""
    percent = current_percent(snapshot)
    return snapshot.state, None if percent is None else percent - percent % 5


def needs_attention(state: AgentState) -> bool:
    """States a StatusNotifier host should flag (NeedsAttention)."""
    return state in (AgentState.ATTENTION, AgentState.ERROR)
