"""Which watched folders live on a network or FUSE file system, where events do not come.

inotify (and the native watchers elsewhere) only report changes made through this
machine's kernel. On a network share (NFS, SMB/CIFS, 9p …) or a FUSE mount (sshfs,
bindfs, rclone, gvfs …) a file that arrives from another machine, or is written to the
folder behind the mount, gives no event: only polling sees it. So such folders are
polled without anyone having to say so; ``polling = true/false`` in the config forces
either way.

The mount table comes from psutil's partition list (``/proc/self/mounts`` on Linux, the
mounted volumes on macOS, the drives on Windows, where a network drive is marked
``remote``); a folder belongs to the mount with the longest mount point above it. A
Windows UNC path (``\\\\server\\share``) is a network folder by its name alone. psutil
reads all three systems the same way, where hand-written code would need three readers
(mountinfo, ``statfs`` through ctypes, ``GetDriveTypeW``) of which only one is tested here.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mount:
    """One entry of the mount table."""

    point: str
    fstype: str
    device: str = ""
    options: str = ""


#: The mount table now; injected in tests.
MountTable = Callable[[], Sequence[Mount]]

# File systems whose files can change without this kernel seeing it.
_NETWORK_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "afpfs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "davfs",
        "webdav",
        "coda",
        "vboxsf",
        "vmhgfs",
        "prl_fs",
        "virtiofs",
        "sshfs",
        "macfuse",
        "osxfuse",
        "fusefs",
    }
)
# FUSE types that are a local disk seen through FUSE (NTFS, exFAT): events do come.
_LOCAL_FUSE = frozenset({"fuseblk", "fuse.ntfs-3g", "fuse.exfat", "fuse.lxcfs"})


def network_kind(mount: Mount) -> str | None:
    """What makes ``mount`` a network or FUSE file system ("nfs4", "FUSE"…), or ``None``."""
    fstype = mount.fstype.lower()
    if fstype in _LOCAL_FUSE:
        return None
    if fstype == "fuse" or fstype.startswith("fuse."):
        return f"FUSE ({fstype})" if "." in fstype else "FUSE"
    if fstype in _NETWORK_TYPES:
        return fstype
    if "remote" in mount.options.lower().split(","):
        return f"network drive ({mount.fstype or 'remote'})"
    return None


def is_unc(path: str) -> bool:
    """A Windows path to a share by server name (``\\\\server\\share`` or ``\\\\?\\UNC\\…``)."""
    if not path.startswith(("\\\\", "//")):
        return False
    return not path.startswith(("\\\\?\\", "\\\\.\\")) or path[4:8].upper() == "UNC\\"


def _key(path: str, windows: bool) -> str:
    path = path.replace("/", "\\") if windows else path
    trimmed = path.rstrip("\\" if windows else "/")
    if windows:
        return (trimmed or path).casefold()
    return trimmed or "/"


def _contains(point: str, path: str, windows: bool) -> bool:
    base, target = _key(point, windows), _key(path, windows)
    separator = "\\" if windows else "/"
    return target == base or target.startswith(
        base if base.endswith(separator) else base + separator
    )


def mount_of(path: str, table: Sequence[Mount], *, windows: bool = False) -> Mount | None:
    """The mount holding ``path``: the one with the longest mount point above it."""
    best: Mount | None = None
    for mount in table:
        if _contains(mount.point, path, windows) and (
            best is None or len(_key(mount.point, windows)) > len(_key(best.point, windows))
        ):
            best = mount
    return best


@dataclass(frozen=True)
class FolderSystem:
    """What a folder's file system is, as far as watching it goes."""

    path: Path
    network: str | None  # why it counts as a network folder, or None for a local one
    mount_point: str = ""


def describe(path: Path, table: Sequence[Mount], *, windows: bool | None = None) -> FolderSystem:
    """Whether ``path`` is on a network or FUSE file system (pure: the table is given)."""
    windows = sys.platform == "win32" if windows is None else windows
    text = str(path)
    if windows and is_unc(text):
        return FolderSystem(path, "network path (UNC)", str(PureWindowsPath(text).anchor))
    mount = mount_of(text, table, windows=windows)
    if mount is None:
        return FolderSystem(path, None)
    return FolderSystem(path, network_kind(mount), mount.point)


def network_mounts_below(
    root: Path, table: Sequence[Mount], *, windows: bool | None = None
) -> list[FolderSystem]:
    """Network and FUSE mounts strictly inside ``root`` (a share mounted in a subfolder)."""
    windows = sys.platform == "win32" if windows is None else windows
    found: dict[str, FolderSystem] = {}
    for mount in table:
        kind = network_kind(mount)
        if kind is None or _key(mount.point, windows) == _key(str(root), windows):
            continue
        if _contains(str(root), mount.point, windows):
            found[mount.point] = FolderSystem(Path(mount.point), kind, mount.point)
    return [found[point] for point in sorted(found)]


def system_mounts() -> list[Mount]:
    """The mount table of this machine (empty, with a debug note, when it cannot be read)."""
    try:
        import psutil

        partitions = psutil.disk_partitions(all=True)
    except Exception:  # psutil missing on this platform, or /proc unreadable
        log.debug("cannot read the mount table", exc_info=True)
        return []
    return [
        Mount(
            point=os.fsdecode(p.mountpoint),
            fstype=p.fstype or "",
            device=p.device or "",
            options=p.opts or "",
        )
        for p in partitions
    ]
