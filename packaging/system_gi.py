"""Give a build environment the distribution's PyGObject: the Linux app's tray needs it.

PyGObject has no wheels for the GLib of the distributions the app is built on, and it
belongs with the distribution's GTK, whose libraries PyInstaller bundles from the build
machine anyway. So the build environment (made from requirements.lock) sees Debian's
``gi`` package and its metadata (which PyInstaller's gi hook reads) through a folder of
links and a ``.pth`` file naming it — nothing else of the distribution's Python packages.

    python3 packaging/system_gi.py build-env/bin/python

Standard library only; needs ``python3-gi``, ``gir1.2-gtk-3.0`` and
``gir1.2-ayatanaappindicator3-0.1`` (Debian / Ubuntu), and a build environment of the
distribution's Python version (PyGObject is built for it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SYSTEM_PACKAGES = Path("/usr/lib/python3/dist-packages")
METADATA = "PyGObject-*.egg-info"
PTH = "kompliant-system-gi.pth"
CHECK = (
    "import gi; gi.require_version('Gtk', '3.0'); "
    "gi.require_version('AyatanaAppIndicator3', '0.1'); "
    "from gi.repository import Gtk, AyatanaAppIndicator3"
)


class NoSystemGi(Exception):
    """The distribution's PyGObject cannot serve this environment; the message says why."""


def link(python: Path, system: Path = SYSTEM_PACKAGES) -> str:
    """Make ``python``'s environment see the distribution's PyGObject; its version."""
    gi = system / "gi"
    metadata = sorted(system.glob(METADATA))
    if not gi.is_dir() or not metadata:
        raise NoSystemGi(
            f"no PyGObject in {system}: sudo apt-get install python3-gi gir1.2-gtk-3.0 "
            "gir1.2-ayatanaappindicator3-0.1"
        )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    links = Path(purelib).parent.parent.parent / "system-gi"
    links.mkdir(exist_ok=True)
    for target in (gi, metadata[-1]):
        made = links / target.name
        if not made.is_symlink():
            made.symlink_to(target)
    (Path(purelib) / PTH).write_text(f"{links}\n", encoding="utf-8")
    done = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True)
    if done.returncode != 0:
        (Path(purelib) / PTH).unlink()
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise NoSystemGi(
            f"the distribution's PyGObject does not load in {python} ({last}): make the "
            "environment with the distribution's python3, and install "
            "gir1.2-ayatanaappindicator3-0.1"
        )
    return metadata[-1].name.removeprefix("PyGObject-").removesuffix(".egg-info")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        version = link(Path(argv[0]))
    except NoSystemGi as problem:
        print(f"system_gi.py: {problem}", file=sys.stderr)
        return 1
    print(f"{argv[0]} uses the distribution's PyGObject {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
