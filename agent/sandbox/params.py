"""Refusals in Kompliant's words, and the checks that turn a method's parameters into them.

Every handler reads its JSON object through these checks; what they refuse becomes an
``ApiError`` (HTTP 400 unless said otherwise) in the answer's ``errors``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MAX_BATCH = 100


class ApiError(Exception):
    """A refusal in Kompliant's words: HTTP 400 unless said otherwise."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        entity_type: str | None = None,
        sub_code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        http_status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.entity_type = entity_type
        self.sub_code = sub_code
        self.details = details
        self.http_status = http_status

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            raw["details"] = [dict(d) for d in self.details]
        if self.entity_type:
            raw["entity_type"] = self.entity_type
        if self.sub_code:
            raw["sub_code"] = self.sub_code
        return raw


def bad_request(message: str) -> ApiError:
    return ApiError("BAD_REQUEST", message)


#: batchRequestDocument's page words every ENTITY_NOT_FOUND this way, with the id in details.
NOT_FOUND_MESSAGE = "The given entity(s) does not exist."
#: What the sandbox answers to every refused batch item with ``plain_refusals`` on.
PLAIN_REFUSAL = "This item was not processed."


def not_found(field: str, entity_id: str, *, http_status: int = 400) -> ApiError:
    """ENTITY_NOT_FOUND as the seed page shows it: the id named under ``details``."""
    return ApiError(
        "ENTITY_NOT_FOUND",
        NOT_FOUND_MESSAGE,
        details=[{field: entity_id}],
        http_status=http_status,
    )


def rule(entity_type: str, sub_code: str, message: str) -> ApiError:
    return ApiError("SYSTEM_RULE_VIOLATION", message, entity_type=entity_type, sub_code=sub_code)


_ID = re.compile(r"[A-Za-z0-9]{1,64}")


def text(params: Mapping[str, Any], name: str, *, prefix: str | None = None) -> str:
    value = params.get(name)
    if value is None:
        raise bad_request(f"{name} is required.")
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{name} must be a non-empty string.")
    if prefix is not None:
        head, sep, tail = value.partition("_")
        if head != prefix or not sep or not _ID.fullmatch(tail):
            raise bad_request(f"{name} must be an id in the {prefix}_ prefix format.")
    return value


def flag(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false.")
    return value


def choice(params: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    value = params.get(name)
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}.")
    return value


def filters(params: Mapping[str, Any]) -> Mapping[str, Any]:
    value = params.get("filters") or {}
    if not isinstance(value, Mapping):
        raise bad_request("filters must be an object.")
    return value


def items(params: Mapping[str, Any], name: str) -> list[Any]:
    value = params.get(name)
    if not isinstance(value, list) or not value:
        raise bad_request(f"{name} must be a non-empty array.")
    if len(value) > MAX_BATCH:
        raise bad_request(f"{name} may hold at most {MAX_BATCH} items.")
    return value
