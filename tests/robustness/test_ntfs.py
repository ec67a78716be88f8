"""A save on a real NTFS volume mounted with ntfs-3g (made with ``mkntfs``) keeps what Windows
gave the file: its MFT record (the inode), security descriptor, attributes and alternate data
streams. A new file -- what a save by rename would make -- gets none of them; the journalled
in-place save keeps them all. Skipped where FUSE or ntfs-3g is not usable."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import FIXTURES


@pytest.fixture(scope="module")
def ntfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not (shutil.which("mkntfs") and shutil.which("ntfs-3g")):
        pytest.skip("ntfs-3g is not installed (Debian: apt-get install ntfs-3g)")
    if not os.path.exists("/dev/fuse") or os.geteuid() != 0:
        pytest.skip("mounting with FUSE needs /dev/fuse and root here")
    work = tmp_path_factory.mktemp("ntfs")
    image, mount = work / "volume.img", work / "mnt"
    with open(image, "wb") as f:
        f.truncate(64 << 20)
    mount.mkdir()
    made = subprocess.run(["mkntfs", "-F", "-f", "-q", str(image)], capture_output=True,
                          text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"mkntfs failed: {made.stderr.strip()}")
    # Its messages go to a file, not a pipe: the daemon ntfs-3g leaves behind may keep the
    # pipe open, and waiting for its end then waits for the unmount (a hang seen here).
    errors = work / "ntfs-3g.err"
    with open(errors, "wb") as err:
        mounted = subprocess.run(["ntfs-3g", str(image), str(mount)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err, check=False, timeout=60)
    if mounted.returncode != 0:
        pytest.skip(f"ntfs-3g cannot mount here: {errors.read_text(errors='replace').strip()}")
    try:
        yield mount
    finally:
        for unmount in (["fusermount", "-u", str(mount)], ["umount", str(mount)]):
            subprocess.run(unmount, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False, timeout=60)


def _identity(path: Path) -> dict[str, object]:
    return {"inode": os.stat(path).st_ino,
            "acl": os.getxattr(path, "system.ntfs_acl"),
            "attrib": os.getxattr(path, "system.ntfs_attrib"),
            "stream": os.getxattr(path, "user.winmigrate-test")}


def test_a_save_keeps_the_ntfs_identity(ntfs: Path) -> None:
    config = ntfs / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    target = config / "SYSTEM"
    target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    # What Windows gives System32\config\SYSTEM: its own descriptor and the archive attribute
    # (here a distinctive one, so a fresh inherited descriptor would show), and a stream.
    acl = bytearray(os.getxattr(target, "system.ntfs_acl"))
    acl[2:4] = (int.from_bytes(acl[2:4], "little") | 0x1000).to_bytes(2, "little")
    os.setxattr(target, "system.ntfs_acl", bytes(acl))
    os.setxattr(target, "system.ntfs_attrib", (0x20 | 0x4).to_bytes(4, "little"))  # archive+system
    os.setxattr(target, "user.winmigrate-test", b"an alternate data stream")
    before = _identity(target)
    with winmigrate.open(target, writable=True) as hive:
        hive.root.create_key("SavedOnNtfs").set_value("big", b"n" * 200_000)  # grows
        hive.save()
    assert _identity(target) == before
    with winmigrate.open(target) as hive:
        assert hive.key("SavedOnNtfs").get("big") == b"n" * 200_000 and hive.check().ok
    assert sorted(p.name for p in config.iterdir()) == ["SYSTEM"]
    # The rename the save no longer does would have lost all of it:
    fresh = config / "FRESH"
    fresh.write_bytes(b"x")
    assert os.getxattr(fresh, "system.ntfs_acl") != before["acl"]
    assert "user.winmigrate-test" not in os.listxattr(fresh)
