"""Credentials: the secret key and auth token in the OS keyring, per profile.

Public face::

    save_credentials(profile, credentials, *, allow_plaintext=False) -> StoragePlan
    load_credentials(profile) -> Credentials
    delete_credentials(profile) -> list[str]          # what was removed, for a person
    resolve_credentials(profile=None) -> Credentials  # KOMPLIANT_* environment, else profile
    plan_storage(profile, *, allow_plaintext=False) -> StoragePlan
    stored_profile(profile) -> StoredProfile | None

Policy (which keyring backends are trusted) is in :mod:`agent.credentials.policy`;
docs/credentials.md explains it for users.
"""

from agent.credentials.environment import (
    ENV_VARIABLES,
    credentials_from_environment,
    resolve_credentials,
)
from agent.credentials.store import (
    SecretStore,
    StoragePlan,
    StoredProfile,
    delete_credentials,
    load_credentials,
    plan_storage,
    save_credentials,
    stored_profile,
)

__all__ = [
    "ENV_VARIABLES",
    "SecretStore",
    "StoragePlan",
    "StoredProfile",
    "credentials_from_environment",
    "delete_credentials",
    "load_credentials",
    "plan_storage",
    "resolve_credentials",
    "save_credentials",
    "stored_profile",
]
