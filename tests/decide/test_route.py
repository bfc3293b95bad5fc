"""Routing a file from the markers: destinations, refusals, needs-routing, not our business."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import (
    CombinedFolder,
    Config,
    FolderOverride,
    InboxRule,
    WorkflowConfig,
)
from agent.decide import (
    MARKER_NAME,
    NOTICE_INACTIVE,
    Destination,
    FolderKind,
    FolderTree,
    NeedsRouting,
    Refusal,
    RequirementsCache,
    add_workflow,
    load_cache,
    requirements_file,
    route,
    watched_folders,
)
from agent.watch.stability import StabilitySettings
from tests.decide.fakes import ADDRESS, BANK, DEMO, ENDED, GOV_ID, SUBJECT, FakeKompliant

HOME = "Acme (w_DemoApplication000000001)"
COMBINED = CombinedFolder("Bank statement (address + account)", (BANK, ADDRESS))
RULES = (
    InboxRule("statement*.pdf", (BANK,)),
    InboxRule(r"^ID_\d+\.(jpg|png)$", (GOV_ID,), regex=True),
    InboxRule("*.pdf", ()),  # any other PDF: upload without linking
    InboxRule("tax*", ("rd_OldTaxReturn00000001",)),
)


@pytest.fixture
def demo_config(kompliant: FakeKompliant, config: Config) -> Config:
    wanted = WorkflowConfig(DEMO, "Acme", combined=(COMBINED,), inbox_rules=RULES)
    added, _ = add_workflow(kompliant, config.with_workflow(wanted), DEMO)
    return added


def scan(config: Config) -> FolderTree:
    return FolderTree.scan(config.root, config, load_cache(requirements_file("default")))


def test_a_requirement_folder_routes_to_its_required_document(demo_config: Config) -> None:
    tree = scan(demo_config)
    folder = demo_config.root / HOME / "Bank statements"
    assert route(folder / "march.pdf", tree) == Destination(
        DEMO, SUBJECT, (BANK,), folder, FolderKind.REQUIREMENT
    )


def test_upload_only_routes_without_required_documents(demo_config: Config) -> None:
    folder = demo_config.root / HOME / "Upload only"
    decision = route(folder / "notes.pdf", scan(demo_config))
    assert decision == Destination(DEMO, SUBJECT, (), folder, FolderKind.UPLOAD_ONLY)


def test_renaming_a_folder_keeps_its_routing(demo_config: Config) -> None:
    home = demo_config.root / HOME
    (home / "Proof of address").rename(home / "Utility bills")
    home.rename(demo_config.root / "Acme Ltd")
    renamed = demo_config.root / "Acme Ltd" / "Utility bills"

    decision = route(renamed / "bill.pdf", scan(demo_config))

    assert isinstance(decision, Destination)
    assert decision.required_document_ids == (ADDRESS,)
    assert decision.folder == renamed


def test_a_folder_is_found_again_by_its_id_after_a_rename_or_move(demo_config: Config) -> None:
    home = demo_config.root / HOME
    (home / "Bank statements" / "2024" / "jan").mkdir(parents=True)
    (home / "Bank statements" / "2024" / "jan" / ".processing").mkdir()
    (home / "Proof of address" / ".processing").mkdir()
    before = scan(demo_config)
    bank_dir, bank, sub = before.place(home / "Bank statements" / "2024" / "jan") or (
        None,
        None,
        "",
    )
    assert bank_dir == home / "Bank statements" and bank is not None and sub == "2024/jan"
    assert before.place(demo_config.root) is None
    assert before.processing == {
        home / "Bank statements" / "2024" / "jan",
        home / "Proof of address",
    }

    (home / "Bank statements").rename(home / "Statements")  # renamed
    home.rename(demo_config.root / "Acme Ltd")  # and the folder above it too
    after = scan(demo_config)
    moved = demo_config.root / "Acme Ltd" / "Statements"
    assert after.located(bank.folder_id) == [moved]
    assert after.located(bank.folder_id, sub) == [moved / "2024" / "jan"]
    assert before.located(bank.folder_id) == [home / "Bank statements"]  # as it was read
    assert after.located("no-such-id") == []


def test_a_folder_moved_out_of_the_root_stops_being_watched(
    demo_config: Config, tmp_path: Path
) -> None:
    outside = tmp_path / "Desktop"
    outside.mkdir()
    (demo_config.root / HOME / "Government ID").rename(outside / "Government ID")
    tree = scan(demo_config)
    assert route(outside / "Government ID" / "id.jpg", tree) is None
    assert outside / "Government ID" not in watched_folders(tree)


def test_a_combined_folder_links_one_file_to_several_required_documents(
    demo_config: Config,
) -> None:
    folder = demo_config.root / HOME / COMBINED.folder
    decision = route(folder / "statement.pdf", scan(demo_config))
    assert decision == Destination(DEMO, SUBJECT, (BANK, ADDRESS), folder, FolderKind.COMBINED)


def test_the_config_decides_a_combined_folders_required_documents(demo_config: Config) -> None:
    changed = WorkflowConfig(
        DEMO, "Acme", combined=(CombinedFolder(COMBINED.folder.upper(), (ADDRESS, GOV_ID)),)
    )
    config = demo_config.with_workflow(changed)
    decision = route(demo_config.root / HOME / COMBINED.folder / "x.pdf", scan(config))
    assert isinstance(decision, Destination)
    assert decision.required_document_ids == (ADDRESS, GOV_ID)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("statement-2024-03.pdf", (BANK,)),
        ("STATEMENT march.PDF", (BANK,)),  # globs ignore case
        ("ID_0042.jpg", (GOV_ID,)),
        ("scan.pdf", ()),  # the catch-all rule after the specific ones: upload only
    ],
)
def test_inbox_rules_route_in_order_first_match_wins(
    demo_config: Config, name: str, expected: tuple[str, ...]
) -> None:
    inbox = demo_config.root / HOME / "Inbox"
    decision = route(inbox / name, scan(demo_config))
    assert decision == Destination(DEMO, SUBJECT, expected, inbox, FolderKind.INBOX)


@pytest.mark.parametrize("name", ["id_0042.jpg", "ID_42.gif", "photo.jpg", "statement.docx"])
def test_an_inbox_file_no_rule_matches_needs_routing(demo_config: Config, name: str) -> None:
    inbox = demo_config.root / HOME / "Inbox"
    assert route(inbox / name, scan(demo_config)) == NeedsRouting(inbox)


def test_an_inbox_rule_to_an_inactive_requirement_is_refused(demo_config: Config) -> None:
    decision = route(demo_config.root / HOME / "Inbox" / "tax-2019.jpg", scan(demo_config))
    assert isinstance(decision, Refusal)
    assert "Tax return 2019" in decision.problem


def test_an_inactive_requirement_refuses_with_the_reason_and_the_way_out(
    demo_config: Config,
) -> None:
    decision = route(demo_config.root / HOME / "Tax return 2019" / "t.pdf", scan(demo_config))
    assert isinstance(decision, Refusal)
    assert decision.problem == (
        "'Tax return 2019' was removed from the workflow on Kompliant's side (its status is "
        "INACTIVE), so a file here cannot be linked to it."
    )
    assert "Upload only" in decision.action


def test_an_ended_workflow_refuses_every_file(
    kompliant: FakeKompliant, demo_config: Config
) -> None:
    config, _ = add_workflow(kompliant, demo_config, ENDED, label="Old")
    tree = scan(config)
    home = config.root / "Old (w_DemoEnded00000000000001)"
    for folder in ("Bank statement", "Upload only", "Inbox"):
        decision = route(home / folder / "a.pdf", tree)
        assert isinstance(decision, Refusal), folder
        assert decision.problem.startswith("The workflow 'Old' (w_DemoEnded00000000000001) has")
        assert "remove-workflow w_DemoEnded00000000000001" in decision.action


@pytest.mark.parametrize(
    "relative",
    [
        "Bank statements/done/march.pdf",
        "Bank statements/failed/march.pdf",
        "Bank statements/failed/march.pdf.error.txt",
        "Bank statements/.processing/march.pdf",
        "Bank statements/.hidden.pdf",
        "Bank statements/~$draft.docx",
        "Bank statements/download.crdownload",
        f"Bank statements/{MARKER_NAME}",
        f"Tax return 2019/{NOTICE_INACTIVE}",
        "Bank statements/copy.bak",  # the config's ignore pattern
    ],
)
def test_agent_owned_ignored_and_settled_files_are_not_our_business(
    demo_config: Config, relative: str
) -> None:
    config = Config(
        agent=type(demo_config.agent)(root=demo_config.root, ignore=("*.bak",)),
        workflows=demo_config.workflows,
    )
    assert route(config.root / HOME / relative, scan(config)) is None


def test_files_outside_every_workflow_folder_are_not_our_business(
    demo_config: Config, tmp_path: Path
) -> None:
    tree = scan(demo_config)
    assert route(tmp_path / "elsewhere.pdf", tree) is None
    assert route(demo_config.root / "loose.pdf", tree) is None
    (demo_config.root / "Private").mkdir()
    assert route(demo_config.root / "Private" / "x.pdf", tree) is None


def test_files_of_a_removed_workflow_are_not_our_business(demo_config: Config) -> None:
    tree = scan(demo_config.without_workflow(DEMO))
    assert route(demo_config.root / HOME / "Bank statements" / "a.pdf", tree) is None


def test_a_file_in_a_user_subfolder_of_a_requirement_goes_to_that_requirement(
    demo_config: Config,
) -> None:
    folder = demo_config.root / HOME / "Bank statements"
    decision = route(folder / "2024" / "Q1" / "jan.pdf", scan(demo_config))
    assert isinstance(decision, Destination)
    assert (decision.required_document_ids, decision.folder) == ((BANK,), folder)


def test_a_file_on_the_workflow_folder_itself_needs_routing(demo_config: Config) -> None:
    home = demo_config.root / HOME
    assert route(home / "which.pdf", scan(demo_config)) == NeedsRouting(home)


def test_a_folder_without_marker_in_a_workflow_is_refused_with_a_fix(
    demo_config: Config,
) -> None:
    home = demo_config.root / HOME
    (home / "Bank statements" / MARKER_NAME).unlink()
    decision = route(home / "Bank statements" / "march.pdf", scan(demo_config))
    assert isinstance(decision, Refusal)
    assert "'Bank statements' was not created by the agent" in decision.problem
    assert "kompliant-agent refresh" in decision.action


def test_a_damaged_marker_is_refused_with_the_reason(demo_config: Config) -> None:
    folder = demo_config.root / HOME / "Government ID"
    (folder / MARKER_NAME).write_text("{not json", encoding="utf-8")
    decision = route(folder / "id.jpg", scan(demo_config))
    assert isinstance(decision, Refusal)
    assert "it is not valid JSON" in decision.problem


def test_a_required_document_unknown_to_the_workflow_is_refused(demo_config: Config) -> None:
    changed = WorkflowConfig(
        DEMO, "Acme", combined=(CombinedFolder(COMBINED.folder, (BANK, "rd_Typo0001")),)
    )
    decision = route(
        demo_config.root / HOME / COMBINED.folder / "x.pdf",
        scan(demo_config.with_workflow(changed)),
    )
    assert isinstance(decision, Refusal)
    assert "rd_Typo0001 is not part of workflow" in decision.problem


def test_without_a_cache_the_markers_still_route_and_refuse(demo_config: Config) -> None:
    tree = FolderTree.scan(demo_config.root, demo_config, RequirementsCache())
    bank = route(demo_config.root / HOME / "Bank statements" / "a.pdf", tree)
    assert isinstance(bank, Destination) and bank.subject_record_id == SUBJECT
    tax = route(demo_config.root / HOME / "Tax return 2019" / "a.pdf", tree)
    assert isinstance(tax, Refusal)


def test_marker_file_is_plain_readable_json(demo_config: Config) -> None:
    data = json.loads(
        (demo_config.root / HOME / "Bank statements" / MARKER_NAME).read_text(encoding="utf-8")
    )
    assert data["kind"] == "requirement"
    assert data["required_document_ids"] == [BANK]
    assert data["workflow_id"] == DEMO and data["subject_record_id"] == SUBJECT
    assert len(data["folder_id"]) == 16


def test_watched_folders_lists_every_folder_of_configured_workflows(demo_config: Config) -> None:
    home = demo_config.root / HOME
    assert watched_folders(scan(demo_config)) == [
        home,
        home / "Bank statement (address + account)",
        home / "Bank statements",
        home / "Government ID",
        home / "Inbox",
        home / "Proof of address",
        home / "Tax return 2019",
        home / "Upload only",
    ]


def test_settings_for_layers_folder_overrides_deepest_last(demo_config: Config) -> None:
    config = Config(
        agent=demo_config.agent,
        stability=StabilitySettings(quiet_seconds=2.0),
        folders=(
            FolderOverride(path=HOME, polling=True),
            FolderOverride(path=f"{HOME.upper()}/inbox", quiet_seconds=10.0),
        ),
        workflows=demo_config.workflows,
    )
    tree = scan(config)
    home = config.root / HOME
    assert tree.settings_for(home / "Inbox" / "scan.pdf") == StabilitySettings(
        quiet_seconds=10.0, polling=True
    )
    assert tree.settings_for(home / "Bank statements") == StabilitySettings(polling=True)
    assert tree.settings_for(config.root / "other") == StabilitySettings(quiet_seconds=2.0)


def test_a_folder_outside_the_root_has_no_place_and_a_path_is_read_normalised(
    demo_config: Config, tmp_path: Path
) -> None:
    tree = scan(demo_config)
    bank = demo_config.root / HOME / "Bank statements"
    assert tree.place(tmp_path / "Desktop" / "Bank statements") is None
    assert tree.place(demo_config.root.parent) is None
    assert tree.place(demo_config.root / "Private" / "deep") is None
    found = tree.place(bank / "a" / "b")
    assert found is not None and found[0] == bank and found[2] == "a/b"
    # a path with ".." is decided where it really points: inside a folder, or above the root
    assert route(bank / "x" / ".." / "march.pdf", tree) == route(bank / "march.pdf", tree)
    assert route(demo_config.root / ".." / "Kompliant-copy" / "march.pdf", tree) is None
