"""Kompliant Signature Version 1 (``KSig1-HMAC-SHA256``) as an :class:`httpx.Auth`.

Only the documented minimal scheme is implemented: the signed string is the API key
alone (kompliant-api.md §2.4). The canonical string for more data elements is not
public, so signing more would be guesswork the server could reject.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Generator
from dataclasses import dataclass, field

import httpx

from agent.errors import CredentialsError

SCHEME = "KSig1-HMAC-SHA256"
API_VERSION = "2025-03-24"
SECRET_KEY_BYTES = 33


@dataclass(frozen=True)
class Credentials:
    """One credential set as Kompliant issues it, plus the API it belongs to."""

    api_url: str
    api_key: str
    secret_key: str = field(repr=False)
    auth_token: str = field(repr=False)

    def auth(self) -> KSig1Auth:
        return KSig1Auth(self.api_key, self.secret_key, self.auth_token)


def decode_secret_key(secret_key_b64: str) -> bytes:
    """The HMAC key: the Base64-decoded secret key (33 raw bytes)."""
    try:
        key = base64.b64decode(secret_key_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CredentialsError(
            "The secret key is not valid Base64",
            hint="Copy the secret key exactly as Kompliant delivered it (44 characters).",
        ) from None
    if len(key) != SECRET_KEY_BYTES:
        raise CredentialsError(
            f"The secret key decodes to {len(key)} bytes, not {SECRET_KEY_BYTES}",
            hint="Copy the secret key exactly as Kompliant delivered it (44 characters).",
        )
    return key


def signature(api_key: str, secret_key_b64: str) -> str:
    """Base64 of HMAC-SHA256(key=decoded secret key, msg=UTF-8 API key)."""
    key = decode_secret_key(secret_key_b64)
    digest = hmac.new(key, api_key.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class KSig1Auth(httpx.Auth):
    """Adds the three KSig1 headers and pins the API version on every request."""

    def __init__(self, api_key: str, secret_key_b64: str, auth_token: str) -> None:
        self._api_key = api_key
        self._authorization = f"{SCHEME} {signature(api_key, secret_key_b64)}"
        self._auth_token = auth_token

    def __repr__(self) -> str:  # never show the secrets
        return f"KSig1Auth(api_key={self._api_key!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._authorization
        request.headers["X-API-Key"] = self._api_key
        request.headers["X-API-Auth-Token"] = self._auth_token
        request.headers["X-API-Version"] = API_VERSION
        yield request
