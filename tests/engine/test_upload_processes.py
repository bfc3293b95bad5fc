"""The pipeline in upload processes: files through them, their errors, their asks, their end.

The engine runs in the test's process (its retry policy short), with the credentials that
start its upload processes, against the sandbox over real HTTP on loopback. What the
processes do is seen where the user would see it — done/, failed/, the journal, Kompliant's
documents — and in the log records they hand to the engine (the process id is theirs).
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from agent.config import Config
from agent.engine import upload_pool
from agent.engine.locate import InPlace, Locator
from agent.engine.pipeline import Job, Progress
from agent.engine.runner import Engine, EngineOptions, RunSummary
from agent.engine.upload_pool import UploadProcesses
from agent.engine.upload_wire import Setup, log_levels
from agent.journal import Entry, Journal, Outcome, Step, journal_path
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.locations import locations
from agent.owned_names import AGENT_OWNED
from agent.sandbox import RunningSandbox
from agent.settle.stack import work_folder, working_in
from tests.engine.conftest import SHORT, AgentHome, bank, documents_in
from tests.engine.test_gave_up import PDF as REFUSED_PDF
from tests.engine.test_gave_up import assert_gave_up, uploads_refused, uploads_tried
from tests.kit.sandbox import DEMO_SUBJECT, RD_BANK, sandbox_state, set_faults
from tests.kit.wait import wait_for
from tests.realwriters import documents

PDF = b"%PDF-1.4 a bank statement sent by an upload process\n%%EOF\n"


def engine(
    config: Config,
    client: KompliantClient,
    credentials: Credentials,
    *,
    once: bool = False,
    upload_processes: int = 1,
) -> Engine:
    options = EngineOptions(once=once, retry_policy=SHORT, upload_processes=upload_processes)
    return Engine(config, client, credentials=credentials, options=options)


def upload_processes(engine: Engine) -> UploadProcesses:
    processes = engine._workers._processes
    assert processes is not None, "the engine runs no upload processes"
    return processes


def live_documents(client: KompliantClient, name: str) -> list[str]:
    return [
        d.document_id
        for d in client.list_documents(DEMO_SUBJECT)
        if d.deleted_at is None and d.file_name == name
    ]


def from_elsewhere(caplog: pytest.LogCaptureFixture) -> set[int]:
    """The process ids of the log records that came from another process."""
    return {r.process for r in caplog.records if r.process and r.process != os.getpid()}


def test_a_file_goes_through_an_upload_process(
    client: KompliantClient,
    demo_credentials: Credentials,
    config: Config,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    (bank(config) / "statement.pdf").write_bytes(PDF)

    summary = engine(config, client, demo_credentials, once=True).run()

    assert (summary.done, summary.failed, summary.unsettled) == (1, 0, 0)
    assert (bank(config) / AGENT_OWNED.done_dir / "statement.pdf").read_bytes() == PDF
    assert len(live_documents(client, "statement.pdf")) == 1
    assert from_elsewhere(caplog), "no log record came from an upload process"


def test_an_error_in_an_upload_process_reaches_the_retry_schedule(
    sandbox: RunningSandbox,
    client: KompliantClient,
    demo_credentials: Credentials,
    config: Config,
) -> None:
    uploads_refused(sandbox)  # every presigned POST answered HTTP 500: ServerError
    (bank(config) / "statement.pdf").write_bytes(REFUSED_PDF)

    summary = engine(config, client, demo_credentials, once=True).run()

    # three tries, each a RetryLater raised in the process and scheduled by the engine,
    # then given up with the note that names Kompliant's answer
    assert (summary.done, summary.failed, summary.unsettled) == (0, 1, 0)
    assert uploads_tried(sandbox) == 3
    assert_gave_up(config, client)


# -- the engine's side of the asks, with one process and a recording locator ------------


class Recording(InPlace):
    """The journal's locator, with a file it finds renamed inside .processing/ when the
    claimed one is gone; every ask recorded."""

    def __init__(self, journal: Journal, renamed: dict[Path, Path]) -> None:
        super().__init__(journal)
        self.renamed = renamed
        self.asked: list[str] = []

    def locate(self, entry: Entry) -> Entry | None:
        self.asked.append(f"locate {entry.file_name}")
        assert entry.claimed_path is not None
        now = self.renamed.get(entry.claimed_path)
        if now is None:
            return super().locate(entry)
        return self._journal.relocate(
            entry.id,
            claimed_path=now,
            source_path=entry.source_path,
            folder_sub=entry.folder_sub,
            claimed_ino=os.stat(now).st_ino,
            claimed_dev=os.stat(now).st_dev,
        )

    def gone(self, entry: Entry) -> str:
        self.asked.append(f"gone {entry.file_name}")
        return super().gone(entry)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "state" / "journal.sqlite3") as opened:
        yield opened


def claimed(journal: Journal, folder: Path, name: str, content: bytes) -> Entry:
    """A file claimed the way the engine claims it: journal entry, then in .processing/."""
    processing = folder / AGENT_OWNED.processing_dir
    processing.mkdir(parents=True, exist_ok=True)
    path = processing / name
    path.write_bytes(content)
    st = path.stat()
    entry = journal.begin(
        folder / name,
        folder_key=str(folder),
        workflow_id="w_DemoApplication000000001",
        required_document_ids=[RD_BANK],
    )
    return journal.advance(
        entry.id,
        Step.STABLE,
        claimed_path=path,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        claimed_ino=st.st_ino,
        claimed_dev=st.st_dev,
    )


def start_processes(
    credentials: Credentials,
    journal: Journal,
    locator: Locator,
    *,
    count: int = 1,
    uploads: int = 1,
    progress_for: Callable[[Entry], Progress | None] = lambda entry: None,
) -> UploadProcesses:
    """Upload processes for ``journal``'s files, as the engine starts them."""
    return UploadProcesses(
        count=count,
        uploads=uploads,
        setup=Setup(credentials, journal.path, 30.0, log_levels()),
        locator=locator,
        progress_for=progress_for,
    )


