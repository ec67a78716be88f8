"""A save interrupted at any point leaves either the old hive or the new one -- never a mixture,
never a stray temporary file. A save over a hive file writes it in place, journalled through its
log (``winmigrate.hive.journal``): after a crash the file is the old hive, or a dirty one whose log
replays to the new hive, as Windows would replay it."""

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
    """The counter of a hive that must be complete and consistent: clean, or dirty with a log
    that brings it up to date."""
    with winmigrate.open(path) as hive:
        assert not hive.dirty or (hive.recovery is not None and hive.recovery.applied), (
            hive.recovery)
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
        stray = [p.name for p in tmp_path.iterdir()
                 if p.name not in ("hive", "hive.LOG1", "saver.py")]
        assert not stray, stray  # no temporary file: the hive is written in place
        # Restart the numbering from what is on disk: the next run counts from 1 again, so
        # compare only within a run.
        target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
        (tmp_path / "hive.LOG1").unlink(missing_ok=True)
    assert saves > 100


def _edited(target: Path) -> winmigrate.Hive:
    hive = winmigrate.open(target, writable=True)
    hive.root.create_key("Changed").set_value("v", b"x" * 100_000)  # grows the hive
    hive.key("Types").delete_value(hive.key("Types").values()[0].name)  # and changes a page
    return hive


@pytest.mark.parametrize("fail_at", ["pwrite", "fsync", "ftruncate", "open"])
def test_injected_failures_leave_the_old_or_the_new(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    fail_at: str) -> None:
    """An I/O error at every call of ``fail_at`` that the journalled save makes, one run each:
    ``HiveFileError`` naming the file, and the file is the old hive -- byte for byte, with no
    file added, when the primary was not yet touched ("unchanged") -- or one its log recovers to
    the new; the same hive saves fine afterwards."""
    original = (FIXTURES / "types_1_5.hiv").read_bytes()
    real = getattr(os, fail_at)
    counted = 0

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal counted
        counted += 1
        return real(*args, **kwargs)

    trial = tmp_path / "trial"
    trial.mkdir()
    (trial / "hive").write_bytes(original)
    hive = _edited(trial / "hive")
    monkeypatch.setattr(os, fail_at, counting)
    hive.save()
    monkeypatch.undo()
    hive.close()
    assert counted >= 1
    for call in range(1, counted + 1):
        _fail_at_call(tmp_path / f"call{call}", original, monkeypatch, fail_at, call)


def _fail_at_call(folder: Path, original: bytes, monkeypatch: pytest.MonkeyPatch,
                  fail_at: str, call: int) -> None:
    """One save of an edited hive with call number ``call`` of ``os.<fail_at>`` failing."""
    import stat

    from winmigrate.hive import journal

    real = getattr(os, fail_at)
    folder.mkdir()
    target = folder / "hive"
    target.write_bytes(original)
    hive = _edited(target)
    calls = 0
    stage = ""
    harmless = False  # a failure there is tolerated by design (see below)

    def failing(*args: object, **kwargs: object) -> object:
        nonlocal calls, harmless
        calls += 1
        if calls == call:
            # fsync of a folder is best effort (some filesystems refuse it), and once the
            # clean base block is on disk, emptying the journal is only tidying up.
            folder_call = (stat.S_ISDIR(os.fstat(args[0]).st_mode)  # type: ignore[arg-type]
                           if fail_at == "fsync" else
                           fail_at == "open" and os.path.isdir(args[0]))  # type: ignore[arg-type]
            harmless = stage == "primary-clean" or bool(folder_call)
            raise OSError(errno.EIO, "Input/output error")
        return real(*args, **kwargs)

    def step(name: str) -> None:
        nonlocal stage
        stage = name

    monkeypatch.setattr(os, fail_at, failing)
    monkeypatch.setattr(journal, "_after_step", step)
    try:
        hive.save()
        error = None
    except winmigrate.HiveFileError as exc:
        error = exc
    monkeypatch.undo()
    if error is None:
        assert harmless, call
        hive.close()
        with winmigrate.open(target) as after:
            assert not after.dirty and after.key("Changed").get("v") == b"x" * 100_000
        return
    assert error.filename == str(target), call
    with winmigrate.open(target) as after:
        assert after.check().ok
        changed = after.get_key("Changed")
        if changed is None:  # the old hive
            assert not after.dirty
            if "unchanged" in str(error):
                assert target.read_bytes() == original, call
                assert sorted(p.name for p in folder.iterdir()) == ["hive"], call
        else:  # the new one: through its log, or clean but maybe not yet durable
            assert not after.dirty or (after.recovery is not None
                                       and after.recovery.applied), call
            assert changed.get("v") == b"x" * 100_000
    hive.save()  # the same hive saves fine once the disk is back
    hive.close()
    with winmigrate.open(target) as again:
        assert not again.dirty and again.key("Changed").get("v") == b"x" * 100_000
    # A journal the failed save left for the recovery stays, empty, like Windows' own.
    assert {p.name for p in folder.iterdir()} <= {"hive", "hive.LOG1"}
    assert not (folder / "hive.LOG1").exists() or (folder / "hive.LOG1").stat().st_size == 0


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
    """A folder that refuses new files (EROFS; running as root, a chmod'ed folder would not
    stop us): the journal cannot be created, so nothing is written."""
    target = tmp_path / "hive"
    original = (FIXTURES / "deep.hiv").read_bytes()
    target.write_bytes(original)
    hive = winmigrate.open(target, writable=True)
    hive.root.create_key("x")
    real_open = os.open

    def refuse(path: str, flags: int, *args: object) -> int:
        if flags & os.O_CREAT:
            raise PermissionError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(winmigrate.HiveFileError) as e:
        hive.save()
    monkeypatch.undo()
    assert "Read-only" in str(e.value) and "unchanged" in str(e.value)
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hive"]
    hive.close()


