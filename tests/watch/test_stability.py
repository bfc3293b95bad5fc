"""Finished-file detection rules, driven by a fake clock and a fake stat."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.watch.events import EventKind
from agent.watch.readiness import Readiness
from agent.watch.stability import FileStat, StabilitySettings, StabilityTracker, stat_file
from tests.kit.clock import FakeClock

SETTINGS = StabilitySettings(
    quiet_seconds=2.0,
    close_confirm_seconds=0.25,
    whole_confirm_seconds=0.05,
    max_wait_seconds=10.0,
    incomplete_seconds=60.0,
)
FILE = Path("/w/Bank statements/march.pdf")


class FakeDisk(FakeClock):
    """A fake clock, and a stat function over files that exist only in a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[Path, FileStat] = {}
        self.stats = 0
        self.inside: dict[Path, Readiness] = {}  # what a look inside finds (default: ready)

    def stat(self, path: Path) -> FileStat | None:
        self.stats += 1
        return self.files.get(path)

    def write(self, path: Path, size: int) -> None:
        self.files[path] = FileStat(size=size, mtime_ns=int(self.now * 1e9))

    def look_inside(self, path: Path, size: int) -> Readiness:
        if size == 0:
            return Readiness.EMPTY
        return self.inside.get(path, Readiness.READY)


@pytest.fixture
def disk() -> FakeDisk:
    return FakeDisk()


def tracker_for(
    disk: FakeDisk, settings: StabilitySettings = SETTINGS, *, closes: bool = False
) -> StabilityTracker:
    return StabilityTracker(
        lambda _path: settings,
        clock=disk,
        stat=disk.stat,
        close_reported=lambda _path: closes,
        look_inside=disk.look_inside,
    )


def arrived(
    disk: FakeDisk,
    size: int,
    kind: EventKind,
    settings: StabilitySettings = SETTINGS,
    *,
    closes: bool = False,
) -> StabilityTracker:
    """A tracker that has seen :data:`FILE` arrive: ``size`` bytes, told by ``kind``."""
    tracker = tracker_for(disk, settings, closes=closes)
    disk.write(FILE, size)
    tracker.observe(FILE, kind)
    return tracker


def test_closed_file_goes_after_the_confirmation(disk: FakeDisk) -> None:
    tracker = arrived(disk, 100, EventKind.CREATED)
    tracker.observe(FILE, EventKind.MODIFIED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    closed = disk.now
    assert tracker.next_deadline() == pytest.approx(closed + 0.05)  # a first look inside
    disk.advance(0.05)
    assert tracker.due() == []  # no end marker to say it is whole: the full confirmation
    assert tracker.next_deadline() == pytest.approx(closed + 0.25)
    disk.advance(0.14)
    assert tracker.due() == []
    disk.now = closed + 0.25
    assert tracker.due() == [FILE]
    assert tracker.pending() == 0
    assert tracker.next_deadline() is None


def test_a_whole_file_goes_after_the_short_confirmation(disk: FakeDisk) -> None:
    disk.inside[FILE] = Readiness.WHOLE  # its format's end marker is there
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
    disk.advance(0.04)
    assert tracker.due() == []
    disk.advance(0.01)
    assert tracker.due() == [FILE]
    assert tracker.pending() == 0


def test_a_whole_file_changed_within_the_short_confirmation_waits(disk: FakeDisk) -> None:
    disk.inside[FILE] = Readiness.WHOLE
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
    disk.advance(0.03)
    disk.write(FILE, 100)  # written again in place (same size, new mtime), the event lost
    disk.advance(0.02)
    assert tracker.due() == []  # the re-stat differs: the quiet path
    assert tracker.next_deadline() == pytest.approx(disk.now + 2.0)


def test_a_whole_file_reopened_for_writing_waits_for_its_writer(disk: FakeDisk) -> None:
    disk.inside[FILE] = Readiness.WRITING  # a second pass has it open again
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
    disk.advance(0.05)
    assert tracker.due() == []
    assert tracker.waiting() == {FILE: Readiness.WRITING}
    disk.inside[FILE] = Readiness.WHOLE
    tracker.observe(FILE, EventKind.CLOSED_WRITE)  # its second close
    disk.advance(0.05)
    assert tracker.due() == [FILE]


def test_the_short_confirmation_is_never_longer_than_the_full_one(disk: FakeDisk) -> None:
    quick = StabilitySettings(close_confirm_seconds=0.02, whole_confirm_seconds=0.05)
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE, quick)
    disk.advance(0.02)
    assert tracker.due() == [FILE]


