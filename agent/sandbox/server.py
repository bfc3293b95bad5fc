"""The sandbox over HTTP: routing, the envelope, faults, and the running server.

Routes (docs/sandbox.md has the details):

- ``POST /<method>``: a Kompliant method, signed with KSig1;
- ``POST /s3/<bucket>``: the presigned-POST upload endpoint (no Kompliant auth);
- ``/_sandbox/...``: unsigned admin endpoints, answered only to loopback clients.

A stdlib ``ThreadingHTTPServer`` serves each connection on a daemon thread; the state has
one lock, so requests are carried out one at a time while their I/O overlaps.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.kompliant.auth import Credentials
from agent.sandbox.api import (
    KNOWN_VERSIONS,
    LATEST_VERSION,
    METHODS,
    ApiConfig,
    ApiError,
    Call,
    Reply,
    dispatch,
    record_upload,
)
from agent.sandbox.external_s3 import ExternalS3
from agent.sandbox.faults import (
    UPLOAD,
    Fault,
    FaultAction,
    FaultPlan,
    FaultSettings,
    FaultSettingsError,
    Stats,
    script_from_json,
    settings_from_json,
)
from agent.sandbox.s3post import (
    FormSpec,
    S3Rejection,
    S3Settings,
    StoredObject,
    UploadEndpoint,
    error_response,
    no_such_bucket,
    presign,
)
from agent.sandbox.state import (
    BASE62,
    OBJECTS_DIR,
    AdminError,
    Document,
    SandboxState,
    StateStore,
    apply_admin,
)
from agent.sandbox.verify import AuthFailure, authenticate

log = logging.getLogger(__name__)

DEMO_FIXTURE = Path(__file__).with_name("fixtures") / "demo.json"
MAX_API_BODY = 1024 * 1024


@dataclass(frozen=True)
class SandboxSettings:
    form_lifetime: float = 300.0
    #: Replaces the fixture's list for this run: extension → content type.
    allowed_extensions: Mapping[str, str] | None = None
    hash_encoding: str = "hex"  # or "base64"
    #: Seconds between the upload and upload_status COMPLETED.
    completion_delay: float = 0.0
    max_file_size: int = 5 * 1024**3
    faults: FaultSettings = field(default_factory=FaultSettings)
    s3: S3Settings = field(default_factory=S3Settings)
    #: A real S3-compatible store to presign for, instead of the built-in upload endpoint.
    external_store: ExternalS3 | None = None
    clock: Callable[[], float] = time.time


def trace_id() -> str:
    return "trc_" + "".join(secrets.choice(BASE62) for _ in range(22))


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


def _infrastructure(code: str, message: str) -> dict[str, Any]:
    return envelope(errors=[{"code": code, "message": message}])


class _LimitedReader(io.RawIOBase):
    """At most ``remaining`` bytes of the request body (Content-Length)."""

    def __init__(self, source: io.BufferedIOBase, remaining: int) -> None:
        self._source = source
        self.remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        view = memoryview(buffer)[: self.remaining]
        count = self._source.readinto(view)
        if not count:
            self.remaining = 0
            return 0
        self.remaining -= count
        return count


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: RunningSandbox


class _Server6(_Server):
    address_family = socket.AF_INET6


class RunningSandbox:
    """A sandbox serving on a background thread until ``stop()``."""

    def __init__(
        self, data_dir: Path, store: StateStore, settings: SandboxSettings, host: str, port: int
    ) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.store = store
        self.faults = FaultPlan(settings.faults)
        self.stats = Stats()
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler)
        self._server.sandbox = self
        bound_host, bound_port = self._server.server_address[:2]
        text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        shown = f"[{text}]" if ":" in text else text
        self.base_url = f"http://{shown}:{bound_port}"
        self.upload_url = f"{self.base_url}/s3/{settings.s3.bucket}"
        self.api_config = ApiConfig(
            presign=self._presign,
            form_lifetime=settings.form_lifetime,
            hash_encoding=settings.hash_encoding,
            completion_delay=settings.completion_delay,
            max_file_size=settings.max_file_size,
            probe=self._probe if settings.external_store is not None else None,
            allowed_extensions=(
                {k.lower().lstrip("."): v for k, v in settings.allowed_extensions.items()}
                if settings.allowed_extensions is not None
                else None
            ),
        )
        self.upload_endpoint = UploadEndpoint(
            data_dir / OBJECTS_DIR, settings.s3, clock=settings.clock, on_stored=self._on_stored
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how quickly stop() is noticed
            name="sandbox-http",
            daemon=True,
        )

    @property
    def state(self) -> SandboxState:
        return self.store.state

    def start(self) -> RunningSandbox:
        self.store.start()
        self._thread.start()
        log.info("Sandbox listening on %s (data in %s)", self.base_url, self.data_dir)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self.store.stop()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def demo_credentials(self) -> Credentials | None:
        """The fixture's public test credentials, pointed at this sandbox."""
        with self.state.lock:
            keys = self.state.public_keys()
        if not keys:
            return None
        key = keys[0]
        return Credentials(self.base_url, key.api_key, key.secret_key, key.auth_token)

    def configure(self, **changes: Any) -> None:
        """Change API settings at run time (form_lifetime, completion_delay, hash_encoding)."""
        self.api_config = replace(self.api_config, **changes)

    def _presign(
        self, key: str, content_type: str, size: int, document_id: str, expires_at: float
    ) -> tuple[str, list[tuple[str, str]]]:
        spec = FormSpec(key, content_type, size, document_id, expires_at)
        now = self.settings.clock()
        if self.settings.external_store is not None:
            return self.settings.external_store.presign(spec, now=now)
        fields = presign(spec, upload_url=self.upload_url, settings=self.settings.s3, now=now)
        return self.upload_url, fields

    def _probe(self, document: Document) -> tuple[int, str] | None:
        """Whether the external store holds the document's object yet (size, SHA-256)."""
        store = self.settings.external_store
        assert store is not None
        try:
            stored = store.stored(document.key)
        except AgentError as error:
            log.warning("Could not look at the store for %s: %s", document.key, error)
            return None
        return None if stored is None else (stored.size, stored.sha256_hex)

    def _on_stored(self, stored: StoredObject) -> None:
        document_id = stored.document_id
        if document_id is None:
            with self.state.lock:
                document_id = next(
                    (d.document_id for d in self.state.documents.values() if d.key == stored.key),
                    None,
                )
        try:
            relative: str | None = str(stored.path.relative_to(self.data_dir))
        except ValueError:
            relative = str(stored.path)
        if document_id is None or not record_upload(
            self.state,
            document_id,
            size=stored.size,
            sha256_hex=stored.sha256_hex,
            object_path=relative,
            now=self.settings.clock(),
            completion_delay=self.api_config.completion_delay,
        ):
            log.warning("Stored object %s belongs to no known document", stored.key)

    # -- the three kinds of request -------------------------------------------------------

    def api_answer(
        self, verb: str, method: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, JSON body and extra headers for a Kompliant method call.

        ``headers`` has lower-case names.
        """
        if verb != "POST":
            trace = trace_id()
            error = ApiError("BAD_REQUEST", f"{verb} is not supported; call methods with POST.")
            return 400, envelope(errors=[error.to_json()], trace=trace), {}
        if method not in METHODS:
            error = ApiError("BAD_REQUEST", f"Unknown method {method!r}.")
            return 400, envelope(errors=[error.to_json()], trace=trace_id()), {}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return (
                415,
                _infrastructure(
                    "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json."
                ),
                {},
            )
        trace = trace_id()
        version = headers.get("x-api-version", "").strip() or LATEST_VERSION
        if version not in KNOWN_VERSIONS:
            known = ", ".join(sorted(KNOWN_VERSIONS))
            error = ApiError("BAD_REQUEST", f"Unknown API version {version!r}; known: {known}.")
            return 400, envelope(errors=[error.to_json()], trace=trace, version=LATEST_VERSION), {}
        with self.state.lock:
            caller = authenticate(headers, self.state.api_keys, method)
        if isinstance(caller, AuthFailure):
            errors = [{"code": caller.code, "message": caller.message}]
            return caller.http_status, envelope(errors=errors, trace=trace, version=version), {}
        try:
            params = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            params = None
        if not isinstance(params, dict):
            error = ApiError("BAD_REQUEST", "The request body must be a JSON object.")
            return 400, envelope(errors=[error.to_json()], trace=trace, version=version), {}
        call = Call(self.state, self.api_config, caller, self.settings.clock(), version)
        try:
            reply = dispatch(call, method, params)
        except ApiError as error:
            return 400, envelope(errors=[error.to_json()], trace=trace, version=version), {}
        return 200, envelope(reply=reply, trace=trace, version=version), {}

    def admin_answer(self, verb: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """The unsigned admin endpoints (docs/sandbox.md, "Admin endpoints")."""
        try:
            raw = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            return 400, {"error": "The body must be JSON."}
        if not isinstance(raw, dict):
            return 400, {"error": "The body must be a JSON object."}
        route = (verb, path.rstrip("/"))
        try:
            if route == ("POST", "/_sandbox/faults"):
                self._set_faults(raw)
                return 200, self._faults_json()
            if route == ("GET", "/_sandbox/faults"):
                return 200, self._faults_json()
            if route == ("GET", "/_sandbox/stats"):
                return 200, self.stats.to_json()
            if route == ("POST", "/_sandbox/stats/reset"):
                self.stats.reset()
                return 200, self.stats.to_json()
            if route == ("POST", "/_sandbox/admin"):
                with self.state.lock:
                    return 200, {"record": apply_admin(self.state, raw, self.settings.clock())}
            if route == ("GET", "/_sandbox/state"):
                with self.state.lock:
                    snapshot = self.state.to_json()
                for key in snapshot["api_keys"]:
                    key["secret_key"] = key["auth_token"] = "(hidden)"
                return 200, snapshot
        except (AdminError, FaultSettingsError) as error:
            return 400, {"error": str(error)}
        return 404, {"error": f"No admin endpoint {verb} {path}."}

    def _set_faults(self, raw: Mapping[str, Any]) -> None:
        settings = settings_from_json(raw, self.faults.settings)
        script = raw.get("script")
        if script is not None and not isinstance(script, list):
            raise FaultSettingsError("script must be an array of steps")
        changes: dict[str, Any] = {}
        for name in ("form_lifetime", "completion_delay"):
            if name in raw:
                value = raw[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise FaultSettingsError(f"{name} must be a number of seconds")
                changes[name] = float(value)
        if changes.get("form_lifetime", 1.0) < 1.0:
            raise FaultSettingsError("form_lifetime must be at least 1 second")
        if "hash_encoding" in raw:
            if raw["hash_encoding"] not in ("hex", "base64"):
                raise FaultSettingsError("hash_encoding must be hex or base64")
            changes["hash_encoding"] = raw["hash_encoding"]
        steps = script_from_json(script) if script is not None else None
        self.faults.configure(settings, steps)
        if changes:
            self.configure(**changes)

    def _faults_json(self) -> dict[str, Any]:
        config = self.api_config
        return {
            **asdict(self.faults.settings),
            "script": [
                {**asdict(step), "action": step.action.value} for step in self.faults.script()
            ],
            "form_lifetime": config.form_lifetime,
            "completion_delay": config.completion_delay,
            "hash_encoding": config.hash_encoding,
        }


def fault_answer(fault: Fault, *, upload: bool) -> tuple[int, dict[str, str], bytes]:
    """The answer a before-processing fault gives (drops are not answers)."""
    action = fault.action
    headers: dict[str, str] = {}
    if action is FaultAction.NON_JSON_502:
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return 502, {"Content-Type": "text/html"}, page
    if action is FaultAction.HTTP_429:
        headers["Retry-After"] = f"{fault.retry_after or 1:g}"
        status, code, message = 429, "TOO_MANY_REQUESTS", "Too many requests; slow down."
    elif action is FaultAction.HTTP_503:
        status, code, message = 503, "SERVICE_UNAVAILABLE", "The service is unavailable."
    else:
        status, code, message = 500, "INTERNAL_SERVER_ERROR", "An internal error occurred."
    if upload:
        s3_code = {429: "SlowDown", 503: "SlowDown", 500: "InternalError"}[status]
        rejection = S3Rejection(status, s3_code, message)
        answer_status, xml_headers, xml = error_response(rejection, secrets.token_hex(8).upper())
        return answer_status, {**xml_headers, **headers}, xml
    trace = trace_id() if status == 500 else None  # 500 is the application's own answer
    body = envelope(errors=[{"code": code, "message": message}], trace=trace)
    headers["Content-Type"] = "application/json"
    return status, headers, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "KompliantSandbox"
    sys_version = ""

    @property
    def sandbox(self) -> RunningSandbox:
        server = self.server
        assert isinstance(server, _Server)
        return server.sandbox

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK hold every answer back by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

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

    # -- plumbing -------------------------------------------------------------------------

    def _body_stream(self) -> tuple[io.BufferedReader, int | None]:
        length = self.headers.get("Content-Length")
        if length is not None and length.strip().isdigit():
            size = int(length)
            return io.BufferedReader(_LimitedReader(self.rfile, size)), size
        # No length (chunked): nothing is read, and the connection closes after the answer.
        self.close_connection = True
        return io.BufferedReader(_LimitedReader(self.rfile, 0)), None

    def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() == "connection" and value.lower() == "close":
                self.close_connection = True
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        data = json.dumps(body).encode()
        self._send(status, {"Content-Type": "application/json", **headers}, data)

    def _drop(self) -> None:
        """Close the connection without a word, as a crashed proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False

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
            answer = _infrastructure("REQUEST_TOO_LARGE", "The request body is too large.")
            self._send_json(413, answer, {})
            sandbox.stats.count(stats_name, "413", None)
            return
        fault = sandbox.faults.decide(method) if method in METHODS and verb == "POST" else None
        delay = sandbox.faults.latency_s(method)
        if delay:
            time.sleep(delay)
        if fault is not None and not fault.action.after_processing:
            sandbox.stats.count(stats_name, self._fault_status(fault), fault)
            if fault.action is FaultAction.DROP_BEFORE_PROCESSING:
                self._drop()
                return
            status, headers, data = fault_answer(fault, upload=False)
            self._send(status, headers, data)
            return
        status, answer, headers = sandbox.api_answer(verb, method, self._headers(), body)
        if fault is not None:
            sandbox.stats.count(stats_name, self._fault_status(fault), fault)
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

    @staticmethod
    def _fault_status(fault: Fault) -> str:
        if fault.action in (FaultAction.DROP_BEFORE_PROCESSING, FaultAction.DROP_AFTER_PROCESSING):
            return "dropped"
        return {
            FaultAction.HTTP_429: "429",
            FaultAction.HTTP_503: "503",
            FaultAction.NON_JSON_502: "502",
        }.get(fault.action, "500")

    def _upload(self, bucket: str) -> None:
        sandbox = self.sandbox
        stream, length = self._body_stream()
        fault = sandbox.faults.decide(UPLOAD)
        delay = sandbox.faults.latency_s(UPLOAD)
        if delay:
            time.sleep(delay)
        if fault is not None and not fault.action.after_processing:
            self._drain(stream)
            sandbox.stats.count(UPLOAD, self._fault_status(fault), fault)
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
            sandbox.stats.count(UPLOAD, self._fault_status(fault), fault)
            if fault.action is FaultAction.DROP_AFTER_PROCESSING:
                self._drop()
                return
            self._send(*fault_answer(replace(fault, action=FaultAction.HTTP_500), upload=True))
            return
        sandbox.stats.count(UPLOAD, str(status), None)
        self._send(status, headers, data)

    def _drain(self, stream: io.BufferedReader) -> None:
        """Read what the client still sends, so it can read the answer."""
        try:
            while stream.read(1024 * 1024):
                pass
        except (OSError, ValueError):
            self.close_connection = True


def start_sandbox(
    data_dir: Path,
    *,
    fixture: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    settings: SandboxSettings | None = None,
) -> RunningSandbox:
    """Start a sandbox on a background thread; its state lives in ``data_dir``."""
    settings = settings or SandboxSettings()
    store = StateStore.open(data_dir, fixture or DEMO_FIXTURE, now=settings.clock())
    return RunningSandbox(data_dir, store, settings, host, port).start()
