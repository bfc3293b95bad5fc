"""`kompliant-agent add-workflow`, `remove-workflow` and `refresh`: the folder tree.

``add-workflow`` reads the workflow and its required documents from Kompliant, creates the
workflow's folders under the root and adds it to the config. ``remove-workflow`` takes it
out of the config: the agent stops watching its folders, and every file stays where it is.
``refresh`` gives new required documents their folders and marks INACTIVE ones and ENDED
workflows (docs/folders.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from agent.cli import exitcodes
from agent.cli.profile import add_profile_option, profile_for
from agent.config import config_path, load_config, save_config
from agent.credentials import resolve_credentials
from agent.decide import add_workflow, refresh_workflow, remove_workflow
from agent.engine.control import request_refresh
from agent.kompliant.client import KompliantClient
from agent.locations import locations

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    add = sub.add_parser(
        "add-workflow",
        help="create the folders of a Kompliant workflow and start watching them",
        description=(
            "Read the workflow and its required documents from Kompliant and create, under "
            "the root folder: '<label> (w_…)', inside it one folder per required document, "
            "'Inbox' (for scanners: routed by the config's inbox rules) and 'Upload only' "
            "(uploaded without linking), plus the combined folders the config declares. "
            "Running it again for the same workflow refreshes its folders."
        ),
    )
    add.add_argument("workflow_id", metavar="WORKFLOW_ID", help="the workflow id (w_…)")
    add.add_argument("--label", metavar="TEXT", help="a readable name for the workflow's folder")
    add_profile_option(add)
    add.set_defaults(func=run_add)

    remove = sub.add_parser(
        "remove-workflow",
        help="stop watching a workflow's folders (every file stays where it is)",
        description=(
            "Remove the workflow from the config. The agent stops watching its folders; "
            "no file or folder is moved or deleted. add-workflow brings it back, reusing "
            "the same folders."
        ),
    )
    remove.add_argument("workflow_id", metavar="WORKFLOW_ID", help="the workflow id (w_…)")
    remove.set_defaults(func=run_remove)

    refresh = sub.add_parser(
        "refresh",
        help="update the folders from Kompliant's required documents",
        description=(
            "Ask Kompliant for each configured workflow's required documents: new ones get "
            "a folder, INACTIVE ones and ENDED workflows are marked with a notice file (no "
            "folder or file is ever deleted). The running agent does this on a timer too."
        ),
    )
    refresh.add_argument(
        "--workflow",
        action="append",
        metavar="WORKFLOW_ID",
        help="refresh only this workflow (repeatable); default: every configured workflow",
    )
    add_profile_option(refresh)
    refresh.set_defaults(func=run_refresh)


def open_client(profile: str) -> KompliantClient:
    """The Kompliant client for ``profile`` (environment credentials win)."""
    return KompliantClient(resolve_credentials(profile))


def tell_running_agent(profile: str) -> None:
    """Ask a running agent of ``profile`` to re-read the config and the folder tree."""
    request_refresh(locations().profile_state(profile))


def run_add(args: argparse.Namespace) -> int:
    config = load_config()
    profile = profile_for(args, config)
    with open_client(profile) as client:
        updated, result = add_workflow(client, config, args.workflow_id, args.label)
    path = save_config(updated)
    tell_running_agent(profile)
    for line in result.lines():
        print(line)
    print(f"Added {args.workflow_id} to {path}.")
    if result.workflow is not None and result.workflow.ended:
        print(
            "Note: this workflow has ENDED on Kompliant's side; files dropped into its "
            "folders will fail with that reason."
        )
    elif result.folder is not None:
        print(f"Drop files into the requirement folders under {result.folder}.")
    return exitcodes.OK


def run_remove(args: argparse.Namespace) -> int:
    config = load_config()
    updated = remove_workflow(config, args.workflow_id)
    path = save_config(updated)
    tell_running_agent(config.agent.profile)
    print(
        f"Removed {args.workflow_id} from {path}. Its folders are no longer watched; "
        "every file and folder stays where it is."
    )
    return exitcodes.OK


def run_refresh(args: argparse.Namespace) -> int:
    config = load_config()
    if not config.workflows:
        print(
            f"No workflows are configured in {config_path()}: add one with "
            "`kompliant-agent add-workflow w_…`."
        )
        return exitcodes.OK
    unknown = [w for w in args.workflow or () if config.workflow(w) is None]
    if unknown:
        configured = ", ".join(w.workflow_id for w in config.workflows)
        print(
            f"kompliant-agent: {', '.join(unknown)} is not configured (configured: "
            f"{configured}). Add it with `kompliant-agent add-workflow`.",
            file=sys.stderr,
        )
        return exitcodes.USAGE
    profile = profile_for(args, config)
    with open_client(profile) as client:
        report = refresh_workflow(client, config, workflow_ids=args.workflow)
    tell_running_agent(profile)
    for line in report.lines():
        print(line)
    errors = report.errors
    if not errors:
        return exitcodes.OK
    if len(errors) == len(report.workflows):
        return exitcodes.for_error(errors[0])
    return exitcodes.PARTIAL
