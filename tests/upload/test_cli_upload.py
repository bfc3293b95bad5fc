"""`kompliant-agent upload` as a user runs it: a subprocess, credentials from the environment."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.kompliant.auth import Credentials
from agent.sandbox.server import RunningSandbox
from tests.realwriters import documents
from tests.upload.conftest import (
    ADDRESS,
    BANK,
    ENDED_RD,
    ENDED_WORKFLOW,
    SUBJECT,
    WORKFLOW,
    quick_client,
    start,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    sandbox = start(tmp_path_factory.mktemp("cli-sandbox"))
    try:
        yield sandbox
    finally:
        sandbox.stop()


def environment(home: Path, credentials: Credentials) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMPLIANT_")}
    env.update(
        KOMPLIANT_AGENT_HOME=str(home),
        KOMPLIANT_API_URL=credentials.api_url,
        KOMPLIANT_API_KEY=credentials.api_key,
        KOMPLIANT_SECRET_KEY=credentials.secret_key,
        KOMPLIANT_AUTH_TOKEN=credentials.auth_token,
    )
    return env


def run_upload(
    tmp_path: Path, credentials: Credentials, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "upload", *args],
        cwd=ROOT,
        env=environment(tmp_path / "home", credentials),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def creds(shared_sandbox: RunningSandbox) -> Credentials:
    found = shared_sandbox.demo_credentials()
    assert found is not None
    return found


def pdf(tmp_path: Path, name: str = "statement.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(documents.pdf(f"{name} {os.urandom(8).hex()}", 20_000))
    return path


def test_exit_0_with_json_and_the_links_read_back(tmp_path: Path, creds: Credentials) -> None:
    path = pdf(tmp_path)
    done = run_upload(
        tmp_path,
        creds,
        str(path),
        "--workflow",
        WORKFLOW,
        "--requirement",
        BANK,
        "--requirement",
        ADDRESS,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"document_id", "fulfillment_ids", "sha256"}
    assert out["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert set(out["fulfillment_ids"]) == {BANK, ADDRESS}
    with quick_client(creds) as client:
        assert client.get_document(out["document_id"]).completed
        for rd, fulfillment_id in out["fulfillment_ids"].items():
            linked = {f.fulfillment_id: f.document_id for f in client.list_fulfillments(rd)}
            assert linked[fulfillment_id] == out["document_id"]


def test_exit_0_upload_only_prints_the_document_id(tmp_path: Path, creds: Credentials) -> None:
    done = run_upload(tmp_path, creds, str(pdf(tmp_path)), "--no-link", "--subject", SUBJECT)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("document_id d_")
    assert "fulfillment_id" not in done.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workflow", WORKFLOW], "at least one --requirement"),
        (["--no-link"], "--no-link needs --subject"),
        (["--workflow", "sr_wrong", "--requirement", BANK], "starting with 'w_'"),
        (["--no-link", "--subject", SUBJECT, "--requirement", BANK], "do not go together"),
    ],
)
def test_exit_2_for_usage_errors(
    tmp_path: Path, creds: Credentials, args: list[str], says: str
) -> None:
    done = run_upload(tmp_path, creds, str(pdf(tmp_path)), *args)
    assert done.returncode == 2
    assert says in done.stderr


def test_exit_3_when_kompliant_cannot_be_reached(tmp_path: Path, creds: Credentials) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gone = Credentials(
        f"http://127.0.0.1:{port}", creds.api_key, creds.secret_key, creds.auth_token
    )
    done = run_upload(
        tmp_path,
        gone,
        str(pdf(tmp_path)),
        "--workflow",
        WORKFLOW,
        "--requirement",
        BANK,
        "--retry-for",
        "0",
        "--json",
    )
    assert done.returncode == 3, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["retry_later"] is True
    assert "run the same command again later" in done.stderr
    assert "run the same command again later" in error["hint"]
    assert creds.secret_key not in done.stderr + done.stdout
    assert creds.auth_token not in done.stderr + done.stdout


def test_exit_3_after_the_sandbox_stopped(tmp_path: Path) -> None:
    sandbox = start(tmp_path)
    found = sandbox.demo_credentials()
    assert found is not None
    sandbox.stop()
    done = run_upload(
        tmp_path, found, str(pdf(tmp_path)), "--no-link", "--subject", SUBJECT, "--retry-for", "0"
    )
    assert done.returncode == 3, done.stderr


def test_exit_4_for_a_text_file(tmp_path: Path, creds: Credentials) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a document type Kompliant takes")
    done = run_upload(tmp_path, creds, str(path), "--workflow", WORKFLOW, "--requirement", BANK)
    assert done.returncode == 4, done.stderr
    assert "notes.txt" in done.stderr or "txt" in done.stderr


def test_exit_4_for_an_ended_workflow(tmp_path: Path, creds: Credentials) -> None:
    done = run_upload(
        tmp_path, creds, str(pdf(tmp_path)), "--workflow", ENDED_WORKFLOW, "--requirement", ENDED_RD
    )
    assert done.returncode == 4, done.stderr
    assert "has ended" in done.stderr


def test_exit_4_for_an_empty_file(tmp_path: Path, creds: Credentials) -> None:
    path = tmp_path / "scan.pdf"
    path.touch()
    done = run_upload(tmp_path, creds, str(path), "--workflow", WORKFLOW, "--requirement", BANK)
    assert done.returncode == 4
    assert "empty (0 bytes)" in done.stderr


def test_help_lists_the_exit_codes(tmp_path: Path, creds: Credentials) -> None:
    done = run_upload(tmp_path, creds, "--help")
    assert done.returncode == 0
    for line in ("0  uploaded", "2  usage error", "3  retry later", "4  cannot succeed"):
        assert line in done.stdout
    assert "KOMPLIANT_AUTH_TOKEN" in done.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (documents.jpeg("camera"), "statement.pdf is a JPEG image, not a PDF"),
        (documents.html_page(), "statement.pdf is a web page (HTML), not a PDF"),
        (documents.cut_short(documents.pdf("cut", 50_000)), "statement.pdf looks cut short"),
    ],
    ids=["jpeg-named-pdf", "html-named-pdf", "cut-short"],
)
def test_exit_4_for_content_that_is_not_what_the_name_says(
    tmp_path: Path, creds: Credentials, shared_sandbox: RunningSandbox, content: bytes, words: str
) -> None:
    path = tmp_path / "statement.pdf"
    path.write_bytes(content)
    with quick_client(creds) as client:
        before = len(client.list_documents(SUBJECT))
    done = run_upload(tmp_path, creds, str(path), "--workflow", WORKFLOW, "--requirement", BANK)
    assert done.returncode == 4, done.stderr
    assert words in done.stderr
    assert "retry" not in done.stderr.lower()
    with quick_client(creds) as client:
        assert len(client.list_documents(SUBJECT)) == before  # nothing was created


def test_a_password_protected_pdf_is_uploaded(tmp_path: Path, creds: Credentials) -> None:
    if subprocess.run(["which", "qpdf"], capture_output=True).returncode != 0:
        pytest.skip("qpdf is not installed")
    plain = pdf(tmp_path, "plain.pdf")
    locked = tmp_path / "locked.pdf"
    subprocess.run(
        ["qpdf", "--encrypt", "user-pw", "owner-pw", "256", "--", str(plain), str(locked)],
        check=True,
    )
    done = run_upload(
        tmp_path, creds, str(locked), "--workflow", WORKFLOW, "--requirement", BANK, "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sha256"] == hashlib.sha256(locked.read_bytes()).hexdigest()
