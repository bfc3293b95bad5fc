"""Where the agent keeps its config, state, logs and cache.

By default these are the platform's usual folders (platformdirs). Setting
``KOMPLIANT_AGENT_HOME`` moves all of them under one folder — for tests and portable
installs — so that nothing of a user's real installation is touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "kompliant-agent"
HOME_ENV = "KOMPLIANT_AGENT_HOME"
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Locations:
    config_dir: Path
    state_dir: Path
    log_dir: Path
    cache_dir: Path
    documents_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    def profile_state(self, profile: str) -> Path:
        """State of one profile (journal, lock, control files)."""
        return self.state_dir / "profiles" / profile

    def ensure(self) -> Locations:
        for path in (self.config_dir, self.state_dir, self.log_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True)
        return self


def locations() -> Locations:
    """The folders in force for this process (``KOMPLIANT_AGENT_HOME`` wins)."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        return Locations(
            config_dir=root / "config",
            state_dir=root / "state",
            log_dir=root / "logs",
            cache_dir=root / "cache",
            documents_dir=root / "documents",
        )
    return Locations(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        state_dir=Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        documents_dir=Path(platformdirs.user_documents_dir()),
    )
