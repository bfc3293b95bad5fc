"""A folder that refuses new entries, as a read-only share or a locked folder does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def make_read_only(folder: Path) -> bool:
    """Make ``folder`` refuse new entries; False when this machine cannot."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return True
    # root ignores permission bits; the immutable flag stops root too (ext4 and others)
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    return done.returncode == 0


def make_writable(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
    folder.chmod(0o755)
