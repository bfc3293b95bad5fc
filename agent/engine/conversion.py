"""Images made a PDF before upload (on a worker): a HEIC, BMP or TIFF that is no stack, or
a scanner's page images joined into one. The PDF is written to the work folder and the
entry keeps it as its upload_path; the original stays claimed until it settles."""

from __future__ import annotations

import logging
from pathlib import Path

from agent.journal import Entry, Journal
from agent.scan.convert import images_to_pdf
from agent.settle.claim import Claim
from agent.settle.stack import work_folder

log = logging.getLogger(__name__)


def join_pages(journal: Journal, entry: Entry, claim: Claim) -> Entry:
    """A scanner's page images (the claimed one and its members) into one PDF."""
    target = work_folder(claim.folder) / f"{entry.id}.pdf"
    pages = [claim.path, *(Path(m) for m in entry.scan.get("members", ()))]
    done = images_to_pdf(pages, target)
    log.info("%s: %s", entry.file_name, done.words())
    return journal.record_scan(
        entry.id,
        {"state": "joined", "converted": done.words()},
        upload_path=target,
        upload_name=str(entry.scan.get("joined_name") or f"{entry.id}.pdf"),
    )


def convert(journal: Journal, entry: Entry, claim: Claim) -> None:
    """The claimed image made a PDF of the same name."""
    target = work_folder(claim.folder) / f"{entry.id}.pdf"
    done = images_to_pdf([claim.path], target)
    stem = entry.file_name.rsplit(".", 1)[0] if "." in entry.file_name else entry.file_name
    journal.record_scan(
        entry.id,
        {"state": "converted", "converted": done.words()},
        upload_path=target,
        upload_name=f"{stem}.pdf",
    )
    log.info("%s: %s", entry.file_name, done.words())
