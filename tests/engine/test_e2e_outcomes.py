"""End to end with ``run --once``: each kind of file ends in done/ or failed/ with its note,
and the sandbox, read back through its API, holds exactly what the notes say."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pikepdf

from tests.conftest import (
    DEMO_WORKFLOW,
    ENDED_WORKFLOW,
    RD_ADDRESS,
    RD_BANK,
    RD_ENDED,
    RD_ID,
    sandbox_admin,
)
from tests.engine.conftest import (
    AgentHome,
    Kompliant,
    documents_in,
    drop,
    files_in,
)
from tests.kit.notes import error_note, receipt, sha, uploaded_id, went_wrong
from tests.realwriters import documents

BATCH_ADD = "workflow.requiredDocument.fulfillment.batchAdd"


def fulfillment_ids(text: str) -> list[str]:
    return re.findall(r"fulfillment (f_\w+)", text)


def blank_pdf() -> bytes:
    out = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(out)
    return out.getvalue()


def test_good_files_of_each_type_are_uploaded_linked_and_done(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    files = {
        ("Bank statements", "march.pdf", RD_BANK): b"%PDF-1.4 march\n%%EOF\n",
        ("Government ID", "passport.jpg", RD_ID): b"\xff\xd8\xff jpg\xff\xd9",
        ("Proof of address", "bill.jpeg", RD_ADDRESS): b"\xff\xd8\xff jpeg\xff\xd9",
        ("Government ID", "licence.png", RD_ID): b"\x89PNG\r\n\x1a\n png IEND\xaeB`\x82",
    }
    for (folder, name, _), content in files.items():
        drop(agent_home.folder(folder), name, content)

    ran = agent_home.run_once()

    assert ran.returncode == 0, ran.stderr
    assert "4 done, 0 failed, 0 still to do" in ran.stderr
    documents = {d.document_id: d for d in kompliant.documents()}
    assert len(documents) == 4
    for (folder, name, rd), content in files.items():
        where = agent_home.folder(folder)
        assert documents_in(where) == [], f"{name} is still in {folder}"
        assert (where / "done" / name).read_bytes() == content
        text = receipt(where / "done" / name)
        document_id = uploaded_id(text)
        assert f"SHA-256: {sha(content)}" in text
        stored = kompliant.client.get_document(document_id)
        assert stored.upload_status == "COMPLETED"
        assert stored.file_name == name
        assert stored.hash == sha(content)
        linked = [f for f in kompliant.fulfillments(rd) if f.document_id == document_id]
        assert [f.fulfillment_id for f in linked] == fulfillment_ids(text)
        assert len(linked) == 1
    # one fulfillment per file, none elsewhere
    assert kompliant.fulfillment_count() == 4


def test_upload_only_uploads_without_linking(agent_home: AgentHome, kompliant: Kompliant) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    folder = agent_home.folder("Upload only")
    drop(folder, "extra.pdf", b"%PDF-1.4 extra\n%%EOF\n")

    ran = agent_home.run_once()

    assert ran.returncode == 0, ran.stderr
    text = receipt(folder / "done" / "extra.pdf")
    assert "Not linked to any required document (upload only)." in text
    assert [d.document_id for d in kompliant.documents()] == [uploaded_id(text)]
    assert kompliant.fulfillment_count() == 0


def test_wrong_types_fail_with_a_reason_and_leave_no_document(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    drop(bank, "notes.txt", b"just some notes")
    drop(bank, "letter.docx", documents.docx("letter"))

    ran = agent_home.run_once()

    assert "0 done, 2 failed" in ran.stderr, ran.stderr
    assert files_in(bank / "failed") == [
        "letter.docx",
        "letter.docx.error.txt",
        "notes.txt",
        "notes.txt.error.txt",
    ]
    for name, extension in (("notes.txt", "txt"), ("letter.docx", "docx")):
        note = error_note(bank / "failed" / name)
        what = went_wrong(note)
        todo = note.split("What to do:", 1)[1].split("\n", 1)[0]
        assert extension in what.lower(), note
        assert "pdf" in what.lower(), note  # Kompliant's message names the accepted types
        assert "Save the file in a type Kompliant accepts" in todo, note
        assert "kompliant-agent retry" in note
    assert kompliant.documents() == []
    assert kompliant.fulfillment_count() == 0
    assert agent_home.secrets_found() == []


def test_an_empty_file_fails_with_a_clear_reason(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config(incomplete_seconds=2.0)  # an empty file waits this long first
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    drop(bank, "blank.pdf", b"")

    ran = agent_home.run_once()

    assert "0 done, 1 failed" in ran.stderr, ran.stderr
    note = error_note(bank / "failed" / "blank.pdf")
    assert "empty" in went_wrong(note).lower(), note
    assert kompliant.documents() == []


def test_the_same_content_again_is_not_uploaded_again(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    content = b"%PDF-1.4 same statement\n%%EOF\n"
    drop(bank, "march.pdf", content)
    assert agent_home.run_once().returncode == 0
    first = uploaded_id(receipt(bank / "done" / "march.pdf"))

    drop(bank, "march.pdf", content)  # the same file again, later
    ran = agent_home.run_once()

    assert ran.returncode == 0, ran.stderr
    done = files_in(bank / "done")
    assert len(done) == 4, done  # both files kept, each with its receipt
    second = next(n for n in done if n not in ("march.pdf",) and not n.endswith(".txt"))
    text = receipt(bank / "done" / second)
    assert f"Not uploaded again: same content as document {first}." in text
    assert [d.document_id for d in kompliant.documents()] == [first]
    assert len(kompliant.fulfillments(RD_BANK)) == 1


def test_upload_duplicates_uploads_the_same_content_again(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config(agent={"upload_duplicates": True})
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    content = b"%PDF-1.4 same statement\n%%EOF\n"
    drop(bank, "march.pdf", content)
    assert agent_home.run_once().returncode == 0
    drop(bank, "march again.pdf", content)

    ran = agent_home.run_once()

    assert ran.returncode == 0, ran.stderr
    ids = {uploaded_id(receipt(bank / "done" / name)) for name in ("march.pdf", "march again.pdf")}
    assert len(ids) == 2
    assert {d.document_id for d in kompliant.documents()} == ids
    assert {f.document_id for f in kompliant.fulfillments(RD_BANK)} == ids


COMBINED = f"""
[[workflows]]
workflow_id = "{DEMO_WORKFLOW}"
label = "Demo Ltd"

