"""The secret key and auth token in the OS keyring (the I/O edge of this package).

Entries live under a service name namespaced by profile — ``kompliant-agent/<profile>`` —
and, when ``KOMPLIANT_AGENT_HOME`` relocates the agent, also by a stable hash of that
folder (``kompliant-agent/home-<hash>/<profile>``), so tests and portable installs never
read or overwrite a user's real entries. The two secrets are stored as the "usernames"
``secret_key`` and ``auth_token`` of that service.

Every keyring failure becomes a :class:`~agent.errors.CredentialsError` that says how to
fix it; no message ever contains a secret.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from agent.credentials.policy import BackendChoice, BackendKind, choose, install_hint, refusal
from agent.errors import CredentialsError
from agent.locations import HOME_ENV

log = logging.getLogger(__name__)

SERVICE_PREFIX = "kompliant-agent"
SECRET_KEY_ENTRY = "secret_key"
AUTH_TOKEN_ENTRY = "auth_token"
ENTRIES = (SECRET_KEY_ENTRY, AUTH_TOKEN_ENTRY)

T = TypeVar("T")


def service_name(profile: str, agent_home: str | None) -> str:
    """The keyring service for ``profile``; ``agent_home`` is KOMPLIANT_AGENT_HOME or None."""
    if not agent_home:
        return f"{SERVICE_PREFIX}/{profile}"
    resolved = str(Path(agent_home).expanduser().resolve())
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]
    return f"{SERVICE_PREFIX}/home-{digest}/{profile}"


def current_service_name(profile: str) -> str:
    return service_name(profile, os.environ.get(HOME_ENV))


def ensure_keyring_dirs() -> None:
    """Create the folders a Secret Service daemon needs before D-Bus activates it.

    Without ``~/.cache`` D-Bus activation of gnome-keyring hangs for two minutes before
    failing (measured; docs in /work/shared/test-infra.md), which looks like a frozen
    agent.
    """
    if not sys.platform.startswith("linux"):
        return
    home = Path.home()
    wanted = [home / ".cache", home / ".local" / "share"]
    for variable in ("XDG_CACHE_HOME", "XDG_DATA_HOME"):
        value = os.environ.get(variable)
        if value:
            wanted.append(Path(value))
    for folder in wanted:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # a read-only home: the keyring will say more
            log.debug("could not create %s: %s", folder, error)


def _why_no_secret_service() -> str | None:
    """Why the Secret Service backend is not usable here (Linux), in keyring's words."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 - raises with the reason when unusable
    except Exception as error:
        return str(error) or type(error).__name__
    return None


def current_choice() -> BackendChoice:
    """The backend ``keyring`` picks for this process, judged by the policy."""
    ensure_keyring_dirs()
    with keyring_errors("look for a keyring"):
        backend = keyring.get_keyring()
    choice = choose(backend)
    log.debug("keyring backend %s judged %s", choice.name, choice.kind.value)
    return choice


def secure_backend() -> KeyringBackend:
    """The secure backend to use, or a CredentialsError saying what to install or start."""
    choice = current_choice()
    if choice.kind is BackendKind.SECURE and choice.backend is not None:
        return choice.backend
    raise refusal_for(choice)


def refusal_for(choice: BackendChoice) -> CredentialsError:
    """The policy's refusal, with the reason the OS store is missing when known."""
    reason = _why_no_secret_service() if choice.kind is BackendKind.MISSING else None
    return refusal(choice, reason=reason)


@contextmanager
def keyring_errors(action: str) -> Iterator[None]:
    """Turn whatever a keyring backend raises into a CredentialsError with the fix."""
    try:
        yield
    except CredentialsError:
        raise
    except keyring.errors.KeyringLocked:
        raise CredentialsError(
            f"Could not {action}: the keyring is locked",
            code="KEYRING_LOCKED",
            hint=(
                "Unlock it (log in to the desktop session, or open Passwords and Keys / "
                "KeePassXC and unlock the default collection), then run the command again."
            ),
        ) from None
    except keyring.errors.InitError as error:
        detail = str(error)
        if "dismissed" in detail.lower():
            message = f"Could not {action}: the keyring is locked and the unlock prompt was "
            message += "dismissed (or no prompt could be shown)"
            code = "KEYRING_LOCKED"
            hint = (
                "Unlock the keyring in the desktop session (or create its default "
                "collection in Passwords and Keys), then run the command again."
            )
        else:
            message = f"Could not {action}: the keyring could not be opened ({detail})"
            code = "KEYRING_UNAVAILABLE"
            hint = install_hint()
        raise CredentialsError(message, code=code, hint=hint) from None
    except keyring.errors.NoKeyringError:
        raise CredentialsError(
            f"Could not {action}: no keyring is available",
            code="NO_SECURE_KEYRING",
            hint=install_hint(),
        ) from None
    except keyring.errors.KeyringError as error:
        raise CredentialsError(
            f"Could not {action}: the keyring refused ({type(error).__name__}: {error})",
            code="KEYRING_ERROR",
            hint="Check that the keyring is running and unlocked, then run the command again.",
        ) from None
    except Exception as error:
        # secretstorage / jeepney raise their own D-Bus errors past keyring's wrappers.
        module = type(error).__module__
        if not module.startswith(("secretstorage", "jeepney", "dbus")):
            raise
        raise CredentialsError(
            f"Could not {action}: D-Bus error talking to the keyring "
            f"({type(error).__name__}: {error})",
            code="KEYRING_UNAVAILABLE",
            hint=install_hint(),
        ) from None


class KeyringSecrets:
    """The two secrets of one profile in one secure backend."""

    def __init__(self, backend: KeyringBackend, service: str) -> None:
        self._backend = backend
        self.service = service

    @property
    def backend_name(self) -> str:
        return str(getattr(self._backend, "name", type(self._backend).__name__))

    def _call(self, action: str, call: Callable[[], T]) -> T:
        ensure_keyring_dirs()
        with keyring_errors(action):
            return call()

    def probe(self) -> None:
        """Touch the keyring once, so a locked or broken one fails before any other work."""
        self._call(
            "read the keyring",
            lambda: self._backend.get_password(self.service, SECRET_KEY_ENTRY),
        )

    def read(self) -> tuple[str | None, str | None]:
        secret_key = self._call(
            "read the secret key from the keyring",
            lambda: self._backend.get_password(self.service, SECRET_KEY_ENTRY),
        )
        auth_token = self._call(
            "read the auth token from the keyring",
            lambda: self._backend.get_password(self.service, AUTH_TOKEN_ENTRY),
        )
        return secret_key, auth_token

    def write(self, secret_key: str, auth_token: str) -> None:
        self._call(
            "store the secret key in the keyring",
            lambda: self._backend.set_password(self.service, SECRET_KEY_ENTRY, secret_key),
        )
        self._call(
            "store the auth token in the keyring",
            lambda: self._backend.set_password(self.service, AUTH_TOKEN_ENTRY, auth_token),
        )
        log.info(
            "stored the secret key and auth token in %s as %s", self.backend_name, self.service
        )

    def delete(self) -> list[str]:
        """Remove both entries; returns the names of those that existed."""
        removed: list[str] = []
        for entry in ENTRIES:
            if self._delete_one(entry):
                removed.append(entry)
        return removed

    def _delete_one(self, entry: str) -> bool:
        def call() -> bool:
            try:
                self._backend.delete_password(self.service, entry)
            except keyring.errors.PasswordDeleteError:
                return False
            return True

        return self._call(f"remove the {entry.replace('_', ' ')} from the keyring", call)
