"""Link one uploaded document to its required documents: one ``fulfillment.batchAdd``.

``batchAdd`` has no idempotency key either (kompliant-api.md §8). What Kompliant already
recorded is learned from ``fulfillment.list``, never guessed — and never read from a
refusal's code or words, which Kompliant does not document for batchAdd items:

* a per-item refusal may mean the link exists already (left by an earlier attempt whose
  answer was lost, or by a crash after the call). Whatever its code, the requirement's
  fulfillments are listed: if our document is among them it counts as linked, with the
  fulfillment id read back; if not, the refusal stands (and is never sent again);
* an ambiguous answer (the whole call, or an item without a result) is reconciled the
  same way, and only the missing links are added again — a bounded number of times;
* what is still refused then is raised, naming the requirement, with the links that did
  succeed attached (``linked``) so nothing done is forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from agent.errors import (
    AgentError,
    AmbiguousRequest,
    AuthError,
    CannotSucceed,
    EntityNotFound,
    RetryLater,
    RuleViolation,
)
from agent.kompliant.models import BatchItemResult, Fulfillment

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3


class FulfillmentApi(Protocol):
    def add_fulfillments(
        self, workflow_id: str, links: Sequence[tuple[str, str]]
    ) -> list[BatchItemResult]: ...

    def list_fulfillments(
        self, required_document_id: str, verbose: bool = False
    ) -> list[Fulfillment]: ...


class _PartialLink(AgentError):
    """What a batchAdd left: the links made (``linked``) and the refusals (``failed``)."""

    def __init__(
        self,
        message: str,
        *,
        document_id: str,
        linked: Mapping[str, str],
        failed: Mapping[str, AgentError],
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.document_id = document_id
        self.linked = dict(linked)
        self.failed = dict(failed)


class LinkFailed(_PartialLink, CannotSucceed):
    """Some requirements refused the document; ``linked`` holds those that took it."""


class LinkIncomplete(_PartialLink, RetryLater):
    """Some links are not made yet for reasons that may pass; ``linked`` holds the rest."""


def fulfillment_id_of(data: Mapping[str, Any]) -> str | None:
    """The fulfillment id of a batchAdd success item (``data.fulfillment.fulfillment_id``)."""
    nested = data.get("fulfillment")
    if isinstance(nested, Mapping) and nested.get("fulfillment_id"):
        return str(nested["fulfillment_id"])
    value = data.get("fulfillment_id")
    return str(value) if value else None


def may_mean_linked(error: BaseException | None) -> bool:
    """Whether a per-item refusal could be "this link exists already".

    Any refusal could: Kompliant documents no code for it. Only an unknown id cannot.
    """
    return not isinstance(error, EntityNotFound)


def existing_links(
    client: FulfillmentApi, document_id: str, required_document_ids: Iterable[str]
) -> dict[str, str]:
    """The requirements already fulfilled by ``document_id``, as rd → fulfillment id.

    A requirement whose fulfillments Kompliant will not list (unknown, not ours) has
    none; retry-later errors are raised.
    """
    found: dict[str, str] = {}
    for rd in required_document_ids:
        try:
            fulfillments = client.list_fulfillments(rd)
        except AuthError:
            raise
        except CannotSucceed as error:
            log.info("the fulfillments of %s cannot be listed: %s", rd, error.message)
            continue
        for fulfillment in fulfillments:
            if fulfillment.document_id == document_id and fulfillment.fulfillment_id:
                found[rd] = fulfillment.fulfillment_id
                break
    return found


def link(
    client: FulfillmentApi,
    workflow_id: str,
    document_id: str,
    required_document_ids: Sequence[str],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
) -> dict[str, str]:
    """Fulfil every requirement with the document; return rd → fulfillment id.

    Raises :class:`LinkFailed` (cannot succeed) or :class:`LinkIncomplete` (retry later),
    both carrying the links that were made; whole-request refusals such as an ended
    workflow are raised as the client raised them.
    """
    wanted = list(dict.fromkeys(required_document_ids))
    linked: dict[str, str] = {}
    failed: dict[str, AgentError] = {}
    pending = list(wanted)
    for _ in range(max(attempts, 1)):
        if not pending:
            break
        try:
            results = client.add_fulfillments(workflow_id, [(document_id, rd) for rd in pending])
        except AmbiguousRequest as error:
            log.warning("fulfillment.batchAdd may or may not have happened: %s", error.message)
            linked.update(existing_links(client, document_id, pending))
            pending = [rd for rd in pending if rd not in linked]
            for rd in pending:
                failed[rd] = error
            continue
        unsure: list[str] = []  # no usable answer: the link may or may not exist
        refused: list[str] = []  # refused, perhaps because the link exists already
        for rd, result in zip(pending, results, strict=True):
            failed.pop(rd, None)
            fulfillment_id = fulfillment_id_of(result.data) if result.ok else None
            if fulfillment_id:
                linked[rd] = fulfillment_id
                continue
            if not result.ok:
                failed[rd] = _as_agent_error(result.error)
            if result.ok or isinstance(result.error, AmbiguousRequest):
                unsure.append(rd)
            elif may_mean_linked(result.error):
                refused.append(rd)
        if not unsure and not refused:
            break
        linked.update(existing_links(client, document_id, unsure + refused))
        for rd in unsure + refused:
            if rd in linked:
                failed.pop(rd, None)
        # Requirements Kompliant answered ambiguously and has no link for: add again.
        # A refusal is never sent again: it stands unless the link turned out to exist.
        pending = [rd for rd in unsure if rd not in linked]
    for rd in wanted:
        if rd not in linked and rd not in failed:
            failed[rd] = AmbiguousRequest(f"Kompliant gave no usable answer for {rd}")
    if failed:
        raise _failure(document_id, linked, failed)
    return {rd: linked[rd] for rd in wanted}


def _as_agent_error(error: BaseException | None) -> AgentError:
    if isinstance(error, AgentError):
        return error
    return CannotSucceed(f"Kompliant refused the link: {error}")


def _failure(
    document_id: str, linked: Mapping[str, str], failed: Mapping[str, AgentError]
) -> AgentError:
    parts = [
        f"{rd}: {error.message.rstrip('.')}"
        + (f" ({error.sub_code})" if isinstance(error, RuleViolation) and error.sub_code else "")
        for rd, error in failed.items()
    ]
    message = f"Document {document_id} could not be linked to " + "; ".join(parts)
    if linked:
        message += ". It is linked to " + ", ".join(f"{rd} ({f})" for rd, f in linked.items())
    first = next(iter(failed.values()))
    kw: dict[str, Any] = {
        "document_id": document_id,
        "linked": linked,
        "failed": failed,
        "code": first.code,
        "http_status": first.http_status,
        "trace_id": first.trace_id,
    }
    if all(isinstance(error, RetryLater) for error in failed.values()):
        return LinkIncomplete(message, hint="The agent tries the missing links again later.", **kw)
    return LinkFailed(message, hint=first.hint, **kw)
