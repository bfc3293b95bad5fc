#!/usr/bin/env python3
"""Development tasks for kompliant-agent. Needs nothing but python3 >= 3.11.

    python3 scripts/dev.py demo  [ARGS...]        the agent against the local sandbox
    python3 scripts/dev.py test  [PYTEST ARGS...] ruff, mypy and the whole test suite
    python3 scripts/dev.py lint                   ruff, mypy (linux, win32, darwin), the lock check
    python3 scripts/dev.py lock                   pin the bundle's dependencies anew

Each command prepares what it needs by itself: a virtualenv in .venv (reused while
pyproject.toml is unchanged: its hash is kept in .venv), the package installed in it in
editable mode, and for ``test`` the Debian packages of a real Secret Service keyring
(installed when running as root) and a throwaway, unlocked keyring in a D-Bus session of
its own, so the tests never touch the user's real keyring or folders.

``lock`` writes packaging/requirements.lock from pyproject.toml (every dependency of the
packaged app, with hashes; needs the network); run it after changing the dependencies —
``lint`` fails while the two disagree.

Options of ``test`` (before any pytest argument): ``--no-lint`` skips ruff and mypy.
Environment: KOMPLIANT_REQUIRE_KEYRING=1 makes the keyring tests fail instead of skip
when no Secret Service can be had (CI sets it); KOMPLIANT_REQUIRE_TRAY=1 (or CI=true) does
the same for the tray tests (Xvfb, trayer, dunst, xdotool and Debian's PyGObject, which
the virtualenv sees through a .pth); the scanner tests use SANE's scanimage (sane-utils)
and are skipped without it, except in CI (CI=true), where they fail; and
KOMPLIANT_REQUIRE_WRITERS=1 (or CI=true) makes the real-writer tests fail instead of skip
without rsync, bindfs, Chromium, Samba, vsftpd, curl or qpdf.

Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / "kompliant-dev.json"
PYPROJECT = ROOT / "pyproject.toml"
LINT_PATHS = ("agent", "tests", "scripts", "packaging")
MYPY_PLATFORMS = ("linux", "win32", "darwin")

# Debian packages the tests need, one line per feature. A feature is available when
# all its commands are found; as root the packages are installed when they are not.
SYSTEM_PACKAGES: dict[str, tuple[str, ...]] = {
    "keyring": ("gnome-keyring", "dbus", "dbus-x11", "libsecret-tools"),
    # A virtual display, the tray hosts users have (xfce4-panel: a StatusNotifier host;
    # trayer: an XEmbed tray), a notification daemon, input, screenshots and gdbus for the
    # tray tests; GTK 3, PyGObject and the AppIndicator library from Debian, as on a
    # user's desktop, for pystray's menu-capable backends.
    "tray": (
        "xvfb",
        "trayer",
        "xfce4-panel",
        "xdotool",
        "dunst",
        "imagemagick",
        "x11-utils",
        "dbus",
        "libglib2.0-bin",
        "python3-gi",
        "gir1.2-gtk-3.0",
        "gir1.2-ayatanaappindicator3-0.1",
    ),
    # SANE's scanimage with its test backend: real page images, written the way a
    # scanner writes them, for the scanner-output tests.
    "scanner": ("sane-utils",),
    # Real writers for the finished-file tests (tests/realwriters/): rsync, a FUSE mount
    # (bindfs), a headless browser, Samba and FTP servers with their clients, and qpdf
    # for a password-protected PDF.
    "writers": (
        "rsync",
        "bindfs",
        "fuse3",
        "chromium",
        "samba",
        "smbclient",
        "vsftpd",
        "curl",
        "qpdf",
    ),
}
FEATURE_COMMANDS: dict[str, tuple[str, ...]] = {
    "keyring": ("dbus-run-session", "gnome-keyring-daemon", "secret-tool"),
    "tray": (
        *("Xvfb", "trayer", "xfce4-panel", "xdotool", "dunst", "dunstctl", "import"),
        *("xwininfo", "gdbus"),
    ),
    "scanner": ("scanimage",),
    "writers": ("rsync", "bindfs", "chromium", "smbd", "smbclient", "vsftpd", "curl", "qpdf"),
}
# Debian's PyGObject (python3-gi) is built for Debian's python3; the virtualenv sees only
# its ``gi`` package (and its metadata, which PyInstaller's gi hook reads), through a
# folder holding links to them and a .pth naming that folder.
SYSTEM_GI = Path("/usr/lib/python3/dist-packages/gi")
SYSTEM_GI_METADATA = "PyGObject-*.egg-info"
GI_LINKS = VENV / "system-gi"
GI_CHECK = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
APPINDICATOR_CHECK = (
    "import gi; gi.require_version('AyatanaAppIndicator3', '0.1'); "
    "from gi.repository import AyatanaAppIndicator3"
)
APPINDICATOR_PACKAGE = "gir1.2-ayatanaappindicator3-0.1"

# Extras of pyproject.toml each command needs in the virtualenv.
DEMO_EXTRAS: tuple[str, ...] = ()
TEST_EXTRAS: tuple[str, ...] = ("dev", "s3")

# Unlocks a fresh gnome-keyring inside the D-Bus session, then runs the command ("$@").
KEYRING_SESSION_SCRIPT = (
    'printf %s "$KOMPLIANT_TEST_KEYRING_PASSWORD" '
    "| gnome-keyring-daemon --unlock --components=secrets >/dev/null "
    '|| { echo "dev.py: gnome-keyring-daemon did not start" >&2; exit 90; }\n'
    "unset KOMPLIANT_TEST_KEYRING_PASSWORD\n"
    'exec "$@"\n'
)

_apt_updated = False
# Another apt-get (a second test run, the desktop's updater) may hold dpkg's lock: wait for
# it instead of failing at once. Test runs side by side also queue on a lock of their own,
# since `apt-get update` does not wait for the lists lock.
APT_GET = ("apt-get", "-o", "DPkg::Lock::Timeout=600")
APT_QUEUE = ("flock", "/var/lock/kompliant-dev-apt.lock")


def _apt_command(*args: str) -> list[str]:
    queue = APT_QUEUE if shutil.which("flock") else ()
    return [*queue, *APT_GET, *args]


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


class Failed(Exception):
    """A step that cannot go on; the message says what to do."""


# --- the virtualenv -------------------------------------------------------------------


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def _venv_works() -> bool:
    python = venv_python()
    if not python.exists():
        return False
    check = "import sys, pip; sys.exit(sys.version_info < (3, 11))"
    return subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0


def _read_stamp() -> dict[str, object]:
    try:
        data = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _pyproject_hash() -> str:
    return hashlib.sha256(PYPROJECT.read_bytes()).hexdigest()


def _create_venv() -> None:
    if VENV.exists():
        say(f"{VENV} does not work; making it again")
        shutil.rmtree(VENV)
    say(f"creating the virtualenv {VENV}")
    made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True)
    if made.returncode == 0 and _venv_works():
        return
    # Debian's python3 ships venv without ensurepip unless python3-venv is installed.
    minor = f"python3.{sys.version_info.minor}-venv"
    if _can_apt():
        shutil.rmtree(VENV, ignore_errors=True)
        _apt_install(["python3-venv", minor])
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True
        )
        if made.returncode == 0 and _venv_works():
            return
    shutil.rmtree(VENV, ignore_errors=True)
    raise Failed(
        f"could not create a virtualenv with {sys.executable}:\n{made.stdout}{made.stderr}\n"
        f"On Debian/Ubuntu install the venv module first: sudo apt-get install {minor}"
    )


def ensure_venv(extras: Sequence[str]) -> Path:
    """The virtualenv's python, with the package (and ``extras``) installed and current."""
    if not _venv_works():
        _create_venv()
        stamp: dict[str, object] = {}
    else:
        stamp = _read_stamp()
    installed = stamp.get("extras")
    installed_extras = set(installed) if isinstance(installed, list) else set()
    if stamp.get("pyproject") == _pyproject_hash() and set(extras) <= installed_extras:
        return venv_python()
    wanted = sorted(set(extras) | installed_extras)
    target = "." + (f"[{','.join(wanted)}]" if wanted else "")
    say(f"installing {target} into {VENV} (editable)")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    run_checked(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "--editable", target],
        env=env,
        what="pip install",
    )
    STAMP.write_text(
        json.dumps({"pyproject": _pyproject_hash(), "extras": wanted}, indent=2) + "\n",
        encoding="utf-8",
    )
    return venv_python()


