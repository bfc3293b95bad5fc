"""ContentTurns: one holder per key, the others wait for their turn; other keys never wait."""

from __future__ import annotations

import threading

from agent.engine.same_content import ContentTurns


def test_a_second_holder_of_the_same_key_waits_until_the_first_is_done() -> None:
    turns = ContentTurns()
    order: list[str] = []
    second_started = threading.Event()

    def second() -> None:
        second_started.set()
        with turns.turn("sha"):
            order.append("second")

    with turns.turn("sha"):
        thread = threading.Thread(target=second)
        thread.start()
        assert second_started.wait(5)
        thread.join(0.2)  # bounded: it must still be waiting for its turn
        assert thread.is_alive()
        order.append("first")
    thread.join(5)
    assert not thread.is_alive()
    assert order == ["first", "second"]
    assert not turns.busy("sha")


def test_other_keys_do_not_wait_and_a_failure_gives_the_turn_back() -> None:
    turns = ContentTurns()
    with turns.turn("a"), turns.turn("b"):
        assert turns.busy("a") and turns.busy("b")
    try:
        with turns.turn("a"):
            raise RuntimeError("upload failed")
    except RuntimeError:
        pass
    assert not turns.busy("a")
    with turns.turn("a"):
        assert turns.busy("a")
