"""Reading and writing the config file (``locations().config_file``).

The file is written atomically (:mod:`agent.atomic`): a crash or a full disk leaves the
old file or the new one, never half of either. When the agent writes it back
(``add-workflow`` / ``remove-workflow``) it edits the file as the user left it
(:mod:`agent.config.edit`): their comments and layout stay.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from tomlkit.exceptions import TOMLKitError

from agent.atomic import write_atomically
from agent.config.dump import config_to_data
from agent.config.edit import edited
from agent.config.model import Config
from agent.config.parse import ConfigError, parse_config
from agent.locations import locations

log = logging.getLogger(__name__)

HEADER = (
    "# kompliant-agent configuration; the format is described in docs/folders.md.\n"
    "# add-workflow and remove-workflow edit this file; your comments are kept.\n\n"
)


def config_path() -> Path:
    return locations().config_file


def load_config(path: Path | None = None) -> Config:
    """The config in ``path`` (default: the config file); defaults when the file is absent."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        log.debug("no config file at %s; using defaults", path)
        return Config()
    except OSError as error:
        raise ConfigError([f"cannot be read: {error.strerror or error}"], source=path) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(["is not UTF-8 text"], source=path) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"is not valid TOML: {error}"], source=path) from None
    return parse_config(data, source=path)


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write ``config`` atomically to ``path`` (default: the config file) and return the path."""
    path = path or config_path()
    data = config_to_data(config)
    try:
        text = edited(path.read_text(encoding="utf-8"), data)
    except FileNotFoundError:
        text = edited(HEADER, data)
    except (OSError, UnicodeDecodeError, TOMLKitError) as error:
        log.warning("writing %s anew: the file as it is cannot be edited (%s)", path, error)
        text = edited(HEADER, data)
    # Read back before replacing: the file the agent writes must be one it can load.
    parse_config(tomllib.loads(text), source=path)
    write_atomically(path, text.encode("utf-8"))
    return path
