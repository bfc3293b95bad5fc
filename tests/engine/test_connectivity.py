"""The credentials are checked at start, not when the next file comes; a refusal from any
call blocks new files until Kompliant takes the credentials again."""

from __future__ import annotations

from typing import Any

from agent.engine.connectivity import Connectivity
from agent.engine.problems import CREDENTIALS, OFFLINE, Problems
from agent.errors import AuthError, NetworkError
from agent.kompliant.models import VersionInfo

INTERVALS = (1.0, 2.0, 5.0)


class Kompliant:
    """meta.checkVersion answering from a list: an error to raise, or a version."""

    def __init__(self, *answers: Exception | None) -> None:
        self.answers = list(answers)
        self.calls = 0

    def check_version(self) -> Any:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        return VersionInfo.from_api({"current_version": "2025-03-24"})


def test_revoked_credentials_show_on_the_first_turn_without_a_file() -> None:
    kompliant = Kompliant(AuthError("Unauthorized", http_status=401))
    problems = Problems()
    connectivity = Connectivity(kompliant, problems, INTERVALS)  # type: ignore[arg-type]

    assert connectivity.probe(0.0) is False

    assert kompliant.calls == 1
    assert connectivity.auth_blocked and connectivity.blocked
    assert "refused the credentials" in problems.current()[CREDENTIALS]
    # then the probe asks again on its interval, and lets the files go when they work
    assert connectivity.probe(0.5) is False and kompliant.calls == 1
    assert connectivity.probe(1.0) is True and kompliant.calls == 2
    assert not connectivity.blocked and CREDENTIALS not in problems.current()


def test_good_credentials_are_checked_once_at_start_and_then_left_alone() -> None:
    kompliant = Kompliant()
    connectivity = Connectivity(kompliant, Problems(), INTERVALS)  # type: ignore[arg-type]
    assert connectivity.probe(0.0) is False  # nothing waited for it
    for now in range(1, 100):
        assert connectivity.probe(float(now)) is False
    assert kompliant.calls == 1


def test_kompliant_unreachable_at_start_is_offline_at_once() -> None:
    kompliant = Kompliant(NetworkError("connection refused"))
    problems = Problems()
    connectivity = Connectivity(kompliant, problems, INTERVALS)  # type: ignore[arg-type]
    connectivity.probe(0.0)
    assert connectivity.offline and OFFLINE in problems.current()
    assert connectivity.probe(1.0) is True  # it answers again: what waited goes
    assert not connectivity.offline