def test_progress_and_relocation_go_through_the_engine(
    demo_credentials: Credentials, client: KompliantClient, journal: Journal, tmp_path: Path
) -> None:
    folder = tmp_path / "Bank statements"
    moved = claimed(journal, folder, "march.pdf", PDF)
    gone = claimed(journal, folder, "april.pdf", PDF + b" ")
    assert moved.claimed_path is not None and gone.claimed_path is not None
    renamed = moved.claimed_path.with_name("march (renamed).pdf")
    moved.claimed_path.rename(renamed)  # renamed inside .processing/ after the claim
    gone.claimed_path.unlink()  # and this one deleted
    locator = Recording(journal, {moved.claimed_path: renamed})
    progress: list[tuple[str, int, int]] = []

    def progress_for(entry: Entry):  # type: ignore[no-untyped-def]
        return lambda sent, total: progress.append((entry.file_name, sent, total))

    processes = start_processes(
        demo_credentials, journal, locator, uploads=2, progress_for=progress_for
    )
    job = Job(DEMO_SUBJECT, {RD_BANK: "Bank statements"})
    try:
        settled = processes.run(moved, job)
        ended = processes.run(gone, job)
    finally:
        processes.stop()

    assert settled.outcome is Outcome.DONE
    assert settled.final_path.read_bytes() == PDF
    assert settled.final_path.parent == folder / AGENT_OWNED.done_dir
    assert ("march.pdf", len(PDF), len(PDF)) in progress
    assert ended.outcome is Outcome.FAILED
    after = journal.get(gone.id)
    assert after is not None and after.settled and after.outcome is Outcome.FAILED
    assert "removed from .processing/" in (after.message or "")
    assert locator.asked == ["locate march.pdf", "locate april.pdf", "gone april.pdf"]
    assert live_documents(client, "april.pdf") == []


# -- a process that dies -------------------------------------------------------------------


def step_of(profile: str) -> str | None:
    """The one file's journal step (read-only, from outside the engine)."""
    path = journal_path(profile)
    if not path.exists():
        return None
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    try:
        row = conn.execute("SELECT MAX(step) FROM entries").fetchone()
    finally:
        conn.close()
    return None if row is None or row[0] is None else str(row[0])


