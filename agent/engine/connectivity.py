"""Whether Kompliant answers and takes the credentials: the online/offline probe.

The credentials are checked once at start (``meta.checkVersion`` on the loop's first
turn), so credentials revoked while the agent was stopped show at once, not when the
next file is dropped. A network error in any worker puts the agent offline; rejected
credentials (a 401 or 403 from any call: a file's, a review check's, this probe's) block
it. Either way new files wait (claimed files keep their place in the retry schedule) and
the loop asks :meth:`Connectivity.probe` to call ``meta.checkVersion`` on a growing
interval (``probe_intervals``, the last one repeated) until Kompliant answers and takes
the credentials again. A file never fails because the agent was offline or signed out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agent.engine.problems import CREDENTIALS, OFFLINE, Problems
from agent.errors import AgentError, AuthError, NetworkError, Throttled
from agent.kompliant.client import KompliantClient

log = logging.getLogger(__name__)


class Connectivity:
    def __init__(
        self, probe_client: KompliantClient, problems: Problems, intervals: Sequence[float]
    ) -> None:
        self._client = probe_client
        self._problems = problems
        self._intervals = tuple(intervals)
        self.offline = False
        self.auth_blocked = False
        self._probe_at = 0.0
        self._probe_step = 0
        self._started = False  # the check at start is done

    @property
    def blocked(self) -> bool:
        """Whether new files must wait: Kompliant unreachable or refusing the credentials."""
        return self.offline or self.auth_blocked

    def went_offline(self, error: AgentError) -> None:
        if not self.offline:
            log.warning("Kompliant is unreachable (%s); pausing uploads until it answers", error)
        self.offline = True
        self._problems.set(OFFLINE, f"Kompliant is unreachable: {error.message}")

    def went_online(self) -> None:
        if self.offline:
            log.info("Kompliant answers again; resuming uploads")
        if self.auth_blocked:
            log.info("Kompliant accepts the credentials again; resuming uploads")
        self.offline = False
        self.auth_blocked = False
        self._probe_step = 0
        self._problems.set(OFFLINE, None)
        self._problems.set(CREDENTIALS, None)

    def credentials_rejected(self, error: AuthError) -> None:
        """Stop taking files until the credentials work: no file fails for them."""
        if not self.auth_blocked:
            log.error("Kompliant refused the credentials: %s", error.describe())
        self.auth_blocked = True
        self._problems.set(
            CREDENTIALS,
            f"Kompliant refused the credentials ({error.message}). Run `kompliant-agent "
            "login` with valid ones; waiting files are sent once they work.",
        )

    def probe(self, now: float) -> bool:
        """Ask Kompliant once if it is time (and once at start); True when it just came
        back (online, and taking the credentials), so what waited for it can go now."""
        first = not self._started
        self._started = True
        if not first and (not self.blocked or now < self._probe_at):
            return False
        was_blocked = self.blocked
        intervals = self._intervals
        self._probe_at = now + intervals[min(self._probe_step, len(intervals) - 1)]
        self._probe_step += 1
        try:
            self._client.check_version()
        except NetworkError as error:
            if first:
                self.went_offline(error)
            log.debug("still offline: %s", error.message)
            return False
        except Throttled as error:
            log.debug("Kompliant asks to slow down: %s", error.message)
            return False
        except AuthError as error:
            self.credentials_rejected(error)
            return False
        except AgentError as error:
            log.warning("Kompliant answers, with an error: %s", error.describe())
        if first and not was_blocked:
            log.info("Kompliant takes the credentials")
            return False
        self.went_online()
        return True
