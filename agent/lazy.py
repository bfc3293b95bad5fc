"""A package's public names, each loaded with its module when first used (PEP 562).

A package that re-exports names from heavy modules (the HTTP client, watchdog) gives
them to :func:`lazy_names` and makes the result its ``__getattr__``: commands that only
read the config or the status then start without loading what they never call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``where`` maps each name to its module."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
