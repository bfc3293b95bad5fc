"""The sandbox's records, their JSON form, and their persistence under the data folder.

One JSON document holds everything: the fixture format (docs/sandbox.md) is the same
format the sandbox saves, with the collections a fixture leaves out (documents,
fulfillments, document requests) empty. A fixture only seeds an empty data folder;
afterwards ``state.json`` is the truth and survives restarts.

Records are frozen dataclasses; a change replaces a record in its table. All access goes
through ``SandboxState.lock`` (one lock), and every change ends with ``changed()``, which
lets the writer thread save a snapshot atomically (temporary file, then rename) —
changes made in quick succession are saved together, never out of order.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from agent.sandbox.verify import ApiKey

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
STATE_FILE = "state.json"
OBJECTS_DIR = "objects"
#: Shortest time between two saves while changes keep coming (stop() saves at once).
SAVE_INTERVAL = 0.05
BASE62 = string.ascii_letters + string.digits

DEFAULT_EXTENSIONS: Mapping[str, str] = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}


def new_id(prefix: str) -> str:
    """``<prefix>_`` and 22 random base62 characters, like Kompliant's ids."""
    return prefix + "_" + "".join(secrets.choice(BASE62) for _ in range(22))


def iso(timestamp: float) -> str:
    """``YYYY-MM-DDTHH:mm:ss.SSSZ``, the form Kompliant prints."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str = ""


@dataclass(frozen=True)
class SubjectRecord:
    subject_record_id: str
    account_id: str
    type: str = "BUSINESS"
    name: str = ""
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Workflow:
    workflow_id: str
    subject_record_id: str
    type: str
    state: str
    details: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    ended_at: str | None = None
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class RequiredDocument:
    required_document_id: str
    workflow_id: str
    document_type_code: str
    name: str
    status: str = "ACTIVE"
    category: str = ""
    requirement_text: str = ""
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Document:
    document_id: str
    subject_record_id: str
    file_name: str
    file_size: int
    content_type: str
    key: str
    upload_status: str = "PENDING"
    hash: str | None = None
    uploaded_by: str = ""
    comment: str | None = None
    form_expires_at: float = 0.0
    #: Unix time the upload endpoint stored the bytes; completion may lag behind it.
    stored_at: float | None = None
    #: Where the bytes are, relative to the data folder.
    object_path: str | None = None
    created_at: str = ""
    updated_at: str = ""
    deleted_at: str | None = None


@dataclass(frozen=True)
class Fulfillment:
    fulfillment_id: str
    workflow_id: str
    required_document_id: str
    document_id: str
    decision_status: str = "NEEDS_REVIEW"
    created_at: str = ""
    updated_at: str = ""
    deleted_at: str | None = None


@dataclass(frozen=True)
class DocumentRequest:
    """A required document someone asked the business for (batchRequestDocument)."""

    workflow_id: str
    required_document_id: str
    requested_at: str
    api_key: str


class FixtureError(ValueError):
    """The fixture or saved state cannot be read; the message says where."""


R = TypeVar("R")


def _record(cls: type[R], raw: Any, where: str, **defaults: Any) -> R:
    if not isinstance(raw, Mapping):
        raise FixtureError(f"{where} must be a JSON object")
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {**defaults, **{k: v for k, v in raw.items() if k in names}}
    try:
        return cls(**values)
    except TypeError as error:
        raise FixtureError(f"{where}: {error}") from None


def _row(record: Any) -> dict[str, Any]:
    return dict(vars(record))


def _list(raw: Mapping[str, Any], name: str) -> list[Any]:
    value = raw.get(name, [])
    if not isinstance(value, list):
        raise FixtureError(f"'{name}' must be a JSON array")
    return value


@dataclass
class SandboxState:
    """Every table of the sandbox, guarded by ``lock``."""

    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    subject_records: dict[str, SubjectRecord] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    required_documents: dict[str, RequiredDocument] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    fulfillments: dict[str, Fulfillment] = field(default_factory=dict)
    document_requests: list[DocumentRequest] = field(default_factory=list)
    allowed_extensions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EXTENSIONS))
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    version: int = 0
    _listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)

    # -- changes --------------------------------------------------------------------------

    def changed(self) -> None:
        """Call after every change, with the lock held: schedules a save."""
        self.version += 1
        for listener in self._listeners:
            listener()

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    # -- lookups scoped to an account -----------------------------------------------------

    def account_of_subject(self, subject_record_id: str) -> str | None:
        record = self.subject_records.get(subject_record_id)
        return record.account_id if record else None

    def subject_record(self, subject_record_id: str, account_id: str) -> SubjectRecord | None:
        record = self.subject_records.get(subject_record_id)
        return record if record and record.account_id == account_id else None

    def workflow(self, workflow_id: str, account_id: str) -> Workflow | None:
        workflow = self.workflows.get(workflow_id)
        if workflow and self.account_of_subject(workflow.subject_record_id) == account_id:
            return workflow
        return None

    def required_document(self, rd_id: str, account_id: str) -> RequiredDocument | None:
        rd = self.required_documents.get(rd_id)
        if rd and self.workflow(rd.workflow_id, account_id):
            return rd
        return None

    def document(self, document_id: str, account_id: str) -> Document | None:
        document = self.documents.get(document_id)
        if document and self.account_of_subject(document.subject_record_id) == account_id:
            return document
        return None

    def fulfillment(self, fulfillment_id: str, account_id: str) -> Fulfillment | None:
        item = self.fulfillments.get(fulfillment_id)
        if item and item.deleted_at is None and self.workflow(item.workflow_id, account_id):
            return item
        return None

    def live_fulfillments(self) -> Iterator[Fulfillment]:
        return (f for f in self.fulfillments.values() if f.deleted_at is None)

    # -- JSON -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A snapshot made of fresh dicts (records are immutable, so shallow copies do)."""
        by_workflow: dict[str, list[dict[str, Any]]] = {}
        for rd in self.required_documents.values():
            row = _row(rd)
            del row["workflow_id"]
            by_workflow.setdefault(rd.workflow_id, []).append(row)
        workflows = [
            {**_row(w), "required_documents": by_workflow.get(w.workflow_id, [])}
            for w in self.workflows.values()
        ]
        return {
            "format_version": FORMAT_VERSION,
            "allowed_extensions": dict(self.allowed_extensions),
            "accounts": [_row(a) for a in self.accounts.values()],
            "api_keys": [_row(k) for k in self.api_keys.values()],
            "subject_records": [_row(s) for s in self.subject_records.values()],
            "workflows": workflows,
            "documents": [_row(d) for d in self.documents.values()],
            "fulfillments": [_row(f) for f in self.fulfillments.values()],
            "document_requests": [_row(r) for r in self.document_requests],
        }

    @classmethod
    def from_json(cls, raw: Any, *, now: float) -> SandboxState:
        if not isinstance(raw, Mapping):
            raise FixtureError("the top level must be a JSON object")
        stamp = iso(now)
        state = cls()
        extensions = raw.get("allowed_extensions")
        if extensions is not None:
            state.allowed_extensions = parse_extensions(extensions)
        for i, item in enumerate(_list(raw, "accounts")):
            account = _record(Account, item, f"accounts[{i}]")
            state.accounts[account.account_id] = account
        for i, item in enumerate(_list(raw, "api_keys")):
            key = _record(ApiKey, item, f"api_keys[{i}]")
            if key.methods is not None:
                key = ApiKey(**{**asdict(key), "methods": tuple(key.methods)})
            if key.account_id not in state.accounts:
                raise FixtureError(f"api_keys[{i}]: unknown account {key.account_id!r}")
            state.api_keys[key.api_key] = key
        for i, item in enumerate(_list(raw, "subject_records")):
            sr = _record(SubjectRecord, item, f"subject_records[{i}]", created_at=stamp)
            if sr.account_id not in state.accounts:
                raise FixtureError(f"subject_records[{i}]: unknown account {sr.account_id!r}")
            state.subject_records[sr.subject_record_id] = sr
        for i, item in enumerate(_list(raw, "workflows")):
            where = f"workflows[{i}]"
            wf = _record(Workflow, item, where, created_at=stamp, started_at=stamp)
            if wf.subject_record_id not in state.subject_records:
                raise FixtureError(f"{where}: unknown subject record {wf.subject_record_id!r}")
            state.workflows[wf.workflow_id] = wf
            for j, rd_raw in enumerate(_list(item, "required_documents")):
                rd = _record(
                    RequiredDocument,
                    rd_raw,
                    f"{where}.required_documents[{j}]",
                    workflow_id=wf.workflow_id,
                    created_at=stamp,
                )
                state.required_documents[rd.required_document_id] = rd
        for i, item in enumerate(_list(raw, "documents")):
            doc = _record(Document, item, f"documents[{i}]")
            state.documents[doc.document_id] = doc
        for i, item in enumerate(_list(raw, "fulfillments")):
            ful = _record(Fulfillment, item, f"fulfillments[{i}]")
            state.fulfillments[ful.fulfillment_id] = ful
        for i, item in enumerate(_list(raw, "document_requests")):
            state.document_requests.append(
                _record(DocumentRequest, item, f"document_requests[{i}]")
            )
        return state

    def public_keys(self) -> list[ApiKey]:
        return [k for k in self.api_keys.values() if k.public and not k.disabled]


