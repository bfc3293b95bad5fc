"""What an upload process tells the engine waits for its next ask or answer."""

from __future__ import annotations

import logging
import multiprocessing
from multiprocessing.connection import Connection as PipeEnd

from agent.engine import upload_process
from agent.engine.upload_wire import (
    BATCH,
    LOG,
    PROGRESS,
    RAISED,
    SETTLED,
    TELL_EVERY,
    TURN,
    TURN_END,
    Outbox,
    receive,
)
from agent.errors import RetryLater
from tests.kit.clock import FakeClock


def pipe() -> tuple[PipeEnd, PipeEnd]:
    return multiprocessing.Pipe()


def test_what_is_told_goes_with_the_answer_in_one_message() -> None:
    ours, theirs = pipe()
    outbox = Outbox(theirs, clock=FakeClock())
    outbox.tell(PROGRESS, 1024, 2048)
    outbox.tell(PROGRESS, 2048, 2048)  # replaces the earlier one
    outbox.tell(LOG, {"msg": "moved"})
    outbox.tell(TURN_END, "key")
    assert not ours.poll()  # nothing sent yet

    outbox.send(SETTLED, "settled", None)

    assert receive(ours) == (
        BATCH,
        [
            (PROGRESS, 2048, 2048),
            (LOG, {"msg": "moved"}),
            (TURN_END, "key"),
            (SETTLED, "settled", None),
        ],
    )
    assert not ours.poll()


def test_an_ask_alone_goes_as_it_is() -> None:
    ours, theirs = pipe()
    outbox = Outbox(theirs, clock=FakeClock())
    outbox.send(TURN, "key")
    assert receive(ours) == (TURN, "key")


def test_what_is_told_goes_once_it_waited_long_enough() -> None:
    ours, theirs = pipe()
    clock = FakeClock()
    outbox = Outbox(theirs, clock=clock)
    outbox.tell(PROGRESS, 1, 100)
    clock.advance(TELL_EVERY / 2)
    outbox.tell(PROGRESS, 2, 100)
    assert not ours.poll()
    clock.advance(TELL_EVERY / 2)
    outbox.tell(PROGRESS, 3, 100)  # the first one waited TELL_EVERY: all goes now
    assert receive(ours) == (PROGRESS, 3, 100)
    outbox.tell(LOG, {"msg": "a"})
    outbox.flush()
    assert receive(ours) == (LOG, {"msg": "a"})
    outbox.flush()  # nothing waits: nothing is sent
    assert not ours.poll()


def test_a_warning_goes_at_once_an_info_line_with_the_next_message() -> None:
    ours, theirs = pipe()
    outbox = Outbox(theirs, clock=FakeClock())
    handler = upload_process._ToEngine()
    upload_process._slot.outbox = outbox
    try:
        logger = logging.getLogger("agent.test.upload_wire")
        info = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "moved %s", ("a",), None)
        warning = logger.makeRecord(logger.name, logging.WARNING, __file__, 2, "odd", (), None)
        handler.emit(info)
        assert not ours.poll()
        handler.emit(warning)
        kind, messages = receive(ours)
    finally:
        del upload_process._slot.outbox
    assert kind == BATCH
    assert [(m[0], m[1]["msg"], m[1]["levelname"]) for m in messages] == [
        (LOG, "moved a", "INFO"),
        (LOG, "odd", "WARNING"),
    ]


class _Refused(RetryLater):
    """An error whose constructor takes other arguments than its state."""

    def __init__(self, file_name: str) -> None:
        super().__init__(f"{file_name} was refused", code="REFUSED", retry_after=7.0)
        self.file_name = file_name


def test_an_error_in_a_batch_arrives_whole() -> None:
    ours, theirs = pipe()
    outbox = Outbox(theirs, clock=FakeClock())
    outbox.tell(LOG, {"msg": "tried"})
    outbox.send(RAISED, _Refused("march.pdf"), None)

    kind, messages = receive(ours)

    assert kind == BATCH and messages[0] == (LOG, {"msg": "tried"})
    raised, error, read = messages[1]
    assert raised == RAISED and read is None
    assert isinstance(error, _Refused)
    assert (error.message, error.code, error.retry_after, error.file_name) == (
        "march.pdf was refused",
        "REFUSED",
        7.0,
        "march.pdf",
    )
