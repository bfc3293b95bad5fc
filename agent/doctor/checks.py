"""The doctor's probes: look at this machine and installation, then judge (findings.py).

Every probe that touches something slow or platform-bound (the keyring, pystray, the
inotify limit, Kompliant) is a parameter of :class:`Probes`, so tests replace exactly the
one they need to make fail and keep the rest real.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agent.config import Config
from agent.credentials import credentials_from_environment, resolve_credentials, stored_profile
from agent.credentials.keyring_store import current_choice
from agent.credentials.policy import BackendChoice
from agent.decide import FolderTree, load_cache, requirements_file
from agent.doctor.findings import (
    API,
    CREDENTIALS,
    FOLDERS,
    Finding,
    Outcome,
    TrayFacts,
    judge_inotify,
    judge_keyring,
    judge_scanner,
    judge_tray,
)
from agent.errors import AgentError, RetryLater
from agent.kompliant.auth import Credentials
from agent.kompliant.client import KompliantClient
from agent.kompliant.pacer import Pacer, PacerPolicy
from agent.locations import locations
from agent.scan.selfcheck import check_scanner
from agent.tray import hosts as tray_hosts
from agent.tray.notifier import DesktopNotifier
from agent.tray.report import TrayReport, read_report
from agent.watch.mounts import Mount, describe, network_mounts_below, system_mounts
from agent.watch.polling import PolledFolder, polling_reason

log = logging.getLogger(__name__)

INOTIFY_LIMIT_FILE = Path("/proc/sys/fs/inotify/max_user_watches")
TIMEOUT = 10.0


def read_inotify_limit(path: Path = INOTIFY_LIMIT_FILE) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def probe_tray(environ: Mapping[str, str], platform: str = sys.platform) -> TrayFacts:
    """What the agent's tray would find here: the hosts, the backend it picks, menus.

    On Linux the hosts are looked at over D-Bus and X11 and the backend is chosen the
    way ``run`` chooses it, without loading GTK or pystray; elsewhere pystray is imported
    (it picks its one backend), which needs a display, so it is only imported with one.
    """
    display = not platform.startswith("linux") or bool(
        environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")
    )
    if not display:
        return TrayFacts(display=False)
    if not platform.startswith("linux"):
        try:
            pystray = importlib.import_module("pystray")
        except Exception as error:  # any backend failure is the answer, not a crash
            return TrayFacts(display=True, error=f"{type(error).__name__}: {error}")
        icon = pystray.Icon
        backend = icon.__module__.rsplit("._", 1)[-1]
        return TrayFacts(display=True, backend=backend, has_menu=bool(getattr(icon, "HAS_MENU", 0)))
    hosts = tray_hosts.probe_hosts(environ)
    available = tray_hosts.available_backends()
    forced = environ.get("PYSTRAY_BACKEND") or None
    backend = tray_hosts.choose_backend(hosts, available, forced)
    desktop = tray_hosts.desktop_name(environ)
    notifier = DesktopNotifier(environ)
    try:
        notifications = notifier.available()
    finally:
        notifier.close()
    if backend is None:
        return TrayFacts(
            display=True,
            error="neither PyGObject with GTK 3 nor python-xlib loads",
            frozen=tray_hosts.frozen(),
        )
    return TrayFacts(
        display=True,
        backend=backend,
        has_menu=backend in tray_hosts.GLIB_BACKENDS,
        host_found=hosts.any,
        hosts=hosts.describe() if hosts.any else "",
        needs_appindicator=hosts.shows_sni
        and not hosts.xembed
        and tray_hosts.APPINDICATOR not in available,
        desktop=desktop,
        host_fix=tray_hosts.host_fix(desktop),
        frozen=tray_hosts.frozen(),
        notifications=notifications,
    )


def running_tray(profile: str) -> TrayReport | None:
    """The tray report of the agent running for ``profile`` (None when none runs)."""
    return read_report(locations().profile_state(profile))


def probe_writable(folder: Path) -> str | None:
    """None when a file can be created in ``folder``; else why not.

    The test file is hidden (the watcher ignores hidden names) and removed at once.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=".kompliant-doctor-", dir=folder)
    except OSError as error:
        return error.strerror or str(error)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def probe_api(url: str) -> str | None:
    """None when something answers HTTP at ``url`` (any status); else why not."""
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            client.get(url)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return None


