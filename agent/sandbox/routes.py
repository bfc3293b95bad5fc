"""The sandbox's HTTP routes: a Kompliant method, the presigned-POST upload, or an admin endpoint.

Each request meets its fault (if any) here, is counted in the stats, and is answered by the
``RunningSandbox`` (:mod:`agent.sandbox.server`).
"""

from __future__ import annotations

import logging
import socket
import sys
import time
from dataclasses import replace
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from agent.sandbox.api import METHODS
from agent.sandbox.envelope import infrastructure_error
from agent.sandbox.fault_answers import fault_answer, fault_status
from agent.sandbox.faults import UPLOAD, FaultAction
from agent.sandbox.http_io import HttpIO
from agent.sandbox.s3post import no_such_bucket

if TYPE_CHECKING:
    from agent.sandbox.server import RunningSandbox

log = logging.getLogger(__name__)

MAX_API_BODY = 1024 * 1024


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: RunningSandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (killed, timed out) is one log line."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.info("client %s went away: %s", client_address, error)
            return
        super().handle_error(request, client_address)


class HttpServer6(HttpServer):
    address_family = socket.AF_INET6


class RequestHandler(HttpIO):
    protocol_version = "HTTP/1.1"
    server_version = "KompliantSandbox"
    sys_version = ""

    @property
    def sandbox(self) -> RunningSandbox:
        server = self.server
        assert isinstance(server, HttpServer)
        return server.sandbox

    def do_POST(self) -> None:
        self._route("POST")

    def do_GET(self) -> None:
        self._route("GET")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def _route(self, verb: str) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/_sandbox/"):
            self._admin(verb, path)
        elif path.startswith("/s3/") and verb == "POST":
            self._upload(path[len("/s3/") :].strip("/"))
        else:
            self._api(verb, path.lstrip("/"))

    def _admin(self, verb: str, path: str) -> None:
        stream, _ = self._body_stream()
        body = stream.read(MAX_API_BODY + 1)
        if not self._loopback():
            self._send_json(403, {"error": "Admin endpoints answer loopback clients only."}, {})
            return
        status, answer = self.sandbox.admin_answer(verb, path, body)
        self._send_json(status, answer, {})

    def _api(self, verb: str, method: str) -> None:
        sandbox = self.sandbox
        stream, _ = self._body_stream()
        body = stream.read(MAX_API_BODY + 1)
        stats_name = method if method in METHODS else "(unknown)"
        if len(body) > MAX_API_BODY:
            stream.read()  # keep the connection readable for the answer
            answer = infrastructure_error("REQUEST_TOO_LARGE", "The request body is too large.")
            self._send_json(413, answer, {})
            sandbox.stats.count(stats_name, "413", None)
            return
        fault = sandbox.faults.decide(method) if method in METHODS and verb == "POST" else None
        delay = sandbox.faults.latency_s(method)
        if fault is not None and fault.action is FaultAction.HANG:
            delay += fault.seconds  # then answered as usual
            fault = None
        if delay:
            time.sleep(delay)
        if fault is not None and not fault.action.after_processing:
            sandbox.stats.count(stats_name, fault_status(fault), fault)
            if fault.action is FaultAction.DROP_BEFORE_PROCESSING:
                self._drop()
                return
            status, headers, data = fault_answer(fault, upload=False)
            self._send(status, headers, data)
            return
        status, answer, headers = sandbox.api_answer(verb, method, self._headers(), body)
        if fault is not None:
            sandbox.stats.count(stats_name, fault_status(fault), fault)
            if fault.action is FaultAction.DROP_AFTER_PROCESSING:
                self._drop()
                return
            status, headers, data = fault_answer(
                replace(fault, action=FaultAction.HTTP_500), upload=False
            )
            self._send(status, headers, data)
            return
        sandbox.stats.count(stats_name, str(status), None)
        self._send_json(status, answer, headers)

    def _upload(self, bucket: str) -> None:
        sandbox = self.sandbox
        stream, length = self._body_stream()
        fault = sandbox.faults.decide(UPLOAD)
        delay = sandbox.faults.latency_s(UPLOAD)
        if fault is not None and fault.action is FaultAction.HANG:
            delay += fault.seconds
            fault = None
        if delay:
            time.sleep(delay)
        if fault is not None and not fault.action.after_processing:
            self._drain(stream)
            sandbox.stats.count(UPLOAD, fault_status(fault), fault)
            if fault.action is FaultAction.DROP_BEFORE_PROCESSING:
                self._drop()
                return
            self._send(*fault_answer(fault, upload=True))
            return
        if bucket != sandbox.settings.s3.bucket:
            self._drain(stream)
            sandbox.stats.count(UPLOAD, "404", None)
            self._send(*no_such_bucket(bucket))
            return
        status, headers, data = sandbox.upload_endpoint.handle(self._headers(), stream, length)
        self._drain(stream)
        if fault is not None:
            sandbox.stats.count(UPLOAD, fault_status(fault), fault)
            if fault.action is FaultAction.DROP_AFTER_PROCESSING:
                self._drop()
                return
            self._send(*fault_answer(replace(fault, action=FaultAction.HTTP_500), upload=True))
            return
        sandbox.stats.count(UPLOAD, str(status), None)
        self._send(status, headers, data)
