"""The bad-input catalogue: files and situations a person or a machine really produces.

Each case runs a long-running agent against the sandbox, puts the bad input in front of
it, and checks three things: the file ends somewhere clear (done/ with a receipt, failed/
with a note saying what to do, or a documented wait shown in status), Kompliant holds
what that outcome says, and the agent is still running afterwards. The table in
docs/reliability.md ("Bad input") lists every case with its test and outcome.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.journal import JOURNAL_FILE
from agent.owned_names import AGENT_OWNED
from agent.sandbox import SandboxSettings
from agent.settle.moves import sidecar_name
from tests.conftest import (
    DEMO_WORKFLOW,
    RD_ADDRESS,
    RD_BANK,
    fill_up,
    sandbox_admin,
)
from tests.engine.badkit import (
    Outcome,
    RunningAgent,
    settled,
    start_without_dac,
    started,
    wait_outcome,
)
from tests.engine.conftest import (
    AgentHome,
    Kompliant,
    documents_in,
    drop,
)
from tests.engine.crashkit import journal_steps
from tests.kit.agent import REPO
from tests.kit.notes import sha, uploaded_id
from tests.kit.sandbox import sandbox_stats, set_faults
from tests.kit.wait import wait_for
from tests.realwriters import documents

PDF = b"%PDF-1.4\n"
CREATE = "document.create"


def pdf(text: bytes) -> bytes:
    """A small file that starts and ends as a PDF does."""
    return PDF + text + b"\n%%EOF\n"


class ShiftedClock:
    """The sandbox's clock: the real time plus ``offset`` seconds (movable mid-test)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Setup(RunningAgent):
    def outcome(self, folder: Path, name: str, timeout: float = 30.0) -> Outcome:
        return wait_outcome(self.agent, folder, name, timeout=timeout)

    def faults(self, **settings: Any) -> None:
        set_faults(self.home.sandbox, **settings)

    def stats(self) -> dict[str, Any]:
        return sandbox_stats(self.home.sandbox)

    def admin(self, **op: Any) -> None:
        answer = sandbox_admin(self.home.sandbox, "admin", op)
        assert answer.status_code == 200, answer.text

    def barrier(self, folder: Path | None = None) -> None:
        """A good file through the same folder: everything dropped before it was seen."""
        where = folder or self.bank
        name = f"barrier-{time.monotonic_ns()}.pdf"
        drop(where, name, pdf(name.encode()))
        assert self.outcome(where, name).kind == "done"


def _start(agent_home: AgentHome, kompliant: Kompliant, **config: Any) -> Setup:
    return started(Setup, agent_home, kompliant, **config)


@pytest.fixture
def setup(agent_home: AgentHome, kompliant: Kompliant) -> Setup:
    return _start(agent_home, kompliant)


# -- the file itself -----------------------------------------------------------------------


