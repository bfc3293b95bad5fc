"""Times as the sandbox writes them: Kompliant's ISO stamps and S3's ``X-Amz-Date``.

Both are made from the second and the microsecond ``datetime.fromtimestamp`` makes of a
unix time (its fraction rounded half to even); the text of a second is made once, as
every answer in that second repeats it.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime


def _split(when: float) -> tuple[int, int]:
    second = math.floor(when)
    micros = round((when - second) * 1e6)
    if micros >= 1_000_000:
        return second + 1, micros - 1_000_000
    return second, micros


@functools.lru_cache(maxsize=8)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).isoformat().removesuffix("+00:00")


@functools.lru_cache(maxsize=8)
def _amz_second(second: int) -> str:
    m = datetime.fromtimestamp(second, UTC)
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}Z"


def iso_millis(when: float) -> str:
    """``YYYY-MM-DDTHH:mm:ss.SSSZ`` (the milliseconds cut as ``isoformat`` cuts them)."""
    second, micros = _split(when)
    return f"{_iso_second(second)}.{micros // 1000:03d}Z"


def amz_date(when: float) -> str:
    """``X-Amz-Date`` for a unix time: ``20250324T101500Z``."""
    return _amz_second(_split(when)[0])


def iso_millis_time(when: float) -> float:
    """The unix time the text :func:`iso_millis` writes for ``when`` stands for (what
    ``datetime.fromisoformat(...).timestamp()`` reads back from it)."""
    second, micros = _split(when)
    return (second * 1_000_000 + micros // 1000 * 1000) / 1_000_000
