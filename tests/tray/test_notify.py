"""Notification policy with a fake clock: what a notice says (the file, its requirement,
the reason), bursts give one summary, rate limit, snooze, sign-in and no-tray notices."""

from __future__ import annotations

from agent.engine.state import AgentState
from agent.engine.status import FileOutcome, FolderStatus, Snapshot
from agent.tray.notify import NoticeAction, NotificationPolicy
from tests.kit.clock import FakeClock

NAMES = {"rd_bank": "Bank statements", "rd_addr": "Proof of address"}
WRONG_TYPE = (
    "Kompliant does not accept .txt files (PDF, JPEG and PNG only). Save the document as "
    "a PDF and drop the new file into the folder."
)


def failure(name: str, rd: str = "rd_bank", reason: str = WRONG_TYPE) -> FileOutcome:
    return FileOutcome(
        name=name,
        path=f"/docs/Demo/{rd}/failed/{name}",
        folder_key=f"w/{rd}",
        workflow_id="w",
        required_document_ids=(rd,),
        reason=reason,
    )


def snap(
    failed: int = 0,
    routing: int = 0,
    state: AgentState = AgentState.IDLE,
    files: tuple[FileOutcome, ...] = (),
    **kw: object,
) -> Snapshot:
    folders = (FolderStatus(key="w/rd", folder="w/rd", failed=failed, needs_routing=routing),)
    return Snapshot(
        state=state,
        pid=1,
        updated_at="",
        folders=folders,
        failed_files=files,
        **kw,  # type: ignore[arg-type]
    )


def test_a_failure_names_the_file_its_requirement_and_the_reason() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0)
    policy.observe(snap(), NAMES)
    notice = policy.observe(snap(failed=1, files=(failure("notes.txt"),)), NAMES)
    assert notice is not None
    assert notice.title == "Kompliant agent: notes.txt failed"
    assert notice.body == f"notes.txt (Bank statements): {WRONG_TYPE}"
    assert "retry" not in notice.body.lower()  # trying again cannot fix a wrong type
    assert notice.folder == "/docs/Demo/rd_bank/failed"
    assert notice.actions == (NoticeAction.OPEN_FOLDER,)


def test_a_burst_of_500_failures_gives_one_summary_naming_three() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=3, min_interval=60)
    assert policy.observe(snap()) is None
    notices = []
    files: tuple[FileOutcome, ...] = ()
    for n in range(1, 501):
        clock.now += 0.004
        files = (failure(f"f{n}.txt"), *files)[:20]  # the snapshot lists the newest 20
        notices.append(policy.observe(snap(failed=n, files=files), NAMES))
    clock.now += 3
    notices.append(policy.due())
    shown = [n for n in notices if n is not None]
    assert len(shown) == 1
    assert shown[0].title == "Kompliant agent: 500 files failed"
    lines = shown[0].body.splitlines()
    assert len(lines) == 4 and lines[0].startswith("f1.txt (Bank statements): ")
    assert lines[3] == "497 more files failed: the note beside each in failed/ says why."
    assert shown[0].actions == (NoticeAction.OPEN_FAILED,)
    assert policy.due() is None


def test_what_was_there_at_start_is_no_news() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0)
    assert policy.observe(snap(failed=7, files=(failure("old.txt"),))) is None
    clock.now += 100
    assert policy.due() is None


def test_after_a_notice_the_next_waits_for_the_interval() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=60)
    policy.observe(snap())
    assert policy.observe(snap(failed=1)) is not None
    clock.now += 10
    assert policy.observe(snap(failed=2, routing=1)) is None
    clock.now += 49
    assert policy.due() is None
    clock.now += 1
    later = policy.due()
    assert later is not None
    assert later.title == "Kompliant agent: 1 file failed"
    assert later.body.startswith("1 file failed: the note beside each in failed/ says why.")
    assert "1 file(s) in an Inbox match no rule" in later.body


def test_a_retried_file_is_no_longer_news_and_failing_again_is() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=0)
    policy.observe(snap())
    first = policy.observe(snap(failed=1, files=(failure("a.txt"),)))
    assert first is not None and first.title.endswith("a.txt failed")
    policy.observe(snap(failed=0))  # retried: moved back out of failed/
    again = policy.observe(snap(failed=1, files=(failure("a.txt"),)))
    assert again is not None and again.title.endswith("a.txt failed")


def test_snooze_holds_notices_then_gives_one_summary() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=0)
    policy.observe(snap())
    assert policy.snooze(3600) == clock.now + 3600
    for n in range(1, 20):
        clock.now += 60
        assert policy.observe(snap(routing=n)) is None
    assert policy.snooze_left() == 3600 - 19 * 60
    clock.now += 3600
    summary = policy.due()
    assert summary is not None
    assert summary.title == "Kompliant agent: 19 file(s) need routing"
    assert policy.snooze_left() is None


def test_unsnooze_lets_the_held_notice_out() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=0)
    policy.observe(snap())
    policy.snooze()
    assert policy.observe(snap(failed=1)) is None
    policy.unsnooze()
    assert policy.due() is not None


def test_an_error_state_is_told_once_per_problem() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=0, min_interval=0)
    policy.observe(snap())
    problem = snap(state=AgentState.ERROR, problems=("The watched folder is gone",))
    first = policy.observe(problem)
    assert first is not None and first.body == "The watched folder is gone"
    assert first.title == "Kompliant agent: something needs fixing"
    assert policy.observe(problem) is None


def test_rejected_credentials_ask_to_sign_in_at_once_even_while_snoozed() -> None:
    clock = FakeClock()
    policy = NotificationPolicy(clock, gather=3, min_interval=60)
    policy.observe(snap())
    policy.snooze()
    refused = snap(
        state=AgentState.ERROR,
        problems=("Kompliant refused the credentials (Unauthorized).",),
        sign_in_needed=True,
    )
    notice = policy.observe(refused)
    assert notice is not None and notice.title == "Kompliant agent: sign in again"
    assert "Sign in…" in notice.body and notice.actions == (NoticeAction.SIGN_IN,)
    assert notice.urgent
    assert policy.observe(refused) is None  # told once


def test_no_tray_is_told_once_with_the_fix() -> None:
    policy = NotificationPolicy(FakeClock())
    policy.snooze()
    policy.no_tray("no tray host on this desktop", "Add the Status Tray plugin.")
    notice = policy.due()
    assert notice is not None and notice.title == "Kompliant agent runs without a tray icon"
    assert notice.body == "no tray host on this desktop. Add the Status Tray plugin."
    assert policy.due() is None
