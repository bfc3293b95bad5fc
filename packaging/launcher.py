"""The frozen app's entry point: the same ``main`` as the ``kompliant-agent`` command.

``freeze_support`` first: the agent's upload processes are started with the ``spawn``
method, which runs this executable again; that run must become the upload process, not
the command line.
"""

import multiprocessing

from agent.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main())
