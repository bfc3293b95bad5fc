"""Keeping the sandbox's state on disk: ``state.sqlite3`` and the ``objects/`` folder.

A fixture only seeds an empty data folder; afterwards ``state.sqlite3`` is the truth and
survives restarts. Every ``SandboxState.changed()`` wakes the writer thread, which writes
the records changed since its last save in one transaction: changes made in quick
succession are saved together, never out of order, and a save costs what changed, not
what is stored.

The database (SQLite in WAL mode) has one table per collection of the fixture format
(``accounts``, ``api_keys``, …, ``documents``, ``fulfillments``), one row per record: its
id and its JSON in the fixture's form (a required document names its ``workflow_id``
instead of being nested), in the order the records were made; ``document_requests`` in
the order they were made; ``settings`` (``format_version``, ``allowed_extensions``); and
``objects``, the bytes of the uploads small enough to arrive whole (``key``, ``data``),
saved in the same transactions (a larger upload is a file under ``objects/``).
``sqlite3 state.sqlite3 "SELECT record FROM documents"`` reads it, and
``GET /_sandbox/state`` gives all of it as one fixture-format document. On start the
rows are read back through the fixture's own reader (``SandboxState.from_rows``), with
its checks. A data folder saved as ``state.json`` (the form before this store) is read
once and carried over; the file is left as it was.

Commits do not wait for the disk (``synchronous=NORMAL``): a killed sandbox loses
nothing it committed, a power cut may lose the last saves. The sandbox is a test tool;
the JSON file before it was not synced either.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from agent.sandbox.jsontext import json_text
from agent.sandbox.state import FORMAT_VERSION, TABLES, FixtureError, SandboxState

log = logging.getLogger(__name__)

STATE_FILE = "state.sqlite3"
#: Where earlier versions saved the state; read once when there is no database yet.
LEGACY_STATE_FILE = "state.json"
OBJECTS_DIR = "objects"
#: Shortest time between two saves while changes keep coming (stop() saves at once).
SAVE_INTERVAL = 0.05
#: How long a save waits for another connection's write (only tools reading the file open one).
BUSY_TIMEOUT = 5.0

_SCHEMA = (
    *(
        f"CREATE TABLE IF NOT EXISTS {name} (id TEXT PRIMARY KEY, record TEXT NOT NULL)"
        for name in TABLES
    ),
    "CREATE TABLE IF NOT EXISTS document_requests (seq INTEGER PRIMARY KEY, record TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, data BLOB NOT NULL)",
)

#: A record's fields in their declared order, compact.
_text = json_text
#: Rows waiting to be written: per table, id → row (``None``: removed).
Pending = dict[str, dict[str, dict[str, Any] | None]]


def has_saved_state(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds a saved state, so that a fixture would not be read."""
    return (data_dir / STATE_FILE).exists() or (data_dir / LEGACY_STATE_FILE).exists()


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None
    )
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            connection.execute(statement)
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def _load(connection: sqlite3.Connection, now: float) -> SandboxState | None:
    """The saved state, or ``None`` when nothing was saved yet."""
    settings = dict(connection.execute("SELECT name, value FROM settings").fetchall())
    if "format_version" not in settings:
        return None  # made, but the first save did not finish: seed again
    rows = {
        name: [
            json.loads(record)
            for (record,) in connection.execute(f"SELECT record FROM {name} ORDER BY rowid")
        ]
        for name in TABLES
    }
    requests = [
        json.loads(record)
        for (record,) in connection.execute("SELECT record FROM document_requests ORDER BY seq")
    ]
    extensions = settings.get("allowed_extensions")
    return SandboxState.from_rows(
        rows,
        allowed_extensions=None if extensions is None else json.loads(extensions),
        document_requests=requests,
        now=now,
    )


def _read_json(source: Path, now: float) -> SandboxState:
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FixtureError(f"cannot read {source}: {error}") from None
    try:
        return SandboxState.from_json(raw, now=now)
    except FixtureError as error:
        raise FixtureError(f"{source}: {error}") from None


