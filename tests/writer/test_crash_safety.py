"""A save interrupted at any point leaves either the old hive or the new one -- never a mixture,
never a half-written file, never a stray temporary file."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import FIXTURES

SAVER = r"""
import sys, winmigrate
path = sys.argv[1]
for i in range(1, 100000):
    with winmigrate.open(path, writable=True) as hive:
        key = hive.key("Types")
        key.set_value("counter", i)
        key.set_value("payload", raw=bytes([i % 256]) * (i % 5000))
        hive.save()
    print(i, flush=True)
"""


def _state(path: Path) -> int:
    """The counter of a hive that must be complete and consistent."""
    with winmigrate.open(path) as hive:
        assert not hive.dirty
        report = hive.check()
        assert report.ok, report
        key = hive.key("Types")
        counter = key.get("counter", 0)
        payload = key.get("payload", b"")
        if counter:
            assert payload == bytes([counter % 256]) * (counter % 5000)
        return int(counter)


def test_sigkill_during_saves(tmp_path: Path) -> None:
    target = tmp_path / "hive"
    target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    rng = random.Random(7)
    kills = saves = 0
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    env = dict(os.environ, PYTHONPATH=str(Path(winmigrate.__file__).parents[1]))
    while kills < 25:
        before = _state(target)
        proc = subprocess.Popen([sys.executable, str(script), str(target)],
                                stdout=subprocess.PIPE, text=True, env=env)
        time.sleep(0.15 + rng.random() * 0.4)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        done = [int(x) for x in out.split()]
        kills += 1
        saves += len(done)
        after = _state(target)
        # Either the last save that reported success, or the one in flight when killed.
        last = done[-1] if done else before
        assert after in (last, last + 1), (before, last, after)
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        for name in leftovers:  # a killed save may leave its temporary file (never the target)
            (tmp_path / name).unlink()
        # Restart the numbering from what is on disk: the next run counts from 1 again, so
        # compare only within a run.
        target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    assert saves > 100


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace", "fchmod"])
def test_injected_failures_leave_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              fail_at: str) -> None:
    target = tmp_path / "hive"
    original = (FIXTURES / "types_1_5.hiv").read_bytes()
    target.write_bytes(original)
    hive = winmigrate.open(target, writable=True)
    hive.root.create_key("Changed").set_value("v", b"x" * 100_000)
    real = getattr(os, fail_at)

    def failing(*args: object, **kwargs: object) -> object:
        if fail_at == "write":  # a disk that fills up half-way through the file
            failing.calls += 1  # type: ignore[attr-defined]
            if failing.calls > 1:  # type: ignore[attr-defined]
                raise OSError(errno.ENOSPC, "No space left on device")
        else:
            raise OSError(errno.EIO, "Input/output error")
        return real(*args, **kwargs)

    failing.calls = 0  # type: ignore[attr-defined]
    monkeypatch.setattr(os, fail_at, failing)
    with pytest.raises(winmigrate.HiveFileError) as e:
        hive.save()
    monkeypatch.undo()
    assert e.value.filename == str(target)
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hive"]
    hive.save()  # the same hive saves fine once the disk is back
    hive.close()
    assert winmigrate.open(target).key("Changed").get("v") == b"x" * 100_000


def test_exception_between_writes_in_a_transaction(tmp_path: Path) -> None:
    target = tmp_path / "hive"
    original = (FIXTURES / "types_1_5.hiv").read_bytes()
    target.write_bytes(original)
    with winmigrate.open(target, writable=True) as hive:
        with pytest.raises(KeyError):
            with hive.transaction():
                hive.root.create_key("Half")
                raise KeyError("interrupted")
        hive.save()
    with winmigrate.open(target) as hive:
        assert hive.get_key("Half") is None


def test_saving_to_a_read_only_folder_fails_cleanly(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "hive"
    original = (FIXTURES / "deep.hiv").read_bytes()
    target.write_bytes(original)
    hive = winmigrate.open(target, writable=True)
    hive.root.create_key("x")

    def refuse(*args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EROFS, "Read-only file system")

    from winmigrate.hive import files

    monkeypatch.setattr(files, "create_temporary", refuse)
    with pytest.raises(winmigrate.HiveFileError) as e:
        hive.save()
    assert "Read-only" in str(e.value)
    assert target.read_bytes() == original
    hive.close()


@pytest.mark.parametrize("writer", ["hive.save", "cli export"])
def test_durable_order_file_fsync_rename_folder_fsync(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     writer: str) -> None:
    """What makes an atomic write survive a power cut, in order: the new file's data is fsynced,
    the file is renamed over the target, and the folder is fsynced so the rename is on disk.
    Both writers share the mechanism (``save.create_temporary``, ``save.fsync_folder``)."""
    import stat

    from winmigrate.cli import main

    target = tmp_path / ("hive" if writer == "hive.save" else "out.reg")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        if os.fspath(dst) == str(target):
            events.append("rename")
        real_replace(src, dst)

    if writer == "hive.save":
        target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
        hive = winmigrate.open(target, writable=True)
        hive.root.create_key("Changed")
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        hive.save()
        monkeypatch.undo()
        hive.close()
    else:
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        assert main(["export", str(FIXTURES / "types_1_5.hiv"), "-o", str(target)]) == 0
        monkeypatch.undo()
    assert events == ["fsync file", "rename", "fsync folder"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