[[workflows.combined]]
folder = "Bank statement (address + account)"
required_document_ids = ["{RD_BANK}", "{RD_ADDRESS}"]
"""


def test_a_combined_folder_makes_one_document_and_two_fulfillments_in_one_batch(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config(workflows=COMBINED)
    agent_home.add_workflow()
    combined = agent_home.folder("Bank statement (address + account)")
    assert combined.is_dir()
    content = b"%PDF-1.4 both\n%%EOF\n"
    drop(combined, "statement.pdf", content)
    sandbox_admin(agent_home.sandbox, "stats/reset", {})

    ran = agent_home.run_once()

    assert ran.returncode == 0, ran.stderr
    text = receipt(combined / "done" / "statement.pdf")
    document_id = uploaded_id(text)
    assert [d.document_id for d in kompliant.documents()] == [document_id]
    bank = kompliant.fulfillments(RD_BANK)
    address = kompliant.fulfillments(RD_ADDRESS)
    assert [f.document_id for f in bank + address] == [document_id, document_id]
    assert sorted(fulfillment_ids(text)) == sorted(f.fulfillment_id for f in bank + address)
    stats = sandbox_admin(agent_home.sandbox, "stats").json()
    assert stats["methods"][BATCH_ADD] == 1


INBOX = f"""
[[workflows]]
workflow_id = "{DEMO_WORKFLOW}"
label = "Demo Ltd"

[[workflows.inbox_rules]]
pattern = "statement*.pdf"
required_document_ids = ["{RD_BANK}"]

