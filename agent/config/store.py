"""Reading and writing the config file (``locations().config_file``).

The file is written atomically: a temporary file beside it, flushed to disk, then
``os.replace``. A crash or a full disk leaves the old file or the new one, never half of
either. Comments in a hand-edited file are not kept when the agent writes it back
(``add-workflow`` / ``remove-workflow``); docs/folders.md says so.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import tomli_w

from agent.atomic import write_atomically
from agent.config.dump import config_to_data
from agent.config.model import Config
from agent.config.parse import ConfigError, parse_config
from agent.locations import locations

log = logging.getLogger(__name__)

HEADER = (
    "# kompliant-agent configuration; the format is described in docs/folders.md.\n"
    "# add-workflow and remove-workflow rewrite this file (comments are not kept).\n\n"
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
    text = HEADER + tomli_w.dumps(config_to_data(config))
    # Read back before replacing: the file the agent writes must be one it can load.
    parse_config(tomllib.loads(text), source=path)
    write_atomically(path, text.encode("utf-8"))
    return path
