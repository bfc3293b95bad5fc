"""The names the agent writes into watched folders, in one place.

:mod:`agent.watch.ignore` skips exactly these; :mod:`agent.settle` (``done/``,
``failed/``, ``.processing/`` and the records beside files), :mod:`agent.decide` (the
folder markers and notices) and :mod:`agent.review` (the ``_STATUS`` notices) create
exactly these. Import :data:`AGENT_OWNED` rather than spelling a name again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentNames:
    """The names the agent writes into watched folders; never treated as documents."""

    done_dir: str = "done"
    failed_dir: str = "failed"
    processing_dir: str = ".processing"
    # Inside failed/: the notes of files moved back to be tried again.
    retried_dir: str = ".retried"
    # Inside .processing/ (ignored as a whole): who holds the claim of the file beside it.
    claim_suffix: str = ".claim.json"
    # How the agent's temporary files start (hidden, so ignored everywhere).
    temp_prefix: str = ".tmp-"
    marker_prefix: str = ".kompliant"
    error_suffix: str = ".error.txt"
    receipt_suffix: str = ".receipt.txt"
    # Beside a receipt in done/ (ignored as a whole, so not a sidecar suffix): rejected.
    rejected_suffix: str = ".rejected.txt"
    folder_marker: str = ".kompliant-folder.json"
    inactive_notice: str = "_INACTIVE - no longer required.txt"
    ended_notice: str = "_ENDED - workflow ended.txt"
    # A requirement folder's review state: one of these at a time, named after the state.
    status_missing: str = "_STATUS - missing, drop the document here.txt"
    status_needs_review: str = "_STATUS - uploaded, waiting for review.txt"
    status_in_review: str = "_STATUS - in review.txt"
    status_accepted: str = "_STATUS - accepted.txt"
    status_rejected: str = "_STATUS - rejected, send a new file.txt"

    @property
    def folders(self) -> frozenset[str]:
        """Folders the agent owns inside every watched folder."""
        return frozenset({self.done_dir, self.failed_dir, self.processing_dir})

    @property
    def status_notices(self) -> frozenset[str]:
        """The review-state notices; exactly these names, so a user's ``_STATUS …`` file
        of another name is a document like any other."""
        return frozenset(
            {
                self.status_missing,
                self.status_needs_review,
                self.status_in_review,
                self.status_accepted,
                self.status_rejected,
            }
        )

    @property
    def files(self) -> frozenset[str]:
        """Whole file names the agent writes into watched folders (marker and notices)."""
        return (
            frozenset({self.folder_marker, self.inactive_notice, self.ended_notice})
            | self.status_notices
        )

    @property
    def sidecar_suffixes(self) -> tuple[str, ...]:
        """Endings of the readable records the agent writes beside settled files."""
        return (self.error_suffix, self.receipt_suffix)


#: The one set of agent-owned names. Import it rather than spelling the names again.
AGENT_OWNED = AgentNames()


#: The one set of agent-owned names.
AGENT_OWNED = AgentNames()
