"""The README's demo: the sandbox and the watching agent, a sample that reaches done/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKFLOW_FOLDER = "Demo Ltd (w_DemoApplication000000001)"


def test_demo_settles_the_sample_and_can_run_again(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMPLIANT_")}
    command = [sys.executable, "-m", "agent", "demo", "--home", str(home), "--once"]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    bank = home / "documents" / "Kompliant" / WORKFLOW_FOLDER / "Bank statements"
    assert (bank / "done" / "bank-statement-sample.pdf").read_bytes().startswith(b"%PDF")
    receipt = (bank / "done" / "bank-statement-sample.pdf.receipt.txt").read_text()
    assert "Uploaded to Kompliant as document d_" in receipt
    assert "rd_BankStatements00000001" in receipt
    assert "Drop your own PDF" in first.stdout

    # A second run reuses the home: the sandbox keeps its state, nothing is overwritten.
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    done = sorted(p.name for p in (bank / "done").iterdir() if not p.name.endswith(".txt"))
    assert done == ["bank-statement-sample (2).pdf", "bank-statement-sample.pdf"]
    second_receipt = (bank / "done" / "bank-statement-sample (2).pdf.receipt.txt").read_text()
    assert "Not uploaded again: same content as document d_" in second_receipt
