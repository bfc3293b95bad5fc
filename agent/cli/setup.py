"""`kompliant-agent setup`: the first run — sign in, choose workflows, folders, autostart.

Asked step by step at a terminal; every answer can also be given as a flag, and with
``--non-interactive`` (or without a terminal) nothing is asked: a step whose flags are
missing is skipped, except signing in, which is needed.

1. Sign in: KOMPLIANT_* variables or a stored profile that Kompliant accepts are kept
   (a terminal user may replace them); otherwise the API URL and key are asked (or
   ``--api-url`` / ``--api-key``) and the secrets at a hidden prompt (or ``--stdin``),
   checked with meta.checkVersion and stored as ``login`` stores them.
2. Workflows: Kompliant has no call that lists an account's workflows without a subject
   record, so the user gives subject record ids (``--subject sr_…``; their workflows are
   listed with workflow.list and picked from) or workflow ids (``--workflow w_…``).
3. Folders: each chosen workflow is added as ``add-workflow`` does.
4. Autostart: offered (``--autostart`` / ``--no-autostart``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent.autostart import default_kind
from agent.cli import exitcodes
from agent.cli.autostart import enable_and_say
from agent.cli.login import (
    UsageProblem,
    add_secret_options,
    check_api_url,
    read_secrets,
    verify_credentials,
)
from agent.cli.profile import add_profile_option, profile_for
from agent.cli.workflows import tell_running_agent
from agent.config import load_config, save_config
from agent.credentials import (
    credentials_from_environment,
    plan_storage,
    resolve_credentials,
    save_credentials,
)
from agent.credentials.store import check_credentials
from agent.decide import add_workflow
from agent.errors import AgentError
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import Workflow

DEFAULT_API_URL = "https://api.kompliant.com"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    setup = sub.add_parser(
        "setup",
        help="first run: sign in, choose workflows, create their folders, start at login",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_profile_option(setup)
    setup.add_argument("--api-url", metavar="URL", help="sign in to this Kompliant API")
    setup.add_argument("--api-key", metavar="KEY", help="with this API key (sb_… or lv_…)")
    add_secret_options(setup)
    setup.add_argument(
        "--subject",
        action="append",
        default=[],
        metavar="SUBJECT_RECORD_ID",
        help="add the workflows of this subject record that have not ended (repeatable)",
    )
    setup.add_argument(
        "--workflow",
        action="append",
        default=[],
        metavar="WORKFLOW_ID",
        help="add this workflow (repeatable)",
    )
    auto = setup.add_mutually_exclusive_group()
    auto.add_argument(
        "--autostart", dest="autostart", action="store_true", default=None, help="start at login"
    )
    auto.add_argument("--no-autostart", dest="autostart", action="store_false")
    setup.add_argument(
        "--non-interactive",
        action="store_true",
        help="ask nothing: use the flags only (also the case without a terminal)",
    )
    setup.set_defaults(func=run_setup)


@dataclass
class Asker:
    """Questions at the terminal; ``interactive`` False means every question is skipped."""

    interactive: bool
    ask: Callable[[str], str] = input
    ask_hidden: Callable[[str], str] = getpass.getpass

    def text(self, prompt: str, default: str = "") -> str:
        shown = f"{prompt} [{default}]: " if default else f"{prompt}: "
        answer = self.ask(shown).strip()
        return answer or default

    def yes(self, prompt: str, default: bool) -> bool:
        answer = self.ask(f"{prompt} [{'Y/n' if default else 'y/N'}]: ").strip().lower()
        return default if not answer else answer.startswith("y")


def run_setup(args: argparse.Namespace) -> int:
    interactive = not args.non_interactive and not args.stdin and sys.stdin.isatty()
    asker = Asker(interactive)
    config = load_config()
    profile = profile_for(args, config)
    print("Step 1 of 3: sign in to Kompliant")
    try:
        credentials = sign_in(args, profile, asker)
    except UsageProblem as problem:
        print(f"kompliant-agent setup: {problem}", file=sys.stderr)
        return exitcodes.USAGE
    print("\nStep 2 of 3: choose workflows and create their folders")
    with KompliantClient(credentials) as client:
        workflow_ids = choose_workflows(client, args.subject, args.workflow, asker)
        for workflow_id in workflow_ids:
            config, result = add_workflow(client, config, workflow_id)
            save_config(config)
            for line in result.lines():
                print(line)
    if workflow_ids:
        tell_running_agent(profile)
        print(f"Drop files into the folders under {config.root}.")
    elif not config.workflows:
        print("No workflow chosen; add one later with `kompliant-agent add-workflow w_…`.")
    print("\nStep 3 of 3: start the agent when you log in")
    autostart = args.autostart
    if autostart is None and asker.interactive:
        autostart = asker.yes("Start the agent automatically when you log in?", True)
    if autostart:
        enable_and_say(default_kind(), dict(os.environ))
    else:
        print(
            "Not set up; start the agent with `kompliant-agent run`, or at login with "
            "`kompliant-agent autostart enable`."
        )
    print("\nSetup done. `kompliant-agent doctor` checks everything is in order.")
    return exitcodes.OK


def sign_in(args: argparse.Namespace, profile: str, asker: Asker) -> Credentials:
    """Credentials Kompliant accepts: the ones in force, or new ones, stored."""
    wants_new = bool(args.api_url or args.api_key)
    if not wants_new:
        existing = _working_credentials(profile)
        if existing is not None:
            source = (
                "the KOMPLIANT_* environment variables"
                if credentials_from_environment(os.environ)
                else f"profile '{profile}'"
            )
            print(f"Signed in with API key {existing.api_key} at {existing.api_url} ({source}).")
            if not asker.interactive or not asker.yes("Sign in with other keys?", False):
                return existing
        elif not asker.interactive:
            raise UsageProblem(
                "Not signed in. Give --api-url URL --api-key KEY and pipe the secret key "
                "and auth token as two lines with --stdin."
            )
    api_url = args.api_url or (
        asker.text("Kompliant API URL", DEFAULT_API_URL) if asker.interactive else ""
    )
    api_key = args.api_key or (asker.text("API key (sb_… or lv_…)") if asker.interactive else "")
    if not api_url or not api_key:
        raise UsageProblem("Both --api-url and --api-key are needed to sign in.")
    api_url = check_api_url(api_url)
    if args.stdin:
        secret_key, auth_token = read_secrets(True)
    elif asker.interactive:
        secret_key = asker.ask_hidden("Secret key (hidden): ").strip()
        auth_token = asker.ask_hidden("Auth token (hidden): ").strip()
    else:
        raise UsageProblem("Pipe the secret key and auth token as two lines and add --stdin.")
    credentials = Credentials(api_url, api_key.strip(), secret_key, auth_token)
    check_credentials(credentials)
    plan_storage(profile, allow_plaintext=args.allow_plaintext)
    version = verify_credentials(credentials)
    plan = save_credentials(profile, credentials, allow_plaintext=args.allow_plaintext)
    if plan.warning:
        print(f"WARNING: {plan.warning}", file=sys.stderr)
    print(
        f"Signed in: API key {credentials.api_key} at {api_url} (API version "
        f"{version.current_version}); the secrets are in {plan.location}."
    )
    return credentials


def _working_credentials(profile: str) -> Credentials | None:
    try:
        credentials = resolve_credentials(profile)
        verify_credentials(credentials)
    except AgentError:
        return None
    return credentials


def choose_workflows(
    client: KompliantClient, subjects: Sequence[str], workflows: Sequence[str], asker: Asker
) -> list[str]:
    """Workflow ids to add, from the flags or (at a terminal) the user's picks."""
    chosen = list(workflows)
    for subject in subjects:
        chosen += [w.workflow_id for w in client.list_workflows(subject) if not w.ended]
    if not chosen and asker.interactive:
        answer = asker.text(
            "Subject record ids (sr_…) to list their workflows, or workflow ids (w_…), "
            "separated by spaces (empty: none for now)"
        )
        ids = answer.replace(",", " ").split()
        chosen += [i for i in ids if not i.startswith("sr_")]
        for subject in (i for i in ids if i.startswith("sr_")):
            chosen += pick(subject, client.list_workflows(subject), asker)
    return list(dict.fromkeys(chosen))


def pick(subject: str, workflows: Sequence[Workflow], asker: Asker) -> list[str]:
    if not workflows:
        print(f"{subject} has no workflows.")
        return []
    print(f"Workflows of {subject}:")
    for number, workflow in enumerate(workflows, 1):
        print(f"  {number}. {workflow.workflow_id}  {workflow.type}  {workflow.state}")
    answer = asker.text("Which ones? Numbers separated by spaces, or 'all'", "all")
    if answer.lower() == "all":
        return [w.workflow_id for w in workflows if not w.ended]
    picked = []
    for word in answer.replace(",", " ").split():
        if word.isdigit() and 1 <= int(word) <= len(workflows):
            picked.append(workflows[int(word) - 1].workflow_id)
        else:
            print(f"Ignored {word!r}: not one of the numbers above.")
    return picked
