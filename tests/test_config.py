"""The config file: schema, validation errors that name the key, defaults, atomic save."""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from agent.config import (
    AgentSettings,
    CombinedFolder,
    Config,
    ConfigError,
    FolderOverride,
    InboxRule,
    WorkflowConfig,
    config_path,
    load_config,
    parse_config,
    save_config,
)
from agent.locations import HOME_ENV
from agent.watch.stability import StabilitySettings

FULL = """
[agent]
profile = "work"
root = "~/Docs/Kompliant"
workers = 2
refresh_interval = 600
upload_duplicates = true
ignore = ["*.bak"]

[stability]
quiet_seconds = 3.5
polling = true

[[folders]]
path = "Acme Ltd (w_Acme1)/Bank statements"
polling = true
poll_interval = 5

[[workflows]]
workflow_id = "w_Acme1"
label = "Acme Ltd"

[[workflows.combined]]
folder = "Bank statement (address + account)"
required_document_ids = ["rd_Bank1", "rd_Address1"]

[[workflows.inbox_rules]]
pattern = "statement*.pdf"
required_document_ids = ["rd_Bank1"]

[[workflows.inbox_rules]]
pattern = "^ID_\\\\d+\\\\.jpg$"
regex = true
required_document_ids = []
"""


@pytest.fixture(autouse=True)
def agent_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(tomllib.loads(text))
    return list(caught.value.problems)


def test_absent_file_gives_defaults_with_root_in_documents(agent_home: Path) -> None:
    config = load_config()
    assert config == Config()
    assert config.root == agent_home / "documents" / "Kompliant"
    assert config.agent.workers == 4
    assert config.agent.refresh_interval == 900
    assert config.stability == StabilitySettings()