# --- Debian packages ------------------------------------------------------------------


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _can_apt() -> bool:
    return _is_root() and shutil.which("apt-get") is not None


def _apt_install(packages: Sequence[str]) -> None:
    global _apt_updated
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        say("apt-get update")
        run_checked(_apt_command("update", "-qq"), env=env, what="apt-get update")
        _apt_updated = True
    say(f"apt-get install {' '.join(packages)}")
    run_checked(_apt_command("install", "-y", "-qq", *packages), env=env, what="apt-get install")


def feature_missing(feature: str) -> list[str]:
    return [c for c in FEATURE_COMMANDS[feature] if shutil.which(c) is None]


def ensure_feature(feature: str) -> bool:
    """Whether the feature's system tools are there, installing them as root."""
    if not feature_missing(feature):
        return True
    if _can_apt():
        _apt_install(SYSTEM_PACKAGES[feature])
        return not feature_missing(feature)
    say(
        f"{feature}: {', '.join(feature_missing(feature))} not found and not root, so "
        f"its tests will be skipped. To run them: sudo apt-get install "
        f"{' '.join(SYSTEM_PACKAGES[feature])}"
    )
    return False


def _gi_works(python: Path, check: str = GI_CHECK) -> bool:
    env = dict(os.environ)
    env.pop("DISPLAY", None)  # Gtk loads without a display; a display is not needed here
    done = subprocess.run([str(python), "-c", check], capture_output=True, env=env)
    return done.returncode == 0