def test_a_process_killed_mid_file_is_replaced_and_the_file_resumed_once(
    sandbox: RunningSandbox,
    client: KompliantClient,
    demo_credentials: Credentials,
    config: Config,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Killed after its document.create was carried out and before the answer was read
    (the process is held still meanwhile): Kompliant has the record, the journal never
    heard of it. The file's next try, in the new process, deletes that record before it
    creates its own: one document, never two."""
    set_faults(sandbox, script=[{"method": "document.create", "action": "hang", "seconds": 1}])
    caplog.set_level(logging.INFO)
    running = engine(config, client, demo_credentials)
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,))
    thread.start()
    try:
        pids = upload_processes(running).pids
        first = wait_for(lambda: pids(), what="the upload process to start")[0]
        (bank(config) / "statement.pdf").write_bytes(PDF)
        wait_for(
            lambda: (
                step_of(config.agent.profile) == Step.HASHED.value and not sandbox.faults.script()
            ),  # the create arrived and hangs
            what="document.create to be sent",
        )
        os.kill(first, signal.SIGSTOP)  # the answer is not read
        wait_for(
            lambda: client.list_documents(DEMO_SUBJECT), what="the record to be made", timeout=30
        )
        os.kill(first, signal.SIGKILL)
        said = "the upload process working on statement.pdf ended (exit code -9)"
        wait_for(lambda: said in status_text(), what="the status to say so")
        done = bank(config) / AGENT_OWNED.done_dir / "statement.pdf"
        wait_for(done.exists, what="the file to reach done/", timeout=60)
        wait_for(lambda: said not in status_text(), what="the status to stop saying so")
        replaced = pids()
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert replaced and first not in replaced
    assert done.read_bytes() == PDF
    live = live_documents(client, "statement.pdf")  # document.list leaves deleted ones out
    assert len(live) == 1
    assert [f.document_id for f in client.list_fulfillments(RD_BANK)] == live
    deleted = [r.getMessage() for r in caplog.records if "did not see answered" in r.getMessage()]
    assert len(deleted) == 1 and live[0] not in deleted[0], deleted


def steps(profile: str) -> dict[str, str]:
    """Each file's journal step by file name (read-only, from outside the engine)."""
    path = journal_path(profile)
    if not path.exists():
        return {}
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    try:
        return dict(conn.execute("SELECT file_name, step FROM entries").fetchall())
    finally:
        conn.close()


def test_files_beyond_the_workers_are_read_beside_them_and_wait_to_talk_to_kompliant(
    sandbox: RunningSandbox,
    client: KompliantClient,
    demo_credentials: Credentials,
    config: Config,
) -> None:
    """One worker, one process: while one file talks to Kompliant (its document.create
    held there), the next finished file is already claimed, read and hashed beside it, and
    its own document.create waits until the first file is linked: one file at a time
    talks to Kompliant, as ``workers = 1`` says."""
    set_faults(sandbox, script=[{"method": "document.create", "action": "hang", "seconds": 5}])
    running = engine(config, client, demo_credentials)
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,))
    thread.start()
    first, second = bank(config) / "march.pdf", bank(config) / "april.pdf"
    try:
        first.write_bytes(documents.pdf("march"))
        wait_for(
            lambda: (
                steps("default").get("march.pdf") == Step.HASHED.value
                and not sandbox.faults.script()
            ),
            what="march.pdf's document.create to be sent and held",
        )
        second.write_bytes(documents.pdf("april"))
        wait_for(
            lambda: not second.exists() and steps("default").get("april.pdf") == Step.HASHED.value,
            what="april.pdf to be claimed and hashed while march.pdf talks to Kompliant",
        )
        assert steps("default")["march.pdf"] == Step.HASHED.value  # still held there
        done = bank(config) / AGENT_OWNED.done_dir
        wait_for(
            lambda: (done / "march.pdf").exists() and (done / "april.pdf").exists(),
            what="both files in done/",
            timeout=60,
        )
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    (march,) = live_documents(client, "march.pdf")
    (april,) = live_documents(client, "april.pdf")
    state = sandbox_state(sandbox)
    created = {d["document_id"]: d["created_at"] for d in state["documents"]}
    linked = {f["document_id"]: f["created_at"] for f in state["fulfillments"]}
    assert created[april] >= linked[march], (created, linked)  # one file at a time


def status_text() -> str:
    """The running engine's status.json as text ("" before there is one)."""
    try:
        return (locations().profile_state("default") / "status.json").read_text("utf-8")
    except OSError:
        return ""


def test_the_processes_stop_with_the_engine(
    client: KompliantClient, demo_credentials: Credentials, config: Config
) -> None:
    two = replace(config, agent=replace(config.agent, workers=2))
    running = engine(two, client, demo_credentials, upload_processes=2)
    stop = threading.Event()
    summary: list[RunSummary] = []
    thread = threading.Thread(target=lambda: summary.append(running.run(stop)))
    thread.start()
    try:
        pids = upload_processes(running).pids
        started = wait_for(lambda: pids() if len(pids()) == 2 else [], what="two processes")
        (bank(config) / "statement.pdf").write_bytes(PDF)
        wait_for(
            (bank(config) / AGENT_OWNED.done_dir / "statement.pdf").exists,
            what="the file to reach done/",
        )
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert summary and summary[0].done == 1
    for pid in started:
        assert not _alive(pid), f"upload process {pid} outlived the engine"


