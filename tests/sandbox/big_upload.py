"""A large PDF posted to a presigned form as it is made, and how far the peak RSS rose.

Shared by the tests that the sandbox stores a large upload as it arrives — through its
upload endpoint alone and through its own server — without holding it in memory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

BLOCK = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)  # 1 MiB, not all one byte
FIRST = b"%PDF-1.7\n" + BLOCK[9:]  # a PDF's signature: the form says application/pdf


@dataclass(frozen=True)
class BigPost:
    response: httpx.Response
    sha256: str  # of the file part sent
    growth_mib: float  # how far this process's peak RSS rose while it was sent


def peak_rss_kib() -> int:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    assert match is not None
    return int(match.group(1))


def post_big_pdf(url: str, head: bytes, boundary: str, size: int, timeout: float) -> BigPost:
    """POST ``head`` (the form's fields and the file part's header), ``size`` bytes of a
    PDF made block by block, and the closing boundary; skip where the peak RSS counter
    cannot be reset."""
    tail = f"\r\n--{boundary}--\r\n".encode()
    blocks = size // len(BLOCK) - 1

    def body() -> Iterator[bytes]:
        yield head
        yield FIRST
        for _ in range(blocks):
            yield BLOCK
        yield tail

    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pytest.skip("cannot reset the peak RSS counter here")
    before = peak_rss_kib()
    response = httpx.post(
        url,
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        },
        timeout=timeout,
    )
    growth_mib = (peak_rss_kib() - before) / 1024
    expected = hashlib.sha256(FIRST)
    for _ in range(blocks):
        expected.update(BLOCK)
    return BigPost(response, expected.hexdigest(), growth_mib)
