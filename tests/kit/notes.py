"""What the agent writes beside a settled file, as the tests read it.

The receipt beside a file in ``done/``, the note beside a file in ``failed/`` and what
it says went wrong, the document id a receipt names, and the SHA-256 a receipt and
Kompliant show for content.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from agent.owned_names import AGENT_OWNED


def receipt(done_file: Path) -> str:
    """The text of the receipt beside ``done_file``."""
    note = done_file.with_name(done_file.name + AGENT_OWNED.receipt_suffix)
    return note.read_text(encoding="utf-8")


def error_note(failed_file: Path) -> str:
    """The text of the note beside ``failed_file``."""
    note = failed_file.with_name(failed_file.name + AGENT_OWNED.error_suffix)
    return note.read_text(encoding="utf-8")


def failure_notes(root: Path) -> str:
    """Every note in a failed/ under ``root`` as "path: what went wrong" lines, for an
    assertion's message: a file that went to failed/ instead of done/ says why."""
    lines = [
        f"{note.relative_to(root)}: {went_wrong(note.read_text(encoding='utf-8'))}"
        for note in sorted(root.rglob(f"{AGENT_OWNED.failed_dir}/*{AGENT_OWNED.error_suffix}"))
    ]
    return "\n".join(lines) or "(no file in a failed/ folder)"


def went_wrong(note: str) -> str:
    """An error note's "What went wrong" line."""
    return note.split("What went wrong:", 1)[1].split("\n", 1)[0].strip()


def uploaded_id(text: str) -> str:
    """The document id a receipt says the file was uploaded as."""
    found = re.search(r"Uploaded to Kompliant as document (d_\w+)\.", text)
    assert found, text
    return found.group(1)


def sha(content: bytes) -> str:
    """The hex SHA-256 of ``content``, as a receipt and Kompliant's document show it."""
    return hashlib.sha256(content).hexdigest()
