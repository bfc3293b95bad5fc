"""The agent's log: stderr for the person watching, and a rotating file for later.

The file is ``agent.log`` in ``locations().log_dir`` (five older files of 1 MB are kept:
``agent.log.1`` … ``agent.log.5``). Every record goes through :class:`SecretFilter` before
any handler sees it: the credentials in force are masked by value, and anything shaped
like a credential (an Authorization header, a KSig1 signature, an auth token or presigned
field) by :func:`agent.journal.redact.redact`. Errors are built without secrets in the
first place; this is the last guard.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from agent.journal.redact import MASK, redact
from agent.locations import locations

LOG_FILE_NAME = "agent.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Environment variables whose values are secrets (agent.credentials.environment).
SECRET_VARIABLES = ("KOMPLIANT_SECRET_KEY", "KOMPLIANT_AUTH_TOKEN")
#: Shorter values are not masked by value: they would mask ordinary words.
MIN_SECRET_LENGTH = 8

log = logging.getLogger(__name__)

#: Marks a record :class:`SecretFilter` has masked: every handler gets the same record,
#: and masking it once is enough.
_CLEANED = "_kompliant_masked"


def log_file() -> Path:
    """Where the current log file is."""
    return locations().log_dir / LOG_FILE_NAME


class SecretFilter(logging.Filter):
    """Masks known secret values and credential-shaped text in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        wanted = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        with self._lock:
            # Longest first, so a secret that contains another is masked whole.
            merged = set(self._secrets) | wanted
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.__dict__.get(_CLEANED):
            return True  # masked already for the handler before this one
        message = record.getMessage()
        cleaned = self.clean(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        record.exc_info = None  # the text above is what handlers print
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        record.msg, record.args = cleaned, None
        record.__dict__[_CLEANED] = True
        return True


_filter = SecretFilter()


def add_secrets(*secrets: str) -> None:
    """Mask these values in every log record from now on (e.g. credentials just loaded)."""
    _filter.add_secrets(secrets)


def setup_logging(
    *,
    verbose: bool = False,
    to_file: bool = True,
    environ: Mapping[str, str] | None = None,
    stream: object | None = None,
) -> Path | None:
    """Log to stderr and (``to_file``) to the rotating file; returns the file or None.

    A log folder that cannot be created only costs the file: the agent still runs, and
    says so on stderr.
    """
    environ = os.environ if environ is None else environ
    _filter.add_secrets(environ.get(name, "") for name in SECRET_VARIABLES)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kompliant", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler(stream if stream is not None else sys.stderr)  # type: ignore[arg-type]
    _install(root, console, logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    if not to_file:
        return None
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    except OSError as error:
        log.warning(
            "Cannot write the log file %s (%s); logging to the screen only. Check that "
            "the folder exists and is writable.",
            path,
            error.strerror or error,
        )
        return None
    if os.name == "posix":
        try:
            path.chmod(0o600)
        except OSError as error:
            log.debug("could not make %s private: %s", path, error)
    _install(root, file_handler, logging.DEBUG)
    return path


def _install(root: logging.Logger, handler: logging.Handler, level: int) -> None:
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_filter)
    handler._kompliant = True  # type: ignore[attr-defined]
    root.addHandler(handler)
