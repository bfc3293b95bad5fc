"""Where the packaging templates are, and filling them in.

The templates live in the repository's ``packaging/`` folder. They are found:
in a frozen app, where the PyInstaller spec puts them (``<bundle>/packaging``); in a
checkout (editable install), beside the ``agent`` package; after ``pip install``, under
``<prefix>/share/kompliant-agent`` (pyproject's data-files; the user base with
``--user``).
"""

from __future__ import annotations

import site
import sys
from collections.abc import Mapping
from pathlib import Path
from string import Template

from agent.appinfo import COMMAND, template_values
from agent.errors import AgentError


class TemplateMissing(AgentError):
    """The packaging templates are not where the installation should have put them."""


def packaging_dir() -> Path:
    """The folder holding ``autostart/`` and the icons (see the module docstring)."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "packaging")
    candidates.append(Path(__file__).resolve().parents[2] / "packaging")
    candidates.append(Path(sys.prefix) / "share" / COMMAND)
    candidates.append(Path(site.getuserbase()) / "share" / COMMAND)  # pip install --user
    for candidate in candidates:
        if (candidate / "autostart").is_dir():
            return candidate
    raise TemplateMissing(
        "The autostart templates are missing from this installation (looked in "
        + ", ".join(str(c) for c in candidates)
        + ")",
        code="TEMPLATES_MISSING",
        hint="Reinstall the agent from its installer or package.",
    )


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with ``${name}`` replaced by the app's values and ``values``.

    Every placeholder must have a value: a typo in a template is an error, not an empty
    line in a user's autostart file.
    """
    return Template(template).substitute({**template_values(), **values})


def read_template(relative: str) -> str:
    return (packaging_dir() / relative).read_text(encoding="utf-8")
