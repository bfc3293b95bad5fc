"""add-workflow, refresh and remove-workflow on real folders, with a fake Kompliant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import CombinedFolder, Config, WorkflowConfig
from agent.decide import (
    MARKER_NAME,
    NOTICE_ENDED,
    NOTICE_INACTIVE,
    FolderKind,
    FolderTree,
    add_workflow,
    load_cache,
    read_marker,
    refresh_workflow,
    remove_workflow,
    requirements_file,
)
from agent.errors import EntityNotFound, FileProblem, NetworkError
from agent.kompliant.models import Workflow
from tests.decide.fakes import (
    ADDRESS,
    BANK,
    DEMO,
    ENDED,
    GOV_ID,
    OLD_TAX,
    SUBJECT,
    FakeKompliant,
    rd,
)

HOME = "Business application (w_DemoApplication000000001)"


def children(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_add_workflow_creates_the_tree_with_markers(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    updated, result = add_workflow(kompliant, config, DEMO)

    home = root / HOME
    assert result.folder == home
    assert children(home) == {
        MARKER_NAME,
        "Inbox",
        "Upload only",
        "Bank statements",
        "Proof of address",
        "Government ID",
        "Tax return 2019",
    }
    assert updated.workflows == (WorkflowConfig(DEMO, "Business application"),)
    workflow_marker = read_marker(home)
    assert workflow_marker is not None
    assert (workflow_marker.kind, workflow_marker.workflow_id) == (FolderKind.WORKFLOW, DEMO)
    assert workflow_marker.subject_record_id == SUBJECT
    bank = read_marker(home / "Bank statements")
    assert bank is not None
    assert (bank.kind, bank.required_document_ids) == (FolderKind.REQUIREMENT, (BANK,))
    assert read_marker(home / "Inbox").kind is FolderKind.INBOX  # type: ignore[union-attr]
    upload_only = read_marker(home / "Upload only")
    assert upload_only is not None and upload_only.kind is FolderKind.UPLOAD_ONLY
    ids = {
        read_marker(home / n).folder_id  # type: ignore[union-attr]
        for n in children(home) - {MARKER_NAME}
    }
    assert len(ids) == 6  # every folder has its own random id


def test_an_inactive_requirement_gets_a_marked_folder_with_a_visible_notice(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    _, result = add_workflow(kompliant, config, DEMO)
    folder = root / HOME / "Tax return 2019"
    assert result.marked_inactive == (folder,)
    marker = read_marker(folder)
    assert marker is not None and marker.inactive
    notice = (folder / NOTICE_INACTIVE).read_text(encoding="utf-8")
    assert '"Tax return 2019" (rd_OldTaxReturn00000001)' in notice
    assert "Upload only" in notice


def test_label_from_the_command_line_names_the_folder(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    updated, _ = add_workflow(kompliant, config, DEMO, label="Acme: Ltd")
    assert (root / "Acme Ltd (w_DemoApplication000000001)").is_dir()
    assert updated.workflows[0].label == "Acme: Ltd"


def test_unknown_workflow_raises_and_creates_nothing(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    with pytest.raises(EntityNotFound):
        add_workflow(kompliant, config, "w_Nope")
    assert not root.exists() or children(root) == set()


def test_name_collisions_add_the_type_code_then_the_id(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    kompliant.required[DEMO] = [
        rd("rd_A1", "BANK_STATEMENTS", "Statement"),
        rd("rd_A2", "CARD_STATEMENTS", "Statement"),
        rd("rd_A3", "CARD_STATEMENTS", "statement"),
        rd("rd_A4", "OTHER", "Inbox"),
        rd("rd_A5", "OTHER", "CON"),
    ]
    add_workflow(kompliant, config, DEMO)
    names = {
        read_marker(p).required_document_ids[0]: p.name  # type: ignore[union-attr]
        for p in (root / HOME).iterdir()
        if p.is_dir() and read_marker(p).kind is FolderKind.REQUIREMENT  # type: ignore[union-attr]
    }
    assert names == {
        "rd_A1": "Statement (BANK_STATEMENTS)",
        "rd_A2": "Statement (rd_A2)",
        "rd_A3": "statement (rd_A3)",
        "rd_A4": "Inbox (OTHER)",
        "rd_A5": "CON_",
    }


def test_combined_folders_from_the_config_are_created(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    combined = CombinedFolder("Bank statement (address + account)", (BANK, ADDRESS))
    config = config.with_workflow(WorkflowConfig(DEMO, "Acme", combined=(combined,)))
    add_workflow(kompliant, config, DEMO)
    marker = read_marker(root / "Acme (w_DemoApplication000000001)" / combined.folder)
    assert marker is not None
    assert marker.kind is FolderKind.COMBINED
    assert marker.required_document_ids == (BANK, ADDRESS)
    assert marker.combined_name == combined.folder


def test_refresh_adds_a_folder_for_a_new_requirement_and_keeps_renamed_ones(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    config, _ = add_workflow(kompliant, config, DEMO)
    home = root / HOME
    (home / "Bank statements").rename(home / "Statements from the bank")
    kompliant.required[DEMO].append(rd("rd_New1", "ARTICLES", "Articles of incorporation"))

    report = refresh_workflow(kompliant, config)

    assert report.ok
    assert report.workflows[0].created == (home / "Articles of incorporation",)
    assert not (home / "Bank statements").exists()  # the renamed folder is not re-created
    assert read_marker(home / "Articles of incorporation").required_document_ids == ("rd_New1",)  # type: ignore[union-attr]
    assert refresh_workflow(kompliant, config).workflows[0].created == ()


def test_refresh_marks_an_inactive_requirement_without_deleting_anything(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    config, _ = add_workflow(kompliant, config, DEMO)
    folder = root / HOME / "Government ID"
    (folder / "passport.pdf").write_bytes(b"%PDF passport")
    (folder / "done").mkdir()
    (folder / "done" / "old.pdf").write_bytes(b"%PDF old")
    kompliant.set_status(DEMO, GOV_ID, "INACTIVE")

    result = refresh_workflow(kompliant, config).workflows[0]

    assert result.marked_inactive == (folder,)
    assert (folder / "passport.pdf").read_bytes() == b"%PDF passport"
    assert (folder / "done" / "old.pdf").read_bytes() == b"%PDF old"
    assert (folder / NOTICE_INACTIVE).is_file()
    assert read_marker(folder).inactive  # type: ignore[union-attr]

    kompliant.set_status(DEMO, GOV_ID, "ACTIVE")
    again = refresh_workflow(kompliant, config).workflows[0]
    assert again.reactivated == (folder,)
    assert not (folder / NOTICE_INACTIVE).exists()
    assert (folder / "passport.pdf").exists()


def test_refresh_marks_an_ended_workflow(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    config, _ = add_workflow(kompliant, config, DEMO)
    kompliant.workflows[DEMO] = Workflow(DEMO, "BUSINESS_APPLICATION", SUBJECT, "ENDED")

    result = refresh_workflow(kompliant, config).workflows[0]

    assert result.marked_ended
    home = root / HOME
    assert "has ended" in (home / NOTICE_ENDED).read_text(encoding="utf-8")
    assert all(
        read_marker(p).ended  # type: ignore[union-attr]
        for p in [home, *(c for c in home.iterdir() if c.is_dir())]
    )
    assert not refresh_workflow(kompliant, config).workflows[0].marked_ended  # marked once


def test_adding_an_ended_workflow_creates_its_folders_marked_ended(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    _, result = add_workflow(kompliant, config, ENDED)
    assert result.marked_ended
    assert (root / "Business application (w_DemoEnded00000000000001)" / NOTICE_ENDED).is_file()


def test_refresh_caches_the_state_for_offline_routing(
    kompliant: FakeKompliant, config: Config
) -> None:
    config, _ = add_workflow(kompliant, config, DEMO)
    cached = load_cache(requirements_file("default")).get(DEMO)
    assert cached is not None
    assert cached.workflow.state == "STARTED"
    assert cached.required_document(OLD_TAX).inactive  # type: ignore[union-attr]
    raw = json.loads(requirements_file("default").read_text(encoding="utf-8"))
    assert raw["version"] == 1


def test_one_unreachable_workflow_keeps_its_cache_and_does_not_stop_others(
    kompliant: FakeKompliant, config: Config
) -> None:
    config, _ = add_workflow(kompliant, config, DEMO)
    config, _ = add_workflow(kompliant, config, ENDED)
    before = load_cache(requirements_file("default"))

    class HalfOffline(FakeKompliant):
        def get_workflow(self, workflow_id: str) -> Workflow:
            if workflow_id == DEMO:
                raise NetworkError("Kompliant cannot be reached")
            return super().get_workflow(workflow_id)

    report = refresh_workflow(HalfOffline(), config)

    assert not report.ok
    first, second = report.workflows
    assert isinstance(first.error, NetworkError) and second.error is None
    assert "not refreshed" in report.lines()[0]
    assert load_cache(requirements_file("default")).get(DEMO) == before.get(DEMO)


def test_a_missing_root_is_reported_and_not_recreated_by_refresh(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    config, _ = add_workflow(kompliant, config, DEMO)
    moved = root.with_name("unmounted")
    root.rename(moved)

    report = refresh_workflow(kompliant, config)

    assert isinstance(report.workflows[0].error, FileProblem)
    assert "does not exist" in report.workflows[0].error.describe()
    assert not root.exists()


def test_remove_workflow_leaves_every_file_and_folder(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    config, _ = add_workflow(kompliant, config, DEMO)
    (root / HOME / "Bank statements" / "march.pdf").write_bytes(b"%PDF march")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))

    after_config = remove_workflow(config, DEMO)

    assert after_config.workflows == ()
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert FolderTree.scan(root, after_config, load_cache(requirements_file("x"))).folders == {}
    assert load_cache(requirements_file("default")).get(DEMO) is None


def test_remove_an_unknown_workflow_says_which_are_configured(config: Config) -> None:
    with pytest.raises(EntityNotFound, match="configured: none"):
        remove_workflow(config, DEMO)


def test_adding_again_after_removing_reuses_the_folders(
    kompliant: FakeKompliant, config: Config, root: Path
) -> None:
    config, _ = add_workflow(kompliant, config, DEMO)
    (root / HOME).rename(root / "Acme")
    config = remove_workflow(config, DEMO)

    config, result = add_workflow(kompliant, config, DEMO)

    assert result.created == ()
    assert result.folder == root / "Acme"
    assert children(root) == {"Acme"}
