"""Verified settle: the file that goes to done/ is the file that was hashed and uploaded.

A writer that still held the file open when it was claimed (a network share where no
lease can be taken, a program appending after a pause) can change it in ``.processing/``
after it was read. Just before the move to done/ — and after a restart — the claimed file
is compared with what was read: size, mtime, ctime and inode when the identity was taken
in this run (any write, rename or rewrite in between shows in them), its SHA-256 read
again otherwise or when only the attributes moved. A file that changed makes its upload
stale; the engine then deletes that document and sends the file again.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.errors import FileChanged
from agent.upload.identity import FileIdentity, identify


def as_read(path: Path, identity: FileIdentity) -> FileIdentity | None:
    """The identity of the claimed file when its content is still ``identity``'s (the one
    given, or read again when only its attributes moved); ``None`` when it changed. A file
    that is gone passes: moving it says so."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return identity
    if identity.unchanged(st):
        return identity
    if st.st_size != identity.size:
        return None
    try:
        again = identify(path)
    except FileChanged:
        return None
    return again if again.sha256 == identity.sha256 else None
