"""Which tray hosts this desktop has, and which pystray backend fits them.

Linux desktops show tray icons in one of two ways: a StatusNotifier host (KDE, XFCE,
MATE, Cinnamon, LXQt, GNOME with the AppIndicator extension) that owns
``org.kde.StatusNotifierWatcher`` on the session bus and shows AppIndicator items, or an
XEmbed tray manager (trayer, stalonetray, tint2, older panels) that owns the X selection
``_NET_SYSTEM_TRAY_S<screen>`` and docks icon windows. An icon made for the one is
invisible in the other, so the backend follows the host that exists
(:func:`choose_backend`) — pystray alone takes AppIndicator whenever its library is
installed, host or not.

The probes use jeepney (D-Bus) and python-xlib (X11), which are there wherever pystray
is on Linux, and never GTK: ``doctor`` runs them without loading a tray.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SNI_WATCHER = "org.kde.StatusNotifierWatcher"
SNI_WATCHER_PATH = "/StatusNotifierWatcher"
SNI_ITEM = "org.kde.StatusNotifierItem"
XEMBED_SELECTION = "_NET_SYSTEM_TRAY_S{screen}"
DBUS_TIMEOUT = 2.0

#: pystray's Linux backends, the most capable first.
APPINDICATOR, GTK, XORG = "appindicator", "gtk", "xorg"
LINUX_BACKENDS = (APPINDICATOR, GTK, XORG)
#: The backends that run in a GLib main loop (and may replace each other while running).
GLIB_BACKENDS = (APPINDICATOR, GTK)


@dataclass(frozen=True)
class TrayHosts:
    """What shows tray icons on this desktop right now."""

    sni: bool = False  # a StatusNotifierWatcher on the session bus
    sni_host: bool = False  # … with a host registered that draws the items
    xembed: bool = False  # an XEmbed tray manager owns _NET_SYSTEM_TRAY_S<n>
    bus: bool = True  # the session bus answered (False: the SNI answer is unknown)

    @property
    def any(self) -> bool:
        return self.shows_sni or self.xembed

    @property
    def shows_sni(self) -> bool:
        return self.sni and self.sni_host

    def describe(self) -> str:
        found = []
        if self.shows_sni:
            found.append(f"a StatusNotifier host ({SNI_WATCHER})")
        elif self.sni:
            found.append(f"a {SNI_WATCHER} without a registered host")
        if self.xembed:
            found.append("an XEmbed tray (_NET_SYSTEM_TRAY_S0)")
        if not found:
            found.append("no tray host")
        text = " and ".join(found)
        return text if self.bus else text + " (the session bus did not answer)"


def choose_backend(
    hosts: TrayHosts, available: Sequence[str], forced: str | None = None
) -> str | None:
    """The pystray backend that shows an icon on ``hosts`` (None when none can be loaded).

    A StatusNotifier host takes AppIndicator items; an XEmbed tray takes a GTK status icon
    (or, without GTK, pystray's menu-less xorg icon). With neither, AppIndicator is the
    best guess: most desktops that add a tray later (a panel starting after the agent at
    login) are StatusNotifier hosts, and the agent switches when an XEmbed tray appears.
    """
    if forced:
        return forced
    if hosts.shows_sni and APPINDICATOR in available:
        return APPINDICATOR
    if hosts.xembed:
        for backend in (GTK, XORG):
            if backend in available:
                return backend
    return next((b for b in LINUX_BACKENDS if b in available), None)


def available_backends() -> tuple[str, ...]:
    """The Linux backends whose libraries load here (checked without a display)."""
    found = []
    if _gi_requires(("Gtk", "3.0")):
        if _gi_requires(("AyatanaAppIndicator3", "0.1")) or _gi_requires(("AppIndicator3", "0.1")):
            found.append(APPINDICATOR)
        found.append(GTK)
    with contextlib.suppress(Exception):
        importlib.import_module("Xlib.display")
        found.append(XORG)
    return tuple(found)


def _gi_requires(*namespaces: tuple[str, str]) -> bool:
    try:
        gi: Any = importlib.import_module("gi")
        for name, version in namespaces:
            gi.require_version(name, version)
            importlib.import_module(f"gi.repository.{name}")
    except Exception:  # ImportError, ValueError: not installed; anything else: broken
        return False
    return True


# -- probing the desktop -------------------------------------------------------------------


class HostProbe:
    """Looks at the desktop's tray hosts, again and again, over connections it keeps."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if environ is None else environ)
        self._bus: Any = None
        self._x: Any = None
        self._x_atom: Any = None

    def hosts(self) -> TrayHosts:
        sni, sni_host, bus = self._probe_sni()
        return TrayHosts(sni=sni, sni_host=sni_host, xembed=self._probe_xembed(), bus=bus)

    def registered_items(self) -> tuple[str, ...]:
        """The items the StatusNotifierWatcher knows (``<bus name>/<object path>``)."""
        value = self._watcher_property("RegisteredStatusNotifierItems")
        return tuple(str(item) for item in value) if isinstance(value, list) else ()

    def item_status(self, item: str) -> str | None:
        """``Active``, ``Passive`` or ``NeedsAttention`` of a registered item, as its host
        reads it; None when it does not answer."""
        name, slash, path = item.partition("/")
        try:
            value = self._get_property(
                name, "/" + path if slash else "/StatusNotifierItem", SNI_ITEM, "Status"
            )
        except Exception as error:
            log.debug("status of %s: %s", item, error)
            return None
        return str(value) if value is not None else None

    def close(self) -> None:
        for handle in (self._bus, self._x):
            if handle is not None:
                with contextlib.suppress(Exception):
                    handle.close()
        self._bus = self._x = None

    # -- D-Bus ---------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._bus is None:
            blocking = importlib.import_module("jeepney.io.blocking")
            address = self._env.get("DBUS_SESSION_BUS_ADDRESS")
            self._bus = blocking.open_dbus_connection(bus=address or "SESSION")
        return self._bus

    def _call(self, message: Any) -> Any:
        wrappers = importlib.import_module("jeepney.wrappers")
        try:
            reply = self._connection().send_and_get_reply(message, timeout=DBUS_TIMEOUT)
        except Exception:
            self.close_bus()
            raise
        return wrappers.unwrap_msg(reply)

    def close_bus(self) -> None:
        if self._bus is not None:
            with contextlib.suppress(Exception):
                self._bus.close()
            self._bus = None

    def _probe_sni(self) -> tuple[bool, bool, bool]:
        """(watcher there, host registered, the bus answered)."""
        try:
            bus_messages = importlib.import_module("jeepney.bus_messages")
            (owned,) = self._call(bus_messages.message_bus.NameHasOwner(SNI_WATCHER))
        except Exception as error:
            log.debug("no answer from the session bus: %s", error)
            return False, False, False
        if not owned:
            return False, False, True
        host = self._watcher_property("IsStatusNotifierHostRegistered")
        return True, bool(host), True

    def _watcher_property(self, name: str) -> Any:
        try:
            return self._get_property(SNI_WATCHER, SNI_WATCHER_PATH, SNI_WATCHER, name)
        except Exception as error:
            log.debug("%s.%s: %s", SNI_WATCHER, name, error)
            return None

    def _get_property(self, bus_name: str, path: str, interface: str, name: str) -> Any:
        jeepney = importlib.import_module("jeepney")
        address = jeepney.DBusAddress(path, bus_name=bus_name, interface=interface)
        ((_, value),) = self._call(jeepney.Properties(address).get(name))
        return value

    # -- X11 -----------------------------------------------------------------------------

    def _probe_xembed(self) -> bool:
        display = self._env.get("DISPLAY")
        if not display:
            return False
        try:
            if self._x is None:
                xdisplay = importlib.import_module("Xlib.display")
                self._x = xdisplay.Display(display)
                screen = self._x.get_default_screen()
                self._x_atom = self._x.intern_atom(XEMBED_SELECTION.format(screen=screen))
            owner = self._x.get_selection_owner(self._x_atom)
        except Exception as error:
            log.debug("no answer from the X display %s: %s", display, error)
            if self._x is not None:
                with contextlib.suppress(Exception):
                    self._x.close()
            self._x = None
            return False
        return bool(getattr(owner, "id", owner))


def probe_hosts(environ: Mapping[str, str] | None = None) -> TrayHosts:
    """One look at the desktop's tray hosts."""
    probe = HostProbe(environ)
    try:
        return probe.hosts()
    finally:
        probe.close()


# -- what to tell the user ------------------------------------------------------------------

_DESKTOP_FIXES: tuple[tuple[str, str], ...] = (
    (
        "gnome",
        "GNOME shows tray icons only with the AppIndicator extension: sudo apt install "
        "gnome-shell-extension-appindicator, log out and in, then turn it on in the "
        "Extensions app (or: gnome-extensions enable ubuntu-appindicators@ubuntu.com).",
    ),
    ("unity", "Install the indicator support: sudo apt install indicator-application."),
    (
        "kde",
        "Add the System Tray widget to a panel (right-click the panel → Add Widgets… → "
        "System Tray).",
    ),
    (
        "xfce",
        "Add the Status Tray plugin to a panel (Panel → Panel Preferences → Items → + → "
        "Status Tray Plugin).",
    ),
    (
        "mate",
        "Add the Notification Area to a panel (right-click the panel → Add to Panel… → "
        "Notification Area).",
    ),
    (
        "cinnamon",
        "Add the System Tray applet to a panel (right-click the panel → Applets → System Tray).",
    ),
    (
        "lxqt",
        "Add the Status Notifier widget to a panel (right-click the panel → Manage "
        "Widgets → Status Notifier).",
    ),
    (
        "lxde",
        "Add the System Tray to the panel (right-click the panel → Add / Remove Panel "
        "Items → System Tray).",
    ),
    ("budgie", "Add the System Tray applet in Budgie Desktop Settings → Panel."),
    ("pantheon", "Install the indicator support: sudo apt install wingpanel-indicator-ayatana."),
    (
        "sway",
        "Use a bar with a tray: swaybar's tray, or waybar with its tray module.",
    ),
    ("hyprland", "Use a bar with a tray, for example waybar with its tray module."),
)
BARE_FIX = (
    "Start a tray with your session, for example trayer, stalonetray or tint2 (sudo apt "
    "install trayer; then run: trayer --edge top --align right &)."
)
MEANWHILE = " Until then the agent tells you about failures and sign-in problems by notification."


def host_fix(desktop: str) -> str:
    """How to get a tray on the desktop named by ``XDG_CURRENT_DESKTOP`` (e.g. ``ubuntu:GNOME``)."""
    names = [part.strip().lower() for part in desktop.split(":") if part.strip()]
    for name in names:
        for key, fix in _DESKTOP_FIXES:
            if key in name:
                return fix
    return BARE_FIX


def desktop_name(environ: Mapping[str, str]) -> str:
    return environ.get("XDG_CURRENT_DESKTOP") or environ.get("DESKTOP_SESSION") or ""


def frozen() -> bool:
    """Whether this is the packaged app (PyInstaller), whose tray libraries are bundled."""
    return bool(getattr(sys, "frozen", False))
