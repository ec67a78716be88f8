"""``winmigrate.windows.network`` on hives built by the tests: every field, every odd value."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

import pytest

from winmigrate import Hive, UsageError
from winmigrate.regf.regtype import RegType
from winmigrate.windows.controlsets import ControlSetError
from winmigrate.windows.netsettings import Gateway, Interface, NetbiosMode, net_luid
from winmigrate.windows.network import (
    global_settings,
    has_static_config,
    interfaces,
    interfaces_to_migrate,
    resolve_control_set,
)

from .fixtures import (
    GUID_E1000,
    GUID_NONAME,
    GUID_XEN,
    NSI6,
    Nic,
    Raw,
    Typed,
    e1000_dhcp_nic,
    noname_nic,
    standard_hive,
    system_bytes,
    system_hive,
    xen_static_nic,
)


def by_guid(nics: list[Interface]) -> dict[str, Interface]:
    return {n.guid: n for n in nics}


@pytest.fixture(scope="module")
def standard() -> dict[str, Interface]:
    return by_guid(interfaces(standard_hive()))


def test_static_multi_address_xen_nic(standard: dict[str, Interface]) -> None:
    nic = standard[GUID_XEN]
    assert nic.name == "Local Area Connection"
    assert nic.component_id == "xen\\vif"
    assert nic.driver_desc == "XenServer PV Network Device #0"
    assert nic.service == "xennet"
    assert nic.present and nic.is_xen
    assert nic.xen_evidence is not None
    assert nic.dhcp is False
    assert nic.ipv4 == [IPv4Interface("192.0.2.10/24"), IPv4Interface("192.0.2.11/16")]
    assert nic.gateways == [Gateway(IPv4Address("192.0.2.1"), 1),
                            Gateway(IPv4Address("192.0.2.254"), 20)]
    assert nic.dns_servers == [IPv4Address("192.0.2.53"), IPv4Address("192.0.2.54")]
    assert nic.dns_suffix == "corp.example"
    assert nic.register_dns is False
    assert nic.register_adapter_name is True
    assert nic.wins_servers == [IPv4Address("192.0.2.5"), IPv4Address("192.0.2.6")]
    assert nic.netbios is NetbiosMode.DISABLED
    assert nic.interface_metric == 15
    assert nic.mac_override == "02:16:3e:aa:bb:cc"
    assert nic.ipv6 == [IPv6Interface("2001:db8:0:1::10/64")]
    assert nic.ipv6_dns_servers == [IPv6Address("2001:db8::53"), IPv6Address("2001:db8::54")]
    assert nic.dhcp_lease is None  # leftover Lease/DhcpServer of a static interface ignored
    assert nic.ipv4_nsi == nic.ipv4
    assert nic.if_type == 6 and nic.net_luid_index == 3
    assert nic.net_luid == (6 << 48) | (3 << 24)
    assert nic.class_key == "0011"
    assert nic.control_set == "ControlSet001"
    assert nic.warnings == ()
    assert nic.has_static_config


def test_dhcp_nic_with_lease(standard: dict[str, Interface]) -> None:
    nic = standard[GUID_E1000]
    assert nic.dhcp is True
    assert nic.ipv4 == [] and nic.gateways == [] and nic.dns_servers == []
    assert not nic.is_xen
    lease = nic.dhcp_lease
    assert lease is not None
    assert lease.address == IPv4Address("10.20.30.40")
    assert lease.subnet_mask == IPv4Address("255.255.255.0")
    assert lease.server == IPv4Address("10.20.30.1")
    assert lease.gateways == [IPv4Address("10.20.30.1")]
    assert lease.dns_servers == [IPv4Address("10.20.30.2"), IPv4Address("10.20.30.3")]
    assert lease.domain == "dhcp.example"
    assert (lease.lease_seconds, lease.obtained, lease.expires, lease.t1, lease.t2) == (
        86400, 1700000000, 1700086400, 1700043200, 1700075600)
    assert nic.netbios is NetbiosMode.DHCP
    assert nic.register_dns is True  # RegistrationEnabled absent means enabled
    assert nic.register_adapter_name is None
    assert not nic.has_static_config


def test_interface_without_connection_name(standard: dict[str, Interface]) -> None:
    nic = standard[GUID_NONAME]
    assert nic.name is None
    assert nic.label == GUID_NONAME
    assert nic.present is False  # no device instance to find
    assert nic.dns_servers == [IPv4Address(f"198.51.100.{n}") for n in (53, 54, 55)]
    assert nic.ipv4 == [IPv4Interface("198.51.100.7/24")]


def test_to_dict_is_json(standard: dict[str, Interface]) -> None:
    for nic in standard.values():
        data = json.loads(json.dumps(nic.to_dict()))
        assert data["guid"] == nic.guid
    d = standard[GUID_XEN].to_dict()
    assert d["ipv4"] == ["192.0.2.10/24", "192.0.2.11/16"]
    assert d["gateways"] == [{"address": "192.0.2.1", "metric": 1},
                             {"address": "192.0.2.254", "metric": 20}]
    assert d["netbios"] == "disabled"
    assert d["net_luid"] == "0x0006000003000000"
    lease = standard[GUID_E1000].dhcp_lease
    assert lease is not None and lease.to_dict()["address"] == "10.20.30.40"


def test_order_and_guid_case() -> None:
    nic = e1000_dhcp_nic()
    nic.tcpip_guid_name = nic.guid.lower()[1:-1]  # no braces, lower case: still joins
    nics = interfaces(system_hive([nic]))
    assert [n.guid for n in nics] == [GUID_E1000]
    assert nics[0].name == "Local Area Connection 2"


def test_interfaces_to_migrate_prefers_xen_with_static_config(
        standard: dict[str, Interface]) -> None:
    assert [n.guid for n in interfaces_to_migrate(standard.values())] == [GUID_XEN]
    without_xen = [n for n in standard.values() if n.guid != GUID_XEN]
    assert [n.guid for n in interfaces_to_migrate(without_xen)] == [GUID_NONAME]
    assert interfaces_to_migrate([standard[GUID_E1000]]) == []


def test_xen_dhcp_nic_falls_back_to_static_ones() -> None:
    xen = xen_static_nic()
    xen.tcpip = {"EnableDHCP": 1}
    xen.tcpip6 = xen.netbt = None
    xen.nsi6 = []
    xen.nsi4 = []
    nics = interfaces(system_hive([xen, noname_nic()]))
    assert by_guid(nics)[GUID_XEN].is_xen
    assert not has_static_config(by_guid(nics)[GUID_XEN])
    assert [n.guid for n in interfaces_to_migrate(nics)] == [GUID_NONAME]


@pytest.mark.parametrize(("component", "desc", "service", "hwids", "expected"), [
    ("xen\\vif", "Xen Net Device Driver", None, [], True),
    ("XENVIF\\VEN_XS0001&DEV_NET&REV_00000001", "x", None, [], True),
    ("XENBUS\\VEN_XS0001&DEV_VIF", "x", None, [], True),
    ("pci\\ven_5853&dev_0001", "x", None, [], True),
    ("root\\other", "AWS PV Network Device #0", None, [], True),
    ("root\\other", "Citrix PV Ethernet Adapter #0", None, [], True),
    ("root\\other", "XCP-ng PV Network Device #0", None, [], True),
    ("root\\other", "Red Hat PV NIC Driver", None, [], True),
    ("root\\other", "Red Hat PV Network Device", None, [], True),
    ("root\\other", "Something", "xennet", [], True),
    ("root\\other", "Something", "xenvif", [], True),
    ("root\\other", "Something", None, ["XENVIF\\VEN_XS0001&DEV_NET"], True),
    ("pci\\ven_8086&dev_100e", "Intel(R) PRO/1000 MT", "E1G60", [], False),
    ("pci\\ven_1af4&dev_1000", "Red Hat VirtIO Ethernet Adapter", "netkvm", [], False),
    ("root\\other", "Citrix Virtual Adapter", None, [], False),
    ("pci\\ven_58530&dev_0001", "x", None, [], False),
])
def test_xen_detection(component: str, desc: str, service: str | None, hwids: list[str],
                       expected: bool) -> None:
    nic = Nic(guid=GUID_E1000, component_id=component, driver_desc=desc, service=service,
              hardware_ids=hwids or ["PCI\\VEN_8086&DEV_100E"], tcpip={"EnableDHCP": 1})
    (found,) = interfaces(system_hive([nic]))
    assert found.is_xen is expected, found.xen_evidence


def test_xen_nic_next_to_emulated_one() -> None:
    nics = by_guid(interfaces(system_hive([xen_static_nic(), e1000_dhcp_nic()])))
    assert nics[GUID_XEN].is_xen and not nics[GUID_E1000].is_xen
    assert "XENVIF" in (nics[GUID_XEN].xen_evidence or "") or "xen" in (
        nics[GUID_XEN].xen_evidence or "").lower()


def test_name_server_separators() -> None:
    for text in ("10.0.0.1,10.0.0.2", "10.0.0.1 10.0.0.2", "10.0.0.1;10.0.0.2",
                 " 10.0.0.1 , 10.0.0.2 ", "10.0.0.1,,0.0.0.0,10.0.0.2"):
        nic = Nic(guid=GUID_E1000, tcpip={"EnableDHCP": 0, "NameServer": text})
        (found,) = interfaces(system_hive([nic]))
        assert found.dns_servers == [IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")], text
        assert found.warnings == ()


def test_unequal_address_and_mask_lists() -> None:
    nic = Nic(guid=GUID_E1000, tcpip={
        "EnableDHCP": 0, "IPAddress": ["10.0.0.5", "10.0.0.6", "10.0.0.7"],
        "SubnetMask": ["255.255.255.0", "255.255.0.0"]})
    (found,) = interfaces(system_hive([nic]))
    assert found.ipv4 == [IPv4Interface("10.0.0.5/24"), IPv4Interface("10.0.0.6/16")]
    assert any("IPAddress has 3 entries but SubnetMask has 2" in w for w in found.warnings)


def test_values_of_wrong_types_and_bad_addresses() -> None:
    nic = Nic(guid=GUID_E1000, network_address="not-a-mac", tcpip={
        "EnableDHCP": Typed("0", RegType.SZ),                 # string instead of DWORD
        "IPAddress": Typed("10.0.0.5", RegType.SZ),            # SZ instead of MULTI_SZ
        "SubnetMask": ["255.0.255.0"],                         # not contiguous
        "DefaultGateway": ["10.0.0.300", "10.0.0.1"],
        "DefaultGatewayMetric": ["x", "5"],
        "NameServer": ["10.0.0.53"],                           # MULTI_SZ instead of SZ
        "RegistrationEnabled": Raw(b"\x01\x00", RegType.DWORD),  # DWORD of 2 bytes
        "InterfaceMetric": b"\x05",
    }, tcpip6={"NameServer": "fe80::1%12 192.0.2.1 not-an-address"},
        netbt={"NetbiosOptions": 7, "NameServerList": Typed("10.0.0.9", RegType.SZ)})
    (found,) = interfaces(system_hive([nic]))
    text = "\n".join(found.warnings)
    assert found.dhcp is False
    assert found.ipv4 == []  # the mask is unusable
    assert "not a usable netmask" in text
    assert found.gateways == [Gateway(IPv4Address("10.0.0.1"), 5)]
    assert "not an IP address: '10.0.0.300'" in text
    assert found.dns_servers == [IPv4Address("10.0.0.53")]
    assert "NameServer: expected a string" in text
    assert found.register_dns is True
    assert "RegistrationEnabled: expected a DWORD" in text
    assert found.interface_metric is None
    assert found.ipv6_dns_servers == [IPv6Address("fe80::1")]
    assert "zone id dropped" in text and "is not an IPv6 address" in text
    assert found.netbios is NetbiosMode.DHCP and "unknown value 7" in text
    assert found.wins_servers == [IPv4Address("10.0.0.9")]
    assert found.mac_override is None and "not a MAC address" in text


def test_dhcp_interface_with_stale_static_values_warns() -> None:
    nic = Nic(guid=GUID_E1000, tcpip={"EnableDHCP": 1, "IPAddress": ["10.9.9.9"],
                                      "SubnetMask": ["255.0.0.0"]})
    (found,) = interfaces(system_hive([nic]))
    assert found.dhcp and found.ipv4 == [IPv4Interface("10.9.9.9/8")]
    assert any("EnableDHCP is set" in w for w in found.warnings)
    assert not found.has_static_config


def test_missing_keys_are_fine() -> None:
    nic = Nic(guid=GUID_E1000, name=None, instance=None, component_id=None, driver_desc=None,
              if_type=None, luid_index=None, service=None, tcpip={})
    (found,) = interfaces(system_hive([nic]))
    assert found.dhcp is True and found.net_luid is None and found.warnings == ()
    assert interfaces(system_hive([])) == []


def test_no_enum_key_means_not_present() -> None:
    (found,) = interfaces(system_hive([e1000_dhcp_nic()], enum=False))
    assert found.present is False
    assert any("no Enum key" in w for w in found.warnings)


def test_device_instance_gone_means_not_present() -> None:
    nic = e1000_dhcp_nic()
    nic.present = False
    (found,) = interfaces(system_hive([nic]))
    assert found.present is False and found.device_instance_id == nic.instance


def test_ipv6_only_adapter_is_listed() -> None:
    nic = Nic(guid=GUID_E1000, tcpip=None, if_type=6, luid_index=9,
              nsi6=[("2001:db8::99", 48), ("fd00::1", 128)])
    (found,) = interfaces(system_hive([nic]))
    assert found.ipv6 == [IPv6Interface("2001:db8::99/48"), IPv6Interface("fd00::1/128")]
    assert found.has_static_config


def test_nsi_rows_join_by_full_luid() -> None:
    # Same NetLuidIndex, different IfType: the rows must not leak between adapters.
    a = Nic(guid=GUID_E1000, class_key="0001", if_type=6, luid_index=1,
            nsi6=[("2001:db8::1", 64)], tcpip={"EnableDHCP": 1})
    b = Nic(guid=GUID_XEN, class_key="0002", if_type=71, luid_index=1, name="Wi-Fi",
            instance="PCI\\VEN_14E4&DEV_4727\\1", nsi6=[("2001:db8::2", 64)],
            tcpip={"EnableDHCP": 1})
    nics = by_guid(interfaces(system_hive([a, b])))
    assert nics[GUID_E1000].ipv6 == [IPv6Interface("2001:db8::1/64")]
    assert nics[GUID_XEN].ipv6 == [IPv6Interface("2001:db8::2/64")]


def test_nsi_ipv4_disagreement_is_reported() -> None:
    nic = Nic(guid=GUID_E1000, tcpip={"EnableDHCP": 0, "IPAddress": ["10.0.0.5"],
                                      "SubnetMask": ["255.255.255.0"]},
              nsi4=[("10.0.0.6", 24)])
    (found,) = interfaces(system_hive([nic]))
    assert found.ipv4_nsi == [IPv4Interface("10.0.0.6/24")]
    assert any("NSI store" in w for w in found.warnings)


def test_net_luid_layout() -> None:
    # Reserved:24 | NetLuidIndex:24 | IfType:16, low bit first.
    assert net_luid(6, 7) == 0x0006000007000000
    assert net_luid(6, 7).to_bytes(8, "little").hex() == "0000000700000600"
    assert net_luid(71, 32768).to_bytes(8, "little").hex() == "0000000080004700"


def test_control_set_002_current() -> None:
    old = e1000_dhcp_nic()
    new = e1000_dhcp_nic()
    new.tcpip = {"EnableDHCP": 0, "IPAddress": ["10.2.2.2"], "SubnetMask": ["255.255.255.0"]}
    hive = system_hive(current=2, sets={1: [old], 2: [new]})
    assert resolve_control_set(hive) == "ControlSet002"
    (cur,) = interfaces(hive)
    assert cur.control_set == "ControlSet002" and cur.ipv4 == [IPv4Interface("10.2.2.2/24")]
    for spec in (1, "1", "001", "ControlSet001", "controlset001"):
        (first,) = interfaces(hive, spec)
        assert first.control_set == "ControlSet001" and first.dhcp
    assert interfaces(hive, "CurrentControlSet")[0].control_set == "ControlSet002"


def test_control_set_errors() -> None:
    hive = system_hive([e1000_dhcp_nic()])
    with pytest.raises(ControlSetError, match="ControlSet003 is not in this hive"):
        interfaces(hive, 3)
    for bad in ("x", 0, 1000, True, 1.5):
        with pytest.raises(UsageError):
            interfaces(hive, bad)  # type: ignore[arg-type]


def test_hive_without_select_uses_its_only_control_set() -> None:
    hive = system_hive([e1000_dhcp_nic()], current=None)
    assert resolve_control_set(hive) == "ControlSet001"
    two = system_hive(current=None, sets={1: [], 2: []})
    with pytest.raises(ControlSetError, match="no Select key"):
        interfaces(two)


def test_global_settings() -> None:
    hive = system_hive([], tcpip_params={
        "Hostname": "oldname", "NV Hostname": "newname", "Domain": "old.example",
        "NV Domain": "new.example", "SearchList": "a.example,b.example c.example",
        "DhcpDomain": "dhcp.example", "SyncDomainWithMembership": 1},
        routes=("10.10.0.0,255.255.0.0,192.0.2.1,5", "0.0.0.0,0.0.0.0,192.0.2.254,-1",
                "garbage", "10.1.0.0,255.0.255.0,192.0.2.1,1"))
    g = global_settings(hive)
    assert g.hostname == "newname" and g.active_hostname == "oldname"
    assert g.primary_dns_suffix == "new.example"
    assert g.domain == "old.example" and g.nv_domain == "new.example"
    assert g.search_list == ["a.example", "b.example", "c.example"]
    assert g.dhcp_domain == "dhcp.example" and g.sync_domain_with_membership is True
    assert g.computer_name == "WINSRV"
    assert [(str(r.destination), str(r.gateway), r.metric) for r in g.persistent_routes] == [
        ("10.10.0.0/16", "192.0.2.1", 5), ("0.0.0.0/0", "192.0.2.254", -1)]
    text = "\n".join(g.warnings)
    assert "rename is pending" in text and "NV Domain" in text
    assert "cannot read route 'garbage'" in text and "bad mask" in text
    assert json.loads(json.dumps(g.to_dict()))["primary_dns_suffix"] == "new.example"


def test_global_settings_domain_without_nv() -> None:
    g = global_settings(system_hive([], tcpip_params={"Hostname": "h", "Domain": "x.example"}))
    assert g.hostname == "h" and g.primary_dns_suffix == "x.example" and g.warnings == ()
    empty = global_settings(system_hive([], tcpip_params={}, computer_name=None))
    assert empty.hostname is None and empty.primary_dns_suffix is None
    assert empty.search_list == [] and empty.persistent_routes == []


def test_multi_string_stops_at_first_empty_entry() -> None:
    raw = "10.0.0.5\0\0" "10.0.0.6\0\0"  # an empty string inside the list
    nic = Nic(guid=GUID_E1000, tcpip={
        "EnableDHCP": 0, "IPAddress": Raw(raw.encode("utf-16-le"), RegType.MULTI_SZ),
        "SubnetMask": ["255.255.255.0", "255.255.255.0"]})
    (found,) = interfaces(system_hive([nic]))
    assert found.ipv4 == [IPv4Interface("10.0.0.5/24")]
    assert any("after an empty string" in w for w in found.warnings)


def test_unreadable_nsi_rows_are_reported() -> None:
    hive = Hive.from_bytes(system_bytes([e1000_dhcp_nic()]), writable=True)
    rows = hive.root.create_key(f"ControlSet001\\Control\\Nsi\\{NSI6}\\10")
    rows.set_value("zz" * 24, raw=b"\x00" * 48)                  # not hex
    rows.set_value("00" * 8 + "20010db8" + "00" * 12, raw=b"\x00" * 10)  # data too short
    rows.set_value("00" * 8 + "20010db8" + "00" * 11 + "01", raw=b"\x00" * 16 + b"\xc8")
    (found,) = interfaces(Hive.from_bytes(hive.to_bytes()))
    text = "\n".join(found.warnings)
    assert "is not LUID+IPv6 address" in text
    assert "data too short" in text
    assert "prefix length 200 out of range" in text
