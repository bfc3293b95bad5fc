"""The sandbox's HTTP routes: a Kompliant method, the presigned-POST upload, or an admin endpoint.

Each request meets its fault (if any) here, is counted in the stats, and is answered by the
``RunningSandbox`` (:mod:`agent.sandbox.server`). A route is a handler for
:mod:`agent.sandbox.loop_http`: it yields the seconds a fault holds it back and returns
its answer.
"""

from __future__ import annotations

import io
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from agent.sandbox.api import METHODS
from agent.sandbox.envelope import infrastructure_error
from agent.sandbox.fault_answers import fault_answer, fault_status
from agent.sandbox.faults import UPLOAD, FaultAction
from agent.sandbox.jsontext import json_bytes
from agent.sandbox.loop_http import (
    DROP,
    INLINE_BODY,
    JSON_HEADERS,
    Answer,
    Handler,
    Reply,
    Request,
    error_page,
)
from agent.sandbox.s3post import RequestBody, no_such_bucket

if TYPE_CHECKING:
    from agent.sandbox.server import RunningSandbox

log = logging.getLogger(__name__)

MAX_API_BODY = 1024 * 1024
#: The methods the standard library's server would answer (it had a ``do_`` for each).
VERBS = frozenset({"POST", "GET", "PUT", "DELETE", "PATCH"})
_UPLOAD_PREFIX = "/s3/"


class Routes:
    """Which handler answers a request, for one ``RunningSandbox``."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox

    def streams(self, request: Request) -> bool:
        """An upload too large to hold is read as it arrives, on a thread."""
        return (
            request.method == "POST"
            and request.target.startswith(_UPLOAD_PREFIX)
            and (request.content_length or 0) > INLINE_BODY
        )

    def route(self, request: Request) -> Handler:
        verb = request.method
        if verb not in VERBS:
            return _answered(error_page_for_method(verb))
        path = request.target.split("?", 1)[0]
        if path.startswith("/_sandbox/"):
            return self._admin(request, verb, path)
        if path.startswith(_UPLOAD_PREFIX) and verb == "POST":
            return self._upload(request, path[len(_UPLOAD_PREFIX) :].strip("/"))
        return self._api(request, verb, path.lstrip("/"))

    def _admin(self, request: Request, verb: str, path: str) -> Handler:
        if not _loopback(request.client_host):
            return _json(403, {"error": "Admin endpoints answer loopback clients only."}, {})
        status, answer = self.sandbox.admin_answer(verb, path, bytes(request.body))
        return _json(status, answer, {})
        yield 0.0  # a handler

    def _api(self, request: Request, verb: str, method: str) -> Handler:
        sandbox = self.sandbox
        body = bytes(request.body)
        stats_name = method if method in METHODS else "(unknown)"
        if len(body) > MAX_API_BODY:
            answer = infrastructure_error("REQUEST_TOO_LARGE", "The request body is too large.")
            sandbox.stats.count(stats_name, "413", None)
            return _json(413, answer, {})
        faults = sandbox.faults
        fault = faults.decide(method) if method in METHODS and verb == "POST" else None
        delay = faults.latency_s(method)
        if fault is not None and fault.action is FaultAction.HANG:
            delay += fault.seconds  # then answered as usual
            fault = None
        if delay:
            yield delay
        if fault is not None and not fault.action.after_processing:
            sandbox.stats.count(stats_name, fault_status(fault), fault)
            if fault.action is FaultAction.DROP_BEFORE_PROCESSING:
                return DROP
            return Reply(*fault_answer(fault, upload=False))
        status, answer, headers = sandbox.api_answer(verb, method, request.headers, body)
        if fault is not None:
            sandbox.stats.count(stats_name, fault_status(fault), fault)
            if fault.action is FaultAction.DROP_AFTER_PROCESSING:
                return DROP
            return Reply(*fault_answer(replace(fault, action=FaultAction.HTTP_500), upload=False))
        sandbox.stats.count(stats_name, str(status), None)
        return _json(status, answer, headers)

    def _upload(self, request: Request, bucket: str) -> Handler:
        sandbox = self.sandbox
        stream: RequestBody = request.pipe or io.BytesIO(request.body)
        length = request.content_length
        fault = sandbox.faults.decide(UPLOAD)
        delay = sandbox.faults.latency_s(UPLOAD)
        if fault is not None and fault.action is FaultAction.HANG:
            delay += fault.seconds
            fault = None
        if delay:
            yield delay
        if fault is not None and not fault.action.after_processing:
            _drain(stream)
            sandbox.stats.count(UPLOAD, fault_status(fault), fault)
            if fault.action is FaultAction.DROP_BEFORE_PROCESSING:
                return DROP
            return Reply(*fault_answer(fault, upload=True))
        if bucket != sandbox.settings.s3.bucket:
            _drain(stream)
            sandbox.stats.count(UPLOAD, "404", None)
            return Reply(*no_such_bucket(bucket))
        status, headers, data = sandbox.upload_endpoint.handle(request.headers, stream, length)
        _drain(stream)
        if fault is not None:
            sandbox.stats.count(UPLOAD, fault_status(fault), fault)
            if fault.action is FaultAction.DROP_AFTER_PROCESSING:
                return DROP
            return Reply(*fault_answer(replace(fault, action=FaultAction.HTTP_500), upload=True))
        sandbox.stats.count(UPLOAD, str(status), None)
        return Reply(status, headers, data)


def error_page_for_method(verb: str) -> Reply:
    return error_page(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({verb!r})")


def _answered(answer: Answer) -> Handler:
    return answer
    yield 0.0  # a handler


def _json(status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> Reply:
    data = json_bytes(body)
    if not headers:
        return Reply(status, JSON_HEADERS, data)
    return Reply(status, {"Content-Type": "application/json", **headers}, data)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _drain(stream: RequestBody) -> None:
    """Read what the client still sends, so it can read the answer."""
    while stream.read(1024 * 1024):
        pass
