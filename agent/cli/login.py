"""`kompliant-agent login`, `logout` and `whoami`: the stored credentials of a profile.

The secret key and auth token are never taken from the command line (where other users
and shell history could see them): they come from a hidden prompt, or with ``--stdin`` as
two lines — the secret key, then the auth token.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import Any, TextIO
from urllib.parse import urlsplit

from agent.cli import exitcodes
from agent.cli.profile import add_profile_option, profile_for
from agent.credentials import (
    SecretStore,
    credentials_from_environment,
    delete_credentials,
    plan_storage,
    save_credentials,
    stored_profile,
)
from agent.credentials.store import check_credentials
from agent.errors import AgentError, CannotSucceed, CredentialsError, RetryLater
from agent.kompliant import transport
from agent.kompliant.auth import Credentials
from agent.kompliant.models import VersionInfo

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    login = sub.add_parser(
        "login",
        help="check credentials with Kompliant and store them",
        description=(
            "Check the credentials with Kompliant (meta.checkVersion) and store them: the API "
            "URL and key in the profile file, the secret key and auth token in the system "
            "keyring. The secrets are asked for at a hidden prompt, or read with --stdin as "
            "two lines (secret key, then auth token); they are never accepted as arguments."
        ),
    )
    add_profile_option(login)
    login.add_argument(
        "--api-url",
        required=True,
        metavar="URL",
        help="the Kompliant API, e.g. https://api.kompliant.com",
    )
    login.add_argument(
        "--api-key", required=True, metavar="KEY", help="the API key (sb_… or lv_…); not secret"
    )
    add_secret_options(login)
    login.set_defaults(func=run_login)

    logout = sub.add_parser(
        "logout",
        help="remove the stored credentials of a profile",
        description="Remove the profile's keyring entries and files. Safe to repeat.",
    )
    add_profile_option(logout)
    logout.set_defaults(func=run_logout)

    whoami = sub.add_parser(
        "whoami",
        help="show which credentials commands use (never the secrets)",
        description="Show the API URL, API key and where the secrets are kept.",
    )
    add_profile_option(whoami)
    whoami.set_defaults(func=run_whoami)


def add_secret_options(parser: argparse.ArgumentParser) -> None:
    """How the secrets come in and where they may be kept: ``--stdin``, ``--allow-plaintext``."""
    parser.add_argument(
        "--stdin",
        action="store_true",
        help="read the secret key and the auth token as two lines from stdin",
    )
    parser.add_argument(
        "--allow-plaintext",
        action="store_true",
        help="when no secure keyring exists, keep the secrets in a 0600 file (not recommended)",
    )


def verify_credentials(credentials: Credentials) -> VersionInfo:
    """Ask Kompliant whether the credentials work (meta.checkVersion)."""
    from agent.kompliant.client import KompliantClient

    with KompliantClient(credentials) as client:
        return client.check_version()


def read_secrets(use_stdin: bool, stdin: TextIO | None = None) -> tuple[str, str]:
    """The secret key and the auth token, from stdin lines or a hidden prompt."""
    stream = stdin if stdin is not None else sys.stdin
    if use_stdin:
        if stream.isatty():
            raise UsageProblem(
                "--stdin reads the secrets from a pipe; at a terminal they would show on "
                "screen. Leave out --stdin to be asked at a hidden prompt."
            )
        secret_key = stream.readline().strip()
        auth_token = stream.readline().strip()
        if not secret_key or not auth_token:
            raise UsageProblem(
                "--stdin expects two lines: the secret key, then the auth token. "
                'For example: printf \'%s\\n%s\\n\' "$SECRET_KEY" "$AUTH_TOKEN" | '
                "kompliant-agent login --stdin --api-url URL --api-key KEY"
            )
        return secret_key, auth_token
    if not stream.isatty():
        raise UsageProblem(
            "There is no terminal for a hidden prompt. Pipe the secret key and auth token "
            "as two lines and add --stdin."
        )
    secret_key = getpass.getpass("Secret key (hidden): ").strip()
    auth_token = getpass.getpass("Auth token (hidden): ").strip()
    if not secret_key or not auth_token:
        raise UsageProblem("Both the secret key and the auth token are needed.")
    return secret_key, auth_token


class UsageProblem(Exception):
    """Wrong use of the command: printed, exit code 2."""


def check_api_url(url: str) -> str:
    """The API URL to store, or :class:`UsageProblem` when the agent itself would refuse it
    (checked here, before anything is sent, so that no refusal is blamed on Kompliant)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageProblem(
            f"--api-url {url!r} is not an http(s) URL; use e.g. https://api.kompliant.com"
        )
    try:
        transport.check_api_url(url)
    except CannotSucceed as refusal:
        raise UsageProblem(
            f"kompliant-agent itself refuses --api-url {url.strip()!r}, before asking "
            f"Kompliant anything: {refusal.message}. {refusal.hint}".rstrip()
        ) from None
    return url.strip().rstrip("/")


