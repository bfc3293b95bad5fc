"""Where a claimed file ends: ``done/`` or ``failed/`` in its folder, with a readable note.

- :func:`settle_done` moves it to ``done/`` (name kept, a number when taken) and writes
  ``<final name>.receipt.txt``: document id, fulfillments, SHA-256, size, time.
- :func:`settle_failed` moves it to ``failed/`` and writes ``<final name>.error.txt``:
  what went wrong, what to do, how to retry.
- :func:`retry_failed` moves every file of ``failed/`` back into its folder. Its
  ``.error.txt`` goes into ``failed/.retried/`` (kept for reference, out of sight), so
  the failed/ folder only ever explains files that are still there.

Nothing is ever overwritten (:mod:`agent.settle.moves`). The note is written to a
temporary file in the target folder *before* the file moves: a full disk or a folder
that refuses writes is found out while the file is still safe in ``.processing/``, and
:class:`agent.settle.moves.MoveFailed` is raised with the file left there.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agent.atomic import write_temp
from agent.errors import FileProblem
from agent.journal.redact import redact
from agent.owned_names import AGENT_OWNED
from agent.settle.claim import Claim
from agent.settle.find import content_sha256
from agent.settle.moves import (
    fsync_folder,
    move_failed,
    move_to_free_name,
    sidecar_name,
)

log = logging.getLogger(__name__)


class ClaimMissing(FileProblem):
    """The claimed file is not where it was claimed: its folder (or a folder above it) was
    renamed or moved, the file was renamed inside ``.processing/``, or it was removed. The
    engine looks for it again (:mod:`agent.settle.find`) before it says it is gone."""


@dataclass(frozen=True)
class Fulfilled:
    """One fulfillment of the document: which required document, by name and id."""

    required_document_id: str
    requirement_name: str
    fulfillment_id: str


@dataclass(frozen=True)
class DoneRecord:
    """What the receipt says about a file that is done.

    ``duplicate`` is true when the file was not uploaded again because ``document_id``
    already holds the same content for the same requirements.
    """

    document_id: str
    sha256: str
    size: int
    fulfillments: Sequence[Fulfilled] = ()
    duplicate: bool = False
    settled_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    converted: str = ""  # what was converted before upload, in words (TIFF, HEIC, BMP)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def receipt_text(file_name: str, record: DoneRecord) -> str:
    """The receipt's text (pure)."""
    lines = [f"kompliant-agent receipt for {file_name}", ""]
    if record.duplicate:
        lines.append(f"Not uploaded again: same content as document {record.document_id}.")
    else:
        lines.append(f"Uploaded to Kompliant as document {record.document_id}.")  # find_done
    if record.fulfillments:
        lines.append("Linked to:")
        lines += [
            f"  {item.requirement_name} ({item.required_document_id}): "
            f"fulfillment {item.fulfillment_id}"
            for item in record.fulfillments
        ]
    else:
        lines.append("Not linked to any required document (upload only).")
    if record.converted:
        lines.append(f"Converted before upload: {record.converted}.")
    uploaded = " (of the uploaded PDF)" if record.converted else ""
    lines += [
        f"SHA-256{uploaded}: {record.sha256}",
        f"Size{uploaded}: {record.size} bytes",
        f"Time: {_iso(record.settled_at)}",
        "",
    ]
    return "\n".join(lines)


def error_text(
    file_name: str,
    folder: Path,
    problem: str,
    action: str,
    at: datetime,
    *,
    retry_helps: bool = True,
) -> str:
    """The ``.error.txt`` text (pure). ``retry_helps`` False: only another file can succeed
    (its content is wrong), so the note does not offer to try this one again."""
    lines = [
        f"kompliant-agent could not upload {file_name}",
        "",
        f"What went wrong: {redact(problem).strip()}",
        f"What to do: {redact(action).strip()}",
        "",
    ]
    if retry_helps:
        lines += [
            f"To try again, move {file_name} back into {folder}",
            "or run `kompliant-agent retry` (it does so for every file in failed/).",
        ]
    return "\n".join([*lines, f"Time: {_iso(at)}", ""])


