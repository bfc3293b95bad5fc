"""The lean inotify observer: the agent's own folders unwatched, the rest kept in step."""

from __future__ import annotations

import os
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.watch.events import EventKind
from agent.watch.ignore import ignore_under
from agent.watch.inotify import IN_Q_OVERFLOW, LeanInotifyEmitter, LeanInotifyObserver
from agent.watch.observer import FolderWatcher
from agent.watch.stability import StabilitySettings
from tests.kit.wait import wait_for
from tests.watch.conftest import Recorder

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")

EVENTS = StabilitySettings(quiet_seconds=1.0, close_confirm_seconds=0.25)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "Kompliant"
    (path / "Acme w_1" / "Bank statements").mkdir(parents=True)
    return path


@pytest.fixture
def watching(root: Path, recorder: Recorder) -> Iterator[Callable[..., FolderWatcher]]:
    """Start a watcher on ``root`` whose events go to ``recorder`` (or to the handler
    given); each is stopped after the test."""
    watchers: list[FolderWatcher] = []

    def start(on_event: Callable[[Path, EventKind], None] | None = None) -> FolderWatcher:
        watcher = FolderWatcher(
            [root],
            on_event=on_event or recorder,
            on_root_problem=recorder.problem,
            settings_for=lambda _p: EVENTS,
            ignore=ignore_under([root]),
        )
        watcher.start()
        watchers.append(watcher)
        return watcher

    yield start
    for watcher in watchers:
        watcher.stop()


def watched(watcher: FolderWatcher, root: Path) -> set[Path]:
    observer = watcher.observer_for(root)
    assert isinstance(observer, LeanInotifyObserver)
    (emitter,) = observer.emitters
    assert isinstance(emitter, LeanInotifyEmitter)
    return {Path(folder) for folder in emitter.watched()}


def settle_marker(recorder: Recorder, folder: Path, name: str = "marker.pdf") -> None:
    """Events come in order: once this file's close is seen, every earlier change was."""
    marker = folder / name
    marker.write_bytes(b"m")
    recorder.wait_for(marker, EventKind.CLOSED_WRITE)


def test_the_default_observer_on_linux_is_the_lean_one(
    root: Path, watching: Callable[..., FolderWatcher]
) -> None:
    watcher = watching()
    assert isinstance(watcher.observer_for(root), LeanInotifyObserver)
    assert watcher.reports_close(root / "Acme w_1" / "Bank statements" / "a.pdf")


def test_the_agents_own_folders_get_no_watch(
    root: Path, recorder: Recorder, watching: Callable[..., FolderWatcher]
) -> None:
    here = root / "Acme w_1" / "Bank statements"
    for owned in ("done", "failed/.retried", ".processing", "Archive/done"):
        (here / owned).mkdir(parents=True)
    watcher = watching()
    assert watched(watcher, root) == {
        root,
        root / "Acme w_1",
        here,
        here / "Archive",
    }
    (here / "done" / "r.pdf").write_bytes(b"x")
    (here / ".processing" / "p.pdf").write_bytes(b"x")
    (here / "statement.pdf").write_bytes(b"x")
    os.rename(here / "statement.pdf", here / ".processing" / "statement.pdf")  # a claim
    recorder.wait_for(here / "statement.pdf", EventKind.DELETED)
    settle_marker(recorder, here)
    seen = {path for path, _ in recorder.events()}
    assert not any(set(path.parts) & {"done", "failed", ".processing"} for path in seen)


def test_a_folder_made_with_files_in_it_reports_them_and_is_watched(
    root: Path, recorder: Recorder, watching: Callable[..., FolderWatcher]
) -> None:
    watcher = watching()
    made = root / "Acme w_1" / "New" / "Deeper"
    made.mkdir(parents=True)
    early = made / "early.pdf"
    early.write_bytes(b"x")  # maybe before its folder is watched: the look inside finds it
    wait_for(lambda: recorder.kinds(early), what=f"an event for {early}")
    wait_for(lambda: made in watched(watcher, root), what=f"a watch on {made}")
    (made / "done").mkdir()
    assert made / "done" not in watched(watcher, root)
    later = made / "later.pdf"
    later.write_bytes(b"x")
    recorder.wait_for(later, EventKind.CLOSED_WRITE)


def test_a_folder_renamed_inside_the_root_is_watched_at_its_new_place(
    root: Path, recorder: Recorder, watching: Callable[..., FolderWatcher]
) -> None:
    old = root / "Acme w_1" / "Bank statements"
    (old / "2026").mkdir()
    watcher = watching()
    new = root / "Acme w_1" / "Statements"
    os.rename(old, new)
    recorder.wait_for(old, EventKind.DELETED)
    wait_for(lambda: new / "2026" in watched(watcher, root), what="the renamed folder watched")
    assert old not in watched(watcher, root)
    fresh = new / "2026" / "april.pdf"
    fresh.write_bytes(b"x")
    recorder.wait_for(fresh, EventKind.CLOSED_WRITE)
    assert not any(old in path.parents for path, _ in recorder.events())


