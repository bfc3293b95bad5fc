"""Kompliant's answer envelope as the sandbox writes it: ``meta`` and the payload.

A success carries ``data`` (``results`` for batch methods); a refusal carries ``errors``.
"""

from __future__ import annotations

from typing import Any

from agent.sandbox.call import Reply
from agent.sandbox.state import new_id


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
    meta: dict[str, Any] = {"status": "SUCCESS" if errors is None else "ERROR"}
    if trace:
        meta["trace_id"] = trace
    if version:
        meta["version"] = version
    body: dict[str, Any] = {"meta": meta}
    if errors is not None:
        body["errors"] = errors
    elif reply is not None and reply.results is not None:
        body["results"] = reply.results
    else:
        body["data"] = reply.data if reply is not None else {}
    return body


def infrastructure_error(code: str, message: str) -> dict[str, Any]:
    """An answer from in front of the application: no trace id, no version."""
    return envelope(errors=[{"code": code, "message": message}])
