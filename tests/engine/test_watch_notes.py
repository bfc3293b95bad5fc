"""The status's words for files that wait, pipes, polled folders and files given up."""

from __future__ import annotations

from pathlib import Path

from agent.content.filetype import Kind
from agent.engine.watch_notes import given_up_note, polled_lines, waiting_lines
from agent.watch.polling import PolledFolder
from agent.watch.readiness import Readiness
from agent.watch.stability import StabilitySettings

SETTINGS = StabilitySettings(incomplete_seconds=600.0, quiet_seconds=2.0)
FOLDER = Path("/home/ann/Kompliant/Acme/Bank statements")


def test_each_waiting_file_gets_its_line() -> None:
    waiting = {
        FOLDER / "a.pdf": Readiness.INCOMPLETE,
        FOLDER / "b.pdf": Readiness.EMPTY,
        FOLDER / "c.pdf": Readiness.WRITING,
        FOLDER / "d.pdf": Readiness.CHANGING,
    }
    lines = waiting_lines(waiting, lambda _p: SETTINGS)
    assert lines[f"waiting:{FOLDER / 'a.pdf'}"].startswith("waiting: incomplete — a.pdf in ")
    assert "unchanged for 10 min" in lines[f"waiting:{FOLDER / 'a.pdf'}"]
    assert lines[f"waiting:{FOLDER / 'b.pdf'}"].startswith("waiting: empty — b.pdf")
    assert "open for writing" in lines[f"waiting:{FOLDER / 'c.pdf'}"]
    assert lines[f"waiting:{FOLDER / 'd.pdf'}"].startswith("waiting: still changing — d.pdf")


def test_polled_folders() -> None:
    polled = polled_lines([PolledFolder(FOLDER, 1.0, "nfs4", network=True)])
    assert polled == {f"polled:{FOLDER}": f"network folder — checked every 1 s: {FOLDER} (nfs4)"}


def test_the_note_of_a_file_given_up() -> None:
    problem, action = given_up_note(FOLDER / "a.pdf", Readiness.INCOMPLETE, Kind.PDF, SETTINGS)
    assert problem.startswith("a.pdf looks cut short: it is a PDF without its end")
    assert "10 minutes" in problem
    assert action.startswith("Save, scan or download it again")
    problem, action = given_up_note(FOLDER / "b.pdf", Readiness.EMPTY, None, SETTINGS)
    assert problem.startswith("b.pdf stayed empty (0 bytes) for 10 min")
    assert "Save or scan it again" in action
