"""Credentials for a command: from the environment when given there, else the profile.

Scripts, CI and tests pass credentials as KOMPLIANT_API_URL, KOMPLIANT_API_KEY,
KOMPLIANT_SECRET_KEY and KOMPLIANT_AUTH_TOKEN. All four must be set; a partial set is
an error rather than a silent mix with a stored profile.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from agent.credentials.store import load_credentials
from agent.errors import CredentialsError
from agent.kompliant.auth import Credentials
from agent.locations import DEFAULT_PROFILE
from agent.logfile import add_secrets

ENV_VARIABLES = (
    "KOMPLIANT_API_URL",
    "KOMPLIANT_API_KEY",
    "KOMPLIANT_SECRET_KEY",
    "KOMPLIANT_AUTH_TOKEN",
)


def credentials_from_environment(environ: Mapping[str, str]) -> Credentials | None:
    """The four variables as Credentials; None when none is set."""
    values = [environ.get(name, "").strip() for name in ENV_VARIABLES]
    if not any(values):
        return None
    missing = [name for name, value in zip(ENV_VARIABLES, values, strict=True) if not value]
    if missing:
        raise CredentialsError(
            "Credentials are only partly set in the environment: "
            + ", ".join(missing)
            + (" is" if len(missing) == 1 else " are")
            + " missing",
            code="PARTIAL_ENVIRONMENT",
            hint="Set all four KOMPLIANT_API_URL, KOMPLIANT_API_KEY, KOMPLIANT_SECRET_KEY and "
            "KOMPLIANT_AUTH_TOKEN, or unset them all to use the stored profile.",
        )
    api_url, api_key, secret_key, auth_token = values
    return Credentials(api_url, api_key, secret_key, auth_token)


def resolve_credentials(
    profile: str | None = None, *, environ: Mapping[str, str] | None = None
) -> Credentials:
    """The credentials a command should use: the environment's, else the stored profile's."""
    credentials = credentials_from_environment(os.environ if environ is None else environ)
    if credentials is None:
        credentials = load_credentials(profile or DEFAULT_PROFILE)
    add_secrets(credentials.secret_key, credentials.auth_token)
    return credentials
