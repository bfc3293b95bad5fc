"""Finished-file detection rules, driven by a fake clock and a fake stat."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.watch.events import EventKind
from agent.watch.stability import FileStat, StabilitySettings, StabilityTracker, stat_file
from tests.kit.clock import FakeClock

SETTINGS = StabilitySettings(quiet_seconds=2.0, close_confirm_seconds=0.25, max_wait_seconds=10.0)
FILE = Path("/w/Bank statements/march.pdf")


class FakeDisk(FakeClock):
    """A fake clock, and a stat function over files that exist only in a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[Path, FileStat] = {}
        self.stats = 0

    def stat(self, path: Path) -> FileStat | None:
        self.stats += 1
        return self.files.get(path)

    def write(self, path: Path, size: int) -> None:
        self.files[path] = FileStat(size=size, mtime_ns=int(self.now * 1e9))


@pytest.fixture
def disk() -> FakeDisk:
    return FakeDisk()


def tracker_for(disk: FakeDisk, settings: StabilitySettings = SETTINGS) -> StabilityTracker:
    return StabilityTracker(lambda _path: settings, clock=disk, stat=disk.stat)


def test_closed_file_goes_after_the_confirmation(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CREATED)
    tracker.observe(FILE, EventKind.MODIFIED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    assert tracker.next_deadline() == pytest.approx(disk.now + 0.25)
    disk.advance(0.2)
    assert tracker.due() == []
    disk.advance(0.05)
    assert tracker.due() == [FILE]
    assert tracker.pending() == 0
    assert tracker.next_deadline() is None


def test_file_returned_once_until_observed_again(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(1)
    assert tracker.due() == [FILE]
    disk.advance(5)
    assert tracker.due() == []
    tracker.observe(FILE, EventKind.SCANNED)  # a later rescan re-arms it, on the quiet path
    disk.advance(1.9)
    assert tracker.due() == []
    disk.advance(0.1)
    assert tracker.due() == [FILE]


def test_close_then_changed_without_event_falls_back_to_quiet_path(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.1)
    disk.write(FILE, 200)  # written again, the event lost
    disk.advance(0.15)
    assert tracker.due() == []
    assert tracker.next_deadline() == pytest.approx(disk.now + 2.0)
    disk.advance(2.0)
    assert tracker.due() == [FILE]


def test_write_after_close_restarts_the_wait(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.1)
    disk.write(FILE, 150)
    tracker.observe(FILE, EventKind.MODIFIED)
    disk.advance(0.3)
    assert tracker.due() == []  # the close no longer counts: it is on the quiet path now
    disk.write(FILE, 200)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.25)
    assert tracker.due() == [FILE]


def test_quiet_path_needs_quiet_and_equal_stats(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 10)
    tracker.observe(FILE, EventKind.CREATED)
    for size in (20, 30, 40):
        disk.advance(1.5)
        disk.write(FILE, size)
        tracker.observe(FILE, EventKind.MODIFIED)
        assert tracker.due() == []
    disk.advance(1.99)
    assert tracker.due() == []
    disk.advance(0.01)
    assert tracker.due() == [FILE]


def test_polled_change_without_events_waits_another_quiet_period(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 10)
    tracker.observe(FILE, EventKind.CREATED)
    disk.advance(2.0)
    disk.write(FILE, 20)
    assert tracker.due() == []
    disk.advance(2.0)
    assert tracker.due() == [FILE]


def test_present_at_start_waits_the_quiet_period(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 10)
    tracker.observe(FILE, EventKind.SCANNED)
    assert tracker.due() == []
    disk.advance(2.0)
    assert tracker.due() == [FILE]


def test_rescan_of_a_pending_file_does_not_restart_its_wait(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 10)
    tracker.observe(FILE, EventKind.CREATED)
    disk.advance(1.5)
    tracker.observe(FILE, EventKind.SCANNED)
    disk.advance(0.5)
    assert tracker.due() == [FILE]


def test_moved_in_takes_the_close_path_despite_synthetic_created(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.MOVED_IN)
    tracker.observe(FILE, EventKind.CREATED)  # watchdog also reports files of a moved-in folder
    disk.advance(0.25)
    assert tracker.due() == [FILE]


def test_touched_all_the_time_goes_after_max_wait(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    went_at = None
    for _ in range(60):  # an indexer opening the file every half second, content unchanged
        disk.advance(0.2)
        tracker.observe(FILE, EventKind.MODIFIED)
        if tracker.due():
            went_at = disk.now
            break
        disk.advance(0.3)
        if tracker.due():
            went_at = disk.now
            break
    assert went_at is not None
    # max wait 10 s, then one quiet period of 2 s with equal stats
    assert 10.0 <= went_at - 1000.0 <= 12.5


def test_really_changing_file_never_goes_and_warns_once(
    disk: FakeDisk, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 1)
    tracker.observe(FILE, EventKind.CREATED)
    with caplog.at_level(logging.WARNING, logger="agent.watch.stability"):
        for size in range(2, 80):
            disk.advance(0.5)
            disk.write(FILE, size)
            tracker.observe(FILE, EventKind.MODIFIED)
            assert tracker.due() == []
    warnings = [r for r in caplog.records if "still changing" in r.getMessage()]
    assert len(warnings) == 1
    assert tracker.pending() == 1
    # The writer stops: checks run every quiet period from the last one, so the file goes
    # within two quiet periods.
    went = []
    for _ in range(4):
        disk.advance(1.0)
        went += tracker.due()
    assert went == [FILE]


def test_vanished_file_is_dropped(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    del disk.files[FILE]
    disk.advance(1)
    assert tracker.due() == []
    assert tracker.pending() == 0


def test_event_for_missing_file_is_not_tracked(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    tracker.observe(FILE, EventKind.CREATED)
    assert tracker.pending() == 0


def test_deleted_folder_drops_every_file_below_it(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    inner = FILE.parent / "sub" / "a.pdf"
    other = Path("/w/Government ID/id.png")
    for path in (FILE, inner, other):
        disk.write(path, 5)
        tracker.observe(path, EventKind.CREATED)
    tracker.observe(FILE.parent, EventKind.DELETED)
    assert tracker.pending() == 1
    disk.advance(2)
    assert tracker.due() == [other]


def test_deleted_name_drops_nothing_that_only_starts_like_it(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    beside = Path("/w/Bank statements 2024/march.pdf")  # the deleted name, and more
    for path in (FILE, beside):
        disk.write(path, 5)
        tracker.observe(path, EventKind.CREATED)
    tracker.observe(FILE.parent, EventKind.DELETED)
    tracker.observe(Path("/w/Bank"), EventKind.DELETED)
    assert tracker.pending() == 1
    disk.advance(2)
    assert tracker.due() == [beside]


def test_zero_byte_file_goes_only_after_quiet_period(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 0)
    tracker.observe(FILE, EventKind.CREATED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)  # a scanner creates it empty first
    disk.advance(0.25)
    assert tracker.due() == []
    disk.advance(1.75)
    assert tracker.due() == [FILE]


def test_zero_byte_file_then_written_waits_for_the_write(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 0)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(1.0)
    disk.write(FILE, 5000)
    tracker.observe(FILE, EventKind.MODIFIED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.25)
    assert tracker.due() == [FILE]
    assert disk.files[FILE].size == 5000


def test_settings_per_folder(disk: FakeDisk) -> None:
    share = Path("/w/Share/scan.pdf")
    slow = StabilitySettings(quiet_seconds=10.0, polling=True, poll_interval=5.0)

    def settings_for(path: Path) -> StabilitySettings:
        return slow if path.parent.name == "Share" else SETTINGS

    tracker = StabilityTracker(settings_for, clock=disk, stat=disk.stat)
    for path in (FILE, share):
        disk.write(path, 10)
        tracker.observe(path, EventKind.CREATED)
    assert tracker.next_deadline() == pytest.approx(disk.now + 2.0)
    disk.advance(2.0)
    assert tracker.due() == [FILE]
    assert tracker.next_deadline() == pytest.approx(disk.now + 8.0)
    disk.advance(8.0)
    assert tracker.due() == [share]


def test_due_returns_oldest_first(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    first, second = Path("/w/a/first.pdf"), Path("/w/a/second.pdf")
    disk.write(second, 1)
    tracker.observe(second, EventKind.CREATED)
    disk.advance(0.5)
    disk.write(first, 1)
    tracker.observe(first, EventKind.CREATED)
    # second is re-touched later but was seen first
    disk.advance(0.5)
    disk.write(second, 2)
    tracker.observe(second, EventKind.MODIFIED)
    disk.advance(5)
    assert tracker.due() == [second, first]


def test_forget(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.write(FILE, 1)
    tracker.observe(FILE, EventKind.CREATED)
    tracker.forget(FILE)
    assert tracker.pending() == 0
    disk.advance(5)
    assert tracker.due() == []


def test_stat_file_on_real_files(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"12345")
    got = stat_file(path)
    assert got == FileStat(size=5, mtime_ns=path.stat().st_mtime_ns)
    assert stat_file(tmp_path) is None  # a folder is not a file
    assert stat_file(tmp_path / "missing.pdf") is None
    link = tmp_path / "link.pdf"
    link.symlink_to(path)
    own = link.lstat()  # the link's own stat, never its target's: it gets an outcome
    assert stat_file(link) == FileStat(size=own.st_size, mtime_ns=own.st_mtime_ns, link=True)


def test_a_link_goes_after_the_quiet_period_though_no_close_ever_comes(disk: FakeDisk) -> None:
    """``ln -s`` makes the link whole in one call: there is no writer to wait for."""
    tracker = StabilityTracker(
        lambda _path: SETTINGS, clock=disk, stat=disk.stat, close_reported=lambda _p: True
    )
    disk.files[FILE] = FileStat(size=20, mtime_ns=0, link=True)
    tracker.observe(FILE, EventKind.CREATED)
    disk.advance(1.9)
    assert tracker.due() == []
    disk.advance(0.1)
    assert tracker.due() == [FILE]  # not the maximum wait of an open file (10 s here)


def test_where_closes_are_reported_an_open_file_waits_for_its_close(disk: FakeDisk) -> None:
    patient = StabilitySettings(quiet_seconds=2.0, close_confirm_seconds=0.25, max_wait_seconds=60)
    tracker = StabilityTracker(
        lambda _path: patient, clock=disk, stat=disk.stat, close_reported=lambda _p: True
    )
    disk.write(FILE, 10)
    tracker.observe(FILE, EventKind.CREATED)
    for _ in range(3):  # a scanner pausing longer than quiet_seconds between pages
        disk.advance(3.0)
        assert tracker.due() == []
        disk.write(FILE, disk.files[FILE].size + 10)
        tracker.observe(FILE, EventKind.MODIFIED)
    disk.advance(3.0)
    tracker.observe(FILE, EventKind.SCANNED)  # a rescan does not end the wait
    assert tracker.due() == []
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.25)
    assert tracker.due() == [FILE]


def test_an_open_file_whose_close_is_lost_goes_after_the_maximum_wait(disk: FakeDisk) -> None:
    tracker = StabilityTracker(
        lambda _path: SETTINGS, clock=disk, stat=disk.stat, close_reported=lambda _p: True
    )
    disk.write(FILE, 10)
    tracker.observe(FILE, EventKind.CREATED)
    tracker.observe(FILE, EventKind.MODIFIED)
    disk.advance(9.9)
    assert tracker.due() == []
    disk.advance(0.1)
    assert tracker.due() == [FILE]


def test_a_change_after_the_close_does_not_wait_for_another_close(disk: FakeDisk) -> None:
    tracker = StabilityTracker(
        lambda _path: SETTINGS, clock=disk, stat=disk.stat, close_reported=lambda _p: True
    )
    disk.write(FILE, 10)
    tracker.observe(FILE, EventKind.CREATED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.write(FILE, 10)  # `cp -p` setting the times after its close: no close follows
    tracker.observe(FILE, EventKind.MODIFIED)
    disk.advance(2.0)
    assert tracker.due() == [FILE]