def test_file_returned_once_until_observed_again(disk: FakeDisk) -> None:
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
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
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
    disk.advance(0.1)
    disk.write(FILE, 200)  # written again, the event lost
    disk.advance(0.15)
    assert tracker.due() == []
    assert tracker.next_deadline() == pytest.approx(disk.now + 2.0)
    disk.advance(2.0)
    assert tracker.due() == [FILE]


def test_write_after_close_restarts_the_wait(disk: FakeDisk) -> None:
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
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
    tracker = arrived(disk, 10, EventKind.CREATED)
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
    tracker = arrived(disk, 10, EventKind.CREATED)
    disk.advance(2.0)
    disk.write(FILE, 20)
    assert tracker.due() == []
    disk.advance(2.0)
    assert tracker.due() == [FILE]


def test_present_at_start_waits_the_quiet_period(disk: FakeDisk) -> None:
    tracker = arrived(disk, 10, EventKind.SCANNED)
    assert tracker.due() == []
    disk.advance(2.0)
    assert tracker.due() == [FILE]


def test_rescan_of_a_pending_file_does_not_restart_its_wait(disk: FakeDisk) -> None:
    tracker = arrived(disk, 10, EventKind.CREATED)
    disk.advance(1.5)
    tracker.observe(FILE, EventKind.SCANNED)
    disk.advance(0.5)
    assert tracker.due() == [FILE]


def test_moved_in_takes_the_close_path_despite_synthetic_created(disk: FakeDisk) -> None:
    tracker = arrived(disk, 100, EventKind.MOVED_IN)
    tracker.observe(FILE, EventKind.CREATED)  # watchdog also reports files of a moved-in folder
    disk.advance(0.25)
    assert tracker.due() == [FILE]


def test_touched_all_the_time_goes_after_max_wait(disk: FakeDisk) -> None:
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
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
    tracker = arrived(disk, 1, EventKind.CREATED)
    with caplog.at_level(logging.WARNING, logger="agent.watch.stability"):
        for size in range(2, 80):
            disk.advance(0.5)
            disk.write(FILE, size)
            tracker.observe(FILE, EventKind.MODIFIED)
            assert tracker.due() == []
    warnings = [r for r in caplog.records if "still changing" in r.getMessage()]
    assert len(warnings) == 1
    assert tracker.pending() == 1
    assert tracker.waiting() == {FILE: Readiness.CHANGING}  # status says so
    # The writer stops: checks run every quiet period from the last one, so the file goes
    # within two quiet periods.
    went = []
    for _ in range(4):
        disk.advance(1.0)
        went += tracker.due()
    assert went == [FILE]
    assert tracker.waiting() == {}


def test_vanished_file_is_dropped(disk: FakeDisk) -> None:
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
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


def test_a_zero_byte_placeholder_waits_and_fails_only_after_the_incomplete_time(
    disk: FakeDisk,
) -> None:
    tracker = arrived(disk, 0, EventKind.CREATED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)  # a browser creates the name first
    disk.advance(2.0)
    assert tracker.due() == []
    assert tracker.waiting() == {FILE: Readiness.EMPTY}
    assert tracker.given_up() == []
    for _ in range(29):
        disk.advance(2.0)
        assert tracker.due() == []
    assert tracker.given_up() == []  # found empty 58 s ago
    disk.advance(2.0)
    assert tracker.due() == []
    assert tracker.given_up() == [(FILE, Readiness.EMPTY)]
    assert tracker.given_up() == []  # once
    assert tracker.pending() == 0
    assert tracker.waiting() == {}


def test_zero_byte_file_then_written_waits_for_the_write(disk: FakeDisk) -> None:
    tracker = arrived(disk, 0, EventKind.CLOSED_WRITE)
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
    tracker = arrived(disk, 1, EventKind.CREATED)
    tracker.forget(FILE)
    assert tracker.pending() == 0
    disk.advance(5)
    assert tracker.due() == []


def test_forget_a_file_leaves_the_others_alone(disk: FakeDisk) -> None:
    tracker = arrived(disk, 1, EventKind.CREATED)
    tracker.forget_file(FILE.with_name("claimed-before.pdf"))  # not tracked: nothing changes
    assert tracker.tracks(FILE)
    tracker.forget_file(FILE)
    assert tracker.pending() == 0
    disk.advance(5)
    assert tracker.due() == []
    empty = arrived(disk, 0, EventKind.CREATED)  # one that waits (empty) is shown no more
    disk.advance(5)
    empty.due()
    assert empty.waiting() == {FILE: Readiness.EMPTY}
    shown = empty.waiting_changes
    empty.forget_file(FILE)
    assert empty.waiting() == {} and empty.waiting_changes > shown


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