def _settle(claimed: Claim, target_dir: str, sidecar_suffix: str, text: str) -> Path:
    folder = claimed.folder
    target = folder / target_dir
    name = claimed.source.name
    where = f"move {name} into {target_dir}/"
    if not claimed.path.exists():
        raise ClaimMissing(
            f"{name} disappeared from {claimed.path.parent} before it could be moved to "
            f"{target_dir}/",
            hint=f"If you still have it, put it into {folder} again.",
        )
    try:
        try:
            note = write_temp(target, text, make_folder=False)
        except FileNotFoundError:  # no done/ (failed/) yet, or no folder any more
            target.mkdir(exist_ok=True)
            note = write_temp(target, text, make_folder=False)
    except OSError as error:
        if isinstance(error, FileNotFoundError) and not folder.is_dir():
            raise ClaimMissing(
                f"{folder} was renamed, moved or deleted before {name} could be moved to "
                f"{target_dir}/",
                hint=f"If you still have {name}, put it into its folder again.",
            ) from error
        raise move_failed(error, where, target, claimed.path) from error
    try:
        final = move_to_free_name(
            claimed.path, target, name, also_free=lambda n: [sidecar_name(n, sidecar_suffix)]
        )
    except OSError as error:
        note.unlink(missing_ok=True)
        if isinstance(error, FileNotFoundError):
            raise ClaimMissing(
                f"{name} disappeared from {claimed.path.parent} while it was moved",
                hint=f"If you still have it, put it into {folder} again.",
            ) from error
        raise move_failed(error, where, target, claimed.path) from error
    try:
        move_to_free_name(
            note, target, sidecar_name(final.name, sidecar_suffix), suffix=sidecar_suffix
        )
    except OSError as error:  # the file is settled; only its note is missing
        note.unlink(missing_ok=True)
        log.error("moved %s to %s but could not write its note: %s", name, final, error)
    with contextlib.suppress(OSError):
        claimed.record_path.unlink()
    fsync_folder(target)
    log.info("%s → %s", claimed.source, final)
    return final


def settle_with_receipt(claimed: Claim, text: str) -> Path:
    """Move a claimed file to ``done/`` with a receipt of ``text``."""
    return _settle(claimed, AGENT_OWNED.done_dir, AGENT_OWNED.receipt_suffix, text)


def settle_done(claimed: Claim, record: DoneRecord) -> Path:
    """Move a claimed file to ``done/`` with its receipt; return where it is now."""
    text = receipt_text(claimed.source.name, record)
    return _settle(claimed, AGENT_OWNED.done_dir, AGENT_OWNED.receipt_suffix, text)


def settle_failed(
    claimed: Claim,
    problem: str,
    action: str,
    *,
    at: datetime | None = None,
    retry_helps: bool = True,
) -> Path:
    """Move a claimed file to ``failed/`` with ``<name>.error.txt``; return where it is."""
    when = at or datetime.now(UTC)
    text = error_text(
        claimed.source.name, claimed.folder, problem, action, when, retry_helps=retry_helps
    )
    return _settle(claimed, AGENT_OWNED.failed_dir, AGENT_OWNED.error_suffix, text)


def _failed_files(failed: Path) -> tuple[list[Path], list[Path]]:
    """(files, error notes) in ``failed/``.

    Every ``*.error.txt`` counts as a note, also one whose file is gone (moved back by
    hand). Such names are the agent's own: a document is never a .txt file.
    """
    files: list[Path] = []
    notes: list[Path] = []
    for name in sorted(os.listdir(failed)):
        path = failed / name
        if name.startswith(".") or not path.is_file():
            continue
        (notes if name.endswith(AGENT_OWNED.error_suffix) else files).append(path)
    return files, notes


def retry_failed(folder: Path) -> list[Path]:
    """Move every file in ``folder/failed`` back into ``folder``; return the new paths.

    Each ``.error.txt`` is moved into ``failed/.retried/`` (numbered if taken), also
    those whose file was already moved back by hand.
    A file the disk refuses to move raises :class:`MoveFailed`; those moved before it
    stay moved.
    """
    failed = folder / AGENT_OWNED.failed_dir
    if not failed.is_dir():
        return []
    files, notes = _failed_files(failed)
    retried = failed / AGENT_OWNED.retried_dir
    moved = []
    for path in files:
        try:
            moved.append(_move_back(path, folder))
        except FileNotFoundError:
            continue
    for note in notes:
        if note.with_name(note.name[: -len(AGENT_OWNED.error_suffix)]).exists():
            continue  # its file is still here: keep explaining it
        _put_aside(note, retried)
    return moved


def retry_file(path: Path) -> Path:
    """Move one file of a ``failed/`` folder back into its folder; return the new path.

    Its ``.error.txt`` goes into ``failed/.retried/`` as with :func:`retry_failed`. A
    file that is not in a ``failed/`` folder raises :class:`FileProblem`; one that is gone
    raises FileNotFoundError; one the disk refuses to move raises :class:`MoveFailed`.
    """
    failed = path.parent
    if failed.name != AGENT_OWNED.failed_dir or path.name.endswith(AGENT_OWNED.error_suffix):
        raise FileProblem(f"{path} is not a failed file", hint="Choose a file in failed/.")
    folder = failed.parent
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} is no longer in {failed}")
    back = _move_back(path, folder)
    note = failed / sidecar_name(path.name, AGENT_OWNED.error_suffix)
    if note.exists():
        _put_aside(note, failed / AGENT_OWNED.retried_dir)
    return back


