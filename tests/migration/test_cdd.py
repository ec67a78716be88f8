"""winmigrate.windows.cdd: the CriticalDeviceDatabase of Windows 7 / 2008 R2 and older."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate
from tests.migration.tools import assert_diff_is_plan, dump, fixture_hive
from winmigrate.errors import UsageError
from winmigrate.windows import cdd
from winmigrate.windows.changes import ChangeKind

WIN7 = "mkorman90_regipy/regipy_tests/data/SYSTEM"
VIOSTOR = r"PCI\VEN_1AF4&DEV_1001&REV_00"


@pytest.mark.corpus
def test_real_cdd(corpus: Path) -> None:
    path = corpus / WIN7
    if not path.is_file():
        pytest.skip("the Windows 7 SYSTEM is not in the corpus")
    with winmigrate.open(path) as hive:
        entries = cdd.list_critical_devices(hive)
        assert len(entries) == 2548
        by_key = {e.key_name: e for e in entries}
        vmci = by_key["pci#ven_15ad&dev_0740"]  # written by VMware Tools: Service + ClassGUID
        assert vmci.device_id == r"pci\ven_15ad&dev_0740"
        assert (vmci.service, vmci.class_guid) == ("vmci", "{4d36e97d-e325-11ce-bfc1-08002be10318}")
        ide = by_key["Primary_IDE_Channel"]
        assert ide.service == "atapi" and ide.driver_package_id
        assert sum(1 for e in entries if e.upper_filters) == 147
        assert cdd.list_critical_devices(hive, 2)
        # the real entries are REG_SZ Service and ClassGUID
        key = hive.key(r"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_15ad&dev_0740")
        assert {v.name: v.type for v in key.values()} == {
            "Service": winmigrate.RegType.SZ, "ClassGUID": winmigrate.RegType.SZ}


@pytest.mark.parametrize("spelling", [VIOSTOR, "pci#ven_1af4&dev_1001&rev_00",
                                      "PCI#VEN_1AF4&DEV_1001&REV_00"])
def test_add_accepts_both_spellings(spelling: str) -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    before = dump(hive)
    changes = cdd.add_critical_device(hive, spelling, "viostor")
    assert_diff_is_plan(before, dump(hive), changes)
    created = [c.key for c in changes if c.kind is ChangeKind.CREATE_KEY]
    assert created == [r"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_1af4&dev_1001&rev_00",
                       r"ControlSet002\Control\CriticalDeviceDatabase\pci#ven_1af4&dev_1001&rev_00"]
    for cs in (1, 2):
        (entry,) = [e for e in cdd.list_critical_devices(hive, cs) if e.service == "viostor"]
        assert entry.class_guid == cdd.SCSI_ADAPTER_CLASS
    assert cdd.add_critical_device(hive, VIOSTOR.lower(), "viostor") == ()  # idempotent


def test_existing_entry_matched_case_insensitively() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    db = hive.key(r"ControlSet001\Control\CriticalDeviceDatabase")
    db.create_key("PCI#VEN_1AF4&DEV_1001&REV_00").set_value("Service", "oldname")
    changes = cdd.add_critical_device(hive, VIOSTOR, "viostor", control_sets=1)
    assert [c.key.rsplit("\\", 1)[1] for c in changes] == ["PCI#VEN_1AF4&DEV_1001&REV_00"] * 2
    assert [c.value for c in changes] == ["Service", "ClassGUID"]
    assert changes[0].before is not None and changes[0].before.data == "oldname"


def test_add_refused_without_cdd() -> None:
    hive = fixture_hive("xen_win10_small.hiv")
    with pytest.raises(UsageError, match="DriverDatabase"):
        cdd.add_critical_device(hive, VIOSTOR, "viostor")


@pytest.mark.parametrize("bad", ["", "x\ny"])
def test_bad_hardware_ids(bad: str) -> None:
    with pytest.raises(UsageError):
        cdd.key_name_for(bad)


def test_bad_class_guid() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    with pytest.raises(UsageError):
        cdd.plan_add_critical_device(hive, VIOSTOR, "viostor", "not-a-guid")


def test_remove_by_service_and_id() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    before = dump(hive)
    changes = cdd.remove_critical_devices(hive, service="XENBUS")
    assert_diff_is_plan(before, dump(hive), changes)
    assert {c.key for c in changes if c.kind is ChangeKind.DELETE_KEY} == {
        r"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_5853&dev_0001",
        r"ControlSet002\Control\CriticalDeviceDatabase\pci#ven_5853&dev_0001"}
    changes = cdd.remove_critical_devices(
        hive, device_ids=[r"XENBUS\VEN_XS0001&DEV_VBD&REV_00000001"], control_sets="current")
    assert {c.key for c in changes if c.kind is ChangeKind.DELETE_KEY} == {
        r"ControlSet001\Control\CriticalDeviceDatabase\xenbus#ven_xs0001&dev_vbd&rev_00000001"}
    with pytest.raises(UsageError):
        cdd.remove_critical_devices(hive)
