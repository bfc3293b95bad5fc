"""Tables of records by id that remember what changed, and the fulfillments' indexes.

A ``Table`` is a plain dict to read. Every write goes through ``__setitem__`` /
``__delitem__`` (the dict's other writing methods are routed through them), which note
the id, so that :mod:`agent.sandbox.store` saves the records changed since its last save
instead of all of them. ``FulfillmentTable`` also keeps the fulfillments by document and
by required document, and counts the live ones' decisions per required document, so that
checking one new link or one required document's status does not read them all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

R = TypeVar("R")


class Table(dict[str, R]):
    """Records by id that remember which ids were set or removed since :meth:`take_changed`."""

    def __init__(self, records: Iterable[tuple[str, R]] = ()) -> None:
        super().__init__()
        self._changed: dict[str, None] = {}  # ids in the order they first changed
        for key, record in records:
            self[key] = record

    def __setitem__(self, key: str, record: R) -> None:
        super().__setitem__(key, record)
        self._changed[key] = None

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed[key] = None

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            record = self[key]
            del self[key]
            return record
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, R]:
        key = next(reversed(self))
        return key, self.pop(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *others: Any, **named: Any) -> None:
        for key, record in dict(*others, **named).items():
            self[key] = record

    def __ior__(self, other: Any) -> Table[R]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def take_changed(self) -> list[tuple[str, R | None]]:
        """The ids changed since the last call, each with its record (``None``: removed)."""
        changed = [(key, self.get(key)) for key in self._changed]
        self._changed = {}
        return changed


class Link(Protocol):
    """What the indexes read of a fulfillment."""

    @property
    def document_id(self) -> str: ...
    @property
    def required_document_id(self) -> str: ...
    @property
    def decision_status(self) -> str: ...
    @property
    def deleted_at(self) -> str | None: ...


F = TypeVar("F", bound=Link)


class FulfillmentTable(Table[F]):
    """Fulfillments by id, also by document and by required document, oldest first.

    A fulfillment's links (document, required document) never change, only its decision
    and its deletion; a change of decision keeps its place in the indexes.
    """

    def __init__(self, records: Iterable[tuple[str, F]] = ()) -> None:
        self._by_document: dict[str, dict[str, None]] = {}
        self._by_required_document: dict[str, dict[str, None]] = {}
        self._live_decisions: dict[str, Counter[str]] = {}
        super().__init__(records)

    def __setitem__(self, key: str, record: F) -> None:
        old = self.get(key)
        super().__setitem__(key, record)
        if old is not None:
            self._count(old, -1)
            if (old.document_id, old.required_document_id) != (
                record.document_id,
                record.required_document_id,
            ):
                self._unindex(key, old)
        self._by_document.setdefault(record.document_id, {})[key] = None
        self._by_required_document.setdefault(record.required_document_id, {})[key] = None
        self._count(record, +1)

    def __delitem__(self, key: str) -> None:
        old = self[key]
        super().__delitem__(key)
        self._count(old, -1)
        self._unindex(key, old)

    def _count(self, record: F, step: int) -> None:
        if record.deleted_at is not None:
            return
        decisions = self._live_decisions.setdefault(record.required_document_id, Counter())
        decisions[record.decision_status] += step
        if decisions[record.decision_status] <= 0:
            del decisions[record.decision_status]

    def _unindex(self, key: str, record: F) -> None:
        for index, value in (
            (self._by_document, record.document_id),
            (self._by_required_document, record.required_document_id),
        ):
            ids = index.get(value, {})
            ids.pop(key, None)
            if not ids:
                index.pop(value, None)

    def of_document(self, document_id: str) -> list[F]:
        """The fulfillments of a document, oldest first (deleted ones too)."""
        return [self[key] for key in self._by_document.get(document_id, ())]

    def of_required_document(self, rd_id: str) -> list[F]:
        """The fulfillments of a required document, oldest first (deleted ones too)."""
        return [self[key] for key in self._by_required_document.get(rd_id, ())]

    def live_decisions(self, rd_id: str) -> set[str]:
        """The decisions of a required document's live fulfillments."""
        return set(self._live_decisions.get(rd_id, ()))
