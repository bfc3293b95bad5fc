"""``python -m agent`` is the same as the ``kompliant-agent`` command."""

from agent.cli import main

raise SystemExit(main())
