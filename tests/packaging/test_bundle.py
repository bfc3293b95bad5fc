"""The PyInstaller one-folder app: built from packaging/kompliant-agent.spec, then run.

The build environment is a fresh virtualenv holding exactly packaging/requirements.lock
(``pip install --require-hashes``): the app is built from the pinned, hash-checked
releases, never from whatever versions the day brings. The frozen app is run as a user
would: ``--version``, ``doctor`` and ``run --once`` against the sandbox (started from the
test environment), with the credentials in the KOMPLIANT_* variables. Installing and
building take a minute or two, once per test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import __version__
from agent.kompliant.auth import Credentials
from agent.locations import HOME_ENV
from tests.conftest import DEMO_WORKFLOW

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.bundle


LOCK = REPO / "packaging" / "requirements.lock"


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
        if name not in ("pip",) and not versions <= locked.get(name, set())
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
    (folder / "statement.pdf").write_bytes(b"%PDF-1.4 from the frozen app")
    run = frozen(bundle, "run", "--once", env=env)
    assert run.returncode == 0, run.stderr
    assert (folder / "done" / "statement.pdf").is_file(), run.stderr
    assert (folder / "done" / "statement.pdf.receipt.txt").is_file()
    assert "statement.pdf" in (home / "logs" / "agent.log").read_text(encoding="utf-8")
