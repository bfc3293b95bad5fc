"""What the autostart files say and where they go: plain data in, text out.

One :class:`Launch` (the program and arguments to run, the environment to keep) becomes,
per kind of autostart:

- ``systemd``: a systemd user unit (Linux), ``$XDG_CONFIG_HOME/systemd/user/``;
- ``xdg``: an XDG autostart ``.desktop`` entry (Linux desktop sessions, for the tray),
  ``$XDG_CONFIG_HOME/autostart/``;
- ``launchd``: a LaunchAgent plist (macOS), ``~/Library/LaunchAgents/``;
- ``windows``: a ``.cmd`` in the Startup folder (Windows),
  ``%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\``.

Locations come from ``HOME`` / the XDG variables / ``APPDATA`` given as a mapping, so tests
redirect them. Quoting follows each format's own rules (functions below).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from xml.sax.saxutils import escape

from agent.appinfo import BUNDLE_ID, COMMAND, DISPLAY_NAME
from agent.autostart.templates import fill, read_template


class AutostartKind(enum.Enum):
    SYSTEMD = "systemd"
    XDG = "xdg"
    LAUNCHD = "launchd"
    WINDOWS = "windows"


#: The template of each kind, relative to packaging/.
TEMPLATES = {
    AutostartKind.SYSTEMD: "autostart/kompliant-agent.service.in",
    AutostartKind.XDG: "autostart/kompliant-agent.desktop.in",
    AutostartKind.LAUNCHD: "autostart/launchagent.plist.in",
    AutostartKind.WINDOWS: "autostart/startup.cmd.in",
}
SYSTEMD_UNIT = f"{COMMAND}.service"
#: The ``systemctl enable`` link that starts the unit at login.
SYSTEMD_WANTS = "default.target.wants"


@dataclass(frozen=True)
class Launch:
    """What an autostart file starts."""

    program: tuple[str, ...]  # executable and leading arguments, e.g. (python, -m, agent)
    environment: tuple[tuple[str, str], ...] = ()
    log_dir: Path = Path()
    icon: str = COMMAND

    def argv(self, *arguments: str) -> list[str]:
        return [*self.program, *arguments]


def kinds_for(platform: str) -> tuple[AutostartKind, ...]:
    """The kinds of autostart a platform (``sys.platform``) has."""
    if platform.startswith("linux") or platform.startswith("freebsd"):
        return (AutostartKind.SYSTEMD, AutostartKind.XDG)
    if platform == "darwin":
        return (AutostartKind.LAUNCHD,)
    if platform.startswith("win"):
        return (AutostartKind.WINDOWS,)
    return ()


def target_path(kind: AutostartKind, environ: Mapping[str, str]) -> Path:
    """Where ``kind``'s file goes, from ``HOME`` / ``XDG_CONFIG_HOME`` / ``APPDATA``."""
    home = Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    if kind is AutostartKind.SYSTEMD:
        return config / "systemd" / "user" / SYSTEMD_UNIT
    if kind is AutostartKind.XDG:
        return config / "autostart" / f"{COMMAND}.desktop"
    if kind is AutostartKind.LAUNCHD:
        return home / "Library" / "LaunchAgents" / f"{BUNDLE_ID}.plist"
    appdata = environ.get("APPDATA") or str(PureWindowsPath(str(home), "AppData", "Roaming"))
    startup = Path(appdata) / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
    return startup / f"{DISPLAY_NAME}.cmd"


def wants_link(unit: Path) -> Path:
    """The link ``systemctl --user enable`` makes for the unit."""
    return unit.parent / SYSTEMD_WANTS / unit.name


def run_arguments(kind: AutostartKind) -> tuple[str, ...]:
    """The agent's arguments: the systemd service runs headless, the others with the tray."""
    return ("run", "--no-tray") if kind is AutostartKind.SYSTEMD else ("run",)


