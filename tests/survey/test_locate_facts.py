"""What a survey finds (discovery, kinds) and what it says about each hive (facts)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import FIXTURES, manifest_rows, require_corpus
from winmigrate.survey.facts import hive_facts, normalize_architecture
from winmigrate.survey.kinds import detect_kind, kind_from_name
from winmigrate.survey.locate import discover, guest_root_of, is_guest_root
from winmigrate.survey.schema import FACTS_COLUMNS
from winmigrate.survey.worker import HiveTask, ScanOptions, file_digest, survey_hive


def _rel(root: Path, path: str | None) -> str | None:
    return None if path is None else os.path.relpath(path, root)


def test_discovery_pairs_logs_finds_siblings_and_guest_roots(survey_tree: Path) -> None:
    tasks = {_rel(survey_tree, t.path): t for t in discover([survey_tree])}
    win7 = "guests/win7/Windows/System32/config/"
    assert set(tasks) == {
        *(f"guests/{g}/Users/bob/NTUSER.DAT" for g in ("xp", "win7", "2008r2", "win10", "2019")),
        win7 + "SYSTEM", win7 + "SOFTWARE", "guests/xp/WINDOWS/system32/config/system",
        "guests/xp/WINDOWS/system32/config/software",
        "guests/2008r2/Windows/system32/CONFIG/SYSTEM",
        "guests/2008r2/Windows/system32/CONFIG/SOFTWARE",
        "guests/win10/Windows/System32/config/SYSTEM",
        "guests/win10/Windows/System32/config/SOFTWARE",
        "guests/2019/Windows/SYSTEM32/config/SYSTEM",
        "guests/2019/Windows/SYSTEM32/config/SOFTWARE",
        "loose/SYSTEM", "loose/software", "loose/types.hiv", "loose/many.dat",
        "loose/orphan.LOG1", "loose/broken.hiv"}  # no notes.txt, empty.dat, logs, stray.hiv
    system = tasks[win7 + "SYSTEM"]
    assert [_rel(survey_tree, p) for p in system.logs] == [win7 + "SYSTEM.LOG1",
                                                          win7 + "SYSTEM.LOG2"]
    assert _rel(survey_tree, system.software) == win7 + "SOFTWARE"
    assert _rel(survey_tree, system.guest) == "guests/win7"
    assert tasks[win7 + "SOFTWARE"].software is None
    xp = tasks["guests/xp/WINDOWS/system32/config/system"]
    assert [os.path.basename(p) for p in xp.logs] == ["system.LOG"]
    assert _rel(survey_tree, xp.software) == "guests/xp/WINDOWS/system32/config/software"
    assert [os.path.basename(p) for p in tasks["guests/xp/Users/bob/NTUSER.DAT"].logs] == [
        "ntuser.dat.LOG1"]
    assert tasks["loose/SYSTEM"].guest is None
    assert _rel(survey_tree, tasks["loose/SYSTEM"].software) == "loose/software"


def test_deep_search_and_explicit_files(survey_tree: Path) -> None:
    deep = {_rel(survey_tree, t.path) for t in discover([survey_tree], deep=True)}
    assert "guests/win10/Program Files/stray.hiv" in deep
    # files named on the command line are always tasks, hives or not; no path twice
    named = [survey_tree / "loose" / "notes.txt", survey_tree / "loose" / "notes.txt",
             survey_tree / "guests" / "win7" / "Users" / "bob" / "NTUSER.DAT"]
    tasks = list(discover([*named, survey_tree / "guests" / "win7"]))
    paths = [_rel(survey_tree, t.path) for t in tasks]
    assert len(paths) == len(set(paths))
    assert paths[:2] == ["loose/notes.txt", "guests/win7/Users/bob/NTUSER.DAT"]
    assert tasks[0].explicit and _rel(survey_tree, tasks[1].guest) == "guests/win7"
    assert is_guest_root(str(survey_tree / "guests" / "2019"))
    assert not is_guest_root(str(survey_tree / "guests"))
    assert guest_root_of(str(survey_tree / "loose" / "SYSTEM")) is None


def _facts(task: HiveTask) -> dict[str, object]:
    result = survey_hive(task)
    assert result.facts is not None
    row = dict(result.facts)
    assert list(row) == [c.name for c in FACTS_COLUMNS]  # every column, in order
    return row


@pytest.mark.parametrize(("family", "version", "arch", "legacy"), [
    ("xp", "5.1.2600", "x86", True), ("win7", "6.1.7601", "x64", True),
    ("2008r2", "6.1.7601", "x64", True), ("win10", "10.0.19045", "x64", False),
    ("2019", "10.0.17763", "x64", False)])
def test_guest_system_facts(survey_tree: Path, family: str, version: str, arch: str,
                            legacy: bool) -> None:
    tasks = [t for t in discover([survey_tree / "guests" / family])
             if os.path.basename(t.path).lower() == "system"]
    assert len(tasks) == 1
    row = _facts(tasks[0])
    assert row["kind"] == "SYSTEM" and row["state"] == "clean" and row["check_ok"] is True
    assert row["windows_version"] == version and row["windows_source"] == "SOFTWARE"
    assert row["windows_family"] == ("legacy-cdd" if legacy else "driver-database")
    assert row["architecture"] == arch
    assert row["architecture_source"] == "SYSTEM PROCESSOR_ARCHITECTURE"
    assert row["software"] == tasks[0].software and row["guest"] == str(
        survey_tree / "guests" / family)
    assert row["xen_found"] is True and "xenvbd" in row["xen_services"]  # type: ignore[operator]
    assert row["convert_ok"] is True and row["convert_blockers"] == []
    assert isinstance(row["convert_changes"], int) and row["convert_changes"] > 0
    assert row["control_set_current"] == "ControlSet001"
    nics = row["nics"]
    assert isinstance(nics, list) and any(n["is_xen"] and n["static"] for n in nics)
    assert len(row["logs"]) in (1, 2)  # type: ignore[arg-type]


def test_loose_system_and_software(survey_tree: Path) -> None:
    loose = survey_tree / "loose"
    rows = {os.path.basename(t.path): _facts(t) for t in discover([loose])}
    system, software = rows["SYSTEM"], rows["software"]
    assert system["software"] == str(loose / "software")
    assert system["windows_product"] == "Windows Server 2008 R2 Enterprise"
    assert system["nics"] and system["nics"][0]["ipv4"] == ["192.0.2.10/24"]  # type: ignore[index]
    assert system["xen_uninstallers"] == ["Citrix XenServer Tools"]
    # neither the fixture SYSTEM (no PROCESSOR_ARCHITECTURE) nor its SOFTWARE (no BuildLabEx,
    # no Wow6432Node) says the architecture: winmigrate convert would refuse to pick drivers
    assert system["architecture"] is None and system["architecture_source"] is None
    assert system["convert_ok"] is False and len(system["convert_blockers"]) == 1
    assert "processor architecture" in system["convert_blockers"][0]
    assert software["kind"] == "SOFTWARE" and software["windows_version"] == "6.1.7601"
    assert software["convert_ok"] is None and software["nics"] == []
    assert rows["types.hiv"]["kind"] == "other" and rows["types.hiv"]["error"] is None
    orphan = rows["orphan.LOG1"]
    assert orphan["kind"] == "log" and orphan["problem_count"] == 1 and orphan["error"] is None
    broken = rows["broken.hiv"]  # not even a tolerant read finds its root key
    assert broken["error_type"] == "HiveFormatError" and broken["kind"] == "other"
    assert broken["sha256"] and broken["read_mode"] is None


def test_what_is_not_a_hive(tmp_path: Path) -> None:
    text = tmp_path / "SYSTEM"
    text.write_text("hello")
    row = _facts(HiveTask(str(text), explicit=True))
    assert row["kind"] == "not-a-hive" and row["error_type"] == "HiveFormatError"
    assert row["sha256"] == file_digest(str(text))[0] and row["size"] == 5
    gone = _facts(HiveTask(str(tmp_path / "missing"), explicit=True))
    assert gone["error_type"] == "FileNotFoundError" and gone["sha256"] is None
    cut = tmp_path / "cut.hiv"
    cut.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes()[:6000])
    row = _facts(HiveTask(str(cut)))  # truncated: read tolerantly, what is missing listed
    assert row["error"] is None and row["read_mode"] == "tolerant"
    assert row["problems"][0].startswith("strict read failed: ")  # type: ignore[index]


def test_check_notes_are_kept_apart_from_problems(tmp_path: Path) -> None:
    """What Windows tolerates on load (here a stale max subkey name length) is a note: listed
    in ``notes``, not in ``problems``, and ``check_ok`` stays true."""
    import struct

    from winmigrate.regf import layout as L

    hive = winmigrate.create("ROOT", (1, 5))
    hive.root.create_key("Parent").create_key("AChildWithALongName")
    data = bytearray(hive.to_bytes())
    parent = winmigrate.Hive.from_bytes(bytes(data)).key("Parent").offset
    struct.pack_into("<I", data, 4096 + parent + 4 + L.NK_OFF_MAX_NAME, 1)
    (tmp_path / "noted.hiv").write_bytes(bytes(data))
    row = hive_facts(str(tmp_path / "noted.hiv"), sha256=None, size=None)
    assert row["check_ok"] is True and row["problems"] == [] and row["problem_count"] == 0
    assert len(row["notes"]) == 1 and "Parent" in row["notes"][0]


def test_dirty_hives_are_reported(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "xen_win7_small.hiv").read_bytes())
    data[4:8] = (int.from_bytes(data[4:8], "little") + 1).to_bytes(4, "little")  # seq1 != seq2
    (tmp_path / "SYSTEM").write_bytes(bytes(data))
    row = hive_facts(str(tmp_path / "SYSTEM"), sha256=None, size=None)
    assert row["state"] == "unrecovered" and row["recovery"]
    assert row["convert_ok"] is False
    assert any("dirty" in b for b in row["convert_blockers"])


def test_kind_rules() -> None:
    assert kind_from_name(r"\??\C:\Users\x\ntuser.dat") == "NTUSER"
    assert kind_from_name("UsrClass.dat") == "UsrClass" and kind_from_name("x.hiv") is None
    assert normalize_architecture("AMD64") == "x64" and normalize_architecture("weird") == "weird"
    for name, kind in (("xen_win7_small.hiv", "SYSTEM"), ("xen_win10_small.hiv", "SYSTEM"),
                       ("types_1_5.hiv", "other")):
        with winmigrate.open(FIXTURES / name) as hive:
            assert detect_kind(hive, name)[0] == kind
    with winmigrate.open(FIXTURES / "xen_software_small.hiv") as hive:
        assert detect_kind(hive, "SOFTWARE") == ("SOFTWARE", "file name SOFTWARE")


_MANIFEST_KINDS = {"SYSTEM": "SYSTEM", "SAM": "SAM", "SECURITY": "SECURITY", "NTUSER": "NTUSER",
                   "USRCLASS": "UsrClass", "Amcache": "Amcache", "BCD": "BCD",
                   "DEFAULT": "DEFAULT"}


@pytest.mark.corpus
def test_kinds_agree_with_the_corpus_manifest() -> None:
    """Every corpus hive the manifest names a kind for is given that kind."""
    root = require_corpus()
    checked = 0
    for row in manifest_rows():
        want = _MANIFEST_KINDS.get(row["hive_kind"])
        path = root / row["relpath"]
        if want is None or not path.is_file():
            continue
        try:
            hive = winmigrate.open(path, strict=False)
        except winmigrate.WinmigrateError:
            continue
        with hive:
            assert detect_kind(hive, path.name)[0] == want, row["relpath"]
        checked += 1
    assert checked > 100


def test_a_worker_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import winmigrate.survey.worker as worker

    def boom(*a: object, **k: object) -> None:
        raise IndexError("a bug")

    monkeypatch.setattr(worker, "hive_facts", boom)
    shutil.copyfile(FIXTURES / "types_1_5.hiv", tmp_path / "h")
    result = survey_hive(HiveTask(str(tmp_path / "h")))
    assert result.facts is not None and result.facts["error_type"] == "IndexError"
    assert result.sha256 == result.facts["sha256"] and result.error == "a bug"
    keys = survey_hive(HiveTask(str(tmp_path / "missing")), ScanOptions("keys"))
    assert keys.key_rows == 1 and keys.error
