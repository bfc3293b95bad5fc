"""The doctor against a real sandbox and real folders; a probe is replaced only to break it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import Config, load_config, save_config
from agent.credentials.policy import BackendChoice, BackendKind
from agent.decide import add_workflow
from agent.doctor import Finding, Outcome, Probes, TrayFacts, run_checks
from agent.doctor.checks import probe_tray, probe_writable, read_inotify_limit
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.sandbox import RunningSandbox
from agent.watch.mounts import Mount
from tests.conftest import DEMO_WORKFLOW
from tests.kit.agent import credentials_env

SECURE = BackendChoice(BackendKind.SECURE, "keyring.backends.SecretService.Keyring", None)
HEALTHY = Probes(
    keyring=lambda: SECURE,
    inotify_limit=lambda: 8192,
    tray=lambda env: TrayFacts(True, "gtk", has_menu=True),
    platform="linux",
)


@pytest.fixture
def configured(demo_credentials: Credentials) -> Config:
    with KompliantClient(demo_credentials) as client:
        config, _ = add_workflow(client, load_config(), DEMO_WORKFLOW, "Demo Ltd")
    save_config(config)
    return config


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def test_everything_passes_on_a_healthy_installation(
    configured: Config, demo_credentials: Credentials
) -> None:
    findings = by_check(
        run_checks(configured, "default", credentials_env(demo_credentials), HEALTHY)
    )
    assert {k: f.outcome for k, f in findings.items()} == {
        "keyring": Outcome.OK,
        "API reachable": Outcome.OK,
        "credentials": Outcome.OK,
        "watched folders": Outcome.OK,
        "inotify watch limit": Outcome.OK,
        "tray": Outcome.OK,
        "scanner support": Outcome.OK,
    }
    assert "accepted" in findings["credentials"].detail
    assert "folder(s) to watch, limit 8192" in findings["inotify watch limit"].detail


def test_rejected_credentials_fail_with_how_to_sign_in_again(
    configured: Config, demo_credentials: Credentials
) -> None:
    wrong = dataclasses.replace(demo_credentials, auth_token="x" * 40)
    findings = by_check(run_checks(configured, "default", credentials_env(wrong), HEALTHY))
    assert findings["API reachable"].outcome is Outcome.OK
    assert findings["credentials"].outcome is Outcome.FAILED
    assert "kompliant-agent login" in findings["credentials"].fix
    assert "x" * 40 not in json.dumps(
        [dataclasses.asdict(f) for f in findings.values()], default=str
    )


def test_an_unreachable_api_fails_and_skips_the_credentials(
    configured: Config, sandbox: RunningSandbox, demo_credentials: Credentials
) -> None:
    env = credentials_env(demo_credentials)
    sandbox.stop()
    findings = by_check(run_checks(configured, "default", env, HEALTHY))
    assert findings["API reachable"].outcome is Outcome.FAILED
    assert "proxy" in findings["API reachable"].fix
    assert findings["credentials"].outcome is Outcome.SKIPPED


def test_not_signed_in_fails_with_how_to_sign_in(configured: Config) -> None:
    findings = by_check(run_checks(configured, "default", {}, HEALTHY))
    assert findings["credentials"].outcome is Outcome.FAILED
    assert "login" in findings["credentials"].fix
    assert findings["API reachable"].outcome is Outcome.SKIPPED


def test_a_missing_workflow_folder_fails_with_add_workflow(
    configured: Config, demo_credentials: Credentials
) -> None:
    folder = configured.root / f"Demo Ltd ({DEMO_WORKFLOW})"
    folder.rename(configured.root.parent / "moved away")
    findings = by_check(
        run_checks(configured, "default", credentials_env(demo_credentials), HEALTHY)
    )
    assert findings["watched folders"].outcome is Outcome.FAILED
    assert f"kompliant-agent add-workflow {DEMO_WORKFLOW}" in findings["watched folders"].fix


def test_a_missing_root_fails(configured: Config, demo_credentials: Credentials) -> None:
    configured.root.rename(configured.root.parent / "gone")
    findings = by_check(
        run_checks(configured, "default", credentials_env(demo_credentials), HEALTHY)
    )
    assert findings["watched folders"].outcome is Outcome.FAILED
    assert "does not exist" in findings["watched folders"].detail


def test_an_unwritable_folder_fails(configured: Config, demo_credentials: Credentials) -> None:
    bank = configured.root / f"Demo Ltd ({DEMO_WORKFLOW})" / "Bank statements"

    def writable(folder: Path) -> str | None:
        return "Permission denied" if folder == bank else probe_writable(folder)

    probes = dataclasses.replace(HEALTHY, writable=writable)
    findings = by_check(
        run_checks(configured, "default", credentials_env(demo_credentials), probes)
    )
    assert findings["watched folders"].outcome is Outcome.FAILED
    assert "Bank statements is not writable" in findings["watched folders"].detail
    assert "write access" in findings["watched folders"].fix


def test_the_writable_probe_creates_nothing_that_stays(tmp_path: Path) -> None:
    assert probe_writable(tmp_path) is None
    assert list(tmp_path.iterdir()) == []
    assert probe_writable(tmp_path / "missing") is not None


def test_too_few_inotify_watches_fail(configured: Config, demo_credentials: Credentials) -> None:
    probes = dataclasses.replace(HEALTHY, inotify_limit=lambda: 3)
    findings = by_check(
        run_checks(configured, "default", credentials_env(demo_credentials), probes)
    )
    assert findings["inotify watch limit"].outcome is Outcome.FAILED


def test_the_real_inotify_limit_is_read() -> None:
    limit = read_inotify_limit()
    assert limit is None or limit > 0
    assert read_inotify_limit(Path("/nonexistent")) is None


def test_a_plaintext_keyring_fails(configured: Config) -> None:
    plaintext = BackendChoice(BackendKind.PLAINTEXT, "keyrings.alt.file.PlaintextKeyring", None)
    probes = dataclasses.replace(HEALTHY, keyring=lambda: plaintext)
    findings = by_check(run_checks(configured, "default", {}, probes))
    assert findings["keyring"].outcome is Outcome.FAILED


def test_the_real_tray_probe_without_a_display_does_not_import_pystray() -> None:
    assert probe_tray({}, "linux") == TrayFacts(display=False)


def test_the_cli_exit_code_says_whether_all_passed(
    configured: Config,
    demo_credentials: Credentials,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in credentials_env(demo_credentials).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("agent.doctor.checks.Probes", lambda: HEALTHY)
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "All checks passed."
    no_host = dataclasses.replace(
        HEALTHY,
        tray=lambda env: TrayFacts(
            True, "appindicator", has_menu=True, host_found=False, host_fix="Add a tray."
        ),
    )
    monkeypatch.setattr("agent.doctor.checks.Probes", lambda: no_host)
    assert main(["doctor"]) == 0  # a warning does not fail the doctor …
    out = capsys.readouterr().out
    assert "[warn] tray: no tray host" in out and "fix: Add a tray." in out
    assert "All checks passed." not in out  # … but it is not "all passed" either
    assert out.splitlines()[-1].startswith("No check failed, but 1 check gave a warning")
    assert main(["doctor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == 1
    monkeypatch.setattr("agent.doctor.checks.Probes", lambda: HEALTHY)
    monkeypatch.setenv("KOMPLIANT_AUTH_TOKEN", "y" * 40)
    assert main(["doctor", "--json"]) == 4
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False
    failed = [f for f in data["findings"] if f["outcome"] == "failed"]
    assert [f["check"] for f in failed] == ["credentials"]
    assert all(f["fix"] for f in failed)


def test_a_root_on_a_network_share_is_named_as_polled(
    configured: Config, demo_credentials: Credentials
) -> None:
    share = Mount(str(configured.root.parent), "nfs4", "filer:/home")
    probes = dataclasses.replace(HEALTHY, mounts=lambda: [Mount("/", "ext4"), share])
    folders = by_check(run_checks(configured, "default", credentials_env(demo_credentials), probes))
    found = folders["watched folders"]
    assert found.outcome is Outcome.OK
    assert f"network folder — checked every 1 s: {configured.root} (nfs4)" in found.detail


def test_a_network_folder_forced_to_events_is_a_warning(
    configured: Config, demo_credentials: Credentials
) -> None:
    forced = dataclasses.replace(
        configured, stability=dataclasses.replace(configured.stability, polling=False)
    )
    share = Mount(str(configured.root), "fuse.sshfs", "ann@host:/docs")
    probes = dataclasses.replace(HEALTHY, mounts=lambda: [Mount("/", "ext4"), share])
    found = by_check(run_checks(forced, "default", credentials_env(demo_credentials), probes))
    assert found["watched folders"].outcome is Outcome.WARNING
    assert "polling = false" in found["watched folders"].detail
    assert "Remove `polling = false`" in found["watched folders"].fix


def test_a_local_root_names_no_network_folder(
    configured: Config, demo_credentials: Credentials
) -> None:
    probes = dataclasses.replace(HEALTHY, mounts=lambda: [Mount("/", "ext4")])
    found = by_check(run_checks(configured, "default", credentials_env(demo_credentials), probes))
    assert "network folder" not in found["watched folders"].detail


def test_a_missing_scanner_part_is_a_failure_with_its_fix(configured: Config) -> None:
    from dataclasses import replace

    broken = replace(HEALTHY, scanner=lambda: "rendering it (pypdfium2) failed: ImportError")
    findings = by_check(run_checks(configured, "default", {}, broken))
    scanner = findings["scanner support"]
    assert scanner.outcome is Outcome.FAILED and "pypdfium2" in scanner.detail
    assert "Install kompliant-agent again" in scanner.fix