@pytest.mark.parametrize("writer", ["hive.save(new path)", "cli export"])
def test_durable_order_file_fsync_rename_folder_fsync(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     writer: str) -> None:
    """What makes the write of a new file survive a power cut, in order: the new file's data is
    fsynced, the file is renamed into place, and the folder is fsynced so the rename is on disk.
    Both writers share the mechanism (``hive.files.create_temporary``, ``fsync_folder``)."""
    import stat

    from winmigrate.cli import main

    target = tmp_path / ("hive" if writer.startswith("hive") else "out.reg")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        if os.fspath(dst) == str(target):
            events.append("rename")
        real_replace(src, dst)

    if writer.startswith("hive"):
        hive = winmigrate.Hive.from_bytes((FIXTURES / "types_1_5.hiv").read_bytes(),
                                          writable=True)
        hive.root.create_key("Changed")
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        hive.save(target)
        monkeypatch.undo()
        hive.close()
    else:
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        assert main(["export", str(FIXTURES / "types_1_5.hiv"), "-o", str(target)]) == 0
        monkeypatch.undo()
    assert events == ["fsync file", "rename", "fsync folder"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("grow", [False, True])
def test_durable_order_of_a_journalled_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            grow: bool) -> None:
    """A save over the hive's own file: the journal is on disk before the primary is marked
    dirty, the mark before any page of the old hive is overwritten, the pages before the clean
    base block -- each step fsynced before the next begins."""
    import stat

    from winmigrate.hive import journal

    target = tmp_path / "hive"
    target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    events: list[str] = []
    real_fsync, real_pwrite = os.fsync, os.pwrite

    def name_of(fd: int) -> str:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            return "folder"
        return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))

    def fsync(fd: int) -> None:
        events.append(f"fsync {name_of(fd)}")
        real_fsync(fd)

    def pwrite(fd: int, data: object, offset: int) -> int:
        if not events or events[-1] != f"write {name_of(fd)}":
            events.append(f"write {name_of(fd)}")
        return real_pwrite(fd, data, offset)  # type: ignore[arg-type]

    with winmigrate.open(target, writable=True) as hive:
        hive.root.create_key("Changed").set_value("v", b"x" * (200_000 if grow else 10))
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "pwrite", pwrite)
        monkeypatch.setattr(journal, "_after_step", lambda step: events.append(step))
        hive.save()
        monkeypatch.undo()
    expected = ["consolidated", "logs-emptied",
                "write hive.LOG1", "fsync hive.LOG1", "fsync folder", "log-written",
                *(["write hive", "fsync hive"] if grow else []), "grown",
                "write hive", "fsync hive", "primary-dirty",
                "write hive", "fsync hive", "pages-written",
                "write hive", "fsync hive", "primary-clean",
                "fsync folder", "log-emptied"]
    assert events == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hive"]  # the journal it made: gone