def test_idle_processes_beyond_the_kept_end_and_start_again_when_files_arrive(
    client: KompliantClient,
    demo_credentials: Credentials,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An idle agent keeps ``KEPT`` upload processes, not one per worker: the others end
    after ``IDLE_SECONDS`` without a file. A file that arrives starts them again before
    it is claimed (the kept process alone has room for it), and reaches done/. (One kept
    of two here, for two processes instead of three.)"""
    monkeypatch.setattr(upload_pool, "IDLE_SECONDS", 1.0)
    monkeypatch.setattr(upload_pool, "KEPT", 1)
    caplog.set_level(logging.INFO)
    two = replace(config, agent=replace(config.agent, workers=2))
    running = engine(two, client, demo_credentials, upload_processes=2)
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,))
    thread.start()
    done = bank(config) / AGENT_OWNED.done_dir / "statement.pdf"
    try:
        pids = upload_processes(running).pids
        first, second = wait_for(lambda: pids() if len(pids()) == 2 else [], what="two processes")
        wait_for(lambda: pids() == [first], what="the second process to be let go, idle")
        wait_for(lambda: not _alive(second), what="the second process to end")
        (bank(config) / "statement.pdf").write_bytes(PDF)
        again = wait_for(lambda: pids() if len(pids()) == 2 else [], what="two processes again")
        wait_for(done.exists, what="the file to reach done/")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert again[0] == first and second not in again
    assert done.read_bytes() == PDF
    assert any("ended after 1 s without files" in r.getMessage() for r in caplog.records)


def test_a_file_goes_to_a_running_process_before_one_that_ended_idle_is_started(
    demo_credentials: Credentials,
    journal: Journal,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With room in a running process, a file handed over does not start one that ended
    idle again (each start is a new interpreter)."""
    monkeypatch.setattr(upload_pool, "KEPT", 1)
    processes = start_processes(demo_credentials, journal, InPlace(journal), count=2, uploads=2)
    job = Job(DEMO_SUBJECT, {RD_BANK: "Bank statements"})
    try:
        processes.start()
        first, _ = wait_for(
            lambda: processes.pids() if len(processes.pids()) == 2 else [], what="two processes"
        )
        processes._end_idle(float("inf"))  # as if long idle
        assert processes.pids() == [first]
        folder = tmp_path / "Bank statements"
        for n in range(3):  # one at a time: the first process always has room
            entry = claimed(journal, folder, f"statement-{n}.pdf", PDF + str(n).encode())
            assert processes.run(entry, job).outcome is Outcome.DONE
        assert processes.pids() == [first]
    finally:
        processes.stop()


def test_the_kept_processes_never_end_idle(demo_credentials: Credentials, journal: Journal) -> None:
    """However long idle, the first ``KEPT`` processes stay: a burst's first files find
    them ready while the others start again."""
    count = upload_pool.KEPT + 1
    processes = start_processes(
        demo_credentials, journal, InPlace(journal), count=count, uploads=count
    )
    try:
        processes.start()
        started = wait_for(
            lambda: processes.pids() if len(processes.pids()) == count else [],
            what="the processes",
        )
        processes._end_idle(float("inf"))
        assert processes.pids() == started[: upload_pool.KEPT]
    finally:
        processes.stop()


def test_the_work_folder_stays_while_a_worker_converts_in_it(
    client: KompliantClient, demo_credentials: Credentials, config: Config
) -> None:
    """A worker converting an image writes its PDF into the folder's work folder
    (``.processing/.scan``). An upload process that settles another converted file of
    that folder meanwhile removes that file's PDF, never the folder, since it cannot know
    that a worker just made it: a HEIC being decoded beside a BMP's upload used to fail
    with "No such file or directory" for its PDF. The engine removes the folder once
    nobody works in it."""
    folder = bank(config)
    Image.new("RGB", (64, 48), (200, 10, 10)).save(folder / "old scan.bmp")
    work = work_folder(folder)
    with working_in(folder):  # as a worker converting a HEIC there is
        summary = engine(config, client, demo_credentials, once=True).run()
        assert (summary.done, summary.failed, summary.unsettled) == (1, 0, 0)
        assert work.is_dir(), "the work folder was removed while a worker was working in it"
        assert list(work.iterdir()) == []  # the BMP's PDF went after its upload
    Image.new("RGB", (64, 48), (10, 200, 10)).save(folder / "new scan.bmp")
    summary = engine(config, client, demo_credentials, once=True).run()
    assert (summary.done, summary.failed, summary.unsettled) == (1, 0, 0)
    assert documents_in(folder / AGENT_OWNED.done_dir) == ["new scan.bmp", "old scan.bmp"]
    assert not work.exists(), "the engine left its empty work folder behind"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose (it is ended; only its exit status waits)
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_the_status_sees_what_another_process_wrote_to_the_journal(tmp_path: Path) -> None:
    """The engine reads the journal's counts again only when ``changes`` moved: it must
    move for an upload process's commits too (another connection, another process)."""
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path) as engines, Journal.open(path) as theirs:
        seen = engines.changes
        entry = theirs.begin(tmp_path / "a.pdf", folder_key="k")
        assert engines.changes != seen
        seen = engines.changes
        theirs.settle(entry.id, Outcome.FAILED, None, "gone")
        assert engines.changes != seen
        seen = engines.changes
        assert engines.changes == seen  # nothing committed: nothing to read again


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_processes_of_a_killed_agent_end_with_it_mid_file(agent_home: AgentHome) -> None:
    """``agent run`` killed with SIGKILL (no cleanup runs in it) while an upload process
    waits for document.create's answer: the process ends at once, not after the answer —
    the journal stays at the step the killed agent reached, as it would without upload
    processes."""
    agent_home.write_config(agent={"workers": 2, "upload_processes": 2})
    folder = agent_home.add_workflow() / "Bank statements"
    set_faults(
        agent_home.sandbox, script=[{"method": "document.create", "action": "hang", "seconds": 4}]
    )
    agent = agent_home.start()
    uploads = wait_for(
        lambda: _two_upload_processes(agent.process.pid),
        what="the agent's two upload processes",
    )
    (folder / "statement.pdf").write_bytes(PDF)
    wait_for(
        lambda: step_of("default") == Step.HASHED.value and not agent_home.sandbox.faults.script(),
        what="document.create to be sent",
    )
    agent.kill()
    wait_for(
        lambda: not any(_alive(pid) for pid in uploads),
        timeout=3.0,  # less than the answer's wait: they did not wait for it
        what="the upload processes to end with the agent",
    )
    wait_for(lambda: live_in_sandbox(agent_home), what="the record made all the same")
    assert step_of("default") == Step.HASHED.value  # the answer was never recorded


