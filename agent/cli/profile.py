"""The ``--profile`` option and the config it selects, shared by the commands."""

from __future__ import annotations

import argparse
import dataclasses

from agent.config import Config, load_config


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", metavar="NAME", help="credentials and state profile")


def config_for(args: argparse.Namespace) -> Config:
    """The config, with ``--profile`` (when given) in place of the configured profile."""
    config = load_config()
    if getattr(args, "profile", None):
        config = dataclasses.replace(
            config, agent=dataclasses.replace(config.agent, profile=args.profile)
        )
    return config