def test_real_files_each_take_the_confirmation_their_end_allows(tmp_path: Path) -> None:
    """The default path: the real look inside, on real files, with the shipped settings."""
    clock = FakeClock()
    tracker = StabilityTracker(lambda _path: StabilitySettings(), clock=clock)
    whole = tmp_path / "id.png"
    whole.write_bytes(b"\x89PNG\r\n\x1a\n id IEND\xaeB`\x82")
    cut = tmp_path / "statement.pdf"
    cut.write_bytes(b"%PDF-1.7\n1 0 obj\n")  # the first pass of a save in passes
    text = tmp_path / "notes.txt"
    text.write_bytes(b"a format with no end marker")
    for path in (whole, cut, text):
        tracker.observe(path, EventKind.CLOSED_WRITE)
    clock.advance(0.1)
    assert tracker.due() == [whole]
    assert tracker.waiting() == {cut: Readiness.INCOMPLETE}
    clock.now = 1000.25
    assert tracker.due() == [text]
    assert tracker.tracks(cut)


def test_a_link_goes_after_the_quiet_period_though_no_close_ever_comes(disk: FakeDisk) -> None:
    """``ln -s`` makes the link whole in one call: there is no writer to wait for."""
    tracker = tracker_for(disk, closes=True)
    disk.files[FILE] = FileStat(size=20, mtime_ns=0, link=True)
    tracker.observe(FILE, EventKind.CREATED)
    disk.advance(1.9)
    assert tracker.due() == []
    disk.advance(0.1)
    assert tracker.due() == [FILE]  # not the maximum wait of an open file (10 s here)


def test_where_closes_are_reported_an_open_file_waits_for_its_close(disk: FakeDisk) -> None:
    patient = StabilitySettings(quiet_seconds=2.0, close_confirm_seconds=0.25, max_wait_seconds=60)
    tracker = arrived(disk, 10, EventKind.CREATED, patient, closes=True)
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
    tracker = arrived(disk, 10, EventKind.CREATED, closes=True)
    tracker.observe(FILE, EventKind.MODIFIED)
    disk.advance(9.9)
    assert tracker.due() == []
    disk.advance(0.1)
    assert tracker.due() == [FILE]


def test_a_change_after_the_close_does_not_wait_for_another_close(disk: FakeDisk) -> None:
    tracker = arrived(disk, 10, EventKind.CREATED, closes=True)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.write(FILE, 12)  # written again without a close event of its own
    tracker.observe(FILE, EventKind.MODIFIED)
    disk.advance(2.0)
    assert tracker.due() == [FILE]


# -- attribute changes -----------------------------------------------------------------------


@pytest.mark.parametrize("arrival", [EventKind.CLOSED_WRITE, EventKind.MOVED_IN])
def test_an_attribute_change_after_the_close_keeps_the_close_path(
    disk: FakeDisk, arrival: EventKind
) -> None:
    """rsync --inplace, browsers and Samba set times, mode or extended attributes after
    their last close or rename: the file still goes after the short confirmation."""
    tracker = tracker_for(disk, closes=True)
    disk.write(FILE, 100)
    if arrival is EventKind.CLOSED_WRITE:
        tracker.observe(FILE, EventKind.CREATED)
    tracker.observe(FILE, arrival)
    disk.advance(0.05)
    disk.write(FILE, 100)  # utime: a new mtime, the same size
    tracker.observe(FILE, EventKind.ATTRIB)
    tracker.observe(FILE, EventKind.ATTRIB)  # chmod, then an extended attribute
    disk.advance(0.2)
    assert tracker.due() == []
    disk.advance(0.05)
    assert tracker.due() == [FILE]


def test_an_attribute_change_with_another_size_is_a_change(disk: FakeDisk) -> None:
    tracker = arrived(disk, 100, EventKind.CLOSED_WRITE)
    disk.write(FILE, 50)
    tracker.observe(FILE, EventKind.ATTRIB)  # a truncation reported with the attributes
    disk.advance(0.25)
    assert tracker.due() == []
    disk.advance(1.75)
    assert tracker.due() == [FILE]


def test_an_attribute_change_alone_on_an_unseen_file_takes_the_quiet_path(disk: FakeDisk) -> None:
    tracker = arrived(disk, 100, EventKind.ATTRIB)
    disk.advance(1.9)
    assert tracker.due() == []
    disk.advance(0.1)
    assert tracker.due() == [FILE]


# -- the look inside -------------------------------------------------------------------------


