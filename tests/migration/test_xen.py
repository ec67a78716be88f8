"""winmigrate.windows.xen: detection, filter clean-up rules, neutralise, and the AWS evidence
behind the fixtures (the real EC2 guest's SYSTEM transaction logs in the corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate
from tests.migration.tools import (
    assert_diff_is_plan,
    dump,
    filter_problems,
    fixture_hive,
    fixture_script,
    xen_filter_entries,
)
from winmigrate.windows import services, xen
from winmigrate.windows.changes import ChangeKind, find_key
from winmigrate.windows.xen import clean_filter_list, is_xen_hardware_id

# -- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("entries", "expected"), [
    (["PartMgr"], None),  # no Xen filter: left alone
    ([], None),
    (["", "xenfilt"], []),  # Windows loaded nothing: nothing left
    (["xenfilt"], []),
    (["XENFILT"], []),
    (["PartMgr", "XenFilt", "partmgr", "XENFILT"], ["PartMgr", "partmgr"]),  # case, dupes kept
    (["volsnap", "", "xenfilt"], ["volsnap"]),  # dead tail after an empty string dropped
    (["serenum", "", "", "xenfilt", "serenum"], ["serenum"]),
    (["scsifilt", "a", "b"], ["a", "b"]),
    (["a", "xenbus", "b", "xenvbd"], ["a", "b"]),  # any Xen service, not only the filters
    (["a", "", "b", "xenfilt"], ["a"]),  # b was never loaded: not revived
])
def test_clean_filter_list(entries: list[str], expected: list[str] | None) -> None:
    assert clean_filter_list(entries) == expected


@pytest.mark.parametrize(("device_id", "xen_id"), [
    (r"PCI\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01", True),
    (r"PCI\VEN_5853&DEV_0002", True),
    (r"PCI\VEN_5853&DEV_C000&SUBSYS_C0005853&REV_01", True),
    (r"pci\ven_5853", True),
    (r"PCI\VEN_FFFD&DEV_0101", True),
    (r"XENBUS\VEN_XS0001&DEV_VBD&REV_00000001", True),
    (r"XENVIF\VEN_XS0001&DEV_NET&REV_0000000B", True),
    (r"xen\vif", True),
    (r"ROOT\XENEVTCHN", True),
    ("pci#ven_5853&dev_0001", True),
    ("XENCLASS", True),
    (r"XENVKBD\VEN_XS0001&DEV_VKBD&REV_00000001", True),  # the PV keyboard and mouse
    # emulated devices of a Xen guest carry Xen's subsystem ID but are not Xen PV hardware
    (r"PCI\VEN_8086&DEV_7010&SUBSYS_00015853&REV_00", False),
    (r"PCI\VEN_1013&DEV_00B8&SUBSYS_00015853", False),
    (r"PCI\VEN_1AF4&DEV_1001&REV_00", False),
    (r"PCI\VEN_58530&DEV_0001", False),
    (r"ROOT\XENEVTCHNX", False),
])
def test_xen_hardware_ids(device_id: str, xen_id: bool) -> None:
    assert is_xen_hardware_id(device_id) is xen_id


# -- detection ----------------------------------------------------------------------------------


def test_detect_small_guest() -> None:
    system = fixture_hive("xen_win7_small.hiv")
    software = fixture_hive("xen_software_small.hiv")
    report = xen.detect(system, software)
    assert report.found
    assert report.control_sets == ("ControlSet001", "ControlSet002")
    names = {(s.control_set, s.name.lower()) for s in report.services if s.known}
    assert ("ControlSet001", "xeniface") in names
    assert ("ControlSet002", "xeniface") not in names  # only in one control set
    assert {d.instance.split("\\")[0] for d in report.devices} == {"PCI", "XENBUS", "XENVIF"}
    assert {c.key_name for c in report.critical_devices} == {
        "pci#ven_5853&dev_0001", "xenbus#ven_xs0001&dev_vbd&rev_00000001"}
    kinds = {f.kind for f in report.filters}
    assert kinds == {"class", "device", "cdd"}
    (nic,) = {n.guid for n in report.nics}
    assert nic == fixture_script().EXTRA_NIC_GUID
    assert {u.value for u in report.unplug} == {"DISKS", "NICS"}
    assert report.legacy_xenevtchn == ("ControlSet001", "ControlSet002")
    (u,) = report.uninstallers
    assert u.display_name == "Citrix XenServer Tools" and u.quiet_uninstall_string
    d = report.to_dict()
    assert d["found"] is True and len(d["services"]) == len(report.services)  # type: ignore[arg-type]


def test_detect_clean_hive_finds_nothing() -> None:
    hive = fixture_script().small_system(windows8=False)
    report = xen.detect(hive)
    assert not report.found
    assert report.services == () and report.filters == () and report.nics == ()


@pytest.mark.corpus
def test_detect_real_hives_without_xen(corpus: Path) -> None:
    """The corpus SYSTEM hives are VMware, VirtualBox and physical machines: no Xen."""
    for rel in ("mkorman90_regipy/regipy_tests/data/SYSTEM",
                "mkorman90_regipy/regipy_tests/data/SYSTEM_2"):
        path = corpus / rel
        if not path.is_file():
            continue
        with winmigrate.open(path, logs="ignore") as hive:
            report = xen.detect(hive)
            assert not report.found, report
            assert xen.plan_neutralise(hive) == ()


# -- neutralise ---------------------------------------------------------------------------------


def test_neutralise_small_guest() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    before = dump(hive)
    problems_before = filter_problems(hive)
    changes = xen.neutralise(hive)
    assert_diff_is_plan(before, dump(hive), changes)
    assert xen_filter_entries(hive) == []
    assert filter_problems(hive) <= problems_before
    assert xen.neutralise(hive) == ()  # idempotent
    assert not xen.detect(hive).filters
    assert not xen.detect(hive).critical_devices
    assert not xen.detect(hive).unplug


def test_gplpv_xenhide_and_vkbd_are_neutralised() -> None:
    """GPLPV's xenhide (a filter that hides the emulated disks and NICs) and the PV keyboard's
    XENVKBD devices are Xen's too: the filter goes, the service is disabled."""
    hive = fixture_hive("xen_win7_small.hiv")
    cs = hive.root.subkey("ControlSet001")
    services_key = cs.subkey("Services")
    xenhide = services_key.create_subkey("xenhide")
    for name, data in (("Type", 1), ("Start", 0), ("ErrorControl", 1),
                       ("Group", "Boot Bus Extender")):
        xenhide.set_value(name, data)
    system_class = cs.subkey("Control").subkey("Class").subkey(
        "{4D36E97D-E325-11CE-BFC1-08002BE10318}")
    system_class.set_value("UpperFilters", ["xenhide"])
    vkbd = cs.subkey("Enum").create_key(r"XENVKBD\VEN_XS0001&DEV_VKBD\_0")
    vkbd.set_value("HardwareID", [r"XENVKBD\VEN_XS0001&DEV_VKBD&REV_00000001"])
    vkbd.set_value("Service", "xenvkbd")
    report = xen.detect(hive)
    assert "xenhide" in [s.name for s in report.services if s.known]
    assert any(d.instance.upper().startswith("XENVKBD") for d in report.devices)
    xen.neutralise(hive)
    assert system_class.get("UpperFilters") in ([], None)
    svc = services.get_service(hive, "xenhide", "ControlSet001")
    assert svc is not None and svc.start == services.StartType.DISABLED


