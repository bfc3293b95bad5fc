"""Save, load and delete one profile's credentials.

The API URL and API key go to the profile file (:mod:`agent.credentials.files`); the
secret key and auth token go to a secure OS keyring (:mod:`agent.credentials.keyring_store`),
or — only with ``allow_plaintext`` and when no secure keyring exists — to a 0600 file.
Secrets are written before the profile file, so a profile file never points at secrets
that were not stored.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from agent.credentials import files
from agent.credentials.keyring_store import (
    KeyringSecrets,
    current_choice,
    current_service_name,
    refusal_for,
    secure_backend,
)
from agent.credentials.policy import BackendKind
from agent.errors import CredentialsError
from agent.kompliant.auth import Credentials, decode_secret_key

log = logging.getLogger(__name__)

PROFILE_FORMAT = 1


class SecretStore(enum.Enum):
    KEYRING = "keyring"
    PLAINTEXT = "plaintext"


@dataclass(frozen=True)
class StoragePlan:
    """Where a profile's secrets go (or are), in words a person can check."""

    secret_store: SecretStore
    location: str
    warning: str | None = None


@dataclass(frozen=True)
class StoredProfile:
    """What the profile file says; never the secrets."""

    profile: str
    api_url: str
    api_key: str
    secret_store: SecretStore


def plaintext_warning(profile: str) -> str:
    return (
        "No secure keyring is available: the secret key and auth token of profile "
        f"'{profile}' are kept UNENCRYPTED in {files.plaintext_file(profile)} (mode 0600, "
        "readable by anyone with access to your account or its backups). Install a keyring "
        "and run `kompliant-agent login` again to move them there."
    )


def check_credentials(credentials: Credentials) -> None:
    """Refuse values that cannot be right before anything is stored (no secret in messages)."""
    for label, value in (
        ("API URL", credentials.api_url),
        ("API key", credentials.api_key),
        ("secret key", credentials.secret_key),
        ("auth token", credentials.auth_token),
    ):
        if not value or value != value.strip() or "\n" in value or "\r" in value:
            raise CredentialsError(
                f"The {label} is empty or has spaces or line breaks around it",
                code="BAD_CREDENTIALS",
                hint=f"Copy the {label} exactly as Kompliant delivered it.",
            )
    decode_secret_key(credentials.secret_key)


def plan_storage(profile: str, *, allow_plaintext: bool = False) -> StoragePlan:
    """Where ``save_credentials`` would put the secrets; fails now if it could not.

    A secure keyring is touched once, so a locked or broken one is reported before any
    other work (such as asking Kompliant whether the credentials are right).
    """
    files.check_profile(profile)
    choice = current_choice()
    if choice.kind is BackendKind.SECURE and choice.backend is not None:
        secrets = KeyringSecrets(choice.backend, current_service_name(profile))
        secrets.probe()
        return StoragePlan(
            SecretStore.KEYRING, f"the system keyring ({secrets.backend_name}, {secrets.service})"
        )
    if not allow_plaintext:
        raise refusal_for(choice)
    return StoragePlan(
        SecretStore.PLAINTEXT, str(files.plaintext_file(profile)), plaintext_warning(profile)
    )


def save_credentials(
    profile: str, credentials: Credentials, *, allow_plaintext: bool = False
) -> StoragePlan:
    """Store one profile's credentials; the plan says where the secrets went."""
    check_credentials(credentials)
    plan = plan_storage(profile, allow_plaintext=allow_plaintext)
    if plan.secret_store is SecretStore.KEYRING:
        KeyringSecrets(secure_backend(), current_service_name(profile)).write(
            credentials.secret_key, credentials.auth_token
        )
        if files.remove(files.plaintext_file(profile)):
            log.info("removed the plaintext secrets of profile %s: the keyring has them", profile)
    else:
        log.warning("%s", plan.warning)
        files.write_private(
            files.plaintext_file(profile),
            {"secret_key": credentials.secret_key, "auth_token": credentials.auth_token},
        )
    files.write_private(
        files.profile_file(profile),
        {
            "format": PROFILE_FORMAT,
            "api_url": credentials.api_url,
            "api_key": credentials.api_key,
            "secret_store": plan.secret_store.value,
        },
    )
    log.info("saved credentials of profile %s (API key %s)", profile, credentials.api_key)
    return plan


