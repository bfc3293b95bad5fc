"""The backend follows the tray host that exists; each desktop gets its own fix."""

from __future__ import annotations

import pytest

from agent.tray.hosts import TrayHosts, choose_backend, host_fix

ALL = ("appindicator", "gtk", "xorg")
SNI = TrayHosts(sni=True, sni_host=True)
XEMBED = TrayHosts(xembed=True)
BOTH = TrayHosts(sni=True, sni_host=True, xembed=True)
NONE = TrayHosts()


@pytest.mark.parametrize(
    ("hosts", "available", "chosen"),
    [
        (SNI, ALL, "appindicator"),  # KDE, XFCE, GNOME with the extension
        (BOTH, ALL, "appindicator"),  # xfce4-panel docks both: SNI first
        (XEMBED, ALL, "gtk"),  # trayer, tint2, stalonetray: the AppIndicator lib is useless
        (XEMBED, ("xorg",), "xorg"),  # no PyGObject: the menu-less fallback
        (NONE, ALL, "appindicator"),  # no tray yet: most trays that come later are SNI
        (NONE, ("gtk", "xorg"), "gtk"),
        (TrayHosts(sni=True, sni_host=False, xembed=True), ALL, "gtk"),  # a watcher, no host
        (SNI, ("gtk", "xorg"), "gtk"),  # doctor says what is missing
        (NONE, (), None),
    ],
)
def test_the_backend_follows_the_host(
    hosts: TrayHosts, available: tuple[str, ...], chosen: str | None
) -> None:
    assert choose_backend(hosts, available) == chosen


def test_a_backend_the_user_forced_is_kept() -> None:
    assert choose_backend(XEMBED, ALL, forced="appindicator") == "appindicator"


def test_hosts_in_words() -> None:
    assert SNI.any and XEMBED.any and not NONE.any
    assert BOTH.describe() == (
        "a StatusNotifier host (org.kde.StatusNotifierWatcher) and an XEmbed tray "
        "(_NET_SYSTEM_TRAY_S0)"
    )
    assert NONE.describe() == "no tray host"
    assert TrayHosts(bus=False).describe() == "no tray host (the session bus did not answer)"


@pytest.mark.parametrize(
    ("desktop", "words"),
    [
        ("ubuntu:GNOME", "gnome-shell-extension-appindicator"),
        ("GNOME", "AppIndicator extension"),
        ("KDE", "System Tray widget"),
        ("XFCE", "Status Tray plugin"),
        ("MATE", "Notification Area"),
        ("X-Cinnamon", "System Tray applet"),
        ("LXQt", "Status Notifier widget"),
        ("sway", "tray module"),
        ("", "trayer"),
        ("i3", "trayer"),
    ],
)
def test_each_desktop_gets_its_fix(desktop: str, words: str) -> None:
    assert words in host_fix(desktop)
