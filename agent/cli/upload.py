"""``kompliant-agent upload FILE``: one file all the way — create, upload, verify, link."""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.cli import exitcodes
from agent.cli.profile import add_profile_option, profile_for
from agent.credentials import resolve_credentials
from agent.errors import AgentError
from agent.kompliant.client import KompliantClient
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.upload.link import LinkFailed, LinkIncomplete
from agent.upload.oneshot import UploadResult, upload_file

log = logging.getLogger(__name__)

DESCRIPTION = """\
Upload one file to Kompliant and link it to required documents of a workflow: a check
that its content is the type its name says and is not cut short, document.create, the
presigned upload, a check that Kompliant stored exactly this file (SHA-256), then one
fulfillment.batchAdd for every --requirement.

Credentials come from the profile stored by `kompliant-agent login`, or from the
environment when all of KOMPLIANT_API_URL, KOMPLIANT_API_KEY, KOMPLIANT_SECRET_KEY and
KOMPLIANT_AUTH_TOKEN are set (for scripts and CI).
"""

EPILOG = """\
examples:
  kompliant-agent upload statement.pdf --workflow w_... --requirement rd_...
  kompliant-agent upload id.png --no-link --subject sr_... --json

exit codes:
  0  uploaded, verified and (unless --no-link) linked to every requirement
  2  usage error: wrong or missing arguments
  3  retry later: network, throttling, server trouble, expired upload form, the file
     changed while it was sent — nothing is wrong with the input
  4  cannot succeed as it is: invalid file (empty, cut short, its content not the
     type its name says), unknown id, ended workflow, inactive requirement, rejected
     credentials
  5  partly done: the document is uploaded and linked to some requirements only
"""

RETRY_HINT = "Nothing is wrong with the file or the ids: run the same command again later."

_PREFIXES = {"workflow": "w_", "requirement": "rd_", "subject": "sr_"}


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "upload",
        help="upload one file and link it to required documents",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the document to upload")
    parser.add_argument("--workflow", metavar="w_...", help="the workflow to link to")
    parser.add_argument(
        "--requirement",
        action="append",
        default=[],
        metavar="rd_...",
        help="a required document of the workflow to fulfil (repeat for several)",
    )
    parser.add_argument(
        "--no-link",
        action="store_true",
        help="upload only, do not link (needs --subject or --workflow)",
    )
    parser.add_argument(
        "--subject", metavar="sr_...", help="the subject record (read from --workflow if left out)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--retry-for",
        type=float,
        default=PacerPolicy().max_elapsed,
        metavar="SECONDS",
        help="how long one Kompliant call is retried while the network or server has trouble "
        "(default %(default)g; 0 gives up at the first failure)",
    )
    add_profile_option(parser)
    parser.set_defaults(func=run, parser=parser)


def usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, or ``None``."""
    for name, prefix in _PREFIXES.items():
        values = getattr(args, name)
        for value in values if isinstance(values, list) else [values]:
            if value is not None and not value.startswith(prefix):
                return f"--{name} takes an id starting with {prefix!r}, not {value!r}"
    if args.no_link:
        if args.requirement:
            return "--no-link and --requirement do not go together"
        if not args.subject and not args.workflow:
            return "--no-link needs --subject sr_... or --workflow w_..."
        return None
    if not args.workflow:
        return "linking needs --workflow w_... (or give --no-link to upload only)"
    if not args.requirement:
        return "linking needs at least one --requirement rd_... (or give --no-link)"
    return None


def run(args: argparse.Namespace) -> int:
    problem = usage_problem(args)
    if problem:
        args.parser.print_usage(sys.stderr)
        print(f"kompliant-agent upload: error: {problem}", file=sys.stderr)
        return exitcodes.USAGE
    try:
        credentials = resolve_credentials(profile_for(args))
        pacer = Pacer(PacerPolicy(max_elapsed=max(args.retry_for, 0.0)))
        with KompliantClient(credentials, pacer=pacer) as client:
            result = upload_file(
                client,
                args.file,
                subject_record_id=args.subject,
                workflow_id=args.workflow,
                required_document_ids=args.requirement,
                link=not args.no_link,
                progress=_progress_printer(args.file.name),
            )
    except (LinkFailed, LinkIncomplete) as error:
        return _report_error(args, error, document_id=error.document_id, linked=error.linked)
    except AgentError as error:
        return _report_error(args, error)
    _report(args, result)
    return exitcodes.OK


def _report(args: argparse.Namespace, result: UploadResult) -> None:
    if args.json:
        print(
            json.dumps(
                {
                    "document_id": result.document_id,
                    "fulfillment_ids": dict(result.fulfillment_ids),
                    "sha256": result.sha256,
                }
            )
        )
        return
    print(f"document_id {result.document_id}")
    for rd, fulfillment_id in result.fulfillment_ids.items():
        print(f"fulfillment_id {fulfillment_id} ({rd})")
    print(f"sha256 {result.sha256}")


def _report_error(
    args: argparse.Namespace,
    error: AgentError,
    *,
    document_id: str | None = None,
    linked: dict[str, str] | None = None,
) -> int:
    code = exitcodes.for_error(error)
    if linked:
        code = exitcodes.PARTIAL
    shown = error
    if error.retryable:
        # The hint speaks of the running agent; this command does not retry after it exits.
        shown = copy.copy(error)
        shown.hint = RETRY_HINT
    print(f"kompliant-agent: {shown.describe()}", file=sys.stderr)
    if args.json:
        body: dict[str, Any] = {
            "error": {
                "code": error.code,
                "message": error.message,
                "hint": shown.hint,
                "retry_later": error.retryable,
                "http_status": error.http_status,
                "trace_id": error.trace_id,
            }
        }
        if document_id:
            body["document_id"] = document_id
            body["fulfillment_ids"] = linked or {}
        print(json.dumps(body))
    elif document_id:
        print(f"document_id {document_id}")
        for rd, fulfillment_id in (linked or {}).items():
            print(f"fulfillment_id {fulfillment_id} ({rd})")
    return code


def _progress_printer(name: str) -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None
    shown = [-1]

    def show(sent: int, total: int) -> None:
        percent = sent * 100 // total if total else 100
        if percent != shown[0]:
            shown[0] = percent
            end = "\n" if sent >= total else ""
            print(f"\rsending {name}: {percent:3d}%", end=end, file=sys.stderr, flush=True)

    return show
