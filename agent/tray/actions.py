"""What each menu entry does. Runs in the tray's thread; never stops the engine.

Actions reach the engine the way the CLI commands do: pause, resume and refresh through
the control file; failed files are moved back into their folders as ``kompliant-agent
retry`` moves them (one, or all), and the engine's watcher takes them from there.
An action that fails is a log line and a notification (:meth:`TrayActions.perform`).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from agent.config import Config
from agent.credentials import stored_profile
from agent.decide import FolderTree, load_cache, requirements_file
from agent.engine.control import request_refresh, set_paused
from agent.engine.status import FileOutcome, Snapshot
from agent.errors import AgentError
from agent.owned_names import AGENT_OWNED
from agent.review.keeper import stored_reviews
from agent.settle.moves import MoveFailed
from agent.settle.outcome import retry_failed, retry_file
from agent.tray import desktop, dialogs
from agent.tray.hosts import frozen
from agent.tray.menu import CONFIRMED, Action
from agent.tray.notify import Notice, NoticeAction, NotificationPolicy, failure_line

log = logging.getLogger(__name__)

STATUS_TEXT = "status.txt"


def agent_command(*args: str) -> list[str]:
    """The command line of ``kompliant-agent ARGS`` as this program is installed."""
    if frozen():  # the packaged app is its own interpreter
        return [sys.executable, *args]
    return [sys.executable, "-m", "agent", *args]


class TrayActions:
    """The menu's actions for one running agent."""

    def __init__(
        self,
        config: Config,
        state_dir: Path,
        log_file: Path,
        *,
        snapshot: Callable[[], Snapshot],
        status_lines: Callable[[], list[str]],
        names: Callable[[], dict[str, str]],
        notify: Callable[[Notice], None],
        notifications: NotificationPolicy,
        stop: threading.Event,
        open_path: Callable[[Path], bool] = desktop.open_path,
        use_gtk: bool = False,
        on_signed_in: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.state_dir = state_dir
        self.log_file = log_file
        self._snapshot = snapshot
        self._status_lines = status_lines
        self._names = names
        self._notify = notify
        self.notifications = notifications
        self.stop = stop
        self._open_path = open_path
        self.use_gtk = use_gtk
        self._on_signed_in = on_signed_in
        self.signing_in = False

    @property
    def profile(self) -> str:
        return self.config.agent.profile

    def perform(self, action: Action, arg: str = "") -> bool:
        """Carry out ``action``; False (logged and notified) when it did not work."""
        log.info("tray: %s%s", action.value, f" {arg}" if arg else "")
        try:
            self._perform(action, arg)
        except Exception as error:  # a menu entry never takes the agent down
            what = error.describe() if isinstance(error, AgentError) else str(error)
            log.warning("tray: %s did not work: %s", action.value, what, exc_info=True)
            self._notify(Notice(f"Kompliant agent: {_words(action)} did not work", what))
            return False
        return True

    def _perform(self, action: Action, arg: str) -> None:
        simple: dict[Action, Callable[[], object]] = {
            Action.PAUSE: lambda: set_paused(self.state_dir, True),
            Action.RESUME: lambda: set_paused(self.state_dir, False),
            Action.RETRY: self._retry_all,
            Action.REFRESH: lambda: request_refresh(self.state_dir),
            Action.SNOOZE: self.notifications.snooze,
            Action.UNSNOOZE: self.notifications.unsnooze,
            Action.OPEN_ROOT: lambda: self._open(self.config.root),
            Action.OPEN_FAILED: self._open_failed,
            Action.OPEN_LOG: lambda: self._open(self.log_file),
            Action.SHOW_STATUS: lambda: self._open(self._write_status_text()),
            Action.SIGN_IN: self.sign_in,
            Action.SIGN_OUT: lambda: self.sign_out(confirmed=arg == CONFIRMED),
            Action.QUIT: self.stop.set,
        }
        if action in simple:
            simple[action]()
        elif action is Action.OPEN_FILE_FOLDER:
            self._open(Path(arg).parent)
        elif action is Action.SHOW_REASON:
            self._show_reason(Path(arg))
        elif action is Action.RETRY_FILE:
            back = retry_file(Path(arg))
            log.info("tray: %s is back in %s and is sent again", back.name, back.parent)
        elif action is Action.REQUEST_MISSING:
            threading.Thread(
                target=self._request_missing, args=(arg,), name="tray-request", daemon=True
            ).start()
        elif action is Action.PRINT_COVERS:
            threading.Thread(
                target=self.print_covers, args=(arg,), name="tray-covers", daemon=True
            ).start()
        else:  # pragma: no cover - every action is handled above
            raise ValueError(f"unknown action {action}")

    # -- files ------------------------------------------------------------------------------

    def _open(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist (any more)")
        if not self._open_path(path):
            raise OSError(f"no program to open {path} was found (xdg-open)")

    def failed_folders(self) -> list[Path]:
        cache = load_cache(requirements_file(self.profile))
        tree = FolderTree.scan(self.config.root, self.config, cache)
        failed = AGENT_OWNED.failed_dir
        return [
            folder / failed
            for folder in tree.folders
            if (folder / failed).is_dir() and any((folder / failed).iterdir())
        ]

    def _open_failed(self) -> None:
        folders = self.failed_folders()
        if not folders:
            raise FileNotFoundError("there are no failed files")
        for folder in folders[:5]:
            self._open(folder)

    def _retry_all(self) -> None:
        """Every failed file back into its folder, as `kompliant-agent retry` does; a
        folder that refuses is told after the others were done."""
        refused: list[AgentError] = []
        moved = 0
        for folder in self.failed_folders():
            try:
                moved += len(retry_failed(folder.parent))
            except MoveFailed as error:
                refused.append(error)
        log.info("tray: %d failed file(s) moved back to be sent again", moved)
        if refused:
            raise refused[0]

    def _failure(self, path: Path) -> FileOutcome | None:
        return next((f for f in self._snapshot().failed_files if Path(f.path) == path), None)

    def _show_reason(self, path: Path) -> None:
        """The reason as a notification (with the folder to open), or the note itself."""
        item = self._failure(path)
        note = path.with_name(path.name + AGENT_OWNED.error_suffix)
        if item is None and not note.exists():
            raise FileNotFoundError(f"{path.name} is no longer in {path.parent}")
        if item is not None:
            self._notify(
                Notice(
                    f"Kompliant agent: why {item.name} failed",
                    failure_line(item, self._names()),
                    folder=str(path.parent),
                    actions=(NoticeAction.OPEN_FOLDER,),
                )
            )
        if item is None or not self._notifies():
            self._open(note)

    def _notifies(self) -> bool:
        return getattr(self._notify, "shows", lambda: True)()

    def _write_status_text(self) -> Path:
        path = self.state_dir / STATUS_TEXT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self._status_lines()) + "\n", encoding="utf-8")
        return path

    # -- credentials --------------------------------------------------------------------------

    def sign_in(self) -> None:
        """The Sign in window where GTK runs; else ``setup`` in a terminal."""
        if not self.use_gtk:
            if not desktop.open_in_terminal(agent_command("setup")):
                raise OSError(
                    "no terminal was found: run `kompliant-agent setup` (or `login`), then "
                    "start the agent again"
                )
            return
        if self.signing_in:
            return
        stored = stored_profile(self.profile)
        form = dialogs.SignInForm(
            api_url=stored.api_url if stored else "", api_key=stored.api_key if stored else ""
        )
        self.signing_in = True

        def login(url: str, key: str, secret: str, token: str) -> tuple[bool, str]:
            command = agent_command(
                "login", "--profile", self.profile, "--api-url", url, "--api-key", key, "--stdin"
            )
            return dialogs.run_login(command, secret, token)

        def done(worked: bool, said: str) -> None:
            self.signing_in = False
            if worked:
                log.info("tray: signed in: %s", said)
                self._notify(Notice("Kompliant agent: signed in", said))
                self._on_signed_in()

        dialogs.show_sign_in(form, login, done)

    def sign_out(self, *, confirmed: bool = False) -> None:
        """Removes the stored credentials and stops, once the user said yes: in a GTK
        window, else in the menu (``confirmed``)."""
        if confirmed or not self.use_gtk:
            self._sign_out_now()
            return

        def answered(yes: bool) -> None:
            if yes:
                self.perform_sign_out()

        dialogs.confirm(
            "Sign out of Kompliant?",
            "The stored secret key and auth token are removed and the agent stops. Files "
            "dropped meanwhile wait until you sign in again.",
            "Sign out",
            answered,
        )

    def perform_sign_out(self) -> None:
        try:
            self._sign_out_now()
        except Exception as error:
            log.warning("tray: sign out did not work: %s", error)
            self._notify(Notice("Kompliant agent: sign out did not work", str(error)))

    def _sign_out_now(self) -> None:
        done = subprocess.run(
            agent_command("logout", "--profile", self.profile),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise OSError(done.stderr.strip() or "kompliant-agent logout failed")
        log.info("tray: signed out: %s", done.stdout.strip().replace("\n", " "))
        self._notify(
            Notice(
                "Kompliant agent: signed out",
                "Your stored credentials are removed and the agent stops. Start it again "
                "and choose “Sign in…”, or run `kompliant-agent login`.",
            )
        )
        self.stop.set()

    # -- asking the applicant -----------------------------------------------------------------

    def _request_missing(self, workflow_id: str) -> None:
        """`kompliant-agent request` for the workflow (the command holds the logic and its
        per-item report); a notification says how it went."""
        reviews = {r.workflow_id: r for r in stored_reviews(self.config)}
        review = reviews.get(workflow_id)
        label = (review.label if review else "") or workflow_id
        done = subprocess.run(
            agent_command("request", "--workflow", workflow_id, "--profile", self.profile),
            capture_output=True,
            text=True,
            check=False,
        )
        outcome = {0: "requested", 5: "partly requested"}.get(done.returncode, "not requested")
        log.info("tray: request for %s: %s\n%s%s", workflow_id, outcome, done.stdout, done.stderr)
        detail = (done.stdout if done.returncode in (0, 5) else done.stderr).strip()
        self._notify(
            Notice(f"Kompliant agent: {label}: documents {outcome}", detail[-400:] or outcome)
        )

    # -- cover sheets -------------------------------------------------------------------------

    def print_covers(self, workflow_id: str) -> Path | None:
        """`kompliant-agent cover-sheets` for the workflow (what is missing), into the
        state folder, and the PDF opened for printing; a notification when there is none."""
        out = self.state_dir / "cover-sheets" / f"cover-sheets {workflow_id}.pdf"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        done = subprocess.run(
            agent_command(
                "cover-sheets", workflow_id, "--out", str(out), "--profile", self.profile
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        log.info("tray: cover-sheets %s: exit %d\n%s", workflow_id, done.returncode, done.stdout)
        if done.returncode == 0 and out.exists():
            self._open_path(out)
            return out
        self._notify(
            Notice(
                "Kompliant agent: no cover sheets",
                (done.stderr.strip() or "Nothing is missing.")[-400:],
            )
        )
        return None


def _words(action: Action) -> str:
    return action.value.replace("-", " ")
