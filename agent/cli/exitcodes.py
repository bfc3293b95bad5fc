"""Exit codes shared by every command (also listed in ``kompliant-agent --help``)."""

from __future__ import annotations

from agent.errors import AgentError, RetryLater

OK = 0
INTERNAL = 1  # a bug: the log has the traceback
USAGE = 2  # wrong arguments (argparse uses 2 too)
RETRY_LATER = 3  # nothing is wrong with the input; try again later
CANNOT_SUCCEED = 4  # the input must change before it can succeed
PARTIAL = 5  # some items succeeded, some did not

EPILOG = """exit codes:
  0  everything succeeded
  1  internal error (see the log)
  2  usage error
  3  retry later: network, throttling, server trouble, expired upload form
  4  cannot succeed as it is: invalid file or id, ended workflow, rejected credentials
  5  partly done: some items succeeded and some did not
"""


def for_error(error: AgentError) -> int:
    return RETRY_LATER if isinstance(error, RetryLater) else CANNOT_SUCCEED
