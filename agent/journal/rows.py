"""Converting between journal rows and :class:`Entry` (times are UTC epoch seconds)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
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


def _path(value: str | None) -> Path | None:
    return None if value is None else Path(value)


def entry_from_row(row: sqlite3.Row) -> Entry:
    """An :class:`Entry` from a row (of either format: the first lacks the later columns)."""
    later = set(row.keys())

    def column(name: str) -> Any:
        return row[name] if name in later else None

    return Entry(
        id=int(row["id"]),
        step=Step(row["step"]),
        source_path=Path(row["source_path"]),
        claimed_path=_path(row["claimed_path"]),
        final_path=_path(row["final_path"]),
        folder_key=row["folder_key"],
        workflow_id=row["workflow_id"],
        required_document_ids=tuple(json.loads(row["required_document_ids"])),
        needs_routing=bool(row["needs_routing"]),
        file_name=row["file_name"],
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        sha256=row["sha256"],
        document_id=row["document_id"],
        form_expires_at=from_ts(row["form_expires_at"]),
        fulfillments=dict(json.loads(row["fulfillments"])),
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
        scan=dict(json.loads(column("scan") or "{}")),
        upload_path=_path(column("upload_path")),
        upload_name=column("upload_name"),
        folder_id=column("folder_id"),
        folder_sub=column("folder_sub") or "",
        claimed_ino=column("claimed_ino"),
        claimed_dev=column("claimed_dev"),
        resolved_at=from_ts(column("resolved_at")),
    )


def rd_json(required_document_ids: Iterable[str]) -> str:
    return json.dumps(sorted(set(required_document_ids)))
