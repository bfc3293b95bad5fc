"""Converting between journal rows and :class:`Entry` (times are UTC epoch seconds).

An entry read from the journal is parsed from its row (:func:`entry_from_row`); an entry
just changed is the one read before with the changed columns converted the same way
(:func:`entry_with`), and one just made is built from the columns inserted
(:func:`new_entry`), so a write need not read its row back. The same paths and JSON
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


def _outcome(value: str | None) -> Outcome | None:
    return None if not value else _OUTCOMES[value]


def _step(value: str) -> Step:
    return _STEPS[value]


def _fulfillments(value: str) -> dict[str, str]:
    return dict(_fulfillment_items(value))


def _folder_sub(value: str | None) -> str:
    return value or ""


_STEPS = {step.value: step for step in Step}
_OUTCOMES = {outcome.value: outcome for outcome in Outcome}

#: How a stored value becomes its :class:`Entry` field, for the columns it is not the same
_FIELD: dict[str, Callable[[Any], Any]] = {
    "step": _step,
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
_CONVERTED = tuple(_FIELD.items())

#: An entry's fields, in order: the columns of a row of the current format, in order
FIELDS = tuple(field.name for field in dataclasses.fields(Entry))
_COLUMNS = list(FIELDS)  # as sqlite3.Row.keys() gives them


def _made(fields: dict[str, Any]) -> Entry:
    """The :class:`Entry` with these (all of its) fields. Not through ``Entry(...)``: a
    frozen dataclass's ``__init__`` sets its 34 fields one by one, which was the largest
    part of reading a row."""
    entry = object.__new__(Entry)
    entry.__dict__.update(fields)
    return entry


def entry_from_row(found: sqlite3.Row) -> Entry:
    """An :class:`Entry` from a row (of any format: the first ones lack later columns)."""
    if found.keys() == _COLUMNS:
        fields = dict(zip(FIELDS, found, strict=True))
    else:  # an earlier format's row: a missing column is NULL
        stored = dict(zip(found.keys(), found, strict=True))
        fields = {name: stored.get(name) for name in FIELDS}
    for name, field in _CONVERTED:
        fields[name] = field(fields[name])
    return _made(fields)


#: What a new row stores in the columns an INSERT leaves out (the schema's defaults)
_NEW_ROW: dict[str, Any] = {name: None for name in FIELDS} | {
    "required_document_ids": "[]",
    "needs_routing": 0,
    "fulfillments": "{}",
    "attempts": 0,
    "scan": "{}",
    "folder_sub": "",
}


def new_entry(entry_id: int, columns: Mapping[str, Any]) -> Entry:
    """The entry of the row ``entry_id`` just inserted with these stored ``columns`` (the
    others at their defaults): what reading it back would give."""
    fields = dict(_NEW_ROW, **columns, id=entry_id)
    for name, field in _CONVERTED:
        fields[name] = field(fields[name])
    return _made(fields)


def entry_with(entry: Entry, columns: Mapping[str, Any]) -> Entry:
    """``entry`` after its row's ``columns`` were set to these stored values: what reading
    the row back would give."""
    fields = dict(entry.__dict__)
    for name, value in columns.items():
        field = _FIELD.get(name)
        fields[name] = value if field is None else field(value)
    return _made(fields)


def rd_json(required_document_ids: Iterable[str]) -> str:
    return json.dumps(sorted(set(required_document_ids)))
