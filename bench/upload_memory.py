"""Peak memory and throughput of the upload steps, for a 1 MB and a 1 GB file.

    .venv/bin/python bench/upload_memory.py [--sizes 1M,1G] [--keep]

The sandbox runs in its own process (its memory is not counted). Each upload runs in a
fresh child process doing the real steps — identify (SHA-256), document.create, the
presigned POST, waiting for COMPLETED with the hash check — and reports its peak RSS
(VmHWM, the kernel's high-water mark of resident memory; ru_maxrss elsewhere). The
files are generated in a temporary folder with a repeating pseudo-random block, so they
are real bytes on disk that are cheap to make.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import big_pdf, peak_rss_kib, serve_sandbox  # noqa: E402 - bench/ is the script's own folder

SUBJECT = "sr_DemoSubject000000000001"
UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}


def parse_size(text: str) -> int:
    text = text.strip().upper()
    if text[-1] in UNITS:
        return int(float(text[:-1]) * UNITS[text[-1]])
    return int(text)


# ---------------------------------------------------------------- the sandbox process


# ---------------------------------------------------------------- one upload, measured


def upload_child(path: Path) -> None:
    from agent.credentials import resolve_credentials
    from agent.kompliant.client import KompliantClient
    from agent.upload.create import create_document
    from agent.upload.identity import identify
    from agent.upload.presigned import send_form
    from agent.upload.verify import wait_until_stored

    baseline = peak_rss_kib()
    with KompliantClient(resolve_credentials()) as client:
        started = time.perf_counter()
        identity = identify(path)
        hashed = time.perf_counter()
        created = create_document(client, SUBJECT, path.name, identity.size)
        send_form(created.form, path, file_name=path.name, identity=identity, timeout=300)
        sent = time.perf_counter()
        wait_until_stored(client, created.document_id, identity, timeout=300)
        done = time.perf_counter()
        client.delete_document(created.document_id)
    print(
        json.dumps(
            {
                "size": identity.size,
                "baseline_kib": baseline,
                "peak_kib": peak_rss_kib(),
                "hash_s": hashed - started,
                "send_s": sent - hashed,
                "total_s": done - started,
            }
        )
    )


# ---------------------------------------------------------------- the driver


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,1G", help="comma-separated sizes (K, M, G)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--sandbox", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sandbox:
        serve_sandbox(args.sandbox)
        return 0
    if args.child:
        upload_child(args.child)
        return 0

    work = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    me = [sys.executable, str(Path(__file__).resolve())]
    sandbox = subprocess.Popen(
        [*me, "--sandbox", str(work / "sandbox")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    rows = []
    try:
        assert sandbox.stdout is not None
        env = {**os.environ, **json.loads(sandbox.stdout.readline())}
        for text in args.sizes.split(","):
            size = parse_size(text)
            path = work / f"bench-{text.strip()}.pdf"
            big_pdf(path, size)
            out = subprocess.run(
                [*me, "--child", str(path)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            rows.append((text.strip(), json.loads(out.stdout.strip().splitlines()[-1])))
            path.unlink()
    finally:
        if sandbox.stdin:
            sandbox.stdin.close()
        sandbox.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"{'file':>6} {'peak RSS':>10} {'after imports':>14} {'hash':>10} {'upload':>10} "
        f"{'total':>8}"
    )
    for label, row in rows:
        mib = row["size"] / 1024**2
        print(
            f"{label:>6} {row['peak_kib'] / 1024:>7.1f} MiB {row['baseline_kib'] / 1024:>10.1f} MiB"
            f" {mib / row['hash_s']:>6.0f} MiB/s {mib / row['send_s']:>6.0f} MiB/s"
            f" {row['total_s']:>6.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
