"""Fixtures and helpers shared by the sandbox tests."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from agent.kompliant.auth import Credentials
from agent.sandbox.s3policy import (
    S3Settings,
    encode_policy,
    iso_expiration,
    sign_policy,
    signing_key,
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A real S3-compatible server on loopback (moto's), for one test module; skipped
    where the s3 extra is not installed."""
    pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def resigned(
    form: Sequence[tuple[str, str]],
    conditions: list[Any],
    *,
    expiration: float,
    settings: S3Settings,
) -> list[tuple[str, str]]:
    """``form`` (a presigned form's fields) with its policy replaced by ``conditions`` and
    the SigV4 ones, expiring at ``expiration``, correctly signed with ``settings``' key."""
    fields = dict(form)
    policy = encode_policy(
        {
            "expiration": iso_expiration(expiration),
            "conditions": [
                *conditions,
                {"x-amz-algorithm": fields["X-Amz-Algorithm"]},
                {"x-amz-credential": fields["X-Amz-Credential"]},
                {"x-amz-date": fields["X-Amz-Date"]},
                {"x-amz-security-token": fields["X-Amz-Security-Token"]},
            ],
        }
    )
    key = signing_key(settings.secret_key, fields["X-Amz-Date"][:8], settings.region)
    fields.update({"policy": policy, "X-Amz-Signature": sign_policy(policy, key)})
    return list(fields.items())


def printed_credentials(
    process: subprocess.Popen[str], timeout: float = 60.0
) -> tuple[str, Credentials]:
    """What a starting ``kompliant-agent sandbox`` printed, up to its "Ctrl-C" line, and
    the URL and demo credentials it printed there."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not seen or "Ctrl-C" not in seen[-1]:
        line = process.stdout.readline()
        assert line and time.monotonic() < deadline, f"the sandbox did not start: {seen}"
        seen.append(line)
    output = "".join(seen)
    url = re.search(r"sandbox at (http://\S+)", output)
    printed = [
        re.search(rf"{name}:\s+(\S+)", output) for name in ("API key", "secret key", "auth token")
    ]
    assert url and all(printed), output
    return output, Credentials(url.group(1), *(m.group(1) for m in printed if m))
