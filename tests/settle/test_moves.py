"""Moves that never replace an existing file, with the native call and the fallback."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from agent.settle import moves
from agent.settle.moves import move_to_free_name, numbered_names, rename_no_clobber
from tests.kit.race import in_threads


@pytest.fixture(params=["native", "link-unlink"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "native":
        if moves._NATIVE is None:
            pytest.skip("no renameat2/renamex_np here")
    else:
        monkeypatch.setattr(moves, "_NATIVE", None)
    return str(request.param)


def test_numbered_names() -> None:
    names = numbered_names("report.pdf")
    assert [next(names) for _ in range(3)] == ["report.pdf", "report (2).pdf", "report (3).pdf"]
    assert list(numbered_names("archive.tar.gz"))[1] == "archive.tar (2).gz"
    assert list(numbered_names("README"))[1] == "README (2)"
    assert list(numbered_names("a.pdf.error.txt", ".error.txt"))[1] == "a.pdf (2).error.txt"


def test_an_existing_target_is_never_replaced(tmp_path: Path, mode: str) -> None:
    src, dst = tmp_path / "a.pdf", tmp_path / "b.pdf"
    src.write_text("new")
    dst.write_text("old")
    with pytest.raises(FileExistsError):
        rename_no_clobber(src, dst)
    assert (src.read_text(), dst.read_text()) == ("new", "old")


def test_a_missing_source_says_so(tmp_path: Path, mode: str) -> None:
    with pytest.raises(FileNotFoundError):
        rename_no_clobber(tmp_path / "gone.pdf", tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_many_same_name_files_get_distinct_names(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "done"
    target.mkdir()
    sources = []
    for n in range(12):
        folder = tmp_path / f"src{n}"
        folder.mkdir()
        (folder / "report.pdf").write_text(f"content {n}")
        sources.append(folder / "report.pdf")
    results: list[Path] = []
    lock = threading.Lock()

    def move(src: Path) -> None:
        final = move_to_free_name(src, target, "report.pdf")
        with lock:
            results.append(final)

    in_threads(move, sources)
    assert len(set(results)) == 12
    assert sorted(p.read_text() for p in target.iterdir()) == sorted(
        f"content {n}" for n in range(12)
    )


def test_sibling_names_must_be_free_too(tmp_path: Path) -> None:
    (tmp_path / "a.pdf.receipt.txt").write_text("an old receipt")
    src = tmp_path / "in.pdf"
    src.write_text("x")
    final = move_to_free_name(src, tmp_path, "a.pdf", also_free=lambda n: [n + ".receipt.txt"])
    assert final.name == "a (2).pdf"


def test_without_hard_links_it_checks_then_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moves, "_NATIVE", None)

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    src, dst = tmp_path / "a.pdf", tmp_path / "b.pdf"
    src.write_text("new")
    dst.write_text("old")
    with pytest.raises(FileExistsError):
        rename_no_clobber(src, dst)
    dst.unlink()
    rename_no_clobber(src, dst)
    assert dst.read_text() == "new" and not src.exists()


def test_sidecar_names_fit_the_file_system_whatever_the_name() -> None:
    from agent.settle.moves import NAME_MAX, sidecar_name

    assert sidecar_name("a.pdf", ".receipt.txt") == "a.pdf.receipt.txt"
    for name in ("s" * 251 + ".pdf", "é" * 125 + ".pdf", "🙂" * 62 + ".png"):
        made = sidecar_name(name, ".receipt.txt")
        assert len(made.encode("utf-8")) <= NAME_MAX
        assert made.endswith(".receipt.txt") and made.startswith(name[:20])
        assert made != sidecar_name(name[:-5] + "x.pdf", ".receipt.txt")  # a hash of the whole
