"""Files dropped into a folder and claimed, for the settle tests."""

from __future__ import annotations

from pathlib import Path

from agent.settle import claim
from agent.settle.claim import Claim


def drop(folder: Path, name: str, content: str | bytes = "pdf") -> Path:
    """A file ``name`` in ``folder`` (made if missing) holding ``content``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def claimed(folder: Path, name: str = "report.pdf", content: str | bytes = "pdf bytes") -> Claim:
    """A file dropped into ``folder`` and claimed by this process."""
    taken = claim(drop(folder, name, content))
    assert taken is not None
    return taken