def ensure_system_gi(python: Path) -> bool:
    """Whether the virtualenv can import PyGObject with GTK 3 (Debian's, linked in), and
    the AppIndicator library is there as on a user's desktop."""
    if _gi_works(python):
        _link_gi_metadata()
        _ensure_appindicator(python)
        return True
    if not SYSTEM_GI.is_dir() and _can_apt():
        _apt_install(["python3-gi", "gir1.2-gtk-3.0"])
    if not SYSTEM_GI.is_dir():
        return False
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    GI_LINKS.mkdir(exist_ok=True)
    link = GI_LINKS / "gi"
    if not link.is_symlink():
        link.symlink_to(SYSTEM_GI)
    _link_gi_metadata()
    pth = Path(purelib) / "kompliant-system-gi.pth"
    pth.write_text(f"{GI_LINKS}\n", encoding="utf-8")
    if _gi_works(python):
        say(f"the virtualenv uses Debian's PyGObject ({SYSTEM_GI})")
        _ensure_appindicator(python)
        return True
    pth.unlink()
    say(
        f"Debian's PyGObject does not load in {python} (another Python version?): the tray "
        "tests cannot run. Make the virtualenv with Debian's python3.11, or pip install "
        "PyGObject<3.51 after: apt-get install libgirepository1.0-dev libcairo2-dev"
    )
    return False


def _link_gi_metadata() -> None:
    """Link PyGObject's metadata beside the ``gi`` link, where it is linked in."""
    if not GI_LINKS.is_dir():
        return  # PyGObject is the virtualenv's own
    for found in SYSTEM_GI.parent.glob(SYSTEM_GI_METADATA):
        link = GI_LINKS / found.name
        if not link.is_symlink():
            link.symlink_to(found)


def _ensure_appindicator(python: Path) -> None:
    """The AppIndicator library, which users' desktops have and pystray prefers."""
    if not _gi_works(python, APPINDICATOR_CHECK) and _can_apt():
        _apt_install([APPINDICATOR_PACKAGE])


# --- running ----------------------------------------------------------------------------


def run_checked(command: Sequence[str], *, env: Mapping[str, str], what: str) -> None:
    done = subprocess.run(list(command), env=dict(env), cwd=ROOT)
    if done.returncode != 0:
        raise Failed(f"{what} failed (exit code {done.returncode})")


def run_step(name: str, command: Sequence[str], env: Mapping[str, str]) -> bool:
    say(f"{name}: {' '.join(command[1:])}")
    started = time.monotonic()
    code = subprocess.run(list(command), env=dict(env), cwd=ROOT).returncode
    took = time.monotonic() - started
    say(f"{name}: {'ok' if code == 0 else f'FAILED (exit code {code})'} in {took:.1f}s")
    return code == 0