def probe_credentials(credentials: Credentials) -> str:
    """meta.checkVersion with these credentials; the API version, or an AgentError."""
    with KompliantClient(
        credentials, timeout=TIMEOUT, pacer=Pacer(PacerPolicy(max_attempts=1))
    ) as client:
        return client.check_version().current_version


@dataclass(frozen=True)
class Probes:
    keyring: Callable[[], BackendChoice] = current_choice
    inotify_limit: Callable[[], int | None] = read_inotify_limit
    tray: Callable[[Mapping[str, str]], TrayFacts] = probe_tray
    running_tray: Callable[[str], TrayReport | None] = running_tray
    writable: Callable[[Path], str | None] = probe_writable
    api: Callable[[str], str | None] = probe_api
    credentials: Callable[[Credentials], str] = probe_credentials
    mounts: Callable[[], Sequence[Mount]] = system_mounts
    scanner: Callable[[], str | None] = check_scanner
    platform: str = field(default=sys.platform)


def run_checks(
    config: Config, profile: str, environ: Mapping[str, str], probes: Probes | None = None
) -> list[Finding]:
    """Every check, in the order a person would fix them."""
    probes = probes or Probes()
    findings = [keyring_finding(environ, probes)]
    findings.extend(kompliant_findings(profile, environ, probes))
    findings.extend(folder_findings(config, probes))
    facts = probes.tray(environ)
    report = probes.running_tray(profile)
    if report is not None and report.problem:
        facts = dataclasses.replace(facts, running_problem=report.problem, running_fix=report.fix)
    findings.append(judge_tray(facts, platform=probes.platform))
    findings.append(judge_scanner(probes.scanner()))
    return findings


def keyring_finding(environ: Mapping[str, str], probes: Probes) -> Finding:
    env_credentials = any(environ.get(n) for n in ("KOMPLIANT_SECRET_KEY", "KOMPLIANT_API_KEY"))
    try:
        choice = probes.keyring()
    except AgentError as error:
        return Finding("keyring", Outcome.FAILED, error.message, error.hint or "")
    return judge_keyring(
        choice.kind, choice.name, env_credentials=env_credentials, platform=probes.platform
    )


def kompliant_findings(profile: str, environ: Mapping[str, str], probes: Probes) -> list[Finding]:
    """API reachable, then credentials accepted (meta.checkVersion)."""
    try:
        credentials: Credentials | None = resolve_credentials(profile, environ=environ)
        problem = None
    except AgentError as error:
        credentials, problem = None, error
    url = credentials.api_url if credentials else _known_api_url(profile, environ)
    if url is None:
        api = Finding(API, Outcome.SKIPPED, "no API URL is configured yet")
    else:
        unreachable = probes.api(url)
        api = (
            Finding(API, Outcome.OK, f"{url} answers")
            if unreachable is None
            else Finding(
                API,
                Outcome.FAILED,
                f"{url} does not answer ({unreachable})",
                "Check the network connection, a proxy (HTTPS_PROXY) or firewall, and the "
                "API URL (`kompliant-agent whoami`).",
            )
        )
    if credentials is None:
        assert problem is not None
        fix = problem.hint or ""
        if not fix or "login" not in fix:
            fix = (fix + " " if fix else "") + "Sign in with `kompliant-agent setup` or `login`."
        return [api, Finding(CREDENTIALS, Outcome.FAILED, problem.message, fix)]
    if api.outcome is Outcome.FAILED:
        return [api, Finding(CREDENTIALS, Outcome.SKIPPED, "the API cannot be reached")]
    try:
        version = probes.credentials(credentials)
    except RetryLater as error:
        return [
            api,
            Finding(
                CREDENTIALS,
                Outcome.FAILED,
                f"Kompliant could not check them: {error.message}",
                error.hint or "Try again in a few minutes.",
            ),
        ]
    except AgentError as error:
        return [
            api,
            Finding(
                CREDENTIALS,
                Outcome.FAILED,
                f"Kompliant refused API key {credentials.api_key}: {error.message}",
                "Sign in again with the current keys from Kompliant: `kompliant-agent login "
                f"--api-url {credentials.api_url} --api-key KEY`.",
            ),
        ]
    return [
        api,
        Finding(
            CREDENTIALS,
            Outcome.OK,
            f"API key {credentials.api_key} accepted (API version {version})",
        ),
    ]


