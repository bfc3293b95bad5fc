"""Whether a file has reached its end, for each format that has one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.content.ends import Completeness, completeness, judge_ends
from tests.realwriters import documents

WHOLE = Completeness.WHOLE
INCOMPLETE = Completeness.INCOMPLETE


def judge(content: bytes) -> Completeness:
    return judge_ends(content[:8192], content[-70_000:], len(content))


@pytest.mark.parametrize(
    "make", [documents.pdf, documents.jpeg, documents.png, documents.docx], ids=lambda m: m.__name__
)
@pytest.mark.parametrize("size", [2048, 300_000])
def test_whole_files_are_whole_and_every_cut_is_not(
    make: Callable[[str, int], bytes], size: int
) -> None:
    content = make("x", size)
    assert judge(content) is WHOLE
    for keep in (0.1, 0.5, 0.9, 0.999):
        assert judge(documents.cut_short(content, keep)) is INCOMPLETE, keep
    assert judge(content[:-7]) is INCOMPLETE  # the last few bytes: the end marker


def test_padding_after_the_end_is_allowed() -> None:
    assert judge(documents.pdf("p") + b"\r\n  \x00\x00\x00") is WHOLE
    assert judge(documents.jpeg("j") + b"\x00" * 300) is WHOLE
    assert judge(documents.png("p") + b"\x00" * 4) is WHOLE
    assert judge(documents.docx("d") + b"\x00" * 512) is WHOLE


def test_a_pdf_end_further_than_1024_bytes_from_the_end_is_no_end() -> None:
    assert judge(documents.pdf("p") + b"% more\n" * 200) is INCOMPLETE


def test_an_incremental_update_ends_again() -> None:
    """An update appended after %%EOF (a program saving in passes) ends once more; until
    then the old end is too far back (readers look at the last 1,024 bytes)."""
    first = documents.pdf("v1")
    update = b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" + b"% note\n" * 200
    assert judge(first + update) is INCOMPLETE
    assert judge(first + update + b"trailer\n<< >>\n%%EOF\n") is WHOLE


def test_a_zip_comment_may_hold_the_record_signature() -> None:
    content = documents.docx("c")
    # rewrite the comment: "PK\5\6" inside it must not be taken for the record
    comment = b"see PK\x05\x06 here"
    patched = content[:-2] + len(comment).to_bytes(2, "little") + comment
    assert judge(patched) is WHOLE
    assert judge(patched[:-3]) is INCOMPLETE


def test_formats_without_an_end_and_empty_files() -> None:
    assert judge(b"II*\x00" + bytes(100)) is Completeness.NO_END
    assert judge(documents.html_page()) is Completeness.NO_END
    assert judge(b"plain words") is Completeness.NO_END
    assert judge_ends(b"", b"", 0) is Completeness.EMPTY


def test_completeness_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    content = documents.pdf("big", 1_000_000)
    path.write_bytes(content[:299_008])
    assert completeness(path) is INCOMPLETE
    path.write_bytes(content)
    assert completeness(path) is WHOLE
    path.write_bytes(b"")
    assert completeness(path) is Completeness.EMPTY


def test_completeness_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "x.pdf"
    os.mkfifo(fifo)
    with pytest.raises(ValueError):
        completeness(fifo)


def test_a_cut_short_file_is_refused_with_words_to_act_on(tmp_path: Path) -> None:
    from agent.content.ends import cut_short, refuse_cut_short
    from agent.content.filetype import Kind
    from agent.errors import WrongContent

    path = tmp_path / "Bank statement.pdf"
    path.write_bytes(documents.cut_short(documents.pdf("b", 100_000)))
    with pytest.raises(WrongContent) as caught:
        refuse_cut_short(path)
    error = caught.value
    assert error.message.startswith("Bank statement.pdf looks cut short: it is a PDF without")
    assert error.hint.startswith("Save, scan or download it again")
    assert "retry" not in error.describe().lower()
    path.write_bytes(documents.pdf("b"))
    refuse_cut_short(path)  # whole: no refusal
    waited = cut_short("scan.jpg", Kind.JPEG, unchanged_for=600)
    assert "a JPEG image without its end, and it has not changed for 10 minutes" in waited.message
