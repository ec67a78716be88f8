"""SYSTEM hives: what the description says is in the hive, and the network reader agrees."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings

import winmigrate
from tests.helpers import assert_written_ok
from winmigrate import RegType
from winmigrate import testing as ws
from winmigrate.windows import network

SYSTEMS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIND = settings(database=None, max_examples=500, phases=[Phase.generate], derandomize=True)


def _system_checks(hive: winmigrate.Hive, desc: ws.SystemDescription) -> None:
    assert_written_ok(hive)
    assert hive.version == desc.version
    select = hive.key("Select")
    assert tuple(select.get(n) for n in ("Current", "Default", "LastKnownGood", "Failed")) \
        == desc.select
    assert hive.current_control_set == desc.current_set.name
    names = sorted(k.name for k in hive.root.subkeys() if k.name.startswith("ControlSet"))
    assert names == sorted(cs.name for cs in desc.control_sets)
    assert len({cs.number for cs in desc.control_sets}) == len(desc.control_sets)
    for n in desc.select:
        assert n == 0 or any(cs.number == n for cs in desc.control_sets)
    for cs in desc.control_sets:
        services = hive.root.subkey(cs.name).subkey("Services")
        assert len(services.subkeys()) >= len(cs.services)
        for svc in cs.services:
            key = services.subkey(svc.name)
            assert key.name == svc.name
            assert key.value("Type").type is RegType.DWORD and key.get("Type") == svc.type
            assert key.get("Start") == svc.start
            assert key.get("ErrorControl") == svc.error_control
            if svc.image_path is not None:
                assert key.value("ImagePath").type is RegType.EXPAND_SZ
                assert key.get("ImagePath") == svc.image_path
            assert key.get("Group") == svc.group
        for name in ("disk", "Tcpip", "atapi"):
            assert cs.service(name) is not None
        assert all(s.xen for s in cs.services if s.name in {x.name for x in ws.XEN_SERVICES})
        control = hive.root.subkey(cs.name).subkey("Control")
        cdd = control.get_subkey("CriticalDeviceDatabase")
        if desc.style == "cdd":
            assert cdd is not None
            assert sorted(k.name for k in cdd.subkeys()) == sorted(e.device_id for e in cs.cdd)
            for entry in cs.cdd:
                key = cdd.subkey(entry.device_id)
                assert (key.get("Service"), key.get("ClassGUID")) == (entry.service,
                                                                       entry.class_guid)
            assert any(e.service == "xenbus" for e in cs.cdd) == desc.xen
        else:
            assert cdd is None and cs.cdd == ()
        classes = control.subkey("Class")
        for flt in cs.filters:
            key = classes.subkey(flt.class_guid)
            assert tuple(key.get("UpperFilters") or ()) == flt.upper
            assert tuple(key.get("LowerFilters") or ()) == flt.lower
        xen_filtered = any("xenfilt" in (f.lower() for f in flt.upper) for flt in cs.filters)
        assert xen_filtered == desc.xen
        assert (services.get_subkey("xenfilt") is not None) == desc.xen
        if desc.xen:
            unplug = services.subkey("xenfilt").subkey("Unplug")
            assert unplug.get("DISKS") == 1 and unplug.get("NICS") == 1
    ddb = hive.get_key("DriverDatabase")
    if desc.style == "driver-database":
        assert ddb is not None and desc.driver_packages
        for pkg in desc.driver_packages:
            inf = ddb.subkey("DriverInfFiles").subkey(pkg.inf)
            assert inf.get("") == [pkg.package] and inf.get("Active") == pkg.package
            package = ddb.subkey("DriverPackages").subkey(pkg.package)
            assert package.get("") == pkg.inf and len(package.get("Version")) == 48
            assert package.subkey("Configurations").subkey(pkg.configuration).get(
                "Service") == pkg.service
            for hwid in pkg.hardware_ids:
                ids = ddb.subkey("DeviceIds")
                for part in hwid.split("\\"):
                    ids = ids.subkey(part)
                assert ids.get(pkg.inf) == b"\x01\xff\x00\x00"
        assert any(p.service == "xenvbd" for p in desc.driver_packages) == desc.xen
    else:
        assert ddb is None and desc.driver_packages == ()


@SYSTEMS
@given(ws.system_hives())
def test_the_description_is_what_is_in_the_hive(generated: tuple[ws.GeneratedHive,
                                                                 ws.SystemDescription]) -> None:
    hive, desc = generated
    assert isinstance(hive, winmigrate.Hive) and hive.writable
    assert hive.recipe is desc
    _system_checks(hive, desc)
    again = winmigrate.Hive.from_bytes(hive.to_bytes())
    assert ws.read_tree(again.root, raw=True) == ws.read_tree(hive.root, raw=True)


@SYSTEMS
@given(ws.system_hives(max_nics=3))
def test_network_interfaces_read_back_as_described(
        generated: tuple[ws.GeneratedHive, ws.SystemDescription]) -> None:
    hive, desc = generated
    nics = {n.guid: n for n in network.interfaces(hive)}  # in the Tcpip keys' (sorted) order
    described = {n.guid: n for n in desc.current_set.nics}
    assert sorted(nics) == sorted(described)
    for guid, want in described.items():
        got = nics[guid]
        assert got.name == want.name
        assert got.class_key == want.class_key
        assert got.driver_desc == want.driver_desc and got.component_id == want.component_id
        assert got.service == want.service and got.present == want.present
        assert got.is_xen == want.is_xen, got.xen_evidence
        assert got.dhcp == want.dhcp
        assert tuple(got.ipv4) == want.ipv4
        assert tuple((g.address, g.metric) for g in got.gateways) == want.gateways
        assert tuple(got.dns_servers) == want.dns_servers
        assert got.dns_suffix == want.dns_suffix
        assert (got.dhcp_lease.address if got.dhcp_lease else None) == want.dhcp_address
        assert got.net_luid_index == want.net_luid_index
        if want.present:
            assert got.hardware_ids == want.hardware_ids
        assert not got.warnings, got.warnings
    assert network.global_settings(hive).hostname == desc.current_set.hostname


@pytest.mark.parametrize("style", ["cdd", "driver-database"])
@pytest.mark.parametrize("xen", [True, False])
def test_style_and_xen_can_be_fixed(style: str, xen: bool) -> None:
    hive, desc = find(ws.system_hives(style=style, xen=xen),  # type: ignore[arg-type]
                      lambda g: True, settings=FIND)
    assert desc.style == style and desc.xen == xen
    _system_checks(hive, desc)
    hive, desc = find(ws.system_hives(style=style, xen=xen),  # type: ignore[arg-type]
                      lambda g: len(g[1].current_set.nics) >= 2, settings=FIND)
    first = desc.current_set.nics[0]
    assert first.is_xen == xen  # with xen, the first adapter is the Xen PV NIC
    assert {n.guid for n in network.interfaces(hive) if n.is_xen} == {
        n.guid for n in desc.current_set.nics if n.is_xen}


def test_control_sets_numbered_ten_and_more() -> None:
    hive, desc = find(ws.system_hives(max_control_sets=3),
                      lambda g: any(cs.number >= 10 for cs in g[1].control_sets)
                      and len(g[1].control_sets) == 3 and g[1].current >= 10, settings=FIND)
    assert hive.current_control_set == f"ControlSet{desc.current:03d}"
    assert network.interfaces(hive) is not None  # resolves Select\Current >= 10


def test_as_bytes() -> None:
    data, desc = find(ws.system_hives(as_bytes=True), lambda g: True, settings=FIND)
    assert isinstance(data, bytes) and repr(data).startswith("GeneratedHiveBytes(<SYSTEM")
    with winmigrate.Hive.from_bytes(data) as hive:
        _system_checks(hive, desc)


def test_bad_arguments() -> None:
    from hypothesis.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        ws.system_hives(max_control_sets=0)
    with pytest.raises(InvalidArgument):
        ws.system_hives(control_set_numbers=(0, 1000))
