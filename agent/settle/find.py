"""Finding a claimed file again when it is not where the journal last saw it.

A user may rename or move a file inside ``.processing/`` (or the whole folder, which the
engine follows by the folder's marker id). The claimed file is then looked for in its
folder's ``.processing/`` by what cannot change with a rename: its inode and device;
failing that (a copy, another file system) a file of the same size and SHA-256. Files
another entry holds are never taken for it. The owner record moves along with the file,
so no stale record stays behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Container
from datetime import UTC, datetime
from pathlib import Path

from agent.atomic import write_atomically
from agent.owned_names import AGENT_OWNED
from agent.settle.claim import Claim, ClaimOwner, record_text
from agent.settle.moves import sidecar_name

log = logging.getLogger(__name__)


def find_claimed(
    folder: Path,
    *,
    ino: int | None,
    dev: int | None,
    size: int | None,
    sha256: str | None,
    skip: Container[Path] = (),
    name: str | None = None,
) -> Path | None:
    """The file in ``folder/.processing`` that is the claimed one, or None. ``name``: the
    claimed name, the last resort when neither the inode nor the content is known (a
    file claimed in the instant its folder moved)."""
    processing = folder / AGENT_OWNED.processing_dir
    try:
        entries = list(os.scandir(processing))
    except OSError:
        return None
    same_size: list[Path] = []
    for entry in sorted(entries, key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name.startswith(AGENT_OWNED.temp_prefix) or entry.name.endswith(
            AGENT_OWNED.claim_suffix
        ):
            continue
        if path in skip:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue  # the work folder of scanned stacks, and anything not a file
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if ino is not None and st.st_ino == ino and (dev is None or st.st_dev == dev):
            return path
        if size is not None and st.st_size == size:
            same_size.append(path)
    if sha256 is not None:
        for path in same_size:
            if content_sha256(path) == sha256:
                return path
    if ino is None and sha256 is None and name is not None:
        candidate = processing / name
        if candidate not in skip and candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def move_record(old: Path, new: Claim, owner: ClaimOwner) -> None:
    """The claimed file moved from ``old`` to ``new.path``: its owner record goes along."""
    if new.claimed_at is None or new.owner is None:
        new = Claim(new.path, new.source, owner, new.claimed_at or datetime.now(UTC))
    try:
        write_atomically(new.record_path, record_text(new), durable=False, make_folder=False)
    except OSError as error:
        log.warning("cannot write the claim record of %s: %s", new.path, error)
        return
    old_record = old.with_name(sidecar_name(old.name, AGENT_OWNED.claim_suffix))
    if old_record != new.record_path:
        with contextlib.suppress(FileNotFoundError):
            old_record.unlink()


def remove_record(claimed: Path) -> None:
    """The claimed file is gone for good: its owner record goes too."""
    with contextlib.suppress(FileNotFoundError):
        claimed.with_name(sidecar_name(claimed.name, AGENT_OWNED.claim_suffix)).unlink()


def content_sha256(path: Path) -> str:
    """The hex SHA-256 of what ``path`` holds now; "" when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()
