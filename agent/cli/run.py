"""`kompliant-agent run`, `status`, `retry`, `pause` and `resume`: the watching agent."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli import exitcodes
from agent.cli.profile import add_profile_option, config_for
from agent.decide import FolderTree, load_cache, requirements_file
from agent.engine.control import set_paused
from agent.engine.state import AgentState
from agent.engine.status import FolderStatus, Snapshot, read_snapshot, write_snapshot
from agent.errors import AgentError, CredentialsError
from agent.journal import journal_path, read_status
from agent.locations import locations
from agent.review.keeper import stored_reviews
from agent.settle.lock import ProfileLock
from agent.settle.moves import MoveFailed
from agent.settle.outcome import retry_failed
from agent.tray.report import read_report

if TYPE_CHECKING:  # the engine, the client, the keyring and the tray load only for `run`
    from collections.abc import Callable, Iterator

    from agent.config import Config
    from agent.engine.runner import Engine, RunSummary
    from agent.kompliant.auth import Credentials
    from agent.tray.app import TrayApp
    from agent.tray.loader import Tray

CREDENTIALS_POLL_SECONDS = 5.0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    run = sub.add_parser(
        "run",
        help="watch the folders and upload every finished file",
        description=(
            "Watch the workflow folders under the root: every finished file is uploaded, "
            "linked to its required documents and moved to done/ (or failed/ with a note "
            "saying why). Stops with Ctrl-C or SIGTERM; a restart resumes where it stopped."
        ),
        epilog=exitcodes.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--once",
        action="store_true",
        help="process the files that are there now, then exit (for cron and scripts)",
    )
    run.add_argument(
        "--no-tray",
        action="store_true",
        help="run without a tray icon (the default when there is no display)",
    )
    add_profile_option(run)
    run.set_defaults(func=run_agent)

    status = sub.add_parser("status", help="what the agent is doing, per folder")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    add_profile_option(status)
    status.set_defaults(func=show_status)

    retry = sub.add_parser("retry", help="move every failed file back to be tried again")
    add_profile_option(retry)
    retry.set_defaults(func=retry_all)

    pause = sub.add_parser("pause", help="stop starting new uploads (lasts until resume)")
    add_profile_option(pause)
    pause.set_defaults(func=lambda args: _pause(args, True))

    resume = sub.add_parser("resume", help="start uploading again after pause")
    add_profile_option(resume)
    resume.set_defaults(func=lambda args: _pause(args, False))


@contextlib.contextmanager
def engine_for(
    config: Config,
    credentials: Credentials,
    *,
    once: bool,
    on_snapshot: Callable[[Snapshot], None] | None,
) -> Iterator[Engine]:
    """The engine `run` and `demo` start, with its two clients: one for the uploads, and
    one for the probe and the review checks that gives up at once (5 s, one attempt) —
    they are asked again on their own schedule, and must not hold their thread long."""
    from agent.engine.runner import Engine, EngineOptions
    from agent.kompliant.client import KompliantClient
    from agent.kompliant.pacer import Pacer, PacerPolicy

    with (
        KompliantClient(credentials) as client,
        KompliantClient(
            credentials, timeout=5.0, pacer=Pacer(PacerPolicy(max_attempts=1))
        ) as probe,
    ):
        yield Engine(
            config,
            client,
            probe_client=probe,
            options=EngineOptions(once=once),
            on_snapshot=on_snapshot,
            credentials=credentials,  # for the upload processes, handed over a pipe
        )


def run_agent(args: argparse.Namespace) -> int:
    from agent.engine.runner import RunSummary
    from agent.tray.app import TrayApp

    config = config_for(args)
    profile = config.agent.profile
    lock = ProfileLock.acquire(locations().profile_state(profile), profile=profile)
    try:
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        tray = None if args.once or args.no_tray else _tray()
        signed_in = threading.Event()  # new credentials from the tray's Sign in window

        def restart() -> None:
            signed_in.set()
            stop.set()

        app = TrayApp(config, tray, stop, on_signed_in=restart) if tray is not None else None

        def work() -> RunSummary:
            while True:
                credentials = _credentials(profile, stop, app, signed_in)
                if credentials is None:
                    return RunSummary()
                summary = _watch(credentials)
                if not signed_in.is_set():
                    return summary
                # The engine stopped for the new credentials: start it again with them.
                signed_in.clear()
                stop.clear()

        def _watch(credentials: Credentials) -> RunSummary:
            on_snapshot = app.publish if app is not None else None
            with engine_for(config, credentials, once=args.once, on_snapshot=on_snapshot) as engine:
                print(f"kompliant-agent: watching {config.root}", file=sys.stderr, flush=True)
                return engine.run(stop)

        summary = app.run(work) if app is not None else work()
        print(
            f"kompliant-agent: {summary.done} done, {summary.failed} failed, "
            f"{summary.unsettled} still to do",
            file=sys.stderr,
        )
        return exitcodes.OK if summary.unsettled == 0 else exitcodes.RETRY_LATER
    finally:
        lock.release()


def _credentials(
    profile: str,
    stop: threading.Event,
    app: TrayApp | None,
    signed_in: threading.Event | None = None,
) -> Credentials | None:
    """The profile's credentials. Without a tray a problem ends the run with its message;
    with one, the tray shows the error state (and Sign in…) until credentials work —
    looked for again every few seconds, and at once after a sign-in from the tray."""
    from agent.credentials import resolve_credentials

    while True:
        try:
            return resolve_credentials(profile)
        except CredentialsError as error:
            if app is None:
                raise
            waiting = Snapshot(
                state=AgentState.ERROR,
                pid=os.getpid(),
                updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
                message=error.describe(),
                problems=(error.describe(),),
                sign_in_needed=True,
            )
            with contextlib.suppress(OSError):  # `status` tells what the agent waits for
                write_snapshot(locations().profile_state(profile), waiting)
            app.publish(waiting)
            if stop.wait(CREDENTIALS_POLL_SECONDS):
                if signed_in is None or not signed_in.is_set():
                    return None
                signed_in.clear()
                stop.clear()


def _tray() -> Tray | None:
    """pystray, when a display is there (imported only then: it needs one)."""
    from agent.tray.loader import add_log_file, display_available, load_tray

    if not display_available():
        return None
    tray = load_tray()
    if tray is not None:
        add_log_file()
    return tray


NOTES = ("network folder", "polled folder", "waiting:")


def show_status(args: argparse.Namespace) -> int:
    config = config_for(args)
    profile = config.agent.profile
    snapshot = read_snapshot(locations().profile_state(profile))
    counts = read_status(journal_path(profile)) if journal_path(profile).exists() else []
    folders = [FolderStatus.from_counts(c) for c in counts]
    state = snapshot.state.value if snapshot else "stopped"
    reviews = stored_reviews(config)
    tray = read_report(locations().profile_state(profile)) if snapshot else None
    if args.json:
        data: dict[str, Any] = {
            "state": state,
            "running": snapshot is not None,
            "root": str(config.root),
            "message": snapshot.message if snapshot else "the agent is not running",
            "problems": list(snapshot.problems) if snapshot else [],
            "checking": snapshot.checking if snapshot else 0,
            "uploads": snapshot.to_data()["uploads"] if snapshot else [],
            "folders": [dataclasses.asdict(f) for f in folders],
            "workflows": [review.to_data() for review in reviews],
            "tray": tray.to_data() if tray is not None else None,
        }
        print(json.dumps(data, indent=2))
        return exitcodes.OK
    print(f"state: {state} — {snapshot.message if snapshot else 'the agent is not running'}")
    print(f"root:  {config.root}")
    for problem in snapshot.problems if snapshot else ():
        # What is polled and what waits to be whole are said, not complained about.
        label = "note" if problem.startswith(NOTES) else "problem"
        print(f"{label}: {problem}")
    if tray is not None:
        print(f"tray:  {tray.line()}" + (f"\n       fix: {tray.fix}" if tray.problem else ""))
    for name, percent in snapshot.uploads if snapshot else ():
        print(f"sending: {name} {percent}%")
    if not folders:
        print("no files yet")
    for f in folders:
        print(
            f"{f.key}: {f.waiting} waiting, {f.in_progress} in progress, {f.done} done, "
            f"{f.failed} failed, {f.needs_routing} need routing"
        )
    for review in reviews:
        title = f"{review.label} ({review.workflow_id})" if review.label else review.workflow_id
        if review.ended:
            print(f"{title}: ENDED, takes no more documents")
            continue
        print(f"{title}: {review.workflow_state or 'not fetched yet'}")
        for item in review.requirements:
            print(f"  {item.name}: {item.state.words}")
    return exitcodes.OK


def retry_all(args: argparse.Namespace) -> int:
    config = config_for(args)
    try:
        tree = FolderTree.scan(
            config.root, config, load_cache(requirements_file(config.agent.profile))
        )
    except AgentError as error:
        print(f"kompliant-agent: {error.describe()}", file=sys.stderr)
        return exitcodes.for_error(error)
    moved: list[Path] = []
    refused = 0
    for folder in tree.folders:  # a folder that refuses the move stops none of the others
        try:
            moved.extend(retry_failed(folder))
        except MoveFailed as error:
            refused += 1
            print(
                f"kompliant-agent: could not move the failed files of {folder} back: "
                f"{error.describe()}",
                file=sys.stderr,
            )
    for path in moved:
        print(f"retrying {path}")
    print(f"{len(moved)} failed file(s) moved back; the running agent picks them up.")
    if refused:
        return exitcodes.PARTIAL if moved else exitcodes.RETRY_LATER
    return exitcodes.OK


def _pause(args: argparse.Namespace, paused: bool) -> int:
    config = config_for(args)
    set_paused(locations().profile_state(config.agent.profile), paused)
    print("paused: new files wait until `kompliant-agent resume`" if paused else "resumed")
    return exitcodes.OK