def test_an_incomplete_file_waits_whatever_the_close_says(disk: FakeDisk) -> None:
    """A program that saves in passes closes after each one; the end marker comes last."""
    tracker = tracker_for(disk, closes=True)
    disk.inside[FILE] = Readiness.INCOMPLETE
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CREATED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.25)
    assert tracker.due() == []
    assert tracker.waiting() == {FILE: Readiness.INCOMPLETE}
    disk.advance(1.0)
    disk.write(FILE, 200)  # the next pass
    tracker.observe(FILE, EventKind.MODIFIED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.25)
    assert tracker.due() == []
    disk.advance(1.0)
    disk.write(FILE, 300)  # the last pass writes the end
    del disk.inside[FILE]
    tracker.observe(FILE, EventKind.MODIFIED)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.25)
    assert tracker.due() == [FILE]
    assert tracker.waiting() == {}
    assert tracker.given_up() == []


def test_an_incomplete_file_left_unchanged_is_given_up(disk: FakeDisk) -> None:
    """A copy cut short by a full disk: incomplete, and never changing again."""
    tracker = tracker_for(disk)
    disk.inside[FILE] = Readiness.INCOMPLETE
    disk.write(FILE, 299_008)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(30.0)
    assert tracker.due() == []
    disk.advance(29.0)
    disk.write(FILE, 299_008)  # touched: times change, so the 60 s start again
    assert tracker.due() == []
    for _ in range(30):
        disk.advance(2.0)
        assert tracker.due() == []
    assert tracker.given_up() == []
    disk.advance(35.0)
    assert tracker.due() == []
    assert tracker.given_up() == [(FILE, Readiness.INCOMPLETE)]
    assert tracker.pending() == 0


def test_a_file_still_open_for_writing_waits_and_never_times_out(disk: FakeDisk) -> None:
    """A writer holding the file open and pausing longer than the quiet period (a polled
    folder, where no close is reported): the lease says it is open."""
    tracker = tracker_for(disk)
    disk.inside[FILE] = Readiness.WRITING
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CREATED)
    for _ in range(40):
        disk.advance(2.0)
        assert tracker.due() == []
    assert tracker.waiting() == {FILE: Readiness.WRITING}
    assert tracker.given_up() == []
    del disk.inside[FILE]  # closed
    disk.advance(2.0)
    assert tracker.due() == [FILE]


def test_a_waiting_file_that_changes_is_timed_again_from_its_change(disk: FakeDisk) -> None:
    tracker = tracker_for(disk)
    disk.inside[FILE] = Readiness.INCOMPLETE
    disk.write(FILE, 100)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(50.0)
    assert tracker.due() == []
    disk.write(FILE, 150)
    tracker.observe(FILE, EventKind.MODIFIED)
    disk.advance(50.0)
    assert tracker.due() == []
    assert tracker.given_up() == []  # 100 s since first seen, 50 s since the change
    assert tracker.waiting() == {FILE: Readiness.INCOMPLETE}


def test_a_placeholder_replaced_by_the_whole_file_goes_at_once(disk: FakeDisk) -> None:
    """Firefox: the name as 0 bytes, the data in a .part renamed over it 3 s later."""
    tracker = arrived(disk, 0, EventKind.CREATED, closes=True)
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(3.0)
    assert tracker.due() == []
    disk.write(FILE, 40_000)
    tracker.observe(FILE, EventKind.MOVED_IN)
    tracker.observe(FILE, EventKind.ATTRIB)
    disk.advance(0.25)
    assert tracker.due() == [FILE]
    assert tracker.given_up() == []


def test_waiting_changes_grows_whenever_what_waits_changes(disk: FakeDisk) -> None:
    """The status is built again only when something it shows moved: a file that starts
    waiting, waits for something else, or stops waiting must each count as a change."""
    tracker = arrived(disk, 0, EventKind.CLOSED_WRITE, closes=True)
    start = tracker.waiting_changes
    disk.advance(2.0)  # an empty file takes the quiet path
    tracker.due()
    assert tracker.waiting() == {FILE: Readiness.EMPTY}
    empty = tracker.waiting_changes
    assert empty > start
    disk.advance(2.0)
    tracker.due()
    assert tracker.waiting_changes == empty  # still empty: nothing new to show
    disk.write(FILE, 100)
    disk.inside[FILE] = Readiness.INCOMPLETE
    tracker.observe(FILE, EventKind.CLOSED_WRITE)
    disk.advance(0.25)
    tracker.due()
    assert tracker.waiting() == {FILE: Readiness.INCOMPLETE}
    incomplete = tracker.waiting_changes
    assert incomplete > empty
    tracker.forget(FILE)
    assert tracker.waiting() == {}
    assert tracker.waiting_changes > incomplete
