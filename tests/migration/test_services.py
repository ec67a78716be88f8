"""winmigrate.windows.services: reading services from real hives (oddities included),
writing them."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate
from tests.migration.tools import assert_diff_is_plan, dump, fixture_hive
from winmigrate.errors import KeyNotFoundError, UsageError
from winmigrate.windows import services
from winmigrate.windows.changes import ChangeKind, find_key
from winmigrate.windows.services import (
    ErrorControl,
    Service,
    ServiceType,
    StartType,
    quote_image_path,
)

DATA = "mkorman90_regipy/regipy_tests/data/"


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["SYSTEM", "SYSTEM_2", "SYSTEM_B"])
def test_list_services_real_hives(corpus: Path, name: str) -> None:
    path = corpus / DATA / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the corpus")
    with winmigrate.open(path) as hive:
        listed = services.list_services(hive)
        cs = hive.current_control_set
        assert len(listed) == hive.key(f"{cs}\\Services").subkey_count
        by_name = {s.name.lower(): s for s in listed}
        atapi = by_name["atapi"]
        assert atapi.type == ServiceType.KERNEL_DRIVER and atapi.is_driver
        assert atapi.start == StartType.BOOT
        assert atapi.image_path and atapi.image_path.lower().endswith("atapi.sys")
        tcpip = by_name["tcpip"]
        assert tcpip.parameters  # Parameters subkey values
        if name != "SYSTEM":  # Windows 8+: StartOverride keeps unneeded boot drivers off
            assert by_name["atapi"].start_override == {"0": 3}
        for s in listed:
            s.to_dict()
            if s.type is not None and s.type & ServiceType.WIN32_SHARE_PROCESS:
                assert not s.is_driver


@pytest.mark.corpus
def test_real_service_values(corpus: Path) -> None:
    path = corpus / DATA / "SYSTEM"
    if not path.is_file():
        pytest.skip("SYSTEM is not in the corpus")
    with winmigrate.open(path) as hive:
        vmbus = services.get_service(hive, "VMBUS")
        assert vmbus is not None and vmbus.name == "vmbus"
        assert vmbus.friendly_name == "@%SystemRoot%\\system32\\vmbusres.dll,-1000"
        assert vmbus.group == "System Bus Extender"
        assert services.get_service(hive, "vmbus", 2) is not None
        assert services.get_service(hive, "no-such-service") is None


def _odd_hive() -> winmigrate.Hive:
    hive = winmigrate.create("ROOT")
    hive.root.create_key("Select").set_value("Current", 1)
    key = hive.root.create_key(r"ControlSet001\Services\odd")
    key.set_value("Type", "1")  # REG_SZ
    key.set_value("Start", b"\x03\x00\x00\x00")  # REG_BINARY
    key.set_value("ErrorControl", "bogus")
    key.set_value("ImagePath", ["a.sys", "b"])  # MULTI_SZ
    key.set_value("DependOnService", "Tcpip")  # REG_SZ
    key.set_value("DependOnGroup", raw="A\0\0B\0\0".encode("utf-16-le"),
                  type=winmigrate.RegType.MULTI_SZ)
    key.set_value("DelayedAutoStart", 0x10000, winmigrate.RegType.QWORD)
    key.set_value("Group", 7)
    key.create_key("StartOverride").set_value("0", "x")
    hive.root.create_key(r"ControlSet001\Services\XEN\Unplug").set_value("DISKS", 1)
    return hive


def test_wrong_types_and_missing_values() -> None:
    hive = _odd_hive()
    svc = services.get_service(hive, "odd")
    assert svc is not None
    assert svc.type == ServiceType.KERNEL_DRIVER
    assert svc.start == StartType.DEMAND
    assert svc.error_control is None
    assert svc.image_path == "a.sys"
    assert svc.depend_on_service == ("Tcpip",)
    assert svc.depend_on_group == ("A",)  # Windows stops at the first empty string
    assert svc.delayed_auto_start is True
    assert svc.group == "7"
    assert svc.start_override == {}
    assert len(svc.warnings) >= 6
    xen = services.get_service(hive, "XEN")
    assert xen is not None and xen.type is None and xen.start is None
    assert not xen.warnings


def test_numbers_written_as_odd_strings_are_not_numbers() -> None:
    """A Start stored as the REG_SZ "²" (fuzz campaign b, input 756912): "²".isdigit() is true
    but it is no number; ignored with a warning, never a stray ValueError."""
    hive = _odd_hive()
    key = hive.key(r"ControlSet001\Services\odd")
    for text in ("²", "٣", "1²"):
        key.set_value("Start", text)
        svc = services.get_service(hive, "odd")
        assert svc is not None and svc.start is None
        assert any("not a number" in w for w in svc.warnings)
    key.set_value("Start", " 2 ")
    svc = services.get_service(hive, "odd")
    assert svc is not None and svc.start == StartType.AUTO


def test_unknown_numbers_are_kept() -> None:
    hive = _odd_hive()
    hive.key(r"ControlSet001\Services\odd").set_value("Start", 7)
    hive.key(r"ControlSet001\Services\odd").set_value("Type", 0x1010)
    svc = services.get_service(hive, "odd")
    assert svc is not None and svc.start == 7 and not isinstance(svc.start, StartType)
    assert svc.type is not None and int(svc.type) == 0x1010
    assert svc.to_dict()["type_flags"] == ["WIN32_OWN_PROCESS", "0x1000"]


def test_register_new_service_everywhere() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    before = dump(hive)
    svc = Service("Probe", type=ServiceType.WIN32_OWN_PROCESS, start=StartType.AUTO,
                  error_control=ErrorControl.NORMAL, image_path=r"C:\probe.exe",
                  display_name="Probe", object_name="LocalSystem",
                  depend_on_service=("Tcpip", "Dhcp"), delayed_auto_start=False,
                  parameters={"Text": "x", "Number": 5, "List": ["a", "b"], "Bin": b"\x01"})
    changes = services.register_service(hive, svc)
    assert_diff_is_plan(before, dump(hive), changes)
    for cs in ("ControlSet001", "ControlSet002"):
        read = services.get_service(hive, "probe", cs)
        assert read is not None
        assert (read.type, read.start, read.error_control) == (0x10, 2, 1)
        assert read.depend_on_service == ("Tcpip", "Dhcp")
        assert read.delayed_auto_start is False
        assert read.parameters == {"Text": "x", "Number": 5, "List": ["a", "b"], "Bin": b"\x01"}
        key = hive.key(cs + r"\Services\Probe")
        assert key.value("ImagePath").type == winmigrate.RegType.EXPAND_SZ
    assert services.register_service(hive, svc) == ()


def test_register_updates_only_given_fields() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    changes = services.register_service(hive, Service("xenvbd", start=StartType.DEMAND), 1)
    assert [(c.key, c.value) for c in changes] == [(r"ControlSet001\Services\xenvbd", "Start")]
    assert services.get_service(hive, "xenvbd").group == "Scsi Miniport"  # type: ignore[union-attr]


def test_new_service_needs_type_start_error_control() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    with pytest.raises(UsageError):
        services.plan_register_service(hive, Service("half", start=StartType.AUTO))
    for bad in ("", "a\\b", "a/b"):
        with pytest.raises(UsageError):
            services.plan_register_service(hive, Service(bad))


def test_set_start_skips_control_sets_without_the_service() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    changes = services.set_start(hive, "xeniface", StartType.DISABLED)
    assert [c.key for c in changes] == [r"ControlSet001\Services\xeniface"]
    with pytest.raises(KeyNotFoundError):
        services.set_start(hive, "nothere", 4)
    assert services.plan_set_start(hive, "nothere", 4, missing_ok=True) == ()
    with pytest.raises(UsageError):
        services.plan_set_start(hive, "xenvbd", 9)


def test_remove_service() -> None:
    hive = fixture_hive("xen_win7_small.hiv")
    before = dump(hive)
    changes = services.remove_service(hive, "xenvbd")
    assert_diff_is_plan(before, dump(hive), changes)
    assert [c.key for c in changes if c.kind is ChangeKind.DELETE_KEY][-1] == (
        r"ControlSet002\Services\xenvbd")
    assert find_key(hive, r"ControlSet001\Services\xenvbd") is None


@pytest.mark.parametrize(("path", "args", "expected"), [
    (r"C:\Windows\KvmConv\kvmconv.exe", None, r"C:\Windows\KvmConv\kvmconv.exe"),
    (r"C:\Program Files\KvmConv\kvmconv.exe", None, r'"C:\Program Files\KvmConv\kvmconv.exe"'),
    (r'"C:\Program Files\x.exe"', "-run", r'"C:\Program Files\x.exe" -run'),
    (r"C:\x.exe", " --once ", r"C:\x.exe --once"),
])
def test_quote_image_path(path: str, args: str | None, expected: str) -> None:
    assert quote_image_path(path, args) == expected
