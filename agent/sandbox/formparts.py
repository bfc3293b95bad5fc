"""A presigned-POST body already in memory, cut into its parts in a few slices.

python-multipart's streaming parser walks a body in Python, state by state; for the
small uploads that arrive whole (the agent's usual case) that was the largest part of
the sandbox's work on an upload. :func:`plain_parts` cuts a body of the plain shape every
client sends — ``--boundary CRLF``, each part's header lines ``Name: value CRLF``, a
blank line, its data, and the closing ``--boundary--`` — and :func:`replay` gives the
receiver the callbacks python-multipart would have made for it, with the same slices,
so every check the receiver makes sees exactly what it would have seen. Anything else
(a preamble, a part without headers, boundary padding, a delimiter-like line inside
data, a header python-multipart would refuse or that reaches its limits) gives ``None``,
and the body goes through python-multipart as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

from python_multipart.multipart import (
    DEFAULT_MAX_HEADER_COUNT,
    DEFAULT_MAX_HEADER_SIZE,
    TOKEN_CHARS,
    parse_options_header,
)

#: A part's head as clients write it — ``Content-Disposition``, perhaps ``Content-Type``,
#: the blank line — read in one match: the same spans the line-by-line reading gives.
_COMMON_HEAD = re.compile(
    b"(Content-Disposition): *([^\r]*)\r\n(?:(Content-Type): *([^\r]*)\r\n)?\r\n"
)
#: Longest boundary cut here (RFC 2046 allows 70 characters).
MAX_BOUNDARY = 70
#: A header line as python-multipart reads it: a token, ``:``, spaces skipped, the value
#: up to the first CR, which must be followed by LF.
_HEADER = re.compile(b"([" + re.escape(TOKEN_CHARS) + b"]+): *([^\r]*)\r\n")


class Part(NamedTuple):
    """Offsets into the body: each header's name and value, and the part's data."""

    headers: tuple[tuple[int, int, int, int], ...]
    data: tuple[int, int]


#: ``multipart/form-data`` with nothing but an unquoted boundary, as clients send it; what
#: ``parse_options_header`` reads from it is its two parts as they are.
_PLAIN_FORM_TYPE = re.compile(r"multipart/form-data; boundary=([0-9A-Za-z'()+_,\-./:=?]+)")


def form_type(content_type: str) -> tuple[bytes, bytes]:
    """The media type and the boundary (``b""`` when none) of a ``Content-Type``."""
    plain = _PLAIN_FORM_TYPE.fullmatch(content_type)
    if plain is not None:
        return b"multipart/form-data", plain.group(1).encode("latin-1")
    media_type, params = parse_options_header(content_type)
    return media_type, params.get(b"boundary", b"")


def plain_parts(body: bytes, boundary: bytes) -> list[Part] | None:
    """The parts of ``body``, or ``None`` when it is not of the plain shape."""
    if not boundary or len(boundary) > MAX_BOUNDARY:
        return None
    opening = b"--" + boundary + b"\r\n"
    if not body.startswith(opening):
        return None
    delimiter = b"\r\n--" + boundary
    parts: list[Part] = []
    header_line = _HEADER.match
    common_head = _COMMON_HEAD.match
    starts = body.startswith
    i = len(opening)
    while True:
        headers: list[tuple[int, int, int, int]] = []
        common = common_head(body, i)
        if common is not None:
            cr = common.end(2)
            if cr - i + 1 > DEFAULT_MAX_HEADER_SIZE:
                return None
            headers.append((i, common.end(1), common.start(2), cr))
            if common.start(3) >= 0:
                start, second = cr + 2, common.end(4)
                if second - start + 1 > DEFAULT_MAX_HEADER_SIZE:
                    return None
                headers.append((start, common.end(3), common.start(4), second))
            i = common.end() - 2
        while not starts(b"\r\n", i):
            if len(headers) >= DEFAULT_MAX_HEADER_COUNT:
                return None
            # Not a token before the colon, no colon, a CR without LF: python-multipart
            # says what is wrong.
            line = header_line(body, i)
            if line is None:
                return None
            start, cr = line.span(2)
            if cr - i + 1 > DEFAULT_MAX_HEADER_SIZE:
                return None
            headers.append((i, line.end(1), start, cr))
            i = cr + 2
        if not headers:
            return None
        data_start = i + 2
        end = _delimiter_at(body, delimiter, data_start)
        if end < 0:
            return None
        parts.append(_new_part(Part, (tuple(headers), (data_start, end))))
        after = end + len(delimiter)
        if starts(b"--", after):
            return parts  # what follows the closing delimiter is dropped, as there
        if not starts(b"\r\n", after):
            return None
        i = after + 2


def _delimiter_at(body: bytes, delimiter: bytes, start: int) -> int:
    """``body.find(delimiter, start)``, sooner: ``bytes.find`` is several times slower with a
    needle as long as a delimiter than with its first four bytes, which data seldom holds
    (after a few that are not a delimiter, the long needle after all)."""
    find, starts = body.find, body.startswith
    at = find(b"\r\n--", start)
    for _ in range(8):
        if at < 0 or starts(delimiter, at):
            return at
        at = find(b"\r\n--", at + 1)
    return find(delimiter, at) if at >= 0 else -1


#: Makes a ``Part`` from its two fields without the named tuple's ``__new__`` in Python.
_new_part = tuple.__new__


def replay(body: bytes, parts: list[Part], callbacks: Mapping[str, Callable[..., None]]) -> None:
    """Call ``callbacks`` as python-multipart's parser calls them for these parts."""
    part_begin = callbacks["on_part_begin"]
    header_field = callbacks["on_header_field"]
    header_value = callbacks["on_header_value"]
    header_end = callbacks["on_header_end"]
    headers_finished = callbacks["on_headers_finished"]
    part_data = callbacks["on_part_data"]
    part_end = callbacks["on_part_end"]
    for part in parts:
        part_begin()
        for name_start, name_end, value_start, value_end in part.headers:
            header_field(body, name_start, name_end)
            if value_end > value_start:
                header_value(body, value_start, value_end)
            header_end()
        headers_finished()
        data_start, data_end = part.data
        if data_end > data_start:
            part_data(body, data_start, data_end)
        part_end()
    callbacks["on_end"]()
