"""A lean load generator for the sandbox: the agent's four calls for one small file, over
many keep-alive connections from one asyncio loop, so that requests queue at the sandbox.

Used by ``bench/sandbox_rate.py --saturate``; it runs as its own process, pinned to a CPU
the sandbox is not on. The requests are the agent's, built once by its own code and then
filled in by hand per request, which costs a fraction of what httpx costs for the same:

- the Kompliant calls carry the head an :class:`httpx.Client` from
  :func:`agent.kompliant.transport.make_http_client` sends, signed by the agent's
  :class:`~agent.kompliant.auth.KSig1Auth` (the signature is over the API key alone, so
  it is the same on every request), with the bodies the agent's
  :class:`~agent.kompliant.client.KompliantClient` sends, JSON-encoded as httpx encodes
  them;
- the upload is the multipart form :class:`agent.upload.presigned.FormBody` builds from
  the form ``document.create`` returned, fields in :func:`~agent.upload.presigned.form_fields`
  order, the file part last, with its ``Content-Length``.

Every answer is checked as the agent checks it: the HTTP status, ``meta.status``, the
created document's id and form (read by the agent's
:meth:`~agent.kompliant.models.CreatedDocument.from_api`), the status the form asks the
upload to answer, the document COMPLETED after its upload
(:meth:`~agent.kompliant.models.Document.from_api`), and batchAdd's one result
``SUCCESS``. The first failure stops the run and is reported.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
from _common import DEMO_SUBJECT, DEMO_WORKFLOW, REQUIREMENTS, pdf_bytes

CREATE = "document.create"
GET = "document.get"
BATCH_ADD = "workflow.requiredDocument.fulfillment.batchAdd"


def _json_body(params: Mapping[str, Any]) -> bytes:
    """The body httpx sends for ``json=params`` (``httpx._content.encode_json``)."""
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class Requests:
    """The agent's requests for one sandbox, built once by its code and filled in per file."""

    def __init__(self, env: Mapping[str, str]) -> None:
        import httpx

        from agent.kompliant.auth import Credentials
        from agent.kompliant.transport import make_http_client

        credentials = Credentials(
            env["KOMPLIANT_API_URL"],
            env["KOMPLIANT_API_KEY"],
            env["KOMPLIANT_SECRET_KEY"],
            env["KOMPLIANT_AUTH_TOKEN"],
        )
        auth = credentials.auth()
        self._heads: dict[str, tuple[bytes, bytes]] = {}
        with make_http_client(credentials.api_url, timeout=30.0) as client:
            for method in (CREATE, GET, BATCH_ADD):
                request = next(auth.auth_flow(client.build_request("POST", method, json={})))
                self._heads[method] = _split_head(request)
        with httpx.Client() as plain:  # the upload: no Kompliant header, httpx's defaults
            self._upload_client_headers = plain.build_request("POST", "http://127.0.0.1/").headers
        parts = urlsplit(credentials.api_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    def api(self, method: str, params: Mapping[str, Any]) -> bytes:
        before, after = self._heads[method]
        body = _json_body(params)
        return b"%s%d%s%s" % (before, len(body), after, body)

    def upload(self, upload_url: str, form: Any, name: str, content: bytes) -> bytes:
        from agent.upload.presigned import FormBody, form_fields

        body = FormBody(
            form_fields(form),
            io.BytesIO(content),
            file_name=name,
            content_type=form.content_type,
            size=len(content),
        )
        data = b"".join(body)
        target = urlsplit(upload_url)
        lines = [b"POST %s HTTP/1.1" % (target.path or "/").encode()]
        lines.append(b"Host: %s" % target.netloc.encode())
        for key, value in self._upload_client_headers.raw:
            if key.lower() not in (b"host", b"content-length", b"content-type"):
                lines.append(b"%s: %s" % (key, value))
        lines.append(b"Content-Type: %s" % body.content_type.encode())
        lines.append(b"Content-Length: %d" % len(data))
        return b"\r\n".join(lines) + b"\r\n\r\n" + data


def _split_head(request: Any) -> tuple[bytes, bytes]:
    """The request's head cut where its Content-Length value goes."""
    lines = [b"POST %s HTTP/1.1" % request.url.raw_path]
    for key, value in request.headers.raw:
        lines.append(b"%s: %s" % (key, b"\0" if key.lower() == b"content-length" else value))
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    before, _, after = head.partition(b"\0")
    return before, after


class _Connection(asyncio.Protocol):
    """One keep-alive connection: a request at a time, its answer read by Content-Length."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("the sandbox closed the connection")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self.lost)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._waiter is None:
            return
        head = bytes(self._buffer[:end]).lower()
        marker = head.find(b"\r\ncontent-length:")
        if marker < 0:
            self._waiter.set_exception(RuntimeError(f"an answer without a length: {head!r}"))
            return
        stop = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : stop if stop >= 0 else len(head)])
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        status = int(head[9:12])
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        waiter, self._waiter = self._waiter, None
        waiter.set_result((status, body))

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.lost is not None:
            raise self.lost
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._waiter


def _envelope(status: int, body: bytes, method: str, meta: str = "SUCCESS") -> dict[str, Any]:
    if status != 200:
        raise RuntimeError(f"{method}: HTTP {status} {body[:200]!r}")
    answer: dict[str, Any] = orjson.loads(body)
    if answer.get("meta", {}).get("status") != meta:
        raise RuntimeError(f"{method}: meta.status is not {meta}: {body[:200]!r}")
    return answer


async def _one_file(requests: Requests, connection: _Connection, name: str, rd: str) -> None:
    from agent.kompliant.models import CreatedDocument, Document
    from agent.upload.presigned import expected_status

    content = pdf_bytes(name)
    params = {
        "subject_record_id": DEMO_SUBJECT,
        "file_name": name,
        "file_size_in_bytes": len(content),
    }
    status, body = await connection.exchange(requests.api(CREATE, params))
    raw = _envelope(status, body, CREATE)["data"].get("document")
    created = CreatedDocument.from_api(raw) if isinstance(raw, Mapping) else None
    if created is None or not created.document_id or not created.form.upload_url:
        raise RuntimeError(f"{CREATE}: no document id or upload URL: {body[:200]!r}")
    form = created.form
    upload = requests.upload(form.upload_url, form, name, content)
    status, body = await connection.exchange(upload)
    if status != expected_status(form):
        raise RuntimeError(f"upload: HTTP {status} {body[:200]!r}")
    document_id = created.document_id
    status, body = await connection.exchange(requests.api(GET, {"document_id": document_id}))
    document = Document.from_api(_envelope(status, body, GET)["data"]["document"])
    if not document.completed:
        raise RuntimeError(f"{document_id} is not COMPLETED after its upload")
    items = [{"document_id": document_id, "required_document_id": rd}]
    params2 = {"workflow_id": DEMO_WORKFLOW, "fulfillments": items}
    status, body = await connection.exchange(requests.api(BATCH_ADD, params2))
    answer = _envelope(status, body, BATCH_ADD, meta="BATCH_PROCESSED")
    results = answer.get("results") or []
    if len(results) != 1 or results[0].get("status") != "SUCCESS":
        raise RuntimeError(f"batchAdd refused: {body[:300]!r}")


async def _run(env: Mapping[str, str], connections: int, until: float, tag: str) -> dict[str, Any]:
    requests = Requests(env)
    loop = asyncio.get_running_loop()
    rds = list(REQUIREMENTS.values())
    done = [0] * connections
    errors: list[str] = []

    async def work(slot: int) -> None:
        _, connection = await loop.create_connection(_Connection, requests.host, requests.port)
        index = 0
        try:
            while time.time() < until and not errors:
                name = f"load-{tag}-{slot}-{index}.pdf"
                await _one_file(requests, connection, name, rds[index % len(rds)])
                done[slot] += 1
                index += 1
        except Exception as error:  # reported to the parent, which fails the run
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            if connection.transport is not None:
                connection.transport.close()

    await asyncio.gather(*(work(slot) for slot in range(connections)))
    return {"files": sum(done), "errors": errors[:5]}


def run_load(
    env: Mapping[str, str], connections: int, until: float, tag: str, cpu: int | None
) -> dict[str, Any]:
    """``connections`` connections doing the agent's calls for one file after another until
    ``until`` (wall-clock time), on CPU ``cpu`` when given; files finished and errors met."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_run(env, connections, until, tag))
    return uvloop.run(_run(env, connections, until, tag))