def test_a_file_that_stays_empty_fails_after_the_incomplete_time(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    """0 bytes is a placeholder first (browsers, Samba, scanners create the name before the
    data): it fails only once it has stayed empty for the folder's incomplete time."""
    setup = _start(agent_home, kompliant, incomplete_seconds=3.0)
    drop(setup.bank, "blank.pdf", b"")
    wait_for(
        lambda: any("blank.pdf" in p for p in setup.home.status_file().get("problems", [])),
        what="blank.pdf shown as waiting",
        process=setup.agent.process,
    )
    assert settled(setup.bank, "blank.pdf") is None  # waiting, not failed yet
    found = setup.outcome(setup.bank, "blank.pdf")
    assert found.kind == "failed"
    assert "empty" in found.what().lower()
    assert "Save or scan it again" in found.todo()
    assert setup.kompliant.documents() == []
    assert setup.alive()


def test_unsupported_type_fails_naming_the_accepted_types(setup: Setup) -> None:
    drop(setup.bank, "notes.txt", b"just notes")
    found = setup.outcome(setup.bank, "notes.txt")
    assert found.kind == "failed"
    assert "txt" in found.what().lower() and "pdf" in found.what().lower()
    assert "Save the file in a type Kompliant accepts" in found.todo()
    assert setup.kompliant.documents() == []
    assert setup.alive()


@pytest.mark.parametrize(
    ("content", "words", "todo"),
    [
        (documents.png("picture"), "scan.pdf is a PNG image, not a PDF", "rename it to .png"),
        (documents.jpeg("camera"), "scan.pdf is a JPEG image, not a PDF", "rename it to .jpg"),
        (documents.html_page(), "scan.pdf is a web page (HTML), not a PDF", "sign in if it asks"),
    ],
    ids=["png", "jpeg", "html"],
)
def test_a_type_lying_about_its_extension_fails_and_is_never_sent(
    setup: Setup, content: bytes, words: str, todo: str
) -> None:
    """Kompliant's upload store refuses bytes of another type than the name says; the
    agent finds out before document.create and says what to do, never "try again"."""
    drop(setup.bank, "scan.pdf", content)
    found = setup.outcome(setup.bank, "scan.pdf")
    assert found.kind == "failed"
    assert words in found.what(), found.note
    assert todo in found.todo()
    assert "try again" not in found.note.lower() and "retry" not in found.note.lower()
    assert setup.stats()["methods"].get(CREATE, 0) == 0
    assert setup.kompliant.documents() == []
    assert setup.alive()


@pytest.mark.parametrize("sandbox_settings", [SandboxSettings(max_file_size=1000)], ids=["1000B"])
def test_larger_than_allowed_fails_with_the_limit(setup: Setup) -> None:
    drop(setup.bank, "huge.pdf", pdf(b"x" * 2000))
    found = setup.outcome(setup.bank, "huge.pdf")
    assert found.kind == "failed"
    assert "huge.pdf is 2.0 KiB; the limit is 1000 bytes" in found.what(), found.note
    assert "Make the file smaller" in found.todo()
    assert setup.kompliant.documents() == []
    assert setup.alive()


def test_a_file_gone_before_upload_leaves_nothing(setup: Setup) -> None:
    setup.home.pause(True)
    wait_for(lambda: setup.home.status_file().get("paused"), what="paused")
    path = drop(setup.bank, "gone.pdf", pdf(b"gone"))
    wait_for(lambda: setup.home.status_file().get("checking", 0) >= 1, what="the file seen")
    path.unlink()
    setup.home.pause(False)
    setup.barrier()
    assert settled(setup.bank, "gone.pdf") is None
    assert documents_in(setup.bank / "failed") == []
    assert [d.file_name for d in setup.live()] != ["gone.pdf"]
    assert all(d.file_name != "gone.pdf" for d in setup.kompliant.documents())
    assert setup.alive()


def _slow_uploads(setup: Setup) -> None:
    setup.faults(latency_ms=1500, on_upload=True)


def _while_uploading(setup: Setup, name: str) -> Path:
    """The claimed copy of ``name`` once its document exists and its upload is on the way."""
    wait_for(
        lambda: setup.stats()["methods"].get(CREATE, 0) >= 1, what="document.create", timeout=20
    )
    processing = setup.bank / ".processing"
    return wait_for(
        lambda: next((p for p in processing.glob("*.pdf") if name in p.name), None),
        what="the claimed file",
    )


def test_a_file_removed_during_upload_leaves_no_document(setup: Setup) -> None:
    _slow_uploads(setup)
    drop(setup.bank, "vanishing.pdf", pdf(b"vanishing"))
    claimed = _while_uploading(setup, "vanishing")
    claimed.unlink()
    setup.faults(latency_ms=0)
    wait_for(
        lambda: not journal_steps(setup.home.state_dir / JOURNAL_FILE),
        what="the vanished file's entry to end",
        process=setup.agent.process,
    )
    assert settled(setup.bank, "vanishing.pdf") is None  # nothing left to put a note beside
    assert setup.live() == []  # its half-made document was deleted
    assert setup.alive()


def test_a_file_growing_during_upload_is_sent_again_whole(setup: Setup) -> None:
    _slow_uploads(setup)
    first = pdf(b"first part ")
    drop(setup.bank, "growing.pdf", first)
    claimed = _while_uploading(setup, "growing")
    with claimed.open("ab") as handle:
        handle.write(b"and the rest")
    setup.faults(latency_ms=0)
    found = setup.outcome(setup.bank, "growing.pdf")
    assert found.kind == "done"
    whole = first + b"and the rest"
    (document,) = setup.live()
    assert document.hash == sha(whole) and document.document_id == uploaded_id(found.note)
    assert len(setup.kompliant.fulfillments(RD_BANK)) == 1
    assert setup.alive()


def _unprivileged(agent_home: AgentHome, kompliant: Kompliant) -> Setup:
    if os.geteuid() != 0:
        pytest.skip("runs as root with file capabilities dropped")  # as a user chmod works
    agent_home.write_config()
    agent_home.add_workflow()
    return Setup(agent_home, start_without_dac(agent_home), kompliant)


def test_an_unreadable_file_fails_saying_to_give_read_permission(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    setup = _unprivileged(agent_home, kompliant)
    fd = os.open(setup.bank / "secret.pdf", os.O_WRONLY | os.O_CREAT, 0o000)
    os.write(fd, pdf(b"locked"))
    os.close(fd)
    found = setup.outcome(setup.bank, "secret.pdf")
    assert found.kind == "failed"
    assert "permission denied" in found.what()
    assert "read permission" in found.todo()
    assert kompliant.documents() == []
    assert setup.alive()


def test_a_symlink_fails_saying_to_copy_the_document_and_is_never_followed(
    setup: Setup,
) -> None:
    """A link could point anywhere: it is refused with a note, its target never read."""
    target = setup.home.home / "elsewhere.pdf"
    target.write_bytes(pdf(b"the real file"))
    link = setup.bank / "link.pdf"
    link.symlink_to(target)
    outcome = setup.outcome(setup.bank, "link.pdf")
    assert outcome.kind == "failed"
    assert outcome.path.is_symlink()  # the link itself moved, nothing copied
    assert "is a link (shortcut) to another file" in outcome.note
    assert "Copy the document itself into the folder" in outcome.note
    assert target.read_bytes() == pdf(b"the real file")
    assert setup.live() == []
    assert setup.alive()


def test_a_folder_dropped_in_has_its_files_settled_in_it(setup: Setup) -> None:
    outside = setup.home.home / "scans"
    outside.mkdir()
    drop(outside, "p1.pdf", pdf(b"p1"))
    drop(outside, "p2.pdf", pdf(b"p2"))
    moved = setup.bank / "scans"
    outside.rename(moved)
    for name in ("p1.pdf", "p2.pdf"):
        assert setup.outcome(moved, name).kind == "done"
    assert len(setup.kompliant.fulfillments(RD_BANK)) == 2
    assert setup.alive()


NAMES = {
    "spaces": "bank statement  march 2024 .pdf",
    "unicode": "relevé de compte – été Ø.pdf",
    "emoji": "statement 📄✅.pdf",
    # The longest name whose receipt (".receipt.txt" added) still fits in 255 bytes.
    "long": "s" * 239 + ".pdf",
    "long-unicode": "é" * 119 + ".pdf",  # 242 bytes in UTF-8
    "windows-con": "CON.pdf",
    "windows-nul": "nul.pdf",
}


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_awkward_names_are_uploaded_under_their_own_name(setup: Setup, name: str) -> None:
    content = pdf(name.encode())
    drop(setup.bank, name, content)
    found = setup.outcome(setup.bank, name)
    assert found.kind == "done", found.note
    (document,) = setup.live()
    assert (document.file_name, document.hash) == (name, sha(content))
    assert documents_in(setup.bank) == []
    assert setup.alive()


def test_a_name_of_255_bytes_gets_its_receipt(setup: Setup) -> None:
    """``name + .receipt.txt`` would be too long for the file system: the receipt keeps
    the start of the name and a short hash, and names the file in full inside."""
    name = "s" * 251 + ".pdf"
    drop(setup.bank, name, pdf(b"longest"))
    receipt = setup.bank / "done" / sidecar_name(name, AGENT_OWNED.receipt_suffix)
    assert len(receipt.name.encode()) == 255
    wait_for(receipt.exists, what="the long name's receipt in done/", timeout=30)
    assert (setup.bank / "done" / name).read_bytes() == pdf(b"longest")
    text = receipt.read_text(encoding="utf-8")
    assert f"receipt for {name}" in text
    assert "Uploaded to Kompliant as document d_" in text
    assert [d.file_name for d in setup.live()] == [name]
    assert setup.alive()


def test_the_same_file_twice_at_once_is_uploaded_once(setup: Setup) -> None:
    content = pdf(b"one scan, two copies")
    drop(setup.bank, "a.pdf", content)
    drop(setup.bank, "b.pdf", content)
    notes = [setup.outcome(setup.bank, n) for n in ("a.pdf", "b.pdf")]
    assert [n.kind for n in notes] == ["done", "done"]
    (document,) = setup.live()
    assert sum("Not uploaded again: same content" in n.note for n in notes) == 1
    assert [f.document_id for f in setup.kompliant.fulfillments(RD_BANK)] == [document.document_id]
    assert setup.alive()


def test_the_same_file_in_two_requirement_folders_at_once_links_both(setup: Setup) -> None:
    content = pdf(b"a statement that proves the address too")
    address = setup.home.folder("Proof of address")
    drop(setup.bank, "statement.pdf", content)
    drop(address, "statement.pdf", content)
    assert setup.outcome(setup.bank, "statement.pdf").kind == "done"
    assert setup.outcome(address, "statement.pdf").kind == "done"
    assert len(setup.kompliant.fulfillments(RD_BANK)) == 1
    assert len(setup.kompliant.fulfillments(RD_ADDRESS)) == 1
    assert all(d.upload_status == "COMPLETED" for d in setup.live())
    assert setup.alive()


# -- Kompliant's side ------------------------------------------------------------------------


def test_a_workflow_ended_while_running_fails_its_files_with_the_reason(setup: Setup) -> None:
    setup.admin(op="set_workflow_state", workflow_id=DEMO_WORKFLOW, state="ENDED")
    drop(setup.bank, "late.pdf", pdf(b"late"))
    found = setup.outcome(setup.bank, "late.pdf")
    assert found.kind == "failed"
    assert "ended" in found.what().lower()
    assert setup.live() == [] and setup.kompliant.fulfillment_count() == 0
    assert setup.alive()


def test_a_requirement_made_inactive_while_running_fails_and_keeps_no_document(
    setup: Setup,
) -> None:
    setup.admin(op="set_required_document_status", required_document_id=RD_BANK, status="INACTIVE")
    drop(setup.bank, "statement.pdf", pdf(b"no longer wanted"))
    found = setup.outcome(setup.bank, "statement.pdf")
    assert found.kind == "failed"
    assert "inactive" in found.note.lower()
    assert setup.live() == [] and setup.kompliant.fulfillments(RD_BANK) == []
    assert setup.alive()


UNKNOWN_RD = "rd_NoSuchRequirement00001"


def test_an_unknown_requirement_id_in_the_config_fails_naming_it(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    workflows = f"""
[[workflows]]
workflow_id = "{DEMO_WORKFLOW}"
label = "Demo Ltd"

[[workflows.combined]]
folder = "Mistyped"
required_document_ids = ["{UNKNOWN_RD}"]
"""
    setup = _start(agent_home, kompliant, workflows=workflows)
    folder = agent_home.folder("Mistyped")
    assert folder.is_dir()
    drop(folder, "statement.pdf", pdf(b"for nothing"))
    found = setup.outcome(folder, "statement.pdf")
    assert found.kind == "failed"
    assert UNKNOWN_RD in found.note
    assert setup.live() == [] and kompliant.fulfillment_count() == 0
    assert setup.alive()


def test_a_revoked_api_key_holds_files_until_it_works_again(setup: Setup) -> None:
    state, api_key = setup.home.sandbox.state, setup.home.credentials.api_key
    key = state.api_keys[api_key]
    with state.lock:
        state.api_keys[api_key] = dataclasses.replace(key, disabled=True)
    drop(setup.bank, "statement.pdf", pdf(b"while revoked"))
    status = wait_for(
        lambda: (s := setup.home.status_file()).get("state") == "error" and s,
        what="status error",
        process=setup.agent.process,
    )
    assert any("kompliant-agent login" in p for p in status["problems"]), status
    assert settled(setup.bank, "statement.pdf") is None
    assert documents_in(setup.bank / "failed") == []
    with state.lock:
        state.api_keys[api_key] = key
    assert setup.outcome(setup.bank, "statement.pdf", timeout=45).kind == "done"
    assert setup.alive()


def test_a_sandbox_answer_that_is_not_json_is_retried(setup: Setup) -> None:
    setup.faults(script=[{"method": CREATE, "action": "non_json_502", "count": 2}])
    drop(setup.bank, "statement.pdf", pdf(b"behind a gateway"))
    found = setup.outcome(setup.bank, "statement.pdf")
    assert found.kind == "done"
    assert setup.stats()["faults"].get("non_json_502") == 2
    (document,) = setup.live()
    assert document.document_id == uploaded_id(found.note)
    assert setup.alive()


@pytest.mark.parametrize(
    "sandbox_settings",
    [SandboxSettings(clock=ShiftedClock(86400 * 3)), SandboxSettings(clock=ShiftedClock(-86400))],
    ids=["sandbox-3-days-ahead", "sandbox-1-day-behind"],
)
def test_a_sandbox_clock_far_off_does_not_matter(setup: Setup) -> None:
    drop(setup.bank, "statement.pdf", pdf(b"whenever"))
    found = setup.outcome(setup.bank, "statement.pdf")
    assert found.kind == "done"
    assert len(setup.live()) == 1
    assert setup.alive()


@pytest.mark.parametrize("sandbox_settings", [SandboxSettings(clock=ShiftedClock())], ids=["shift"])
def test_a_clock_jump_during_upload_expires_the_form_and_a_new_one_is_used(
    setup: Setup, sandbox_settings: SandboxSettings
) -> None:
    clock = sandbox_settings.clock
    assert isinstance(clock, ShiftedClock)
    _slow_uploads(setup)
    drop(setup.bank, "statement.pdf", pdf(b"sent across a clock jump"))
    _while_uploading(setup, "statement")
    clock.offset = 3600.0  # an hour later: the form (300 s) has expired
    setup.faults(latency_ms=0)
    found = setup.outcome(setup.bank, "statement.pdf")
    assert found.kind == "done"
    assert setup.stats()["methods"][CREATE] == 2
    (document,) = setup.live()
    assert document.document_id == uploaded_id(found.note)
    assert setup.alive()


# -- the agent's own side ----------------------------------------------------------------------


def test_a_done_name_collision_gets_a_numbered_name(setup: Setup) -> None:
    done = setup.bank / "done"
    done.mkdir(exist_ok=True)
    (done / "march.pdf").write_bytes(pdf(b"last year's"))
    content = pdf(b"this year's")
    drop(setup.bank, "march.pdf", content)

    def numbered() -> list[str]:
        return [n for n in documents_in(done) if n != "march.pdf" and n.startswith("march")]

    (name,) = wait_for(numbered, what="the numbered copy", process=setup.agent.process)
    assert (done / name).read_bytes() == content
    assert (done / "march.pdf").read_bytes() == pdf(b"last year's")
    assert (done / (name + ".receipt.txt")).exists()
    assert setup.alive()


def test_a_read_only_folder_waits_and_goes_once_writable(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    setup = _unprivileged(agent_home, kompliant)
    setup.bank.chmod(0o555)
    try:
        drop(setup.bank, "statement.pdf", pdf(b"in a read-only folder"))
        status = wait_for(
            lambda: (s := setup.home.status_file()).get("problems") and s,
            what="status to say it cannot take the file",
            process=setup.agent.process,
        )
        assert any("Could not claim statement.pdf" in p for p in status["problems"]), status
        assert "statement.pdf" in documents_in(setup.bank)  # left where it was put
    finally:
        setup.bank.chmod(0o755)
    assert setup.outcome(setup.bank, "statement.pdf", timeout=45).kind == "done"
    assert setup.alive()


def test_a_full_disk_when_moving_to_done_waits_and_settles_once_there_is_room(
    agent_home: AgentHome, kompliant: Kompliant, small_root: Path
) -> None:
    root = small_root / "Kompliant"
    setup = _start(agent_home, kompliant, agent={"workers": 2, "root": str(root)})
    bank = root / agent_home.workflow.name / "Bank statements"
    assert bank.is_dir()
    setup.home.pause(True)
    wait_for(lambda: setup.home.status_file().get("paused"), what="paused")
    content = pdf(b"on a full disk")
    drop(bank, "statement.pdf", content)
    filler = fill_up(small_root)
    setup.home.pause(False)
    wait_for(lambda: setup.live(), what="the upload", process=setup.agent.process)
    assert settled(bank, "statement.pdf") is None
    filler.unlink()
    found = setup.outcome(bank, "statement.pdf", timeout=60)
    assert found.kind == "done"
    (document,) = setup.live()
    assert document.document_id == uploaded_id(found.note)
    assert len(kompliant.fulfillments(RD_BANK)) == 1
    assert setup.alive()


LOCK_KEYRING = (
    "import secretstorage; "
    "c = secretstorage.get_default_collection(secretstorage.dbus_init()); c.lock(); "
    "assert c.is_locked()"
)


def test_a_locked_keyring_stops_the_run_saying_to_unlock_it(
    agent_home: AgentHome, tmp_path: Path
) -> None:
    """A keyring of its own in a D-Bus session of its own: log in, lock it, then run."""
    if not all(shutil.which(t) for t in ("dbus-run-session", "gnome-keyring-daemon")):
        pytest.skip("dbus-run-session / gnome-keyring-daemon not installed")
    agent_home.write_config()
    creds = agent_home.credentials
    user = tmp_path / "user"
    runtime = user / "run"
    for folder in (user / ".cache", user / ".local" / "share", runtime):
        folder.mkdir(parents=True)
    runtime.chmod(0o700)
    env = {k: v for k, v in agent_home.env.items() if not k.startswith("KOMPLIANT_")}
    env.update(HOME=str(user), XDG_RUNTIME_DIR=str(runtime), PW="throwaway")
    env["KOMPLIANT_AGENT_HOME"] = agent_home.env["KOMPLIANT_AGENT_HOME"]
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        env.pop(name, None)
    login = f"login --stdin --api-url {creds.api_url} --api-key {creds.api_key}"
    script = (
        'echo -n "$PW" | gnome-keyring-daemon --unlock --components=secrets >/dev/null\n'
        f'"{sys.executable}" -m agent {login} || exit 90\n'
        f'"{sys.executable}" -c "{LOCK_KEYRING}" || exit 91\n'
        f'exec "{sys.executable}" -m agent run --once\n'
    )
    done = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", script],
        input=f"{creds.secret_key}\n{creds.auth_token}\n",
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode not in (0, 90, 91), done.stdout + done.stderr
    assert "keyring is locked" in done.stderr, done.stderr
    assert "Unlock it" in done.stderr
