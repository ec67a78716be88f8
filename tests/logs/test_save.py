"""Saving after recovery: a clean primary, logs emptied, and stale logs that can never undo the save
(even when they are not emptied); a dirty hive whose logs were not replayed cannot be changed."""

from __future__ import annotations

import random
import shutil
import struct
from pathlib import Path

import pytest

import winmigrate
from tests.logs.builders import Entry, Files, build_new_log, set_sequences, xor_checksum
from tests.logs.conftest import small_hive_bytes
from winmigrate.errors import DirtyHiveError
from winmigrate.hive.logs import log_sequence_floor


def copy_case(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if "Recovered" not in f.name:
            shutil.copy(f, dst / f.name)
    return dst


def assert_clean_file(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    seq1, seq2 = struct.unpack_from("<II", data, 4)
    assert seq1 == seq2
    assert struct.unpack_from("<I", data, 508)[0] == xor_checksum(data)
    return seq1, seq2


def force_dirty(path: Path) -> None:
    """Make a saved primary look interrupted (primary sequence one ahead), checksum still right:
    the state in which Windows, or any tool, goes looking for log entries to apply."""
    data = bytearray(path.read_bytes())
    seq = struct.unpack_from("<I", data, 8)[0]
    set_sequences(data, seq + 1, seq)
    path.write_bytes(bytes(data))


def content(hive: winmigrate.Hive) -> list[tuple[str, tuple[tuple[str, int, bytes], ...]]]:
    return [(key.path, tuple((v.name, v.type_number, v.raw) for v in key.values()))
            for key in hive.walk()]


@pytest.mark.parametrize(("case", "primary"), [("NewDirtyHive1", "NewDirtyHive"),
                                               ("OldDirtyHive", "OldDirtyHive")])
def test_saved_primary_wins_over_old_logs(yarp: Path, tmp_path: Path, monkeypatch:
                                          pytest.MonkeyPatch, case: str, primary: str) -> None:
    for reset in (True, False):
        folder = copy_case(yarp / case, tmp_path / f"{case}-{reset}")
        path = folder / primary
        with winmigrate.open(path, writable=True) as hive:
            report = hive.recovery
            assert report is not None and report.applied
            floor = report.sequence_floor
            hive.root.create_key("SavedByWinmigrate").set_value("v", "after recovery")
            if not reset:  # simulate a save whose final emptying of its journal failed
                from winmigrate.hive import journal

                def keep_the_journal(step: str) -> None:
                    if step == "primary-clean":
                        monkeypatch.setattr(journal, "_empty", lambda path: None)

                monkeypatch.setattr(journal, "_after_step", keep_the_journal)
            hive.save()
            monkeypatch.undo()
            saved = content(hive)
        seq, _ = assert_clean_file(path)
        # Rule 1: the save is numbered past every log entry and log base block found.
        assert seq > floor
        logs_after = {f.name: f.read_bytes() for f in folder.iterdir() if f.name != primary}
        if reset:
            # Rule 2: the sibling logs are emptied, as a cleanly unloaded hive leaves them.
            assert all(data == b"" for data in logs_after.values())
        else:
            # The journal of the save stays: its entry is numbered like the clean primary, so
            # no reader replays it (the primary is clean) -- and the old logs are gone.
            assert any(logs_after.values())
        # Reopened next to the logs, as Windows finds it at boot: the saved content.
        with winmigrate.open(path, logs="auto") as hive:
            assert content(hive) == saved
            assert hive.recovery is None  # clean: no log is even looked at
        # Even if the saved primary were found dirty next to what the save left in its logs,
        # nothing older comes back: the journal, if still there, holds the saved pages.
        force_dirty(path)
        with winmigrate.open(path, logs="auto") as hive:
            report = hive.recovery
            assert report is not None
            assert content(hive) == saved
            assert report.applied == (not reset)  # an emptied journal gives nothing to apply


def test_backup_keeps_the_logs(yarp: Path, tmp_path: Path) -> None:
    folder = copy_case(yarp / "NewDirtyHive1", tmp_path / "b")
    path = folder / "NewDirtyHive"
    originals = {f.name: f.read_bytes() for f in folder.iterdir()}
    with winmigrate.open(path, writable=True) as hive:
        hive.root.create_key("x")
        hive.save(backup=True)
    for name, data in originals.items():
        assert (folder / f"{name}.bak").read_bytes() == data
    assert (folder / "NewDirtyHive.LOG1").read_bytes() == b""
    assert (folder / "NewDirtyHive.LOG2").read_bytes() == b""
    # The backups reproduce the original dirty state, logs included.
    with winmigrate.open(folder / "NewDirtyHive.bak", logs=[
            str(folder / "NewDirtyHive.LOG1.bak"), str(folder / "NewDirtyHive.LOG2.bak")]) as h:
        assert h.recovery is not None and h.recovery.entries_applied == (2, 3, 4, 5)


def test_dirty_hive_with_logs_ignored_is_read_only(yarp: Path, tmp_path: Path) -> None:
    folder = copy_case(yarp / "NewDirtyHive1", tmp_path / "i")
    path = folder / "NewDirtyHive"
    with winmigrate.open(path, writable=True, logs="ignore") as hive:
        assert hive.dirty and hive.recovery is None
        assert hive.get_key("Key1") is not None  # the primary's own (older) state
        with pytest.raises(DirtyHiveError):
            hive.root.set_value("v", 1)
        with pytest.raises(DirtyHiveError):
            hive.root.create_key("k")
        with pytest.raises(DirtyHiveError):
            hive.save()
    with winmigrate.open(path, writable=True) as hive:  # with its logs it can be saved
        assert hive.dirty and hive.recovery is not None and hive.recovery.applied
        hive.save()
    assert assert_clean_file(path)[0] == 6  # entries up to 5 were replayed; the save is 6


def test_recovered_read_only_open_keeps_files(yarp: Path, tmp_path: Path) -> None:
    folder = copy_case(yarp / "NewDirtyHive1", tmp_path / "r")
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    with winmigrate.open(folder / "NewDirtyHive") as hive:
        assert hive.recovery is not None and hive.recovery.applied
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before


def _clean_primary_with_newer_logs(folder: Path) -> Path:
    small = small_hive_bytes()
    bins = struct.unpack_from("<I", small, 40)[0]
    rng = random.Random(4)
    entries = [Entry(s, bins, [(4096, rng.randbytes(4096))]) for s in (5, 6, 7)]
    return Files(folder).write(small, {"LOG1": build_new_log(small, entries)})


def test_log_sequence_floor_of_a_clean_primary(tmp_path: Path) -> None:
    path = _clean_primary_with_newer_logs(tmp_path)
    assert log_sequence_floor(path) == 7


def test_clean_primary_save_is_numbered_past_stale_logs(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = _clean_primary_with_newer_logs(tmp_path)
    monkeypatch.setattr("winmigrate.hive.logs.reset.reset_logs", lambda _path: [])
    with winmigrate.open(path, writable=True) as hive:
        hive.root.create_key("x")
        hive.save()
    assert assert_clean_file(path)[0] > 7
