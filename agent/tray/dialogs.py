"""The tray's two small windows, in GTK: Sign in and the Sign out confirmation.

Sign in asks for what ``kompliant-agent login`` needs (API URL, API key, and the secret
key and auth token in hidden fields) and runs that very command with the secrets on its
standard input — never on its command line — so the checks, the keyring and the messages
are the command's. The window stays open with the reason until the credentials work.

Both windows are made and answered in the GTK loop (the menu's thread) and never block
it: Kompliant is asked from a worker thread. Without GTK (the xorg backend, Windows,
macOS) Sign in opens ``kompliant-agent setup`` in a terminal instead.
"""

from __future__ import annotations

import importlib
import logging
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

LOGIN_TIMEOUT = 120.0


@dataclass(frozen=True)
class SignInForm:
    api_url: str = ""
    api_key: str = ""


def gtk_available() -> bool:
    try:
        gi: Any = importlib.import_module("gi")
        gi.require_version("Gtk", "3.0")
        importlib.import_module("gi.repository.Gtk")
    except Exception:
        return False
    return True


def run_login(command: Sequence[str], secret_key: str, auth_token: str) -> tuple[bool, str]:
    """``kompliant-agent login …`` with the secrets piped in: (worked, what it said)."""
    try:
        done = subprocess.run(
            list(command),
            input=f"{secret_key}\n{auth_token}\n",
            capture_output=True,
            text=True,
            timeout=LOGIN_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"the sign-in could not run: {error}"
    said = (done.stdout if done.returncode == 0 else done.stderr or done.stdout).strip()
    return done.returncode == 0, said.removeprefix("kompliant-agent login: ")


def show_sign_in(
    form: SignInForm,
    login: Callable[[str, str, str, str], tuple[bool, str]],
    on_done: Callable[[bool, str], None],
) -> None:
    """The Sign in window (call in the GTK loop). ``login(url, key, secret, token)`` runs
    in a worker thread; ``on_done(worked, message)`` is called in the GTK loop when the
    window closes."""
    gtk = importlib.import_module("gi.repository.Gtk")
    glib = importlib.import_module("gi.repository.GLib")
    window = gtk.Dialog(title="Kompliant agent: sign in")
    window.set_default_size(460, -1)
    window.set_position(gtk.WindowPosition.CENTER)
    window.set_keep_above(True)
    cancel = window.add_button("Cancel", gtk.ResponseType.CANCEL)
    submit = window.add_button("Sign in", gtk.ResponseType.OK)
    window.set_default_response(gtk.ResponseType.OK)
    grid = gtk.Grid(row_spacing=8, column_spacing=12, margin=16)
    intro = gtk.Label(
        label="Enter the keys Kompliant gave you. The secret key and the auth token go "
        "to your system's keyring, never to a file.",
        wrap=True,
        xalign=0,
        max_width_chars=52,
    )
    grid.attach(intro, 0, 0, 2, 1)
    fields = {}
    for row, (key, label, value, hidden) in enumerate(
        (
            ("url", "API URL", form.api_url, False),
            ("key", "API key", form.api_key, False),
            ("secret", "Secret key", "", True),
            ("token", "Auth token", "", True),
        ),
        start=1,
    ):
        grid.attach(gtk.Label(label=label, xalign=1), 0, row, 1, 1)
        entry = gtk.Entry(text=value, visibility=not hidden, hexpand=True, activates_default=True)
        entry.set_name(f"kompliant-{key}")
        grid.attach(entry, 1, row, 1, 1)
        fields[key] = entry
    message = gtk.Label(label="", wrap=True, xalign=0, max_width_chars=52, selectable=True)
    grid.attach(message, 0, 5, 2, 1)
    window.get_content_area().add(grid)
    first_empty = next((e for e in fields.values() if not e.get_text()), fields["secret"])
    outcome: list[tuple[bool, str]] = []

    def finished(worked: bool, said: str) -> bool:
        if worked:
            outcome.append((True, said))
            window.destroy()
        else:
            message.set_text(said or "The sign-in did not work.")
            for widget in (submit, cancel, *fields.values()):
                widget.set_sensitive(True)
        return False

    def respond(_window: Any, response: int) -> None:
        if response != gtk.ResponseType.OK:
            window.destroy()
            return
        values = [fields[k].get_text().strip() for k in ("url", "key", "secret", "token")]
        if not all(values):
            message.set_text("All four fields are needed.")
            return
        message.set_text("Checking with Kompliant…")
        for widget in (submit, cancel, *fields.values()):
            widget.set_sensitive(False)

        def work() -> None:
            worked, said = login(*values)
            glib.idle_add(finished, worked, said)

        threading.Thread(target=work, name="tray-sign-in", daemon=True).start()

    def closed(_window: Any) -> None:
        worked, said = outcome[0] if outcome else (False, "")
        on_done(worked, said)

    window.connect("response", respond)
    window.connect("destroy", closed)
    window.show_all()
    first_empty.grab_focus()
    window.present()


def confirm(title: str, text: str, yes: str, on_answer: Callable[[bool], None]) -> None:
    """A question with Cancel and ``yes`` (call in the GTK loop); ``on_answer`` gets the
    answer in the GTK loop."""
    gtk = importlib.import_module("gi.repository.Gtk")
    window = gtk.MessageDialog(
        message_type=gtk.MessageType.QUESTION,
        buttons=gtk.ButtonsType.NONE,
        text=title,
        secondary_text=text,
    )
    window.set_title("Kompliant agent")
    window.set_position(gtk.WindowPosition.CENTER)
    window.set_keep_above(True)
    window.add_button("Cancel", gtk.ResponseType.CANCEL)
    window.add_button(yes, gtk.ResponseType.OK)
    window.set_default_response(gtk.ResponseType.CANCEL)

    def respond(_window: Any, response: int) -> None:
        window.destroy()
        on_answer(response == gtk.ResponseType.OK)

    window.connect("response", respond)
    window.show_all()
    window.present()
