"""Typed methods for the Kompliant Web API (contract in docs/architecture.md).

Every method POSTs JSON to ``<api_url>/<method>``, signed by :class:`KSig1Auth`, and reads
the answer with :mod:`agent.kompliant.envelope`.

Retries. Idempotent calls (reads, deletes, ``meta.checkVersion``, the reviewer's update)
go through the :class:`Pacer` on any :class:`RetryLater`. Calls that create something —
``document.create``, ``fulfillment.batchAdd``, ``batchRequestDocument`` (which notifies
people) — have no idempotency key (kompliant-api.md §8), so a repeat after a lost answer
would make a second document or a duplicate fulfillment. They are retried only when the
request certainly did not reach Kompliant: the connection could not be opened, or the
answer was 429 or 503. Whenever it may have reached Kompliant — a read timeout, a
connection dropped after sending, 500, 502, 504, an unreadable answer — the client raises
:class:`AmbiguousRequest` at once and the caller reconciles (``agent/upload/`` looks for
the document with ``document.list`` before creating another).
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from agent.errors import (
    AgentError,
    AmbiguousRequest,
    CannotSucceed,
    NetworkError,
    RetryLater,
    Throttled,
    UnexpectedResponse,
)
from agent.kompliant.auth import Credentials, signature
from agent.kompliant.envelope import Envelope, match_batch_results, parse_response
from agent.kompliant.models import (
    BatchItemResult,
    CreatedDocument,
    Document,
    Fulfillment,
    RequiredDocument,
    VersionInfo,
    Workflow,
)
from agent.kompliant.pacer import Pacer
from agent.kompliant.transport import make_http_client

log = logging.getLogger(__name__)

# Failures that happen before a single byte of the request is sent.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
# HTTP statuses that say the request was not carried out: throttled, service unavailable.
_NOT_CARRIED_OUT = frozenset({429, 503})

_AMBIGUOUS_HINT = (
    "Kompliant may have carried the request out; the agent checks what Kompliant "
    "recorded before trying again."
)


class KompliantClient:
    """Synchronous and thread-safe: one :class:`httpx.Client` and one :class:`Pacer`."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._auth = credentials.auth()
        self._http = make_http_client(credentials.api_url, timeout=timeout, transport=transport)
        self._pacer = pacer or Pacer()
        self._redact = (
            credentials.secret_key,
            credentials.auth_token,
            signature(credentials.api_key, credentials.secret_key),
        )

    def __enter__(self) -> KompliantClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ plumbing

    def _call(self, method: str, params: Mapping[str, Any], *, idempotent: bool) -> Envelope:
        try:
            return self._pacer.call(lambda: self._send(method, params, idempotent), what=method)
        except AgentError as err:
            if err.method is None:
                err.method = method  # which call failed, for a status that says so
            raise

    def _send(self, method: str, params: Mapping[str, Any], idempotent: bool) -> Envelope:
        started = time.monotonic()
        try:
            response = self._http.post(method, json=dict(params), auth=self._auth)
        except _NOT_SENT as err:
            raise _network_error(method, err) from None
        except httpx.TransportError as err:
            # Timeouts and drops after the request went out (ReadTimeout, WriteError,
            # RemoteProtocolError …): Kompliant may have received it.
            if idempotent:
                raise _network_error(method, err) from None
            raise AmbiguousRequest(
                f"The connection to Kompliant failed during {method} "
                f"({type(err).__name__}: {_reason(err)})",
                code="NO_ANSWER",
                hint=_AMBIGUOUS_HINT,
            ) from None
        trace_id: str | None = None
        try:
            envelope = parse_response(response, redact=self._redact)
            trace_id = envelope.trace_id
            return envelope
        except RetryLater as err:
            trace_id = err.trace_id
            if idempotent or _certainly_not_carried_out(err):
                raise
            raise AmbiguousRequest(
                f"Kompliant's answer to {method} leaves open whether it was carried out: "
                f"{err.message}",
                code=err.code,
                http_status=err.http_status,
                trace_id=err.trace_id,
                hint=_AMBIGUOUS_HINT,
            ) from err
        except AgentError as err:
            trace_id = err.trace_id
            raise
        finally:
            log.debug(
                "POST %s -> HTTP %d trace_id=%s %.0f ms",
                method,
                response.status_code,
                trace_id,
                (time.monotonic() - started) * 1000,
            )

    def _item(self, envelope: Envelope, key: str, method: str) -> Mapping[str, Any]:
        value = envelope.data.get(key)
        if not isinstance(value, Mapping):
            raise UnexpectedResponse(
                f"Kompliant's answer to {method} has no '{key}' object",
                code="MISSING_FIELD",
                http_status=envelope.http_status,
                trace_id=envelope.trace_id,
            )
        return value

    def _items(self, envelope: Envelope, key: str, method: str) -> list[Mapping[str, Any]]:
        value = envelope.data.get(key, [])
        if not isinstance(value, list):
            raise UnexpectedResponse(
                f"Kompliant's answer to {method} has a '{key}' that is not a list",
                code="MISSING_FIELD",
                http_status=envelope.http_status,
                trace_id=envelope.trace_id,
            )
        return [item for item in value if isinstance(item, Mapping)]

    # ------------------------------------------------------------------ methods

    def check_version(self) -> VersionInfo:
        envelope = self._call("meta.checkVersion", {}, idempotent=True)
        return VersionInfo.from_api(envelope.data)

    def create_document(
        self, subject_record_id: str, file_name: str, file_size: int
    ) -> CreatedDocument:
        method = "document.create"
        params = {
            "subject_record_id": subject_record_id,
            "file_name": file_name,
            "file_size_in_bytes": file_size,
        }
        envelope = self._call(method, params, idempotent=False)
        raw = envelope.data.get("document")
        created = CreatedDocument.from_api(raw) if isinstance(raw, Mapping) else None
        if created is None or not created.document_id or not created.form.upload_url:
            # A document was probably made, but we cannot tell which: reconcile.
            raise AmbiguousRequest(
                f"Kompliant's answer to {method} lacks the document id or upload URL",
                code="MISSING_FIELD",
                http_status=envelope.http_status,
                trace_id=envelope.trace_id,
                hint=_AMBIGUOUS_HINT,
            )
        return created

    def get_document(self, document_id: str) -> Document:
        method = "document.get"
        envelope = self._call(method, {"document_id": document_id}, idempotent=True)
        return Document.from_api(self._item(envelope, "document", method))

    def list_documents(self, subject_record_id: str) -> list[Document]:
        method = "document.list"
        envelope = self._call(method, {"subject_record_id": subject_record_id}, idempotent=True)
        return [Document.from_api(raw) for raw in self._items(envelope, "documents", method)]

    def delete_document(self, document_id: str) -> None:
        # Idempotent on Kompliant's side: deleting a deleted document succeeds (§5.7).
        self._call("document.delete", {"document_id": document_id}, idempotent=True)

    def get_workflow(self, workflow_id: str) -> Workflow:
        method = "workflow.get"
        envelope = self._call(method, {"workflow_id": workflow_id}, idempotent=True)
        return Workflow.from_api(self._item(envelope, "workflow", method))

    def list_workflows(self, subject_record_id: str) -> list[Workflow]:
        method = "workflow.list"
        envelope = self._call(method, {"subject_record_id": subject_record_id}, idempotent=True)
        return [Workflow.from_api(raw) for raw in self._items(envelope, "workflows", method)]

    def list_required_documents(
        self, workflow_id: str, status: str | None = None
    ) -> list[RequiredDocument]:
        method = "workflow.requiredDocument.list"
        params: dict[str, Any] = {"workflow_id": workflow_id}
        if status is not None:
            params["filters"] = {"required_document_status": status}
        envelope = self._call(method, params, idempotent=True)
        raws = self._items(envelope, "required_documents", method)
        return [RequiredDocument.from_api(raw) for raw in raws]

    def request_documents(
        self, workflow_id: str, required_document_ids: Sequence[str]
    ) -> list[BatchItemResult]:
        method = "workflow.requiredDocument.batchRequestDocument"
        items = [{"required_document_id": rd} for rd in required_document_ids]
        params = {"workflow_id": workflow_id, "required_documents": items}
        envelope = self._call(method, params, idempotent=False)
        return match_batch_results(items, envelope, ("required_document_id",), method=method)

    def add_fulfillments(
        self, workflow_id: str, links: Sequence[tuple[str, str]]
    ) -> list[BatchItemResult]:
        """Link documents to required documents: ``links`` is ``(document_id, rd_id)`` pairs."""
        method = "workflow.requiredDocument.fulfillment.batchAdd"
        items = [{"document_id": d, "required_document_id": rd} for d, rd in links]
        params = {"workflow_id": workflow_id, "fulfillments": items}
        envelope = self._call(method, params, idempotent=False)
        keys = ("document_id", "required_document_id")
        results = match_batch_results(items, envelope, keys, method=method)
        return with_created_fulfillments(results, envelope)

    def list_fulfillments(
        self, required_document_id: str, verbose: bool = False
    ) -> list[Fulfillment]:
        method = "workflow.requiredDocument.fulfillment.list"
        params = {"required_document_id": required_document_id, "verbose": verbose}
        envelope = self._call(method, params, idempotent=True)
        raws = self._items(envelope, "fulfillments", method)
        return [Fulfillment.from_api(raw, required_document_id) for raw in raws]

    def update_fulfillment(self, fulfillment_id: str, decision_status: str) -> None:
        # Setting the same decision twice leaves the same state: safe to repeat.
        params = {"fulfillment_id": fulfillment_id, "decision_status": decision_status}
        self._call("workflow.requiredDocument.fulfillment.update", params, idempotent=True)


