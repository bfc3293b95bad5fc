"""What a cover sheet's QR code says: a format tag, the workflow id, the required document id.

``KCS1 w_… rd_…`` — short enough for a small, robust code (version 4 to 6 at error
correction level M), and nothing secret: ids only. :func:`read_code` is strict, so that a
QR code on a document page (a payment code on an invoice, a link on a letter) is never
taken for a cover.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMAT_TAG = "KCS1"
_ID_TAIL = r"[A-Za-z0-9]{1,64}"
_PAYLOAD = re.compile(rf"{FORMAT_TAG} (w_{_ID_TAIL}) (rd_{_ID_TAIL})")


@dataclass(frozen=True)
class CoverCode:
    """The ids a cover sheet names."""

    workflow_id: str
    required_document_id: str

    def payload(self) -> str:
        """The text the QR code holds."""
        text = f"{FORMAT_TAG} {self.workflow_id} {self.required_document_id}"
        if read_code(text) != self:
            raise ValueError(
                f"not ids a cover sheet can carry: {self.workflow_id!r}, "
                f"{self.required_document_id!r}"
            )
        return text


def read_code(text: str) -> CoverCode | None:
    """The ids in a decoded QR text, or None when it is not a cover sheet's code."""
    match = _PAYLOAD.fullmatch(text.strip())
    if match is None:
        return None
    return CoverCode(match.group(1), match.group(2))
