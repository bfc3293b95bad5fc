"""The two seed pages, read as data: their JSON examples, upload forms and tables.

The pages are plain text as retrieved from Kompliant's developer portal. This module finds
in them, without knowing their wording in advance:

- every JSON example — a block that opens with ``{`` (or a bare ``"name": [``/``{``
  fragment, as the guide prints answers) and runs while its lines look like JSON — with
  the method it belongs to (the nearest ``POST https://api.kompliant.com/<method>`` line
  above it), whether it is a request or an answer (the nearest ``Request`` /
  ``Response`` label above it) and its title (the nearest heading, plus the label when
  the label comes after the heading);
- every upload form example (the raw multipart request, ``curl -F``, JavaScript
  ``formData.append`` and Python ``files = {…}``), as its field names in order;
- every Markdown table, as rows of cells under the heading line above it.

Where the pages live: ``../shared/seeds/`` beside the checkout when it exists (the spec),
else the copy kept in ``tests/conformance/seeds/``; :func:`seed_dir` decides.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENDORED = HERE / "seeds"
SHARED = REPO.parent / "shared" / "seeds"

_METHOD_LINE = re.compile(r"^POST https?://api\.kompliant\.com/([A-Za-z.]+)")
_HEADING = re.compile(r"^(Step \d+:|\d+(\.\d+)+ |Example\b)")
_LABELS = {"Request": "request", "Request Body:": "request", "Response": "answer"}
_LABELS["Response:"] = "answer"
_FRAGMENT_START = re.compile(r'^"[^"]+":\s*[\[{]$')
_JSON_LINE = re.compile(r'^[\[\]{}"]|^-?\d')


def seed_dir() -> Path:
    """The pages the suite replays: the shared spec when it is there, else the copy."""
    return SHARED if SHARED.is_dir() else VENDORED


def page_names(folder: Path | None = None) -> list[str]:
    return sorted(p.name for p in (folder or seed_dir()).glob("*.txt"))


@dataclass(frozen=True)
class Example:
    """One JSON example of a page."""

    page: str
    title: str
    method: str
    role: str  # "request" or "answer"
    body: Any
    line: int
    #: Brackets the page left open at the end of the block, closed here.
    repaired: int = 0

    @property
    def fragment(self) -> bool:
        """An answer printed without the envelope: it shows the answer's ``data``."""
        return self.role == "answer" and not (
            isinstance(self.body, dict) and ("meta" in self.body or "results" in self.body)
        )


@dataclass(frozen=True)
class FormExample:
    """One upload form example: the field names in the order the page sends them."""

    page: str
    title: str
    fields: tuple[str, ...]
    #: The file part's file name and Content-Type where the example shows them.
    file_name: str | None = None
    file_type: str | None = None


@dataclass(frozen=True)
class Table:
    page: str
    heading: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    line: int

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.header, row, strict=False)) for row in self.rows]


@dataclass
class Page:
    name: str
    lines: list[str]
    examples: list[Example] = field(default_factory=list)
    forms: list[FormExample] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".txt")

    def table(self, heading: str) -> Table | None:
        return next((t for t in self.tables if t.heading == heading), None)


class PageError(ValueError):
    """A page the suite cannot read as it is; the message says where."""


# --------------------------------------------------------------------------- reading


@cache
def read_page(path: Path) -> Page:
    lines = path.read_text(encoding="utf-8").splitlines()
    page = Page(path.name, lines)
    page.examples = _examples(page)
    page.forms = _forms(page)
    page.tables = _tables(page)
    return page


def read_pages(folder: Path | None = None) -> list[Page]:
    folder = folder or seed_dir()
    return [read_page(folder / name) for name in page_names(folder)]


def _context(lines: list[str], before: int) -> tuple[str, str, str | None]:
    """(method, title, role) for a block starting at line index ``before``."""
    method = ""
    heading = ""
    heading_at = -1
    label = ""
    label_at = -1
    for i in range(before - 1, -1, -1):
        text = lines[i].strip()
        if not label and text in _LABELS:
            label, label_at = text, i
        if not heading and _HEADING.match(text):
            heading, heading_at = text.rstrip(":"), i
        if not method and (found := _METHOD_LINE.match(text)):
            method = found.group(1)
        if method and heading and label:
            break
    title = heading or "(untitled)"
    if label and label_at > heading_at:
        title += " / " + label.rstrip(":")
    role = _LABELS.get(label)
    return method, title, role


def _is_json_line(text: str) -> bool:
    return bool(_JSON_LINE.match(text))


def _block_end(lines: list[str], start: int) -> tuple[int, list[str], int]:
    """Scan a JSON block from ``start``: (index after it, its lines, brackets left open)."""
    stack: list[str] = []
    taken: list[str] = []
    i = start
    while i < len(lines):
        text = lines[i].strip()
        if taken and (not text or not _is_json_line(text)):
            break
        taken.append(text)
        _track_brackets(text, stack)
        i += 1
        if not stack:
            break
    return i, taken, len(stack)