def run_login(args: argparse.Namespace) -> int:
    profile = profile_for(args)
    try:
        api_url = check_api_url(args.api_url)
        secret_key, auth_token = read_secrets(args.stdin)
    except UsageProblem as problem:
        print(f"kompliant-agent login: {problem}", file=sys.stderr)
        return exitcodes.USAGE
    credentials = Credentials(api_url, args.api_key.strip(), secret_key, auth_token)
    check_credentials(credentials)
    # Where the secrets will go is settled first: a missing or locked keyring is reported
    # before Kompliant is asked anything.
    plan_storage(profile, allow_plaintext=args.allow_plaintext)
    try:
        version = verify_credentials(credentials)
    except RetryLater as error:
        print(
            f"kompliant-agent login: Could not check the credentials with Kompliant: "
            f"{_without_hint(error)} Nothing was saved. Check the API URL and the network "
            "connection, then run login again.",
            file=sys.stderr,
        )
        return exitcodes.for_error(error)
    except AgentError as error:
        print(
            f"kompliant-agent login: Kompliant did not accept the credentials: "
            f"{error.describe()} Nothing was saved.",
            file=sys.stderr,
        )
        return exitcodes.for_error(error)
    plan = save_credentials(profile, credentials, allow_plaintext=args.allow_plaintext)
    if plan.warning:
        print(f"WARNING: {plan.warning}", file=sys.stderr)
    print(
        f"Logged in: profile '{profile}', API key {credentials.api_key} at {api_url} "
        f"(API version {version.current_version}). The secret key and auth token are in "
        f"{plan.location}."
    )
    return exitcodes.OK


def _without_hint(error: AgentError) -> str:
    """The error's description without its hint (a login is not retried by itself)."""
    text = error.describe()
    if error.hint and text.endswith(error.hint):
        text = text[: -len(error.hint)].rstrip()
    return text


def run_logout(args: argparse.Namespace) -> int:
    profile = profile_for(args)
    removed = delete_credentials(profile)
    if not removed:
        print(f"Nothing was stored for profile '{profile}'; nothing to remove.")
        return exitcodes.OK
    print(f"Logged out of profile '{profile}'. Removed:")
    for item in removed:
        print(f"  - {item}")
    return exitcodes.OK


def run_whoami(args: argparse.Namespace) -> int:
    from_env = credentials_from_environment(os.environ)
    if from_env is not None:
        print(
            f"Using the environment (KOMPLIANT_API_URL etc.): API key {from_env.api_key} at "
            f"{from_env.api_url}. Stored profiles are not used while these are set."
        )
        return exitcodes.OK
    profile = profile_for(args)
    stored = stored_profile(profile)
    if stored is None:
        raise CredentialsError(
            f"No credentials are stored for profile '{profile}'",
            code="NOT_LOGGED_IN",
        )
    where = (
        "the system keyring"
        if stored.secret_store is SecretStore.KEYRING
        else "a plaintext file (not recommended)"
    )
    print(
        f"Profile '{stored.profile}': API key {stored.api_key} at {stored.api_url}; "
        f"the secret key and auth token are in {where}."
    )
    return exitcodes.OK
