"""What the tests share, written once.

- :mod:`tests.kit.clock`: :class:`FakeClock`, a clock that moves only when told (unit
  tests inject it instead of sleeping);
- :mod:`tests.kit.wait`: :func:`wait_for`, a bounded poll for a condition (never a fixed
  sleep), which fails the test with what it waited for;
- :mod:`tests.kit.agent`: the agent as a real process (``python -m agent …``):
  :func:`agent_cli` to its end, :func:`start_agent` for a long-running ``run``
  (:class:`AgentProcess`);
- :mod:`tests.kit.home`: :func:`isolated_home`, an agent home of the test's own with no
  credentials from the environment;
- :mod:`tests.kit.race`: :func:`start_race` and :func:`race_results`, for processes that
  race each other (claimers, takers-over), and :func:`in_threads` for threads;
- :mod:`tests.kit.processes`: :func:`reaped`, a child process killed at the end of its
  block if it still runs;
- :mod:`tests.kit.sandbox`: the ``sandbox`` fixture (settings a test may override with a
  ``sandbox_settings`` fixture) and plain-httpx helpers to call it;
- :mod:`tests.kit.notes`: a settled file's receipt or error note, the document id a
  receipt names, the SHA-256 of content.
"""
