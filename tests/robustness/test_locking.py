"""A writable open takes an exclusive advisory lock: a second writer (in this process or another)
gets a clear HiveLockedError, readers are never blocked, and the lock covers the whole life of the
writable hive -- every step of its saves included -- and goes with close(). A save to another
file takes that file's lock, or refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import winmigrate
from tests.fuzz.seeds import build_system

HOLDER = r"""
import sys, winmigrate
hive = winmigrate.open(sys.argv[1], writable=True)
print("locked", flush=True)
sys.stdin.readline()        # hold the lock until told to go
hive.root.create_key("FromHolder")
hive.save()
print("saved", flush=True)
sys.stdin.readline()
hive.close()
"""


@pytest.fixture
def hive_path(tmp_path: Path) -> Path:
    path = tmp_path / "SYSTEM"
    path.write_bytes(build_system((1, 5), sets=(1,), extras=False))
    return path


@pytest.fixture
def holder(hive_path: Path, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the hive open for writing."""
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    env = dict(os.environ, PYTHONPATH=str(Path(winmigrate.__file__).parents[1]))
    proc = subprocess.Popen([sys.executable, str(script), str(hive_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def _assert_locked_message(err: winmigrate.HiveLockedError, path: Path) -> None:
    text = str(err)
    assert str(path) in text
    assert "open for writing" in text


def test_second_writer_in_the_same_process(hive_path: Path) -> None:
    with winmigrate.open(hive_path, writable=True):
        with pytest.raises(winmigrate.HiveLockedError) as e:
            winmigrate.open(hive_path, writable=True)
        _assert_locked_message(e.value, hive_path)
        assert isinstance(e.value, winmigrate.WinmigrateError)
    with winmigrate.open(hive_path, writable=True) as hive:  # released by close()
        assert hive.writable


def test_readers_are_not_blocked_by_a_writer(hive_path: Path) -> None:
    with winmigrate.open(hive_path, writable=True) as writer:
        writer.root.create_key("Pending")
        with winmigrate.open(hive_path) as reader:
            assert reader.get_key("Select") is not None
            assert reader.get_key("Pending") is None  # unsaved changes are not on disk
        with winmigrate.open(hive_path, strict=False) as reader:
            assert reader.check().ok


def test_a_failed_lock_leaves_no_descriptor_behind(hive_path: Path) -> None:
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("needs /proc/self/fd")
    with winmigrate.open(hive_path, writable=True):
        before = len(list(fd_dir.iterdir()))
        for _ in range(20):
            with pytest.raises(winmigrate.HiveLockedError):
                winmigrate.open(hive_path, writable=True)
        assert len(list(fd_dir.iterdir())) == before


def test_the_lock_survives_a_save(hive_path: Path) -> None:
    """A save writes the file in place, through the descriptor that holds the lock: a second
    writer is still kept out, and a reader sees the saved content."""
    with winmigrate.open(hive_path, writable=True) as hive:
        hive.root.create_key("Saved")
        hive.save()
        with pytest.raises(winmigrate.HiveLockedError):
            winmigrate.open(hive_path, writable=True)
        with winmigrate.open(hive_path) as reader:
            assert reader.get_key("Saved") is not None
        hive.root.create_key("Again")
        hive.save()
        with pytest.raises(winmigrate.HiveLockedError):
            winmigrate.open(hive_path, writable=True)
    with winmigrate.open(hive_path, writable=True) as hive:
        assert hive.get_key("Again") is not None


def test_lock_false_opts_out(hive_path: Path) -> None:
    with winmigrate.open(hive_path, writable=True):
        with winmigrate.open(hive_path, writable=True, lock=False) as other:
            assert other.writable


def test_another_process_holding_the_hive(hive_path: Path,
                                          holder: subprocess.Popen[str]) -> None:
    with pytest.raises(winmigrate.HiveLockedError) as e:
        winmigrate.open(hive_path, writable=True)
    _assert_locked_message(e.value, hive_path)
    with winmigrate.open(hive_path) as reader:  # readers go on
        assert reader.get_key("Select") is not None
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "saved"
    # Still locked after the holder's save (it re-locked the new file) ...
    with pytest.raises(winmigrate.HiveLockedError):
        winmigrate.open(hive_path, writable=True)
    with winmigrate.open(hive_path) as reader:
        assert reader.get_key("FromHolder") is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait(timeout=30)
    # ... and free once it is gone.
    with winmigrate.open(hive_path, writable=True) as hive:
        assert hive.get_key("FromHolder") is not None


def test_a_killed_holder_releases_the_lock(hive_path: Path,
                                           holder: subprocess.Popen[str]) -> None:
    with pytest.raises(winmigrate.HiveLockedError):
        winmigrate.open(hive_path, writable=True)
    holder.kill()
    holder.wait(timeout=30)
    with winmigrate.open(hive_path, writable=True) as hive:
        assert hive.writable


def test_the_lock_holds_at_every_step_of_a_save(hive_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministically, between every two steps of the journalled save, a second writer is
    refused -- there is no moment (as the old rename-then-relock had) when it could slip in."""
    from winmigrate.hive import journal

    seen: list[str] = []

    def intruder(step: str) -> None:
        seen.append(step)
        with pytest.raises(winmigrate.HiveLockedError):
            winmigrate.open(hive_path, writable=True)

    with winmigrate.open(hive_path, writable=True) as hive:
        hive.root.create_key("Saved").set_value("big", b"b" * 100_000)
        monkeypatch.setattr(journal, "_after_step", intruder)
        hive.save()
        hive.save(backup=True)
        monkeypatch.undo()
    assert seen.count("primary-clean") == 2 and "backup-renamed:SYSTEM.bak" in seen
    assert set(journal.STEPS) <= set(seen)


def test_saving_to_a_file_another_process_holds_is_refused(hive_path: Path, tmp_path: Path,
                                                         holder: subprocess.Popen[str]) -> None:
    """``save(path)`` onto a hive another process holds open writable: refused, the file
    untouched, and that process's own save later goes through."""
    before = hive_path.read_bytes()
    other = winmigrate.create()
    other.root.create_key("FromOther")
    with pytest.raises(winmigrate.HiveLockedError) as e:
        other.save(hive_path)
    _assert_locked_message(e.value, hive_path)
    assert hive_path.read_bytes() == before
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "saved"
    holder.stdin.write("go\n")
    holder.stdin.flush()
    holder.wait(timeout=30)
    with winmigrate.open(hive_path) as hive:
        assert hive.get_key("FromHolder") is not None and hive.get_key("FromOther") is None


def test_saving_over_another_hive_keeps_its_identity_and_lock_rules(hive_path: Path,
                                                                   tmp_path: Path) -> None:
    """``save(path)`` onto an existing hive that nobody holds: written in place (same inode),
    journalled through that file's logs."""
    target = tmp_path / "OTHER"
    target.write_bytes(build_system((1, 5), sets=(1,), extras=False))
    inode = os.stat(target).st_ino
    with winmigrate.open(hive_path, writable=True) as hive:
        hive.root.create_key("Copied")
        hive.save(target)
    assert os.stat(target).st_ino == inode
    with winmigrate.open(target) as copy:
        assert copy.get_key("Copied") is not None and not copy.dirty
