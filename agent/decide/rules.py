"""Scanner inbox rules: the first rule whose pattern matches the file name wins."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

from agent.config import InboxRule


def rule_matches(rule: InboxRule, file_name: str) -> bool:
    """A glob matches the whole name without regard to case; a regex is searched in it.

    A regex is case-sensitive unless it says otherwise (``(?i)statement``), as Python's
    ``re`` does; anchor it (``^…$``) to match the whole name.
    """
    if rule.regex:
        return re.search(rule.pattern, file_name) is not None
    return fnmatch.fnmatchcase(file_name.casefold(), rule.pattern.casefold())


def first_match(rules: Sequence[InboxRule], file_name: str) -> tuple[int, InboxRule] | None:
    """The index and rule of the first matching rule, or ``None`` (never a guess)."""
    for index, rule in enumerate(rules):
        if rule_matches(rule, file_name):
            return index, rule
    return None
