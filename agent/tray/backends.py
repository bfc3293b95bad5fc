"""pystray's Linux backends, with what each lacks for the agent put right.

- **appindicator** (StatusNotifier hosts): pystray builds a fallback menu with
  ``next(item for item in menu if item.default)``, which raises inside the GTK loop for
  a menu without a default item — silently, so the item stays ``Passive`` and no host
  shows it. Here the menu is never empty, the item is ``Active`` (``NeedsAttention``
  when the agent needs the user), its icon files end in ``.png``, and a failure in the
  loop is logged and remembered instead of swallowed.
- **gtk** (XEmbed trays): the title becomes the tooltip too (pystray only sets the
  status icon's title, which no tray shows), and :meth:`shown` asks GTK whether a tray
  embedded the icon.
- **xorg** (the fallback without GTK): the icon keeps its aspect and sits on the
  panel's own background instead of a stretched picture on black.

Neither GTK backend asks D-Bus for pystray's notifier: the agent has its own
(:mod:`agent.tray.notifier`), which works without an icon.

Classes are made by :func:`icon_class`, after pystray has been imported (it needs a
display), never at import time of this module.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import tempfile
from collections.abc import Callable
from typing import Any

from PIL import Image

log = logging.getLogger(__name__)

Method = Callable[..., None]


@functools.cache
def icon_class(backend: str) -> type[Any]:
    """The agent's icon class for ``backend`` (``appindicator``, ``gtk``, ``xorg``, or a
    platform backend such as ``win32``/``darwin``, which is used as pystray has it)."""
    base = importlib.import_module(f"pystray._{backend}").Icon
    maker = _MAKERS.get(backend)
    return maker(base) if maker is not None else base


def _on_gtk_loop(method: Method) -> Method:
    """Run ``method`` in the GTK loop; an exception is logged and kept in ``failures``."""
    glib = importlib.import_module("gi.repository.GLib")

    @functools.wraps(method)
    def schedule(self: Any, *args: Any) -> None:
        def call() -> bool:
            try:
                method(self, *args)
            except Exception as error:
                log.exception("the tray icon (%s) failed in %s", self.BACKEND, method.__name__)
                self.failures.append(f"{method.__name__}: {type(error).__name__}: {error}")
            return False

        glib.idle_add(call)

    return schedule


def _gtk_common(base: type[Any], backend: str) -> type[Any]:
    class GtkCommon(base):  # type: ignore[misc]
        BACKEND = backend

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.failures: list[str] = []
            self._menu_handle: Any = None
            super().__init__(*args, **kwargs)
            self.update_menu()

        def _initialize(self) -> None:
            # pystray's version also makes its D-Bus notifier, which fails without a
            # notification service; the agent notifies by itself.
            self._notifier = None
            self._mark_ready()

        def _finalize(self) -> None:
            self._visible = False  # pystray's __del__ would hide it again, too late
            self._remove_fs_icon()

        def _update_fs_icon(self) -> None:
            fd, path = tempfile.mkstemp(prefix="kompliant-tray-", suffix=".png")
            with os.fdopen(fd, "wb") as handle:
                self.icon.save(handle, "PNG")
            self._icon_path = path
            self._icon_valid = True

    return GtkCommon


def _appindicator(base: type[Any]) -> type[Any]:
    module = importlib.import_module("pystray._appindicator")
    status = module.AppIndicator.IndicatorStatus
    menu_types = importlib.import_module("pystray._base")
    gtk = importlib.import_module("gi.repository.Gtk")

    class AppIndicatorIcon(_gtk_common(base, "appindicator")):  # type: ignore[misc]
        _menu_handle: Any

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.attention = False
            self.connected: bool | None = None
            super().__init__(*args, **kwargs)
            self._appindicator.connect("connection-changed", self._on_connection)

        def _on_connection(self, _indicator: Any, connected: bool) -> None:
            if self.connected is not None and self.connected == bool(connected):
                return
            self.connected = bool(connected)
            log.info(
                "tray: %s",
                "a StatusNotifier host took the icon"
                if connected
                else "no StatusNotifier host has the icon",
            )

        @_on_gtk_loop
        def _show(self) -> None:
            indicator = self._appindicator
            if self._icon_path:
                indicator.set_icon_full(self._icon_path, self.title or self.name)
                indicator.set_attention_icon_full(self._icon_path, self.title or self.name)
            indicator.set_menu(self._menu_handle or self._create_default_menu())
            indicator.set_title(self.title or self.name)
            indicator.set_status(status.ATTENTION if self.attention else status.ACTIVE)

        @_on_gtk_loop
        def _hide(self) -> None:
            self._appindicator.set_status(status.PASSIVE)

        @_on_gtk_loop
        def _update_icon(self) -> None:
            self._remove_fs_icon()
            self._update_fs_icon()
            description = self.title or self.name
            self._appindicator.set_icon_full(self._icon_path, description)
            self._appindicator.set_attention_icon_full(self._icon_path, description)

        @_on_gtk_loop
        def _update_title(self) -> None:
            self._appindicator.set_title(self.title or self.name)

        @_on_gtk_loop
        def _update_menu(self) -> None:
            fresh = self._create_menu(self.menu) or self._create_default_menu()
            shown = self._menu_handle
            if shown is None:
                self._menu_handle = fresh
                self._appindicator.set_menu(fresh)
                return
            # The same menu with new items: a new menu would register the item with the
            # host again, which redraws it and loses a click or an open menu meanwhile.
            for child in shown.get_children():
                shown.remove(child)
            for child in fresh.get_children():
                fresh.remove(child)
                shown.append(child)
            shown.show_all()

        @_on_gtk_loop
        def set_attention(self, attention: bool) -> None:
            """NeedsAttention while the agent needs the user, else Active."""
            self.attention = attention
            if self.visible:
                self._appindicator.set_status(status.ATTENTION if attention else status.ACTIVE)

        def _create_default_menu(self) -> Any:
            """A menu with the default item, else the first one, else the icon's name."""
            items = list(self.menu.items) if self.menu is not None else []
            chosen = next((i for i in items if i.default), items[0] if items else None)
            if chosen is None or chosen is menu_types.Menu.SEPARATOR:
                chosen = menu_types.MenuItem(self.name, lambda *_: None)
            menu = gtk.Menu.new()
            menu.append(self._create_menu_item(chosen))
            menu.show_all()
            return menu

        def _finalize(self) -> None:
            with contextlib.suppress(Exception):
                self._appindicator.set_status(status.PASSIVE)
            super()._finalize()

    return AppIndicatorIcon


