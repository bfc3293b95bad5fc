from __future__ import annotations

import pytest

from agent.scan.code import FORMAT_TAG, CoverCode, read_code


def test_payload_round_trips_and_holds_ids_only() -> None:
    code = CoverCode("w_LKQpQvG7r6BWXBzrvFvI5", "rd_1rQYvnUQdcatd4TcZQu0l8")
    text = code.payload()
    assert text == f"{FORMAT_TAG} w_LKQpQvG7r6BWXBzrvFvI5 rd_1rQYvnUQdcatd4TcZQu0l8"
    assert read_code(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "https://pay.example/invoice/123",
        "KCS1 w_abc",
        "KCS2 w_abc rd_def",
        "KCS1 rd_def w_abc",
        "KCS1 w_abc rd_def extra",
        "KCS1 w_a-b rd_def",
        "",
    ],
)
def test_texts_that_are_not_a_cover_code(text: str) -> None:
    assert read_code(text) is None


def test_ids_a_code_cannot_carry_are_refused() -> None:
    with pytest.raises(ValueError, match="can carry"):
        CoverCode("w_a b", "rd_x").payload()
