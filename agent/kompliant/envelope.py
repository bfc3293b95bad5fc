"""Reading Kompliant's answers: the ``meta`` / ``data`` / ``errors`` envelope (kompliant-api.md §3).

:func:`parse_response` turns one HTTP answer into an :class:`Envelope` or raises the
matching error of :mod:`agent.errors`. Both the HTTP status and ``meta.status`` are
checked. A body that is not the envelope — a proxy's HTML page, a gateway's 502, an empty
body — becomes :class:`~agent.errors.UnexpectedResponse` with a short, redacted excerpt.

:func:`match_batch_results` pairs a batch answer's ``results[]`` with the input items by
the echoed ``request``, never by position: the order of results is not documented (§3.2).

Nothing here performs I/O apart from logging.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from agent.errors import (
    AgentError,
    AmbiguousRequest,
    AuthError,
    BadRequest,
    CannotSucceed,
    EntityNotFound,
    RuleViolation,
    ServerError,
    Throttled,
    UnexpectedResponse,
    WorkflowEnded,
)
from agent.kompliant.models import BatchItemResult

log = logging.getLogger(__name__)

SUCCESS = "SUCCESS"
ERROR = "ERROR"
#: ``meta.status`` of a batch method's answer (batchRequestDocument's page).
BATCH_PROCESSED = "BATCH_PROCESSED"

BAD_REQUEST = "BAD_REQUEST"
ENTITY_NOT_FOUND = "ENTITY_NOT_FOUND"
SYSTEM_RULE_VIOLATION = "SYSTEM_RULE_VIOLATION"
WORKFLOW_ENDED = "WORKFLOW_ENDED"

EXCERPT_CHARS = 160

_seen_warnings: set[tuple[str, str]] = set()
_seen_lock = threading.Lock()


@dataclass(frozen=True)
class Envelope:
    """A successful answer."""

    http_status: int
    meta: Mapping[str, Any]
    data: Mapping[str, Any]
    #: A batch answer's ``results[]``; ``None`` for regular methods.
    results: tuple[Any, ...] | None = None
    trace_id: str | None = None
    warnings: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- helpers


def excerpt(text: str, redact: Iterable[str] = ()) -> str:
    """A short one-line piece of ``text`` that is safe to show and log.

    Tags and whitespace runs are collapsed, control characters dropped, any of ``redact``
    (secrets the caller knows) and anything that looks like a KSig1 signature masked: a
    debugging proxy may echo the request headers back.
    """
    for secret in redact:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = re.sub(r"KSig1-HMAC-SHA256\s+\S+", "KSig1-HMAC-SHA256 [redacted]", text)
    text = re.sub(r"(?i)(x-api-auth-token[\"':=\s]+)(?!\[redacted)\S+", r"\1[redacted]", text)
    text = re.sub(r"<[^>]*>", " ", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    return text


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            log.debug("ignoring unreadable Retry-After %r", value)
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            return None
        return max(0.0, when.timestamp() - now)
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _opt_str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _find(key: str, sources: Sequence[Mapping[str, Any]]) -> str | None:
    """The first value of ``key`` in ``sources``, also under a nested details object."""
    camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), key)
    for source in sources:
        for candidate in (source, _mapping(source.get("details")), _mapping(source.get("context"))):
            for name in (key, camel):
                found = _opt_str(candidate.get(name))
                if found:
                    return found
    return None


def _with_details(error: Mapping[str, Any]) -> str | None:
    """An error's message, with the ids its ``details`` name (the message alone may not:
    "The given entity(s) does not exist.")."""
    message = _opt_str(error.get("message"))
    details = error.get("details")
    named = []
    for detail in details if isinstance(details, list) else ():
        for key, value in _mapping(detail).items():
            text = _opt_str(value)
            if text and len(text) <= 100:
                named.append(f"{key} {text}")
    if not named:
        return message
    return f"{(message or 'Refused').rstrip('.')} ({', '.join(named)})"


def _log_warnings(meta: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    raw = meta.get("warnings")
    if not isinstance(raw, list):
        return ()
    warnings = tuple(w if isinstance(w, Mapping) else {"message": str(w)} for w in raw)
    for warning in warnings:
        key = (str(warning.get("code", "")), str(warning.get("message", "")))
        with _seen_lock:
            if key in _seen_warnings:
                continue
            _seen_warnings.add(key)
        log.warning("Kompliant warns: %s %s", key[0], key[1])
    return warnings


# --------------------------------------------------------------------------- errors


def error_from_errors(
    errors: Sequence[Any],
    *,
    http_status: int | None,
    trace_id: str | None,
    beside: Sequence[Mapping[str, Any]] = (),
) -> CannotSucceed:
    """The :class:`CannotSucceed` for an application error list (HTTP 400 or item errors).

    ``entity_type`` / ``sub_code`` are read from the error object first, then from
    ``beside`` (the envelope around it, its ``meta``): the docs do not show where they go.
    """
    items = [e if isinstance(e, Mapping) else {"message": str(e)} for e in errors] or [{}]
    codes = [_opt_str(e.get("code")) for e in items]
    messages = [m for m in (_with_details(e) for e in items) if m]
    message = "; ".join(messages) or "Kompliant refused the request without a message"
    kw: dict[str, Any] = {"http_status": http_status, "trace_id": trace_id}

    # A WORKFLOW_ENDED anywhere in the list decides: it is what the engine must show.
    for item, code in zip(items, codes, strict=True):
        if code != SYSTEM_RULE_VIOLATION:
            continue
        sources = [item, *beside]
        entity_type = _find("entity_type", sources)
        sub_code = _find("sub_code", sources)
        if (sub_code or "").upper() == WORKFLOW_ENDED and (
            entity_type is None or entity_type.upper() == "WORKFLOW"
        ):
            return WorkflowEnded(
                message, code=code, entity_type=entity_type, sub_code=sub_code, **kw
            )

    first = items[0]
    code = codes[0]
    if code == SYSTEM_RULE_VIOLATION:
        sources = [first, *beside]
        return RuleViolation(
            message,
            code=code,
            entity_type=_find("entity_type", sources),
            sub_code=_find("sub_code", sources),
            **kw,
        )
    if code == ENTITY_NOT_FOUND:
        return EntityNotFound(message, code=code, **kw)
    return BadRequest(message, code=code or BAD_REQUEST, **kw)


def _error_for_status(
    status: int,
    body: Mapping[str, Any] | None,
    response: httpx.Response,
    *,
    now: float,
    redact: Iterable[str],
) -> AgentError:
    meta = _mapping(body.get("meta")) if body is not None else {}
    trace_id = _opt_str(meta.get("trace_id"))
    errors = body.get("errors") if body is not None else None
    errors = errors if isinstance(errors, list) else []
    items = [e for e in errors if isinstance(e, Mapping)]
    code = _opt_str(items[0].get("code")) if items else None
    messages = [m for m in (_opt_str(e.get("message")) for e in items) if m]
    kw: dict[str, Any] = {"code": code, "http_status": status, "trace_id": trace_id}

    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"), now)
        text = "; ".join(messages) or "Kompliant is throttling requests"
        return Throttled(text, retry_after=wait, **kw)
    if status in (401, 403):
        what = "rejected the credentials" if status == 401 else "does not allow this request"
        text = f"Kompliant {what}"
        if messages:
            text += ": " + "; ".join(messages)
        elif body is None:
            text += f" (answer: {excerpt(response.text, redact) or 'empty'})"
        return AuthError(text, **kw)
    if body is None:
        return _unexpected(response, redact, "is not Kompliant's JSON envelope", now=now)
    if status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        text = "; ".join(messages) or f"Kompliant answered HTTP {status}"
        return ServerError(text, retry_after=retry_after, **kw)
    if status == 200 or 400 <= status < 500:
        if not items and status == 200:
            return _unexpected(response, redact, "reports an error but lists none", now=now)
        if not items:
            text = f"Kompliant refused the request with HTTP {status} and no error list"
            return BadRequest(text, **{**kw, "code": f"HTTP_{status}"})
        beside = [body, meta]
        return error_from_errors(items, http_status=status, trace_id=trace_id, beside=beside)
    return _unexpected(response, redact, f"has the unexpected HTTP status {status}", now=now)


def _unexpected(
    response: httpx.Response, redact: Iterable[str], why: str, *, now: float
) -> UnexpectedResponse:
    status = response.status_code
    text = excerpt(response.text, redact) if response.content else ""
    content_type = response.headers.get("Content-Type", "no content type")
    message = f"The answer to {response.request.url.path} (HTTP {status}, {content_type}) {why}"
    message += f": {text!r}" if text else " (empty body)"
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    return UnexpectedResponse(
        message, code=f"HTTP_{status}", http_status=status, retry_after=retry_after
    )


# --------------------------------------------------------------------------- answers


def _json_body(response: httpx.Response) -> Mapping[str, Any] | None:
    """The body as the envelope mapping, or ``None`` when it is not one."""
    if not response.content:
        return None
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, Mapping):
        return None
    if not any(key in body for key in ("meta", "data", "errors", "results")):
        return None
    return body


def parse_response(
    response: httpx.Response,
    *,
    now: Callable[[], float] = time.time,
    redact: Iterable[str] = (),
) -> Envelope:
    """The answer's envelope when it reports success; otherwise raise its error.

    ``response`` must have been read. ``now`` is wall-clock time, for HTTP-date
    ``Retry-After`` values. ``redact`` lists secrets that must not reach an excerpt.
    """
    redact = tuple(redact)
    status = response.status_code
    body = _json_body(response)
    meta = _mapping(body.get("meta")) if body is not None else {}
    meta_status = _opt_str(meta.get("status"))
    has_errors = body is not None and bool(body.get("errors"))

    if status != 200 or body is None or meta_status == ERROR or has_errors:
        raise _error_for_status(status, body, response, now=now(), redact=redact)

    if meta_status not in (SUCCESS, BATCH_PROCESSED):
        # The envelope without meta.status: accept what it carries, but say so once.
        _warn_once("meta-status", f"an answer without meta.status SUCCESS ({meta_status!r})")
    warnings = _log_warnings(meta)
    data = body.get("data")
    raw_results = body.get("results")
    if raw_results is None:
        raw_results = _mapping(data).get("results")
    results = tuple(raw_results) if isinstance(raw_results, list) else None
    if data is not None and not isinstance(data, Mapping):
        raise _unexpected(response, redact, "carries a 'data' that is not an object", now=now())
    return Envelope(
        http_status=status,
        meta=meta,
        data=data or {},
        results=results,
        trace_id=_opt_str(meta.get("trace_id")),
        warnings=warnings,
    )


def _warn_once(key: str, what: str) -> None:
    with _seen_lock:
        if (key, "") in _seen_warnings:
            return
        _seen_warnings.add((key, ""))
    log.warning("Kompliant sent %s; reading it leniently", what)


# --------------------------------------------------------------------------- batches


def _key(item: Mapping[str, Any], fields: Sequence[str]) -> tuple[str, ...] | None:
    values = []
    for name in fields:
        value = _opt_str(item.get(name))
        if value is None:
            return None
        values.append(value)
    return tuple(values)


def _item_result(
    request: Mapping[str, Any], raw: Mapping[str, Any], *, trace_id: str | None, http_status: int
) -> BatchItemResult:
    status = (_opt_str(raw.get("status")) or "").upper()
    errors = raw.get("errors")
    if status == ERROR or (isinstance(errors, list) and errors):
        error = error_from_errors(
            errors if isinstance(errors, list) else [],
            http_status=http_status,
            trace_id=trace_id,
            beside=[raw],
        )
        return BatchItemResult(
            request=request, ok=False, data=_mapping(raw.get("data")), error=error
        )
    if status != SUCCESS:
        _warn_once("batch-status", f"a batch result with the status {status or 'missing'!r}")
    return BatchItemResult(request=request, ok=True, data=_mapping(raw.get("data")))


def match_batch_results(
    items: Sequence[Mapping[str, Any]],
    envelope: Envelope,
    key_fields: Sequence[str],
    *,
    method: str = "batch",
) -> list[BatchItemResult]:
    """One :class:`BatchItemResult` per input item, in input order.

    Results are paired with items by ``key_fields`` of the echoed ``request``. An input
    item without a result gets an :class:`AmbiguousRequest` error (Kompliant may or may
    not have acted on it: check before repeating it); results that answer no input item
    are logged and dropped.
    """
    pending: dict[tuple[str, ...], deque[Mapping[str, Any]]] = {}
    for raw in envelope.results or ():
        result = _mapping(raw)
        key = _key(_mapping(result.get("request")), key_fields)
        if key is None:
            log.warning(
                "%s: a result without a readable request echo: %s", method, excerpt(str(raw))
            )
            continue
        pending.setdefault(key, deque()).append(result)

    out: list[BatchItemResult] = []
    for item in items:
        key = _key(item, key_fields)
        queue = pending.get(key) if key is not None else None
        if queue:
            out.append(
                _item_result(
                    item,
                    queue.popleft(),
                    trace_id=envelope.trace_id,
                    http_status=envelope.http_status,
                )
            )
            continue
        error = AmbiguousRequest(
            f"Kompliant's answer to {method} has no result for {dict(item)}",
            code="MISSING_RESULT",
            http_status=envelope.http_status,
            trace_id=envelope.trace_id,
            hint="Check on Kompliant whether this item was carried out before repeating it.",
        )
        out.append(BatchItemResult(request=item, ok=False, error=error))

    for key, left in pending.items():
        for result in left:
            log.warning(
                "%s: ignoring a result for an item that was not sent (%s, status %s)",
                method,
                ", ".join(key),
                result.get("status"),
            )
    return out
