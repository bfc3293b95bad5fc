"""Sizes in messages, as people read them."""

from __future__ import annotations

import pytest

from agent.sizes import human_limit, human_size, humanize_sizes, size_refusal

GIB = 1024**3


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (6 * GIB, "6.0 GiB"),
        (int(2.5 * 1024**2), "2.5 MiB"),
        (3 * 1024**5, "3072.0 TiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_a_limit_that_is_a_whole_number_of_its_unit_has_no_decimals() -> None:
    assert (human_limit(5 * GIB), human_limit(5 * GIB + 1), human_limit(10)) == (
        "5 GiB",
        "5.0 GiB",
        "10 bytes",
    )


def test_the_size_refusal_names_both_sizes_from_kompliants_answer() -> None:
    answer = "file_size_in_bytes is 6442450944; files may be at most 5368709120 bytes."
    assert size_refusal("scan.pdf", 6 * GIB, answer) == ("scan.pdf is 6.0 GiB; the limit is 5 GiB.")
    assert size_refusal("scan.pdf", 100, answer) is None  # not over the limit it names
    assert size_refusal("scan.pdf", 6 * GIB, "unsupported file type") is None


def test_byte_counts_in_messages_become_human() -> None:
    answer = "file_size_in_bytes is 6442450944; files may be at most 5368709120 bytes."
    assert humanize_sizes(answer) == "the file's size is 6.0 GiB; files may be at most 5 GiB."
    assert humanize_sizes("a 12 bytes header") == "a 12 bytes header"
