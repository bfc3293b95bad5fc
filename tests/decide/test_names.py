"""Folder names valid on every desktop system, and collision handling."""

from __future__ import annotations

import pytest

from agent.decide.names import MAX_NAME, safe_name, type_in_words, unique_names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bank statements", "Bank statements"),
        ('Proof of address/ID: "any"?', "Proof of address ID any"),
        ("a<b>c|d*e\\f", "a b c d e f"),
        ("Trailing dots...", "Trailing dots"),
        ("  spaced   out  ", "spaced out"),
        (".hidden", "hidden"),
        ("CON", "CON_"),
        ("nul.txt", "nul.txt_"),
        ("com1", "com1_"),
        ("CONTRACTS", "CONTRACTS"),
        ("???", "Folder"),
        ("tab\there", "tab here"),
    ],
)
def test_safe_name(text: str, expected: str) -> None:
    assert safe_name(text) == expected


def test_safe_name_is_cut_to_a_length_every_system_accepts() -> None:
    name = safe_name("x" * 300)
    assert len(name) == MAX_NAME


def test_type_in_words() -> None:
    assert type_in_words("BUSINESS_APPLICATION") == "Business application"
    assert type_in_words("") == ""


def test_unique_names_keeps_readable_names_when_free() -> None:
    assert unique_names([["Bank"], ["Tax"]], taken=["Inbox"]) == ["Bank", "Tax"]


def test_colliding_names_both_get_the_type_then_the_id() -> None:
    choices = [
        ["Statement", "Statement (BANK)", "Statement (rd_1)"],
        ["Statement", "Statement (CARD)", "Statement (rd_2)"],
        ["statement", "statement (CARD)", "statement (rd_3)"],
        ["Other", "Other (X)", "Other (rd_4)"],
    ]
    assert unique_names(choices, taken=[]) == [
        "Statement (BANK)",
        "Statement (rd_2)",
        "statement (rd_3)",
        "Other",
    ]


def test_a_name_taken_on_disk_is_never_reused_ignoring_case() -> None:
    assert unique_names([["Inbox", "Inbox (X)"]], taken=["INBOX"]) == ["Inbox (X)"]
    assert unique_names([["A"]], taken=["a", "A 2"]) == ["A 3"]
