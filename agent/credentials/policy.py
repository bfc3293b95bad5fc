"""Which keyring backends may hold the secret key and auth token.

Python's ``keyring`` picks a backend by itself, and some of its choices are not safe
places for a credential that Kompliant cannot revoke quickly: ``keyrings.alt`` writes
them to a plain (base64) file, ``fail``/``null`` store nothing. Only the operating
system's own stores are accepted; everything else is refused unless the user opts in to
a plaintext file (``login --allow-plaintext``).

This module only decides; it never reads or writes a secret.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from keyring.backend import KeyringBackend

from agent.errors import CredentialsError


class BackendKind(enum.Enum):
    SECURE = "secure"  # the OS store: Secret Service, Keychain, Credential Locker, KWallet
    PLAINTEXT = "plaintext"  # keyrings.alt and similar: readable files, no real protection
    MISSING = "missing"  # fail / null: nothing can be stored
    UNTRUSTED = "untrusted"  # a third-party backend the agent does not know


#: Fully qualified class names of the OS stores (a subclass counts as its base).
SECURE_BACKENDS = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.kwallet.DBusKeyringKWallet4",
    }
)
MISSING_BACKENDS = frozenset({"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"})
CHAINER_BACKEND = "keyring.backends.chainer.ChainerBackend"
#: Packages whose backends keep secrets in files the agent does not consider protected.
PLAINTEXT_PACKAGES = ("keyrings.alt",)


@dataclass(frozen=True)
class BackendChoice:
    """The backend the agent would use, and what kind of store it is."""

    kind: BackendKind
    name: str  # fully qualified class name, for messages and logs
    backend: KeyringBackend | None  # the backend to use; None unless kind is SECURE


def qualified_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def classify(backend: KeyringBackend) -> BackendKind:
    """What kind of store one (non-chainer) backend is."""
    names = [f"{cls.__module__}.{cls.__qualname__}" for cls in type(backend).__mro__]
    if any(name in SECURE_BACKENDS for name in names):
        return BackendKind.SECURE
    if any(name in MISSING_BACKENDS for name in names):
        return BackendKind.MISSING
    if any(name.startswith(PLAINTEXT_PACKAGES) for name in names):
        return BackendKind.PLAINTEXT
    return BackendKind.UNTRUSTED


def choose(backend: KeyringBackend) -> BackendChoice:
    """The store to use given ``keyring``'s pick.

    A chainer (several viable backends) is opened up: its first secure member is used
    directly, so a secret can never fall through to a plaintext member when the secure
    one fails.
    """
    name = qualified_name(backend)
    if any(f"{c.__module__}.{c.__qualname__}" == CHAINER_BACKEND for c in type(backend).__mro__):
        members: Iterable[KeyringBackend] = getattr(backend, "backends", ())
        return _choose_among(list(members), chainer_name=name)
    kind = classify(backend)
    return BackendChoice(kind, name, backend if kind is BackendKind.SECURE else None)


def _choose_among(members: list[KeyringBackend], *, chainer_name: str) -> BackendChoice:
    for member in members:
        if classify(member) is BackendKind.SECURE:
            return BackendChoice(BackendKind.SECURE, qualified_name(member), member)
    kinds = [classify(member) for member in members]
    for worst in (BackendKind.PLAINTEXT, BackendKind.UNTRUSTED):
        if worst in kinds:
            return BackendChoice(worst, qualified_name(members[kinds.index(worst)]), None)
    return BackendChoice(BackendKind.MISSING, chainer_name, None)


def install_hint(platform: str | None = None) -> str:
    """What to install or start so that a secure keyring exists, per platform."""
    platform = platform or sys.platform
    if platform == "darwin":
        return (
            "The macOS Keychain should always be there: log in to a normal desktop session "
            "(not only over SSH) and make sure the login keychain is unlocked."
        )
    if platform.startswith("win"):
        return (
            "Windows Credential Locker should always be there: run the agent as a normal "
            "logged-in user (not a service account without a profile)."
        )
    return (
        "Install and start a Secret Service keyring: GNOME Keyring "
        "(`sudo apt install gnome-keyring`) or KeePassXC with Secret Service integration "
        "turned on. It needs a D-Bus session (DBUS_SESSION_BUS_ADDRESS set, as in any desktop "
        "session; over SSH use `dbus-run-session -- bash`). If the keyring is locked, unlock "
        "it (log in to the desktop, or open Passwords and Keys / KeePassXC)."
    )


def refusal(
    choice: BackendChoice, *, reason: str | None = None, platform: str | None = None
) -> CredentialsError:
    """The error for a backend that may not hold secrets, saying how to fix it."""
    plaintext_way = (
        " To keep them in a plain file instead (not recommended), run login again with "
        "--allow-plaintext."
    )
    if choice.kind is BackendKind.MISSING:
        message = "No secure keyring is available to store the secret key and auth token"
    elif choice.kind is BackendKind.PLAINTEXT:
        message = (
            f"The only keyring available ({choice.name}) keeps secrets in a plain file, "
            "so the agent will not use it for the secret key and auth token"
        )
    else:
        message = (
            f"The keyring backend {choice.name} is not one the agent trusts with the "
            "secret key and auth token"
        )
    if reason:
        message += f" ({reason.rstrip('.')})"
    hint = install_hint(platform)
    if choice.kind in (BackendKind.PLAINTEXT, BackendKind.UNTRUSTED):
        hint += (
            " Remove the other backend (`pip uninstall keyrings.alt`) or unset "
            "PYTHON_KEYRING_BACKEND so the system keyring is picked."
        )
    return CredentialsError(message, code="NO_SECURE_KEYRING", hint=hint + plaintext_way)
