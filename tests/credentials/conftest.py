"""Fake keyring backends for the policy and store tests, and an isolated agent home.

The fakes subclass the real backend classes (or carry their module names), because the
policy judges a backend by its class: an in-memory SecretService is judged secure, a
class from ``keyrings.alt`` is judged plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, fail

from tests.kit.home import isolated_home

SECRET_KEY = "s6MgmwW+DXGP5vyN1K5VbqFjAxc8FF4XqtnRkzs172Fv"
AUTH_TOKEN = "snyemajLjsUj3H6Y3AnZp3JbTlLBeDYLoV18w1VMKuXoWo8dwTevCa37"
API_KEY = "sb_DemoKey00000000000000001"
API_URL = "http://127.0.0.1:9"

Installer = Callable[[KeyringBackend], KeyringBackend]

B = TypeVar("B", bound=type[KeyringBackend])


def not_discoverable(cls: B) -> B:
    """Keep a fake out of keyring's own backend detection.

    keyring registers every KeyringBackend subclass when it is defined and may pick it
    as the process's backend — a fake would then stand in for the real Secret Service
    in the real-keyring tests.
    """
    KeyringBackend._classes.discard(cls)  # type: ignore[attr-defined]
    return cls


@not_discoverable
class MemorySecretService(SecretService.Keyring):
    """A Secret Service that keeps entries in a dict (no D-Bus)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.calls: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append("get")
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append("set")
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append("delete")
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("No such password!")


@not_discoverable
class LockedSecretService(MemorySecretService):
    """Every call fails the way SecretService does when the collection stays locked."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


@not_discoverable
class DismissedSecretService(MemorySecretService):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.InitError("Failed to create the collection: Prompt dismissed..")


class DBusFailure(Exception):
    """Shaped like jeepney's error for a D-Bus call that failed."""


DBusFailure.__module__ = "jeepney.wrappers"


@not_discoverable
class BrokenBusSecretService(MemorySecretService):
    def get_password(self, service: str, username: str) -> str | None:
        raise DBusFailure("org.freedesktop.DBus.Error.ServiceUnknown")


@not_discoverable
class DictKeyring(KeyringBackend):
    """A backend of no known kind, entries in a dict."""

    priority = 0.5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


DictKeyring.__module__ = "someone.elses.keyring"


@not_discoverable
class PlaintextKeyring(DictKeyring):
    """Looks like keyrings.alt's PlaintextKeyring (base64 in a file)."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


@not_discoverable
class HomeMadeKeyring(DictKeyring):
    pass


HomeMadeKeyring.__module__ = "someone.elses.keyring"


@pytest.fixture
def agent_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolated_home(monkeypatch, tmp_path / "agent-home")


@pytest.fixture
def use_backend(monkeypatch: pytest.MonkeyPatch) -> Installer:
    """Call with a backend to make ``keyring.get_keyring()`` return it."""

    def install(backend: KeyringBackend) -> KeyringBackend:
        monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
        return backend

    return install


@pytest.fixture
def memory_keyring(use_backend: Installer, agent_home: Path) -> MemorySecretService:
    backend = MemorySecretService()
    use_backend(backend)
    return backend


@pytest.fixture
def no_keyring(use_backend: Installer, agent_home: Path) -> KeyringBackend:
    backend = fail.Keyring()
    use_backend(backend)
    return backend
