"""Desktop notifications on Linux: ``org.freedesktop.Notifications`` over D-Bus.

The agent's own client (jeepney), not pystray's: it works whether or not a tray icon is
shown — with no tray, notifications are how the agent reaches the user — and it offers
actions ("Open the failed folder") where the notification server supports them
(``GetCapabilities`` lists ``actions``). The ``default`` action is what a click on the
notification itself does.

A notification that cannot be shown (no server on the bus) is a log line, never an error.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
APP_NAME = "Kompliant agent"
TIMEOUT = 5.0
KEEP_HANDLERS = 20  # the actions of the last notifications that can still be clicked


@dataclass(frozen=True)
class NoticeAction:
    """A button of a notification; ``key`` ``default`` is a click on the notification."""

    key: str
    label: str
    run: Callable[[], object]


class DesktopNotifier:
    """Shows notifications; runs an action's callback when the user picks it."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._address = (environ or {}).get("DBUS_SESSION_BUS_ADDRESS") or "SESSION"
        self._lock = threading.Lock()
        self._router: Any = None
        self._capabilities: frozenset[str] | None = None
        self._handlers: dict[int, tuple[NoticeAction, ...]] = {}
        self._order: list[int] = []
        self._signals: queue.Queue[Any] = queue.Queue()
        self._filter: Any = None
        self._closed = False

    # -- what the server offers --------------------------------------------------------

    def capabilities(self) -> frozenset[str]:
        """The server's capabilities; empty when no server answers."""
        with self._lock:
            if self._capabilities is None:
                try:
                    (caps,) = self._call("GetCapabilities", "", ())
                    self._capabilities = frozenset(str(c) for c in caps)
                except Exception as error:
                    log.info("no notification service answers on D-Bus: %s", error)
                    return frozenset()
            return self._capabilities

    def available(self) -> bool:
        return bool(self.capabilities()) or self._server_name() is not None

    def supports_actions(self) -> bool:
        return "actions" in self.capabilities()

    def _server_name(self) -> str | None:
        try:
            with self._lock:
                name, *_ = self._call("GetServerInformation", "", ())
        except Exception:
            return None
        return str(name)

    # -- showing -----------------------------------------------------------------------

    def notify(
        self,
        title: str,
        body: str,
        *,
        actions: Sequence[NoticeAction] = (),
        icon: str = "",
        urgent: bool = False,
    ) -> bool:
        """Show a notification; False (logged) when no server takes it."""
        offered = tuple(actions) if actions and self.supports_actions() else ()
        flat: list[str] = [part for a in offered for part in (a.key, a.label)]
        hints = {"urgency": ("y", 2 if urgent else 1)}
        try:
            with self._lock:
                (nid,) = self._call(
                    "Notify",
                    "susssasa{sv}i",
                    (APP_NAME, 0, icon, title, body, flat, hints, -1),
                )
                if offered:
                    self._remember(int(nid), offered)
        except Exception as error:
            log.warning("could not show the notification %r: %s", title, error)
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._router is not None:
                with contextlib.suppress(Exception):
                    self._router.close()
                with contextlib.suppress(Exception):
                    self._router.conn.close()
                self._router = None
        self._signals.put(None)

    # -- D-Bus -----------------------------------------------------------------------------

    def _call(self, method: str, signature: str, body: tuple[Any, ...]) -> Any:
        jeepney = importlib.import_module("jeepney")
        router = self._ensure_router()
        address = jeepney.DBusAddress(PATH, bus_name=SERVICE, interface=SERVICE)
        message = jeepney.new_method_call(address, method, signature or None, body)
        try:
            reply = router.send_and_get_reply(message, timeout=TIMEOUT)
        except Exception:
            self._drop_router()
            raise
        return jeepney.wrappers.unwrap_msg(reply)

    def _ensure_router(self) -> Any:
        if self._closed:
            raise RuntimeError("the notifier is closed")
        if self._router is None:
            jeepney = importlib.import_module("jeepney")
            threaded = importlib.import_module("jeepney.io.threading")
            router = threaded.DBusRouter(threaded.open_dbus_connection(bus=self._address))
            rule = jeepney.MatchRule(type="signal", interface=SERVICE, member="ActionInvoked")
            self._filter = router.filter(rule, queue=self._signals)
            add = jeepney.bus_messages.message_bus.AddMatch(rule)
            jeepney.wrappers.unwrap_msg(router.send_and_get_reply(add, timeout=TIMEOUT))
            self._router = router
            threading.Thread(
                target=self._dispatch, name="notification-actions", daemon=True
            ).start()
        return self._router

    def _drop_router(self) -> None:
        router, self._router = self._router, None
        if router is not None:
            with contextlib.suppress(Exception):
                router.close()
            with contextlib.suppress(Exception):
                router.conn.close()
        self._capabilities = None

    def _remember(self, nid: int, actions: tuple[NoticeAction, ...]) -> None:
        self._handlers[nid] = actions
        self._order.append(nid)
        for old in self._order[:-KEEP_HANDLERS]:
            self._handlers.pop(old, None)
        del self._order[:-KEEP_HANDLERS]

    def _dispatch(self) -> None:
        """The receiver of ActionInvoked: runs the chosen action (never on the bus thread)."""
        for message in iter(self._signals.get, None):
            try:
                nid, key = int(message.body[0]), str(message.body[1])
            except (AttributeError, IndexError, TypeError, ValueError):
                continue
            with self._lock:
                actions = self._handlers.get(nid, ())
            for action in actions:
                if action.key == key:
                    log.info("notification action: %s", action.label)
                    try:
                        action.run()
                    except Exception:
                        log.exception("the notification action %r failed", action.label)
