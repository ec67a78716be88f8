"""Real dirty hives: Windows' own recoveries (yarp's NewDirtyHive1 and OldDirtyHive), yarp's broken
logs, log discovery, and every other dirty hive with logs in the corpus (check(), key coverage,
independent readers)."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

import winmigrate
from winmigrate.errors import DirtyHiveError, LogReplayError
from winmigrate.hive.logs import find_logs, recover_file

BASE = 4096


def content(hive: winmigrate.Hive) -> list[tuple[str, tuple[tuple[str, int, bytes], ...]]]:
    """Every key path with its values (name, type, raw bytes), in stored order."""
    return [(key.path, tuple((v.name, v.type_number, v.raw) for v in key.values()))
            for key in hive.walk()]


# -- Windows' own recoveries ------------------------------------------------------------------


def test_new_dirty_hive_matches_windows_10(yarp: Path) -> None:
    folder = yarp / "NewDirtyHive1"
    with winmigrate.open(folder / "NewDirtyHive") as hive, \
            winmigrate.open(folder / "RecoveredHive_Windows10") as windows:
        report = hive.recovery
        assert report is not None and report.applied and report.format == "new"
        # Entry 2 from LOG1, 3-5 from LOG2: the four entries yarp's test counts.
        assert report.entries_applied == (2, 3, 4, 5)
        assert [log.entries_applied for log in report.logs] == [(2,), (3, 4, 5)]
        assert content(hive) == content(windows)
        assert hive.get_key("Key1") is None and hive.get_key("Key3\\Key3_3") is not None
        assert hive.check().ok
    # Byte for byte too: the hive bins equal what Windows 10 wrote (yarp asserts the same).
    image, report = recover_file(folder / "NewDirtyHive")
    reference = (folder / "RecoveredHive_Windows10").read_bytes()
    assert report.bins_size_after is not None
    end = BASE + report.bins_size_after
    assert image[BASE:end] == reference[BASE:end]


def test_old_dirty_hive_matches_windows_7(yarp: Path) -> None:
    folder = yarp / "OldDirtyHive"
    with winmigrate.open(folder / "OldDirtyHive") as hive, \
            winmigrate.open(folder / "RecoveredHive_Windows7") as windows:
        report = hive.recovery
        assert report is not None and report.applied and report.format == "old"
        assert [log.used for log in report.logs] == [True, False]  # LOG1; LOG2 is empty
        assert content(hive) == content(windows)
        assert hive.get_key("key_with_many_subkeys\\1") is None
        assert hive.key("key_with_many_subkeys\\4500").get("V") == ["a", "bb", "ccc"]
        assert hive.check().ok
    # Windows 7 rewrote the hive after loading it: the bins differ only in the first bin's
    # timestamp (a completed write refreshes it) and in the cached "largest value name length"
    # of key 4500 (0x18 from the log, 2 after Windows recomputed it).
    image, report = recover_file(folder / "OldDirtyHive")
    reference = (folder / "RecoveredHive_Windows7").read_bytes()
    assert report.bins_size_after is not None
    diff = [i for i in range(BASE, BASE + report.bins_size_after) if image[i] != reference[i]]
    assert diff[:5] == list(range(BASE + 20, BASE + 25))
    assert len(diff) == 6


# -- yarp's broken logs -------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "reason"), [
    # Old-format LOG1 whose base block checksum is wrong. yarp: AutoRecoveryException (no log
    # can be applied). Windows does not trust such a log either (base block note 2).
    ("BadLogHive1", "base block checksum mismatch"),
    # Old-format LOG1 whose dirty vector signature is "INVL" instead of "DIRT". yarp:
    # AutoRecoveryException.
    ("BadLogHive2", "dirty vector signature b'INVL'"),
    # New-format LOG1 and LOG2 (the NewDirtyHive1 logs) with broken base block checksums: neither
    # log is valid, so no entry can be applied. yarp: AutoRecoveryException.
    ("BadLogHive3", "base block checksum mismatch"),
])
def test_bad_logs_are_not_applied(yarp: Path, tmp_path: Path, case: str, reason: str) -> None:
    primary = yarp / case / "BadLogHive"
    with winmigrate.open(primary) as hive:
        report = hive.recovery
        assert report is not None
        assert report.primary_dirty and not report.applied
        assert any(reason in r.reason and r.kind == "invalid" for r in report.rejected)
        assert reason in report.summary()
        assert hive.dirty
        hive.root.subkeys()  # still readable as the primary stands
    with pytest.raises(LogReplayError, match=reason.split("'")[0]):
        winmigrate.open(primary, logs="require")
    copy = tmp_path / "BadLogHive"
    for f in (yarp / case).iterdir():
        shutil.copy(f, tmp_path / f.name)
    with winmigrate.open(copy, writable=True) as hive:
        with pytest.raises(DirtyHiveError):
            hive.root.set_value("x", 1)
        with pytest.raises(DirtyHiveError):
            hive.save()


def test_bad_base_block_is_recovered_from_the_log(yarp: Path) -> None:
    """yarp's BadBaseBlockHive: the primary's base block has a wrong checksum (and a bogus minor
    version 1); LOG1 (old format) holds a valid copy. yarp recovers it from LOG1 (version 3)."""
    with winmigrate.open(yarp / "BadBaseBlockHive" / "BadBaseBlockHive") as hive:
        report = hive.recovery
        assert report is not None and report.applied
        assert report.base_block_from == "BadBaseBlockHive.LOG1"
        assert hive.version == (1, 3)
        assert hive.get_key("key_with_many_subkeys") is not None
        assert hive.check().ok
    with winmigrate.open(yarp / "OldDirtyHive" / "OldDirtyHive") as same, \
            winmigrate.open(yarp / "BadBaseBlockHive" / "BadBaseBlockHive") as hive:
        assert content(hive) == content(same)


@pytest.mark.parametrize(("case", "primary", "expected"), [
    ("1", "aa", ["aa.LOG", "aa.LOG1", "aa.LOG2"]),
    ("2", "AA", ["aa.LOG1", "aa.LOG2"]),
    ("3", "AA", ["aa.log", "aa.log1"]),
    ("4", "AA", ["aa.LOG", "aa.log1", "aa.log2"]),
    ("5", "aa", []),
])
def test_discovery(yarp: Path, case: str, primary: str, expected: list[str]) -> None:
    found = find_logs(yarp / "Discovery" / case / primary)
    assert [os.path.basename(p) for p in found] == expected


# -- every other dirty hive with logs -------------------------------------------------------


def dirty_hives_with_logs(corpus: Path) -> list[str]:
    out = []
    for root, _dirs, files in os.walk(corpus):
        for name in files:
            if name.lower().rsplit(".", 1)[-1] in ("log", "log1", "log2"):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                head = f.read(512)
            if len(head) < 512 or head[:4] != b"regf" or not find_logs(path):
                continue
            s1, s2 = struct.unpack_from("<II", head, 4)
            csum = 0
            for (w,) in struct.iter_unpack("<I", head[:508]):
                csum ^= w
            if s1 != s2 or struct.unpack_from("<I", head, 508)[0] != csum:
                out.append(os.path.relpath(path, corpus))
    return sorted(out)


CORPUS_DIRTY = [
    "AndrewRathbun_DFIRArtifactMuseum/Windows/Amcache/Server2022/APTSimulatorVM/"
    "APTSimulatorVM_Amcache_Server2022/Amcache.hve",
    "AndrewRathbun_DFIRArtifactMuseum/Windows/Amcache/Win10/APTSimulatorVM/Amcache.hve",
    "AndrewRathbun_DFIRArtifactMuseum/Windows/Amcache/Win10/RathbunVM/Amcache.hve",
    "AndrewRathbun_DFIRArtifactMuseum/_history/a32aa47e43/Windows/Registry/Win10/RathbunVM/BBI",
    "AndrewRathbun_DFIRArtifactMuseum/_history/a32aa47e43/Windows/Registry/Win10/RathbunVM/"
    "DEFAULT",
    "AndrewRathbun_DFIRArtifactMuseum/_history/a32aa47e43/Windows/Registry/Win10/RathbunVM/"
    "LocalService/NTUSER.DAT",
    "AndrewRathbun_DFIRArtifactMuseum/_history/a32aa47e43/Windows/Registry/Win10/RathbunVM/"
    "NTUSER.DAT",
    "AndrewRathbun_DFIRArtifactMuseum/_history/a32aa47e43/Windows/Registry/Win10/RathbunVM/"
    "NetworkService/NTUSER.DAT",
    "AndrewRathbun_DFIRArtifactMuseum/_history/a32aa47e43/Windows/Registry/Win10/RathbunVM/"
    "SECURITY",
    "AndrewRathbun_DFIRArtifactMuseum/_history/a32aa47e43/Windows/Registry/Win10/RathbunVM/"
    "UsrClass.dat",
    "dfir-dd_dfir-toolkit/tests/data/hivescan/NewDirtyHive1/NewDirtyHive",
    "dfir-dd_nt-hive2/tests/data/NewDirtyHive1/NewDirtyHive",
    "mkorman90_regipy/regipy_tests/data/SYSTEM_B",
    "mkorman90_regipy/regipy_tests/data/UsrClass.dat",
    "mkorman90_regipy/regipy_tests/data/transactions_NTUSER.DAT",
    "msuhanov_yarp/hives_for_tests/BadBaseBlockHive/BadBaseBlockHive",
    "msuhanov_yarp/hives_for_tests/NewDirtyHive1/NewDirtyHive",
    "msuhanov_yarp/hives_for_tests/OldDirtyHive/OldDirtyHive",
]
# yarp's deliberately broken logs: nothing can be applied (tested above).
CORPUS_UNRECOVERABLE = [f"msuhanov_yarp/hives_for_tests/BadLogHive{i}/BadLogHive"
                        for i in (1, 2, 3)]


def test_the_list_is_every_dirty_hive_with_logs(corpus: Path) -> None:
    assert dirty_hives_with_logs(corpus) == sorted(CORPUS_DIRTY + CORPUS_UNRECOVERABLE)


@pytest.mark.parametrize("rel", CORPUS_DIRTY)
def test_corpus_dirty_hive(corpus: Path, tmp_path: Path, rel: str) -> None:
    path = corpus / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in the corpus")
    original = path.read_bytes()
    image, report = recover_file(path)
    assert report.applied, report.summary()
    assert not any(r.kind == "invalid" for r in report.rejected), report.rejected
    assert report.bins_size_after is not None
    hive = winmigrate.Hive.from_bytes(image)
    assert not hive.dirty
    check = hive.check()
    assert check.ok, str(check)
    # At least the keys of the unrecovered primary, except keys that the logs delete: such a
    # key's node cell is freed, so it lies in a 4 KiB page that the replay rewrote.
    changed = {(i - BASE) // 4096 for i in range(BASE, min(len(original), len(image)), 4096)
               if original[i:i + 4096] != image[i:i + 4096]}
    recovered = {key.path.upper() for key in hive.walk()}
    with winmigrate.open(path, logs="ignore", strict=False) as before:
        for key in before.walk():
            if key.path.upper() not in recovered:
                assert key.offset // 4096 in changed, f"{key.path} vanished untouched"
    # The image as a file: the reader, hivex and python-registry accept it.
    out = tmp_path / "recovered"
    out.write_bytes(bytes(image[:BASE + report.bins_size_after]))
    with winmigrate.open(out) as reread:
        assert reread.recovery is None and not reread.dirty
    _oracles(out, len(recovered))


def _oracles(path: Path, keys: int) -> None:
    try:
        from tests.oracles import (
            hivexml_available,
            hivexml_ok,
            python_registry_available,
            python_registry_dump,
        )
    except ImportError:
        return
    if hivexml_available():
        assert hivexml_ok(path) is True
    if python_registry_available():
        assert python_registry_dump(path).counts()[0] == keys


def test_system_b_python_registry(corpus: Path, tmp_path: Path) -> None:
    path = corpus / "mkorman90_regipy/regipy_tests/data/SYSTEM_B"
    if not path.is_file():
        pytest.skip("SYSTEM_B is not in the corpus")
    from tests.oracles import python_registry_available, python_registry_dump

    if not python_registry_available():
        pytest.skip("python-registry is not installed")
    image, report = recover_file(path)
    assert report.bins_size_after is not None
    out = tmp_path / "SYSTEM_B.recovered"
    out.write_bytes(bytes(image[:BASE + report.bins_size_after]))
    with winmigrate.open(out) as hive:
        keys = sum(1 for _ in hive.walk())
    assert python_registry_dump(out).counts()[0] == keys == 35595


def test_system_b(corpus: Path) -> None:
    """regipy's SYSTEM_B (Windows 10 1709): 1622/1621 in the primary, LOG1 from 2107, LOG2 from
    2111; all 24 entries apply, the hive grows from 0xbd3000 to 0xc02000 bytes of bins."""
    path = corpus / "mkorman90_regipy/regipy_tests/data/SYSTEM_B"
    if not path.is_file():
        pytest.skip("SYSTEM_B is not in the corpus")
    with winmigrate.open(path) as hive:
        report = hive.recovery
        assert report is not None
        assert report.entries_applied == tuple(range(2107, 2131))
        assert (report.bins_size_before, report.bins_size_after) == (0xBD3000, 0xC02000)
        assert hive.sequence == (2130, 2130)
        assert hive.current_control_set == "ControlSet001"
