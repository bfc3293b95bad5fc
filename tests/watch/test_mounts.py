"""Network and FUSE folders are told from the mount table (and Windows paths by name)."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import pytest

from agent.watch.mounts import (
    Mount,
    describe,
    is_unc,
    mount_of,
    network_kind,
    network_mounts_below,
    system_mounts,
)
from tests.realwriters.servers import bindfs_mount

LINUX = [
    Mount("/", "ext4", "/dev/vda"),
    Mount("/home", "ext4", "/dev/vdb"),
    Mount("/home/ann/Shares", "nfs4", "filer:/export"),
    Mount("/home/ann/Kompliant/Acme/Bank statements", "fuse.sshfs", "ann@host:/docs"),
    Mount("/mnt/windows", "fuseblk", "/dev/sdb1"),
    Mount("/media/usb", "vfat", "/dev/sdc1"),
    Mount("/home/ann/Mirror", "fuse", "/srv/backing"),
]


@pytest.mark.parametrize(
    ("fstype", "options", "kind"),
    [
        ("nfs", "", "nfs"),
        ("cifs", "", "cifs"),
        ("smb3", "", "smb3"),
        ("9p", "", "9p"),
        ("fuse.sshfs", "", "FUSE (fuse.sshfs)"),
        ("fuse.rclone", "", "FUSE (fuse.rclone)"),
        ("fuse.gvfsd-fuse", "", "FUSE (fuse.gvfsd-fuse)"),
        ("fuse", "", "FUSE"),
        ("fuseblk", "", None),
        ("ext4", "", None),
        ("tmpfs", "", None),
        ("smbfs", "", "smbfs"),  # macOS
        ("macfuse", "", "macfuse"),
        ("NTFS", "rw,remote", "network drive (NTFS)"),  # Windows: psutil marks network drives
        ("NTFS", "rw,fixed", None),
    ],
)
def test_network_kind(fstype: str, options: str, kind: str | None) -> None:
    assert network_kind(Mount("/x", fstype, options=options)) == kind


def test_the_longest_mount_point_above_a_folder_decides() -> None:
    assert mount_of("/home/ann/Shares/x", LINUX) == LINUX[2]
    assert mount_of("/home/ann/SharesNot/x", LINUX) == LINUX[1]
    assert mount_of("/", LINUX) == LINUX[0]
    assert describe(Path("/home/ann/Shares/Kompliant"), LINUX).network == "nfs4"
    assert describe(Path("/home/ann/Kompliant"), LINUX, windows=False).network is None
    assert describe(Path("/mnt/windows/Kompliant"), LINUX, windows=False).network is None


def test_network_mounts_inside_a_root_are_listed() -> None:
    below = network_mounts_below(Path("/home/ann"), LINUX, windows=False)
    assert [str(f.path) for f in below] == [
        "/home/ann/Kompliant/Acme/Bank statements",
        "/home/ann/Mirror",
        "/home/ann/Shares",
    ]
    assert network_mounts_below(Path("/home/ann/Shares"), LINUX, windows=False) == []


def test_windows_drives_and_unc_paths() -> None:
    table = [Mount("C:\\", "NTFS", "C:\\", "rw,fixed"), Mount("Z:\\", "NTFS", "Z:\\", "rw,remote")]
    assert describe(Path("c:/Users/ann/Kompliant"), table, windows=True).network is None
    z = describe(PureWindowsPath("Z:\\Kompliant"), table, windows=True)  # type: ignore[arg-type]
    assert z.network == "network drive (NTFS)"
    unc = describe(PureWindowsPath(r"\\filer\docs\Kompliant"), [], windows=True)  # type: ignore[arg-type]
    assert unc.network == "network path (UNC)"
    assert is_unc(r"\\?\UNC\filer\docs")
    assert not is_unc(r"\\?\C:\Users")
    assert not is_unc(r"C:\Users")


def test_this_machine_has_a_mount_table() -> None:
    table = system_mounts()
    assert any(m.point == "/" for m in table)


def test_a_real_bindfs_mount_is_a_fuse_folder(tmp_path: Path) -> None:
    backing, mounted = tmp_path / "backing", tmp_path / "mounted"
    with bindfs_mount(backing, mounted):
        found = describe(mounted / "Kompliant", system_mounts())
        assert found.network is not None and found.network.startswith("FUSE")
        assert found.mount_point == str(mounted)
        assert describe(backing, system_mounts()).network is None
        assert [f.path for f in network_mounts_below(tmp_path, system_mounts())] == [mounted]
