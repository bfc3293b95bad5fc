"""Keeping the sandbox's state on disk: ``state.json`` and the ``objects/`` folder.

A fixture only seeds an empty data folder; afterwards ``state.json`` is the truth and
survives restarts. Every ``SandboxState.changed()`` wakes the writer thread, which saves a
snapshot atomically (temporary file, then rename) — changes made in quick succession are
saved together, never out of order.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from agent.sandbox.state import FixtureError, SandboxState

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
OBJECTS_DIR = "objects"
#: Shortest time between two saves while changes keep coming (stop() saves at once).
SAVE_INTERVAL = 0.05


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
