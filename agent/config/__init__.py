"""The agent's configuration: a TOML file in ``locations().config_file``.

The schema is described in docs/folders.md. :func:`load_config` returns defaults when the
file is absent; :func:`save_config` writes atomically.
"""

from agent.config.dump import config_to_data
from agent.config.model import (
    AgentSettings,
    CombinedFolder,
    Config,
    FolderOverride,
    InboxRule,
    WorkflowConfig,
    default_root,
)
from agent.config.parse import ConfigError, parse_config
from agent.config.store import config_path, load_config, save_config

__all__ = [
    "AgentSettings",
    "CombinedFolder",
    "Config",
    "ConfigError",
    "FolderOverride",
    "InboxRule",
    "WorkflowConfig",
    "config_path",
    "config_to_data",
    "default_root",
    "load_config",
    "parse_config",
    "save_config",
]
