#!/usr/bin/env python3
"""The bundle's lock file: every package the packaged app is built from, pinned with hashes.

    python3 scripts/dev.py lock      writes packaging/requirements.lock (runs ``write``)
    python3 scripts/dev.py lint      checks it agrees with pyproject.toml (runs ``check``)

``write`` resolves the runtime dependencies of pyproject.toml and its ``bundle`` extra
(the build tool) with uv, for every platform the app is built on (``--universal``), with
the hash of every file of every pinned release, and records a fingerprint of the
dependencies it was made from. ``check`` needs no network: it fails when pyproject.toml's
dependencies are not the ones the lock was made from, when a dependency is not pinned or
pinned outside its range, or when a pin has no hash. CI's bundle build installs exactly
this file with ``pip install --require-hashes`` (tests/packaging/test_bundle.py).

Runs in the project's virtualenv (uv and ``packaging`` come with the dev extra).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "packaging" / "requirements.lock"
EXTRA = "bundle"
COMMAND = "python3 scripts/dev.py lock"
FINGERPRINT = "# pyproject-dependencies-sha256: "
HEADER = (
    "# The packaged app's dependencies, pinned with hashes (packaging/README.md).\n"
    f"# Made by `{COMMAND}` from pyproject.toml; do not edit by hand.\n"
)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def inputs() -> tuple[str, list[str]]:
    """requires-python and the dependencies the lock is made from (runtime + bundle)."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    extra = project.get("optional-dependencies", {}).get(EXTRA, [])
    return str(project.get("requires-python", "")), [*project["dependencies"], *extra]


def fingerprint() -> str:
    python, dependencies = inputs()
    normal = sorted(str(Requirement(d)) for d in dependencies)
    data = json.dumps({"requires-python": python, "dependencies": normal}, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def write() -> int:
    python, _ = inputs()
    floor = re.search(r">=\s*(\d+\.\d+)", python)
    command = [
        sys.executable,
        "-m",
        "uv",
        "pip",
        "compile",
        str(PYPROJECT.relative_to(ROOT)),
        "--extra",
        EXTRA,
        "--universal",
        "--generate-hashes",
        "--no-header",
        "--quiet",
    ]
    if floor:
        command += ["--python-version", floor.group(1)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"lockfile: uv could not resolve the dependencies:\n{done.stderr}", file=sys.stderr)
        return 1
    LOCK.write_text(f"{HEADER}{FINGERPRINT}{fingerprint()}\n{done.stdout}", encoding="utf-8")
    print(f"lockfile: wrote {LOCK.relative_to(ROOT)} ({len(pins(LOCK.read_text()))} pins)")
    return 0


def pins(text: str) -> dict[str, list[tuple[Version, bool]]]:
    """name → [(version, has a hash)] of every pin (a universal lock may pin one twice)."""
    found: dict[str, list[tuple[Version, bool]]] = {}
    current: tuple[str, Version] | None = None
    hashed = False

    def close() -> None:
        if current is not None:
            found.setdefault(current[0], []).append((current[1], hashed))

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _PIN.match(stripped)
        if match:
            close()
            current, hashed = (canonicalize_name(match.group(1)), Version(match.group(3))), False
        if "--hash=sha256:" in stripped:
            hashed = True
    close()
    return found


def problems() -> list[str]:
    if not LOCK.exists():
        return [f"{LOCK.relative_to(ROOT)} is missing: run `{COMMAND}`"]
    text = LOCK.read_text(encoding="utf-8")
    found: list[str] = []
    lines = text.splitlines()
    recorded = next(
        (ln[len(FINGERPRINT) :].strip() for ln in lines if ln.startswith(FINGERPRINT)), None
    )
    if recorded != fingerprint():
        found.append(
            f"{LOCK.relative_to(ROOT)} was made from other dependencies than pyproject.toml "
            f"lists now: run `{COMMAND}` and commit the new lock"
        )
    pinned = pins(text)
    for raw in inputs()[1]:
        requirement = Requirement(raw)
        name = canonicalize_name(requirement.name)
        versions = [v for v, _ in pinned.get(name, [])]
        if not versions:
            found.append(f"{requirement.name} ({raw}) is not pinned in the lock")
        elif not all(requirement.specifier.contains(v, prereleases=True) for v in versions):
            shown = ", ".join(str(v) for v in versions)
            found.append(f"{requirement.name} is pinned at {shown}, outside {raw!r}")
    unhashed = sorted(name for name, entries in pinned.items() if not all(h for _, h in entries))
    if unhashed:
        found.append(f"pins without a hash: {', '.join(unhashed)}")
    return found


def check() -> int:
    found = problems()
    for problem in found:
        print(f"lockfile: {problem}", file=sys.stderr)
    if not found:
        print(f"lockfile: {LOCK.relative_to(ROOT)} agrees with pyproject.toml")
    return 1 if found else 0


def main(argv: list[str]) -> int:
    if argv == ["write"]:
        return write()
    if argv == ["check"]:
        return check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
