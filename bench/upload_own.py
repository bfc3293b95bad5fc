"""The upload processes' own work on one small file, outside Kompliant's calls, replayed N times.

    .venv/bin/python bench/upload_own.py [--files 3000] [--part send,settle] [--code DIR]

* ``send`` — :func:`agent.upload.presigned.send_form` of a 2 KiB file to a loopback
  server in another process that answers 204 (the server's CPU is not counted), with one
  shared HTTP client, as an upload process sends each file.
* ``settle`` — :func:`agent.settle.settle_done` of a claimed 2 KiB file: the receipt
  written, the file and its receipt moved to done/, the claim record removed. The syncs
  of the receipt and of done/ are left out (their CPU is the kernel's and the same for
  any code).

The process's CPU time (user and system, apart) is divided by the files. ``--code`` imports the
agent from another checkout, to compare two versions with the same replay.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

WARM_UP = 200
SIZE = 2048

SERVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Store(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Store)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

FIELDS = (
    ("Content-Type", "image/png"),
    ("key", "sr_X/d_Y.png"),
    ("policy", "eyJleHBpcmF0aW9uIjoi" * 20),
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    ("X-Amz-Credential", "AKIA/20250101/us-east-1/s3/aws4_request"),
    ("X-Amz-Date", "20250101T000000Z"),
    ("X-Amz-Signature", "ab" * 32),
    ("x-amz-meta-document-id", "d_Y"),
)


def cpu_per_file(files: int, one: Callable[[int], Any]) -> tuple[float, float]:
    for n in range(WARM_UP):
        one(n)
    before = resource.getrusage(resource.RUSAGE_SELF)
    for n in range(WARM_UP, WARM_UP + files):
        one(n)
    after = resource.getrusage(resource.RUSAGE_SELF)
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    return user / files * 1e6, system / files * 1e6


def send(files: int, work: Path) -> tuple[float, float]:
    import httpx

    from agent.kompliant.models import PresignedForm
    from agent.upload.identity import identify
    from agent.upload.presigned import send_form

    store = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert store.stdout is not None
        port = int(store.stdout.readline())
        path = work / "scan.png"
        path.write_bytes(os.urandom(SIZE))
        identity = identify(path)
        form = PresignedForm(f"http://127.0.0.1:{port}/s3/bucket", FIELDS)
        with httpx.Client(timeout=httpx.Timeout(60.0)) as http:
            return cpu_per_file(
                files,
                lambda n: send_form(form, path, file_name="scan.png", identity=identity, http=http),
            )
    finally:
        store.kill()
        store.wait()


def settle(files: int, work: Path) -> tuple[float, float]:
    from agent.settle import DoneRecord, Fulfilled, claim, settle_done

    os.fsync = lambda fd: None
    folder = work / "Bank statements"
    folder.mkdir()
    claims = []
    for n in range(WARM_UP + files):
        path = folder / f"scan-{n:06d}.png"
        path.write_bytes(os.urandom(SIZE))
        taken = claim(path)
        assert taken is not None
        claims.append(taken)
    linked = (Fulfilled("rd_BankStatements00000001", "Bank statements", "f_1"),)
    record = DoneRecord(document_id="d_1", sha256="ab" * 32, size=SIZE, fulfillments=linked)
    return cpu_per_file(files, lambda n: settle_done(claims[n], record))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--part", default="send,settle")
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    parts = {"send": send, "settle": settle}
    for name in args.part.split(","):
        with tempfile.TemporaryDirectory(prefix="upload-own-") as work:
            user, system = parts[name](args.files, Path(work))
        print(
            f"{name}: {args.files} files, CPU {user + system:.0f} µs per file "
            f"(user {user:.0f}, system {system:.0f}; {args.code})"
        )


if __name__ == "__main__":
    main()