def _close(text: str, open_count: int) -> str:
    """Close the brackets a page left open at the end of a block."""
    stack: list[str] = []
    _track_brackets(text, stack)
    assert len(stack) == open_count
    return text + "".join("]" if ch == "[" else "}" for ch in reversed(stack))


def _track_brackets(text: str, stack: list[str]) -> None:
    """Push the brackets ``text`` opens onto ``stack`` and pop those it closes (those
    inside JSON strings do not count)."""
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append(ch)
        elif ch in "]}" and stack:
            stack.pop()


def _examples(page: Page) -> list[Example]:
    found: list[Example] = []
    lines = page.lines
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        fragment = bool(_FRAGMENT_START.match(text))
        if text != "{" and not fragment:
            i += 1
            continue
        end, taken, left_open = _block_end(lines, i)
        raw = _close("\n".join(taken), left_open)
        if fragment:
            raw = "{" + raw + "}"
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise PageError(
                f"{page.name}:{i + 1}: a JSON example that does not parse: {error}"
            ) from None
        method, title, role = _context(lines, i)
        if not method or role is None:
            raise PageError(
                f"{page.name}:{i + 1}: a JSON example without a method line or a "
                "Request/Response label above it"
            )
        found.append(Example(page.name, title, method, role, body, i + 1, left_open))
        i = end
    return found


# --------------------------------------------------------------------------- forms

_DISPOSITION = re.compile(
    r'^Content-Disposition: form-data; name="([^"]+)"(?:; filename="([^"]+)")?'
)
_CURL_FIELD = re.compile(r'^-F "([^=]+)=([^"]*)"')
_JS_FIELD = re.compile(r'^formData\.append\("([^"]+)"')
_PY_FIELD = re.compile(r'^"([^"]+)":\s*(\(None,|file\b)')


def _forms(page: Page) -> list[FormExample]:
    lines = [line.strip() for line in page.lines]
    forms: list[FormExample] = []
    kinds = (
        ("multipart request", _DISPOSITION),
        ("curl", _CURL_FIELD),
        ("JavaScript", _JS_FIELD),
        ("Python", _PY_FIELD),
    )
    for kind, pattern in kinds:
        i = 0
        while i < len(lines):
            if not pattern.match(lines[i]):
                i += 1
                continue
            start = i
            names: list[str] = []
            file_name: str | None = None
            file_type: str | None = None
            # One example: its matching lines, with at most a few other lines between.
            gap = 0
            while i < len(lines) and gap <= 3:
                match = pattern.match(lines[i])
                if match is None:
                    gap += 1
                    i += 1
                    continue
                gap = 0
                names.append(match.group(1))
                if kind == "multipart request" and match.group(2):
                    file_name = match.group(2)
                    following = lines[i + 1] if i + 1 < len(lines) else ""
                    if following.lower().startswith("content-type:"):
                        file_type = following.split(":", 1)[1].strip()
                if kind == "curl" and match.group(2).startswith("@"):
                    file_name = Path(match.group(2)[1:]).name
                i += 1
            _, title, _ = _context(page.lines, start)
            forms.append(
                FormExample(page.name, f"{title} / {kind}", tuple(names), file_name, file_type)
            )
    return forms


# --------------------------------------------------------------------------- tables


def _cells(text: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in text.strip().strip("|").split("|"))


def _tables(page: Page) -> list[Table]:
    tables: list[Table] = []
    lines = page.lines
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("|") or i + 1 >= len(lines):
            i += 1
            continue
        if not re.match(r"^\|(\s*-+\s*\|)+\s*$", lines[i + 1].strip()):
            i += 1
            continue
        header = _cells(lines[i])
        rows = []
        j = i + 2
        while j < len(lines) and lines[j].lstrip().startswith("|"):
            rows.append(_cells(lines[j]))
            j += 1
        heading = lines[i - 1].strip() if i > 0 else ""
        tables.append(Table(page.name, heading, header, tuple(rows), i + 1))
        i = j
    return tables


# --------------------------------------------------------------------------- ids

#: Kompliant's id prefixes (kompliant-api.md §4) that the examples use.
ID_PREFIXES = ("sr", "d", "w", "rd", "f", "trc")
ID = re.compile(r"\b(" + "|".join(ID_PREFIXES) + r")_[A-Za-z0-9]+\b")


def is_id(value: Any) -> bool:
    return isinstance(value, str) and ID.fullmatch(value) is not None


def ids_in(value: Any) -> list[str]:
    """Every id in ``value`` (also inside longer strings), in order, once each."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for inner in item.values():
                walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)
        elif isinstance(item, str):
            for match in ID.finditer(item):
                if match.group(0) not in found:
                    found.append(match.group(0))

    walk(value)
    return found
