"""Processes and threads that race each other: started together, their answers collected."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def start_race(
    processes: Sequence[subprocess.Popen[str]], ready: Sequence[Path], go: Path, *, who: str
) -> None:
    """Touch ``go`` once every process has made its ``ready`` flag (it has imported the
    agent): otherwise the first one up can win everything before the others run. Fails
    the test when one of ``who`` dies or they are not all up within 60 s."""
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready):
        assert time.monotonic() < deadline, f"the {who} processes did not start"
        assert all(p.poll() is None for p in processes), f"a {who} process died"
        time.sleep(0.01)
    go.touch()


def race_results(processes: Sequence[subprocess.Popen[str]]) -> list[list[str]]:
    """The words each process printed, once it has ended well (the test fails otherwise)."""
    results = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        results.append(out.split())
    return results


def in_threads(work: Callable[[T], object], items: Iterable[T], *, timeout: float = 30.0) -> None:
    """``work(item)`` for every item, each on a thread of its own, all started before the
    first is joined (each join bounded by ``timeout``)."""
    threads = [threading.Thread(target=work, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
