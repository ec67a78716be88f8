"""SYSTEM-shaped hives for the network tests, built with ``winmigrate.create()``.

A :class:`Nic` describes one adapter: its network class instance, connection, Enum device,
Tcpip/Tcpip6/NetBT interface keys and NSI rows. :func:`system_hive` lays them out under
``ControlSetNNN`` (with ``Select``) and returns the hive re-read from its bytes, so the tests
read what a file would hold. Value data: plain Python values get the type ``set_value`` infers
(str -> SZ, int -> DWORD, list -> MULTI_SZ, bytes -> BINARY); ``Typed(data, RegType.X)`` and
``Raw(bytes, RegType.X)`` force a type or raw bytes (for the wrong-type cases).

The NSI value names are encoded here independently of ``winmigrate.windows.network``: NET_LUID as 8
little-endian bytes, then the address, then (IPv4 only) 4 bytes of padding -- the layout seen
in the Windows 7 corpus hive.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Any

import winmigrate
from winmigrate import Hive
from winmigrate.regf.regtype import RegType

NET = "{4D36E972-E325-11CE-BFC1-08002BE10318}"
NSI4 = "{eb004a00-9b1a-11d4-9123-0050047759bc}"
NSI6 = "{eb004a01-9b1a-11d4-9123-0050047759bc}"

GUID_XEN = "{11111111-2222-3333-4444-555555555555}"
GUID_E1000 = "{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}"
GUID_NONAME = "{0F0F0F0F-0000-1111-2222-333333333333}"


@dataclass(frozen=True)
class Typed:
    data: Any
    type: RegType


@dataclass(frozen=True)
class Raw:
    data: bytes
    type: RegType | int = RegType.BINARY


@dataclass
class Nic:
    guid: str
    class_key: str = "0007"
    name: str | None = "Local Area Connection"
    component_id: str | None = "pci\\ven_8086&dev_100e"
    driver_desc: str | None = "Intel(R) PRO/1000 MT Network Connection"
    instance: str | None = "PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02\\3&267A616A&0&18"
    present: bool = True
    service: str | None = "E1G60"
    hardware_ids: list[str] = field(default_factory=lambda: ["PCI\\VEN_8086&DEV_100E"])
    if_type: int | None = 6
    luid_index: int | None = 1
    network_address: str | None = None
    class_extra: dict[str, Any] = field(default_factory=dict)
    tcpip: dict[str, Any] | None = field(default_factory=dict)
    tcpip_guid_name: str | None = None  # the Tcpip subkey name, when not the GUID as given
    tcpip6: dict[str, Any] | None = None
    netbt: dict[str, Any] | None = None
    nsi6: list[tuple[str, int]] = field(default_factory=list)
    nsi4: list[tuple[str, int]] = field(default_factory=list)


def set_values(key: winmigrate.Key, values: dict[str, Any]) -> None:
    for name, data in values.items():
        if isinstance(data, Typed):
            key.set_value(name, data.data, type=data.type)
        elif isinstance(data, Raw):
            key.set_value(name, raw=data.data, type=data.type)
        else:
            key.set_value(name, data)


def luid_hex(if_type: int, index: int) -> str:
    return struct.pack("<Q", (if_type << 48) | (index << 24)).hex()


def nsi_row(if_type: int, index: int, address: str, prefix: int) -> tuple[str, bytes]:
    """One NSI unicast-address value: name and data (lifetimes, origins, prefix at 16)."""
    addr = ipaddress.ip_address(address)
    name = luid_hex(if_type, index) + addr.packed.hex() + ("00000000" if addr.version == 4 else "")
    data = b"\xff" * 8 + struct.pack("<II", 0x10, 0x10) + bytes([prefix]) + b"\xff" * 31
    return name, data


def add_nic(cs: winmigrate.Key, nic: Nic, *, enum: bool = True) -> None:
    cls = cs.create_key(f"Control\\Class\\{NET}\\{nic.class_key}")
    values: dict[str, Any] = {"NetCfgInstanceId": nic.guid}
    if nic.component_id is not None:
        values["ComponentId"] = nic.component_id
        values["MatchingDeviceId"] = nic.component_id
    if nic.driver_desc is not None:
        values["DriverDesc"] = nic.driver_desc
    if nic.instance is not None:
        values["DeviceInstanceID"] = nic.instance
    if nic.if_type is not None:
        values["*IfType"] = nic.if_type
    if nic.luid_index is not None:
        values["NetLuidIndex"] = nic.luid_index
    if nic.network_address is not None:
        values["NetworkAddress"] = nic.network_address
    values.update(nic.class_extra)
    set_values(cls, values)
    if nic.service:
        cls.create_key("Ndi").set_value("Service", nic.service)
    if nic.name is not None or nic.instance is not None:
        conn = cs.create_key(f"Control\\Network\\{NET}\\{nic.guid}\\Connection")
        if nic.name is not None:
            conn.set_value("Name", nic.name)
        if nic.instance is not None:
            conn.set_value("PnPInstanceId", nic.instance)
    if nic.instance is not None and nic.present and enum:
        dev = cs.create_key("Enum\\" + nic.instance)
        dev.set_value("HardwareID", nic.hardware_ids)
        if nic.service:
            dev.set_value("Service", nic.service)
        dev.set_value("ClassGUID", NET.lower())
    if nic.tcpip is not None:
        name = nic.tcpip_guid_name or nic.guid
        set_values(cs.create_key(f"Services\\Tcpip\\Parameters\\Interfaces\\{name}"), nic.tcpip)
    if nic.tcpip6 is not None:
        key = cs.create_key(f"Services\\Tcpip6\\Parameters\\Interfaces\\{nic.guid.lower()}")
        set_values(key, nic.tcpip6)
    if nic.netbt is not None:
        key = cs.create_key(f"Services\\NetBT\\Parameters\\Interfaces\\Tcpip_{nic.guid}")
        set_values(key, nic.netbt)
    for table, rows in ((NSI6, nic.nsi6), (NSI4, nic.nsi4)):
        if rows:
            assert nic.if_type is not None and nic.luid_index is not None
            key = cs.create_key(f"Control\\Nsi\\{table}\\10")
            for address, prefix in rows:
                name, data = nsi_row(nic.if_type, nic.luid_index, address, prefix)
                key.set_value(name, raw=data, type=RegType.BINARY)


def system_hive(nics: list[Nic] | None = None, **kwargs: Any) -> Hive:
    """The hive :func:`system_bytes` builds, opened read-only from its bytes."""
    return Hive.from_bytes(system_bytes(nics, **kwargs))


def system_bytes(nics: list[Nic] | None = None, *, current: int | None = 1,
                sets: dict[int, list[Nic]] | None = None,
                tcpip_params: dict[str, Any] | None = None,
                routes: tuple[str, ...] = (),
                computer_name: str | None = "WINSRV", enum: bool = True) -> bytes:
    """The bytes of a SYSTEM hive holding ``nics`` in ControlSet001 (or ``sets``: number ->
    nics), with ``Select\\Current`` = ``current`` (no ``Select`` key when ``None``)."""
    hive = winmigrate.create("SYSTEM")
    root = hive.root
    if current is not None:
        select = root.create_key("Select")
        set_values(select, {"Current": current, "Default": current, "LastKnownGood": current,
                            "Failed": 0})
    layout = sets if sets is not None else {1: nics or []}
    for number, members in layout.items():
        cs = root.create_key(f"ControlSet{number:03d}")
        cs.create_key(f"Control\\Class\\{NET}\\Properties")
        if enum:
            cs.create_key("Enum\\Root")
        params = cs.create_key("Services\\Tcpip\\Parameters")
        set_values(params, tcpip_params if tcpip_params is not None else
                   {"Hostname": "winsrv", "NV Hostname": "winsrv", "Domain": "corp.example",
                    "NV Domain": "corp.example", "SearchList": ""})
        if routes:
            rkey = params.create_key("PersistentRoutes")
            for route in routes:
                rkey.set_value(route, "")
        if computer_name is not None:
            cs.create_key("Control\\ComputerName\\ComputerName").set_value(
                "ComputerName", computer_name)
        for nic in members:
            add_nic(cs, nic, enum=enum)
    return hive.to_bytes()


# -- the standard scenario -----------------------------------------------------------------------


def xen_static_nic() -> Nic:
    """A XenServer PV NIC with every static setting: two addresses, two gateways with metrics,
    comma-separated DNS, suffix, dynamic DNS off, adapter-name registration on, two WINS,
    NetBIOS disabled, interface metric, MAC override, a static IPv6 address in the NSI store,
    IPv6 DNS servers (space-separated) in Tcpip6."""
    return Nic(
        guid=GUID_XEN, class_key="0011", name="Local Area Connection",
        component_id="xen\\vif", driver_desc="XenServer PV Network Device #0",
        instance="XENVIF\\VEN_XS0001&DEV_NET&REV_00000001\\0", service="xennet",
        hardware_ids=["XENVIF\\VEN_XS0001&DEV_NET&REV_00000001", "XENVIF\\VEN_XS0001&DEV_NET"],
        if_type=6, luid_index=3, network_address="02-16-3E-AA-BB-CC",
        tcpip={
            "EnableDHCP": 0,
            "IPAddress": ["192.0.2.10", "192.0.2.11"],
            "SubnetMask": ["255.255.255.0", "255.255.0.0"],
            "DefaultGateway": ["192.0.2.1", "192.0.2.254"],
            "DefaultGatewayMetric": ["1", "20"],
            "NameServer": "192.0.2.53,192.0.2.54",
            "Domain": "corp.example",
            "RegistrationEnabled": 0,
            "RegisterAdapterName": 1,
            "InterfaceMetric": 15,
            "Lease": 0, "DhcpServer": "255.255.255.255",
        },
        tcpip6={"NameServer": "2001:db8::53 2001:db8::54"},
        netbt={"NameServerList": ["192.0.2.5", "192.0.2.6"], "NetbiosOptions": 2},
        nsi6=[("2001:db8:0:1::10", 64)],
        nsi4=[("192.0.2.10", 24), ("192.0.2.11", 16)],
    )


def e1000_dhcp_nic() -> Nic:
    """An emulated e1000 on DHCP, with the lease values the DHCP client stores."""
    return Nic(
        guid=GUID_E1000, class_key="0007", name="Local Area Connection 2",
        if_type=6, luid_index=2,
        tcpip={
            "EnableDHCP": 1, "IPAddress": ["0.0.0.0"], "SubnetMask": ["0.0.0.0"],
            "DefaultGateway": [], "NameServer": "", "Domain": "",
            "DhcpIPAddress": "10.20.30.40", "DhcpSubnetMask": "255.255.255.0",
            "DhcpServer": "10.20.30.1", "DhcpDefaultGateway": ["10.20.30.1"],
            "DhcpNameServer": "10.20.30.2 10.20.30.3", "DhcpDomain": "dhcp.example",
            "Lease": 86400, "LeaseObtainedTime": 1700000000, "LeaseTerminatesTime": 1700086400,
            "T1": 1700043200, "T2": 1700075600,
        },
        netbt={"NameServerList": [], "NetbiosOptions": 0},
    )


def noname_nic() -> Nic:
    """An adapter with TCP/IP settings but no Connection key (so no name), NT-style
    space-separated name servers."""
    return Nic(
        guid=GUID_NONAME, class_key="0003", name=None, instance=None,
        component_id="ms_loop", driver_desc="Microsoft Loopback Adapter", if_type=6,
        luid_index=5, service=None,
        tcpip={"EnableDHCP": 0, "IPAddress": ["198.51.100.7"], "SubnetMask": ["255.255.255.0"],
               "NameServer": "198.51.100.53 198.51.100.54;198.51.100.55"},
    )


def standard_bytes() -> bytes:
    return system_bytes([xen_static_nic(), e1000_dhcp_nic(), noname_nic()])


def standard_hive() -> Hive:
    return Hive.from_bytes(standard_bytes())