def test_filter_edge_cases_are_written_as_documented() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    xen.neutralise(hive)
    script = fixture_script()
    classes = hive.key(r"ControlSet001\Control\Class")
    assert classes.subkey(script.DISK_CLASS).get("UpperFilters") == ["PartMgr", "partmgr"]
    assert classes.subkey(script.VOLUME_CLASS).get("LowerFilters") == ["volsnap"]
    assert "UpperFilters" not in classes.subkey(script.SYSTEM_CLASS)  # became empty: deleted
    assert "UpperFilters" not in classes.subkey(script.HDC_CLASS)
    assert classes.subkey(script.USB_CLASS).get("UpperFilters") == []  # untouched
    chan = hive.key(r"ControlSet001\Enum\PCIIDE\IDEChannel").subkeys()[0]
    assert "UpperFilters" not in chan and "LowerFilters" not in chan  # the REG_SZ one too
    root_dev = hive.key(r"ControlSet001\Enum\Root\LEGACY_X\0000")
    value = root_dev.value("UpperFilters")
    assert value.type == winmigrate.RegType.MULTI_SZ and value.data == ["serenum"]
    assert value.raw == "serenum\0\0".encode("utf-16-le")
    cdd = hive.key(r"ControlSet001\Control\CriticalDeviceDatabase\primary_ide_channel")
    assert cdd.get("UpperFilters") == ["serenum"]


def test_services_disabled_not_deleted() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    changes = xen.neutralise(hive)
    assert not any(c.kind is ChangeKind.DELETE_KEY and "\\Services\\" in c.key for c in changes)
    for cs in ("ControlSet001", "ControlSet002"):
        for svc in services.list_services(hive, cs):
            if xen.is_xen_service(svc.name) and svc.type is not None:
                assert svc.start == services.StartType.DISABLED, (cs, svc.name)
    # the before values allow undoing it
    starts = {(c.key, c.before.data) for c in changes  # type: ignore[union-attr]
              if c.value == "Start"}
    assert (r"ControlSet001\Services\xenvbd", 0) in starts
    assert (r"ControlSet001\Services\xennet", 3) in starts


def test_xen_driver_in_only_one_control_set() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    assert services.get_service(hive, "xeniface", "ControlSet002") is None
    changes = xen.neutralise(hive)
    assert any(c.key == r"ControlSet001\Services\xeniface" for c in changes)
    assert not any(c.key == r"ControlSet002\Services\xeniface" for c in changes)
    # ControlSet002 has XENFILT in its class filters but no xenfilt service: removed as well
    assert any(c.key.startswith(r"ControlSet002\Control\Class") for c in changes)


