"""Waiting for COMPLETED with an injected clock, then hex/Base64 hash comparison."""

from __future__ import annotations

import base64
import hashlib

import pytest

from agent.errors import HashMismatch, RetryLater
from agent.upload.identity import FileIdentity
from agent.upload.verify import decode_sha256, hashes_match, wait_until_stored
from tests.kit.clock import FakeClock
from tests.upload.fakes import FakeKompliant

CONTENT = b"%PDF-1.7 statement"
DIGEST = hashlib.sha256(CONTENT).digest()
IDENTITY = FileIdentity(len(CONTENT), 1, DIGEST.hex())


def api_with(statuses: list[str], stored_hash: str | None) -> FakeKompliant:
    api = FakeKompliant(statuses=statuses, stored_hash=stored_hash)
    api.create_document("sr_A", "a.pdf", len(CONTENT))
    return api


@pytest.mark.parametrize(
    "stored",
    [
        DIGEST.hex(),
        DIGEST.hex().upper(),
        base64.b64encode(DIGEST).decode(),
        base64.b64encode(DIGEST).decode().rstrip("="),
        base64.urlsafe_b64encode(DIGEST).decode(),
        "sha256:" + DIGEST.hex(),
    ],
)
def test_hex_or_base64_hash_is_accepted(stored: str) -> None:
    assert hashes_match(stored, IDENTITY.sha256) is True
    time = FakeClock(0.0)
    api = api_with(["COMPLETED"], stored)
    doc = wait_until_stored(api, "d_1", IDENTITY, clock=time, sleep=time.sleep)
    assert doc.completed
    assert time.sleeps == []


def test_polls_with_growing_waits_and_tolerates_unknown_statuses() -> None:
    time = FakeClock(0.0)
    api = api_with(["PENDING", "SCANNING_FOR_VIRUSES", "PENDING", "COMPLETED"], DIGEST.hex())
    wait_until_stored(api, "d_1", IDENTITY, clock=time, sleep=time.sleep)
    assert api.calls.count("get") == 4
    assert time.sleeps == [0.25, 0.5, 1.0]


def test_a_different_hash_is_a_mismatch() -> None:
    other = hashlib.sha256(b"something else").hexdigest()
    assert hashes_match(other, IDENTITY.sha256) is False
    time = FakeClock(0.0)
    with pytest.raises(HashMismatch) as info:
        wait_until_stored(
            api_with(["COMPLETED"], other), "d_1", IDENTITY, clock=time, sleep=time.sleep
        )
    assert info.value.code == "HASH_MISMATCH"


def test_a_different_size_is_a_mismatch() -> None:
    api = api_with(["COMPLETED"], DIGEST.hex())
    bigger = FileIdentity(IDENTITY.size + 1, 1, IDENTITY.sha256)
    with pytest.raises(HashMismatch):
        wait_until_stored(api, "d_1", bigger, clock=FakeClock(0.0), sleep=FakeClock(0.0).sleep)


def test_timeout_is_retry_later_with_a_clear_message_and_bounded_polls() -> None:
    time = FakeClock(0.0)
    api = api_with(["PENDING"], None)
    with pytest.raises(RetryLater) as info:
        wait_until_stored(api, "d_1", IDENTITY, timeout=10, clock=time, sleep=time.sleep)
    assert "has not confirmed the upload of d_1 after 10 s" in info.value.message
    assert time.now == pytest.approx(10)
    assert max(time.sleeps) <= 5.0
    assert api.calls.count("get") < 12


def test_unreadable_hashes_decode_to_none() -> None:
    assert decode_sha256("d41d8cd98f00b204e9800998ecf8427e") is None  # MD5
    assert decode_sha256("not a hash at all!") is None
    assert hashes_match("zzz", IDENTITY.sha256) is None
