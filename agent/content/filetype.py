"""A file's real type, told from its first bytes, and whether its name says the same.

Kompliant decides a document's type from the extension of its ``file_name``, and its
upload store refuses bytes of another real type (the seed guide, "Content-Type
Enforcement"; "File Validation" asks the client to check before ``document.create``).
So a JPEG saved as ``statement.pdf``, or the bank's sign-in page saved by the browser
instead of the statement, is refused here with words that say what to do, and never
reaches Kompliant.

The signatures are a small table rather than a library: the agent needs a dozen types
(the ones Kompliant may accept), two checks no library makes (an HTML page named as a
document, and which office format a ZIP holds), and the same knowledge again for
:mod:`agent.content.ends`. A type the table does not know (a ``.txt``, say) is not
judged here: Kompliant's list of accepted extensions decides, as before.
"""

from __future__ import annotations

import enum
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from agent.errors import WrongContent

#: How much of a file's start the signatures need (PDF allows junk before ``%PDF-``).
HEAD_SIZE = 8 * 1024
PDF_SEARCH = 1024


class Kind(enum.Enum):
    """A type the agent recognises from content."""

    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    TIFF = "tiff"
    HEIC = "heic"
    GIF = "gif"
    BMP = "bmp"
    WEBP = "webp"
    ZIP = "zip"  # a ZIP archive whose office format could not be told (or none)
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"
    ODT = "odt"
    ODS = "ods"
    ODP = "odp"
    OLE = "ole"  # Word, Excel or PowerPoint before 2007
    HTML = "html"


@dataclass(frozen=True)
class _About:
    words: str  # "a JPEG image"
    name: str  # "JPEG" in "save it as JPEG"
    extension: str  # "jpg" in "rename it to .jpg"
    plural: str  # "images" in "if this requirement accepts images"
    media_types: tuple[str, ...]


_ABOUT: dict[Kind, _About] = {
    Kind.PDF: _About("a PDF", "PDF", "pdf", "PDF files", ("application/pdf",)),
    Kind.JPEG: _About(
        "a JPEG image", "JPEG", "jpg", "images", ("image/jpeg", "image/jpg", "image/pjpeg")
    ),
    Kind.PNG: _About("a PNG image", "PNG", "png", "images", ("image/png",)),
    Kind.TIFF: _About("a TIFF image", "TIFF", "tif", "images", ("image/tiff",)),
    Kind.HEIC: _About("a HEIC photo", "HEIC", "heic", "images", ("image/heic", "image/heif")),
    Kind.GIF: _About("a GIF image", "GIF", "gif", "images", ("image/gif",)),
    Kind.BMP: _About("a BMP image", "BMP", "bmp", "images", ("image/bmp",)),
    Kind.WEBP: _About("a WebP image", "WebP", "webp", "images", ("image/webp",)),
    Kind.ZIP: _About(
        "a ZIP archive", "ZIP", "zip", "ZIP archives", ("application/zip", "application/x-zip")
    ),
    Kind.DOCX: _About(
        "a Word document",
        "Word document (.docx)",
        "docx",
        "Word documents",
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    ),
    Kind.XLSX: _About(
        "an Excel workbook",
        "Excel workbook (.xlsx)",
        "xlsx",
        "Excel workbooks",
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
    ),
    Kind.PPTX: _About(
        "a PowerPoint presentation",
        "PowerPoint presentation (.pptx)",
        "pptx",
        "presentations",
        ("application/vnd.openxmlformats-officedocument.presentationml.presentation",),
    ),
    Kind.ODT: _About(
        "an OpenDocument text",
        "OpenDocument text (.odt)",
        "odt",
        "OpenDocument files",
        ("application/vnd.oasis.opendocument.text",),
    ),
    Kind.ODS: _About(
        "an OpenDocument spreadsheet",
        "OpenDocument spreadsheet (.ods)",
        "ods",
        "OpenDocument files",
        ("application/vnd.oasis.opendocument.spreadsheet",),
    ),
    Kind.ODP: _About(
        "an OpenDocument presentation",
        "OpenDocument presentation (.odp)",
        "odp",
        "OpenDocument files",
        ("application/vnd.oasis.opendocument.presentation",),
    ),
    Kind.OLE: _About(
        "an older Microsoft Office file (.doc, .xls or .ppt)",
        "its own Office format",
        "doc",
        "older Office files",
        ("application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"),
    ),
    Kind.HTML: _About("a web page (HTML)", "HTML", "html", "web pages", ("text/html",)),
}

