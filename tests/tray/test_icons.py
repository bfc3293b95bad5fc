"""The six icons are told apart by everyone, at the sizes panels draw them.

Each pair of states must differ clearly — in grey (no colour at all) and under a
deuteranopia simulation (the most common colour blindness) — at 16, 20 and 24 px, on a
light and on a dark panel; and every icon must stand out from both panels.
"""

from __future__ import annotations

import itertools

import pytest
from PIL import Image

from agent.engine.state import AgentState
from agent.tray.icons import (
    COLOURS,
    SIZE,
    WORKING_TRACK,
    current_percent,
    draw_icon,
    icon_for,
    icon_key,
    needs_attention,
    silhouette,
)
from tests.tray.snapshots import snap

PANEL_SIZES = (16, 20, 24)
PANELS = {"light": (240, 240, 240), "dark": (32, 32, 32)}
CLEAR = 40  # levels (of 255) two pixels must differ by to be told apart at a glance
DISTINCT = 0.10  # share of an icon's pixels that must differ clearly between two states
# Machado, Oliveira & Fernandes (2009): deuteranopia (severity 1.0) on linear RGB.
DEUTERANOPIA = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)


def on_panel(image: Image.Image, size: int, panel: tuple[int, int, int]) -> Image.Image:
    icon = image.resize((size, size), Image.Resampling.LANCZOS)
    shown = Image.new("RGB", (size, size), panel)
    shown.paste(icon, (0, 0), icon)
    return shown


def _linear(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _srgb(value: float) -> int:
    v = min(1.0, max(0.0, value))
    v = v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
    return round(v * 255)


def _deuteranopia_pixel(rgb: bytes) -> bytes:
    linear = [_linear(v) for v in rgb]
    return bytes(
        _srgb(sum(m * c for m, c in zip(row, linear, strict=True))) for row in DEUTERANOPIA
    )


def deuteranopia(image: Image.Image) -> Image.Image:
    data = image.tobytes()
    seen: dict[bytes, bytes] = {}
    out = bytearray()
    for i in range(0, len(data), 3):
        rgb = data[i : i + 3]
        if rgb not in seen:
            seen[rgb] = _deuteranopia_pixel(rgb)
        out += seen[rgb]
    return Image.frombytes("RGB", image.size, bytes(out))


def clearly_different(a: Image.Image, b: Image.Image) -> float:
    """Share of pixels whose values differ by at least CLEAR in some channel."""
    bands = len(a.getbands())
    da, db = a.tobytes(), b.tobytes()
    pixels = len(da) // bands
    differ = sum(
        1
        for i in range(0, len(da), bands)
        if max(abs(da[i + k] - db[i + k]) for k in range(bands)) >= CLEAR
    )
    return differ / pixels


VARIANTS = [(state, None) for state in AgentState] + [
    (AgentState.WORKING, 0),
    (AgentState.WORKING, 50),
    (AgentState.WORKING, 100),
]


@pytest.mark.parametrize("size", PANEL_SIZES)
@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("vision", ["grey", "deuteranopia"])
def test_every_pair_of_states_is_told_apart(size: int, panel: str, vision: str) -> None:
    seen = {
        (state, percent): on_panel(draw_icon(state, percent), size, PANELS[panel])
        for state, percent in VARIANTS
    }
    seen = {
        key: image.convert("L") if vision == "grey" else deuteranopia(image)
        for key, image in seen.items()
    }
    for a, b in itertools.combinations(seen, 2):
        if a[0] is b[0]:
            continue  # the working icon's percents are one state
        share = clearly_different(seen[a], seen[b])
        assert share >= DISTINCT, f"{a} and {b} at {size} px, {vision}, {panel}: {share:.3f}"


def test_the_states_differ_in_shape_not_only_in_colour() -> None:
    shapes = {state: silhouette(state).tobytes() for state in AgentState}
    outlines = {shapes[s] for s in AgentState if s is not AgentState.WORKING}
    assert len(outlines) == 5  # idle and working share the disc; their marks differ
    for a, b in itertools.combinations(AgentState, 2):
        if {a, b} == {AgentState.IDLE, AgentState.WORKING}:
            continue
        # an octagon is close to a disc; the marks (pairwise test above) do the rest
        assert clearly_different(silhouette(a), silhouette(b)) >= 0.05, (a, b)


@pytest.mark.parametrize("size", PANEL_SIZES)
@pytest.mark.parametrize("panel", PANELS)
def test_every_icon_stands_out_from_light_and_dark_panels(size: int, panel: str) -> None:
    background = Image.new("L", (size, size), PANELS[panel][0])
    for state, percent in VARIANTS:
        icon = draw_icon(state, percent).resize((size, size), Image.Resampling.LANCZOS)
        shown = on_panel(draw_icon(state, percent), size, PANELS[panel]).convert("L")
        alpha = icon.getchannel("A").tobytes()
        covered = [i for i, a in enumerate(alpha) if a > 200]
        shown_px, panel_px = shown.tobytes(), background.tobytes()
        standing_out = sum(1 for i in covered if abs(shown_px[i] - panel_px[i]) >= CLEAR)
        assert standing_out / len(covered) >= 0.75, (state, percent, size, panel)


def test_the_working_icon_fills_with_the_percent_like_a_pie() -> None:
    none, half, full = (draw_icon(AgentState.WORKING, p) for p in (0, 50, 100))
    blue, track = (*COLOURS[AgentState.WORKING], 255), (*WORKING_TRACK, 255)
    right, left = (SIZE - 12, SIZE // 2 + 8), (11, SIZE // 2 + 8)  # 3 and 9 o'clock
    assert none.getpixel(right) == track and none.getpixel(left) == track
    assert half.getpixel(right) == blue and half.getpixel(left) == track
    assert full.getpixel(right) == blue and full.getpixel(left) == blue
    # at panel size too: the filled half is clearly darker than the empty one
    small = half.resize((16, 16), Image.Resampling.LANCZOS).convert("L")
    assert small.getpixel((3, 10)) - small.getpixel((12, 10)) >= 30


def test_the_percent_is_the_least_advanced_upload_in_steps_of_five() -> None:
    working = snap(AgentState.WORKING, uploads=(("a.pdf", 80), ("b.pdf", 33)))
    assert current_percent(working) == 33
    assert icon_key(working) == (AgentState.WORKING, 30)
    assert icon_for(working).tobytes() == draw_icon(AgentState.WORKING, 30).tobytes()
    assert current_percent(snap(AgentState.PAUSED, uploads=(("a.pdf", 80),))) is None
    assert icon_key(snap(AgentState.WORKING)) == (AgentState.WORKING, None)


def test_problems_ask_for_attention() -> None:
    assert {s for s in AgentState if needs_attention(s)} == {
        AgentState.ATTENTION,
        AgentState.ERROR,
    }
