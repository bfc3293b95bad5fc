"""A file whose retry budget is spent goes to failed/ with a note that says so.

The engine runs in this process, so its retry policy can be short, against the sandbox
over real HTTP on loopback. The sandbox's upload endpoint answers HTTP 500 every time: a
failure that counts against a file's budget (unlike an unreachable Kompliant). Each try
creates a document, fails to send it and deletes it again, so Kompliant keeps nothing.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable

from agent.config import Config
from agent.decide.plan import INBOX_NAME
from agent.engine.retry_policy import RetryPolicy
from agent.engine.runner import Engine, EngineOptions, RunSummary
from agent.errors import AgentError
from agent.journal import journal_path
from agent.kompliant.client import KompliantClient
from agent.owned_names import AGENT_OWNED
from agent.sandbox import RunningSandbox
from agent.scan.code import CoverCode
from agent.scan.sheet import SheetContent, cover_sheets_pdf
from tests.conftest import DEMO_WORKFLOW, RD_BANK
from tests.engine.conftest import DEMO_FOLDER, LABEL, SHORT, bank, documents_in
from tests.engine.scankit import Stack
from tests.kit.notes import receipt as receipt_of
from tests.kit.sandbox import DEMO_SUBJECT, sandbox_stats, set_faults
from tests.kit.wait import wait_for

PDF = b"%PDF-1.4 a statement the upload store will not take\n%%EOF\n"
GAVE_UP = (
    "What went wrong: The upload kept failing after 3 attempts; the last problem was: "
    "The upload store had a problem: An internal error occurred."
)
TODO = (
    "What to do: Check the network and Kompliant's status, then move the file back into its "
    "folder (or run `kompliant-agent retry`)."
)


class Patient(RetryPolicy):
    """Tries again only after ten minutes (no jitter): a test stops the engine before."""

    def delay(
        self,
        attempts: int,
        error: AgentError | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        return 600.0


def uploads_refused(sandbox: RunningSandbox) -> None:
    set_faults(sandbox, script=[{"method": "upload", "action": "http_500", "count": 100}])


def uploads_tried(sandbox: RunningSandbox) -> int:
    return int(sandbox_stats(sandbox)["methods"].get("upload", 0))


def attempts_recorded(profile: str) -> int:
    """The journal's count of failed tries of the one file (read-only, from outside)."""
    path = journal_path(profile)
    if not path.exists():
        return 0
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    try:
        row = conn.execute("SELECT MAX(attempts) FROM entries").fetchone()
    finally:
        conn.close()
    return int(row[0] or 0)


def run(config: Config, client: KompliantClient, options: EngineOptions) -> RunSummary:
    return Engine(config, client, options=options).run()


def assert_gave_up(config: Config, client: KompliantClient) -> None:
    failed = bank(config) / AGENT_OWNED.failed_dir
    assert (failed / "statement.pdf").read_bytes() == PDF
    note = (failed / ("statement.pdf" + AGENT_OWNED.error_suffix)).read_text(encoding="utf-8")
    assert GAVE_UP in note, note
    assert TODO in note, note
    left = [
        bank(config) / "statement.pdf",
        bank(config) / AGENT_OWNED.processing_dir / "statement.pdf",
    ]
    assert [p for p in left if p.exists()] == []
    live = [d for d in client.list_documents(DEMO_SUBJECT) if d.deleted_at is None]
    assert live == []


def test_a_file_whose_retries_are_spent_fails_with_a_note_saying_so(
    sandbox: RunningSandbox, client: KompliantClient, config: Config
) -> None:
    uploads_refused(sandbox)
    (bank(config) / "statement.pdf").write_bytes(PDF)

    summary = run(config, client, EngineOptions(once=True, retry_policy=SHORT))

    assert (summary.done, summary.failed, summary.unsettled) == (0, 1, 0)
    assert uploads_tried(sandbox) == 3
    assert_gave_up(config, client)


def test_the_budget_counts_the_tries_made_before_a_restart(
    sandbox: RunningSandbox, client: KompliantClient, config: Config
) -> None:
    uploads_refused(sandbox)
    (bank(config) / "statement.pdf").write_bytes(PDF)
    first = Engine(config, client, options=EngineOptions(retry_policy=Patient(max_attempts=3)))
    stop = threading.Event()
    running = threading.Thread(target=first.run, args=(stop,))
    running.start()
    try:
        wait_for(
            lambda: attempts_recorded(config.agent.profile) == 1,
            what="the first try to fail and be recorded",
        )
    finally:
        stop.set()
        running.join(timeout=60)
    assert not running.is_alive()
    assert uploads_tried(sandbox) == 1

    summary = run(config, client, EngineOptions(once=True, retry_policy=SHORT))

    assert (summary.done, summary.failed, summary.unsettled) == (0, 1, 0)
    assert uploads_tried(sandbox) == 3  # two more, not three: the first one counted
    assert_gave_up(config, client)


def test_a_stack_whose_part_spent_its_retries_goes_to_done_with_the_part_failed(
    sandbox: RunningSandbox, client: KompliantClient, config: Config
) -> None:
    """A part of a scanned stack that gives up is the stack's last part to settle: the
    stack goes to done/ at once, its receipt saying what became of the part, instead of
    waiting in .processing/ for the agent's next start."""
    sheets = cover_sheets_pdf(
        [SheetContent(CoverCode(DEMO_WORKFLOW, RD_BANK), LABEL, "Bank statements")]
    )
    inbox = config.root / DEMO_FOLDER / INBOX_NAME
    (inbox / "scan.pdf").write_bytes(Stack(sheets).cover(0).document("B1").pdf())
    uploads_refused(sandbox)

    summary = run(config, client, EngineOptions(once=True, retry_policy=SHORT))

    assert summary.unsettled == 0
    assert uploads_tried(sandbox) == 3
    assert documents_in(inbox / AGENT_OWNED.done_dir) == ["scan.pdf"]
    receipt = receipt_of(inbox / AGENT_OWNED.done_dir / "scan.pdf")
    assert "cut into 1 part(s)" in receipt, receipt
    assert "The upload kept failing after 3 attempts" in receipt, receipt
    assert documents_in(inbox / AGENT_OWNED.processing_dir) == []