def test_full_example_is_read() -> None:
    config = parse_config(tomllib.loads(FULL))
    assert config.agent == AgentSettings(
        profile="work",
        root=Path("~/Docs/Kompliant").expanduser(),
        workers=2,
        refresh_interval=600.0,
        upload_duplicates=True,
        ignore=("*.bak",),
    )
    assert config.stability.quiet_seconds == 3.5
    assert config.stability.polling is True
    assert config.stability.max_wait_seconds == StabilitySettings().max_wait_seconds
    assert config.folders == (
        FolderOverride(path="Acme Ltd (w_Acme1)/Bank statements", polling=True, poll_interval=5),
    )
    (workflow,) = config.workflows
    assert workflow.combined == (
        CombinedFolder("Bank statement (address + account)", ("rd_Bank1", "rd_Address1")),
    )
    assert workflow.inbox_rules == (
        InboxRule("statement*.pdf", ("rd_Bank1",), regex=False),
        InboxRule(r"^ID_\d+\.jpg$", (), regex=True),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[agent]\nworkers = 0", "agent.workers: must be between 1 and 64, not 0"),
        ("[agent]\nworkers = 2.5", "agent.workers: expected a whole number, not a decimal number"),
        ("[agent]\nupload_duplicates = 1", "agent.upload_duplicates: expected true or false"),
        ("[agent]\nrefresh_interval = 1", "agent.refresh_interval: must be at least 10"),
        ("[agent]\nignore = [1]", "agent.ignore[0]: expected a string, not a whole number"),
        ("[agent]\nprofile = 'a b'", "agent.profile: must be 1-64 letters"),
        ("[agent]\nwokers = 2", "agent.wokers: unknown key (known keys: profile"),
        ("agent = 3", "agent: must be a table ([agent]), not a whole number"),
        ("[stability]\nquiet_seconds = -1", "stability.quiet_seconds: must be at least 0"),
        ("[stability]\npolling = 'yes'", "stability.polling: expected true or false, not a string"),
        ("[[folders]]\npolling = true", "folders[0].path: missing; expected a string"),
        ("[[folders]]\npath = '../x'", "folders[0].path: must stay inside the root folder"),
        ("[[folders]]\npath = '/abs'", "folders[0].path: must be relative to the root folder"),
        ("[[workflows]]\nlabel = 'x'", "workflows[0].workflow_id: missing"),
        ("[[workflows]]\nworkflow_id = 'abc'", "workflows[0].workflow_id: not a workflow id"),
        (
            "[[workflows]]\nworkflow_id = 'w_a'\n[[workflows.inbox_rules]]\npattern = 'a'\n"
            "required_document_ids = []\n[[workflows.inbox_rules]]\npattern = 'b'\n"
            "required_document_ids = []\n[[workflows.inbox_rules]]\npattern = '(x'\nregex = true\n"
            "required_document_ids = []",
            "workflows[0].inbox_rules[2].pattern: not a valid regular expression: missing )",
        ),
        (
            "[[workflows]]\nworkflow_id = 'w_a'\n[[workflows.inbox_rules]]\npattern = 'a'\n"
            "required_document_ids = ['rd_1', 'd_2']",
            "workflows[0].inbox_rules[0].required_document_ids[1]: not a required document id",
        ),
        (
            "[[workflows]]\nworkflow_id = 'w_a'\n[[workflows.inbox_rules]]\npattern = 'a'",
            "workflows[0].inbox_rules[0].required_document_ids: missing",
        ),
        (
            "[[workflows]]\nworkflow_id = 'w_a'\n[[workflows.combined]]\nfolder = 'a/b'\n"
            "required_document_ids = ['rd_1']",
            "workflows[0].combined[0].folder: must not contain any of",
        ),
        (
            "[[workflows]]\nworkflow_id = 'w_a'\n[[workflows.combined]]\nfolder = 'ab'\n"
            "required_document_ids = []",
            "workflows[0].combined[0].required_document_ids: must name at least one",
        ),
        (
            "[[workflows]]\nworkflow_id = 'w_a'\n[[workflows]]\nworkflow_id = 'w_a'",
            "workflows[1].workflow_id: the same workflow is listed twice (also at workflows[0])",
        ),
        ("[[workflows]]\nworkflow_id = 'w_a'\ncolour = 1", "workflows[0].colour: unknown key"),
    ],
)
def test_each_problem_names_its_key(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of("[agent]\nworkers = 0\n[stability]\npolling = 2\n")
    assert [p.split(":")[0] for p in problems] == ["agent.workers", "stability.polling"]


def test_error_names_the_file_and_says_what_to_do(agent_home: Path) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("[agent]\nworkers = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config()
    text = caught.value.describe()
    assert str(path) in text
    assert "agent.workers" in text
    assert "docs/folders.md" in text


def test_broken_toml_is_an_error_naming_the_file() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("[agent\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config()


def test_save_then_load_gives_the_same_config() -> None:
    config = parse_config(tomllib.loads(FULL))
    path = save_config(config)
    assert path == config_path()
    assert load_config() == config


def test_save_writes_only_set_keys_and_loads_back_defaults() -> None:
    config = Config(workflows=(WorkflowConfig("w_One"),))
    save_config(config)
    data = tomllib.loads(config_path().read_text(encoding="utf-8"))
    assert "root" not in data["agent"]
    assert data["workflows"] == [{"workflow_id": "w_One"}]
    assert load_config() == config


def test_save_is_atomic_old_file_survives_a_failed_replace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save_config(Config(workflows=(WorkflowConfig("w_Old"),)))
    before = config_path().read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_config(Config(workflows=(WorkflowConfig("w_New"),)))
    assert config_path().read_bytes() == before
    assert sorted(p.name for p in config_path().parent.iterdir()) == ["config.toml"]


def test_save_changes_only_what_differs_in_the_users_file() -> None:
    """A changed value is replaced where it stands, its comment kept; a workflow no longer
    configured goes with its lines; a new one is added at the end."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[agent]\n"
        "workers = 2  # files at once\n"
        "\n"
        "[[workflows]]\n"
        "workflow_id = 'w_Keep'  # the main one\n"
        "\n"
        "[[workflows]]\n"
        "workflow_id = 'w_Gone'\n",
        encoding="utf-8",
    )
    config = load_config()
    changed = config.without_workflow("w_Gone").with_workflow(WorkflowConfig("w_New", "New"))
    save_config(replace(changed, agent=replace(changed.agent, workers=3)))
    text = path.read_text(encoding="utf-8")
    assert "workers = 3  # files at once\n" in text
    assert "workflow_id = 'w_Keep'  # the main one\n" in text
    assert "w_Gone" not in text
    assert [w.workflow_id for w in load_config().workflows] == ["w_Keep", "w_New"]


def test_with_and_without_workflow() -> None:
    config = Config().with_workflow(WorkflowConfig("w_A", "A")).with_workflow(WorkflowConfig("w_B"))
    relabelled = config.with_workflow(WorkflowConfig("w_A", "Renamed"))
    assert [w.label for w in relabelled.workflows] == ["Renamed", ""]
    assert [w.workflow_id for w in relabelled.without_workflow("w_A").workflows] == ["w_B"]


def test_folder_override_applies_only_what_it_sets() -> None:
    base = StabilitySettings(quiet_seconds=2.0, polling=False)
    settings = FolderOverride(path="x", polling=True, quiet_seconds=9).apply_to(base)
    assert settings == StabilitySettings(quiet_seconds=9.0, polling=True)


def test_the_confirmation_of_a_whole_file_is_set_like_the_others() -> None:
    config = parse_config(
        tomllib.loads(
            "[stability]\nwhole_confirm_seconds = 0.1\n"
            '[[folders]]\npath = "Scans"\nwhole_confirm_seconds = 0.25\n'
        )
    )
    assert StabilitySettings().whole_confirm_seconds == 0.1
    assert config.stability.whole_confirm_seconds == 0.1
    assert config.folders[0].apply_to(config.stability).whole_confirm_seconds == 0.25
    assert config.stability.close_confirm_seconds == 0.25
    assert problems_of("[stability]\nwhole_confirm_seconds = -1") == [
        "stability.whole_confirm_seconds: must be at least 0, not -1"
    ]


def test_the_example_in_docs_folders_md_is_valid() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "folders.md"
    text = doc.read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    config = parse_config(tomllib.loads(example))
    (workflow,) = config.workflows
    assert len(workflow.inbox_rules) == 3
    assert workflow.inbox_rules[1].regex
    assert config.folders[0].polling is True


def test_review_pacing_keys_are_read_and_checked() -> None:
    text = "[agent]\nreview_interval = 60\nreview_calls_per_minute = 12\n"
    config = parse_config(tomllib.loads(text))
    assert (config.agent.review_interval, config.agent.review_calls_per_minute) == (60.0, 12)
    assert parse_config({}).agent.review_interval == 300
    with pytest.raises(ConfigError) as raised:
        parse_config(tomllib.loads("[agent]\nreview_interval = 5\nreview_calls_per_minute = 0\n"))
    assert "agent.review_interval: must be at least 10" in str(raised.value)
    assert "agent.review_calls_per_minute: must be between 1 and 600, not 0" in str(raised.value)


def test_polling_left_unset_means_decided_by_the_file_system() -> None:
    config = parse_config({})
    assert config.stability.polling is None
    assert config.stability.incomplete_seconds == 600.0
    save_config(config)
    data = tomllib.loads(config_path().read_text(encoding="utf-8"))
    assert "polling" not in data["stability"]  # written back unset, so still automatic
    assert load_config() == config
    forced = parse_config(tomllib.loads("[stability]\npolling = false\n"))
    assert forced.stability.polling is False
    save_config(forced)
    assert load_config().stability.polling is False


def test_incomplete_seconds_is_read_per_folder_and_checked() -> None:
    text = (
        "[stability]\nincomplete_seconds = 120\n"
        '[[folders]]\npath = "Scans"\nincomplete_seconds = 30\n'
    )
    config = parse_config(tomllib.loads(text))
    assert config.stability.incomplete_seconds == 120
    assert config.folders[0].apply_to(config.stability).incomplete_seconds == 30
    assert problems_of("[stability]\nincomplete_seconds = -5") == [
        "stability.incomplete_seconds: must be at least 0, not -5"
    ]


def test_joining_page_images_is_a_folder_setting() -> None:
    from agent.decide import FolderTree, load_cache
    from agent.decide.tree import DEFAULT_JOIN_WINDOW, join_window_for

    text = (
        '[[folders]]\npath = "Acme"\njoin_images = true\n\n'
        '[[folders]]\npath = "Acme/Inbox"\njoin_window = 3\n\n'
        '[[folders]]\npath = "Acme/Bank"\njoin_images = false\n'
    )
    config = parse_config(tomllib.loads(text))
    root = Path("/k")
    tree = FolderTree(root=root, config=config, cache=load_cache(root / "none.json"))
    assert join_window_for(tree, root / "Acme" / "Inbox" / "scan-1.png") == 3.0
    assert join_window_for(tree, root / "Acme" / "x" / "scan-1.png") == DEFAULT_JOIN_WINDOW
    assert join_window_for(tree, root / "Acme" / "Bank" / "scan-1.png") is None
    assert join_window_for(tree, root / "Other" / "scan-1.png") is None
    assert parse_config(tomllib.loads(text)) == load_back(config)
    assert problems_of('[[folders]]\npath = "a"\njoin_window = 0\njoin_images = 1\n') == [
        "folders[0].join_images: expected true or false, not a whole number",
        "folders[0].join_window: must be at least 0.5, not 0",
    ]


def load_back(config: Config) -> Config:
    from agent.config.dump import config_to_data

    return parse_config(config_to_data(config))
