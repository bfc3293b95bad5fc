"""The tray icon: the agent's state at a glance, the actions people need, notifications.

Pure parts turn a :class:`Snapshot` into what the user sees: :mod:`icons` (pictures),
:mod:`words` (status line, tooltip), :mod:`menu` (the menu model), :mod:`notify` (when a
notification is due and what it says), :mod:`hosts` (which backend a tray host takes,
and the fix for each desktop). The shell: :mod:`loader` imports pystray with that
backend (lazily: headless runs never need a display), :mod:`backends` puts right what
pystray's Linux backends lack, :mod:`app` runs the icon, :mod:`health` watches whether a
host shows it (:mod:`report` tells ``status`` and ``doctor``), :mod:`actions` and
:mod:`dialogs` carry out the menu, :mod:`notifier` shows notifications over D-Bus.
"""
