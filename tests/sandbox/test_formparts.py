"""Bodies read whole are cut into their parts at once; the receiver sees exactly the calls
python-multipart's parser makes for the same body, or the body goes to that parser."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, cast

import pytest
from python_multipart.multipart import MultipartParser, parse_options_header

from agent.sandbox.formparts import _delimiter_at, form_type, plain_parts, replay

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

B = b"b0undary"
NAMES = (
    "on_part_begin",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_part_data",
    "on_part_end",
    "on_end",
)


def _recorder(calls: list[tuple[Any, ...]]) -> dict[str, Any]:
    def make(name: str) -> Any:
        def record(*args: Any) -> None:
            if args:
                data, start, end = args
                calls.append((name, bytes(data[start:end])))
            else:
                calls.append((name,))

        return record

    return {name: make(name) for name in NAMES}


def _parsed(body: bytes) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    MultipartParser(B, cast("MultipartCallbacks", _recorder(calls))).write(body)
    merged: list[tuple[Any, ...]] = []
    for call in calls:  # a parser may hand one piece of data over in several calls
        if merged and len(call) == 2 and merged[-1][0] == call[0]:
            merged[-1] = (call[0], merged[-1][1] + call[1])
        else:
            merged.append(call)
    return merged


def _field(name: str, value: bytes, extra: bytes = b"") -> bytes:
    return (
        b"--"
        + B
        + b'\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n'
        + extra
        + b"\r\n"
        + value
        + b"\r\n"
    )


FORM = (
    _field("key", b"a/b.pdf")
    + _field("policy", b"eyJ9")
    + _field(
        "file",
        b"%PDF-1.7\n\x00\r\n-- not a boundary\r\n--b0undar",
        b"Content-Type: application/pdf\r\n",
    )
)


@pytest.mark.parametrize(
    "body",
    [
        FORM + b"--" + B + b"--\r\n",
        FORM + b"--" + B + b"--",
        FORM + b"--" + B + b"--\r\nan epilogue",
        _field("empty", b"") + b"--" + B + b"--\r\n",
        _field("x", b"1", b"X-Blank:\r\nX-Spaces:    v  \r\n") + b"--" + B + b"--\r\n",
        # the usual heads, read in one match, and heads like them read line by line
        _field("x", b"1", b"Content-Type:text/plain\r\n") + b"--" + B + b"--",
        _field("x", b"1", b"Content-Type:   \r\n") + b"--" + B + b"--",
        _field("x", b"1", b"Content-Type: a\r\nContent-Type: b\r\n") + b"--" + B + b"--",
        b"--" + B + b'\r\nContent-Type: a\r\nContent-Disposition: form-data; name="x"\r\n\r\n'
        b"v\r\n--" + B + b"--",
        b"--" + B + b"\r\nContent-Disposition:\r\n\r\nv\r\n--" + B + b"--",
    ],
)
def test_a_plain_body_is_cut_as_the_parser_cuts_it(body: bytes) -> None:
    parts = plain_parts(body, B)
    assert parts is not None
    calls: list[tuple[Any, ...]] = []
    replay(body, parts, _recorder(calls))
    assert calls == _parsed(body)


@pytest.mark.parametrize(
    "body",
    [
        b"\r\n" + FORM + b"--" + B + b"--\r\n",  # leading newline
        b"preamble\r\n" + FORM + b"--" + B + b"--\r\n",
        FORM,  # no closing delimiter
        _field("f", b"1\r\n--" + B + b"X: data to the parser") + b"--" + B + b"--",
        FORM + b"--" + B + b"  \r\n--" + B + b"--",  # padding after a delimiter
        b"--" + B + b"\r\n\r\nno headers\r\n--" + B + b"--",
        b"--" + B + b"\r\nBad Name: x\r\n\r\nv\r\n--" + B + b"--",
        b"--" + B + b"\r\nName: x\rno lf\r\n\r\nv\r\n--" + B + b"--",
        b"--" + B + b"\r\n" + b"X-H: v\r\n" * 9 + b"\r\nv\r\n--" + B + b"--",
        b"--" + B + b"\r\nX-Long: " + b"v" * 5000 + b"\r\n\r\nv\r\n--" + B + b"--",
        _field("x" * 5000, b"1") + b"--" + B + b"--",  # a long usual head line
        _field("x", b"1", b"Content-Type: " + b"v" * 5000 + b"\r\n") + b"--" + B + b"--",
        b"--" + B + b"--\r\n",  # no parts at all
    ],
)
def test_any_other_body_goes_to_the_parser(body: bytes) -> None:
    assert plain_parts(body, B) is None


def test_a_long_boundary_goes_to_the_parser() -> None:
    long = b"x" * 71
    assert plain_parts(b"--" + long + b"\r\nA: b\r\n\r\nv\r\n--" + long + b"--", long) is None


def test_the_delimiter_is_found_where_find_finds_it() -> None:
    # Looked for by its first bytes, then by the whole delimiter after eight false hits.
    delimiter = b"\r\n--" + B
    rng = random.Random(20250324)
    for _ in range(5_000):
        data = bytes(rng.choice(b"\r\n-b0x") for _ in range(rng.randrange(200)))
        for _ in range(rng.randrange(3)):
            at = rng.randrange(len(data) + 1)
            piece = delimiter if rng.random() < 0.5 else delimiter[: rng.randrange(len(delimiter))]
            data = data[:at] + piece + data[at:]
        start = rng.randrange(len(data) + 1)
        assert _delimiter_at(data, delimiter, start) == data.find(delimiter, start)
    many = b"x\r\n--" * 50 + delimiter
    assert _delimiter_at(many, delimiter, 0) == many.find(delimiter)


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=b0undary",
        "multipart/form-data; boundary=a=b'()+_,-./:?",
        'multipart/form-data; boundary="quoted"',
        "multipart/form-data;boundary=b",
        "Multipart/Form-Data; boundary=b",
        "multipart/form-data; boundary=b; charset=utf-8",
        "multipart/form-data; boundary=",
        "multipart/form-data",
        "application/json",
        "",
    ],
)
def test_a_content_type_reads_as_python_multipart_reads_it(content_type: str) -> None:
    media_type, params = parse_options_header(content_type)
    assert form_type(content_type) == (media_type, params.get(b"boundary", b""))


def test_random_boundaries_read_as_python_multipart_reads_them() -> None:
    rng = random.Random(20250324)
    chars = "0123456789AZaz'()+_,-./:=?"
    for _ in range(2_000):
        boundary = "".join(rng.choice(chars) for _ in range(rng.randrange(1, 71)))
        content_type = f"multipart/form-data; boundary={boundary}"
        media_type, params = parse_options_header(content_type)
        assert form_type(content_type) == (media_type, params.get(b"boundary", b""))
