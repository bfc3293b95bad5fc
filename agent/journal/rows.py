"""Converting between journal rows and :class:`Entry` (times are UTC epoch seconds).

An entry read from the journal is parsed from its row (:func:`entry_from_row`); an entry
just changed is the one read before with the changed columns converted the same way
(:func:`entry_with`), so a write need not read its row back. The same paths and JSON
texts come back for a file again and again: they are parsed once and remembered (all
immutable, or copied: a ``fulfillments`` or ``scan`` mapping is a new dict each time).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.journal.records import Entry, Outcome, Step


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("journal times must be timezone-aware (use UTC)")
    return value.timestamp()


def from_ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


#: How many parsed paths and JSON texts are remembered (a few per file under way).
_REMEMBERED = 4096


@functools.lru_cache(maxsize=_REMEMBERED)
def _parsed_path(value: str) -> Path:
    return Path(value)


def _path(value: str | None) -> Path | None:
    return None if value is None else _parsed_path(value)


@functools.lru_cache(maxsize=_REMEMBERED)
def _required_ids(value: str) -> tuple[str, ...]:
    return tuple(json.loads(value))


@functools.lru_cache(maxsize=_REMEMBERED)
def _fulfillment_items(value: str) -> tuple[tuple[str, str], ...]:
    return tuple(dict(json.loads(value)).items())


def _scan(value: str | None) -> dict[str, Any]:
    return {} if not value or value == "{}" else dict(json.loads(value))


def entry_from_row(found: sqlite3.Row) -> Entry:
    """An :class:`Entry` from a row (of either format: the first lacks the later columns)."""
    row = dict(zip(found.keys(), found, strict=True))  # a Row looks names up one by one
    column = row.get

    return Entry(
        id=int(row["id"]),
        step=Step(row["step"]),
        source_path=_parsed_path(row["source_path"]),
        claimed_path=_path(row["claimed_path"]),
        final_path=_path(row["final_path"]),
        folder_key=row["folder_key"],
        workflow_id=row["workflow_id"],
        required_document_ids=_required_ids(row["required_document_ids"]),
        needs_routing=bool(row["needs_routing"]),
        file_name=row["file_name"],
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        sha256=row["sha256"],
        document_id=row["document_id"],
        form_expires_at=from_ts(row["form_expires_at"]),
        fulfillments=dict(_fulfillment_items(row["fulfillments"])),
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        message=row["message"],
        duplicate_of=row["duplicate_of"],
        attempts=int(row["attempts"]),
        next_attempt_at=from_ts(row["next_attempt_at"]),
        last_error=row["last_error"],
        created_at=from_ts(row["created_at"]),
        updated_at=from_ts(row["updated_at"]),
        parent_id=column("parent_id"),
        part_number=column("part_number"),
        scan=_scan(column("scan")),
        upload_path=_path(column("upload_path")),
        upload_name=column("upload_name"),
        folder_id=column("folder_id"),
        folder_sub=_folder_sub(column("folder_sub")),
        claimed_ino=column("claimed_ino"),
        claimed_dev=column("claimed_dev"),
        resolved_at=from_ts(column("resolved_at")),
    )


def _outcome(value: str | None) -> Outcome | None:
    return Outcome(value) if value else None


def _fulfillments(value: str) -> dict[str, str]:
    return dict(_fulfillment_items(value))


def _same(value: Any) -> Any:
    return value


def _folder_sub(value: str | None) -> str:
    return value or ""


#: How each column's stored value becomes its :class:`Entry` field (as in entry_from_row)
_FIELD: dict[str, Callable[[Any], Any]] = {
    "step": Step,
    "source_path": _parsed_path,
    "claimed_path": _path,
    "final_path": _path,
    "required_document_ids": _required_ids,
    "needs_routing": bool,
    "form_expires_at": from_ts,
    "fulfillments": _fulfillments,
    "outcome": _outcome,
    "attempts": int,
    "next_attempt_at": from_ts,
    "created_at": from_ts,
    "updated_at": from_ts,
    "scan": _scan,
    "upload_path": _path,
    "folder_sub": _folder_sub,
    "resolved_at": from_ts,
}


def entry_with(entry: Entry, columns: Mapping[str, Any]) -> Entry:
    """``entry`` after its row's ``columns`` were set to these stored values: what reading
    the row back would give."""
    return dataclasses.replace(
        entry, **{name: _FIELD.get(name, _same)(value) for name, value in columns.items()}
    )


def rd_json(required_document_ids: Iterable[str]) -> str:
    return json.dumps(sorted(set(required_document_ids)))
