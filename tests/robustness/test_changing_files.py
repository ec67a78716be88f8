"""Files that change under a reader, and what a killed save leaves behind.

A large read-only hive is read as it is used (``hive.files.FilePager``), never memory-mapped: a
file truncated or rewritten under the reader gives ``HiveFileError`` saying so -- never a SIGBUS
that kills the process, never old and new data mixed silently. A writable open removes the
temporary files of a killed save of the same hive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import FIXTURES


@pytest.fixture(scope="module")
def big_hive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A hive of a few megabytes (past the size below which files are simply read)."""
    hive = winmigrate.create()
    for i in range(300):
        key = hive.root.create_key(f"Key{i:04d}")
        for j in range(20):
            key.set_value(f"value{j}", bytes([i % 256, j]) * 300)
    data = hive.to_bytes()
    assert len(data) > 3 << 20
    return data


TRUNCATE = r"""
import sys, winmigrate
path = sys.argv[1]
hive = winmigrate.open(path)
hive.key("Key0003").get("value2")  # a few chunks read, the rest not yet
with open(path, "r+b") as f:
    f.truncate(int(sys.argv[2]))
try:
    for key in hive.walk():
        for value in key.values():
            value.data
except winmigrate.WinmigrateError as e:
    print("error", type(e).__name__, e)
else:
    print("read everything")
"""


@pytest.mark.parametrize("cut", [8192, 1 << 20])
def test_a_file_truncated_under_a_reader_is_an_error_not_a_crash(tmp_path: Path,
                                                                 big_hive: bytes,
                                                                 cut: int) -> None:
    path = tmp_path / "BIG"
    path.write_bytes(big_hive)
    env = dict(os.environ, PYTHONPATH=str(Path(winmigrate.__file__).parents[1]))
    proc = subprocess.run([sys.executable, "-c", TRUNCATE, str(path), str(cut)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)  # 135 would be SIGBUS
    assert proc.stdout.startswith("error HiveFileError"), proc.stdout
    assert "changed while it was being read" in proc.stdout and str(path) in proc.stdout


def test_a_file_rewritten_in_place_under_a_reader_is_an_error(tmp_path: Path,
                                                              big_hive: bytes) -> None:
    path = tmp_path / "BIG"
    path.write_bytes(big_hive)
    with winmigrate.open(path) as hive:
        assert hive.key("Key0001").get("value1")
        with open(path, "r+b") as f:  # same size, other bytes: another program writing it
            f.seek(3 << 20)
            f.write(b"\xff" * 4096)
            os.utime(f.fileno(), ns=(0, os.fstat(f.fileno()).st_mtime_ns + 10**9))
        with pytest.raises(winmigrate.HiveFileError, match="modified in place"):
            for key in hive.walk():
                [v.raw for v in key.values()]


def test_a_point_lookup_reads_a_small_part_of_a_large_file(tmp_path: Path,
                                                          big_hive: bytes) -> None:
    """What a memory mapping gave, kept: the memory a lookup needs does not grow with the
    file."""
    path = tmp_path / "BIG"
    path.write_bytes(big_hive)
    with winmigrate.open(path) as hive:
        assert hive.key("Key0150").get("value7") == bytes([150, 7]) * 300
        pager = hive._pager
        assert pager is not None and not pager.complete
        read = sum(1 for page in pager.pages if page) * pager.CHUNK
        assert read < len(big_hive) // 8, (read, len(big_hive))
        # A walk reads it all, in a few large reads, and still matches a whole read.
        keys = sum(1 for _ in hive.walk())
        assert pager.complete and hive._img.pages is None and keys == 301
    with winmigrate.Hive.from_bytes(big_hive) as whole, winmigrate.open(path) as paged:
        assert [(k.path, [v.raw for v in k.values()]) for k in whole.walk()] == [
            (k.path, [v.raw for v in k.values()]) for k in paged.walk()]


def test_stale_temporaries_of_this_hive_go_with_a_writable_open(tmp_path: Path) -> None:
    target = tmp_path / "SYSTEM"
    target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    ours = [".SYSTEM.0123456789ab.tmp", ".SYSTEM.bak.abcdef012345.tmp",
            ".SYSTEM.LOG1.bak.00ff00ff00ff.tmp"]
    theirs = [".SYSTEM2.0123456789ab.tmp", ".OTHER.0123456789ab.tmp", "SYSTEM.tmp",
              ".SYSTEM.notours.tmp"]
    for name in ours + theirs:
        (tmp_path / name).write_bytes(b"left by a killed save")
    with winmigrate.open(target):  # read-only: no lock, nothing removed
        pass
    assert all((tmp_path / n).exists() for n in ours)
    with winmigrate.open(target, writable=True):
        pass
    assert not any((tmp_path / n).exists() for n in ours)
    assert all((tmp_path / n).exists() for n in theirs)


def test_a_full_disk_during_the_backup_keeps_the_previous_backup(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    """The new backup is written aside before the old one is touched."""
    import errno

    target = tmp_path / "SYSTEM"
    target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    with winmigrate.open(target, writable=True) as hive:
        hive.root.create_key("First")
        hive.save(backup=True)
    previous = (tmp_path / "SYSTEM.bak").read_bytes()
    with winmigrate.open(target, writable=True) as hive:
        hive.root.create_key("Second")
        real = os.write

        def full(fd: int, data: object) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "write", full)
        with pytest.raises(winmigrate.HiveFileError, match="previous backups are unchanged"):
            hive.save(backup=True)
        monkeypatch.setattr(os, "write", real)
    assert (tmp_path / "SYSTEM.bak").read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SYSTEM", "SYSTEM.bak"]
