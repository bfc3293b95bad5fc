"""Shared pieces for the scanner tests: printed cover sheets of the demo workflow."""

from __future__ import annotations

import pytest

from agent.scan.code import CoverCode
from agent.scan.sheet import SheetContent, cover_sheets_pdf
from tests.conftest import DEMO_WORKFLOW, RD_ADDRESS, RD_BANK

BANK = CoverCode(DEMO_WORKFLOW, RD_BANK)
ADDRESS = CoverCode(DEMO_WORKFLOW, RD_ADDRESS)


@pytest.fixture(scope="session")
def covers_pdf() -> bytes:
    """Two cover sheets as the command prints them: Bank statements, Proof of address."""
    return cover_sheets_pdf(
        [
            SheetContent(BANK, "Demo Ltd", "Bank statements", "The last three months."),
            SheetContent(ADDRESS, "Demo Ltd", "Proof of address", "A utility bill."),
        ]
    )
