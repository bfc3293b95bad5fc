"""The one place the agent's HTTP connection to Kompliant is configured.

* HTTPS for every host except loopback (the local sandbox): the API key, auth token and
  a signature that never changes (KSig1's minimal scheme, kompliant-api.md §2.4) travel
  in every request's headers, so plain HTTP over a network would hand them out.
* TLS certificates are always verified; there is deliberately no switch to turn that off.
  A corporate proxy that re-signs TLS is trusted by pointing ``SSL_CERT_FILE`` at its CA.
* ``trust_env``: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` and
  ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are honoured as in curl. (A custom ``transport``,
  which only tests pass, replaces the proxy routing: httpx then ignores the proxy variables.)
"""

from __future__ import annotations

import ipaddress

import httpx

from agent import __version__
from agent.errors import CannotSucceed

USER_AGENT = f"kompliant-agent/{__version__}"

#: Seconds allowed to open a connection and to wait for a free pooled connection.
CONNECT_TIMEOUT = 10.0


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_url(url: httpx.URL) -> str:
    """``url`` without user name, password, query or fragment: fit for messages and logs."""
    return str(url.copy_with(username=None, password=None, query=None, fragment=None))


def check_api_url(base_url: str) -> httpx.URL:
    """The parsed API URL, or :class:`CannotSucceed` saying why it may not be used."""
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError) as err:
        raise CannotSucceed(
            "The Kompliant API URL is not a valid URL",
            code="INVALID_API_URL",
            hint="Give the API URL as https://api.kompliant.com (run `kompliant-agent login`).",
        ) from err
    if url.scheme not in ("http", "https") or not url.host:
        raise CannotSucceed(
            f"The Kompliant API URL {safe_url(url)!r} is not an http(s) URL with a host",
            code="INVALID_API_URL",
            hint="Give the API URL as https://api.kompliant.com (run `kompliant-agent login`).",
        )
    if url.scheme != "https" and not is_loopback_host(url.host):
        raise CannotSucceed(
            f"The Kompliant API URL {safe_url(url)} uses plain http to a host that is not "
            "this computer; the credentials would cross the network unencrypted",
            code="INSECURE_API_URL",
            hint=(
                "Use https:// (https://api.kompliant.com). Plain http is accepted only for "
                "a sandbox on this computer (127.0.0.1, ::1 or localhost)."
            ),
        )
    return url


def timeouts(timeout: float) -> httpx.Timeout:
    """Read/write get ``timeout``; connecting and waiting for the pool get at most 10 s."""
    quick = min(timeout, CONNECT_TIMEOUT)
    return httpx.Timeout(connect=quick, read=timeout, write=timeout, pool=quick)


def make_http_client(
    base_url: str, *, timeout: float, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An :class:`httpx.Client` for the Kompliant API at ``base_url``.

    Relative request URLs (``"document.create"``) resolve under ``base_url``.
    """
    url = check_api_url(base_url)
    return httpx.Client(
        base_url=url,
        timeout=timeouts(timeout),
        verify=True,
        trust_env=True,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        transport=transport,
    )