def _move_back(path: Path, folder: Path) -> Path:
    """Move a failed file back into ``folder``; return its new path. FileNotFoundError when
    it is gone; :class:`MoveFailed` when the disk refuses."""
    try:
        back = move_to_free_name(path, folder, path.name)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise move_failed(error, f"move {path.name} back", folder, path) from error
    log.info("retrying %s (back in %s)", path.name, folder)
    return back


def _put_aside(note: Path, retried: Path) -> None:
    """Move a retried file's note into ``failed/.retried/`` (numbered if taken); a refusal
    is only logged: the file is back, the note is for reference."""
    try:
        retried.mkdir(exist_ok=True)
        move_to_free_name(note, retried, note.name, suffix=AGENT_OWNED.error_suffix)
    except OSError as error:
        log.warning("could not put %s aside: %s", note.name, error)


def find_done(folder: Path, document_id: str) -> Path | None:
    """The file in ``folder/done`` uploaded as ``document_id``, found by its receipt.

    For a restart after a crash between moving a file to done/ and recording it in the
    journal: the claimed file is gone, and this finds where it went. A kill can also fall
    between moving the file and naming its receipt: the receipt is then still the hidden
    temporary note in done/; it is given its name now (:func:`_finish_receipt`). (A
    duplicate's receipt names a document it did not upload, so it is not looked for here.)
    """
    done = folder / AGENT_OWNED.done_dir
    wanted = _uploaded_line(document_id)
    for target, text in receipts_in(done):
        if wanted in text and target.exists():
            return target
    for name in _names_in(done):
        if name.startswith(AGENT_OWNED.temp_prefix):
            found = _finish_receipt(done / name, wanted)
            if found is not None:
                return found
    return None


def receipts_in(done: Path) -> Iterator[tuple[Path, str]]:
    """Each readable receipt in the ``done`` folder, by name: the file it is for (which
    may be gone) and its text."""
    for name in _names_in(done):
        if not name.endswith(AGENT_OWNED.receipt_suffix):
            continue
        try:
            text = (done / name).read_text(encoding="utf-8")
        except OSError:
            continue
        yield done / name[: -len(AGENT_OWNED.receipt_suffix)], text


def _names_in(done: Path) -> list[str]:
    try:
        return sorted(os.listdir(done))
    except FileNotFoundError:
        return []


def _uploaded_line(document_id: str) -> str:
    return f"Uploaded to Kompliant as document {document_id}.\n"


def _finish_receipt(note: Path, wanted: str) -> Path | None:
    """Name a receipt left under its temporary name, if it is the one ``wanted``.

    The note says which file it is for (its first line) and that file's SHA-256; the file
    is the one of that name (or a numbered variant) in done/ with no receipt of its own
    and the same content.
    """
    try:
        text = note.read_text(encoding="utf-8")
    except OSError:
        return None
    lines = text.splitlines()
    head = "kompliant-agent receipt for "
    if wanted not in text or not lines or not lines[0].startswith(head):
        return None
    file_name = lines[0][len(head) :]
    sha256 = next((line[len("SHA-256: ") :] for line in lines if line.startswith("SHA-256: ")), "")
    done = note.parent
    for candidate in sorted(os.listdir(done)):
        target = done / candidate
        if (
            not _numbered_variant(candidate, file_name)
            or (done / (candidate + AGENT_OWNED.receipt_suffix)).exists()
            or content_sha256(target) != sha256
        ):
            continue
        try:
            move_to_free_name(
                note,
                done,
                candidate + AGENT_OWNED.receipt_suffix,
                suffix=AGENT_OWNED.receipt_suffix,
            )
        except OSError as error:
            log.warning("could not name the receipt of %s: %s", target, error)
        else:
            log.info("named the receipt of %s, left unnamed by a stop", target)
        return target
    return None


def _numbered_variant(name: str, file_name: str) -> bool:
    """Whether ``name`` is ``file_name`` or a numbered variant of it (``a (2).pdf``)."""
    if name == file_name:
        return True
    dot = file_name.rfind(".")  # as numbered_names puts the number before the extension
    stem, ext = (file_name[:dot], file_name[dot:]) if dot > 0 else (file_name, "")
    number = name[len(stem) + 2 : len(name) - len(ext) - 1]
    return (
        name.startswith(stem + " (")
        and name.endswith(")" + ext)
        and number.isdigit()
        and len(name) == len(stem) + len(ext) + len(number) + 3
    )