def test_a_folder_renamed_to_an_agent_folder_and_back(
    root: Path, recorder: Recorder, watching: Callable[..., FolderWatcher]
) -> None:
    parent = root / "Acme w_1"
    sub = parent / "Bank statements" / "Old"
    sub.mkdir()
    (sub / "kept.pdf").write_bytes(b"x")
    watcher = watching()
    recorder.take()
    failed = parent / "Bank statements" / "failed"
    os.rename(sub, failed)
    recorder.wait_for(sub, EventKind.DELETED)
    assert failed not in watched(watcher, root)
    (failed / "inside.pdf").write_bytes(b"x")
    back = parent / "Bank statements" / "Again"
    os.rename(failed, back)
    recorder.wait_for(back / "kept.pdf", EventKind.MOVED_IN)
    recorder.wait_for(back / "inside.pdf", EventKind.MOVED_IN)
    assert back in watched(watcher, root)
    assert not any("failed" in path.parts for path, _ in recorder.events())


def test_a_folder_moved_out_of_the_root_loses_its_watches(
    root: Path, tmp_path: Path, recorder: Recorder, watching: Callable[..., FolderWatcher]
) -> None:
    here = root / "Acme w_1" / "Bank statements"
    (here / "Sub").mkdir()
    watcher = watching()
    away = tmp_path / "Elsewhere"
    os.rename(here, away)
    recorder.wait_for(here, EventKind.DELETED)
    assert watched(watcher, root) == {root, root / "Acme w_1"}
    (away / "Sub" / "gone.pdf").write_bytes(b"x")
    settle_marker(recorder, root / "Acme w_1")
    assert not any(here in path.parents or away in path.parents for path, _ in recorder.events())


def test_a_file_closed_before_its_new_folder_is_watched_is_reported_found(
    root: Path,
    recorder: Recorder,
    watching: Callable[..., FolderWatcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copy of a tree (``cp -r``) can write and close a file in a folder it just made
    before the watcher has watched that folder: no close will come, so the file must not
    be reported as seen being created (which waits for its close)."""
    made = root / "Acme w_1" / "Copied"
    early = made / "early.pdf"
    real_watch_tree = LeanInotifyEmitter._watch_tree

    def writer_first(self: LeanInotifyEmitter, top: bytes, *, strict: bool = False) -> None:
        if os.fsdecode(top) == str(made):
            early.write_bytes(b"x")  # the writer was quicker than the watch
        real_watch_tree(self, top, strict=strict)

    watching()
    monkeypatch.setattr(LeanInotifyEmitter, "_watch_tree", writer_first)
    made.mkdir()
    recorder.wait_for(early, EventKind.SCANNED)
    assert EventKind.CREATED not in recorder.kinds(early)


def test_events_lost_by_the_kernel_end_the_reader_and_the_check_rescans(
    root: Path, recorder: Recorder, watching: Callable[..., FolderWatcher]
) -> None:
    watcher = watching()
    first = watcher.observer_for(root)
    assert first is not None
    (emitter,) = first.emitters
    assert isinstance(emitter, LeanInotifyEmitter)
    overflow = struct.pack("iIII", -1, IN_Q_OVERFLOW, 0, 0)  # what the kernel reads out
    emitter._handle(overflow)
    wait_for(lambda: not emitter.is_alive(), what="the reader to end")
    missed = root / "Acme w_1" / "Bank statements" / "missed.pdf"
    missed.write_bytes(b"x")
    recorder.take()
    watcher.check()
    assert watcher.observer_for(root) is not first
    assert recorder.saw(missed, EventKind.SCANNED)
    later = root / "Acme w_1" / "Bank statements" / "later.pdf"
    later.write_bytes(b"x")
    recorder.wait_for(later, EventKind.CLOSED_WRITE)


def test_events_reach_the_handler_on_the_thread_that_reads_them(
    root: Path, recorder: Recorder, watching: Callable[..., FolderWatcher]
) -> None:
    threads: list[threading.Thread] = []

    def on_event(path: Path, kind: EventKind) -> None:
        threads.append(threading.current_thread())
        recorder(path, kind)

    watcher = watching(on_event)
    here = root / "Acme w_1" / "Bank statements"
    settle_marker(recorder, here)
    observer = watcher.observer_for(root)
    assert isinstance(observer, LeanInotifyObserver)
    (emitter,) = observer.emitters
    # one thread woken per event: the reader's own, not watchdog's dispatching one
    assert threads and set(threads) == {emitter}
    assert observer.event_queue.empty()