_EXTENSIONS: dict[str, Kind] = {
    "pdf": Kind.PDF,
    "jpg": Kind.JPEG,
    "jpeg": Kind.JPEG,
    "jpe": Kind.JPEG,
    "jfif": Kind.JPEG,
    "png": Kind.PNG,
    "tif": Kind.TIFF,
    "tiff": Kind.TIFF,
    "heic": Kind.HEIC,
    "heif": Kind.HEIC,
    "gif": Kind.GIF,
    "bmp": Kind.BMP,
    "webp": Kind.WEBP,
    "zip": Kind.ZIP,
    "docx": Kind.DOCX,
    "docm": Kind.DOCX,
    "xlsx": Kind.XLSX,
    "xlsm": Kind.XLSX,
    "pptx": Kind.PPTX,
    "odt": Kind.ODT,
    "ods": Kind.ODS,
    "odp": Kind.ODP,
    "doc": Kind.OLE,
    "xls": Kind.OLE,
    "ppt": Kind.OLE,
    "htm": Kind.HTML,
    "html": Kind.HTML,
}

#: Formats stored as a ZIP archive; a plain ZIP signature fits any of them.
ZIP_BASED = frozenset({Kind.ZIP, Kind.DOCX, Kind.XLSX, Kind.PPTX, Kind.ODT, Kind.ODS, Kind.ODP})

_HEIC_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_ODF_TYPES = {
    b"application/vnd.oasis.opendocument.text": Kind.ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": Kind.ODS,
    b"application/vnd.oasis.opendocument.presentation": Kind.ODP,
}
_OOXML_FOLDERS = (("word/", Kind.DOCX), ("xl/", Kind.XLSX), ("ppt/", Kind.PPTX))
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title", b"<script")
_BMP_HEADERS = frozenset({12, 40, 52, 56, 64, 108, 124})


# -- telling a type from bytes (pure) ------------------------------------------------------


def sniff(head: bytes) -> Kind | None:
    """The type of a file that starts with ``head`` (its first :data:`HEAD_SIZE` bytes),
    or ``None`` when no signature fits. A ZIP is :attr:`Kind.ZIP` unless its first entry
    names an OpenDocument type; :func:`kind_of` looks further for Office's formats."""
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return Kind.TIFF
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return Kind.HEIC
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Kind.GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Kind.WEBP
    if head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in _BMP_HEADERS:
        return Kind.BMP
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _odf_kind(head) or Kind.ZIP
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return Kind.OLE
    if b"%PDF-" in head[:PDF_SEARCH]:
        return Kind.PDF
    if _looks_like_html(head):
        return Kind.HTML
    return None


def _odf_kind(head: bytes) -> Kind | None:
    """OpenDocument files start with an uncompressed entry ``mimetype`` naming their type."""
    if len(head) < 30:
        return None
    name_length = int.from_bytes(head[26:28], "little")
    extra_length = int.from_bytes(head[28:30], "little")
    if head[30 : 30 + name_length] != b"mimetype":
        return None
    start = 30 + name_length + extra_length
    value = head[start : start + 80]
    for media_type, kind in _ODF_TYPES.items():
        if value.startswith(media_type):
            return kind
    return None


def _looks_like_html(head: bytes) -> bool:
    text = head[:PDF_SEARCH].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(_HTML_STARTS):
        return True
    # An XML declaration or a comment first, the page after it (XHTML, saved pages).
    return text.startswith((b"<?xml", b"<!--")) and (b"<html" in text or b"<!doctype html" in text)


def expected_kind(file_name: str) -> Kind | None:
    """The type a file's extension claims, when the table knows it."""
    suffix = PurePath(file_name).suffix.lower().lstrip(".")
    return _EXTENSIONS.get(suffix)


def kind_for_media_type(media_type: str) -> Kind | None:
    """The type an upload form's ``Content-Type`` stands for, when the table knows it."""
    wanted = media_type.split(";", 1)[0].strip().lower()
    for kind, about in _ABOUT.items():
        if wanted in about.media_types:
            return kind
    return None


def fits(expected: Kind, actual: Kind | None) -> bool:
    """Whether content of type ``actual`` may go out under a name claiming ``expected``."""
    if actual is expected:
        return True
    if actual is Kind.ZIP and expected in ZIP_BASED:
        return True  # which office format a ZIP holds was not told: do not guess against it
    return expected is Kind.ZIP and actual in ZIP_BASED


def words(kind: Kind) -> str:
    """``kind`` in words: "a JPEG image"."""
    return _ABOUT[kind].words


# -- reading a file --------------------------------------------------------------------------


def read_ends(path: Path, head_size: int, tail_size: int) -> tuple[bytes, bytes, int]:
    """The first ``head_size`` and last ``tail_size`` bytes of a regular file, and its size.

    Opened without following a link and without blocking on a named pipe; raises
    :class:`OSError` (``ValueError`` for something that is not a regular file).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} is not a regular file")
        head = _read(fd, head_size)
        if tail_size <= 0:
            return head, b"", info.st_size
        os.lseek(fd, max(0, info.st_size - tail_size), os.SEEK_SET)
        return head, _read(fd, tail_size), info.st_size
    finally:
        os.close(fd)


def _read(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the file."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1024 * 1024))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def kind_of(path: Path) -> Kind | None:
    """The real type of the file at ``path``; for a ZIP, which office format it holds."""
    head, _, _ = read_ends(path, HEAD_SIZE, 0)
    kind = sniff(head)
    if kind is not Kind.ZIP:
        return kind
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return Kind.ZIP
    for folder, office in _OOXML_FOLDERS:
        if any(name.startswith(folder) for name in names):
            return office
    return Kind.ZIP


# -- the check before document.create ------------------------------------------------------


def check_type(path: Path, file_name: str | None = None) -> Kind | None:
    """Refuse a file whose content is not the type its name claims; its real type.

    ``file_name`` is the name it goes to Kompliant under (the path's name by default).
    Raises :class:`~agent.errors.WrongContent` with what to do; a name of a type the
    table does not know passes (Kompliant's accepted extensions decide).
    """
    name = file_name or path.name
    expected = expected_kind(name)
    try:
        actual = kind_of(path)
    except (OSError, ValueError):
        return None  # the upload's own open says what is wrong with the file
    if expected is None or fits(expected, actual):
        return actual
    raise mismatch(name, expected, actual)


def mismatch(name: str, expected: Kind, actual: Kind | None) -> WrongContent:
    """The refusal of ``name``, which claims ``expected`` and holds ``actual``."""
    claimed = _ABOUT[expected]
    if actual is Kind.HTML:
        return WrongContent(
            f"{name} is a web page (HTML), not {claimed.words}: the site most likely showed "
            "a sign-in or error page, and that page was saved instead of the document",
            code="FILE_IS_WEB_PAGE",
            hint="Open the site in your browser, sign in if it asks, download the document "
            "again and check that it opens, then put it into this folder.",
        )
    if actual is None:
        return WrongContent(
            f"{name} is not {claimed.words}: its content is not that of any type the agent "
            "knows (the file may be damaged, or be another kind of file with this name)",
            code="FILE_TYPE_MISMATCH",
            hint=f"Open it to check it is the right document, save or export it again as "
            f"{claimed.name}, then put it into this folder.",
        )
    real = _ABOUT[actual]
    return WrongContent(
        f"{name} is {real.words}, not {claimed.words}",
        code="FILE_TYPE_MISMATCH",
        hint=f"Save it as {claimed.name}, or rename it to .{real.extension} if this "
        f"requirement accepts {real.plural}, then put it into this folder.",
    )