class StateStore:
    """Keeps ``data_dir/state.sqlite3`` up to date with a ``SandboxState``, from one thread."""

    def __init__(self, state: SandboxState, data_dir: Path, connection: sqlite3.Connection) -> None:
        self.state = state
        self.path = data_dir / STATE_FILE
        self._connection: sqlite3.Connection | None = connection
        self._saved_version = -1
        self._pending: Pending = {}
        self._requests_saved = 0
        self._extensions_saved: dict[str, str] | None = None
        #: Objects kept but not saved yet, by key; under ``state.lock``.
        self._objects: dict[str, bytes] = {}
        self._wake = threading.Condition()
        #: Whether the writer waits for a change; only then does a change wake it.
        self._idle = False
        self._write_lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-state", daemon=True)
        state.on_change(self._notify)

    @classmethod
    def open(cls, data_dir: Path, fixture: Path, *, now: float) -> StateStore:
        """Load ``data_dir``'s saved state, or seed it from ``fixture``."""
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / OBJECTS_DIR).mkdir(exist_ok=True)
        path = data_dir / STATE_FILE
        try:
            connection = _connect(path)
        except sqlite3.Error as error:
            raise FixtureError(f"cannot read {path}: {error}") from None
        try:
            try:
                state = _load(connection, now)
            except sqlite3.Error as error:
                raise FixtureError(f"cannot read {path}: {error}") from None
            except (FixtureError, ValueError) as error:
                raise FixtureError(f"{path}: {error}") from None
            if state is not None:
                store = cls(state, data_dir, connection)
                store._saved_version = state.version
                store._requests_saved = len(state.document_requests)
                store._extensions_saved = dict(state.allowed_extensions)
                source = path
            else:
                legacy = data_dir / LEGACY_STATE_FILE
                source = legacy if legacy.exists() else fixture
                store = cls(_read_json(source, now), data_dir, connection)
                store.save()
        except BaseException:
            connection.close()
            raise
        log.info("Sandbox state loaded from %s", source)
        return store

    def start(self) -> StateStore:
        self._thread.start()
        return self

    def _notify(self) -> None:
        # The version moved before this is read, and the writer says it is idle before it
        # compares versions: a change is either seen there or wakes it here. Waking it
        # while it gathers changes (or saves) would cost a thread switch per change.
        if self._idle:
            with self._wake:
                self._wake.notify_all()

    def keep_object(self, key: str, data: bytes) -> None:
        """Keep the bytes of the object ``key`` (replacing any before); saved with the
        next save, readable at once."""
        with self.state.lock:
            self._objects[key] = data
            self.state.changed()

    def read_object(self, key: str) -> bytes | None:
        """The bytes kept for ``key``, or ``None``."""
        with self.state.lock:
            data = self._objects.get(key)
        if data is not None:
            return data
        with self._write_lock:
            if self._connection is None:
                return None
            row = self._connection.execute(
                "SELECT data FROM objects WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def save(self) -> int:
        """Write what changed since the last save, in one transaction; how many records.

        Changes that could not be written stay pending for the next save.
        """
        with self._write_lock:
            if self._connection is None:
                return 0  # stopped
            state = self.state
            with state.lock:
                version = state.version
                for name, changed in state.take_changes().items():
                    self._pending.setdefault(name, {}).update(changed)
                requests = state.document_requests
                rewrite = len(requests) < self._requests_saved
                new_requests = [
                    dict(vars(r)) for r in requests[0 if rewrite else self._requests_saved :]
                ]
                current = dict(state.allowed_extensions)
                objects = dict(self._objects)
            extensions = None if current == self._extensions_saved else current
            written = self._write(self._connection, new_requests, rewrite, extensions, objects)
            self._pending = {}
            with state.lock:  # saved, unless kept again meanwhile
                for key, data in objects.items():
                    if self._objects.get(key) is data:
                        del self._objects[key]
            self._requests_saved = (0 if rewrite else self._requests_saved) + len(new_requests)
            if extensions is not None:
                self._extensions_saved = extensions
            self._saved_version = max(self._saved_version, version)
            return written

    def _write(
        self,
        connection: sqlite3.Connection,
        requests: list[dict[str, Any]],
        rewrite: bool,
        extensions: dict[str, str] | None,
        objects: dict[str, bytes],
    ) -> int:
        if not (self._pending or requests or rewrite or extensions is not None or objects):
            return 0
        connection.execute("BEGIN IMMEDIATE")
        try:
            for name, rows in self._pending.items():
                connection.executemany(
                    f"INSERT INTO {name} (id, record) VALUES (?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                    [(key, _text(row)) for key, row in rows.items() if row is not None],
                )
                connection.executemany(
                    f"DELETE FROM {name} WHERE id = ?",
                    [(key,) for key, row in rows.items() if row is None],
                )
            if rewrite:
                connection.execute("DELETE FROM document_requests")
            connection.executemany(
                "INSERT INTO document_requests (record) VALUES (?)",
                [(_text(row),) for row in requests],
            )
            connection.executemany(
                "INSERT INTO objects (key, data) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                objects.items(),
            )
            if extensions is not None:
                connection.execute(
                    "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
                    ("allowed_extensions", _text(extensions)),
                )
            connection.execute(
                "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
                ("format_version", str(FORMAT_VERSION)),
            )
            connection.execute("COMMIT")
            return sum(map(len, self._pending.values())) + len(requests) + len(objects)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every change so far is on disk (saving it here if need be)."""
        deadline = time.monotonic() + timeout
        while self._saved_version < self.state.version and time.monotonic() < deadline:
            self.save()
            if self._connection is None:
                return

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        try:
            self.flush()
        finally:
            with self._write_lock:
                if self._connection is not None:
                    self._connection.close()
                    self._connection = None

    def _run(self) -> None:
        while True:
            with self._wake:
                self._idle = True
                while not self._stopping and self._saved_version >= self.state.version:
                    self._wake.wait()
                self._idle = False
                if self._stopping:
                    return
            try:
                self.save()
            except (OSError, sqlite3.Error):
                log.exception("Could not save the sandbox state to %s", self.path)
            with self._wake:  # let a burst of changes gather into the next save
                self._wake.wait_for(lambda: self._stopping, timeout=SAVE_INTERVAL)
