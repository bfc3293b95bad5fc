"""Kompliant's answer envelope as the sandbox writes it: ``meta`` and the payload.

A success carries ``data``; a refusal carries ``errors``. A batch method's answer is in
the batch processing format (batchRequestDocument's page): ``meta.status``
``BATCH_PROCESSED`` with ``total_requests``, ``success_count`` and ``failure_count``, and
``results[]`` — with ``data`` beside them when the method has more to say (batchAdd's
created fulfillments, as the upload guide shows them).
"""

from __future__ import annotations

from typing import Any

from agent.sandbox.call import Reply
from agent.sandbox.state import new_id

BATCH_PROCESSED = "BATCH_PROCESSED"


def trace_id() -> str:
    return new_id("trc")


def envelope(
    *,
    reply: Reply | None = None,
    errors: list[dict[str, Any]] | None = None,
    trace: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Kompliant's envelope; infrastructure answers pass no trace id or version."""
    batch = errors is None and reply is not None and reply.results is not None
    status = "ERROR" if errors is not None else BATCH_PROCESSED if batch else "SUCCESS"
    meta: dict[str, Any] = {"status": status}
    if trace:
        meta["trace_id"] = trace
    if version:
        meta["version"] = version
    body: dict[str, Any] = {"meta": meta}
    if errors is not None:
        body["errors"] = errors
    elif reply is not None and reply.results is not None:
        failed = sum(1 for r in reply.results if r.get("status") != "SUCCESS")
        meta["total_requests"] = len(reply.results)
        meta["success_count"] = len(reply.results) - failed
        meta["failure_count"] = failed
        if reply.data:
            body["data"] = reply.data
        body["results"] = reply.results
    else:
        body["data"] = reply.data if reply is not None else {}
    return body


def infrastructure_error(code: str, message: str) -> dict[str, Any]:
    """An answer from in front of the application: no trace id, no version."""
    return envelope(errors=[{"code": code, "message": message}])
