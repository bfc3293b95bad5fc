"""done/ and failed/: names kept, nothing overwritten, readable notes, the file never lost."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.errors import FileProblem, RetryLater
from agent.owned_names import AGENT_OWNED
from agent.settle import (
    DoneRecord,
    Fulfilled,
    MoveFailed,
    find_done,
    retry_failed,
    settle_done,
    settle_failed,
)
from tests.conftest import fill_up, small_tmpfs
from tests.kit.readonly import make_read_only, make_writable
from tests.settle.files import claimed

T0 = datetime(2025, 3, 24, 12, 0, 5, tzinfo=UTC)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
BANK = Fulfilled("rd_BankStatements00000001", "Bank statements", "f_1")
ADDRESS = Fulfilled("rd_ProofOfAddress0000001", "Proof of address", "f_2")


def record(**kw: object) -> DoneRecord:
    args: dict[str, object] = {
        "document_id": "d_123",
        "sha256": SHA,
        "size": 9,
        "fulfillments": (BANK, ADDRESS),
        "settled_at": T0,
    }
    args.update(kw)
    return DoneRecord(**args)  # type: ignore[arg-type]


def test_done_keeps_the_name_and_writes_a_receipt(tmp_path: Path) -> None:
    taken = claimed(tmp_path)
    final = settle_done(taken, record())
    assert final == tmp_path / AGENT_OWNED.done_dir / "report.pdf"
    assert final.read_text() == "pdf bytes"
    assert (
        list((tmp_path / AGENT_OWNED.processing_dir).iterdir()) == []
    )  # file and claim record gone
    receipt = (tmp_path / AGENT_OWNED.done_dir / "report.pdf.receipt.txt").read_text()
    assert receipt == (
        "kompliant-agent receipt for report.pdf\n"
        "\n"
        "Uploaded to Kompliant as document d_123.\n"
        "Linked to:\n"
        "  Bank statements (rd_BankStatements00000001): fulfillment f_1\n"
        "  Proof of address (rd_ProofOfAddress0000001): fulfillment f_2\n"
        f"SHA-256: {SHA}\n"
        "Size: 9 bytes\n"
        "Time: 2025-03-24T12:00:05Z\n"
    )
    assert sorted(os.listdir(tmp_path / AGENT_OWNED.done_dir)) == [
        "report.pdf",
        "report.pdf.receipt.txt",
    ]


def test_a_duplicate_receipt_names_the_matching_document(tmp_path: Path) -> None:
    final = settle_done(claimed(tmp_path), record(duplicate=True, fulfillments=(BANK,)))
    receipt = final.with_name(final.name + ".receipt.txt").read_text()
    assert "Not uploaded again: same content as document d_123." in receipt
    assert "Uploaded to Kompliant" not in receipt


def test_an_upload_only_receipt_says_so(tmp_path: Path) -> None:
    final = settle_done(claimed(tmp_path), record(fulfillments=()))
    receipt = final.with_name(final.name + ".receipt.txt").read_text()
    assert "Not linked to any required document (upload only)." in receipt


def test_many_same_name_files_never_overwrite(tmp_path: Path) -> None:
    for n in range(15):
        settle_done(claimed(tmp_path, content=f"version {n}"), record(document_id=f"d_{n}"))
    done = tmp_path / AGENT_OWNED.done_dir
    files = sorted(p for p in done.iterdir() if not p.name.endswith(".receipt.txt"))
    expected = ["report.pdf"] + [f"report ({n}).pdf" for n in range(2, 16)]
    assert sorted(p.name for p in files) == sorted(expected)
    for path in files:  # each receipt belongs to its own file
        n = int(path.read_text().split()[-1])
        receipt = path.with_name(path.name + ".receipt.txt").read_text()
        assert f"document d_{n}." in receipt
        assert "receipt for report.pdf" in receipt


def test_a_leftover_receipt_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / AGENT_OWNED.done_dir).mkdir(parents=True)
    (tmp_path / AGENT_OWNED.done_dir / "report.pdf.receipt.txt").write_text("someone else's")
    final = settle_done(claimed(tmp_path), record())
    assert final.name == "report (2).pdf"
    assert (
        tmp_path / AGENT_OWNED.done_dir / "report.pdf.receipt.txt"
    ).read_text() == "someone else's"
    assert (tmp_path / AGENT_OWNED.done_dir / "report (2).pdf.receipt.txt").exists()


def test_failed_writes_what_happened_and_what_to_do(tmp_path: Path) -> None:
    final = settle_failed(
        claimed(tmp_path, "scan.gif"),
        "Kompliant does not accept .gif files.",
        "Save it as PDF, JPG or PNG and drop it in again.",
        at=T0,
    )
    assert final == tmp_path / AGENT_OWNED.failed_dir / "scan.gif"
    text = (tmp_path / AGENT_OWNED.failed_dir / "scan.gif.error.txt").read_text()
    assert text == (
        "kompliant-agent could not upload scan.gif\n"
        "\n"
        "What went wrong: Kompliant does not accept .gif files.\n"
        "What to do: Save it as PDF, JPG or PNG and drop it in again.\n"
        "\n"
        f"To try again, move scan.gif back into {tmp_path}\n"
        "or run `kompliant-agent retry` (it does so for every file in failed/).\n"
        "Time: 2025-03-24T12:00:05Z\n"
    )


def test_error_notes_never_carry_credentials(tmp_path: Path) -> None:
    token = "snyemajLjsUj3H6Y3AnZp3JbTlLBeDYLoV18w1VMKuXoWo8dwTevCa37"
    settle_failed(claimed(tmp_path), f"gateway echoed X-API-Auth-Token: {token}", "Check it.")
    text = (tmp_path / AGENT_OWNED.failed_dir / "report.pdf.error.txt").read_text()
    assert token not in text and "[redacted]" in text


def test_retry_moves_files_back_and_puts_notes_aside(tmp_path: Path) -> None:
    settle_failed(claimed(tmp_path, "a.pdf", "A"), "p", "a")
    settle_failed(claimed(tmp_path, "b.pdf", "B"), "p", "a")
    settle_failed(claimed(tmp_path, "b.pdf", "B2"), "p", "a")  # failed/b (2).pdf
    gone = settle_failed(claimed(tmp_path, "c.pdf", "C"), "p", "a")
    gone.rename(tmp_path / "elsewhere.pdf")  # the user moved it back by hand
    (tmp_path / "a.pdf").write_text("a newer a.pdf")  # its old name is taken again

    back = retry_failed(tmp_path)

    assert sorted(p.name for p in back) == ["a (2).pdf", "b (2).pdf", "b.pdf"]
    assert (tmp_path / "a (2).pdf").read_text() == "A"
    assert (tmp_path / "a.pdf").read_text() == "a newer a.pdf"
    assert {(tmp_path / "b.pdf").read_text(), (tmp_path / "b (2).pdf").read_text()} == {
        "B",
        "B2",
    }
    failed = tmp_path / AGENT_OWNED.failed_dir
    assert os.listdir(failed) == [AGENT_OWNED.retried_dir]
    assert sorted(os.listdir(failed / AGENT_OWNED.retried_dir)) == [
        "a.pdf.error.txt",
        "b (2).pdf.error.txt",
        "b.pdf.error.txt",
        "c.pdf.error.txt",
    ]
    # a second retry of the same names keeps the earlier notes
    settle_failed(claimed(tmp_path, "a.pdf", "again"), "p", "a")  # claims "a.pdf"
    retry_failed(tmp_path)
    assert "a.pdf (2).error.txt" in os.listdir(failed / AGENT_OWNED.retried_dir)


def test_retry_with_no_failed_folder(tmp_path: Path) -> None:
    assert retry_failed(tmp_path) == []


@pytest.mark.parametrize("outcome", ["done", "failed"])
def test_a_full_disk_leaves_the_file_claimed(tmp_path: Path, outcome: str) -> None:
    taken = claimed(tmp_path)
    mp = pytest.MonkeyPatch()
    try:

        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        mp.setattr(os, "fsync", full)  # the sidecar cannot reach the disk
        with pytest.raises(MoveFailed) as caught:
            if outcome == "done":
                settle_done(taken, record())
            else:
                settle_failed(taken, "p", "a")
    finally:
        mp.undo()
    assert isinstance(caught.value, RetryLater)
    message = caught.value.describe()
    assert "No space left on device" in message
    assert "Free some space on the disk" in message and "tries again" in message
    assert taken.path.read_text() == "pdf bytes" and taken.record_path.exists()
    target = tmp_path / (AGENT_OWNED.done_dir if outcome == "done" else AGENT_OWNED.failed_dir)
    assert os.listdir(target) == []  # no half-written note left behind
    # once there is space again, the same claim settles
    assert settle_done(taken, record()).read_text() == "pdf bytes"


def test_a_file_that_vanished_from_processing(tmp_path: Path) -> None:
    taken = claimed(tmp_path)
    taken.path.unlink()
    with pytest.raises(FileProblem, match="disappeared"):
        settle_done(taken, record())


def test_a_read_only_folder_leaves_the_file_claimed(tmp_path: Path) -> None:
    folder = tmp_path / "Bank statements"
    taken = claimed(folder)
    if not make_read_only(folder):
        pytest.skip("cannot make a folder read-only here")
    try:
        with pytest.raises(MoveFailed) as caught:
            settle_done(taken, record())
        assert not (folder / AGENT_OWNED.done_dir).exists()
    finally:
        make_writable(folder)
    message = caught.value.describe()
    assert "Could not move report.pdf into done/" in message
    assert f"Let the agent write to {folder / AGENT_OWNED.done_dir}" in message
    assert taken.path.read_text() == "pdf bytes" and taken.record_path.exists()
    assert settle_done(taken, record()).read_text() == "pdf bytes"  # fixed → settles


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB filesystem (tmpfs), where root may mount one."""
    with small_tmpfs(tmp_path / "disk", "256k") as mount_point:
        yield mount_point


def test_a_really_full_disk_leaves_the_file_claimed(small_disk: Path) -> None:
    taken = claimed(small_disk / "Bank statements")
    filler = fill_up(small_disk)
    with pytest.raises(MoveFailed, match="No space left on device"):
        settle_done(taken, record())
    assert taken.path.read_text() == "pdf bytes" and taken.record_path.exists()
    filler.unlink()
    assert settle_done(taken, record()).read_text() == "pdf bytes"


def test_find_done_after_a_crash_before_the_journal_heard_of_it(tmp_path: Path) -> None:
    assert find_done(tmp_path, "d_1") is None
    settle_done(claimed(tmp_path, content="one"), record(document_id="d_1"))
    dup = settle_done(claimed(tmp_path, content="one"), record(document_id="d_1", duplicate=True))
    second = settle_done(claimed(tmp_path, content="two"), record(document_id="d_12"))
    found = find_done(tmp_path, "d_1")
    assert found == tmp_path / AGENT_OWNED.done_dir / "report.pdf" and found != dup
    assert find_done(tmp_path, "d_12") == second
    assert find_done(tmp_path, "d_9") is None
