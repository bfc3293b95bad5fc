"""`kompliant-agent demo`: the agent against a local sandbox, ready to take files.

Starts the sandbox with its demo workflow, gives the demo its own agent home (nothing of
a real installation is touched), creates the workflow's folders, drops a sample PDF into
"Bank statements" and runs the watching agent until Ctrl-C. The sample ends up in
``done/`` with its receipt; any file dropped into the folders follows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agent.cli import exitcodes
from agent.locations import HOME_ENV, locations
from agent.owned_names import AGENT_OWNED

DEMO_WORKFLOW = "w_DemoApplication000000001"
BANK_STATEMENTS = "rd_BankStatements00000001"
PROOF_OF_ADDRESS = "rd_ProofOfAddress0000001"
SAMPLE_NAME = "bank-statement-sample.pdf"

SAMPLE_PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R
  /Resources << /Font << /F1 5 0 R >> >> >> endobj
4 0 obj << /Length 56 >> stream
BT /F1 18 Tf 24 72 Td (Sample bank statement) Tj ET
endstream endobj
5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj
trailer << /Root 1 0 R >>
%%EOF
"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    demo = sub.add_parser(
        "demo",
        help="try the agent against a local sandbox (no account needed)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--home",
        metavar="DIR",
        type=Path,
        help="the demo's own agent home (default: a 'demo' folder in the cache folder)",
    )
    demo.add_argument("--port", type=int, default=0, help="sandbox port (default: any free)")
    demo.add_argument("--fresh", action="store_true", help="start from an empty demo home")
    demo.add_argument(
        "--once", action="store_true", help="settle the sample and what is there, then exit"
    )
    demo.add_argument(
        "--no-tray",
        action="store_true",
        help="no tray icon (the default when there is no display)",
    )
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    home = (args.home or locations().cache_dir / "demo").expanduser().resolve()
    if args.fresh and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ[HOME_ENV] = str(home)  # every location below now lives in the demo home

    # Imported here: they read the locations, which the line above just moved.
    from agent.cli.run import engine_for
    from agent.config import load_config, save_config
    from agent.config.model import CombinedFolder, InboxRule, WorkflowConfig
    from agent.decide import add_workflow
    from agent.kompliant.client import KompliantClient
    from agent.sandbox.server import start_sandbox
    from agent.settle.lock import ProfileLock

    sandbox = start_sandbox(home / "sandbox", port=args.port)
    credentials = sandbox.demo_credentials()
    assert credentials is not None, "the demo fixture has credentials"
    for name, value in (
        ("KOMPLIANT_API_URL", credentials.api_url),
        ("KOMPLIANT_API_KEY", credentials.api_key),
        ("KOMPLIANT_SECRET_KEY", credentials.secret_key),
        ("KOMPLIANT_AUTH_TOKEN", credentials.auth_token),
    ):
        os.environ[name] = value
    try:
        config = load_config()
        if config.workflow(DEMO_WORKFLOW) is None:
            config = config.with_workflow(
                WorkflowConfig(
                    DEMO_WORKFLOW,
                    "Demo Ltd",
                    combined=(
                        CombinedFolder(
                            "Bank statement (address + account)",
                            (BANK_STATEMENTS, PROOF_OF_ADDRESS),
                        ),
                    ),
                    inbox_rules=(InboxRule("*statement*", (BANK_STATEMENTS,)),),
                )
            )
        profile = config.agent.profile
        lock = ProfileLock.acquire(locations().profile_state(profile), profile=profile)
        with KompliantClient(credentials) as client:
            config, _ = add_workflow(client, config, DEMO_WORKFLOW, "Demo Ltd")
            save_config(config)
            workflow_folder = next(config.root.glob(f"*({DEMO_WORKFLOW})"))
            bank = workflow_folder / "Bank statements"
            (bank / SAMPLE_NAME).write_bytes(SAMPLE_PDF)
            _introduce(sandbox.base_url, workflow_folder, bank, args.once)

            stop = threading.Event()
            if not args.once:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, lambda *_: stop.set())
            announcer = threading.Thread(
                target=_announce_done, args=(config.root, stop), daemon=True
            )
            announcer.start()
            app = None if args.once or args.no_tray else _tray_app(config, stop)
            on_snapshot = app.publish if app is not None else None
            with engine_for(config, credentials, once=args.once, on_snapshot=on_snapshot) as engine:
                summary = app.run(lambda: engine.run(stop)) if app is not None else engine.run(stop)
            stop.set()
            announcer.join(timeout=2)
        lock.release()
    finally:
        sandbox.stop()
    sample_done = (bank / AGENT_OWNED.done_dir / SAMPLE_NAME).exists()
    print(
        f"\nDemo stopped: {summary.done} done, {summary.failed} failed, "
        f"{summary.unsettled} still to do. Everything stays in {home}."
    )
    if args.once and not sample_done:
        print("The sample did not reach done/: see the messages above.", file=sys.stderr)
        return exitcodes.RETRY_LATER
    return exitcodes.OK


def _tray_app(config: Any, stop: threading.Event) -> Any:
    """The tray icon, when a display is there (the same one `run` shows)."""
    from agent.tray.app import TrayApp
    from agent.tray.loader import add_log_file, display_available, load_tray

    if not display_available():
        return None
    tray = load_tray()
    if tray is None:
        return None
    add_log_file()
    print("The tray icon shows what the agent does; its menu has the usual actions.\n")
    return TrayApp(config, tray, stop)


def _introduce(base_url: str, workflow_folder: Path, bank: Path, once: bool) -> None:
    print(
        f"""
Kompliant sandbox running at {base_url} (demo account, nothing leaves this machine).

The demo workflow's folders are ready:
  {workflow_folder}
    Bank statements/   Proof of address/   Government ID/   -> linked to that requirement
    Bank statement (address + account)/                    -> one file, two requirements
    Inbox/             files named *statement* go to Bank statements; others wait
    Upload only/       uploaded without linking
    Tax return 2019/   no longer required: files there fail with the reason

A sample PDF was put into {bank.name}/; watch it move to done/ with a receipt.
Drop your own PDF, JPG or PNG files into the folders (a .txt shows how failures look:
they go to failed/ with a note saying what to do).
""",
        flush=True,
    )
    if not once:
        print("Press Ctrl-C to stop.\n", flush=True)


def _announce_done(root: Path, stop: threading.Event) -> None:
    """Print each file as it reaches done/ or failed/, so the demo shows what happens."""
    seen: set[Path] = set()
    while True:
        for outcome in (AGENT_OWNED.done_dir, AGENT_OWNED.failed_dir):
            for note in root.glob(f"*/*/{outcome}/*.txt"):
                if note in seen or note.name.startswith("."):
                    continue
                seen.add(note)
                first = note.read_text(encoding="utf-8", errors="replace").splitlines()[2:3]
                what = first[0] if first else ""
                print(f"  {outcome:6} {note.parent.parent.name}/{note.name}: {what}", flush=True)
        if stop.is_set():
            return
        time.sleep(0.5)
