"""add-workflow, refresh and remove-workflow through the command line, against the sandbox
over real HTTP on loopback (credentials from the KOMPLIANT_* environment variables)."""

from __future__ import annotations

from pathlib import Path

import pytest

import agent.cli
from agent.cli import exitcodes, main
from agent.config import (
    AgentSettings,
    Config,
    WorkflowConfig,
    config_path,
    load_config,
    save_config,
)
from agent.decide import (
    NOTICE_ENDED,
    NOTICE_INACTIVE,
    Destination,
    FolderTree,
    Refusal,
    load_cache,
    refresh_workflow,
    requirements_file,
    route,
)
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from tests.decide.fakes import ADDRESS, BANK, DEMO, ENDED, GOV_ID, OLD_TAX
from tests.kit.agent import credentials_env

HOME = "Business application (w_DemoApplication000000001)"


@pytest.fixture
def cli_env(live_sandbox: Credentials, root: Path, monkeypatch: pytest.MonkeyPatch) -> Credentials:
    for name, value in credentials_env(live_sandbox).items():
        monkeypatch.setenv(name, value)
    save_config(Config(agent=AgentSettings(root=root)))
    if "agent.cli.workflows" not in agent.cli.COMMAND_MODULES:  # until the dispatcher lists it
        modules = (*agent.cli.COMMAND_MODULES, "agent.cli.workflows")
        monkeypatch.setattr(agent.cli, "COMMAND_MODULES", modules)
    return live_sandbox


def test_refresh_against_the_sandbox_builds_the_demo_tree(
    live_sandbox: Credentials, config: Config, root: Path
) -> None:
    config = config.with_workflow(WorkflowConfig(DEMO))
    with KompliantClient(live_sandbox) as client:
        report = refresh_workflow(client, config, create_root=True)
    assert report.ok, report.lines()
    tree = FolderTree.scan(root, config, load_cache(requirements_file("default")))
    routed = {
        path.name: route(path / "a.pdf", tree) for path in (root / HOME).iterdir() if path.is_dir()
    }
    linked = {
        name: d.required_document_ids for name, d in routed.items() if isinstance(d, Destination)
    }
    assert linked == {
        "Bank statements": (BANK,),
        "Proof of address": (ADDRESS,),
        "Government ID": (GOV_ID,),
        "Upload only": (),
    }
    assert isinstance(routed["Tax return 2019"], Refusal)
    cached = load_cache(requirements_file("default")).get(DEMO)
    assert cached is not None
    assert cached.required_document(OLD_TAX).inactive  # type: ignore[union-attr]


def test_add_refresh_remove_on_the_command_line(
    cli_env: Credentials, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add-workflow", DEMO, "--label", "Demo business"]) == exitcodes.OK
    out = capsys.readouterr().out
    home = root / "Demo business (w_DemoApplication000000001)"
    assert f"Drop files into the requirement folders under {home}" in out
    assert (home / "Tax return 2019" / NOTICE_INACTIVE).is_file()
    assert [w.workflow_id for w in load_config().workflows] == [DEMO]

    assert main(["add-workflow", ENDED]) == exitcodes.OK
    assert "has ENDED" in capsys.readouterr().out
    assert (root / "Business application (w_DemoEnded00000000000001)" / NOTICE_ENDED).is_file()

    assert main(["refresh"]) == exitcodes.OK
    assert f"{DEMO}: STARTED" in capsys.readouterr().out

    (home / "Bank statements" / "kept.pdf").write_bytes(b"%PDF kept")
    assert main(["remove-workflow", DEMO]) == exitcodes.OK
    assert "every file and folder stays where it is" in capsys.readouterr().out
    assert (home / "Bank statements" / "kept.pdf").read_bytes() == b"%PDF kept"
    assert [w.workflow_id for w in load_config().workflows] == [ENDED]


def test_the_users_comments_in_config_toml_survive_add_and_remove_workflow(
    cli_env: Credentials, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_path()
    path.write_text(
        "# Our office's agent: ask Sam before changing it.\n"
        "[agent]\n"
        f"root = '{root}'  # the shared drive\n"
        "workers = 2 # the old laptop is slow\n"
        "\n"
        "# Files from the scanner are written slowly.\n"
        "[stability]\n"
        "quiet_seconds = 5.0\n",
        encoding="utf-8",
    )
    assert main(["add-workflow", DEMO, "--label", "Demo business"]) == exitcodes.OK
    added = path.read_text(encoding="utf-8")
    for comment in (
        "# Our office's agent: ask Sam before changing it.\n",
        f"root = '{root}'  # the shared drive\n",
        "workers = 2 # the old laptop is slow\n",
        "# Files from the scanner are written slowly.\n[stability]\n",
    ):
        assert comment in added
    config = load_config()
    assert [(w.workflow_id, w.label) for w in config.workflows] == [(DEMO, "Demo business")]
    assert config.agent.workers == 2 and config.stability.quiet_seconds == 5.0

    assert main(["remove-workflow", DEMO]) == exitcodes.OK
    removed = path.read_text(encoding="utf-8")
    assert "workers = 2 # the old laptop is slow\n" in removed
    assert "# Files from the scanner are written slowly.\n" in removed
    assert DEMO not in removed
    assert load_config().workflows == ()


def test_unknown_workflow_exits_cannot_succeed_and_changes_nothing(
    cli_env: Credentials, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add-workflow", "w_DoesNotExist000000001"]) == exitcodes.CANNOT_SUCCEED
    assert "w_DoesNotExist000000001" in capsys.readouterr().err
    assert load_config().workflows == ()


def test_refresh_of_an_unconfigured_workflow_is_a_usage_error(
    cli_env: Credentials, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add-workflow", DEMO]) == exitcodes.OK
    assert main(["refresh", "--workflow", "w_Other1"]) == exitcodes.USAGE
    assert "w_Other1 is not configured" in capsys.readouterr().err


def test_remove_of_an_unconfigured_workflow_says_so(
    cli_env: Credentials, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remove-workflow", DEMO]) == exitcodes.CANNOT_SUCCEED
    assert "is not in the agent's configuration" in capsys.readouterr().err
