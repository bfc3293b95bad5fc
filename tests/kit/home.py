"""An agent home of the test's own, with no credentials taken from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.credentials.environment import ENV_VARIABLES
from agent.locations import HOME_ENV


def isolated_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """Make ``home`` the agent's home and unset the ``KOMPLIANT_*`` credential variables."""
    monkeypatch.setenv(HOME_ENV, str(home))
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return home
