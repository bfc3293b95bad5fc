"""Whether this installation can make and read cover sheets: every native part, used once.

A cover sheet is laid out (segno, fpdf2), rendered (PDFium) and its code read back
(zxing-cpp); a page is copied into a new PDF (pikepdf/qpdf); a small image is made into a
PDF (img2pdf) and the HEIC decoder is loaded (pillow-heif). A missing library or native
part (a packaging mistake) shows up here, in ``doctor``, rather than on a user's stack.
"""

from __future__ import annotations

import io

from agent.scan.code import CoverCode
from agent.scan.detect import classify, decode_texts

PROBE_CODE = CoverCode("w_SelfCheck", "rd_SelfCheck")


def check_scanner() -> str | None:
    """None when it all works; else what failed, in a sentence."""
    step = "importing the scanner libraries"
    try:
        import img2pdf
        import pikepdf
        import pillow_heif
        import pypdfium2 as pdfium
        from PIL import Image

        from agent.scan.sheet import SheetContent, cover_sheets_pdf

        step = "laying out a cover sheet (segno, fpdf2)"
        pdf = cover_sheets_pdf([SheetContent(PROBE_CODE, "Self check", "Self check")])
        step = "rendering it (pypdfium2)"
        document = pdfium.PdfDocument(pdf)
        try:
            image = document[0].render(scale=100 / 72, grayscale=True).to_pil()
        finally:
            document.close()
        step = "reading its code back (zxing-cpp)"
        if classify(1, decode_texts(image)).code != PROBE_CODE:
            return "the cover sheet's code was not read back (zxing-cpp)"
        step = "copying its page into a new PDF (pikepdf)"
        with pikepdf.open(io.BytesIO(pdf)) as source, pikepdf.new() as out:
            out.pages.append(source.pages[0])
            out.save(io.BytesIO())
        step = "making an image into a PDF (img2pdf)"
        png = io.BytesIO()
        Image.new("L", (8, 8), 255).save(png, "PNG")
        img2pdf.convert(png.getvalue())
        step = "loading the HEIC decoder (pillow-heif)"
        pillow_heif.register_heif_opener()
    except Exception as error:  # any failure here is the finding, whatever its type
        return f"{step} failed: {type(error).__name__}: {error}"
    return None
