"""Every error the agent can meet, in one tree.

The first split is the one the agent acts on::

    AgentError                      code, message, http_status, trace_id, hint
    ├── RetryLater                  the same work may succeed later: back off and try again
    │   ├── NetworkError            connection refused/reset, DNS, TLS handshake, timeouts
    │   │   └── AmbiguousRequest    the request may have reached the server (read timeout,
    │   │                           connection dropped after sending, 500/504): a
    │   │                           non-idempotent call must be reconciled, not repeated
    │   ├── Throttled               HTTP 429; ``retry_after`` seconds when the server said so
    │   ├── ServerError             HTTP 5xx
    │   ├── UnexpectedResponse      a body that is not Kompliant's JSON envelope (a proxy or
    │   │                           gateway page) — usually passes
    │   ├── UploadFormExpired       the presigned form's policy expired: create a new document
    │   ├── FileChanged             the file changed while it was read or sent
    │   │   └── StillWriting        the claimed file is being written again (open for
    │   │                           writing, or without its end): not counted as a failure
    │   └── HashMismatch            the stored file's SHA-256 is not the local one
    └── CannotSucceed               this request or file cannot succeed as it is
        ├── AuthError               HTTP 401 / 403: credentials missing, wrong or not allowed
        ├── BadRequest              HTTP 400 ``BAD_REQUEST``: validation
        ├── EntityNotFound          HTTP 400 ``ENTITY_NOT_FOUND``
        ├── RuleViolation           HTTP 400 ``SYSTEM_RULE_VIOLATION`` (entity_type, sub_code)
        │   └── WorkflowEnded       sub_code ``WORKFLOW_ENDED``
        ├── UploadRejected          S3 refused the form (size, type, condition, signature)
        ├── FileProblem             the local file: empty, vanished, unreadable, wrong type
        │   └── WrongContent        its content is not what its name says, or it is cut
        │                           short: this file never succeeds, trying again is no help
        └── CredentialsError        keyring missing, locked or without entries

Messages never contain secrets: the secret key, auth token and signatures stay in
:mod:`agent.kompliant.auth` and :mod:`agent.credentials`.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""

    #: Whether the same work may succeed later without anyone changing anything.
    retryable: bool = False
    default_hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        trace_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.trace_id = trace_id
        self.hint = hint if hint is not None else self.default_hint
        #: The Kompliant method the error answered (set by the client), for the status.
        self.method: str | None = None

    def describe(self) -> str:
        """One paragraph for a person: what happened, the server's ids, what to do."""
        parts = [self.message.rstrip(".") + "."]
        details = []
        if self.code:
            details.append(f"code {self.code}")
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.trace_id:
            details.append(f"trace id {self.trace_id}")
        if details:
            parts.append("(" + ", ".join(details) + ")")
        if self.hint:
            parts.append(self.hint)
        return " ".join(parts)

    def __str__(self) -> str:
        return self.describe()


class RetryLater(AgentError):
    """The same work may succeed later: back off and try again."""

    retryable = True
    default_hint = "The agent retries by itself."

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class NetworkError(RetryLater):
    default_hint = "Check the network connection; the agent retries by itself."


class AmbiguousRequest(NetworkError):
    """The request may or may not have been carried out by the server."""


class Throttled(RetryLater):
    default_hint = "Kompliant asked the agent to slow down; it retries by itself."


class ServerError(RetryLater):
    default_hint = "Kompliant had a problem; the agent retries by itself."


class UnexpectedResponse(RetryLater):
    default_hint = (
        "The answer did not come from Kompliant's API (a proxy or gateway page?). "
        "Check the API URL and proxy settings; the agent retries by itself."
    )


class UploadFormExpired(RetryLater):
    default_hint = "The agent asks Kompliant for a new upload form and sends the file again."


class FileChanged(RetryLater):
    default_hint = "The file is still being written; it is sent again once it stays unchanged."


class StillWriting(FileChanged):
    default_hint = "A program is still writing the file; it is sent once it is finished."


class HashMismatch(RetryLater):
    default_hint = "The stored copy differs from the file on disk; the agent sends it again."


class CannotSucceed(AgentError):
    """This request or file cannot succeed as it is; a person has to change something."""


class AuthError(CannotSucceed):
    default_hint = (
        "Check the API key, secret key and auth token (run `kompliant-agent login` again)."
    )


class BadRequest(CannotSucceed):
    default_hint = "Kompliant refused the request as invalid."


class EntityNotFound(CannotSucceed):
    default_hint = "Check the id: Kompliant does not know it (or it belongs to another account)."


class RuleViolation(CannotSucceed):
    default_hint = "Kompliant's rules do not allow this."

    def __init__(
        self,
        message: str,
        *,
        entity_type: str | None = None,
        sub_code: str | None = None,
        **kw: object,
    ) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.entity_type = entity_type
        self.sub_code = sub_code


class WorkflowEnded(RuleViolation):
    default_hint = (
        "The workflow has ended and takes no more documents. Ask the Kompliant team "
        "which workflow should receive the file now."
    )


class UploadRejected(CannotSucceed):
    default_hint = "The file does not match what was declared to Kompliant."


class FileProblem(CannotSucceed):
    default_hint = ""


class WrongContent(FileProblem):
    """The bytes are not the document the name promises (another type, a web page, a
    copy cut short). Only another file can succeed, so its note never suggests a retry."""


class CredentialsError(CannotSucceed):
    default_hint = "Run `kompliant-agent login` to store the credentials."