def _known_api_url(profile: str, environ: Mapping[str, str]) -> str | None:
    if environ.get("KOMPLIANT_API_URL"):
        return environ["KOMPLIANT_API_URL"].strip()
    try:
        if credentials_from_environment(environ) is None:
            stored = stored_profile(profile)
            return stored.api_url if stored else None
    except AgentError:
        return None
    return None


def folder_findings(config: Config, probes: Probes) -> list[Finding]:
    """Watched folders present and writable, then the inotify limit against their number."""
    root = config.root
    if not config.workflows:
        folders = Finding(
            FOLDERS,
            Outcome.WARNING,
            "no workflows are set up, so nothing is watched",
            "Choose workflows with `kompliant-agent setup` or `kompliant-agent add-workflow w_…`.",
        )
        return [folders, judge_inotify(probes.inotify_limit(), 0, platform=probes.platform)]
    try:
        tree = FolderTree.scan(root, config, load_cache(requirements_file(config.agent.profile)))
    except AgentError as error:
        return [
            Finding(FOLDERS, Outcome.FAILED, error.message, error.hint or ""),
            judge_inotify(probes.inotify_limit(), 0, platform=probes.platform),
        ]
    problems: list[str] = []
    missing = [w.workflow_id for w in config.workflows if not tree.workflow_folders(w.workflow_id)]
    for workflow_id in missing:
        problems.append(f"no folder for {workflow_id} under {root}")
    for folder, reason in sorted(tree.broken.items()):
        problems.append(f"{folder}: {reason}")
    for folder in [root, *sorted(tree.folders)]:
        why = probes.writable(folder)
        if why is not None:
            problems.append(f"{folder} is not writable ({why})")
    count = _count_folders(root)
    inotify = judge_inotify(probes.inotify_limit(), count, platform=probes.platform)
    if problems:
        fix_parts = []
        if missing:
            fix_parts.append(
                "Recreate the folders with `kompliant-agent add-workflow "
                + " / ".join(missing)
                + "` (files already there are kept)."
            )
        if len(problems) > len(missing):
            fix_parts.append(
                "Give your user write access to these folders (the agent moves files to "
                "done/ and failed/ inside them), or reconnect the drive or share."
            )
        return [Finding(FOLDERS, Outcome.FAILED, "; ".join(problems), " ".join(fix_parts)), inotify]
    detail = f"{len(tree.folders)} folder(s) of {len(config.workflows)} workflow(s) under {root}"
    polled, forced_events = _network_folders(root, tree, probes.mounts())
    detail = "; ".join([detail, *(folder.describe() for folder in polled)])
    if forced_events:
        return [
            Finding(
                FOLDERS,
                Outcome.WARNING,
                detail
                + "; "
                + "; ".join(
                    f"{path} is a network folder ({kind}) with "
                    "polling = false: files that arrive from elsewhere are found only by the "
                    "rescan every 5 minutes"
                    for path, kind in forced_events
                ),
                "Remove `polling = false` for these folders from the config, so that they "
                "are polled.",
            ),
            inotify,
        ]
    return [Finding(FOLDERS, Outcome.OK, detail), inotify]


def _network_folders(
    root: Path, tree: FolderTree, table: Sequence[Mount]
) -> tuple[list[PolledFolder], list[tuple[Path, str]]]:
    """The folders the running agent polls (as its watcher decides), and network folders
    the config forces to events."""
    polled: list[PolledFolder] = []
    forced: list[tuple[Path, str]] = []
    inside = [system.path for system in network_mounts_below(root, table)]
    for folder in [root, *inside]:
        settings = tree.settings_for(folder)
        reason, network = polling_reason(folder, settings, table)
        if reason is not None:
            polled.append(PolledFolder(folder, settings.poll_interval, reason, network))
            if folder == root:
                break  # the whole root is polled, the mounts inside it too
        kind = describe(folder, table).network
        if settings.polling is False and kind is not None:
            forced.append((folder, kind))
    return polled, forced


def _count_folders(root: Path) -> int:
    """Folders under ``root`` (itself included): one inotify watch each."""
    return sum(1 for _ in os.walk(root))
