"""winmigrate.windows (controlsets, version, changes): control sets from Select, the Windows
version, change planning."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate
from tests.migration.tools import fixture_hive, fixture_script
from winmigrate.errors import UsageError
from winmigrate.windows.changes import (
    ChangeKind,
    ChangeSet,
    RegValue,
    apply_changes,
    dirty_unreplayed,
    find_key,
)
from winmigrate.windows.controlsets import (
    ControlSetError,
    control_set_name,
    control_sets,
    resolve_control_set,
    select_control_sets,
)
from winmigrate.windows.version import VersionSource, WindowsFamily, windows_version

DATA = "mkorman90_regipy/regipy_tests/data/"


def _select(hive: winmigrate.Hive, **values: object) -> None:
    key = hive.key("Select")
    for name, value in values.items():
        if value is None:
            key.delete_value(name)
        else:
            key.set_value(name, value)


def test_control_set_names() -> None:
    assert control_set_name(1) == "ControlSet001"
    assert control_set_name(10) == "ControlSet010"
    assert control_set_name(123) == "ControlSet123"
    for bad in (0, 1000, -1, True):
        with pytest.raises(UsageError):
            control_set_name(bad)  # type: ignore[arg-type]


def test_control_sets_small() -> None:
    sets = control_sets(fixture_hive("xen_win7_small.hiv"))
    assert (sets.current, sets.default, sets.last_known_good, sets.failed) == (1, 1, 2, 0)
    assert sets.in_use == ("ControlSet001", "ControlSet002")
    assert sets.current_name == "ControlSet001"
    assert sets.to_dict()["present"] == ["ControlSet001", "ControlSet002"]


def test_control_sets_ten_and_up() -> None:
    hive = fixture_hive("xen_cs10.hiv")
    sets = control_sets(hive)
    assert sets.in_use == ("ControlSet010", "ControlSet011")
    assert resolve_control_set(hive) == "ControlSet010"
    assert resolve_control_set(hive, 11) == "ControlSet011"
    assert resolve_control_set(hive, "011") == "ControlSet011"
    assert resolve_control_set(hive, "controlset010") == "ControlSet010"
    with pytest.raises(ControlSetError):
        resolve_control_set(hive, 1)


def test_failed_control_set_is_in_use() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    _select(hive, LastKnownGood=1, Failed=2)
    assert control_sets(hive).in_use == ("ControlSet001", "ControlSet002")
    _select(hive, Failed=0)
    assert control_sets(hive).in_use == ("ControlSet001",)


@pytest.mark.parametrize(("values", "message"), [
    ({"Current": 3}, "Select\\\\Current names ControlSet003"),
    ({"Default": 9}, "Select\\\\Default names ControlSet009"),
    ({"LastKnownGood": 3}, "LastKnownGood names ControlSet003, which this hive does not have"),
    ({"Failed": 4}, "Failed names ControlSet004"),
    ({"Current": None}, "Current is missing"),
    ({"Current": 0}, "Current is missing or 0"),
    ({"Current": "1"}, "not a REG_DWORD"),
])
def test_select_problems_are_clear_errors(values: dict[str, object], message: str) -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    _select(hive, **values)
    with pytest.raises(ControlSetError, match=message):
        control_sets(hive)


def test_select_missing() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    hive.root.delete_key("Select", recursive=True)
    with pytest.raises(ControlSetError, match="no Select key"):
        control_sets(hive)
    with pytest.raises(ControlSetError):
        resolve_control_set(hive)
    assert resolve_control_set(hive, 2) == "ControlSet002"


def test_select_control_sets_arguments() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    assert select_control_sets(hive, "all") == ("ControlSet001", "ControlSet002")
    assert select_control_sets(hive, "current") == ("ControlSet001",)
    assert select_control_sets(hive, [2, "ControlSet001", "002"]) == ("ControlSet002",
                                                                      "ControlSet001")
    with pytest.raises(UsageError):
        select_control_sets(hive, [])
    with pytest.raises(UsageError):
        select_control_sets(hive, "ControlSetX")


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "in_use", "family", "hiber"), [
    ("SYSTEM", ("ControlSet001", "ControlSet002"), WindowsFamily.LEGACY_CDD, None),
    ("SYSTEM_2", ("ControlSet001",), WindowsFamily.DRIVER_DATABASE, True),
    ("SYSTEM_WIN_10_1709", ("ControlSet001",), WindowsFamily.DRIVER_DATABASE, True),
    ("SYSTEM_B", ("ControlSet001",), WindowsFamily.DRIVER_DATABASE, True),
])
def test_corpus_control_sets_and_version(corpus: Path, name: str, in_use: tuple[str, ...],
                                         family: WindowsFamily, hiber: bool | None) -> None:
    path = corpus / DATA / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the corpus")
    with winmigrate.open(path) as hive:
        assert control_sets(hive).in_use == in_use
        version = windows_version(hive)
        assert version.family is family
        assert version.source is VersionSource.SYSTEM
        assert version.has_driver_database is (family is WindowsFamily.DRIVER_DATABASE)
        assert version.has_critical_device_database is (family is WindowsFamily.LEGACY_CDD)
        assert version.hiberboot_enabled is hiber
        if hiber:
            assert any("HiberbootEnabled" in w for w in version.warnings)


def _software(**values: object) -> winmigrate.Hive:
    hive = winmigrate.create("ROOT")
    cv = hive.root.create_key(r"Microsoft\Windows NT\CurrentVersion")
    for name, value in values.items():
        cv.set_value(name, value)
    return hive


def test_version_from_software() -> None:
    system_hive = fixture_hive("xen_win7_small.hiv")
    v = windows_version(system_hive, fixture_hive("xen_software_small.hiv"))
    assert v.source is VersionSource.SOFTWARE
    assert (v.major, v.minor, v.build) == (6, 1, 7601)
    assert v.family is WindowsFamily.LEGACY_CDD and v.legacy
    assert v.installation_type == "Server" and v.edition_id == "ServerEnterprise"
    assert v.label == "Windows Server 2008 R2 Enterprise (6.1.7601)"
    assert v.warnings == ()


def test_windows10_reports_6_3_in_current_version() -> None:
    system_hive = fixture_hive("xen_win10_small.hiv")
    soft = _software(CurrentVersion="6.3", CurrentMajorVersionNumber=10,
                     CurrentMinorVersionNumber=0, CurrentBuild="17763", UBR=1,
                     ProductName="Windows Server 2019 Datacenter", InstallationType="Server")
    v = windows_version(system_hive, soft)
    assert (v.major, v.minor, v.build, v.ubr) == (10, 0, 17763, 1)
    assert v.family is WindowsFamily.DRIVER_DATABASE
    assert v.hiberboot_enabled is True
    assert any("Fast Startup" in w for w in v.warnings)


def test_windows_8_boundary() -> None:
    system_hive = fixture_hive("xen_win10_small.hiv")
    assert windows_version(system_hive, _software(CurrentVersion="6.2")).family is (
        WindowsFamily.DRIVER_DATABASE)
    v = windows_version(system_hive, _software(CurrentVersion="6.1"))
    assert v.family is WindowsFamily.LEGACY_CDD
    assert any("same guest" in w for w in v.warnings)  # SYSTEM has a DriverDatabase


def test_version_software_without_numbers() -> None:
    system_hive = fixture_hive("xen_win7_small.hiv")
    v = windows_version(system_hive, _software(ProductName="Windows"))
    assert v.family is WindowsFamily.LEGACY_CDD and v.major is None
    assert v.warnings
    v = windows_version(system_hive, winmigrate.create("ROOT"))
    assert v.source is VersionSource.SYSTEM and v.warnings


# -- planning and applying ----------------------------------------------------------------------


def test_change_set_tracks_planned_state() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    plan = ChangeSet(hive)
    assert plan.set_value(r"ControlSet001\Services\new\Parameters", "A", RegValue.make(1), "r")
    kinds = [c.kind for c in plan.changes]
    assert kinds == [ChangeKind.CREATE_KEY, ChangeKind.CREATE_KEY, ChangeKind.SET_VALUE]
    assert plan.changes[0].key == r"ControlSet001\Services\new"  # existing parts as spelled
    assert not plan.set_value(r"controlset001\services\NEW\parameters", "a", RegValue.make(1),
                              "r")
    assert plan.set_value(r"ControlSet001\Services\new\Parameters", "A", RegValue.make(2), "r")
    assert plan.value(r"ControlSet001\Services\new\Parameters", "A") == RegValue.make(2)
    assert not plan.delete_value(r"ControlSet001\Services\new\Parameters", "missing", "r")
    assert plan.delete_tree(r"ControlSet001\Services\xenvbd", "r")
    assert plan.key(r"ControlSet001\Services\xenvbd\Parameters") is None
    assert plan.deleted(r"ControlSet001\Services\XENVBD\StartOverride")
    plan.ensure_key(r"ControlSet001\SCSI#Disk-120/240", "r")  # '/' is legal in a key name
    before = hive.to_bytes()
    assert hive.to_bytes()[4096:] == before[4096:]  # planning wrote nothing
    done = apply_changes(hive, plan.changes)
    assert find_key(hive, r"ControlSet001\Services\xenvbd") is None
    assert hive.key(r"ControlSet001\Services\new\Parameters").get("A") == 2
    assert done == plan.changes
    assert apply_changes(hive, plan.changes) == ()
    assert hive.key("ControlSet001").subkey("SCSI#Disk-120/240").name == "SCSI#Disk-120/240"


def test_apply_refuses_read_only_hive() -> None:
    hive = winmigrate.Hive.from_bytes(fixture_hive("xen_win7_small.hiv").to_bytes())
    plan = ChangeSet(hive)
    plan.set_value("Select", "Current", RegValue.make(2), "r")
    with pytest.raises(winmigrate.NotWritableError):
        apply_changes(hive, plan.changes)


def test_change_text_and_dict() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    plan = ChangeSet(hive)
    plan.set_value(r"ControlSet001\Services\xenvbd", "Start", RegValue.make(4), "because")
    (c,) = plan.changes
    assert str(c) == (r"[SYSTEM] ControlSet001\Services\xenvbd: set Start = REG_DWORD 4 (0x4) "
                      "(was REG_DWORD 0 (0x0)) -- because")
    d = c.to_dict()
    assert d["before"] == {"type": "REG_DWORD", "data": 0, "raw": "00000000"}
    assert d["kind"] == "set value"


def test_find_key_takes_slashes_literally(corpus: Path) -> None:
    path = corpus / DATA / "SYSTEM"
    if not path.is_file():
        pytest.skip("SYSTEM is not in the corpus")
    with winmigrate.open(path) as hive:
        name = r"ControlSet001\Control\CriticalDeviceDatabase\SCSI#DiskMATSHITALS-120/240____00"
        key = find_key(hive, name)
        assert key is not None and key.get("Service") == "sfloppy"


def test_dirty_unreplayed_small() -> None:
    assert not dirty_unreplayed(fixture_hive("xen_win7_small.hiv"))
    assert fixture_script().FIXTURES  # the script imports cleanly
