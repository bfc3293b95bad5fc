"""The small per-profile files under the config folder.

``credentials/<profile>.toml`` holds what is not secret: the API URL, the API key and
where the secrets are (``keyring`` or ``plaintext``). Only with the user's explicit
opt-in, ``credentials/<profile>.secrets.toml`` holds the secret key and auth token in
clear. Both are written atomically (temporary file, fsync, rename) with mode 0600 in a
folder of mode 0700.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from pathlib import Path
from typing import Any

import tomlkit

from agent.atomic import write_atomically
from agent.errors import CredentialsError
from agent.locations import locations

PROFILE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_profile(profile: str) -> str:
    """A profile name is also a file name and part of a keyring service: keep it plain."""
    if not PROFILE_PATTERN.fullmatch(profile):
        raise CredentialsError(
            f"The profile name {profile!r} is not allowed",
            code="BAD_PROFILE",
            hint="Use letters, digits, '.', '_' or '-' (up to 64, starting with a letter "
            "or digit).",
        )
    return profile


def credentials_dir() -> Path:
    return locations().config_dir / "credentials"


def profile_file(profile: str) -> Path:
    return credentials_dir() / f"{check_profile(profile)}.toml"


def plaintext_file(profile: str) -> Path:
    return credentials_dir() / f"{check_profile(profile)}.secrets.toml"


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Write TOML readable by the owner only; readers see the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o700)
    # The temporary file is created readable by the owner only (agent.atomic).
    write_atomically(path, tomlkit.dumps(data))


def read_toml(path: Path) -> dict[str, Any] | None:
    """The file's table, or None when it does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CredentialsError(
            f"Could not read {path}: {error.strerror}",
            code="CREDENTIALS_FILE",
            hint="Check the file's permissions, or run `kompliant-agent login` again.",
        ) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        # The message of the parse error may quote the file: never show it.
        raise CredentialsError(
            f"{path} is damaged and cannot be read",
            code="CREDENTIALS_FILE",
            hint="Run `kompliant-agent logout` and `kompliant-agent login` again.",
        ) from None


def remove(path: Path) -> bool:
    """Delete the file; True when it existed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