def _gtk(base: type[Any]) -> type[Any]:
    class GtkStatusIcon(_gtk_common(base, "gtk")):  # type: ignore[misc]
        @_on_gtk_loop
        def _show(self) -> None:
            self._status_icon.set_title(self.title)
            self._status_icon.set_tooltip_text(self.title)
            self._status_icon.set_visible(True)

        @_on_gtk_loop
        def _hide(self) -> None:
            self._status_icon.set_visible(False)

        @_on_gtk_loop
        def _update_icon(self) -> None:
            self._remove_fs_icon()
            self._update_fs_icon()
            self._status_icon.set_from_file(self._icon_path)

        @_on_gtk_loop
        def _update_title(self) -> None:
            self._status_icon.set_title(self.title)
            self._status_icon.set_tooltip_text(self.title)

        @_on_gtk_loop
        def _update_menu(self) -> None:
            self._menu_handle = self._create_menu(self.menu)

        def shown(self) -> bool:
            """Whether a tray embedded the icon (call in the GTK loop)."""
            return bool(self._status_icon.is_embedded())

        def _finalize(self) -> None:
            with contextlib.suppress(Exception):
                self._status_icon.set_visible(False)
            super()._finalize()

    return GtkStatusIcon


def _xorg(base: type[Any]) -> type[Any]:
    xlib = importlib.import_module("Xlib.X")

    class XorgIcon(base):  # type: ignore[misc]
        BACKEND = "xorg"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.failures: list[str] = []
            super().__init__(*args, **kwargs)

        def shown(self) -> bool:
            return self._systray_manager is not None

        def _assert_icon_data(self, width: int, height: int) -> None:
            """The icon at the largest square that fits, centred on the tray's background."""
            data: Image.Image | None = getattr(self, "_icon_data", None)
            if data is not None and data.size == (width, height):
                return
            side = max(1, min(width, height))
            picture = self._icon.convert("RGBA").resize((side, side), Image.Resampling.LANCZOS)
            canvas = self._background(width, height)
            canvas.paste(picture, ((width - side) // 2, (height - side) // 2), picture)
            canvas.tostring = canvas.tobytes  # type: ignore[attr-defined]  # python-xlib calls it
            self._icon_data = canvas

        def _background(self, width: int, height: int) -> Image.Image:
            """What the tray draws behind the icon (its window shows the parent's
            background), else a neutral grey."""
            try:
                self._window.change_attributes(background_pixmap=xlib.ParentRelative)
                self._window.clear_area(0, 0, width, height)
                self._display.sync()
                raw = self._window.get_image(0, 0, width, height, xlib.ZPixmap, 0xFFFFFFFF)
                if len(raw.data) == width * height * 4:
                    return Image.frombytes("RGB", (width, height), raw.data, "raw", "BGRX")
            except Exception as error:
                log.debug("tray: no background from the XEmbed tray: %s", error)
            return Image.new("RGB", (width, height), (128, 128, 128))

    return XorgIcon


_MAKERS: dict[str, Callable[[type[Any]], type[Any]]] = {
    "appindicator": _appindicator,
    "gtk": _gtk,
    "xorg": _xorg,
}
