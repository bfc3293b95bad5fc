"""The application's name, version and ids: the one source for packaging and autostart.

The PyInstaller spec, the Windows installer script, the macOS bundle's Info.plist and the
autostart files all take these values from here (``packaging/render.py`` renders them),
so a release changes the version in one place: ``agent/__init__.py``.
"""

from __future__ import annotations

from agent import __version__
from agent.locations import APP_NAME

#: The command and the name of files and folders (``kompliant-agent``).
COMMAND = APP_NAME
#: The name people see (menus, installer, bundle).
DISPLAY_NAME = "Kompliant Agent"
DESCRIPTION = "Uploads compliance documents dropped into folders to Kompliant"
PUBLISHER = "Kompliant"
#: Reverse-DNS id: macOS bundle and LaunchAgent label.
BUNDLE_ID = "com.kompliant.agent"
#: Windows installer's AppId: a fixed GUID, so upgrades replace the installed version.
WINDOWS_APP_ID = "{8B6C2F4E-5A1D-4E7B-9C3A-2D1F0E6B7A55}"
VERSION = __version__


def template_values() -> dict[str, str]:
    """The values every packaging template may use, by placeholder name."""
    return {
        "command": COMMAND,
        "display_name": DISPLAY_NAME,
        "description": DESCRIPTION,
        "publisher": PUBLISHER,
        "bundle_id": BUNDLE_ID,
        "windows_app_id": WINDOWS_APP_ID,
        "version": VERSION,
    }
