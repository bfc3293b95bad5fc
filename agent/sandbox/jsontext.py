"""The JSON text of the sandbox's answers and saved rows.

orjson writes it about ten times faster than the standard library's encoder, which took
a sixth of the sandbox's work on a ``document.get``. Its text is compact, with UTF-8
characters as they are; the standard library's encoder still writes what orjson will
not (an integer beyond 64 bits, a key that is not a string) as it always did.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_compact = json.JSONEncoder(separators=(",", ":")).encode


def json_bytes(value: Any) -> bytes:
    """``value`` as compact JSON text in UTF-8."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return _compact(value).encode("utf-8")


def json_text(value: Any) -> str:
    """``value`` as compact JSON text."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return _compact(value)
