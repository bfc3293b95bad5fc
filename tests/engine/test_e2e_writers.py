"""Real write patterns and real programs against a running agent and the sandbox.

Each case ends with exactly one live document per file on Kompliant, whose stored
SHA-256 is that of the file in done/ (and the receipt says the same size and SHA-256),
nothing in failed/ — or, for a copy cut short, nothing on Kompliant and the file in
failed/ with a note. The programs: cp and rsync, headless Chromium downloading from a
web server that sends slowly, Samba (smbd + smbclient), vsftpd (+ curl), a small tmpfs
(a real full disk), and bindfs (a FUSE folder written behind the mount's back).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import small_tmpfs
from tests.engine.badkit import settled
from tests.engine.conftest import AgentHome, Kompliant, wait_for
from tests.engine.writerkit import Run, start
from tests.realwriters import documents, patterns
from tests.realwriters.servers import (
    FtpServer,
    SambaShare,
    SlowServer,
    bindfs_mount,
    chromium_download,
    require,
)


@pytest.fixture
def run(agent_home: AgentHome, kompliant: Kompliant) -> Run:
    return start(agent_home, kompliant)


def test_a_file_saved_in_passes_is_one_whole_document(run: Run) -> None:
    """(a) write, close, reopen to append, close — three more times, 0.5, 1 and 2 s apart."""
    content = documents.pdf("saved in passes", 600_000)
    patterns.append_in_passes(run.staging, run.bank, "passes.pdf", content, gaps=(0.5, 1.0, 2.0))
    run.one_document("passes.pdf", content)


def test_a_placeholder_replaced_by_the_download_3_s_later(run: Run) -> None:
    """(b) Firefox: the name as 0 bytes first, the data in <name>.<random>.part renamed
    over it 3 s later, then the attributes set; nothing in failed/."""
    content = documents.pdf("downloaded", 200_000)
    patterns.rename_over(
        run.staging, run.bank, "download.pdf", content, placeholder_for=3.0, attributes=True
    )
    run.one_document("download.pdf", content)


def test_a_file_held_open_with_pauses_in_a_polled_folder(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    """(c) one open, four chunks 3 s apart, in a folder set to polling (no close events);
    the quiet period is shorter than the pauses."""
    run = start(agent_home, kompliant, quiet_seconds=1.0, polling=True)
    content = documents.pdf("held open", 2_399_431)
    patterns.held_open(run.staging, run.bank, "held.pdf", content, chunks=4, pause=3.0)
    run.one_document("held.pdf", content)


@pytest.mark.parametrize(
    "writer", [patterns.rsync, patterns.rsync_inplace], ids=["rsync", "rsync-inplace"]
)
def test_rsync(run: Run, writer: patterns.Pattern) -> None:
    """(d) rsync: a hidden temporary file renamed into place; --inplace: the final name
    written directly, its times set after the close."""
    require("rsync")
    content = documents.pdf(f"rsync {writer.__name__}", 300_000)
    writer(run.staging, run.bank, "synced.pdf", content)
    run.one_document("synced.pdf", content)


def test_a_download_by_headless_chromium_from_a_slow_server(run: Run) -> None:
    """(e) Chromium writes "Unconfirmed NNN.crdownload" while the server sends slowly,
    renames it to statement.pdf at the end and changes its attributes."""
    require("chromium")
    content = documents.pdf("bank statement", 400_000)
    with (
        SlowServer(content, name="statement.pdf", chunks=10, pause=0.3) as server,
        chromium_download(server.url, run.bank, run.home.home),
    ):
        run.one_document("statement.pdf", content)
        assert server.sent.is_set()


def test_a_copy_cut_short_by_a_full_disk_is_never_uploaded(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    """(f) cp onto a real full disk (a small tmpfs) stops at 299,008 of 1,000,000 bytes;
    the file waits as incomplete, then fails as cut short after the (shortened) time."""
    require("cp")
    with small_tmpfs(agent_home.root, "1m"):
        filler = agent_home.root / ".filler"  # hidden: not the agent's business
        run = start(agent_home, kompliant, incomplete_seconds=4.0)
        room = shutil.disk_usage(agent_home.root).free
        filler.write_bytes(b"\0" * max(0, room - 300 * 1024))
        source = run.staging / "statement.pdf"
        content = documents.pdf("a big statement", 1_000_000)
        source.write_bytes(content)
        copied = subprocess.run(
            ["cp", str(source), str(run.bank / "statement.pdf")], capture_output=True, text=True
        )
        assert copied.returncode != 0 and "No space left" in copied.stderr
        cut = (run.bank / "statement.pdf").stat().st_size
        assert 0 < cut < len(content)
        wait_for(
            lambda: any(
                "waiting: incomplete" in p and "statement.pdf" in p
                for p in run.home.status_file().get("problems", [])
            ),
            what="statement.pdf shown as waiting: incomplete",
            process=run.agent.process,
        )
        filler.unlink()  # room again for the note: the file still never grows
        found = run.outcome("statement.pdf", timeout=30)
        assert found.kind == "failed"
        assert found.path.stat().st_size == cut
        assert "statement.pdf looks cut short: it is a PDF without its end" in found.what()
        assert "Save, scan or download it again" in found.todo()
        assert "try again" not in found.note.lower()
        assert run.creates() == 0 and kompliant.documents() == []
        run.agent.stop()


def test_files_put_on_a_samba_share(agent_home: AgentHome, kompliant: Kompliant) -> None:
    """smbd serves the workflow folder; smbclient puts one file under its name and one
    under a temporary name renamed afterwards (as Windows Explorer does)."""
    require("smbd", "smbclient")
    run = start(agent_home, kompliant)
    direct, renamed = documents.pdf("smb direct", 300_000), documents.pdf("smb renamed", 300_000)
    (run.staging / "a.pdf").write_bytes(direct)
    (run.staging / "b.pdf").write_bytes(renamed)
    with SambaShare(run.home.workflow, run.home.home / "samba") as share:
        share.client(f'put "{run.staging / "a.pdf"}" direct.pdf', folder="Bank statements")
        run.one_document("direct.pdf", direct)
        share.client(
            f'put "{run.staging / "b.pdf"}" "Copy.tmp"; rename "Copy.tmp" "renamed.pdf"',
            folder="Bank statements",
        )
        run.one_document("renamed.pdf", renamed)


def test_a_slow_ftp_upload(agent_home: AgentHome, kompliant: Kompliant) -> None:
    """vsftpd receives a file at 200 kB/s into the requirement folder (held open by the
    server for the whole transfer)."""
    require("vsftpd", "curl")
    run = start(agent_home, kompliant)
    content = documents.pdf("ftp", 600_000)
    source = run.staging / "ftp.pdf"
    source.write_bytes(content)
    FtpServer.open_for_upload(run.bank)
    with FtpServer(run.home.workflow, run.home.home / "ftp") as ftp:
        ftp.upload(source, "Bank statements", limit_rate="200k")
    run.one_document("ftp.pdf", content)


@pytest.fixture
def fuse_root(agent_home: AgentHome) -> Iterator[Path]:
    """The agent's root is a bindfs mount of a backing folder."""
    backing = agent_home.home / "backing"
    with bindfs_mount(backing, agent_home.root):
        yield backing