def lint_steps(python: Path) -> list[tuple[str, list[str]]]:
    py = str(python)
    steps = [
        ("ruff check", [py, "-m", "ruff", "check", *LINT_PATHS]),
        ("ruff format", [py, "-m", "ruff", "format", "--check", *LINT_PATHS]),
    ]
    # The agent ships for each of these: code behind a sys.platform guard is checked only
    # when mypy takes that platform's view. One cache per platform keeps each run quick.
    for platform in MYPY_PLATFORMS:
        mypy = [py, "-m", "mypy", "--platform", platform, "--cache-dir", f".mypy_cache/{platform}"]
        steps += [
            (f"mypy {platform}", mypy),
            (f"mypy scripts {platform}", [*mypy, "--strict", "scripts/dev.py"]),
            (
                f"mypy packaging {platform}",
                [*mypy, "--strict", "packaging/render.py", "packaging/system_gi.py"],
            ),
            (f"mypy lockfile {platform}", [*mypy, "--strict", "scripts/lockfile.py"]),
        ]
    steps.append(("lock", [py, "scripts/lockfile.py", "check"]))
    return steps


def run_lint(python: Path) -> list[str]:
    """Names of the lint steps that failed (all steps run)."""
    env = dict(os.environ)
    return [name for name, command in lint_steps(python) if not run_step(name, command, env)]


def keyring_session(command: Sequence[str], env: dict[str, str], scratch: Path) -> list[str]:
    """Wrap ``command`` in a D-Bus session with an unlocked throwaway gnome-keyring.

    The session gets a home of its own (with ``.cache``, without which D-Bus activation of
    the keyring hangs for two minutes) and a private XDG_RUNTIME_DIR.
    """
    home = scratch / "home"
    runtime = scratch / "run"
    for folder in (home / ".cache", home / ".local" / "share", runtime):
        folder.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        KOMPLIANT_TEST_KEYRING_PASSWORD=secrets.token_hex(16),
    )
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        env.pop(name, None)
    return ["dbus-run-session", "--", "bash", "-c", KEYRING_SESSION_SCRIPT, "bash", *command]


def run_pytest(python: Path, pytest_args: Sequence[str]) -> int:
    keyring = ensure_feature("keyring")
    ensure_feature("scanner")
    if ensure_feature("tray") and not ensure_system_gi(python):
        say("no PyGObject with GTK 3 in the virtualenv: the tray tests will be skipped")
    if not ensure_feature("writers"):
        say("the real-writer tests (rsync, Chromium, Samba, FTP, bindfs) will be skipped")
    scratch = Path(tempfile.mkdtemp(prefix="kompliant-test-"))
    try:
        env = dict(os.environ, KOMPLIANT_AGENT_HOME=str(scratch / "agent-home"))
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # never the user's real keyring
        env.pop("PYTHON_KEYRING_BACKEND", None)
        for name in ("DISPLAY", "WAYLAND_DISPLAY"):  # no tray icons on the user's desktop;
            env.pop(name, None)  # the tray tests bring a virtual display of their own
        command = [str(python), "-m", "pytest", *pytest_args]
        if keyring:
            command = keyring_session(command, env, scratch)
        elif env.get("KOMPLIANT_REQUIRE_KEYRING") == "1":
            say("KOMPLIANT_REQUIRE_KEYRING=1 and no keyring tools: the keyring tests will fail")
        say(f"pytest {' '.join(pytest_args)}".rstrip())
        code = subprocess.run(command, env=env, cwd=ROOT).returncode
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if code == 5:
        say("pytest collected no tests: that is a failure, not a success")
        return 1
    return code


# --- commands ---------------------------------------------------------------------------


def cmd_test(args: list[str]) -> int:
    lint = args[:1] != ["--no-lint"]
    pytest_args = args if lint else args[1:]
    python = ensure_venv(TEST_EXTRAS)
    failed = run_lint(python) if lint else []
    code = run_pytest(python, pytest_args)
    if failed:
        say(f"FAILED: {', '.join(failed)} (see above)")
        return code or 1
    return code


def cmd_lint(args: list[str]) -> int:
    python = ensure_venv(TEST_EXTRAS)
    failed = run_lint(python)
    if failed:
        say(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


def cmd_lock(args: list[str]) -> int:
    python = ensure_venv(TEST_EXTRAS)
    return subprocess.run([str(python), "scripts/lockfile.py", "write", *args], cwd=ROOT).returncode


def cmd_demo(args: list[str]) -> int:
    python = ensure_venv(DEMO_EXTRAS)
    try:
        return subprocess.run([str(python), "-m", "agent", "demo", *args], cwd=ROOT).returncode
    except KeyboardInterrupt:
        return 130


COMMANDS = {"test": cmd_test, "lint": cmd_lint, "lock": cmd_lock, "demo": cmd_demo}


def main(argv: Sequence[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file is what tells the user
        say(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
        return 2
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](list(argv[1:]))
    except Failed as failure:
        say(str(failure))
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
