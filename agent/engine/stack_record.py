"""What a cut stack's receipt says, from the journal's entries of the stack and its parts
(pure: entries in, a :class:`agent.settle.stack.StackRecord` out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.journal import Entry, Outcome
from agent.settle.stack import PartLine, StackRecord


def stack_record(parent: Entry, parts: Sequence[Entry], names: Mapping[str, str]) -> StackRecord:
    """The receipt's record; ``names``: required document id → name."""
    described = parent.scan.get("parts", {})
    lines = []
    for part in parts:
        info = described.get(str(part.part_number), {})
        lines.append(
            PartLine(
                part.part_number or 0,
                str(info.get("pages", "")),
                info.get("cover_page"),
                outcome_words(part, names),
            )
        )
    return StackRecord(
        page_count=int(parent.scan.get("pages", 0)),
        parts=lines,
        sha256=str(parent.scan.get("sha256", "")),
        size=int(parent.scan.get("size", 0)),
        notes=tuple(parent.scan.get("notes", ())),
    )


def outcome_words(part: Entry, names: Mapping[str, str]) -> str:
    """What became of one part, in words."""
    if part.outcome is Outcome.FAILED:
        where = f" The part is in failed/{part.final_path.name}." if part.final_path else ""
        return f"FAILED: {part.message}{where}"
    if part.duplicate_of:
        return f"not uploaded again: same content as document {part.duplicate_of}"
    if part.document_id is None:
        return part.message or "done"
    links = [
        f"{names.get(rd, rd)} ({rd}), fulfillment {fulfillment}"
        for rd, fulfillment in sorted(part.fulfillments.items())
    ]
    if not links:
        return f"uploaded as document {part.document_id} (upload only, not linked)"
    return f"uploaded as document {part.document_id}, linked to {'; '.join(links)}"
