"""FolderWatcher with the real watchdog observers on real folders."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from agent.watch.events import EventKind
from agent.watch.ignore import ignore_under
from agent.watch.mounts import Mount
from agent.watch.observer import FolderWatcher, RootState, make_observer
from agent.watch.polling import PolledFolder
from agent.watch.stability import StabilitySettings, StabilityTracker
from tests.kit.wait import wait_for
from tests.realwriters.servers import bindfs_mount
from tests.watch.conftest import Recorder

EVENTS = StabilitySettings(quiet_seconds=1.0, close_confirm_seconds=0.25, poll_interval=0.1)
POLLING = StabilitySettings(quiet_seconds=1.0, polling=True, poll_interval=0.1)

MakeWatcher = Callable[..., FolderWatcher]


@pytest.fixture
def make_watcher(recorder: Recorder) -> Iterator[MakeWatcher]:
    watchers: list[FolderWatcher] = []

    def make(
        roots: list[Path],
        settings_for: Callable[[Path], StabilitySettings] = lambda _p: EVENTS,
        start: bool = True,
        **kwargs: object,
    ) -> FolderWatcher:
        watcher = FolderWatcher(
            roots,
            on_event=recorder,
            on_root_problem=recorder.problem,
            on_root_recovered=recorder.back,
            settings_for=settings_for,
            ignore=ignore_under(roots),
            **kwargs,  # type: ignore[arg-type]
        )
        watchers.append(watcher)
        if start:
            watcher.start()
        return watcher

    yield make
    for watcher in watchers:
        watcher.stop()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "Kompliant"
    (path / "Acme w_1" / "Bank statements").mkdir(parents=True)
    return path


def folder(root: Path) -> Path:
    return root / "Acme w_1" / "Bank statements"


def test_created_and_closed_file_is_reported_closed_write(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    make_watcher([root])
    target = folder(root) / "march.pdf"
    target.write_bytes(b"%PDF-1.7 statement")
    recorder.wait_for(target, EventKind.CLOSED_WRITE)
    kinds = recorder.kinds(target)
    assert kinds[0] is EventKind.CREATED
    assert EventKind.DELETED not in kinds


def test_reading_a_file_reports_nothing(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    target = folder(root) / "march.pdf"
    target.write_bytes(b"x")
    make_watcher([root])
    recorder.take()  # the start-up rescan
    marker = folder(root) / "after.pdf"
    target.read_bytes()
    marker.write_bytes(b"y")  # events arrive in order: once this is seen, the read was too
    recorder.wait_for(marker, EventKind.CLOSED_WRITE)
    assert recorder.kinds(target) == []


def _drive_until_due(
    recorder: Recorder, tracker: StabilityTracker, target: Path, timeout: float
) -> tuple[float, int] | None:
    """Feed the watcher's events to the tracker until ``target`` is due: (when, size)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path, kind in recorder.take():
            tracker.observe(path, kind)
        if target in tracker.due():
            return time.monotonic(), target.stat().st_size
        wake = tracker.next_deadline()
        pause = 0.02 if wake is None else min(max(wake - time.monotonic(), 0.0), 0.02)
        time.sleep(pause)
    return None


@pytest.mark.parametrize("settings", [EVENTS, POLLING], ids=["inotify", "polling"])
def test_slowly_written_file_is_due_only_after_it_is_finished(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher, settings: StabilitySettings
) -> None:
    make_watcher([root], settings_for=lambda _p: settings)
    tracker = StabilityTracker(lambda _p: settings, clock=time.monotonic)
    target = folder(root) / "scan.pdf"
    chunk, chunks = b"x" * 4096, 12
    finished = threading.Event()
    finished_at: list[float] = []

    def write_slowly() -> None:
        with target.open("wb") as handle:
            for _ in range(chunks):
                handle.write(chunk)
                handle.flush()
                time.sleep(0.25)  # the writer is a slow scanner: ~3 s in all
        finished_at.append(time.monotonic())
        finished.set()

    writer = threading.Thread(target=write_slowly)
    writer.start()
    try:
        result = _drive_until_due(recorder, tracker, target, timeout=10.0)
    finally:
        writer.join()
    assert result is not None, "the file never became due"
    due_at, size = result
    assert finished.is_set()
    assert due_at >= finished_at[0]
    assert size == len(chunk) * chunks


