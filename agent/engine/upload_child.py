"""One upload process seen from the engine: started with its pipes, told to stop, ended.

A process is started with the ``spawn`` start method (a fresh interpreter: nothing of
the engine's threads or open files is inherited), with one pipe per slot and a lifeline
only the engine holds (:func:`agent.engine.upload_process.serve`): its setup goes down
the first pipe at once, so the process is ready for a file as soon as its imports are
done. :mod:`agent.engine.upload_pool` decides when each starts and ends.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess

from agent.engine.upload_process import STOP, serve
from agent.engine.upload_wire import SETUP, Connection, Setup, send

STOP_WAIT = 10.0  # seconds a stopping process is given to end before it is ended


@dataclass
class Child:
    process: BaseProcess
    conns: list[Connection]
    lifeline: Connection


def spawn(context: SpawnContext, index: int, slots: int, setup: Setup) -> Child:
    """Upload process number ``index`` (from 0) with ``slots`` pipes, set up."""
    pairs = [context.Pipe() for _ in range(slots)]
    lifeline_in, lifeline_out = context.Pipe(duplex=False)
    process = context.Process(
        target=serve,
        args=([theirs for _, theirs in pairs], lifeline_in),
        name=f"kompliant-upload-{index + 1}",
        daemon=True,
    )
    process.start()
    for _, theirs in pairs:  # only the process holds its ends: its death ends our reads
        theirs.close()
    lifeline_in.close()
    mine: list[Connection] = [ours for ours, _ in pairs]
    send(mine[0], SETUP, setup)
    return Child(process, mine, lifeline_out)


def _tell_stop(child: Child) -> None:
    """Tell ``child`` to stop once its slots are closed (its files are done)."""
    with contextlib.suppress(OSError):
        child.lifeline.send(STOP)
    for conn in child.conns:
        conn.close()


def stop_all(children: list[Child]) -> None:
    """Stop ``children`` (their files are done) and wait for them: all are told first, so
    that they end side by side."""
    for child in children:
        _tell_stop(child)
    for child in children:
        child.process.join(STOP_WAIT)
        end(child)


def end(child: Child) -> None:
    """Make sure ``child`` is gone and its pipes closed."""
    if child.process.is_alive():
        child.process.kill()
        child.process.join(STOP_WAIT)
    for conn in (*child.conns, child.lifeline):
        conn.close()
