"""`kompliant-agent sandbox`: a local Kompliant API and S3 upload endpoint, in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from agent.cli import exitcodes
from agent.locations import locations
from agent.sandbox import DEMO_FIXTURE, FaultSettings, SandboxSettings, start_sandbox
from agent.sandbox.state import DEFAULT_EXTENSIONS, FixtureError
from agent.sandbox.store import has_saved_state

DESCRIPTION = """\
Runs a strict local emulator of the Kompliant API and of the S3 presigned upload, for
trying the agent without an account and for tests. State is kept in the data folder
across restarts; the fixture only seeds an empty folder. Faults can also be changed
while it runs: POST /_sandbox/faults (see docs/sandbox.md). Stop it with Ctrl-C.
"""


def default_data_dir() -> Path:
    return locations().state_dir / "sandbox"


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a rate is a number between 0 and 1")
    return value


def _seconds(minimum: float) -> Any:
    def parse(text: str) -> float:
        value = float(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g} seconds")
        return value

    return parse


def parse_extensions(text: str) -> dict[str, str]:
    """``pdf,jpg,tiff=image/tiff`` → extension → content type."""
    allowed: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, content_type = item.partition("=")
        name = name.lower().lstrip(".")
        content_type = content_type.strip() or DEFAULT_EXTENSIONS.get(name, "")
        if not content_type:
            raise argparse.ArgumentTypeError(
                f"no known content type for .{name}: write it as {name}=<content type>"
            )
        allowed[name] = content_type
    if not allowed:
        raise argparse.ArgumentTypeError("name at least one extension")
    return allowed


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "sandbox",
        help="run a local Kompliant sandbox (API + S3 upload) for trying the agent",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port (default: %(default)s; 0 picks a free one)"
    )
    parser.add_argument(
        "--data", type=Path, help="data folder (default: the agent's state folder/sandbox)"
    )
    parser.add_argument(
        "--fixture",
        type=Path,
        help="JSON fixture that seeds an empty data folder (default: the demo)",
    )
    form = parser.add_argument_group("documents and upload forms")
    form.add_argument(
        "--form-lifetime",
        type=_seconds(1),
        default=300.0,
        metavar="SECONDS",
        help="lifetime of an upload form (default: %(default)g)",
    )
    form.add_argument(
        "--allowed-extensions",
        type=parse_extensions,
        metavar="LIST",
        help="e.g. pdf,jpg,jpeg,png or tiff=image/tiff (default: the fixture's)",
    )
    form.add_argument(
        "--hash-encoding",
        choices=("hex", "base64"),
        default="hex",
        help="how document.get shows the SHA-256 (default: %(default)s)",
    )
    form.add_argument(
        "--completion-delay",
        type=_seconds(0),
        default=0.0,
        metavar="SECONDS",
        help="time from upload to upload_status COMPLETED (default: 0)",
    )
    form.add_argument(
        "--plain-refusals",
        action="store_true",
        help="answer every refused batch item as a bare BAD_REQUEST with a message of its own",
    )
    faults = parser.add_argument_group("faults (for tests and benchmarks)")
    faults.add_argument(
        "--5xx-rate",
        dest="rate_5xx",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="share of API calls answered 500 or 503",
    )
    faults.add_argument(
        "--429-rate",
        dest="rate_429",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="share of API calls answered 429",
    )
    faults.add_argument(
        "--retry-after",
        type=_seconds(0),
        default=1.0,
        metavar="SECONDS",
        help="Retry-After of a 429 (default: %(default)g)",
    )
    faults.add_argument(
        "--drop-rate",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="share of API calls whose connection is closed without an answer",
    )
    faults.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="MS", help="added delay per request"
    )
    faults.add_argument("--seed", type=int, help="seed for repeatable random faults")
    faults.add_argument(
        "--upload-faults", action="store_true", help="apply the rates and latency to uploads too"
    )
    s3 = parser.add_argument_group(
        "a real S3-compatible store instead of the built-in one (needs the s3 extra)"
    )
    s3.add_argument("--s3-endpoint", metavar="URL", help="e.g. http://127.0.0.1:9000")
    s3.add_argument(
        "--s3-bucket",
        default="kompliant-sandbox",
        help="bucket (created if missing; default: %(default)s)",
    )
    s3.add_argument(
        "--s3-access-key",
        default=os.environ.get("AWS_ACCESS_KEY_ID"),
        help="default: $AWS_ACCESS_KEY_ID",
    )
    s3.add_argument(
        "--s3-secret-key",
        default=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        help="default: $AWS_SECRET_ACCESS_KEY (prefer it: arguments show in process lists)",
    )
    s3.add_argument("--s3-region", default="us-east-1", help="default: %(default)s")
    parser.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    external = None
    if args.s3_endpoint:
        from agent.sandbox.external_s3 import ExternalS3

        external = ExternalS3(
            args.s3_endpoint, args.s3_bucket, args.s3_access_key, args.s3_secret_key, args.s3_region
        )
        external.ensure_bucket()
    return SandboxSettings(
        form_lifetime=args.form_lifetime,
        allowed_extensions=args.allowed_extensions,
        hash_encoding=args.hash_encoding,
        completion_delay=args.completion_delay,
        plain_refusals=args.plain_refusals,
        faults=FaultSettings(
            rate_5xx=args.rate_5xx,
            rate_429=args.rate_429,
            retry_after=args.retry_after,
            drop_rate=args.drop_rate,
            latency_ms=args.latency_ms,
            seed=args.seed,
            on_upload=args.upload_faults,
        ),
        external_store=external,
    )


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    data_dir = args.data or default_data_dir()
    if args.s3_endpoint and not (args.s3_access_key and args.s3_secret_key):
        print(
            "kompliant-agent sandbox: --s3-endpoint needs the store's access key and secret key: "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or --s3-access-key).",
            file=sys.stderr,
        )
        return exitcodes.USAGE
    settings = settings_from(args)
    seeded = not has_saved_state(data_dir)
    try:
        sandbox = start_sandbox(
            data_dir, fixture=args.fixture, host=args.host, port=args.port, settings=settings
        )
    except FixtureError as error:
        print(
            f"kompliant-agent sandbox: {error}. "
            "Fix the fixture, or start with an empty --data folder.",
            file=sys.stderr,
        )
        return exitcodes.CANNOT_SUCCEED
    except OSError as error:
        print(
            f"kompliant-agent sandbox: cannot listen on {args.host}:{args.port} "
            f"({error.strerror}). Choose another --port, or stop the program using it.",
            file=sys.stderr,
        )
        return exitcodes.CANNOT_SUCCEED
    print(f"Kompliant sandbox at {sandbox.base_url}")
    print(f"  data folder: {data_dir}")
    if seeded:
        print(f"  seeded from: {args.fixture or DEMO_FIXTURE}")
    credentials = sandbox.demo_credentials()
    if credentials is not None:
        print("Demo credentials (public test values; they work only against this sandbox):")
        print(f"  API URL:     {credentials.api_url}")
        print(f"  API key:     {credentials.api_key}")
        print(f"  secret key:  {credentials.secret_key}")
        print(f"  auth token:  {credentials.auth_token}")
    print("Press Ctrl-C to stop.", flush=True)
    waiter = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: waiter.set())
    try:
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping the sandbox.", flush=True)
        sandbox.stop()
    return exitcodes.OK
