"""The sandbox's time stamps are what ``datetime`` writes, made once a second."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from agent.sandbox.s3policy import parse_expiration
from agent.sandbox.timetext import amz_date, iso_millis, iso_millis_time

NOW = 1_742_811_300.0  # 2025-03-24T10:15:00Z


def _datetime_iso(when: float) -> str:
    moment = datetime.fromtimestamp(when, UTC)
    return moment.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def _datetime_amz(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y%m%dT%H%M%SZ")


@pytest.mark.parametrize(
    "when",
    [
        NOW,
        NOW + 0.0005,  # half a millisecond: cut, not rounded
        NOW + 0.9994999,
        NOW + 0.9999994,  # rounds to ...999 µs
        NOW + 0.9999996,  # rounds up into the next second
        NOW + 59.9999996,  # ... and the next minute
        0.0,
        4_102_444_799.9999996,  # into 2100
    ],
)
def test_edges_are_written_as_datetime_writes_them(when: float) -> None:
    assert iso_millis(when) == _datetime_iso(when)
    assert amz_date(when) == _datetime_amz(when)
    assert iso_millis_time(when) == parse_expiration(_datetime_iso(when))


def test_random_times_are_written_as_datetime_writes_them() -> None:
    rng = random.Random(20250324)
    for _ in range(20_000):
        when = rng.choice(
            [
                NOW + rng.random() * 86_400,
                rng.randrange(4_000_000_000) + rng.random(),
                round(NOW + rng.random(), rng.randrange(8)),
            ]
        )
        assert iso_millis(when) == _datetime_iso(when), when
        assert amz_date(when) == _datetime_amz(when), when
        assert iso_millis_time(when) == parse_expiration(_datetime_iso(when)), when
