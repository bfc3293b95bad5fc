"""A scanned stack cut at its cover sheets and uploaded: how long it takes, page by page.

    .venv/bin/python bench/scan_split.py [--pages 50] [--covers 5] [--dpi 300] [--keep]
                                         [--detect-only]

Makes the stack the way an office scanner writes one: cover sheets printed by the agent's
own layout (``cover-sheets``) and rasterised, document pages of text, each page scanned
(slight skew, JPEG at quality 75, grey) into an image-only PDF at ``--dpi``, A4.

1. Detection alone, in a child process: every page looked at for a cover, the parts
   planned and written; prints the total, the time per page (mean, median, 95th
   percentile, slowest) and the child's peak memory (VmHWM), which does not grow with
   the number of pages (try ``--pages 500``).
2. Through the running agent against the sandbox (its own process): the stack is dropped
   into the Inbox and the clock runs from the file's close until the stack's receipt is
   in done/, every part uploaded and linked (``--detect-only`` skips this).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402 - bench/ is the script's own folder
    DEMO_LABEL,
    DEMO_WORKFLOW,
    REQUIREMENTS,
    Stability,
    machine,
    make_home,
    peak_rss_kib,
    running_agent,
    running_sandbox,
    write_file,
)


def make_stack(path: Path, pages: int, covers: int, dpi: int) -> list[int]:
    """Write the stack; return the page numbers (from 1) of its covers."""
    from agent.scan.code import CoverCode
    from agent.scan.sheet import SheetContent, cover_sheets_pdf
    from tests.scan.scans import ScanStyle, document_page, image_pdf, rasterise, scanned

    rds = list(REQUIREMENTS.items())
    sheets = [
        SheetContent(CoverCode(DEMO_WORKFLOW, rd), DEMO_LABEL, name, "")
        for name, rd in (rds[n % len(rds)] for n in range(covers))
    ]
    printed = cover_sheets_pdf(sheets)
    every = max(1, pages // max(1, covers))
    cover_pages = [1 + n * every for n in range(covers)]
    body: list[bytes] = []
    template = [document_page(f"D{n}", dpi, seed=n) for n in range(4)]
    for number in range(1, pages + 1):
        if number in cover_pages:
            index = cover_pages.index(number)
            image = rasterise(printed, index, dpi)
            body.append(scanned(image, ScanStyle(dpi=dpi, skew=1.0 - index * 0.5), seed=number))
        else:
            page = template[number % len(template)].copy()
            from PIL import ImageDraw, ImageFont

            ImageDraw.Draw(page).text(
                (dpi * 5, dpi // 2), f"p{number}", fill=0, font=ImageFont.load_default(dpi // 3)
            )
            body.append(scanned(page, ScanStyle(dpi=dpi), seed=number))
    path.write_bytes(image_pdf(body, dpi))
    return cover_pages


def detect_child(stack: Path) -> None:
    """The child's side: examine and cut the stack, print the figures as JSON."""
    from agent.scan.stack import examine, write_parts

    work = Path(tempfile.mkdtemp(prefix="parts-"))
    baseline = peak_rss_kib()
    started = time.perf_counter()
    plan = examine(stack, work)
    examined = time.perf_counter() - started
    write_parts(stack, plan.parts, {p.number: work / f"{p.number}.pdf" for p in plan.parts}, work)
    total = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "pages": plan.page_count,
                "covers": [f.number for f in plan.findings if f.is_cover],
                "parts": len(plan.parts),
                "detect_s": examined,
                "total_s": total,
                "per_page_ms": [f.seconds * 1000 for f in plan.findings],
                "peak_rss_mib": peak_rss_kib() / 1024,
                "baseline_rss_mib": baseline / 1024,
            }
        )
    )


def detect(stack: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(stack)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def through_agent(stack: Path, scratch: Path, parts: int) -> float:
    """Seconds from the stack's close in the Inbox to its receipt in done/."""
    with running_sandbox(scratch / "sandbox") as sandbox:
        home = make_home(scratch, sandbox, Stability())
        inbox = next(iter(home.folders.values())).parent / "Inbox"
        receipt = inbox / "done" / f"{stack.name}.receipt.txt"
        with running_agent(home):
            closed = write_file(inbox / stack.name, stack.read_bytes())
            deadline = closed + 120
            while not receipt.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "no receipt after 120 s; see the agent's log in " + str(home.path)
                    )
                time.sleep(0.005)
            took = time.monotonic() - closed
        text = receipt.read_text(encoding="utf-8")
        uploaded = text.count("uploaded as document")
        if uploaded != parts:
            raise RuntimeError(f"{uploaded} of {parts} parts uploaded:\n{text}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--covers", type=int, default=5)
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--detect-only", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        detect_child(args.child)
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    try:
        stack = scratch / "scan_0001.pdf"
        made = time.perf_counter()
        covers = make_stack(stack, args.pages, args.covers, args.dpi)
        print(f"machine: {machine()}")
        print(
            f"stack: {args.pages} pages A4 at {args.dpi} dpi, JPEG q75, covers on pages "
            f"{covers}, {stack.stat().st_size / 1e6:.1f} MB (made in "
            f"{time.perf_counter() - made:.1f} s)"
        )
        figures = detect(stack)
        per_page = [float(v) for v in figures["per_page_ms"]]  # type: ignore[attr-defined]
        ordered = sorted(per_page)
        print(
            f"detection: {figures['detect_s']:.2f} s for {figures['pages']} pages, "
            f"cut into {figures['parts']} parts in {figures['total_s']:.2f} s in all; "
            f"covers found on {figures['covers']}"
        )
        print(
            f"per page: mean {statistics.fmean(per_page):.1f} ms, median "
            f"{statistics.median(per_page):.1f} ms, p95 {ordered[int(len(ordered) * 0.95) - 1]:.1f}"
            f" ms, slowest {ordered[-1]:.1f} ms"
        )
        print(
            f"memory: peak {figures['peak_rss_mib']:.0f} MiB "
            f"(the child before the stack: {figures['baseline_rss_mib']:.0f} MiB)"
        )
        if figures["covers"] != covers:
            print(f"FAIL: covers expected on {covers}")
            return 1
        if not args.detect_only:
            took = through_agent(stack, scratch, args.covers)
            verdict = "PASS" if took <= 10.0 else "FAIL"
            print(
                f"through the agent: {took:.2f} s from the close in the Inbox to the receipt "
                f"in done/ with {args.covers} parts uploaded and linked ({verdict}: at most 10 s)"
            )
            if took > 10.0:
                return 1
    finally:
        if args.keep:
            print(f"kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    sys.exit(main())
