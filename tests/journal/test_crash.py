"""A journal writer killed with SIGKILL mid-batch leaves every entry at a step it fully
reached, with exactly that step's results — and a resume never repeats a finished step."""

from __future__ import annotations

import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from agent.journal import Entry, Journal, Outcome, Step
from tests.journal.helpers import python
from tests.kit.processes import reaped

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

WRITER = """
import sys
from pathlib import Path
from agent.journal import Journal, Outcome, Step

path = Path(sys.argv[1])
with Journal.open(path) as j:
    for i in range(100_000):
        e = j.begin(Path(f"/in/f{i}.pdf"), folder_key="k", workflow_id="w",
                    required_document_ids=["rd_a", "rd_b"])
        j.advance(e.id, Step.STABLE, claimed_path=Path(f"/in/.processing/f{i}.pdf"),
                  size=i, mtime_ns=i)
        j.advance(e.id, Step.HASHED, sha256=f"sha{i}")
        j.advance(e.id, Step.CREATED, document_id=f"d_{i}")
        j.advance(e.id, Step.UPLOADED)
        j.advance(e.id, Step.VERIFIED)
        j.record_fulfillments(e.id, {"rd_a": f"f_{i}_a"})
        j.advance(e.id, Step.LINKED, fulfillments={"rd_b": f"f_{i}_b"})
        j.settle(e.id, Outcome.DONE, Path(f"/in/done/f{i}.pdf"), "uploaded and linked")
"""


PROGRESS_SQL = "SELECT COALESCE(SUM(CASE step {}  END), 0) FROM entries".format(
    " ".join(f"WHEN '{step.value}' THEN {step.order + 1}" for step in Step)
)


def committed_steps(path: Path) -> int:
    """How many steps the writer has committed so far (read from outside)."""
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute(PROGRESS_SQL).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def assert_consistent(entry: Entry) -> None:
    """The results present are exactly those of the steps reached."""
    i = int(entry.file_name[1:-4])
    step = entry.step
    assert entry.size == (i if step >= Step.STABLE else None), entry
    assert entry.sha256 == (f"sha{i}" if step >= Step.HASHED else None), entry
    assert entry.document_id == (f"d_{i}" if step >= Step.CREATED else None), entry
    if step >= Step.LINKED:
        assert entry.fulfillments == {"rd_a": f"f_{i}_a", "rd_b": f"f_{i}_b"}, entry
    else:
        assert set(entry.fulfillments) <= {"rd_a"}, entry
    assert (entry.outcome is Outcome.DONE) == (step is Step.SETTLED), entry


def resume(journal: Journal, entry: Entry, calls: list[tuple[int, Step]]) -> None:
    """What the engine does after a restart: only the steps after the recorded one."""
    i = int(entry.file_name[1:-4])
    plan = [
        (
            Step.STABLE,
            {"claimed_path": Path(f"/in/.processing/f{i}.pdf"), "size": i, "mtime_ns": i},
        ),
        (Step.HASHED, {"sha256": f"sha{i}"}),
        (Step.CREATED, {"document_id": f"d_{i}"}),
        (Step.UPLOADED, {}),
        (Step.VERIFIED, {}),
        (Step.LINKED, {"fulfillments": {"rd_a": f"f_{i}_a", "rd_b": f"f_{i}_b"}}),
    ]
    for step, results in plan:
        if not entry.reached(step):
            calls.append((entry.id, step))
            entry = journal.advance(entry.id, step, **results)  # type: ignore[arg-type]
    journal.settle(entry.id, Outcome.DONE, Path(f"/in/done/f{i}.pdf"), "uploaded and linked")


# thresholds chosen to land on different steps of the 8-step cycle
@pytest.mark.parametrize("kill_after", [1, 10, 19, 28, 37, 46, 55, 64])
def test_sigkill_mid_batch_leaves_only_whole_steps(tmp_path: Path, kill_after: int) -> None:
    path = tmp_path / "journal.sqlite3"
    with reaped(python(WRITER, str(path))) as writer:
        deadline = time.monotonic() + 30
        while committed_steps(path) < kill_after:
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
            assert time.monotonic() < deadline, "the writer made no progress"
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL

    with Journal.open(path) as journal:
        rows = journal._select("SELECT * FROM entries ORDER BY id")
        assert sum(e.step.order + 1 for e in rows) >= kill_after
        assert [e.file_name for e in rows] == [f"f{n}.pdf" for n in range(len(rows))]
        for entry in rows:
            assert_consistent(entry)
        open_entries = journal.unsettled()
        assert len(open_entries) <= 1  # one file at a time, so at most the last one

        calls: list[tuple[int, Step]] = []
        for entry in open_entries:
            resume(journal, entry, calls)
        # no step a crashed entry had finished was done again
        for entry_id, step in calls:
            before = next(e for e in open_entries if e.id == entry_id)
            assert step > before.step
        for entry in journal._select("SELECT * FROM entries ORDER BY id"):
            assert entry.settled
            assert_consistent(entry)
