"""After the presigned upload: wait until Kompliant stored the file, then compare hashes.

Kompliant learns of the upload asynchronously and has no callback a desktop agent can
receive (kompliant-api.md §5.3), so ``document.get`` is polled with back-off until
``upload_status`` is ``COMPLETED``. Only ``COMPLETED`` is documented; any other value
means "not yet" and is logged once. The server's ``hash`` is SHA-256 in an encoding the
docs leave open, so hex (any case) and Base64 are both accepted.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable
from typing import Protocol

from agent.errors import HashMismatch, RetryLater
from agent.kompliant.models import Document
from agent.upload.identity import FileIdentity

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
FIRST_WAIT = 0.25
MAX_WAIT = 5.0

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_seen_statuses: set[str] = set()


class DocumentReader(Protocol):
    def get_document(self, document_id: str) -> Document: ...


def decode_sha256(text: str) -> bytes | None:
    """The 32 bytes of a SHA-256 written as hex or Base64 (std or URL-safe), else ``None``."""
    value = text.strip()
    for prefix in ("sha256:", "sha256=", "SHA256:", "SHA256="):
        value = value.removeprefix(prefix)
    if _HEX64.fullmatch(value):
        return bytes.fromhex(value)
    padded = value + "=" * (-len(value) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(padded.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
        if len(raw) == 32:
            return raw
    return None


def hashes_match(server_hash: str, local_sha256_hex: str) -> bool | None:
    """``True``/``False`` when the server's hash is readable, ``None`` when it is not."""
    decoded = decode_sha256(server_hash)
    if decoded is None:
        return None
    return decoded == bytes.fromhex(local_sha256_hex)


def check_stored(document: Document, identity: FileIdentity) -> None:
    """Raise :class:`HashMismatch` when the stored file is not the local one."""
    if document.file_size is not None and document.file_size != identity.size:
        raise HashMismatch(
            f"Kompliant stored {document.file_size} bytes for {document.document_id}, "
            f"but the file has {identity.size}",
            code="SIZE_MISMATCH",
        )
    if not document.hash:
        log.warning(
            "Kompliant gave no hash for %s; only its size could be checked",
            document.document_id,
        )
        return
    match = hashes_match(document.hash, identity.sha256)
    if match is None:
        log.warning(
            "Kompliant's hash for %s is in an unknown form; only its size could be checked",
            document.document_id,
        )
        return
    if not match:
        raise HashMismatch(
            f"The copy Kompliant stored for {document.document_id} has a different SHA-256 "
            f"than the file on disk (local {identity.sha256[:12]}…)",
            code="HASH_MISMATCH",
        )


def wait_until_stored(
    client: DocumentReader,
    document_id: str,
    identity: FileIdentity,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Document:
    """Poll ``document.get`` until the upload is COMPLETED, then check size and hash.

    Raises :class:`RetryLater` when Kompliant has not confirmed within ``timeout`` seconds
    and :class:`HashMismatch` when the stored file differs.
    """
    deadline = clock() + timeout
    wait = FIRST_WAIT
    while True:
        document = client.get_document(document_id)
        if document.completed:
            check_stored(document, identity)
            log.debug("Kompliant stored %s (sha256 verified)", document_id)
            return document
        _note_status(document.upload_status)
        left = deadline - clock()
        if left <= 0:
            raise RetryLater(
                f"Kompliant has not confirmed the upload of {document_id} after "
                f"{timeout:g} s (upload status {document.upload_status or 'empty'})",
                code="UPLOAD_NOT_CONFIRMED",
                hint="The file was sent; the agent checks again later before sending it anew.",
            )
        sleep(min(wait, left))
        wait = min(wait * 2, MAX_WAIT)


def _note_status(status: str) -> None:
    if status not in _seen_statuses:
        _seen_statuses.add(status)
        log.info("upload status %r: not completed yet, still waiting", status)
