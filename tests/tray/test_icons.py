"""Each state's icon differs, the working icon shows progress, tooltips say what matters."""

from __future__ import annotations

import itertools

from agent.engine.state import AgentState
from agent.engine.status import FolderStatus, Snapshot
from agent.tray.icons import COLOURS, SIZE, current_percent, draw_icon, icon_key, tooltip


def snap(state: AgentState, **kw: object) -> Snapshot:
    return Snapshot(state=state, pid=1, updated_at="", **kw)  # type: ignore[arg-type]


def test_every_state_has_its_own_picture_and_colour() -> None:
    images = {state: draw_icon(state) for state in AgentState}
    for a, b in itertools.combinations(AgentState, 2):
        assert images[a].tobytes() != images[b].tobytes(), (a, b)
    for state, image in images.items():
        assert image.size == (SIZE, SIZE)
        assert image.getpixel((8, SIZE // 2)) == (*COLOURS[state], 255)
    assert len(set(COLOURS.values())) == len(AgentState)


def test_the_working_icon_fills_a_ring_with_the_percent() -> None:
    plain = draw_icon(AgentState.WORKING)
    half = draw_icon(AgentState.WORKING, 50)
    full = draw_icon(AgentState.WORKING, 100)
    assert len({plain.tobytes(), half.tobytes(), full.tobytes()}) == 3
    white = (255, 255, 255, 255)
    # The ring passes 3 o'clock at 25 %, 9 o'clock at 75 %.
    right, left = (SIZE - 10, SIZE // 2), (9, SIZE // 2)
    assert half.getpixel(right) == white and half.getpixel(left) != white
    assert full.getpixel(right) == white and full.getpixel(left) == white


def test_the_percent_is_the_least_advanced_upload_and_only_while_working() -> None:
    working = snap(AgentState.WORKING, uploads=(("a.pdf", 80), ("b.pdf", 30)))
    assert current_percent(working) == 30
    assert icon_key(working) == (AgentState.WORKING, 30)
    assert current_percent(snap(AgentState.PAUSED, uploads=(("a.pdf", 80),))) is None
    assert current_percent(snap(AgentState.WORKING)) is None


def test_tooltips_name_the_state_and_the_counts() -> None:
    folders = (
        FolderStatus(key="w/rd_a", folder="w/rd_a", waiting=2, failed=3),
        FolderStatus(key="w/inbox", folder="w/inbox", needs_routing=1),
    )
    text = tooltip(snap(AgentState.ATTENTION, folders=folders))
    assert text == "Kompliant agent: attention: 2 to do, 3 failed, 1 need routing"
    assert tooltip(snap(AgentState.IDLE)) == "Kompliant agent: idle"
    sending = tooltip(snap(AgentState.WORKING, uploads=(("big.pdf", 42),)))
    assert "sending big.pdf 42%" in sending


def test_a_long_problem_is_cut_to_what_tray_hosts_show() -> None:
    text = tooltip(snap(AgentState.ERROR, problems=("x" * 500,)))
    assert len(text) == 120 and text.endswith("…")
