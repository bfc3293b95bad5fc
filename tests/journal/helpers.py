"""Running snippets of agent code in a separate Python process."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.kit.agent import REPO


def python(code: str, *args: str, **kw: object) -> subprocess.Popen[str]:
    """Start ``python -c code args…`` with the repository importable."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )
