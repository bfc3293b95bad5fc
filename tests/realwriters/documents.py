"""Small, real documents: what a viewer opens, of about the size asked for, each unique.

Every maker takes a ``tag`` that goes into the content, so two documents with different
tags never have the same SHA-256 (the agent would settle the second as a duplicate).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib

PDF_HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def _filler(tag: str, size: int) -> bytes:
    """``size`` bytes that depend on ``tag`` (cheap even for megabytes)."""
    seed = hashlib.sha256(tag.encode()).digest()
    block = hashlib.sha512(seed).digest() * 64  # 4 KiB
    whole, rest = divmod(max(0, size), len(block))
    return block * whole + block[:rest]


def _pdf_text(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return escaped.encode("latin-1", "replace")


def pdf(tag: str = "document", size: int = 2048) -> bytes:
    """A one-page PDF showing ``tag``, with a cross-reference table and ``%%EOF`` at its
    end; an unreferenced stream pads it to about ``size`` bytes."""
    page_text = b"BT /F1 18 Tf 72 720 Td (" + _pdf_text(tag) + b") Tj ET"
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(page_text) + page_text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    fixed = len(PDF_HEADER) + sum(len(b) + 24 for b in bodies) + 200 + 20 * (len(bodies) + 2)
    padding = _filler(tag, max(0, size - fixed - 40))
    bodies.append(b"<< /Length %d >>\nstream\n" % len(padding) + padding + b"\nendstream")
    out = bytearray(PDF_HEADER)
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        xref,
    )
    return bytes(out)


def _tiny_image(fmt: str, tag: str) -> bytes:
    from PIL import Image

    shade = hashlib.sha256(tag.encode()).digest()
    image = Image.new("RGB", (16, 16), (shade[0], shade[1], shade[2]))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def jpeg(tag: str = "photo", size: int = 2048) -> bytes:
    """A JPEG image (made by Pillow), padded with comment segments to about ``size``."""
    base = _tiny_image("JPEG", tag)
    comments = bytearray()
    room = max(0, size - len(base))
    filler = _filler(tag, room)
    while len(comments) < room:
        piece = filler[len(comments) : len(comments) + 65000] or b"x"
        comments += b"\xff\xfe" + struct.pack(">H", len(piece) + 2) + piece
    return base[:2] + bytes(comments) + base[2:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(tag: str = "scan", size: int = 2048) -> bytes:
    """A PNG image (made by Pillow) with a private chunk that pads it to about ``size``."""
    base = _tiny_image("PNG", tag)
    iend = base.rindex(b"IEND") - 4
    padding = _filler(tag, max(1, size - len(base) - 12))
    return base[:iend] + _png_chunk(b"kpAD", padding) + base[iend:]


def docx(tag: str = "letter", size: int = 2048) -> bytes:
    """A ZIP-based Word document (the parts a reader looks for), about ``size`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Override PartName="/word/document.xml" ContentType="'
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main"
            '+xml"/></Types>',
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{tag}</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
        archive.writestr("word/media/padding.bin", _filler(tag, max(0, size - 900)))
    return buffer.getvalue()


def html_page(tag: str = "sign in") -> bytes:
    """What a bank's site sends instead of the statement when the session has ended."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>Sign in</title></head><body><form action="/login"><p>{tag}</p>'
        '<input name="user"><input type="password" name="password"></form>'
        "</body></html>\n"
    ).encode()


def cut_short(content: bytes, keep: float = 0.3) -> bytes:
    """The first ``keep`` share of ``content``: a copy that stopped part-way."""
    return content[: max(1, int(len(content) * keep))]
