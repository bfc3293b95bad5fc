"""What the running agent's tray knows about itself, for ``status`` and ``doctor``.

The tray writes ``tray.json`` in the profile's state folder whenever it changes: the
backend in use, the tray hosts found, whether a host shows the icon and, if not, why.
A problem inside a backend (an exception in its loop, an item left ``Passive``, an icon
no tray embedded) so reaches the log, ``status`` and ``doctor`` instead of staying silent.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TRAY_FILE = "tray.json"


@dataclass(frozen=True)
class TrayReport:
    pid: int
    backend: str | None  # the pystray backend in use, None when none could be loaded
    hosts: str  # the tray hosts found, in words
    shown: bool | None  # a host shows the icon (None: not known yet)
    problem: str | None = None  # why the icon is not shown, or what failed
    fix: str = ""  # what the user can do about it
    menu: bool = True  # the backend has a menu
    notifications: bool = False  # a notification service answers
    updated_at: str = ""

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> TrayReport:
        shown = raw.get("shown")
        return cls(
            pid=int(raw.get("pid", 0)),
            backend=None if raw.get("backend") is None else str(raw["backend"]),
            hosts=str(raw.get("hosts", "")),
            shown=None if shown is None else bool(shown),
            problem=None if raw.get("problem") is None else str(raw["problem"]),
            fix=str(raw.get("fix", "")),
            menu=bool(raw.get("menu", True)),
            notifications=bool(raw.get("notifications", False)),
            updated_at=str(raw.get("updated_at", "")),
        )

    def line(self) -> str:
        """One line for ``status``."""
        if self.problem:
            return f"NOT shown: {self.problem}"
        if self.shown:
            return f"shown by {self.hosts} ({self.backend} backend)"
        return f"starting ({self.backend} backend, {self.hosts})"


def write_report(state_dir: Path, report: TrayReport) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tray-", dir=state_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(report.to_data(), handle, indent=1)
        os.replace(tmp, state_dir / TRAY_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_report(state_dir: Path) -> TrayReport | None:
    """The running agent's tray report; None when no agent with a tray runs."""
    try:
        raw = json.loads((state_dir / TRAY_FILE).read_text(encoding="utf-8"))
        report = TrayReport.from_data(raw)
    except (OSError, ValueError, TypeError):
        return None
    return report if _alive(report.pid) else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return True
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True