def test_folder_moved_in_yields_every_file(
    root: Path, tmp_path: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    make_watcher([root])
    outside = tmp_path / "Downloads" / "April"
    (outside / "more").mkdir(parents=True)
    files = [outside / "a.pdf", outside / "more" / "b.png"]
    for path in files:
        path.write_bytes(b"data")
    (outside / "~$draft.docx").write_bytes(b"lock")
    destination = folder(root) / "April"
    os.rename(outside, destination)
    expected = [destination / "a.pdf", destination / "more" / "b.png"]
    for path in expected:
        recorder.wait_for(path, EventKind.MOVED_IN)
    assert recorder.kinds(destination / "~$draft.docx") == []


def test_file_moves_in_out_and_inside_agent_folders(
    root: Path, tmp_path: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    here = folder(root)
    (here / "failed").mkdir()
    (here / "done").mkdir()
    failed = here / "failed" / "march.pdf"
    failed.write_bytes(b"x")
    (here / "done" / "old.pdf").write_bytes(b"x")
    outside = tmp_path / "elsewhere.pdf"
    outside.write_bytes(b"x")
    make_watcher([root])

    os.rename(outside, here / "elsewhere.pdf")  # moved in
    os.rename(failed, here / "march.pdf")  # moved back from failed/: a retry
    os.rename(here / "done" / "old.pdf", here / "done" / "old-1.pdf")  # inside done/
    (here / "scan.tmp").write_bytes(b"x")
    os.rename(here / "scan.tmp", here / "scan.pdf")  # a scanner's finishing rename
    recorder.wait_for(here / "elsewhere.pdf", EventKind.MOVED_IN)
    recorder.wait_for(here / "march.pdf", EventKind.MOVED_IN)
    recorder.wait_for(here / "scan.pdf", EventKind.MOVED_IN)

    os.rename(here / "elsewhere.pdf", tmp_path / "back-out.pdf")  # moved out
    recorder.wait_for(here / "elsewhere.pdf", EventKind.DELETED)
    seen = {path for path, _ in recorder.events()}
    assert not any("done" in path.parts or "failed" in path.parts for path in seen)
    assert here / "scan.tmp" not in seen


def test_files_present_at_start_come_from_the_rescan(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    here = folder(root)
    (here / "done").mkdir()
    present = [here / "a.pdf", root / "Acme w_1" / "Inbox" / "scan 1.pdf"]
    present[1].parent.mkdir()
    for path in present:
        path.write_bytes(b"x")
    for ignored in (here / "done" / "b.pdf", here / "~$c.docx", here / ".hidden.pdf"):
        ignored.write_bytes(b"x")
    make_watcher([root])
    assert sorted(recorder.events()) == sorted((path, EventKind.SCANNED) for path in present)


def test_periodic_rescan_from_check(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    now = [0.0]
    target = folder(root) / "a.pdf"
    target.write_bytes(b"x")
    watcher = make_watcher([root], rescan_interval=300.0, clock=lambda: now[0])
    assert recorder.take() == [(target, EventKind.SCANNED)]
    now[0] = 299.0
    watcher.check()
    assert recorder.take() == []
    now[0] = 300.0
    watcher.check()
    assert recorder.take() == [(target, EventKind.SCANNED)]


def test_polling_root(root: Path, recorder: Recorder, make_watcher: MakeWatcher) -> None:
    watcher = make_watcher([root], settings_for=lambda _p: POLLING)
    assert isinstance(watcher.observer_for(root), PollingObserver)
    target = folder(root) / "march.pdf"
    target.write_bytes(b"x")
    recorder.wait_for(target, EventKind.CREATED)
    target.unlink()
    recorder.wait_for(target, EventKind.DELETED)


def test_polling_subfolder_inside_an_inotify_root(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    share = root / "Share"
    share.mkdir()
    made: list[tuple[bool, float, BaseObserver]] = []

    def factory(polling: bool, interval: float) -> BaseObserver:
        observer = make_observer(polling, interval)
        made.append((polling, interval, observer))
        return observer

    def settings_for(path: Path) -> StabilitySettings:
        return POLLING if share in (path, *path.parents) else EVENTS

    make_watcher([root], settings_for=settings_for, observer_factory=factory)
    assert [(polling, interval) for polling, interval, _ in made] == [(False, 0.1), (True, 0.1)]
    polling_observer = made[1][2]
    assert polling_observer.is_alive()
    assert [emitter.watch.path for emitter in polling_observer.emitters] == [str(share)]


def test_root_deleted_is_a_problem_and_recovers(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    target = folder(root) / "a.pdf"
    target.write_bytes(b"x")
    watcher = make_watcher([root])
    recorder.take()
    shutil.rmtree(root)
    watcher.check()
    assert watcher.state(root) is RootState.PROBLEM
    assert len(recorder.problems) == 1
    problem_root, message = recorder.problems[0]
    assert problem_root == root
    assert "missing" in message and "resumes by itself" in message
    assert watcher.problems() == {root: message}
    watcher.check()
    watcher.rescan()  # a missing root is never walked as "empty"
    assert len(recorder.problems) == 1
    assert all(kind is EventKind.DELETED for _, kind in recorder.take())

    (root / "Later").mkdir(parents=True)
    (root / "Later" / "b.pdf").write_bytes(b"x")
    watcher.check()
    assert watcher.state(root) is RootState.WATCHING
    assert recorder.recovered == [root]
    assert watcher.problems() == {}
    assert recorder.saw(root / "Later" / "b.pdf", EventKind.SCANNED)
    fresh = root / "Later" / "c.pdf"
    fresh.write_bytes(b"x")
    recorder.wait_for(fresh, EventKind.CLOSED_WRITE)


def test_missing_root_at_start(
    tmp_path: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    missing = tmp_path / "share"
    watcher = make_watcher([missing])
    assert watcher.state(missing) is RootState.PROBLEM
    assert [root for root, _ in recorder.problems] == [missing]
    missing.mkdir()
    watcher.check()
    assert watcher.state(missing) is RootState.WATCHING


def test_unmounted_root_is_a_problem(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    mounted = [True]
    real_ismount = os.path.ismount

    def ismount(path: str | os.PathLike[str]) -> bool:
        return mounted[0] if Path(path) == root else real_ismount(path)

    monkeypatch.setattr(os.path, "ismount", ismount)
    watcher = make_watcher([root])
    mounted[0] = False  # the share is gone; an empty mount point folder stays behind
    watcher.check()
    assert watcher.state(root) is RootState.PROBLEM
    assert "no longer mounted" in recorder.problems[0][1]
    mounted[0] = True
    watcher.check()
    assert watcher.state(root) is RootState.WATCHING


@pytest.mark.parametrize("settings", [EVENTS, POLLING], ids=["inotify", "polling"])
def test_dead_observer_is_recreated_by_check(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher, settings: StabilitySettings
) -> None:
    watcher = make_watcher([root], settings_for=lambda _p: settings)
    first = watcher.observer_for(root)
    assert first is not None
    first.stop()
    first.join()
    watcher.check()
    second = watcher.observer_for(root)
    assert second is not None and second is not first and second.is_alive()
    target = folder(root) / "after.pdf"
    target.write_bytes(b"x")
    wait_for(lambda: recorder.kinds(target), what=f"an event for {target}")


def test_dead_polling_emitter_under_a_live_observer_is_recreated(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    watcher = make_watcher([root], settings_for=lambda _p: POLLING)
    first = watcher.observer_for(root)
    assert first is not None
    for emitter in list(first.emitters):
        emitter.stop()
        emitter.join()
    assert first.is_alive()  # what watchdog shows: the observer looks fine
    missed = folder(root) / "missed.pdf"
    missed.write_bytes(b"x")
    recorder.take()
    watcher.check()
    assert watcher.observer_for(root) is not first
    assert recorder.saw(missed, EventKind.SCANNED)  # the rescan after recovery finds it
    target = folder(root) / "after.pdf"
    target.write_bytes(b"x")
    recorder.wait_for(target, EventKind.CREATED)


def test_inotify_limit_falls_back_to_polling(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    def factory(polling: bool, interval: float) -> BaseObserver:
        if not polling:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return make_observer(polling, interval)

    with caplog.at_level(logging.WARNING, logger="agent.watch.observer"):
        watcher = make_watcher([root], observer_factory=factory)
    assert isinstance(watcher.observer_for(root), PollingObserver)
    assert watcher.state(root) is RootState.WATCHING
    assert "sudo sysctl fs.inotify.max_user_watches=" in caplog.text
    target = folder(root) / "march.pdf"
    target.write_bytes(b"x")
    recorder.wait_for(target, EventKind.CREATED)
    watcher.check()  # a healthy fallback is left alone
    assert isinstance(watcher.observer_for(root), PollingObserver)


def test_stop_ends_every_thread(root: Path, make_watcher: MakeWatcher) -> None:
    watcher = make_watcher([root])
    observer = watcher.observer_for(root)
    assert observer is not None
    watcher.stop()
    assert not observer.is_alive()
    assert watcher.state(root) is RootState.STOPPED


# -- network and FUSE folders --------------------------------------------------------------


class Mounts:
    """A mount table that a test changes while the watcher runs."""

    def __init__(self, *extra: Mount) -> None:
        self.table = [Mount("/", "ext4"), *extra]

    def __call__(self) -> list[Mount]:
        return list(self.table)


def test_a_root_on_a_network_share_is_polled_by_itself(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    mounts = Mounts(Mount(str(root.parent), "nfs4", "filer:/export"))
    watcher = make_watcher([root], mounts=mounts)
    assert isinstance(watcher.observer_for(root), PollingObserver)
    assert not watcher.reports_close(folder(root) / "a.pdf")
    assert watcher.polled() == [PolledFolder(root, EVENTS.poll_interval, "nfs4", network=True)]
    target = folder(root) / "march.pdf"
    target.write_bytes(b"x")
    recorder.wait_for(target, EventKind.CREATED)


def test_the_config_forces_events_or_polling(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    on_share = Mounts(Mount(str(root), "cifs", "//filer/docs"))
    forced_events = replace(EVENTS, polling=False)
    watcher = make_watcher([root], settings_for=lambda _p: forced_events, mounts=on_share)
    assert not isinstance(watcher.observer_for(root), PollingObserver)
    assert watcher.polled() == []
    local = Mounts()
    forced = make_watcher([folder(root)], settings_for=lambda _p: POLLING, mounts=local)
    assert forced.polled() == [
        PolledFolder(folder(root), POLLING.poll_interval, "polling = true in the config")
    ]


def test_a_share_mounted_and_unmounted_while_watching(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    mounts = Mounts()
    watcher = make_watcher([root], mounts=mounts)
    assert not isinstance(watcher.observer_for(root), PollingObserver)
    mounts.table.append(Mount(str(root), "fuse.sshfs", "ann@host:/docs"))
    watcher.check()
    assert isinstance(watcher.observer_for(root), PollingObserver)
    assert watcher.polled()[0].reason == "FUSE (fuse.sshfs)"
    mounts.table.pop()
    watcher.check()
    assert not isinstance(watcher.observer_for(root), PollingObserver)
    assert watcher.polled() == []


def test_a_share_mounted_inside_a_root_gets_a_polling_watch(
    root: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    share = folder(root)
    mounts = Mounts()
    watcher = make_watcher([root], mounts=mounts)
    assert watcher.polled() == []
    mounts.table.append(Mount(str(share), "9p", "host0"))
    watcher.check()
    assert watcher.polled() == [PolledFolder(share, EVENTS.poll_interval, "9p", network=True)]
    assert watcher.reports_close(root / "elsewhere.pdf")
    assert not watcher.reports_close(share / "a.pdf")
    mounts.table.pop()
    watcher.check()
    assert watcher.polled() == []


def test_a_real_fuse_mount_written_behind_its_back_is_seen(
    tmp_path: Path, recorder: Recorder, make_watcher: MakeWatcher
) -> None:
    """bindfs: a file written into the backing folder gives no inotify event under the
    mount; the watcher finds the mount in the system's table and polls it."""
    backing, mounted = tmp_path / "backing", tmp_path / "Kompliant"
    with bindfs_mount(backing, mounted):
        watcher = make_watcher([mounted])
        assert isinstance(watcher.observer_for(mounted), PollingObserver)
        assert watcher.polled()[0].network
        (backing / "from-elsewhere.pdf").write_bytes(b"%PDF-1.7 x")
        recorder.wait_for(mounted / "from-elsewhere.pdf", EventKind.CREATED)
        watcher.stop()
