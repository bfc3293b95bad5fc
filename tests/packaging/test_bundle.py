"""The PyInstaller one-folder app: built from packaging/kompliant-agent.spec, then run.

The build environment is a fresh virtualenv holding exactly packaging/requirements.lock
(``pip install --require-hashes``): the app is built from the pinned, hash-checked
releases, never from whatever versions the day brings — and the distribution's PyGObject,
linked in by packaging/system_gi.py, which goes with the GTK libraries the app bundles
from the build machine. The frozen app is run as a user would: ``--version``, ``doctor``
and ``run --once`` against the sandbox (started from the test environment), with the
credentials in the KOMPLIANT_* variables; and ``run`` on a desktop with xfce4-panel, where
its tray icon must show and open its menu. Installing and building take a minute or two,
once per test session.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import __version__
from agent.engine.state import AgentState
from agent.kompliant.auth import Credentials
from agent.locations import HOME_ENV
from agent.tray.icons import COLOURS
from tests.conftest import DEMO_WORKFLOW
from tests.kit.wait import wait_for
from tests.tray.desktops import (
    Desktop,
    icon_box,
    menu_open,
    require_desktop,
    running_desktop,
)

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.bundle


LOCK = REPO / "packaging" / "requirements.lock"


def system_gi() -> object:
    """packaging/system_gi.py, which gives a build environment Debian's PyGObject."""
    spec = importlib.util.spec_from_file_location("system_gi", REPO / "packaging" / "system_gi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def locked_environment(folder: Path) -> Path:
    """A virtualenv with exactly the lock's pins for this platform; its python."""
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(folder)], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    python = folder / "bin" / "python"
    installed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--require-hashes",
            "--only-binary",
            ":all:",
            "--requirement",
            str(LOCK),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-5000:]
    return python


