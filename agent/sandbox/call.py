"""One method call as the handlers see it: who asks, when, with which settings; and the reply.

A handler is ``(Call, params) -> Reply``; the server builds the ``Call`` and wraps the
``Reply`` in Kompliant's envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.sandbox.state import Document, SandboxState, iso
from agent.sandbox.verify import Caller

LATEST_VERSION = "2025-03-24"
KNOWN_VERSIONS = frozenset({LATEST_VERSION})

#: ``presign(key, content_type, size, document_id, expires_at)`` → (upload_url, fields)
Presign = Callable[[str, str, int, str, float], tuple[str, list[tuple[str, str]]]]
#: For an external store: ``probe(document)`` → (size, sha256 hex) once its object exists.
Probe = Callable[[Document], tuple[int, str] | None]


@dataclass(frozen=True)
class ApiConfig:
    presign: Presign
    form_lifetime: float = 300.0
    hash_encoding: str = "hex"  # or "base64"
    completion_delay: float = 0.0
    max_file_size: int = 5 * 1024**3
    probe: Probe | None = None
    #: Replaces the state's list for this run only (extension → content type).
    allowed_extensions: Mapping[str, str] | None = None
    #: Answer every refused batch item as a bare BAD_REQUEST with a message of its own.
    plain_refusals: bool = False


@dataclass(frozen=True)
class Call:
    state: SandboxState
    config: ApiConfig
    caller: Caller
    now: float
    version: str = LATEST_VERSION

    @property
    def account_id(self) -> str:
        return self.caller.account_id

    @property
    def stamp(self) -> str:
        return iso(self.now)


@dataclass(frozen=True)
class Reply:
    data: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] | None = None  # batch methods


Handler = Callable[[Call, Mapping[str, Any]], Reply]
