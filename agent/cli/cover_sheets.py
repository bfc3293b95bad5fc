"""`kompliant-agent cover-sheets`: printable cover sheets for what a workflow still needs.

One page per required document: by default those ``missing`` lists (no file yet, or every
file rejected); with ``--all`` every active one. Each page carries the QR code the agent
reads back when the scanned stack arrives (docs/scanning.md). Kompliant is asked for the
current states and texts; when it cannot be reached, the stored states are used and the
command says so.
"""

from __future__ import annotations

import argparse
import locale
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.atomic import write_atomically
from agent.cli import exitcodes
from agent.cli.profile import add_profile_option, config_for
from agent.config import Config
from agent.credentials import resolve_credentials
from agent.decide import load_cache, requirements_file
from agent.decide.names import type_in_words
from agent.errors import CredentialsError, RetryLater
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import RequiredDocument
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.review.keeper import ReviewKeeper, stored_reviews
from agent.review.state import RequirementState
from agent.scan.code import CoverCode
from agent.scan.sheet import Paper, SheetContent, cover_sheets_pdf, paper_for_locale, sheet_titles


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "cover-sheets",
        help="a printable PDF of cover sheets, one per required document still missing",
        description=(
            "Write a printable PDF with one cover sheet per required document the workflow "
            "still needs (what `missing` lists), or per active required document with --all. "
            "Put each sheet on top of its document and scan the whole stack into the Inbox "
            "folder: the agent cuts the stack at the sheets and uploads each part to its "
            "required document. The sheets carry ids and names only, no secret."
        ),
        epilog=exitcodes.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workflow_ids", nargs="+", metavar="WORKFLOW_ID", help="w_…")
    parser.add_argument(
        "--all", action="store_true", help="a sheet for every active required document"
    )
    parser.add_argument(
        "--out", type=Path, metavar="FILE.pdf", help="where to write (default: ./cover-sheets.pdf)"
    )
    parser.add_argument(
        "--paper",
        choices=[p.value for p in Paper],
        help="paper size (default: from the locale; Letter for the US and Canada, else A4)",
    )
    add_profile_option(parser)
    parser.set_defaults(func=run_cover_sheets)


@dataclass(frozen=True)
class WorkflowSheets:
    """One workflow's sheets, or why there are none."""

    workflow_id: str
    sheets: tuple[SheetContent, ...]
    note: str = ""


def choose_sheets(
    workflow_id: str,
    label: str,
    required: Sequence[RequiredDocument],
    states: dict[str, RequirementState],
    *,
    every: bool,
    ended: bool,
) -> WorkflowSheets:
    """The sheets to print for one workflow (pure): the outstanding required documents, or
    with ``every`` the active ones; none for an ended workflow."""
    if ended:
        return WorkflowSheets(workflow_id, (), "the workflow has ENDED and takes no documents")
    chosen = [
        rd
        for rd in required
        if not rd.inactive
        and (every or states.get(rd.required_document_id, RequirementState.MISSING).outstanding)
    ]
    sheets = tuple(
        SheetContent(
            CoverCode(workflow_id, rd.required_document_id),
            label,
            rd.name or rd.document_type_code or rd.required_document_id,
            rd.requirement_text,
        )
        for rd in chosen
    )
    note = ""
    if not sheets:
        note = (
            "no active required documents"
            if every
            else "nothing missing (use --all for a sheet per active required document)"
        )
    return WorkflowSheets(workflow_id, sheets, note)


def locale_name() -> str:
    """The user's locale for paper: LC_ALL, LC_PAPER, LANG, else the system's."""
    for name in ("LC_ALL", "LC_PAPER", "LANG"):
        value = os.environ.get(name)
        if value:
            return value
    try:
        return locale.getlocale()[0] or ""
    except ValueError:
        return ""


def _label(config: Config, workflow_id: str, workflow_type: str) -> str:
    configured = config.workflow(workflow_id)
    if configured is not None and configured.label:
        return configured.label
    return type_in_words(workflow_type) or workflow_id


def _online(config: Config, workflow_ids: Sequence[str], every: bool) -> list[WorkflowSheets]:
    keeper = ReviewKeeper(config.agent.profile)
    pacer = Pacer(PacerPolicy(max_attempts=2, max_elapsed=15.0))
    found = []
    with KompliantClient(
        resolve_credentials(config.agent.profile), timeout=10.0, pacer=pacer
    ) as client:
        for workflow_id in workflow_ids:
            workflow, rds, changes = keeper.check_workflow(client, workflow_id)
            states = {c.after.required_document_id: c.after.state for c in changes}
            label = _label(config, workflow_id, workflow.type)
            found.append(
                choose_sheets(workflow_id, label, rds, states, every=every, ended=workflow.ended)
            )
    return found


def _stored(config: Config, workflow_ids: Sequence[str], every: bool) -> list[WorkflowSheets]:
    cache = load_cache(requirements_file(config.agent.profile))
    reviews = {r.workflow_id: r for r in stored_reviews(config)}
    found = []
    for workflow_id in workflow_ids:
        cached = cache.get(workflow_id)
        if cached is None:
            found.append(WorkflowSheets(workflow_id, (), "nothing stored about it"))
            continue
        review = reviews.get(workflow_id)
        states = {r.required_document_id: r.state for r in review.requirements} if review else {}
        label = _label(config, workflow_id, cached.workflow.type)
        found.append(
            choose_sheets(
                workflow_id,
                label,
                cached.required_documents,
                states,
                every=every,
                ended=cached.workflow.ended,
            )
        )
    return found


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def run_cover_sheets(args: argparse.Namespace) -> int:
    config = config_for(args)
    out: Path = args.out or Path("cover-sheets.pdf")
    if out.suffix.lower() != ".pdf":
        print(f"kompliant-agent: --out must name a .pdf file, not {out}", file=sys.stderr)
        return exitcodes.USAGE
    if _inside(out.absolute(), config.root):
        print(
            f"kompliant-agent: {out} is inside the watched folder {config.root}; the agent "
            "would take the sheets for a scan. Write them somewhere else (--out).",
            file=sys.stderr,
        )
        return exitcodes.USAGE
    paper = Paper(args.paper) if args.paper else paper_for_locale(locale_name())
    try:
        chosen = _online(config, args.workflow_ids, args.all)
    except RetryLater as error:
        print(
            f"Kompliant cannot be reached ({error.describe()}); using the stored states.",
            file=sys.stderr,
        )
        chosen = _stored(config, args.workflow_ids, args.all)
    except CredentialsError as error:
        print(
            f"Kompliant was not asked ({error.describe()}); using the stored states.",
            file=sys.stderr,
        )
        chosen = _stored(config, args.workflow_ids, args.all)
    sheets = [sheet for item in chosen for sheet in item.sheets]
    for item in chosen:
        if item.note:
            print(f"{item.workflow_id}: {item.note}", file=sys.stderr)
    if not sheets:
        print("No cover sheets to print.", file=sys.stderr)
        return exitcodes.OK
    write_atomically(out, cover_sheets_pdf(sheets, paper))
    print(f"Wrote {len(sheets)} cover sheet(s) ({paper.value.upper()}) to {out.absolute()}")
    for line in sheet_titles(sheets):
        print(f"  {line}")
    return exitcodes.OK