def pinned(text: str) -> dict[str, set[str]]:
    """name → versions of every ``name==version`` line (names normalised as pip does).

    A name may be pinned twice, for different environments (``; python_full_version <
    '3.12'`` and ``>= '3.12'``): each version counts.
    """
    found: dict[str, set[str]] = {}
    for line in text.splitlines():
        head = line.split(";", 1)[0].split("\\", 1)[0].strip()
        if "==" in head and not head.startswith("#"):
            name, version = head.split("==", 1)
            key = name.strip().lower().replace("_", "-").replace(".", "-")
            found.setdefault(key, set()).add(version.strip())
    return found


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    build = tmp_path_factory.mktemp("pyinstaller")
    python = locked_environment(build / "venv")
    # The tray's GTK: the distribution's PyGObject, not a package of the lock.
    gi_version = system_gi().link(python)  # type: ignore[attr-defined]
    frozen_list = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = pinned(frozen_list.stdout)
    locked = pinned(LOCK.read_text(encoding="utf-8"))
    strays = {
        name: versions
        for name, versions in installed.items()
        if name not in ("pip",)
        and not versions <= locked.get(name, set())
        and (name, versions) != ("pygobject", {gi_version})
    }
    assert not strays, f"the build environment holds what the lock does not pin: {strays}"
    done = subprocess.run(
        [
            str(python),
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(build / "dist"),
            "--workpath",
            str(build / "work"),
            str(REPO / "packaging" / "kompliant-agent.spec"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    executable = build / "dist" / "kompliant-agent" / "kompliant-agent"
    assert executable.is_file(), done.stderr[-5000:]
    yield executable


def frozen(
    executable: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # Run from elsewhere, so nothing of the checkout can be imported by accident.
    return subprocess.run(
        [str(executable), *args],
        env=env,
        cwd=executable.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version(bundle: Path) -> None:
    done = frozen(bundle, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"kompliant-agent {__version__}"


def test_no_plaintext_keyring_and_the_templates_are_bundled(bundle: Path) -> None:
    internal = bundle.parent / "_internal"
    assert not [p for p in internal.rglob("*") if "keyrings" in p.parts]
    assert (internal / "packaging" / "autostart" / "kompliant-agent.service.in").is_file()
    assert (internal / "packaging" / "icons" / "kompliant-agent.png").is_file()


def test_doctor_then_run_once_against_the_sandbox(
    bundle: Path, demo_credentials: Credentials, tmp_path: Path
) -> None:
    home = Path(os.environ[HOME_ENV])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        KOMPLIANT_API_URL=demo_credentials.api_url,
        KOMPLIANT_API_KEY=demo_credentials.api_key,
        KOMPLIANT_SECRET_KEY=demo_credentials.secret_key,
        KOMPLIANT_AUTH_TOKEN=demo_credentials.auth_token,
    )
    env.pop("DISPLAY", None)
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[stability]\nquiet_seconds = 0.3\nclose_confirm_seconds = 0.1\n")
    added = frozen(bundle, "add-workflow", DEMO_WORKFLOW, "--label", "Demo Ltd", env=env)
    assert added.returncode == 0, added.stderr
    doctor = frozen(bundle, "doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "[ok  ] credentials" in doctor.stdout
    assert "[ok  ] watched folders" in doctor.stdout
    # the scanner's native parts (PDFium, zxing-cpp, qpdf, libheif) were collected
    assert "[ok  ] scanner support" in doctor.stdout
    folder = home / "documents" / "Kompliant" / f"Demo Ltd ({DEMO_WORKFLOW})" / "Bank statements"
    (folder / "statement.pdf").write_bytes(b"%PDF-1.4 from the frozen app\n%%EOF\n")
    run = frozen(bundle, "run", "--once", env=env)
    assert run.returncode == 0, run.stderr
    assert (folder / "done" / "statement.pdf").is_file(), run.stderr
    assert (folder / "done" / "statement.pdf.receipt.txt").is_file()
    assert "statement.pdf" in (home / "logs" / "agent.log").read_text(encoding="utf-8")


def _frozen_env(credentials: Credentials, desktop: Desktop) -> dict[str, str]:
    env = {k: v for k, v in desktop.env.items() if k != "PYTHONPATH"}
    env.update(
        HOME=os.environ.get("HOME", str(desktop.home)),
        KOMPLIANT_API_URL=credentials.api_url,
        KOMPLIANT_API_KEY=credentials.api_key,
        KOMPLIANT_SECRET_KEY=credentials.secret_key,
        KOMPLIANT_AUTH_TOKEN=credentials.auth_token,
    )
    env[HOME_ENV] = os.environ[HOME_ENV]
    return env


def _report(state: Path) -> dict[str, object]:
    try:
        report: dict[str, object] = json.loads((state / "tray.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return report if report.get("shown") else {}


@pytest.fixture
def panel(tmp_path: Path) -> Iterator[Desktop]:
    require_desktop("xfce")
    with running_desktop("xfce", tmp_path) as desktop:
        yield desktop


def test_the_frozen_app_shows_its_tray_icon_with_a_menu_on_a_panel(
    bundle: Path, demo_credentials: Credentials, panel: Desktop
) -> None:
    env = _frozen_env(demo_credentials, panel)
    added = frozen(bundle, "add-workflow", DEMO_WORKFLOW, "--label", "Demo Ltd", env=env)
    assert added.returncode == 0, added.stderr
    state = Path(os.environ[HOME_ENV]) / "state" / "profiles" / "default"
    log = (bundle.parent.parent / "frozen-run.log").open("w")
    agent = subprocess.Popen(
        [str(bundle), "run"], env=env, cwd=bundle.parent.parent, stdout=log, stderr=log
    )
    try:
        box = wait_for(
            lambda: icon_box(panel.screenshot(), COLOURS[AgentState.IDLE]),
            what="the frozen app's icon in the panel",
            timeout=90,
            process=agent,
        )
        report = wait_for(lambda: _report(state), what="the frozen app's tray report")
        assert report["backend"] == "appindicator" and report["menu"] is True
        items = panel.sni_items()
        assert items and panel.sni_status(items[0]) == "Active"
        panel.click((box[0] + box[2]) // 2, (box[1] + box[3]) // 2, 3)
        wait_for(lambda: menu_open(panel.screenshot()), what="the frozen app's tray menu")
        panel.keys("Escape")
    finally:
        agent.terminate()
        code = agent.wait(timeout=30)
        log.close()
    assert code == 0, (bundle.parent.parent / "frozen-run.log").read_text()


def test_the_frozen_apps_doctor_gives_advice_that_applies_to_it(
    bundle: Path, demo_credentials: Credentials, tmp_path: Path
) -> None:
    require_desktop("bare")
    with running_desktop("bare", tmp_path) as desktop:
        env = _frozen_env(demo_credentials, desktop)
        env["XDG_CURRENT_DESKTOP"] = "XFCE"
        doctor = frozen(bundle, "doctor", "--json", env=env)
    found = {f["check"]: f for f in json.loads(doctor.stdout)["findings"]}
    tray = found["tray"]
    assert tray["outcome"] == "warning", tray
    assert "no tray host" in tray["detail"]
    assert "Status Tray plugin" in tray["fix"]  # the fix for this desktop …
    assert "apt" not in json.dumps(tray)  # … and no packages: the app carries its own
