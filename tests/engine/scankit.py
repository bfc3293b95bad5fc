"""Helpers for the scanner's end-to-end tests: printed sheets, scanned stacks, stored PDFs.

The sheets come from the ``cover-sheets`` command itself; the stacks are made from them
as a scanner would (:mod:`tests.scan.scans`); what Kompliant stored is read from the
sandbox's data folder (the bytes the presigned POST delivered).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.kompliant.models import Document
from agent.sandbox import RunningSandbox
from tests.conftest import DEMO_WORKFLOW
from tests.engine.conftest import AgentHome
from tests.scan.scans import ScanStyle, document_page, image_pdf, rasterise, scanned

DPI = 150


def print_sheets(agent_home: AgentHome, out: Path, *workflow_ids: str) -> bytes:
    """``cover-sheets WORKFLOW… --all``: the PDF a user prints."""
    done = agent_home.cli(
        "cover-sheets", *(workflow_ids or (DEMO_WORKFLOW,)), "--all", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


@dataclass
class Stack:
    """A stack being put together page by page; ``pages`` keeps each page's JPEG."""

    sheets: bytes
    pages: list[bytes] = field(default_factory=list)

    def cover(self, index: int, style: ScanStyle | None = None) -> Stack:
        """Sheet ``index`` (in the printed order) scanned."""
        style = style or ScanStyle(dpi=DPI, skew=1.5)
        self.pages.append(
            scanned(rasterise(self.sheets, index, style.dpi), style, seed=len(self.pages))
        )
        return self

    def document(self, mark: str) -> Stack:
        page = document_page(mark, DPI, seed=len(self.pages))
        self.pages.append(scanned(page, ScanStyle(dpi=DPI), seed=len(self.pages)))
        return self

    def pdf(self) -> bytes:
        return image_pdf(self.pages, DPI)


def demo_stack(agent_home: AgentHome, tmp_path: Path) -> Stack:
    """The demo workflow's folders made and its cover sheets printed: a stack to scan."""
    agent_home.write_config()
    agent_home.add_workflow()
    return Stack(print_sheets(agent_home, tmp_path / "sheets.pdf"))


def stored(sandbox: RunningSandbox, document: Document) -> bytes:
    """The bytes Kompliant stored for ``document``."""
    data = sandbox.stored_bytes(document.document_id)
    assert data is not None, f"{document.document_id} has no stored bytes"
    return data
