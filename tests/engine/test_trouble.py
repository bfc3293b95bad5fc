"""Trouble besides "offline": the sentences, and what counts as which."""

from __future__ import annotations

import errno
from pathlib import Path

from agent.engine.trouble import (
    RoomWaits,
    ServerTrouble,
    duration,
    internal_error,
    is_disk_full,
    not_regular,
    server_status,
    volume_of,
)
from agent.errors import (
    AgentError,
    AmbiguousRequest,
    NetworkError,
    ServerError,
    UnexpectedResponse,
)


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (0.2, 35, 60, 4 * 60 + 59, 7199, 3 * 3600)] == [
        "1 s",
        "35 s",
        "1 min",
        "4 min",
        "119 min",
        "3 h",
    ]


def test_server_trouble_says_which_call_and_for_how_long_until_it_clears() -> None:
    trouble = ServerTrouble()
    assert trouble.sentence(0) is None
    trouble.seen("document.create", 500, now=100.0)
    trouble.seen("document.create", 502, now=200.0)
    sentence = trouble.sentence(now=100.0 + 4 * 60)
    assert sentence is not None
    assert sentence.startswith(
        "Kompliant answers errors (HTTP 502 from document.create for 4 min); retrying."
    )
    assert "unreachable" not in sentence and "network" not in sentence
    assert trouble.cleared() and not trouble.cleared()
    assert trouble.sentence(1000) is None


def _answered(error: AgentError, method: str = "document.create") -> AgentError:
    error.method = method  # as the client sets it
    return error


def test_what_counts_as_kompliant_answering_errors() -> None:
    assert server_status(_answered(ServerError("boom", http_status=500))) == 500
    assert server_status(_answered(AmbiguousRequest("maybe", http_status=504))) == 504
    assert server_status(_answered(UnexpectedResponse("proxy page", http_status=502))) == 502
    assert server_status(_answered(AmbiguousRequest("no answer"))) is None  # the network
    assert server_status(_answered(NetworkError("down"))) is None
    assert server_status(_answered(ServerError("odd", http_status=None))) is None
    assert server_status(ServerError("the upload store", http_status=500)) is None  # no call


def test_files_waiting_for_room_are_counted_per_volume() -> None:
    waits = RoomWaits()
    share, local = Path("/media/share"), Path("/")
    waits.wait(1, share)
    waits.wait(2, share)
    waits.wait(3, local)
    assert (waits.sentence(share) or "").startswith(
        "disk full: 2 files wait for room on /media/share."
    )
    assert (waits.sentence(local) or "").startswith("disk full: 1 file waits for room on /.")
    assert waits.done(3) == local and waits.sentence(local) is None
    assert waits.done(3) is None


def test_a_full_disk_is_told_by_its_errno(tmp_path: Path) -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("x"))
    assert volume_of(tmp_path / "not" / "there") == volume_of(tmp_path)
    assert volume_of(Path("/")) == Path("/")


def test_a_bug_asks_for_a_report_and_gives_no_network_advice(tmp_path: Path) -> None:
    text = internal_error("scan.pdf", KeyError("x"), tmp_path / "agent.log")
    assert text.startswith("internal error while handling scan.pdf: KeyError")
    assert str(tmp_path / "agent.log") in text and "report" in text
    assert "network" not in text.replace("not a problem with the file or the network", "")
    assert not_regular(Path("/w/x.pdf"), "a named pipe (FIFO)").startswith(
        "not a regular file: x.pdf in /w is a named pipe (FIFO)"
    )
