"""`kompliant-agent missing` and `request`: what is still needed, and asking for it.

``missing`` lists, per configured workflow, the required documents with no accepted or
pending fulfillment (INACTIVE ones left out; an ENDED workflow said as ended). It asks
Kompliant when it can, and stores what it saw; without credentials or network it shows the
stored states with their age. ``request`` calls
``workflow.requiredDocument.batchRequestDocument`` for the outstanding required documents
(or those named) and prints each item's result. docs/review.md has the details.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agent.cli import exitcodes
from agent.cli.profile import add_profile_option, config_for
from agent.config import Config
from agent.credentials import resolve_credentials
from agent.decide import FolderTree, load_cache, requirements_file
from agent.errors import AgentError, RetryLater, RuleViolation
from agent.kompliant.client import KompliantClient
from agent.kompliant.models import BatchItemResult
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.review.keeper import ReviewChange, ReviewKeeper, stored_reviews
from agent.review.state import RequirementReview, RequirementState, WorkflowReview, age_seconds


def register(sub: argparse._SubParsersAction[Any]) -> None:
    missing = sub.add_parser(
        "missing",
        help="per workflow, the required documents still waiting for a file",
        description=(
            "List, per configured workflow, the required documents with no accepted or "
            "pending fulfillment: never sent, or every file sent was rejected. INACTIVE "
            "required documents are left out; an ENDED workflow is said as ended. Asks "
            "Kompliant (and stores the answer); without credentials or network, shows the "
            "states stored by the last check, with their age."
        ),
        epilog=exitcodes.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    missing.add_argument("--json", action="store_true", help="print one JSON object")
    missing.add_argument(
        "--offline", action="store_true", help="do not ask Kompliant: show the stored states"
    )
    add_profile_option(missing)
    missing.set_defaults(func=run_missing)

    request = sub.add_parser(
        "request",
        help="ask the applicant for the outstanding documents (batchRequestDocument)",
        description=(
            "Ask Kompliant to request documents from the applicant: the workflow's "
            "outstanding required documents (missing or rejected), or those named with "
            "--requirement. Prints each one's result. Exit code 0 only when every one "
            "succeeded, 5 when some failed."
        ),
        epilog=exitcodes.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    request.add_argument("--workflow", required=True, metavar="WORKFLOW_ID", help="w_…")
    request.add_argument(
        "--requirement",
        action="append",
        metavar="REQUIRED_DOCUMENT_ID",
        help="request this required document (rd_…; repeatable); default: the outstanding ones",
    )
    request.add_argument("--json", action="store_true", help="print one JSON object")
    add_profile_option(request)
    request.set_defaults(func=run_request)


# ------------------------------------------------------------------------- missing


def run_missing(args: argparse.Namespace) -> int:
    config = config_for(args)
    if not config.workflows:
        print("No workflows are configured: add one with `kompliant-agent add-workflow`.")
        return exitcodes.OK
    problems: dict[str, str] = {}
    asked: set[str] = set()
    if args.offline:
        problems[""] = "not asked (--offline)"
    else:
        asked, problems = _ask_kompliant(config)
    reviews = stored_reviews(config)
    now = datetime.now(UTC)
    if args.json:
        print(json.dumps(_missing_data(reviews, asked, problems, now), indent=2))
        return exitcodes.OK
    if "" in problems:
        print(f"Showing the stored states: {problems['']}", file=sys.stderr)
    for review in reviews:
        for line in _missing_lines(review, review.workflow_id in asked, problems, now):
            print(line)
    return exitcodes.OK


def _ask_kompliant(config: Config) -> tuple[set[str], dict[str, str]]:
    """Check every configured workflow; (the ids checked, problems by workflow id).

    A problem under ``""`` concerns them all (no credentials, Kompliant unreachable).
    """
    try:
        credentials = resolve_credentials(config.agent.profile)
    except AgentError as error:
        return set(), {"": f"Kompliant was not asked: {error.describe()}"}
    keeper = ReviewKeeper(config.agent.profile)
    asked: set[str] = set()
    problems: dict[str, str] = {}
    changes: list[ReviewChange] = []
    # A short wait: without Kompliant the stored states answer at once instead.
    pacer = Pacer(PacerPolicy(max_attempts=2, max_elapsed=15.0))
    with KompliantClient(credentials, timeout=10.0, pacer=pacer) as client:
        for target in config.workflows:
            try:
                _, _, found = keeper.check_workflow(client, target.workflow_id)
            except AgentError as error:
                problems[target.workflow_id] = error.describe()
                if isinstance(error, RetryLater):
                    problems[""] = f"Kompliant cannot be reached now: {error.describe()}"
                    break
                continue
            asked.add(target.workflow_id)
            changes += found
    keeper.publish(_tree(config), changes)
    return asked, problems


def _tree(config: Config) -> FolderTree | None:
    try:
        return FolderTree.scan(
            config.root, config, load_cache(requirements_file(config.agent.profile))
        )
    except AgentError:
        return None  # no folders to show the states in (an unmounted root): fine here


def _age_words(seconds: float | None) -> str:
    if seconds is None:
        return "never checked"
    if seconds < 90:
        return f"checked {seconds:.0f} s ago"
    if seconds < 5400:
        return f"checked {seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f"checked {seconds / 3600:.0f} h ago"
    return f"checked {seconds / 86400:.0f} days ago"


def _checked_at(review: WorkflowReview) -> str:
    times = [r.checked_at for r in review.requirements if r.checked_at]
    return min(times) if times else ""


def _title(review: WorkflowReview) -> str:
    return f"{review.label} ({review.workflow_id})" if review.label else review.workflow_id


def _missing_lines(
    review: WorkflowReview, asked: bool, problems: dict[str, str], now: datetime
) -> list[str]:
    source = "from Kompliant" if asked else f"stored, {_age_words(_age(review, now))}"
    lines = [f"{_title(review)} [{source}]"]
    if review.workflow_id in problems:
        lines.append(f"  could not ask Kompliant: {problems[review.workflow_id]}")
    if review.ended:
        lines.append("  ENDED: the workflow takes no more documents; nothing can be sent")
        return lines
    if not review.requirements:
        lines.append("  nothing known yet: run `kompliant-agent refresh` or `missing` online")
        return lines
    outstanding = review.outstanding
    unknown = [r for r in review.requirements if r.state is RequirementState.UNKNOWN]
    for item in outstanding:
        lines.append(f"  {item.name} ({item.required_document_id}): {item.state.words}")
    for item in unknown:
        lines.append(f"  {item.name} ({item.required_document_id}): not checked yet")
    if not outstanding and not unknown:
        lines.append("  nothing missing: every required document has a file accepted or in review")
    return lines


def _age(review: WorkflowReview, now: datetime) -> float | None:
    return age_seconds(_checked_at(review), now)


def _missing_data(
    reviews: Sequence[WorkflowReview],
    asked: set[str],
    problems: dict[str, str],
    now: datetime,
) -> dict[str, Any]:
    return {
        "source": "kompliant" if asked else "stored",
        "problem": problems.get("", ""),
        "workflows": [
            {
                "workflow_id": review.workflow_id,
                "label": review.label,
                "workflow_state": review.workflow_state,
                "ended": review.ended,
                "source": "kompliant" if review.workflow_id in asked else "stored",
                "checked_at": _checked_at(review),
                "age_seconds": _age(review, now),
                "problem": problems.get(review.workflow_id, ""),
                "missing": [] if review.ended else [_item(r) for r in review.outstanding],
                "unknown": [
                    _item(r) for r in review.requirements if r.state is RequirementState.UNKNOWN
                ],
            }
            for review in reviews
        ],
    }


def _item(review: RequirementReview) -> dict[str, str]:
    return {
        "required_document_id": review.required_document_id,
        "name": review.name,
        "state": review.state.value,
    }


# ------------------------------------------------------------------------- request


def run_request(args: argparse.Namespace) -> int:
    config = config_for(args)
    workflow_id: str = args.workflow
    keeper = ReviewKeeper(config.agent.profile)
    with KompliantClient(resolve_credentials(config.agent.profile)) as client:
        if args.requirement:
            wanted = list(dict.fromkeys(args.requirement))
            names = _cached_names(config, workflow_id)
        else:
            wanted, names = _outstanding(client, keeper, config, workflow_id)
            if not wanted:
                print(
                    f"Nothing to request for {workflow_id}: every required document has a "
                    "file accepted or waiting for review."
                )
                return exitcodes.OK
        try:
            results = client.request_documents(workflow_id, wanted)
        except AgentError as error:
            return _whole_failure(args, workflow_id, error)
    return _report(args, workflow_id, results, names)


def _cached_names(config: Config, workflow_id: str) -> dict[str, str]:
    cached = load_cache(requirements_file(config.agent.profile)).get(workflow_id)
    if cached is None:
        return {}
    return {rd.required_document_id: rd.name for rd in cached.required_documents}


def _outstanding(
    client: KompliantClient, keeper: ReviewKeeper, config: Config, workflow_id: str
) -> tuple[list[str], dict[str, str]]:
    """The required documents to request, and every required document's name.

    For an ENDED workflow, the active ones: Kompliant answers for them (WORKFLOW_ENDED).
    """
    workflow, rds, changes = keeper.check_workflow(client, workflow_id)
    keeper.publish(_tree(config), changes)
    names = {rd.required_document_id: rd.name for rd in rds}
    if workflow.ended:
        return [rd.required_document_id for rd in rds if not rd.inactive], names
    return [c.after.required_document_id for c in changes if c.after.state.outstanding], names


def _whole_failure(args: argparse.Namespace, workflow_id: str, error: AgentError) -> int:
    sub_code = error.sub_code if isinstance(error, RuleViolation) else None
    if args.json:
        data: dict[str, Any] = {
            "workflow_id": workflow_id,
            "status": "ERROR",
            "code": error.code,
            "sub_code": sub_code,
            "message": error.describe(),
            "results": [],
        }
        print(json.dumps(data, indent=2))
    code = f"{error.code}/{sub_code}" if sub_code else error.code
    print(
        f"kompliant-agent: nothing was requested for {workflow_id}: "
        f"{code + ': ' if code else ''}{error.describe()}",
        file=sys.stderr,
    )
    return exitcodes.for_error(error)


def _report(
    args: argparse.Namespace,
    workflow_id: str,
    results: Sequence[BatchItemResult],
    names: dict[str, str],
) -> int:
    items = [_result_data(result, names) for result in results]
    failed = [r for r in results if not r.ok]
    if not failed:
        code = exitcodes.OK
    elif len(failed) < len(results):
        code = exitcodes.PARTIAL
    else:  # every item failed: nothing was done
        retry = any(isinstance(r.error, RetryLater) for r in failed)
        code = exitcodes.RETRY_LATER if retry else exitcodes.CANNOT_SUCCEED
    if args.json:
        print(json.dumps({"workflow_id": workflow_id, "results": items}, indent=2))
        return code
    for item in items:
        label = f"{item['required_document_id']}"
        if item["name"]:
            label += f" ({item['name']})"
        if item["status"] == "SUCCESS":
            print(f"{label}: SUCCESS")
        else:
            codes = "/".join(c for c in (item["code"], item["sub_code"]) if c)
            print(f"{label}: ERROR {codes}: {item['message']}")
    ok = len(results) - len(failed)
    print(f"{workflow_id}: {ok} of {len(results)} requested", file=sys.stderr)
    return code


def _result_data(result: BatchItemResult, names: dict[str, str]) -> dict[str, Any]:
    rd_id = str(result.request.get("required_document_id", ""))
    error = result.error
    return {
        "required_document_id": rd_id,
        "name": names.get(rd_id, ""),
        "status": "SUCCESS" if result.ok else "ERROR",
        "code": getattr(error, "code", None) if error else None,
        "sub_code": getattr(error, "sub_code", None) if error else None,
        "message": (error.message if isinstance(error, AgentError) else str(error))
        if error
        else "",
    }
