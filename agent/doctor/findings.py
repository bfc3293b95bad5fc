"""What each doctor check concludes: plain data in, a :class:`Finding` out.

The probes in :mod:`agent.doctor.checks` gather the facts (the keyring backend, the
inotify limit, …); the functions here judge them, so every verdict and its fix is tested
without the machine having to be broken in that way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from agent.credentials.policy import BackendKind, install_hint


class Outcome(enum.Enum):
    OK = "ok"
    WARNING = "warning"  # works, but worth knowing; does not fail the doctor
    FAILED = "failed"
    SKIPPED = "skipped"  # could not be checked because an earlier check failed


@dataclass(frozen=True)
class Finding:
    check: str
    outcome: Outcome
    detail: str
    fix: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome is not Outcome.FAILED


KEYRING = "keyring"
API = "API reachable"
CREDENTIALS = "credentials"
FOLDERS = "watched folders"
INOTIFY = "inotify watch limit"
TRAY = "tray"
SCANNER = "scanner support"

#: A sysctl value that comfortably covers large trees (what many distributions ship).
SUGGESTED_WATCHES = 524288


def judge_keyring(kind: BackendKind, name: str, *, env_credentials: bool, platform: str) -> Finding:
    if kind is BackendKind.SECURE:
        return Finding(KEYRING, Outcome.OK, f"{name} (a secure store)")
    if kind is BackendKind.PLAINTEXT:
        detail = f"{name} keeps secrets in a PLAINTEXT file"
        fix = "Remove it (`pip uninstall keyrings.alt`) and set up the system keyring. " + (
            install_hint(platform)
        )
    elif kind is BackendKind.MISSING:
        detail = "no secure keyring is available"
        fix = install_hint(platform)
    else:
        detail = f"{name} is not a keyring the agent trusts"
        fix = "Unset PYTHON_KEYRING_BACKEND so the system keyring is picked. " + install_hint(
            platform
        )
    if env_credentials:
        return Finding(
            KEYRING,
            Outcome.WARNING,
            detail + "; not needed now, as the credentials come from KOMPLIANT_* variables",
            fix,
        )
    return Finding(KEYRING, Outcome.FAILED, detail, fix)


def judge_scanner(problem: str | None) -> Finding:
    """Cover sheets and scanned stacks (agent/scan/selfcheck.py)."""
    if problem is None:
        return Finding(SCANNER, Outcome.OK, "cover sheets can be made and read; stacks can be cut")
    return Finding(
        SCANNER,
        Outcome.FAILED,
        problem,
        "Install kompliant-agent again: a part of it is missing, and scanned stacks and "
        "images to convert cannot be handled until it is there.",
    )


def judge_inotify(limit: int | None, folders: int, *, platform: str) -> Finding:
    """``folders``: how many folders the agent watches (one inotify watch each)."""
    if not platform.startswith("linux"):
        return Finding(INOTIFY, Outcome.OK, "not Linux: no per-user watch limit applies")
    fix = (
        f"Raise the limit: echo fs.inotify.max_user_watches={SUGGESTED_WATCHES} | sudo tee "
        "/etc/sysctl.d/90-kompliant-agent.conf && sudo sysctl --system"
    )
    if limit is None:
        return Finding(
            INOTIFY,
            Outcome.WARNING,
            "could not read /proc/sys/fs/inotify/max_user_watches",
            "If new files are not noticed, " + fix[0].lower() + fix[1:],
        )
    detail = f"{folders} folder(s) to watch, limit {limit} for all your programs"
    if folders > limit:
        return Finding(INOTIFY, Outcome.FAILED, detail + ": too many", fix)
    if folders * 2 > limit:
        return Finding(
            INOTIFY, Outcome.WARNING, detail + ": little room left for other programs", fix
        )
    return Finding(INOTIFY, Outcome.OK, detail)


@dataclass(frozen=True)
class TrayFacts:
    display: bool  # a graphical session to show an icon in
    backend: str | None = None  # the pystray backend the agent picks here, e.g. "gtk"
    has_menu: bool = False
    error: str | None = None  # why no tray backend loads
    #: Linux: whether a tray host (StatusNotifier or XEmbed) runs; None: not looked at
    host_found: bool | None = None
    hosts: str = ""  # the hosts found, in words
    #: a StatusNotifier host only, and the AppIndicator library does not load
    needs_appindicator: bool = False
    desktop: str = ""  # XDG_CURRENT_DESKTOP
    host_fix: str = ""  # how to get a tray on this desktop
    frozen: bool = False  # the packaged app, which carries its tray libraries
    notifications: bool | None = None  # a notification service answers (None: unknown)
    #: the running agent's own report: its icon not shown, or its backend failed
    running_problem: str | None = None
    running_fix: str = ""


TRAY_PACKAGES = (
    "sudo apt install python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 "
    "(or your distribution's AppIndicator and PyGObject packages)"
)
REINSTALL = (
    "Download the agent again and unpack it over this copy: its tray libraries are "
    "part of the download, nothing needs to be installed for them."
)


def judge_tray(facts: TrayFacts, *, platform: str) -> Finding:
    if not facts.display:
        return Finding(
            TRAY,
            Outcome.WARNING,
            "no graphical session (DISPLAY / WAYLAND_DISPLAY unset): the agent runs "
            "without a tray icon, which is right for a service",
            "To see the tray icon, start the agent from your desktop session "
            "(`kompliant-agent autostart enable --kind xdg`).",
        )
    linux = platform.startswith("linux")
    packages = REINSTALL if facts.frozen or not linux else "Install one: " + TRAY_PACKAGES
    if facts.error is not None:
        return Finding(
            TRAY, Outcome.FAILED, f"no tray backend could be loaded ({facts.error})", packages
        )
    if facts.running_problem is not None:
        return Finding(
            TRAY,
            Outcome.WARNING,
            f"the running agent's tray icon is not shown: {facts.running_problem}"
            + _meanwhile(facts),
            facts.running_fix or facts.host_fix,
        )
    if facts.host_found is False:
        return Finding(
            TRAY,
            Outcome.WARNING,
            "no tray host on this desktop (no StatusNotifierWatcher on the session bus, no "
            "XEmbed tray manager): the agent runs without a visible icon" + _meanwhile(facts),
            facts.host_fix,
        )
    if facts.needs_appindicator:
        return Finding(
            TRAY,
            Outcome.FAILED,
            f"{facts.hosts} shows only AppIndicator icons, and the AppIndicator library "
            "does not load",
            REINSTALL if facts.frozen else "Install it: " + TRAY_PACKAGES,
        )
    if not facts.has_menu:
        return Finding(
            TRAY,
            Outcome.FAILED,
            f"the only tray backend is {facts.backend!r}, which shows an icon but no menu",
            REINSTALL if facts.frozen else "Install a tray backend with menus: " + TRAY_PACKAGES,
        )
    where = f", shown by {facts.hosts}" if facts.hosts else ""
    return Finding(TRAY, Outcome.OK, f"pystray backend {facts.backend!r} with menus{where}")


def _meanwhile(facts: TrayFacts) -> str:
    if facts.notifications is False:
        return "; no notification service answers either, so the agent cannot reach you"
    return "; notifications tell you about failures and sign-in meanwhile"
