"""Real writers for tests and benchmarks: well-formed documents, and the ways programs
write them into a folder (in passes, through a temporary name, with rsync, a browser, a
Samba or FTP server, on a FUSE mount).

- :mod:`~tests.realwriters.documents` makes small, real PDF, JPEG, PNG and ZIP files (and
  cut-short or mislabeled ones);
- :mod:`~tests.realwriters.patterns` writes a document the way a program does, each pattern
  returning when its writer has finished;
- :mod:`~tests.realwriters.servers` runs the real programs (an HTTP server that sends
  slowly, headless Chromium or Firefox, smbd, vsftpd, bindfs) on loopback.

Nothing here imports the agent, so the benchmarks can run it against any version of it.
"""
