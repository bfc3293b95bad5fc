"""A request body reads as the standard library reads it, whoever reads it."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest

from agent.sandbox.jsontext import read_json


def _standard(data: bytes) -> tuple[str, Any]:
    try:
        return "read", json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return "refused", type(error)


def _ours(data: bytes) -> tuple[str, Any]:
    try:
        return "read", read_json(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return "refused", type(error)


def _same(data: bytes) -> None:
    ours, standard = _ours(data), _standard(data)
    # repr tells 1 from 1.0 and -0.0 from 0.0, and keeps the keys' order.
    assert repr(ours) == repr(standard), data


@pytest.mark.parametrize(
    "data",
    [
        b'{"file_size_in_bytes": 123456789012345678901234567890}',  # beyond 64 bits
        b'{"file_size_in_bytes": 18446744073709551616}',
        b'{"file_size_in_bytes": -9223372036854775809}',
        b'{"file_size_in_bytes": 9223372036854775807}',
        b'{"file_size_in_bytes": 2048}',
        b'{"a": 1e400}',
        b'{"a": -1e400}',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": "\\ud800"}',  # a lone surrogate
        b'{"a": "\\u00e9\\ud83d\\ude00"}',
        b'{"a": 1, "b": 2, "a": 3}',  # the last value, in the first one's place
        b'\xef\xbb\xbf{"a": 1}',  # a byte order mark
        b'{"a": "\xff"}',  # not UTF-8
        b'{"a": "\x00"}',
        b'{"a": 1} x',
        b'{"a": 1,}',
        b'{"a": -0}',
        b'{"a": -0.0}',
        b'{"a": 2.4e-324}',
        b'{"a": 1.7976931348623157e308}',
        b"[1, 2]",
        b'"text"',
        b" \n",
        b"",
        b"[" * 600 + b"]" * 600,
        b"[" * 2000 + b"]" * 2000,  # deeper than orjson reads
    ],
)
def test_edges_read_as_the_standard_library_reads_them(data: bytes) -> None:
    _same(data)


def test_random_numbers_read_as_the_standard_library_reads_them() -> None:
    rng = random.Random(20250324)
    for _ in range(20_000):
        bits = struct.unpack("<d", rng.randbytes(8))[0]
        number = rng.choice(
            [
                repr(bits) if math.isfinite(bits) else "1.5",
                f"{rng.random():.{rng.randrange(1, 25)}f}",
                f"{rng.randrange(1, 10)}.{rng.randrange(10**17)}e{rng.randrange(-330, 310)}",
                str(rng.randrange(-(10 ** rng.randrange(1, 25)), 10 ** rng.randrange(1, 25))),
            ]
        )
        _same(b'{"n": %s, "s": "x"}' % number.encode())