def stored_profile(profile: str) -> StoredProfile | None:
    """The profile file's contents, or None when the profile was never saved."""
    path = files.profile_file(profile)
    data = files.read_toml(path)
    if data is None:
        return None
    try:
        return StoredProfile(
            profile=profile,
            api_url=str(data["api_url"]),
            api_key=str(data["api_key"]),
            secret_store=SecretStore(data.get("secret_store", SecretStore.KEYRING.value)),
        )
    except (KeyError, ValueError):
        raise CredentialsError(
            f"{path} is incomplete or from another version",
            code="CREDENTIALS_FILE",
            hint=f"Run `kompliant-agent login --profile {profile}` again.",
        ) from None


def _not_logged_in(profile: str) -> CredentialsError:
    return CredentialsError(
        f"No credentials are stored for profile '{profile}'",
        code="NOT_LOGGED_IN",
        hint=(
            f"Run `kompliant-agent login --profile {profile} --api-url URL --api-key KEY` "
            "(or set KOMPLIANT_API_URL, KOMPLIANT_API_KEY, KOMPLIANT_SECRET_KEY and "
            "KOMPLIANT_AUTH_TOKEN)."
        ),
    )


def load_credentials(profile: str) -> Credentials:
    """The stored credentials of ``profile``, or a CredentialsError saying what to do."""
    stored = stored_profile(profile)
    if stored is None:
        raise _not_logged_in(profile)
    if stored.secret_store is SecretStore.PLAINTEXT:
        secret_key, auth_token = _read_plaintext(profile)
        log.warning(
            "the secrets of profile %s are read from a plaintext file; run login again "
            "once a keyring is available",
            profile,
        )
    else:
        secrets = KeyringSecrets(secure_backend(), current_service_name(profile))
        secret_key, auth_token = secrets.read()
    if not secret_key or not auth_token:
        raise CredentialsError(
            f"The secret key or auth token of profile '{profile}' is missing from "
            + ("its file" if stored.secret_store is SecretStore.PLAINTEXT else "the keyring"),
            code="SECRETS_MISSING",
            hint=(
                "They were removed outside the agent. Run "
                f"`kompliant-agent login --profile {profile} --api-url {stored.api_url} "
                f"--api-key {stored.api_key}` again."
            ),
        )
    return Credentials(stored.api_url, stored.api_key, secret_key, auth_token)


def _read_plaintext(profile: str) -> tuple[str | None, str | None]:
    data = files.read_toml(files.plaintext_file(profile)) or {}
    secret_key, auth_token = data.get("secret_key"), data.get("auth_token")
    return (
        secret_key if isinstance(secret_key, str) else None,
        auth_token if isinstance(auth_token, str) else None,
    )


def delete_credentials(profile: str) -> list[str]:
    """Remove everything stored for ``profile``; says what was removed (empty: nothing)."""
    stored = stored_profile(profile)
    removed: list[str] = []
    if files.remove(files.plaintext_file(profile)):
        removed.append(f"the plaintext secrets file {files.plaintext_file(profile)}")
    service = current_service_name(profile)
    if stored is None or stored.secret_store is SecretStore.KEYRING:
        try:
            secrets = KeyringSecrets(secure_backend(), service)
        except CredentialsError:
            if stored is not None:
                raise  # the secrets are in a keyring we cannot reach: keep the profile file
            log.debug("no secure keyring; nothing of profile %s can be in one", profile)
        else:
            for entry in secrets.delete():
                removed.append(f"the {entry.replace('_', ' ')} in the keyring ({service})")
    if files.remove(files.profile_file(profile)):
        removed.append(f"the profile file {files.profile_file(profile)}")
    return removed
