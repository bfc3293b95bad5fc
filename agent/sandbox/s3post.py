"""The sandbox's S3 upload endpoint: receives a presigned POST form and stores its file.

The HTTP server hands each ``POST /s3/<bucket>`` to :meth:`UploadEndpoint.handle`. The body
is parsed as it arrives (python-multipart's streaming parser): form fields are kept, and
once the ``file`` part begins the form is judged by :func:`~agent.sandbox.s3policy.judge_form`
exactly as S3 would; the file then goes to a temporary file in the storage folder chunk by
chunk, hashed on the way, and is renamed to ``<storage>/<key>`` only when it is complete
and of an allowed size. Nothing of a refused or broken upload stays on disk. A body the
server read whole (at most ``INLINE_BODY``) may instead be handed to ``keep`` once it is
accepted — the sandbox keeps such small objects in its state database, where saving one
costs far less than making a file.

Where this endpoint answers differently from real S3, on purpose:

- A field after the file part is refused (400 ``InvalidArgument``); S3 silently ignores it,
  so a client that passes here loses nothing on S3.
- A body that is not ``multipart/form-data`` gets S3's 412 ``PreconditionFailed``.
- A refused upload is read to its end before the answer goes out, so the client reads the
  XML error instead of a reset connection (S3 may reset instead).
- A field sent twice is refused (400 ``InvalidArgument``).
- Keys that cannot be a file path below the storage folder (``..``, empty segments, a
  trailing ``/``) are refused (400 ``InvalidArgument``).
- Bytes whose real type (their signature, :mod:`agent.content.filetype`) does not fit the
  form's ``Content-Type`` are refused (400 ``InvalidArgument``, ``ArgumentName``
  ``Content-Type``), as Kompliant's upload store refuses them (the seed guide,
  "Content-Type Enforcement"); S3 itself does not look at content. A ``Content-Type``
  the table does not know is not judged.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import io
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

from agent.content.filetype import HEAD_SIZE, fits, kind_for_media_type, sniff, words
from agent.sandbox.formparts import Part, form_type, plain_parts
from agent.sandbox.s3answers import (
    FIELD_AFTER_FILE,
    INCOMPLETE,
    INTERNAL,
    MALFORMED,
    MISSING_LENGTH,
    NO_FILE,
    NOT_MULTIPART,
    PRE_DATA_TOO_LARGE,
    Response,
    closing,
    content_mismatch,
    error_response,
    new_request_id,
    no_such_bucket,
    success_response,
    unstorable_key,
)
from agent.sandbox.s3policy import (
    S3_MAX_POST_SIZE,
    AcceptedForm,
    FormSpec,
    S3Rejection,
    S3Settings,
    judge_form,
    presign,
    size_rejection,
    too_large,
)

__all__ = [
    "FormSpec",
    "Keep",
    "RequestBody",
    "S3Rejection",
    "S3Settings",
    "StoredObject",
    "UploadEndpoint",
    "error_response",
    "no_such_bucket",
    "presign",
]

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
#: S3 refuses a form whose fields before the file exceed 20 KB.
MAX_PRE_DATA = 20 * 1024
#: Room for the form fields and boundaries around a file of the largest allowed size.
_FORM_OVERHEAD = 1024 * 1024
_TEMP_PREFIX = ".incoming-"
#: A part's Content-Disposition as every client writes it: nothing quoted or escaped in
#: its values, so that ``parse_options_header`` would read it the same way.
_PLAIN_DISPOSITION = re.compile(rb'form-data; name="([^"\\;]*)"(?:; filename="[^"\\;]*")?')


class RequestBody(Protocol):
    """What :meth:`UploadEndpoint.handle` reads the body from: a file object or socket
    reader (``BinaryIO``, ``io.BufferedReader``). ``read1`` is used when it has one."""

    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class StoredObject:
    """An object the store holds: its key, size, SHA-256, where it lies, its document."""

    key: str
    size: int
    sha256_hex: str
    #: ``None``: handed to the endpoint's ``keep`` instead of written to a file.
    path: Path | None
    document_id: str | None


#: ``keep(key, data)``: takes an accepted object's bytes instead of a file.
Keep = Callable[[str, bytes], None]


class _Stage(enum.Enum):
    FIELDS = "fields"
    FILE = "file"
    AFTER_FILE = "after file"


class _Refused(Exception):
    """Stops the parse: the upload is refused with ``rejection``."""

    def __init__(self, rejection: S3Rejection) -> None:
        super().__init__(rejection.code)
        self.rejection = rejection


class UploadEndpoint:
    """Receives presigned POST uploads for ``settings.bucket`` into ``storage_dir``."""

    def __init__(
        self,
        storage_dir: Path,
        settings: S3Settings,
        *,
        clock: Callable[[], float] = time.time,
        on_stored: Callable[[StoredObject], None],
        keep: Keep | None = None,
    ) -> None:
        self.storage_dir = storage_dir
        self.settings = settings
        self._clock = clock
        self._on_stored = on_stored
        self._keep = keep
        storage_dir.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> str:
        """The URL path this endpoint serves: ``/s3/<bucket>``."""
        return f"/s3/{self.settings.bucket}"

    def handle(
        self, headers: Mapping[str, str], body: RequestBody, content_length: int | None
    ) -> Response:
        """Receive one POST: status, response headers and body to send back.

        The response headers carry no ``Content-Length``; the HTTP server frames the body.
        """
        request_id = new_request_id()
        lowered = {name.lower(): value for name, value in headers.items()}
        if content_length is None:
            return closing(error_response(MISSING_LENGTH, request_id))
        media_type, boundary = form_type(lowered.get("content-type", ""))
        if media_type != b"multipart/form-data" or not boundary:
            _drain(body, content_length)
            return error_response(NOT_MULTIPART, request_id)
        if content_length > S3_MAX_POST_SIZE + _FORM_OVERHEAD:
            # Not worth reading: answer at once and close the connection.
            return closing(error_response(too_large(content_length, S3_MAX_POST_SIZE), request_id))

        receiver = _Receiver(self.storage_dir, self.settings, self._clock, self._keep)
        try:
            outcome = receiver.receive(body, content_length, boundary)
            if isinstance(outcome, S3Rejection):
                log.info("Upload refused: %s %s", outcome.code, outcome.message)
                return error_response(outcome, request_id)
            stored = receiver.commit(outcome)
        except OSError:
            log.exception("Could not store the upload for %s", self.storage_dir)
            return error_response(INTERNAL, request_id)
        finally:
            receiver.discard()
        log.info("Stored %s (%d bytes)", stored.key, stored.size)
        self._on_stored(stored)
        return success_response(
            outcome,
            bucket=self.settings.bucket,
            md5=receiver.md5_hex,
            host=lowered.get("host", ""),
            rid=request_id,
        )


class _Receiver:
    """The state of one POST body being parsed."""

    def __init__(
        self,
        storage_dir: Path,
        settings: S3Settings,
        clock: Callable[[], float],
        keep: Keep | None = None,
    ):
        self._storage_dir = storage_dir
        self._settings = settings
        self._clock = clock
        self._keep = keep
        #: The file's bytes, when the body was read whole and ``keep`` takes them.
        self._kept: bytearray | None = None
        self._whole = False
        self._stage = _Stage.FIELDS
        self._fields: list[tuple[str, str]] = []
        self._pre_data = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._part_headers: dict[str, bytes] = {}
        self._part_name = ""
        self._part_value = bytearray()
        self._accepted: AcceptedForm | None = None
        self._temp_path: Path | None = None
        self._temp: BinaryIO | None = None
        self._too_large = False
        self._size = 0
        self._head = bytearray()  # the file's first bytes, for its real type
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._ended = False

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    def receive(
        self, body: RequestBody, content_length: int, boundary: bytes
    ) -> AcceptedForm | S3Rejection:
        callbacks: dict[str, Callable[..., None]] = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        if isinstance(body, io.BytesIO):  # read whole already: cut at once when plain
            self._whole = True
            whole = body.read()
            parts = plain_parts(whole, boundary) if len(whole) == content_length else None
            if parts is not None:
                try:
                    self._take_parts(whole, parts)
                except _Refused as refused:
                    self.discard()
                    return refused.rejection
                except OSError:
                    log.exception("Could not write the upload to %s", self._storage_dir)
                    self.discard()
                    return INTERNAL
                return self._verdict()
            body = io.BytesIO(whole)
        parser = MultipartParser(boundary, cast("MultipartCallbacks", callbacks))
        remaining = content_length
        try:
            while remaining > 0:
                try:
                    chunk = _read_some(body, min(CHUNK, remaining))
                except OSError as exc:
                    log.info("Upload body not received whole: %s", exc)
                    return INCOMPLETE
                if not chunk:
                    log.info("Upload body ended %d bytes early", remaining)
                    return INCOMPLETE
                remaining -= len(chunk)
                parser.write(chunk)
        except _Refused as refused:
            rejection = refused.rejection
        except FormParserError:
            rejection = MALFORMED
        except OSError:
            log.exception("Could not write the upload to %s", self._storage_dir)
            rejection = INTERNAL
        else:
            return self._verdict()
        self.discard()
        _drain(body, remaining)
        return rejection

    def _take_parts(self, body: bytes, parts: list[Part]) -> None:
        """What python-multipart's callbacks for ``parts`` do (as ``formparts.replay`` makes
        them), in one pass: the same checks on the same slices, with fewer calls (those of
        ``_on_part_begin`` and ``_count_pre_data`` written out here)."""
        fields = _Stage.FIELDS
        for part in parts:
            stage = self._stage
            if stage is _Stage.AFTER_FILE and not self._too_large:
                raise _Refused(FIELD_AFTER_FILE)
            headers: dict[str, bytes] = {}
            self._part_headers = headers
            self._part_value = bytearray()
            for name_start, name_end, value_start, value_end in part.headers:
                if stage is fields:
                    self._pre_data += name_end - name_start + value_end - value_start
                    if self._pre_data > MAX_PRE_DATA:
                        raise _Refused(PRE_DATA_TOO_LARGE)
                name = body[name_start:name_end].decode("latin-1").strip().lower()
                headers[name] = body[value_start:value_end].strip()
            self._on_headers_finished()
            data_start, data_end = part.data
            if self._stage is fields:
                self._pre_data += data_end - data_start
                if self._pre_data > MAX_PRE_DATA:
                    raise _Refused(PRE_DATA_TOO_LARGE)
                self._fields.append((self._part_name, _text(body[data_start:data_end])))
                continue
            if data_end > data_start:
                self._on_part_data(body, data_start, data_end)
            self._on_part_end()
        self._ended = True

    def _verdict(self) -> AcceptedForm | S3Rejection:
        if self._stage is _Stage.FIELDS:
            return NO_FILE
        if not self._ended or self._stage is _Stage.FILE or self._accepted is None:
            return MALFORMED
        if self._too_large:
            return too_large(self._size, self._accepted.max_size)
        return (
            size_rejection(self._size, self._accepted)
            or _content_rejection(bytes(self._head), self._accepted.content_type)
            or self._accepted
        )

    def commit(self, accepted: AcceptedForm) -> StoredObject:
        """Move the received file to its key's path (the rename is atomic), or hand its
        bytes to ``keep``."""
        if self._kept is not None:
            assert self._keep is not None
            data, self._kept = bytes(self._kept), None
            self._keep(accepted.key, data)
            return StoredObject(
                key=accepted.key,
                size=self._size,
                sha256_hex=self._sha256.hexdigest(),
                path=None,
                document_id=accepted.document_id,
            )
        assert self._temp is not None and self._temp_path is not None
        target = _object_path(self._storage_dir, accepted.key)
        assert target is not None  # checked when the file part began
        self._temp.close()
        try:
            os.replace(self._temp_path, target)
        except FileNotFoundError:  # its folder is made by the first object in it
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._temp_path, target)
        self._temp_path = None
        return StoredObject(
            key=accepted.key,
            size=self._size,
            sha256_hex=self._sha256.hexdigest(),
            path=target,
            document_id=accepted.document_id,
        )

    def discard(self) -> None:
        """Close and remove the temporary file, if one is left."""
        self._kept = None
        if self._temp is not None:
            self._temp.close()
        if self._temp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temp_path.unlink()
            self._temp_path = None

    # --- parser callbacks ---------------------------------------------------------------

    def _on_part_begin(self) -> None:
        if self._stage is _Stage.AFTER_FILE and not self._too_large:
            raise _Refused(FIELD_AFTER_FILE)
        self._part_headers = {}
        self._part_value = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_pre_data(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_pre_data(end - start)
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = bytes(self._header_name).decode("latin-1").strip().lower()
        self._part_headers[name] = bytes(self._header_value).strip()
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _on_headers_finished(self) -> None:
        header = self._part_headers.get("content-disposition")
        plain = _PLAIN_DISPOSITION.fullmatch(header) if header is not None else None
        if plain is not None:  # what parse_options_header gives it, without its walk
            name: bytes | None = plain.group(1)
        else:
            disposition, params = parse_options_header(header)
            name = params.get(b"name")
            if disposition != b"form-data":
                name = None
        if name is None:
            raise _Refused(MALFORMED)
        self._part_name = _text(name)
        if self._stage is _Stage.FIELDS and self._part_name.lower() == "file":
            self._begin_file()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._stage is _Stage.FIELDS:
            self._count_pre_data(end - start)
            self._part_value += data[start:end]
            return
        if self._stage is _Stage.AFTER_FILE:
            return  # only reached while counting an oversized file's answer: drop it
        self._size += end - start
        if self._too_large:
            return
        assert self._accepted is not None
        if self._size > self._accepted.max_size:
            # Stop storing at once; keep counting to tell the client the file's real size.
            self._too_large = True
            self.discard()
            return
        piece = data[start:end]
        if len(self._head) < HEAD_SIZE:
            self._head += piece[: HEAD_SIZE - len(self._head)]
        if self._kept is not None:
            self._kept += piece
        else:
            assert self._temp is not None
            self._temp.write(piece)
        self._sha256.update(piece)
        self._md5.update(piece)

    def _on_part_end(self) -> None:
        if self._stage is _Stage.FILE:
            self._stage = _Stage.AFTER_FILE
        elif self._stage is _Stage.FIELDS:
            self._fields.append((self._part_name, _text(bytes(self._part_value))))

    def _on_end(self) -> None:
        self._ended = True

    def _count_pre_data(self, size: int) -> None:
        if self._stage is not _Stage.FIELDS:
            return
        self._pre_data += size
        if self._pre_data > MAX_PRE_DATA:
            raise _Refused(PRE_DATA_TOO_LARGE)

    def _begin_file(self) -> None:
        verdict = judge_form(self._fields, settings=self._settings, now=self._clock())
        if isinstance(verdict, S3Rejection):
            raise _Refused(verdict)
        if not _storable(verdict.key):
            raise _Refused(unstorable_key(verdict.key))
        self._accepted = verdict
        if self._whole and self._keep is not None:
            self._kept = bytearray()
            self._stage = _Stage.FILE
            return
        self._temp_path = self._storage_dir / f"{_TEMP_PREFIX}{uuid.uuid4().hex}.part"
        self._temp = self._temp_path.open("xb")
        self._stage = _Stage.FILE


def _content_rejection(head: bytes, content_type: str | None) -> S3Rejection | None:
    """The refusal of a file that starts with ``head`` under ``content_type``, or None."""
    expected = kind_for_media_type(content_type or "")
    if expected is None:
        return None
    found = sniff(head)
    if fits(expected, found):
        return None
    shown = words(found) if found is not None else "of no type the upload store recognises"
    return content_mismatch(content_type or "", shown)


def _read_some(body: RequestBody, size: int) -> bytes:
    """Up to ``size`` bytes, as soon as some have arrived (``read1`` where there is one)."""
    read1 = getattr(body, "read1", None)
    if read1 is not None:
        return bytes(read1(size))
    return body.read(size)


def _drain(body: RequestBody, remaining: int) -> None:
    """Read and drop the rest of a refused body, so the client gets to read the answer."""
    try:
        while remaining > 0:
            chunk = _read_some(body, min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
    except OSError:
        return


def _storable(key: str) -> bool:
    """Whether the object ``key`` can be a file below the storage folder."""
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in key or "\x00" in key:
        return False
    return not parts[0].startswith(_TEMP_PREFIX)


def _object_path(storage_dir: Path, key: str) -> Path | None:
    """Where the object ``key`` is stored, or ``None`` when it cannot be a path below."""
    return storage_dir.joinpath(*key.split("/")) if _storable(key) else None


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(MALFORMED) from None
