"""The presigned S3 POST: send one file to the form ``document.create`` returned.

The body is built here rather than by httpx's ``files=`` so that every property S3 checks
is explicit and visible in one place:

* every ``presign_values`` field, in the order of the upload guide's examples ("ORDER
  MATTERS") for the fields it names and as given for any other, then the file part LAST
  (S3 ignores fields after the file and refuses a form whose file comes first);
* the file part's Content-Type is the one from ``presign_values`` (the policy has an eq
  condition on it);
* a ``Content-Length`` header: S3 refuses chunked POSTs, and the length is known exactly
  (fields + declared size + closing boundary);
* the file is streamed in chunks from the open descriptor, so memory does not grow with
  the file's size; exactly ``identity.size`` bytes are read, SHA-256 is computed on the
  way, and a file that changed while it was sent is never reported as uploaded. A file
  of at most one chunk is read once before the request and goes out as one body (the
  fields, its bytes, the closing boundary): the same bytes, hashed the same way.

No Kompliant header goes on this request: the form itself is the authorisation. The
request is built from the form alone (:class:`httpx.Request`), never from a client's
default headers or cookies, and sent with :meth:`httpx.Client.send`, so the client's
proxy routing (``HTTPS_PROXY``, ``NO_PROXY``, …) and certificate checks apply as to any
of its requests.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx

from agent.errors import FileChanged, NetworkError, UnexpectedResponse, UploadRejected
from agent.kompliant.models import PresignedForm
from agent.kompliant.transport import USER_AGENT
from agent.upload.identity import FileIdentity, open_regular
from agent.upload.s3_errors import MAX_BODY, error_for_response

log = logging.getLogger(__name__)

CHUNK_SIZE = 256 * 1024
DEFAULT_TIMEOUT = 60.0
FILE_FIELD = "file"
_SUCCESS_STATUSES = frozenset({200, 201, 204})
#: The order the upload guide's examples send the presigned fields in.
FORM_ORDER = (
    "Content-Type",
    "key",
    "policy",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
    "x-amz-meta-document-id",
)


def form_fields(form: PresignedForm) -> tuple[tuple[str, str], ...]:
    """The form's fields in the guide's order; fields it does not name follow as given."""
    rank = {name.lower(): i for i, name in enumerate(FORM_ORDER)}
    order = sorted(
        range(len(form.fields)),
        key=lambda i: (rank.get(form.fields[i][0].lower(), len(rank)), i),
    )
    return tuple(form.fields[i] for i in order)


Progress = Callable[[int, int], None]


class _Shrank(Exception):
    """The file ended before its declared size while it was sent."""


def _escape(name: str) -> str:
    # HTML's multipart/form-data rule for names in Content-Disposition.
    return name.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


class FormBody:
    """A multipart/form-data body of known length, streamed from an open file."""

    def __init__(
        self,
        fields: tuple[tuple[str, str], ...],
        handle: BinaryIO,
        *,
        file_name: str,
        content_type: str,
        size: int,
        chunk_size: int = CHUNK_SIZE,
        progress: Progress | None = None,
        boundary: str | None = None,
    ) -> None:
        self.boundary = boundary or os.urandom(16).hex()
        dash = f"--{self.boundary}\r\n".encode()
        parts = []
        for name, value in fields:
            parts.append(dash)
            parts.append(f'Content-Disposition: form-data; name="{_escape(name)}"\r\n\r\n'.encode())
            parts.append(value.encode("utf-8") + b"\r\n")
        parts.append(dash)
        parts.append(
            f'Content-Disposition: form-data; name="{FILE_FIELD}"; '
            f'filename="{_escape(file_name)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        self._preamble = b"".join(parts)
        self._epilogue = f"\r\n--{self.boundary}--\r\n".encode()
        self._handle = handle
        self._size = size
        self._chunk_size = chunk_size
        self._progress = progress
        self.sent_sha256: str | None = None

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int:
        return len(self._preamble) + self._size + len(self._epilogue)

    def content(self) -> bytes | Iterable[bytes]:
        """What goes on the wire: for a file of at most one chunk the whole body, read and
        hashed now (:class:`_Shrank` if the file is shorter than its size); else the body
        streamed, read and hashed as it goes out."""
        if self._size > self._chunk_size:
            return self
        data = self._read_all()
        self.sent_sha256 = hashlib.sha256(data).hexdigest()
        if self._progress is not None:
            self._progress(self._size, self._size)
        return b"".join((self._preamble, data, self._epilogue))

    def _read_all(self) -> bytes:
        chunks = []
        left = self._size
        while left > 0:
            chunk = self._handle.read(left)
            if not chunk:
                raise _Shrank
            chunks.append(chunk)
            left -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def __iter__(self) -> Iterator[bytes]:
        yield self._preamble
        digest = hashlib.sha256()
        sent = 0
        while sent < self._size:
            chunk = self._handle.read(min(self._chunk_size, self._size - sent))
            if not chunk:
                raise _Shrank
            digest.update(chunk)
            sent += len(chunk)
            yield chunk
            if self._progress is not None:
                self._progress(sent, self._size)
        yield self._epilogue
        self.sent_sha256 = digest.hexdigest()


def expected_status(form: PresignedForm) -> int:
    """204 unless the form asks for 200 or 201 with ``success_action_status`` (as S3 does)."""
    asked = form.get("success_action_status")
    if asked is not None and asked.strip().isdigit() and int(asked) in (200, 201):
        return int(asked)
    return 204


def check_upload_url(url: str) -> None:
    """Refuse to send a document in clear text anywhere but to this machine."""
    if _secure(url):
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    raise UploadRejected(
        f"Kompliant gave an upload address that is not a secure https address ({parts.scheme}://"
        f"{host})",
        code="INSECURE_UPLOAD_URL",
        hint="Nothing was sent. Check the API URL in the agent's settings; if it is right, "
        "contact Kompliant support.",
    )


@functools.lru_cache(maxsize=32)
def _secure(url: str) -> bool:
    # (cached: every form of one bucket has the same address)
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return True
    return parts.scheme == "http" and _loopback(host)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def send_form(
    form: PresignedForm,
    path: Path | str,
    *,
    file_name: str,
    identity: FileIdentity,
    http: httpx.Client | None = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    chunk_size: int = CHUNK_SIZE,
) -> None:
    """POST ``path`` to the presigned form; return only when S3 stored exactly ``identity``.

    Raises :class:`~agent.errors.UploadFormExpired` (ask for a new form),
    :class:`~agent.errors.UploadRejected`, :class:`~agent.errors.FileChanged`,
    :class:`~agent.errors.NetworkError` or another error of :mod:`agent.upload.s3_errors`.
    """
    path = Path(path)
    check_upload_url(form.upload_url)
    fd, st = open_regular(path)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if not identity.same_stat(st):
            raise _changed(path, "before it was sent")
        body = FormBody(
            form_fields(form),
            handle,
            file_name=file_name,
            content_type=form.content_type,
            size=identity.size,
            chunk_size=chunk_size,
            progress=progress,
        )
        own_client = http is None
        client = http or httpx.Client(timeout=httpx.Timeout(timeout))
        try:
            content = body.content()
            status, error_body, retry_after = _post(client, form.upload_url, body, content, timeout)
        except _Shrank:
            raise _changed(path, "while it was sent (it got shorter)") from None
        finally:
            if own_client:
                client.close()
        after = os.fstat(handle.fileno())
    expected = expected_status(form)
    if status != expected:
        if 200 <= status < 300:
            raise UnexpectedResponse(
                f"The upload store answered HTTP {status}, not the {expected} that confirms a "
                "stored file",
                http_status=status,
                hint="Check the proxy settings; the agent retries by itself.",
            )
        raise error_for_response(status, error_body, retry_after=retry_after)
    _check_unchanged(path, identity, after, body.sent_sha256)
    log.debug("sent %s (%d bytes) to the upload store", file_name, identity.size)


def _post(
    client: httpx.Client,
    url: str,
    body: FormBody,
    content: bytes | Iterable[bytes],
    timeout: float,
) -> tuple[int, bytes, float | None]:
    # Not client.build_request: that would merge the client's default headers and
    # cookies into a request that must carry nothing but the form.
    request = httpx.Request(
        "POST",
        url,
        content=content,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
            "Content-Type": body.content_type,
            "Content-Length": str(body.content_length),
        },
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )
    try:
        response = client.send(request, auth=None, stream=True, follow_redirects=False)
    except httpx.TimeoutException as error:
        raise NetworkError(
            f"The upload store did not answer in time ({type(error).__name__})",
            code="UPLOAD_TIMEOUT",
        ) from None
    except httpx.TransportError as error:
        raise NetworkError(
            f"The upload store could not be reached ({type(error).__name__}: {error})",
            code="UPLOAD_NETWORK",
        ) from None
    try:
        collected = bytearray()
        for chunk in response.iter_bytes():
            collected += chunk
            if len(collected) >= MAX_BODY:
                break
        return response.status_code, bytes(collected), _retry_after(response)
    except httpx.TransportError:
        return response.status_code, bytes(collected), _retry_after(response)
    finally:
        response.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _check_unchanged(
    path: Path, identity: FileIdentity, after: os.stat_result, sent_sha256: str | None
) -> None:
    if not identity.same_stat(after):
        raise _changed(path, "while it was sent")
    try:
        now = os.stat(path)
    except FileNotFoundError:
        # Renamed or moved (with its folder, maybe) while it was sent: the caller may find
        # it again by its inode, and then what was sent stands.
        moved = _changed(path, "while it was sent (it was moved or deleted)")
        moved.code = FILE_MOVED
        raise moved from None
    if now.st_ino != after.st_ino or not identity.same_stat(now):
        raise _changed(path, "while it was sent (it was replaced)")
    if sent_sha256 != identity.sha256:
        raise _changed(path, "while it was sent (its content differs from when it was read)")


#: The code of a :class:`FileChanged` for a file that was not at its path after it was sent.
FILE_MOVED = "FILE_MOVED"


def _changed(path: Path, when: str) -> FileChanged:
    return FileChanged(
        f"The file {path.name} changed {when}; it is not reported as uploaded",
        code="FILE_CHANGED",
    )