[[workflows.inbox_rules]]
pattern = '^ID_\\d+\\.(jpg|png)$'
regex = true
required_document_ids = ["{RD_ID}"]
"""


def test_inbox_files_follow_the_rules_and_unmatched_ones_wait_for_routing(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config(workflows=INBOX)
    agent_home.add_workflow()
    inbox = agent_home.folder("Inbox")
    drop(inbox, "Statement-June.pdf", b"%PDF-1.4 june\n%%EOF\n")
    drop(inbox, "ID_0042.png", b"\x89PNG\r\n\x1a\n id IEND\xaeB`\x82")
    # a readable PDF: the agent looks inside an unmatched one for cover sheets first
    drop(inbox, "scan0001.pdf", blank_pdf())

    ran = agent_home.run_once()

    assert ran.returncode == 0, ran.stderr
    assert documents_in(inbox) == ["scan0001.pdf"]  # never guessed: it stays put
    june = uploaded_id(receipt(inbox / "done" / "Statement-June.pdf"))
    passport = uploaded_id(receipt(inbox / "done" / "ID_0042.png"))
    assert [f.document_id for f in kompliant.fulfillments(RD_BANK)] == [june]
    assert [f.document_id for f in kompliant.fulfillments(RD_ID)] == [passport]
    assert {d.document_id for d in kompliant.documents()} == {june, passport}
    assert {d.file_name for d in kompliant.documents()} == {"Statement-June.pdf", "ID_0042.png"}

    status = agent_home.status()
    routing = [f for f in status["folders"] if f["needs_routing"]]
    assert [(f["key"], f["needs_routing"]) for f in routing] == [(f"{DEMO_WORKFLOW}/inbox", 1)]


def inactive_folder(agent_home: AgentHome) -> Path:
    found = [
        p
        for p in agent_home.workflow.iterdir()
        if p.is_dir() and (p / "_INACTIVE - no longer required.txt").exists()
    ]
    assert len(found) == 1, found
    return found[0]


def test_a_file_for_an_inactive_requirement_fails_and_is_not_uploaded(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    folder = inactive_folder(agent_home)
    drop(folder, "tax2019.pdf", b"%PDF-1.4 tax\n%%EOF\n")

    ran = agent_home.run_once()

    assert "0 done, 1 failed" in ran.stderr, ran.stderr
    note = error_note(folder / "failed" / "tax2019.pdf")
    assert "INACTIVE" in note
    assert "Upload only" in note  # where to put it instead
    assert kompliant.documents() == []


def test_files_of_an_ended_workflow_fail_with_the_reason(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    ended = agent_home.add_workflow(ENDED_WORKFLOW, "Old Ltd")
    assert (ended / "_ENDED - workflow ended.txt").exists()
    requirement = next(
        p for p in ended.iterdir() if p.is_dir() and p.name not in ("Inbox", "Upload only")
    )
    drop(requirement, "statement.pdf", b"%PDF-1.4 late\n%%EOF\n")
    drop(ended / "Upload only", "other.pdf", b"%PDF-1.4 late too\n%%EOF\n")
    drop(agent_home.folder("Bank statements"), "fine.pdf", b"%PDF-1.4 fine\n%%EOF\n")

    ran = agent_home.run_once()

    assert "1 done, 2 failed" in ran.stderr, ran.stderr
    for failed in (
        requirement / "failed" / "statement.pdf",
        ended / "Upload only" / "failed" / "other.pdf",
    ):
        note = error_note(failed)
        assert "has ended" in note and ENDED_WORKFLOW in note, note
        assert "remove-workflow" in note
    assert [d.file_name for d in kompliant.documents()] == ["fine.pdf"]
    assert kompliant.fulfillments(RD_ENDED) == []


def test_a_workflow_that_ended_since_the_last_refresh_fails_its_files_with_the_reason(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config()
    agent_home.add_workflow()
    ended = sandbox_admin(
        agent_home.sandbox,
        "admin",
        {"op": "set_workflow_state", "workflow_id": DEMO_WORKFLOW, "state": "ENDED"},
    )
    assert ended.status_code == 200, ended.text
    bank = agent_home.folder("Bank statements")
    drop(bank, "late.pdf", b"%PDF-1.4 late\n%%EOF\n")

    ran = agent_home.run_once()

    assert "0 done, 1 failed" in ran.stderr, ran.stderr
    note = error_note(bank / "failed" / "late.pdf")
    assert "ended" in went_wrong(note).lower(), note
    assert kompliant.fulfillment_count() == 0
    assert [d for d in kompliant.documents() if d.deleted_at is None] == []


def test_copies_dropped_together_are_uploaded_once(
    agent_home: AgentHome, kompliant: Kompliant
) -> None:
    agent_home.write_config(agent={"workers": 3})
    agent_home.add_workflow()
    bank = agent_home.folder("Bank statements")
    for name in ("a.pdf", "b.pdf", "c.pdf"):  # a scanner that saved one page three times
        drop(bank, name, b"%PDF-1.4 one scan\n%%EOF\n")

    ran = agent_home.run_once()

    assert "3 done, 0 failed" in ran.stderr, ran.stderr
    documents = kompliant.documents()
    assert len(documents) == 1
    texts = [receipt(bank / "done" / name) for name in ("a.pdf", "b.pdf", "c.pdf")]
    uploaded = [t for t in texts if "Uploaded to Kompliant" in t]
    assert len(uploaded) == 1 and uploaded_id(uploaded[0]) == documents[0].document_id
    same = f"Not uploaded again: same content as document {documents[0].document_id}."
    assert sum(same in t for t in texts) == 2
    assert len(kompliant.fulfillments(RD_BANK)) == 1
