"""Each doctor verdict, passing and failing, from plain facts."""

from __future__ import annotations

import dataclasses

from agent.credentials.policy import BackendKind
from agent.doctor.findings import Outcome, TrayFacts, judge_inotify, judge_keyring, judge_tray


def test_keyring_secure_passes() -> None:
    finding = judge_keyring(
        BackendKind.SECURE, "SecretService", env_credentials=False, platform="linux"
    )
    assert finding.outcome is Outcome.OK and finding.passed


def test_keyring_plaintext_fails_and_says_so() -> None:
    finding = judge_keyring(
        BackendKind.PLAINTEXT, "keyrings.alt.file", env_credentials=False, platform="linux"
    )
    assert finding.outcome is Outcome.FAILED
    assert "PLAINTEXT" in finding.detail
    assert "pip uninstall keyrings.alt" in finding.fix


def test_keyring_missing_fails_with_the_platform_fix() -> None:
    finding = judge_keyring(BackendKind.MISSING, "fail", env_credentials=False, platform="linux")
    assert finding.outcome is Outcome.FAILED
    assert "gnome-keyring" in finding.fix
    mac = judge_keyring(BackendKind.MISSING, "fail", env_credentials=False, platform="darwin")
    assert "Keychain" in mac.fix


def test_keyring_missing_is_only_a_warning_with_environment_credentials() -> None:
    finding = judge_keyring(BackendKind.MISSING, "fail", env_credentials=True, platform="linux")
    assert finding.outcome is Outcome.WARNING and finding.passed


def test_inotify_room_passes_tight_warns_too_few_fails() -> None:
    assert judge_inotify(8192, 100, platform="linux").outcome is Outcome.OK
    assert judge_inotify(150, 100, platform="linux").outcome is Outcome.WARNING
    failed = judge_inotify(50, 100, platform="linux")
    assert failed.outcome is Outcome.FAILED
    assert "fs.inotify.max_user_watches=" in failed.fix
    assert judge_inotify(None, 100, platform="linux").outcome is Outcome.WARNING
    assert judge_inotify(None, 100, platform="win32").outcome is Outcome.OK


def test_tray_with_menus_passes() -> None:
    finding = judge_tray(TrayFacts(True, "gtk", has_menu=True), platform="linux")
    assert finding.outcome is Outcome.OK


def test_tray_without_menus_fails_with_the_packages_to_install() -> None:
    finding = judge_tray(TrayFacts(True, "xorg", has_menu=False), platform="linux")
    assert finding.outcome is Outcome.FAILED
    assert "gir1.2-ayatanaappindicator3-0.1" in finding.fix


def test_tray_that_cannot_load_fails() -> None:
    finding = judge_tray(TrayFacts(True, error="ValueError: no backend"), platform="linux")
    assert finding.outcome is Outcome.FAILED and "no backend" in finding.detail


def test_no_display_is_a_warning() -> None:
    finding = judge_tray(TrayFacts(False), platform="linux")
    assert finding.outcome is Outcome.WARNING and finding.passed


def test_no_tray_host_warns_with_the_fix_for_this_desktop() -> None:
    facts = TrayFacts(
        True,
        "appindicator",
        has_menu=True,
        host_found=False,
        desktop="ubuntu:GNOME",
        host_fix="GNOME shows tray icons only with the AppIndicator extension: …",
        notifications=True,
    )
    finding = judge_tray(facts, platform="linux")
    assert finding.outcome is Outcome.WARNING
    assert "no tray host" in finding.detail and "notifications tell you" in finding.detail
    assert finding.fix == facts.host_fix
    silent = judge_tray(dataclasses.replace(facts, notifications=False), platform="linux")
    assert "cannot reach you" in silent.detail


def test_a_running_agents_tray_problem_is_reported() -> None:
    facts = TrayFacts(
        True,
        "appindicator",
        has_menu=True,
        host_found=True,
        hosts="a StatusNotifier host",
        running_problem="the appindicator backend failed: _show: StopIteration",
        running_fix="See the log (`kompliant-agent logs`); restart the agent.",
    )
    finding = judge_tray(facts, platform="linux")
    assert finding.outcome is Outcome.WARNING
    assert "StopIteration" in finding.detail and "restart the agent" in finding.fix


def test_the_packaged_app_is_never_told_to_install_packages() -> None:
    for facts in (
        TrayFacts(True, error="ImportError: no gi", frozen=True),
        TrayFacts(True, "xorg", has_menu=False, frozen=True),
        TrayFacts(True, "gtk", has_menu=True, needs_appindicator=True, frozen=True),
    ):
        finding = judge_tray(facts, platform="linux")
        assert finding.outcome is Outcome.FAILED
        assert "apt" not in finding.fix and "Download the agent again" in finding.fix


def test_a_statusnotifier_host_without_the_appindicator_library_fails() -> None:
    facts = TrayFacts(
        True,
        "gtk",
        has_menu=True,
        host_found=True,
        hosts="a StatusNotifier host",
        needs_appindicator=True,
    )
    finding = judge_tray(facts, platform="linux")
    assert finding.outcome is Outcome.FAILED
    assert "gir1.2-ayatanaappindicator3-0.1" in finding.fix
