"""The sandbox's records and their JSON form, for fixtures and for the saved state.

The fixture format (docs/sandbox.md) is one JSON document, and ``/_sandbox/state``
answers the same form with the collections a fixture leaves out (documents,
fulfillments, document requests) filled in. :mod:`agent.sandbox.store` keeps the state on
disk, one row per record.

Records are frozen dataclasses; a change replaces a record in its ``Table`` (a dict by
id), which remembers the ids it changed, so that saving costs what changed and not what
is stored. All access goes through ``SandboxState.lock`` (one lock), and every change
ends with ``changed()``, which wakes the writer thread — changes made in quick
succession are saved together, never out of order. The fulfillments are also indexed by
document and by required document, so that the checks of one new link do not read them
all.
"""

from __future__ import annotations

import functools
import os
import string
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from agent.sandbox.tables import FulfillmentTable, Table
from agent.sandbox.timetext import iso_millis
from agent.sandbox.verify import ApiKey

FORMAT_VERSION = 1
#: The tables of records by id, by their name in the fixture format, parents first.
TABLES = (
    "accounts",
    "api_keys",
    "subject_records",
    "workflows",
    "required_documents",
    "documents",
    "fulfillments",
)
BASE62 = string.ascii_letters + string.digits

DEFAULT_EXTENSIONS: Mapping[str, str] = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}


#: Random bytes below this are used (four times 62), so every character is equally likely.
_BASE62_BOUND = 4 * len(BASE62)
#: A random byte below the bound → its base62 character; those above are dropped.
_BASE62_TABLE = bytes(ord(BASE62[b % 62]) if b < _BASE62_BOUND else 0 for b in range(256))
_ABOVE_BOUND = bytes(range(_BASE62_BOUND, 256))


class _RandomText:
    """Base62 characters from the system's random source, read a few thousand bytes at a
    time instead of once per id (a child process reads its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text = b""
        self._at = 0
        if sys.platform != "win32":  # no fork there
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._text, self._at = b"", 0

    def take(self, count: int) -> str:
        with self._lock:
            while len(self._text) - self._at < count:
                self._text = self._text[self._at :] + os.urandom(4096).translate(
                    _BASE62_TABLE, _ABOVE_BOUND
                )
                self._at = 0
            start, self._at = self._at, self._at + count
            return self._text[start : self._at].decode("ascii")


_random_text = _RandomText()


def new_id(prefix: str) -> str:
    """``<prefix>_`` and 22 random base62 characters, like Kompliant's ids."""
    return prefix + "_" + _random_text.take(22)


@functools.lru_cache(maxsize=16)
def iso(timestamp: float) -> str:
    """``YYYY-MM-DDTHH:mm:ss.SSSZ``, the form Kompliant prints (a call stamps the records
    it makes with one time, formatted once)."""
    return iso_millis(timestamp)


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

    api_keys: Table[ApiKey] = field(default_factory=Table)
    accounts: Table[Account] = field(default_factory=Table)
    subject_records: Table[SubjectRecord] = field(default_factory=Table)
    workflows: Table[Workflow] = field(default_factory=Table)
    required_documents: Table[RequiredDocument] = field(default_factory=Table)
    documents: Table[Document] = field(default_factory=Table)
    fulfillments: FulfillmentTable[Fulfillment] = field(default_factory=FulfillmentTable)
    #: Only ever appended to.
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

    def live_fulfillments(
        self, *, document_id: str | None = None, required_document_id: str | None = None
    ) -> Iterator[Fulfillment]:
        """The fulfillments not deleted, oldest first; of one document and/or required
        document when given (looked up in the index, not by reading them all)."""
        if document_id is not None:
            found: Iterable[Fulfillment] = self.fulfillments.of_document(document_id)
        elif required_document_id is not None:
            found = self.fulfillments.of_required_document(required_document_id)
        else:
            found = self.fulfillments.values()
        return (
            f
            for f in found
            if f.deleted_at is None and required_document_id in (None, f.required_document_id)
        )

    # -- what changed since the last save ---------------------------------------------------

    def tables(self) -> dict[str, Table[Any]]:
        """The tables of records by id, by their name in the fixture format."""
        return {name: getattr(self, name) for name in TABLES}

    def take_changes(self) -> dict[str, list[tuple[str, dict[str, Any] | None]]]:
        """Per table, the rows changed since the last call (``None``: removed), with the lock
        held. The rows are the records' JSON form; the fixture nests a workflow's required
        documents, a row names its ``workflow_id`` instead."""
        return {
            name: [(key, None if record is None else _row(record)) for key, record in changed]
            for name, table in self.tables().items()
            if (changed := table.take_changed())
        }

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
    def from_rows(
        cls,
        rows: Mapping[str, list[dict[str, Any]]],
        *,
        allowed_extensions: Any,
        document_requests: list[dict[str, Any]],
        now: float,
    ) -> SandboxState:
        """The state from saved rows (as :meth:`take_changes` gave them), read and checked
        as the fixture is, and with nothing left to save."""
        workflows = [
            {**row, "required_documents": []} if isinstance(row, Mapping) else row
            for row in rows.get("workflows", [])
        ]
        by_id = {w.get("workflow_id"): w for w in workflows if isinstance(w, dict)}
        for i, row in enumerate(rows.get("required_documents", [])):
            if not isinstance(row, Mapping):
                raise FixtureError(f"required_documents[{i}] must be a JSON object")
            rd = dict(row)
            workflow = by_id.get(rd.pop("workflow_id", None))
            if workflow is None:
                raise FixtureError(
                    f"required_documents[{i}]: unknown workflow {row.get('workflow_id')!r}"
                )
            workflow["required_documents"].append(rd)
        state = cls.from_json(
            {
                **{name: rows.get(name, []) for name in TABLES},
                "format_version": FORMAT_VERSION,
                "allowed_extensions": allowed_extensions,
                "workflows": workflows,
                "document_requests": document_requests,
            },
            now=now,
        )
        state.take_changes()
        return state

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
