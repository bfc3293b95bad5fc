"""Bad content against a running agent: each ends with a clear note and nothing lost.

Cut short (PDF, JPEG, PNG), grown after its upload, rewritten again and again, a named
pipe or a device named like a document, a password-protected PDF. (Empty files and types
that lie about their extension are in test_bad_input.py with the rest of the catalogue.)
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Callable

import pytest

from agent.owned_names import AGENT_OWNED
from agent.sandbox import SandboxSettings
from tests.engine.badkit import settled
from tests.engine.conftest import AgentHome, Kompliant, wait_for
from tests.engine.writerkit import Run, start
from tests.realwriters import documents
from tests.realwriters.servers import require


@pytest.fixture
def run(agent_home: AgentHome, kompliant: Kompliant) -> Run:
    return start(agent_home, kompliant)


def problems(run: Run) -> list[str]:
    return [str(p) for p in run.home.status_file().get("problems", [])]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (documents.pdf, "a PDF"),
        (documents.jpeg, "a JPEG image"),
        (documents.png, "a PNG image"),
    ],
    ids=["pdf", "jpeg", "png"],
)
def test_a_truncated_file_waits_then_fails_as_cut_short(
    agent_home: AgentHome, kompliant: Kompliant, make: Callable[[str, int], bytes], words: str
) -> None:
    run = start(agent_home, kompliant, incomplete_seconds=3.0)
    suffix = {"a PDF": "pdf", "a JPEG image": "jpg", "a PNG image": "png"}[words]
    name = f"truncated.{suffix}"
    cut = documents.cut_short(make("truncated", 200_000), 0.6)
    (run.bank / name).write_bytes(cut)
    wait_for(
        lambda: any(f"waiting: incomplete — {name}" in p for p in problems(run)),
        what=f"{name} shown as waiting: incomplete",
        process=run.agent.process,
    )
    found = run.outcome(name, timeout=30)
    assert found.kind == "failed"
    assert found.path.read_bytes() == cut  # nothing lost: the file as it was
    assert f"{name} looks cut short: it is {words} without its end" in found.what()
    assert "Save, scan or download it again" in found.todo()
    assert "try again" not in found.note.lower() and "retry" not in found.note.lower()
    assert run.creates() == 0 and kompliant.documents() == []
    # the status is written again within half a second of a change of what waits
    wait_for(
        lambda: not any(p.startswith("waiting:") and name in p for p in problems(run)),
        what=f"the status to stop saying {name} waits",
        process=run.agent.process,
    )


@pytest.mark.parametrize(
    "sandbox_settings", [SandboxSettings(completion_delay=2.0)], ids=["slow-completion"]
)
def test_a_file_that_grows_after_its_upload_is_sent_again_and_the_stale_document_deleted(
    run: Run,
) -> None:
    """The upload is done and Kompliant is still confirming it (2 s) when the claimed
    file grows: before the move to done/ the agent sees it changed, deletes the stale
    document and sends the whole file; the receipt and Kompliant both hold the whole."""
    first = documents.pdf("version one", 100_000)
    (run.bank / "growing.pdf").write_bytes(first)
    processing = run.bank / ".processing"
    claimed = wait_for(
        lambda: (
            next((p for p in processing.glob("*growing*.pdf")), None)
            if run.creates() >= 1
            else None
        ),
        what="growing.pdf claimed and its document created",
        process=run.agent.process,
    )
    update = b"\n% an incremental update appended after the upload\n%%EOF\n"
    with claimed.open("ab") as handle:
        handle.write(update)
    run.one_document("growing.pdf", first + update)  # one live document: the whole file
    assert run.creates() == 2  # the first, stale one was deleted


def test_a_file_rewritten_again_and_again_waits_saying_so_then_goes_once(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    """A program that saves the same file every 50 ms: it never stays unchanged for the
    confirmation, so it waits (status: still changing) and goes once the program stops —
    as its last version, once."""
    run = start(agent_home, kompliant, max_wait_seconds=1.0)
    path = run.bank / "autosave.pdf"
    deadline = time.monotonic() + 4.0
    version = 0
    while time.monotonic() < deadline:
        version += 1
        path.write_bytes(documents.pdf(f"autosave {version}", 20_000 + version))
        time.sleep(0.05)
        if version == 30:
            assert any("still changing — autosave.pdf" in p for p in problems(run)), problems(run)
    last = documents.pdf(f"autosave {version}", 20_000 + version)
    run.one_document("autosave.pdf", last)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_device_named_like_a_document_is_left_in_place_with_a_status_line(
    run: Run, kind: str
) -> None:
    special = run.bank / "x.pdf"
    if kind == "fifo":
        os.mkfifo(special)
    else:
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(special, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # as /dev/null
    wait_for(
        lambda: any(f"not a regular file: x.pdf in {special.parent}" in p for p in problems(run)),
        what="x.pdf shown as not a regular file",
        process=run.agent.process,
    )
    assert special.exists() and settled(run.bank, "x.pdf") is None
    assert not (run.bank / "failed" / ("x.pdf" + AGENT_OWNED.error_suffix)).exists()
    assert run.creates() == 0
    good = documents.pdf("beside the pipe")
    (run.bank / "good.pdf").write_bytes(good)
    run.one_document("good.pdf", good)  # the folder works on
    special.unlink()
    wait_for(
        lambda: not any("x.pdf" in p for p in problems(run)),
        what="the line gone with the pipe",
        process=run.agent.process,
    )


def test_a_pipe_there_before_the_agent_starts_is_named_as_well(run: Run) -> None:
    """Found by the first scan, not by an event: the same line, the pipe left alone."""
    wait_for(lambda: run.bank.is_dir(), what="the requirement folder", process=run.agent.process)
    assert run.agent.stop() == 0
    special = run.bank / "early.pdf"
    os.mkfifo(special)
    again = Run(run.home, run.home.start(), run.kompliant)
    wait_for(
        lambda: any(
            f"not a regular file: early.pdf in {special.parent} is a named pipe (FIFO)" in p
            for p in problems(again)
        ),
        what="early.pdf shown as not a regular file",
        process=again.agent.process,
    )
    assert stat.S_ISFIFO(os.lstat(special).st_mode) and again.creates() == 0
    assert settled(again.bank, "early.pdf") is None


def test_a_password_protected_pdf_is_a_pdf_and_is_uploaded(run: Run) -> None:
    require("qpdf")
    plain = run.staging / "plain.pdf"
    plain.write_bytes(documents.pdf("protected statement", 50_000))
    locked = run.staging / "locked.pdf"
    subprocess.run(
        ["qpdf", "--encrypt", "user-pw", "owner-pw", "256", "--", str(plain), str(locked)],
        check=True,
        capture_output=True,
    )
    content = locked.read_bytes()
    assert b"/Encrypt" in content
    os.replace(locked, run.bank / "protected.pdf")
    run.one_document("protected.pdf", content)
