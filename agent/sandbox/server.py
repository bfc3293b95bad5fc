"""The running sandbox: its settings, its lifecycle, and the answers to its three kinds of request.

Routes (docs/sandbox.md has the details):

- ``POST /<method>``: a Kompliant method, signed with KSig1;
- ``POST /s3/<bucket>``: the presigned-POST upload endpoint (no Kompliant auth);
- ``/_sandbox/...``: unsigned admin endpoints, answered only to loopback clients.

One event loop serves every connection (:mod:`agent.sandbox.loop_http`) and answers
most requests at once on its thread (:mod:`agent.sandbox.routes`); a large upload is
received on a thread of its own. The state has one lock, so requests are carried out one
at a time. Faults are decided in
:mod:`agent.sandbox.faults` and answered by :mod:`agent.sandbox.fault_answers`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.kompliant.auth import Credentials
from agent.sandbox.admin import AdminError, apply_admin
from agent.sandbox.api import (
    KNOWN_VERSIONS,
    LATEST_VERSION,
    METHODS,
    ApiConfig,
    ApiError,
    Call,
    dispatch,
    record_upload,
)
from agent.sandbox.envelope import envelope, infrastructure_error, trace_id
from agent.sandbox.external_s3 import ExternalS3
from agent.sandbox.fault_answers import fault_answer
from agent.sandbox.faults import (
    FaultPlan,
    FaultSettings,
    FaultSettingsError,
    Stats,
    script_from_json,
    settings_from_json,
)
from agent.sandbox.jsontext import read_json
from agent.sandbox.loop_http import LoopServer
from agent.sandbox.routes import MAX_API_BODY, Routes
from agent.sandbox.s3post import (
    FormSpec,
    S3Settings,
    StoredObject,
    UploadEndpoint,
    presign,
)
from agent.sandbox.state import Document, SandboxState
from agent.sandbox.store import OBJECTS_DIR, StateStore
from agent.sandbox.verify import AuthFailure, authenticate

__all__ = [
    "DEMO_FIXTURE",
    "MAX_API_BODY",
    "RunningSandbox",
    "SandboxSettings",
    "envelope",
    "fault_answer",
    "start_sandbox",
    "trace_id",
]

log = logging.getLogger(__name__)

DEMO_FIXTURE = Path(__file__).with_name("fixtures") / "demo.json"


@dataclass(frozen=True)
class SandboxSettings:
    form_lifetime: float = 300.0
    #: Replaces the fixture's list for this run: extension → content type.
    allowed_extensions: Mapping[str, str] | None = None
    hash_encoding: str = "hex"  # or "base64"
    #: Seconds between the upload and upload_status COMPLETED.
    completion_delay: float = 0.0
    max_file_size: int = 5 * 1024**3
    #: Answer every refused batch item as a bare BAD_REQUEST with a message of its own:
    #: a client must settle without depending on the sandbox's codes or words.
    plain_refusals: bool = False
    faults: FaultSettings = field(default_factory=FaultSettings)
    s3: S3Settings = field(default_factory=S3Settings)
    #: A real S3-compatible store to presign for, instead of the built-in upload endpoint.
    external_store: ExternalS3 | None = None
    clock: Callable[[], float] = time.time


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
        routes = Routes(self)
        self._server = LoopServer(host, port, routes.route, routes.streams, body_limit=MAX_API_BODY)
        text, bound_port = self._server.address
        shown = f"[{text}]" if ":" in text else text
        self.base_url = f"http://{shown}:{bound_port}"
        self.upload_url = f"{self.base_url}/s3/{settings.s3.bucket}"
        self.api_config = ApiConfig(
            presign=self._presign,
            form_lifetime=settings.form_lifetime,
            hash_encoding=settings.hash_encoding,
            completion_delay=settings.completion_delay,
            max_file_size=settings.max_file_size,
            plain_refusals=settings.plain_refusals,
            probe=self._probe if settings.external_store is not None else None,
            allowed_extensions=(
                {k.lower().lstrip("."): v for k, v in settings.allowed_extensions.items()}
                if settings.allowed_extensions is not None
                else None
            ),
        )
        self.upload_endpoint = UploadEndpoint(
            data_dir / OBJECTS_DIR,
            settings.s3,
            clock=settings.clock,
            on_stored=self._on_stored,
            keep=store.keep_object,
        )

    @property
    def state(self) -> SandboxState:
        return self.store.state

    def start(self) -> RunningSandbox:
        self.store.start()
        self._server.start()
        log.info("Sandbox listening on %s (data in %s)", self.base_url, self.data_dir)
        return self

    def stop(self) -> None:
        self._server.stop()
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
        """Change API settings at run time (form_lifetime, completion_delay, hash_encoding,
        plain_refusals)."""
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
        relative: str | None = None  # kept in the state database
        if stored.path is not None:
            try:
                relative = str(stored.path.relative_to(self.data_dir))
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

    def stored_bytes(self, document_id: str) -> bytes | None:
        """The bytes uploaded for ``document_id`` (from its file or the state database), or
        ``None`` when none were stored here."""
        with self.state.lock:
            document = self.state.documents.get(document_id)
        if document is None or document.stored_at is None:
            return None
        if document.object_path is None:
            return self.store.read_object(document.key)
        path = Path(document.object_path)
        return (path if path.is_absolute() else self.data_dir / path).read_bytes()

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
        content_type = headers.get("content-type", "")
        if content_type != "application/json":  # as every client sends it, or else:
            content_type = content_type.split(";")[0].strip().lower()
        if content_type != "application/json":
            return (
                415,
                infrastructure_error(
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
            params = read_json(body) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            params = None
        if not isinstance(params, dict):
            error = ApiError("BAD_REQUEST", "The request body must be a JSON object.")
            return 400, envelope(errors=[error.to_json()], trace=trace, version=version), {}
        call = Call(self.state, self.api_config, caller, self.settings.clock(), version)
        try:
            reply = dispatch(call, method, params)
        except ApiError as error:
            answer = envelope(errors=[error.to_json()], trace=trace, version=version)
            return error.http_status, answer, {}
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
        if "plain_refusals" in raw:
            if not isinstance(raw["plain_refusals"], bool):
                raise FaultSettingsError("plain_refusals must be true or false")
            changes["plain_refusals"] = raw["plain_refusals"]
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
            "plain_refusals": config.plain_refusals,
        }


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
