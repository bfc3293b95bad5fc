"""What the engine and an upload process say to each other over a pipe, and how.

Messages are tuples whose first item names them (the constants below), pickled with
:func:`dumps`, which carries every :class:`~agent.errors.AgentError` whole — its class,
message, hint, code, retry hint and whatever else it holds (a partial link's errors
inside it too) — whatever arguments its class's constructor takes. Credentials go over
the pipe once, at the start, never on a command line or in the environment.

The engine to a process, on a slot's pipe::

    (RUN, entry, job, read, taken_over, interrupted, turn)   one file through the pipeline
    (LOCATED, entry | None)   (TURN_GIVEN,)   (GONE_SAID, text)   answers to its asks

and once, on the first slot's pipe: ``(SETUP, Setup)``. A process to the engine::

    (PROGRESS, sent, total)  (LOG, record)  (TURN_END, key)            told
    (LOCATE, entry)  (GONE, entry)  (TURN, key)                        asked
    (SETTLED, settled, read)  (RAISED, error, read, taken_over_left)   the answer
    (BATCH, [message, ...])   told messages gathered, with the ask or answer after them

What is only told waits in the process for the next ask or answer and goes with it in
one ``BATCH`` (a small file's progress, its log lines and the end of its turn ride with
its answer: one message, one wake-up of the engine's worker, instead of four); a warning
goes at once, and what is told goes at least every :data:`TELL_EVERY` seconds while more
is told (a large upload's progress).
"""

from __future__ import annotations

import io
import logging
import pickle
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.errors import AgentError
from agent.kompliant.auth import Credentials

SETUP = "setup"
RUN = "run"
LOCATE = "locate"
LOCATED = "located"
GONE = "gone"
GONE_SAID = "gone-said"
TURN = "turn"
TURN_GIVEN = "turn-given"
TURN_END = "turn-end"
PROGRESS = "progress"
LOG = "log"
SETTLED = "settled"
RAISED = "raised"
BATCH = "batch"

TELL_EVERY = 0.25  # seconds what is told may wait for an ask or an answer to go with


class Connection(Protocol):
    """One end of a ``multiprocessing`` pipe (a ``Connection``, or on Windows a
    ``PipeConnection``)."""

    def send_bytes(self, buf: bytes) -> None: ...

    def recv_bytes(self) -> bytes: ...

    def send(self, obj: Any) -> None: ...

    def recv(self) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Setup:
    """What an upload process needs to run the pipeline like the engine would."""

    credentials: Credentials
    journal: Path
    verify_timeout: float
    log_levels: dict[str, int]  # the engine's loggers that have a level of their own ("": root)
    uploads: int = 1  # how many of the process's files talk to Kompliant at once


def log_levels() -> dict[str, int]:
    """The levels the engine's loggers are set to, for an upload process to log alike."""
    levels = {"": logging.getLogger().level}
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return levels


class ProcessGone(Exception):
    """The upload process at the other end of the pipe is gone (killed, or stopped)."""


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, AgentError):  # not through its constructor: its state as it is
            return _rebuild, (type(obj), obj.args, obj.__dict__)
        return NotImplemented


def dumps(message: tuple[Any, ...]) -> bytes:
    """``message`` pickled; one that carries an error (the only place one travels:
    ``RAISED``) through the pickler that keeps an AgentError whole, the others (nearly
    all) by the plain pickler, which calls no Python code for each object it meets."""
    if not _carries_error(message):
        return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
    return buffer.getvalue()


def _carries_error(message: tuple[Any, ...]) -> bool:
    kind = message[0] if message else None
    if kind == BATCH:
        return any(_carries_error(told) for told in message[1])
    return kind not in _WITHOUT_ERRORS


#: The messages that never carry an error (anything else goes through :class:`_Pickler`).
_WITHOUT_ERRORS = frozenset(
    {RUN, LOCATE, LOCATED, GONE, GONE_SAID, TURN, TURN_GIVEN, TURN_END, PROGRESS, LOG, SETTLED}
)


def send(conn: Connection, *message: Any) -> None:
    try:
        conn.send_bytes(dumps(message))
    except (OSError, EOFError) as error:
        raise ProcessGone(str(error)) from None


def send_all(conn: Connection, messages: list[tuple[Any, ...]]) -> None:
    """``messages`` in one go: one as it is, more as a ``BATCH``."""
    if len(messages) == 1:
        send(conn, *messages[0])
    else:
        send(conn, BATCH, messages)


class Outbox:
    """A process's side of one slot's pipe: what is told waits for the next ask or answer
    (or :data:`TELL_EVERY`); used by the slot's thread only."""

    def __init__(self, conn: Connection, clock: Callable[[], float] = time.monotonic) -> None:
        self.conn = conn
        self._clock = clock
        self._told: list[tuple[Any, ...]] = []
        self._since = 0.0  # when the oldest message waiting was told

    def tell(self, *message: Any) -> None:
        """``message`` goes with the next one sent; a later progress replaces an earlier."""
        told = self._told
        if not told:
            self._since = self._clock()
        elif message[0] == PROGRESS and told[-1][0] == PROGRESS:
            told.pop()
        told.append(message)
        if self._clock() - self._since >= TELL_EVERY:
            self.flush()

    def send(self, *message: Any) -> None:
        """``message`` (an ask or the answer) now, after what waits."""
        messages, self._told = [*self._told, message], []
        send_all(self.conn, messages)

    def flush(self) -> None:
        """What waits, now."""
        if self._told:
            messages, self._told = self._told, []
            send_all(self.conn, messages)


def receive(conn: Connection) -> tuple[Any, ...]:
    try:
        message = pickle.loads(conn.recv_bytes())
    except (OSError, EOFError) as error:
        raise ProcessGone(str(error) or "the pipe was closed") from None
    assert isinstance(message, tuple)
    return message


def portable(error: BaseException) -> BaseException:
    """``error`` itself when it goes over the pipe and back; else a RuntimeError that
    names it (a bug's own exception that does not pickle)."""
    try:
        pickle.loads(dumps((error,)))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def log_record(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as plain data: its message made, its traceback as text."""
    text = record.getMessage()
    if record.exc_info and record.exc_info[0] is not None:
        text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
    return {
        "name": record.name,
        "levelno": record.levelno,
        "levelname": record.levelname,
        "msg": text,
        "created": record.created,
        "msecs": record.msecs,
        "pathname": record.pathname,
        "lineno": record.lineno,
        "funcName": record.funcName,
        "threadName": record.threadName,
        "processName": record.processName,
        "process": record.process,
    }
