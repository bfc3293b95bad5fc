"""The ``--profile`` option and the config it selects, shared by the commands.

A profile names one set of stored credentials and one state folder (journal, status,
review states). Every command that takes ``--profile`` defaults to the config's
``agent.profile`` (``default`` unless the config says otherwise), so ``login``, ``run``
and the rest agree on the profile without repeating it.
"""

from __future__ import annotations

import argparse
import dataclasses

from agent.config import Config, load_config


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="credentials and state profile (default: the config's agent.profile, "
        "'default' unless set)",
    )


def profile_for(args: argparse.Namespace, config: Config | None = None) -> str:
    """``--profile`` when given, else the profile of ``config`` (default: the config file)."""
    given: str | None = getattr(args, "profile", None)
    return given or (config or load_config()).agent.profile


def config_for(args: argparse.Namespace) -> Config:
    """The config, with ``--profile`` (when given) in place of the configured profile."""
    config = load_config()
    if getattr(args, "profile", None):
        config = dataclasses.replace(
            config, agent=dataclasses.replace(config.agent, profile=args.profile)
        )
    return config
