"""The tray icon: the agent's state at a glance, the actions people need, notifications.

Pure parts (:mod:`icons`, :mod:`menu`, :mod:`notify`) turn a :class:`Snapshot` into
pictures, a menu model and notification decisions; :mod:`app` is the only module that
touches pystray, and imports it lazily so headless runs never need a display.
"""
