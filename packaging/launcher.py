"""The frozen app's entry point: the same ``main`` as the ``kompliant-agent`` command."""

from agent.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
