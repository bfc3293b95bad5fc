"""`cover-sheets` as a user runs it, against the sandbox: which sheets, and what they say."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium

from agent.scan.code import CoverCode
from agent.scan.detect import classify, decode_texts
from tests.conftest import DEMO_WORKFLOW, ENDED_WORKFLOW, RD_ADDRESS, RD_BANK, RD_ID
from tests.engine.conftest import LABEL, AgentHome
from tests.scan.scans import rasterise


def _codes(pdf: bytes) -> list[CoverCode | None]:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        count = len(document.pages)
    return [classify(n + 1, decode_texts(rasterise(pdf, n, 100))).code for n in range(count)]


def _text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return " ".join(
            str(document[n].get_textpage().get_text_range()) for n in range(len(document))
        )
    finally:
        document.close()


def test_sheets_for_what_is_missing_then_for_all(agent_home: AgentHome, tmp_path: Path) -> None:
    agent_home.add_workflow()
    out = tmp_path / "sheets.pdf"
    done = agent_home.cli("cover-sheets", DEMO_WORKFLOW, "--out", str(out), "--paper", "a4")
    assert done.returncode == 0, done.stderr
    pdf = out.read_bytes()
    # the INACTIVE tax return gets no sheet
    assert _codes(pdf) == [CoverCode(DEMO_WORKFLOW, rd) for rd in (RD_BANK, RD_ADDRESS, RD_ID)]
    text = " ".join(_text(pdf).split())
    assert LABEL in text and "Bank statements" in text and "Government ID" in text
    assert "Put this sheet on top of the document" in text
    assert "Wrote 3 cover sheet(s) (A4)" in done.stdout
    for secret in (agent_home.credentials.secret_key, agent_home.credentials.auth_token):
        assert secret.encode() not in pdf and secret not in text

    statement = tmp_path / "statement.pdf"
    statement.write_bytes(b"%PDF-1.4\n% a statement\n%%EOF\n")
    sent = agent_home.cli(
        "upload", str(statement), "--workflow", DEMO_WORKFLOW, "--requirement", RD_BANK
    )
    assert sent.returncode == 0, sent.stderr
    done = agent_home.cli("cover-sheets", DEMO_WORKFLOW, "--out", str(out), "--paper", "letter")
    assert done.returncode == 0, done.stderr
    pdf = out.read_bytes()
    assert _codes(pdf) == [CoverCode(DEMO_WORKFLOW, rd) for rd in (RD_ADDRESS, RD_ID)]
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert [round(float(v)) for v in document.pages[0].mediabox] == [0, 0, 612, 792]

    done = agent_home.cli("cover-sheets", DEMO_WORKFLOW, "--all", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert len(_codes(out.read_bytes())) == 3


def test_the_paper_follows_the_locale(agent_home: AgentHome, tmp_path: Path) -> None:
    agent_home.add_workflow()
    out = tmp_path / "sheets.pdf"
    agent_home.env.update(LC_ALL="", LC_PAPER="", LANG="en_US.UTF-8")
    done = agent_home.cli("cover-sheets", DEMO_WORKFLOW, "--all", "--out", str(out))
    assert done.returncode == 0 and "(LETTER)" in done.stdout, done.stderr
    agent_home.env.update(LANG="de_DE.UTF-8")
    done = agent_home.cli("cover-sheets", DEMO_WORKFLOW, "--all", "--out", str(out))
    assert done.returncode == 0 and "(A4)" in done.stdout, done.stderr


def test_an_ended_workflow_and_a_place_inside_the_watched_folder(
    agent_home: AgentHome, tmp_path: Path
) -> None:
    agent_home.add_workflow()
    inside = agent_home.folder("Inbox") / "sheets.pdf"
    done = agent_home.cli("cover-sheets", DEMO_WORKFLOW, "--out", str(inside))
    assert done.returncode == 2 and "inside the watched folder" in done.stderr
    assert not inside.exists()

    out = tmp_path / "ended.pdf"
    done = agent_home.cli("cover-sheets", ENDED_WORKFLOW, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "ENDED" in done.stderr and "No cover sheets" in done.stderr
    assert not out.exists()


def test_without_kompliant_the_stored_states_are_used(
    agent_home: AgentHome, tmp_path: Path
) -> None:
    agent_home.add_workflow()  # stores the workflow's required documents
    agent_home.env["KOMPLIANT_API_URL"] = "http://127.0.0.1:9"  # nothing listens there
    out = tmp_path / "sheets.pdf"
    done = agent_home.cli("cover-sheets", DEMO_WORKFLOW, "--all", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "using the stored states" in done.stderr
    assert len(_codes(out.read_bytes())) == 3
