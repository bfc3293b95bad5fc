"""What is inside a file: its real type, and whether it is whole.

- :mod:`agent.content.filetype` tells a file's type from its first bytes (a table of
  signatures) and compares it with the type its name claims; the agent refuses a
  mislabeled file before ``document.create``, and the sandbox's upload endpoint refuses
  one as Kompliant's does.
- :mod:`agent.content.ends` tells whether a file of a format that has an end (PDF,
  JPEG, PNG, ZIP-based documents) has reached it, for finished-file detection.

Both read a few kilobytes at most and never parse the document itself.
"""

from agent.content.ends import Completeness, completeness, judge_ends
from agent.content.filetype import Kind, check_type, expected_kind, kind_of, sniff

__all__ = [
    "Completeness",
    "Kind",
    "check_type",
    "completeness",
    "expected_kind",
    "judge_ends",
    "kind_of",
    "sniff",
]
