"""Tickers run their task beside the loop, wake on demand, survive a bug, and stop."""

from __future__ import annotations

import threading
import time

from agent.engine.beside import Ticker
from tests.kit.wait import wait_for


def test_a_ticker_calls_its_task_again_wakes_on_demand_and_survives_a_bug() -> None:
    calls: list[float] = []
    blocked = threading.Event()

    def task() -> float:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise RuntimeError("a bug in the task")
        if len(calls) == 4:
            blocked.set()
        return 3600.0  # sleep long: only wake() or the bug's retry brings the next call

    ticker = Ticker("test", task, after_a_bug=0.1)
    ticker.start()
    try:
        wait_for(lambda: len(calls) == 1, timeout=10, what="the first call")
        ticker.wake()
        wait_for(lambda: len(calls) == 2, timeout=10, what="the woken call (which raises)")
        wait_for(lambda: len(calls) == 3, timeout=10, what="a call soon after the bug")
        ticker.wake()
        wait_for(blocked.is_set, timeout=10, what="the fourth call")
    finally:
        started = time.monotonic()
        ticker.stop()
    assert time.monotonic() - started < 5
    assert len(calls) == 4