def parse_extensions(raw: Any) -> dict[str, str]:
    """``{"pdf": "application/pdf", …}``, or a list of extensions known by default."""
    if isinstance(raw, list):
        unknown = [e for e in raw if str(e).lower() not in DEFAULT_EXTENSIONS]
        if unknown:
            raise FixtureError(
                f"no default content type for {', '.join(map(str, unknown))}: "
                "give allowed_extensions as an object of extension to content type"
            )
        return {str(e).lower(): DEFAULT_EXTENSIONS[str(e).lower()] for e in raw}
    if isinstance(raw, Mapping) and all(isinstance(v, str) for v in raw.values()):
        return {str(k).lower().lstrip("."): v for k, v in raw.items()}
    raise FixtureError("allowed_extensions must map extensions to content types")


class StateStore:
    """Keeps ``data_dir/state.json`` up to date with a ``SandboxState``, from one thread."""

    def __init__(self, state: SandboxState, data_dir: Path) -> None:
        self.state = state
        self.path = data_dir / STATE_FILE
        self._saved_version = -1
        self._wake = threading.Condition()
        self._write_lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-state", daemon=True)
        state.on_change(self._notify)

    @classmethod
    def open(cls, data_dir: Path, fixture: Path, *, now: float) -> StateStore:
        """Load ``data_dir``'s saved state, or seed it from ``fixture``."""
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / OBJECTS_DIR).mkdir(exist_ok=True)
        saved = data_dir / STATE_FILE
        source = saved if saved.exists() else fixture
        try:
            raw = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise FixtureError(f"cannot read {source}: {error}") from None
        try:
            state = SandboxState.from_json(raw, now=now)
        except FixtureError as error:
            raise FixtureError(f"{source}: {error}") from None
        store = cls(state, data_dir)
        if source is fixture:
            store.save()
        else:
            store._saved_version = state.version
        log.info("Sandbox state loaded from %s", source)
        return store

    def start(self) -> StateStore:
        self._thread.start()
        return self

    def _notify(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def save(self) -> None:
        """Write the current state now (atomically)."""
        with self.state.lock:
            version = self.state.version
            snapshot = self.state.to_json()
        text = json.dumps(snapshot, indent=1, sort_keys=True)
        with self._write_lock:
            if version <= self._saved_version:
                return
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.path)
            self._saved_version = version

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every change so far is on disk (saving it here if need be)."""
        deadline = time.monotonic() + timeout
        while self._saved_version < self.state.version and time.monotonic() < deadline:
            self.save()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and self._saved_version >= self.state.version:
                    self._wake.wait()
                if self._stopping:
                    return
            try:
                self.save()
            except OSError:
                log.exception("Could not save the sandbox state to %s", self.path)
            with self._wake:  # let a burst of changes gather into the next save
                self._wake.wait_for(lambda: self._stopping, timeout=SAVE_INTERVAL)


# -- admin edits (POST /_sandbox/admin) ---------------------------------------------------

WORKFLOW_STATES = ("CREATED", "STARTED", "ENDED")
REQUIRED_DOCUMENT_STATUSES = ("ACTIVE", "NEEDS_REVIEW", "COMPLETED", "INACTIVE")


class AdminError(ValueError):
    """An admin operation that cannot be applied; the message says why."""


def _need(op: Mapping[str, Any], name: str, allowed: tuple[str, ...] = ()) -> str:
    value = op.get(name)
    if not isinstance(value, str) or not value:
        raise AdminError(f"'{name}' is required (a string)")
    if allowed and value not in allowed:
        raise AdminError(f"'{name}' must be one of {', '.join(allowed)}")
    return value


def apply_admin(state: SandboxState, op: Mapping[str, Any], now: float) -> dict[str, Any]:
    """Apply one admin operation with the lock held; returns the changed record."""
    stamp = iso(now)
    name = op.get("op")
    if name == "set_workflow_state":
        workflow = state.workflows.get(_need(op, "workflow_id"))
        if workflow is None:
            raise AdminError("no such workflow")
        new_state = _need(op, "state", WORKFLOW_STATES)
        ended_at = stamp if new_state == "ENDED" else None
        changed: Any = replace(workflow, state=new_state, ended_at=ended_at, updated_at=stamp)
        state.workflows[workflow.workflow_id] = changed
    elif name == "set_required_document_status":
        rd = state.required_documents.get(_need(op, "required_document_id"))
        if rd is None:
            raise AdminError("no such required document")
        status = _need(op, "status", REQUIRED_DOCUMENT_STATUSES)
        changed = replace(rd, status=status, updated_at=stamp)
        state.required_documents[rd.required_document_id] = changed
    elif name == "add_required_document":
        workflow_id = _need(op, "workflow_id")
        if workflow_id not in state.workflows:
            raise AdminError("no such workflow")
        rd_id = op.get("required_document_id") or new_id("rd")
        if rd_id in state.required_documents:
            raise AdminError(f"required document {rd_id} exists already")
        code = _need(op, "document_type_code")
        changed = RequiredDocument(
            required_document_id=str(rd_id),
            workflow_id=workflow_id,
            document_type_code=code,
            name=str(op.get("name") or code),
            status=str(op.get("status") or "ACTIVE"),
            category=str(op.get("category") or ""),
            requirement_text=str(op.get("requirement_text") or ""),
            created_at=stamp,
            updated_at=stamp,
        )
        if changed.status not in REQUIRED_DOCUMENT_STATUSES:
            raise AdminError(f"'status' must be one of {', '.join(REQUIRED_DOCUMENT_STATUSES)}")
        state.required_documents[changed.required_document_id] = changed
    elif name == "add_workflow":
        subject_record_id = _need(op, "subject_record_id")
        if subject_record_id not in state.subject_records:
            raise AdminError("no such subject record")
        workflow_id = str(op.get("workflow_id") or new_id("w"))
        if workflow_id in state.workflows:
            raise AdminError(f"workflow {workflow_id} exists already")
        changed = Workflow(
            workflow_id=workflow_id,
            subject_record_id=subject_record_id,
            type=_need(op, "type"),
            state=str(op.get("state") or "STARTED"),
            started_at=stamp,
            created_at=stamp,
            updated_at=stamp,
        )
        state.workflows[workflow_id] = changed
    elif name == "update_document":
        document = state.documents.get(_need(op, "document_id"))
        if document is None:
            raise AdminError("no such document")
        updates = {k: op[k] for k in ("upload_status", "hash") if k in op}
        if not updates:
            raise AdminError("give 'upload_status' and/or 'hash'")
        changed = replace(document, **updates, updated_at=stamp)
        state.documents[document.document_id] = changed
    else:
        raise AdminError(
            "'op' must be one of set_workflow_state, set_required_document_status, "
            "add_required_document, add_workflow, update_document"
        )
    state.changed()
    return asdict(changed)
