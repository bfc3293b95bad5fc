"""A real S3-compatible store behind the sandbox (``kompliant-agent sandbox --s3-endpoint URL``).

Instead of its built-in upload endpoint, the sandbox can hand out forms presigned for a
real store (AWS S3, MinIO, LocalStack, moto…). The forms carry the same conditions as the
built-in ones — the exact key, Content-Type and ``x-amz-meta-document-id``, a
``content-length-range`` equal to the declared size, the expiry — and the sandbox learns
that an upload finished by looking at the store (:meth:`ExternalS3.stored`).

How strictly the store enforces the form is its own business: test-infra.md lists which
emulators check what. boto3 is an optional extra (``pip install 'kompliant-agent[s3]'``)
and is imported only when this class is used.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from pathlib import Path
from typing import Any

from agent.errors import AgentError, CannotSucceed, NetworkError
from agent.sandbox.s3policy import FormSpec
from agent.sandbox.s3post import StoredObject

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_FIELD_ORDER = (
    "content-type",
    "key",
    "policy",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-meta-document-id",
)
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class ExternalS3:
    """Presigns POST forms for ``bucket`` at ``endpoint_url`` and checks what was stored.

    Thread-safe: boto3 clients may be shared between threads, and the hash cache is locked.
    """

    def __init__(
        self,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
    ) -> None:
        boto3, config_class, self._errors = _import_boto3()
        self.endpoint_url = endpoint_url.rstrip("/")
        self.bucket = bucket
        self.region = region
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            # Path style: the upload URL is <endpoint>/<bucket>, which works for a store on
            # 127.0.0.1 where <bucket>.127.0.0.1 would not resolve.
            config=config_class(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        self._lock = threading.Lock()
        self._hashed: dict[str, tuple[str, StoredObject]] = {}

    def presign(self, spec: FormSpec, *, now: float) -> tuple[str, list[tuple[str, str]]]:
        """The upload URL and the ordered form fields for ``spec`` (file part goes last).

        boto3 dates the policy by the machine's clock; ``now`` only turns
        ``spec.expires_at`` into a lifetime (at least one second).
        """
        lifetime = max(1, math.ceil(spec.expires_at - now))
        fields = {"Content-Type": spec.content_type, "x-amz-meta-document-id": spec.document_id}
        # boto3 adds {"bucket": …} and {"key": …} itself; a field given in Fields needs
        # its own condition, or the store would refuse it as an extra input field.
        conditions = [
            ["eq", "$Content-Type", spec.content_type],
            ["eq", "$x-amz-meta-document-id", spec.document_id],
            ["content-length-range", spec.size, spec.size],
        ]
        post = self._call(
            "presign a form",
            spec.key,
            lambda: self._client.generate_presigned_post(
                Bucket=self.bucket,
                Key=spec.key,
                Fields=fields,
                Conditions=conditions,
                ExpiresIn=lifetime,
            ),
        )
        return str(post["url"]), _ordered(post["fields"])

    def stored(self, key: str) -> StoredObject | None:
        """The object at ``key`` with its SHA-256, or ``None`` while there is none.

        The hash is computed once per version of the object (its ETag) by streaming it.
        ``path`` is ``<bucket>/<key>``, relative: the object is not on the local disk.
        """
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except self._errors as exc:
            if _error_code(exc) in _MISSING_CODES:
                return None
            raise self._failure("look at", key, exc) from exc
        etag = str(head.get("ETag", ""))
        with self._lock:
            cached = self._hashed.get(key)
        if cached is not None and cached[0] == etag:
            return cached[1]
        stored = self._hash(key, etag, head)
        if stored is not None:
            with self._lock:
                self._hashed[key] = (etag, stored)
        return stored

    def ensure_bucket(self) -> None:
        """Create the bucket when the store does not have it yet."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except self._errors as exc:
            if _error_code(exc) not in _MISSING_CODES and _error_code(exc) != "NoSuchBucket":
                raise self._failure("look at the bucket of", self.bucket, exc) from exc
        extra: dict[str, Any] = {}
        if self.region != "us-east-1":
            extra["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self._call(
            "create the bucket",
            self.bucket,
            lambda: self._client.create_bucket(Bucket=self.bucket, **extra),
        )
        log.info("Created bucket %s at %s", self.bucket, self.endpoint_url)

    def _hash(self, key: str, etag: str, head: dict[str, Any]) -> StoredObject | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        except self._errors as exc:
            code = _error_code(exc)
            if code in _MISSING_CODES or code in ("412", "PreconditionFailed"):
                return None  # deleted or replaced since head_object: look again later
            raise self._failure("read", key, exc) from exc
        digest = hashlib.sha256()
        size = 0
        try:
            for chunk in answer["Body"].iter_chunks(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        except self._errors as exc:
            raise self._failure("read", key, exc) from exc
        finally:
            answer["Body"].close()
        metadata = head.get("Metadata") or {}
        return StoredObject(
            key=key,
            size=size,
            sha256_hex=digest.hexdigest(),
            path=Path(self.bucket, *key.split("/")),
            document_id=metadata.get("document-id"),
        )

    def _call(self, doing: str, name: str, call: Any) -> Any:
        try:
            return call()
        except self._errors as exc:
            raise self._failure(doing, name, exc) from exc

    def _failure(self, doing: str, name: str, exc: Exception) -> AgentError:
        response = getattr(exc, "response", None)
        if isinstance(response, dict):  # botocore's ClientError: the store answered
            return CannotSucceed(
                f"The S3 store at {self.endpoint_url} refused to {doing} {name}: "
                f"{_error_code(exc)}",
                code=_error_code(exc),
                http_status=response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                hint="Check --s3-endpoint, the bucket name and the S3 access key and secret.",
            )
        return NetworkError(
            f"Could not reach the S3 store at {self.endpoint_url} to {doing} {name} "
            f"({type(exc).__name__})",
            hint="Check that the store is running and --s3-endpoint points to it.",
        )


def _import_boto3() -> tuple[Any, Any, tuple[type[Exception], ...]]:
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:
        raise CannotSucceed(
            "Using an external S3 store (--s3-endpoint) needs boto3, which is not installed",
            code="S3_EXTRA_MISSING",
            hint="Install it with: pip install 'kompliant-agent[s3]'",
        ) from exc
    return boto3, Config, (BotoCoreError, ClientError)


def _ordered(fields: dict[str, str]) -> list[tuple[str, str]]:
    """boto3's fields in Kompliant's order; any field it does not name comes last."""

    def rank(name: str) -> int:
        lower = name.lower()
        return _FIELD_ORDER.index(lower) if lower in _FIELD_ORDER else len(_FIELD_ORDER)

    return sorted(((str(k), str(v)) for k, v in fields.items()), key=lambda item: rank(item[0]))


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))
