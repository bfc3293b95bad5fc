"""The sandbox's event-loop server: pipelined requests in order, large uploads as they arrive."""

from __future__ import annotations

import io
import json
import re
import socket
import uuid
from pathlib import Path

import pytest

from agent.sandbox import RunningSandbox
from agent.sandbox.loop_http import INLINE_BODY
from tests.kit.sandbox import DEMO_SUBJECT, sandbox_call
from tests.sandbox.big_upload import post_big_pdf


def _read_answer(stream: io.BufferedReader) -> tuple[bytes, bytes]:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        assert line, f"the connection closed after {head!r}"
        head += line
    length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head)
    assert length, head
    return head, stream.read(int(length.group(1)))


def test_pipelined_requests_are_answered_in_their_order(sandbox: RunningSandbox) -> None:
    """Three requests in one write; the second changes what the third reads."""
    body = b'{"seed": 7}'
    raw = (
        b"GET /_sandbox/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        b"POST /_sandbox/faults HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
        b"GET /_sandbox/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    ) % (len(body), body)
    host, port = sandbox.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(raw)
        stream = sock.makefile("rb")
        answers = [_read_answer(stream) for _ in range(3)]
    assert [head.split(b" ", 2)[1] for head, _ in answers] == [b"200"] * 3
    seeds = [json.loads(data)["seed"] for _, data in answers]
    assert seeds == [None, 7, 7]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_a_large_upload_is_stored_as_it_arrives(sandbox: RunningSandbox) -> None:
    """Well above what is read whole, through the sandbox's own server: stored with its
    hash, without the sandbox holding it in memory."""
    size = 160 * 1024 * 1024
    assert size > 100 * INLINE_BODY
    created = sandbox_call(
        sandbox,
        "document.create",
        {"subject_record_id": DEMO_SUBJECT, "file_name": "big.pdf", "file_size_in_bytes": size},
    )
    assert created.status_code == 200, created.text
    document = created.json()["data"]["document"]
    fields = dict(document["presign_values"])
    boundary = uuid.uuid4().hex
    head = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
            for name, value in fields.items()
        )
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            f"Content-Type: {fields['Content-Type']}\r\n\r\n"
        ).encode()
    )
    sent = post_big_pdf(document["upload_url"], head, boundary, size, timeout=120)

    assert sent.response.status_code == 204, sent.response.text
    got = sandbox_call(sandbox, "document.get", {"document_id": document["document_id"]})
    stored = got.json()["data"]["document"]
    assert stored["upload_status"] == "COMPLETED"
    assert stored["hash"] == sent.sha256
    assert sent.growth_mib < 40, f"peak RSS grew by {sent.growth_mib:.0f} MiB for a 160 MiB upload"
