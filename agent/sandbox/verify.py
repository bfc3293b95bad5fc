"""KSig1 verification: who is calling, and may they call this method.

The sandbox checks the documented minimal scheme only (kompliant-api.md §2.4): the
signature is Base64 HMAC-SHA256 over the API key, keyed with the decoded secret key.
Every comparison of a secret is constant-time, and no refusal message repeats a secret.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from agent.errors import CredentialsError
from agent.kompliant.auth import SCHEME, signature


@dataclass(frozen=True)
class ApiKey:
    """One credential set of the fixture."""

    api_key: str
    secret_key: str
    auth_token: str
    account_id: str
    disabled: bool = False
    #: Methods this key may call; ``None`` means every method.
    methods: tuple[str, ...] | None = None
    #: Public test values: printed on start and returned by ``demo_credentials()``.
    public: bool = False


@dataclass(frozen=True)
class Caller:
    api_key: str
    account_id: str


@dataclass(frozen=True)
class AuthFailure:
    http_status: int  # 401 or 403
    code: str
    message: str


UNAUTHENTICATED = "AUTHENTICATION_FAILED"
FORBIDDEN = "AUTHORIZATION_FAILED"


def _header(headers: Mapping[str, str], name: str) -> str:
    """The header ``name``, whatever the case of its name; ``name`` is lower-case."""
    value = headers.get(name)  # the server's headers have lower-case names
    if value is not None:
        return value.strip()
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value.strip()
    return ""


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _unauthenticated(message: str) -> AuthFailure:
    return AuthFailure(401, UNAUTHENTICATED, message)


@functools.lru_cache(maxsize=256)
def _expected_signature(api_key: str, secret_key: str) -> str | None:
    """The signature a key's requests carry (the same on every request), or ``None`` when
    its secret key is unusable."""
    try:
        return signature(api_key, secret_key)
    except CredentialsError:
        return None


def authenticate(
    headers: Mapping[str, str], keys: Mapping[str, ApiKey], method: str
) -> Caller | AuthFailure:
    """The caller behind ``headers``, or why the request is refused (401 / 403)."""
    api_key = _header(headers, "x-api-key")
    token = _header(headers, "x-api-auth-token")
    authorization = _header(headers, "authorization")
    if not api_key:
        return _unauthenticated("The X-API-Key header is missing.")
    if not authorization:
        return _unauthenticated("The Authorization header is missing.")
    if not token:
        return _unauthenticated("The X-API-Auth-Token header is missing.")
    scheme, _, given = authorization.partition(" ")
    if scheme != SCHEME or not given.strip():
        return _unauthenticated(f"The Authorization header must read '{SCHEME} <signature>'.")
    key = keys.get(api_key)
    if key is None:
        return _unauthenticated("The API key is not known.")
    expected = _expected_signature(key.api_key, key.secret_key)
    if expected is None:
        return _unauthenticated("The API key's secret key is unusable.")
    signature_ok = _same(given.strip(), expected)
    token_ok = _same(token, key.auth_token)
    if not signature_ok:
        return _unauthenticated("The signature does not match the API key and secret key.")
    if not token_ok:
        return _unauthenticated("The auth token does not belong to the API key.")
    if key.disabled:
        return AuthFailure(403, FORBIDDEN, "The API key is disabled.")
    if key.methods is not None and method not in key.methods:
        return AuthFailure(403, FORBIDDEN, f"The API key may not call {method}.")
    return Caller(api_key=key.api_key, account_id=key.account_id)