def live_in_sandbox(home: AgentHome) -> bool:
    credentials = home.credentials
    with KompliantClient(credentials) as client:
        return bool(client.list_documents(DEMO_SUBJECT))


def _two_upload_processes(pid: int) -> list[int]:
    uploads = [child for child in children_of(pid) if _is_upload_process(child)]
    return uploads if len(uploads) == 2 else []


def _is_upload_process(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"multiprocessing.spawn" in command and b"resource_tracker" not in command


class Failing(InPlace):
    """A locator with a bug: it raises when asked."""

    def locate(self, entry: Entry) -> Entry | None:
        if entry.claimed_path is not None and entry.claimed_path.exists():
            return entry
        raise RuntimeError("a bug in the locator")


def test_a_bug_in_an_answer_ends_the_process_and_the_next_file_goes_through(
    demo_credentials: Credentials, journal: Journal, tmp_path: Path
) -> None:
    """The engine's side fails while the process waits for its answer: the error reaches
    the worker (as a bug), that process is ended, and the next file gets a new one."""
    folder = tmp_path / "Bank statements"
    moved = claimed(journal, folder, "march.pdf", PDF)
    assert moved.claimed_path is not None
    moved.claimed_path.rename(moved.claimed_path.with_name("elsewhere.pdf"))
    later = claimed(journal, folder, "april.pdf", PDF + b" ")
    processes = start_processes(demo_credentials, journal, Failing(journal))
    job = Job(DEMO_SUBJECT, {RD_BANK: "Bank statements"})
    try:
        with pytest.raises(RuntimeError, match="a bug in the locator"):
            processes.run(moved, job)
        ended = processes.pids()
        assert processes.interrupted(moved.id)
        settled = processes.run(later, job)
        started = processes.pids()
    finally:
        processes.stop()
    assert settled.outcome is Outcome.DONE
    assert len(ended) == len(started) == 1 and ended != started  # a new process
    assert not _alive(ended[0])
    entry = journal.get(moved.id)
    assert entry is not None and not entry.settled  # left as it stood, for its next try