def test_a_fuse_folder_is_polled_and_written_behind_its_back(
    fuse_root: Path, agent_home: AgentHome, kompliant: Kompliant
) -> None:
    """A file written into the folder behind a FUSE mount gives no inotify event; the
    agent finds the mount by itself and polls it, so the file reaches done/ within the
    quiet period + 1 s, and doctor names the folder as a polled network/FUSE folder."""
    run = start(agent_home, kompliant)
    status = run.home.status_file()
    assert any(
        "network folder — checked every 0.2 s" in p and str(agent_home.root) in p
        for p in [*status.get("problems", []), status.get("message", "")]
    ), status
    behind = fuse_root / run.home.workflow.name / "Bank statements"
    content = documents.pdf("written on the other side", 200_000)
    (behind / "elsewhere.pdf").write_bytes(content)
    written = time.monotonic()
    quiet = 0.3
    wait_for(
        lambda: settled(run.bank, "elsewhere.pdf"),
        timeout=quiet + 1.0,
        interval=0.02,
        what="elsewhere.pdf in done/ within the quiet period + 1 s",
    )
    took = time.monotonic() - written
    run.one_document("elsewhere.pdf", content)
    doctor = run.home.cli("doctor", "--json")
    findings = json.loads(doctor.stdout)["findings"]
    watching = [f for f in findings if "network folder" in f["detail"]]
    assert watching, findings
    assert str(agent_home.root) in watching[0]["detail"]
    assert "checked every 0.2 s" in watching[0]["detail"]
    assert "FUSE" in watching[0]["detail"]
    assert took <= quiet + 1.0
    run.agent.stop()