# ---------------------------------------------------------------------- helpers


def with_created_fulfillments(
    results: Sequence[BatchItemResult], envelope: Envelope
) -> list[BatchItemResult]:
    """Complete batchAdd results with the answer's ``data.fulfillments`` (the upload guide
    shows the created fulfillments there): an item without its fulfillment id, or without
    a result at all, takes the fulfillment created for its document and requirement."""
    raw = envelope.data.get("fulfillments")
    created: dict[tuple[str, str], Mapping[str, Any]] = {}
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, Mapping) and item.get("fulfillment_id"):
            key = (str(item.get("document_id", "")), str(item.get("required_document_id", "")))
            created.setdefault(key, item)
    out = []
    for result in results:
        key = (
            str(result.request.get("document_id", "")),
            str(result.request.get("required_document_id", "")),
        )
        found = created.get(key)
        unanswered = isinstance(result.error, AmbiguousRequest)
        if found is not None and result.fulfillment_id is None and (result.ok or unanswered):
            result = BatchItemResult(request=result.request, ok=True, data={"fulfillment": found})
        out.append(result)
    return out


def _certainly_not_carried_out(err: AgentError) -> bool:
    return isinstance(err, Throttled) or err.http_status in _NOT_CARRIED_OUT


def _reason(err: Exception) -> str:
    return str(err) or "no details"


def _network_error(method: str, err: httpx.TransportError) -> AgentError:
    if isinstance(err, httpx.UnsupportedProtocol):
        return CannotSucceed(
            f"The Kompliant API URL cannot be used for {method}: {_reason(err)}",
            code="INVALID_API_URL",
            hint="Check the API URL (run `kompliant-agent login`).",
        )
    cause = err.__cause__ or err.__context__
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(err):
        return NetworkError(
            f"The TLS certificate of the Kompliant API could not be verified ({_reason(err)})",
            code="TLS_VERIFY_FAILED",
            hint=(
                "If a company proxy inspects HTTPS, point SSL_CERT_FILE at its CA "
                "certificate; the agent retries by itself."
            ),
        )
    kind = "timed out" if isinstance(err, httpx.TimeoutException) else "failed"
    return NetworkError(
        f"The connection to Kompliant {kind} during {method} "
        f"({type(err).__name__}: {_reason(err)})",
        code="NETWORK",
    )