def test_unplug_values_and_no_pv_boot() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    changes = xen.neutralise(hive)
    deleted = {(c.key, c.value) for c in changes if c.kind is ChangeKind.DELETE_VALUE}
    for cs in ("ControlSet001", "ControlSet002"):
        assert (cs + r"\Services\XEN\Unplug", "DISKS") in deleted
        assert (cs + r"\Services\XEN\ForceUnplug", "NICS") in deleted
        assert (cs + r"\Services\xenfilt\Unplug", "NICS") in deleted
        assert find_key(hive, cs + r"\Services\XEN\Unplug") is not None  # keys kept
        assert hive.key(cs + r"\Services\xenevtchn").get("NoPVBoot") == 1
    # Services\XEN is no service: no Start written there
    assert "Start" not in hive.key(r"ControlSet001\Services\XEN")


def test_neutralise_one_control_set() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    changes = xen.neutralise(hive, control_sets=2)
    assert {c.key.split("\\")[0] for c in changes} == {"ControlSet002"}


# -- the AWS evidence ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws(corpus: Path) -> dict[str, object]:
    from tests.migration.awslogs import LOGS, SparseHive

    if not all((corpus / rel).is_file() for rel in LOGS):
        pytest.skip("the notatin AWS logs are not in the corpus")
    sparse = SparseHive(corpus)
    assert sparse.pages > 500
    return sparse.by_path()  # type: ignore[return-value]


SERVICES_CHECKED = {
    "xenbus": ("ImagePath", "Type", "Start", "ErrorControl", "Group", "Tag", "DisplayName"),
    "xenfilt": ("ImagePath", "Type", "Start", "ErrorControl", "Group", "Tag", "DisplayName"),
    "xenvbd": ("ImagePath", "Type", "Start", "ErrorControl", "Group", "Tag", "DisplayName"),
    "xenvif": ("ImagePath", "Type", "Start", "ErrorControl", "Group", "Tag", "DisplayName"),
    "xennet": ("ImagePath", "Type", "Start", "ErrorControl", "Group", "Tag", "DisplayName"),
    "xeniface": ("ImagePath", "Type", "Start", "ErrorControl", "Group", "Tag", "DisplayName"),
}


@pytest.mark.corpus
def test_fixture_services_are_the_aws_ones(aws: dict[str, object]) -> None:
    """Every service value the fixtures give the AWS drivers is the value in the real guest's
    ControlSet002 (the log pages that hold ControlSet001's services are partly missing)."""
    hive = fixture_hive("xen_win10_small.hiv")
    for name, fields in SERVICES_CHECKED.items():
        mined = aws[rf"ROOT\CONTROLSET002\SERVICES\{name.upper()}"]
        ours = hive.key(rf"ControlSet001\Services\{name}")
        for field in fields:
            assert ours.get(field) == mined.get(field), (name, field)  # type: ignore[attr-defined]
    for name in ("XENBUS", "XENVBD"):
        override = aws[rf"ROOT\CONTROLSET002\SERVICES\{name}\STARTOVERRIDE"]
        assert override.get("0") == 3  # type: ignore[attr-defined]
    unplug = aws[r"ROOT\CONTROLSET002\SERVICES\XEN\UNPLUG"]
    assert unplug.get("DISKS") == 1 and unplug.get("NICS") == 1  # type: ignore[attr-defined]
    params = aws[r"ROOT\CONTROLSET002\SERVICES\XENFILT\PARAMETERS"]
    assert params.get("ACPI\\PNP0A03") == "DEVICE"  # type: ignore[attr-defined]
    assert params.get("PCIIDE\\IDEChannel") == "DISK"  # type: ignore[attr-defined]


@pytest.mark.corpus
def test_xen_ids_of_the_aws_guest(aws: dict[str, object]) -> None:
    """Every device of the real guest bound to a Xen service has a hardware ID that
    is_xen_hardware_id recognises; every other device's IDs are not taken for Xen."""
    xen_ids, other_ids = [], []
    for key in aws.values():
        service = key.get("Service")  # type: ignore[attr-defined]
        ids = key.get("HardwareID")  # type: ignore[attr-defined]
        if not isinstance(ids, list) or not isinstance(service, str):
            continue
        ids = [i for i in ids if i]
        if xen.is_xen_service(service):
            xen_ids.append(ids)
        else:
            other_ids.extend(ids)
    assert len(xen_ids) >= 3
    for ids in xen_ids:
        assert any(is_xen_hardware_id(i) for i in ids), ids
    assert other_ids and not any(is_xen_hardware_id(i) for i in other_ids), [
        i for i in other_ids if is_xen_hardware_id(i)]
    # the emulated IDE controller of a Xen HVM guest: Xen's subsystem ID, not Xen hardware
    assert any("SUBSYS_00015853" in i and "VEN_8086" in i for i in other_ids)


@pytest.mark.corpus
def test_aws_descriptions(aws: dict[str, object]) -> None:
    descs = {str(k.get("DeviceDesc")).rsplit(";", 1)[-1] for k in aws.values()  # type: ignore[attr-defined]
             if isinstance(k.get("DeviceDesc"), str)}  # type: ignore[attr-defined]
    assert {"AWS PV Bus", "AWS PV Storage Host Adapter", "AWS PV Network Class"} <= descs
