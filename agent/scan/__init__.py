"""Scanner output: cover sheets, stacks cut at them, page images made into PDFs.

The pieces follow a stack's path and stay free of the engine:

- :mod:`agent.scan.code`     what a cover's QR code says (format tag and ids), read strictly
- :mod:`agent.scan.sheet`    the printable cover sheets (layout, paper size from the locale)
- :mod:`agent.scan.detect`   each page looked at small, then larger, for a cover's code
- :mod:`agent.scan.split`    the parts between covers (a pure plan), written without
                             re-encoding the scanned images
- :mod:`agent.scan.stack`    opening a stack: password, repair, TIFF; the whole look
- :mod:`agent.scan.convert`  page images (TIFF, HEIC, BMP, numbered scans) into one PDF
"""
