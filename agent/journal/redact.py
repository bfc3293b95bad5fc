"""A last guard that keeps credentials out of text the agent stores.

Errors are built without secrets (see :mod:`agent.errors`); this only catches a header
or a presigned-form field that slipped into a message (for example a proxy page echoing
the request). It masks values of the shapes Kompliant and S3 use and leaves ids such as
``d_…`` or ``rd_…`` readable.
"""

from __future__ import annotations

import re

MASK = "[redacted]"

_PATTERNS = (
    # an Authorization header: its whole value
    re.compile(r"(Authorization\"?\s*[:=]\s*\"?)[^\r\n\"]+", re.IGNORECASE),
    # a bare KSig1 signature
    re.compile(r"(KSig1-HMAC-SHA256\s+)[^\s,;\"']+", re.IGNORECASE),
    # header or field names followed by ':' or '=' and a value
    re.compile(
        r"((?:X-API-Auth-Token|X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential|"
        r"secret[_-]?key|auth[_-]?token)\"?\s*[:=]\s*\"?)[^\s,;&\"']+",
        re.IGNORECASE,
    ),
)


#: A word every pattern's match contains, as ``str.casefold`` spells it: a text with none
#: of them has nothing to mask. (Every letter that matches one of these words under the
#: patterns' IGNORECASE — ``ſ`` for ``s``, the Kelvin sign for ``k`` — is folded to it.)
_CUES = ("auth", "hmac-sha256", "x-amz-", "secret")


def redact(text: str) -> str:
    """``text`` with anything shaped like a credential replaced by ``[redacted]``."""
    folded = text.casefold()
    if not any(cue in folded for cue in _CUES):
        return text  # every log line and journal message passes here: most have no cue
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + MASK, text)
    return text