def render(kind: AutostartKind, launch: Launch) -> str:
    """The file text of ``kind`` for ``launch``."""
    argv = launch.argv(*run_arguments(kind))
    values: dict[str, str]
    if kind is AutostartKind.SYSTEMD:
        values = {
            "exec_start": " ".join(systemd_quote(a) for a in argv),
            "environment": "\n".join(
                "Environment=" + systemd_quote(f"{k}={v}") for k, v in launch.environment
            ),
        }
    elif kind is AutostartKind.XDG:
        env = [f"{k}={v}" for k, v in launch.environment]
        command = ["env", *env, *argv] if env else argv
        values = {
            "exec": " ".join(desktop_quote(a) for a in command),
            "icon": desktop_escape(launch.icon),
        }
    elif kind is AutostartKind.LAUNCHD:
        values = {
            "program_arguments": "\n".join(f"\t\t<string>{escape(a)}</string>" for a in argv),
            "environment": "\n".join(
                f"\t\t<key>{escape(k)}</key>\n\t\t<string>{escape(v)}</string>"
                for k, v in launch.environment
            ),
            "stdout_path": escape(str(launch.log_dir / "launchd.log")),
        }
    else:
        values = {
            "environment": "\r\n".join(
                f'set "{cmd_escape(k)}={cmd_escape(v)}"' for k, v in launch.environment
            ),
            "command_line": " ".join(f'"{cmd_escape(a)}"' for a in argv),
        }
    template = read_template(TEMPLATES[kind]).replace("\r\n", "\n")
    # A placeholder alone on its line with nothing to put there leaves no blank line.
    empty = {f"${{{name}}}" for name, value in values.items() if not value}
    template = "\n".join(line for line in template.split("\n") if line.strip() not in empty)
    text = fill(template, values)
    return text.replace("\n", "\r\n") if kind is AutostartKind.WINDOWS else text


# -- quoting, one function per format -----------------------------------------------------

_SYSTEMD_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def systemd_quote(word: str) -> str:
    """One word of a unit file's ExecStart= / Environment= (systemd.syntax(7))."""
    word = word.replace("%", "%%")  # specifiers
    if _SYSTEMD_PLAIN.match(word) and "$" not in word:
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return f'"{escaped}"'


_DESKTOP_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_escape(value: str) -> str:
    """A string value of a .desktop key (\\s, \\n, \\t, \\r, \\\\)."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )


def desktop_quote(word: str) -> str:
    """One argument of a .desktop Exec= key (Desktop Entry Specification, "Exec key")."""
    word = word.replace("%", "%%")  # field codes
    if word and not (_DESKTOP_RESERVED & set(word)) and "=" not in word[:1]:
        return desktop_escape(word)
    inner = "".join("\\" + c if c in '"`$\\' else c for c in word)
    # The key's value is itself an escaped string: backslashes are doubled once more.
    return desktop_escape(f'"{inner}"')


def cmd_escape(word: str) -> str:
    """Text inside double quotes in a .cmd file: only % needs doubling there."""
    return word.replace("%", "%%").replace('"', "")


def parse_desktop_exec(value: str) -> list[str]:
    """The arguments of an Exec= value, as a launcher reads them (used by tests and status)."""
    unescaped = (
        value.replace("\\\\", "\x00").replace("\\s", " ").replace("\\n", "\n").replace("\\t", "\t")
    ).replace("\x00", "\\")
    words: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    i = 0
    while i < len(unescaped):
        c = unescaped[i]
        if quoted:
            if c == "\\" and i + 1 < len(unescaped) and unescaped[i + 1] in '"`$\\':
                current.append(unescaped[i + 1])
                i += 1
            elif c == '"':
                quoted = False
            else:
                current.append(c)
        elif c == '"':
            quoted = started = True
        elif c == " ":
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(c)
            started = True
        i += 1
    if started:
        words.append("".join(current))
    return [w.replace("%%", "%") for w in words]


def describe(kinds: Sequence[AutostartKind]) -> str:
    names = {
        AutostartKind.SYSTEMD: "a systemd user service",
        AutostartKind.XDG: "the desktop session's autostart",
        AutostartKind.LAUNCHD: "a LaunchAgent",
        AutostartKind.WINDOWS: "the Startup folder",
    }
    return ", ".join(names[k] for k in kinds)
