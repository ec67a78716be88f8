"""Persistent routes and IPv6 default gateways from the NSI forward table (``windows.nsi``):
the layout checked against a real hive, then carried into every script target."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import winmigrate
from tests.helpers import corpus_file
from tests.network.fixtures import GUID_E1000, NSI4, NSI6, Nic, luid_hex, system_bytes
from winmigrate.convert.netscript import build_script
from winmigrate.convert.netscript.agentcmd import agent_network_script
from winmigrate.regf.regtype import RegType
from winmigrate.windows.network import interfaces
from winmigrate.windows.nsi import nsi_routes

WIN7 = "mkorman90_regipy/_history/9726b9e2ee/regipy_tests/data/SYSTEM"


def route_row(if_type: int, index: int, dest: str, hop: str | None,
              metric: int | None) -> tuple[str, bytes]:
    """A forward-table value, encoded here independently of winmigrate (Wine's nsi.h)."""
    net = IPv6Network(dest) if ":" in dest else IPv4Network(dest)
    v6 = net.version == 6
    luid = bytes.fromhex(luid_hex(if_type, index))
    hop_bytes = (IPv6Address(hop) if v6 else IPv4Address(hop)).packed if hop else \
        bytes(16 if v6 else 4)
    key = (bytes(4) + net.network_address.packed + bytes([net.prefixlen]) + bytes(3)
           + bytes(12) + (bytes(4) if v6 else b"") + luid + luid + hop_bytes
           + (b"" if v6 else bytes(4)))
    rw = struct.pack("<IIII", 0, 0xFFFFFFFF, 0xFFFFFFFF,
                     0xFFFFFFFF if metric is None else metric) + b"\xff" * 16
    return key.hex(), rw


def test_layout_on_the_windows7_hive(corpus: Path) -> None:
    """The IPv4 rows of a real hive decode to the gateways its Tcpip keys name, on the LUIDs of
    the same adapters."""
    with winmigrate.open(corpus_file(WIN7), logs="ignore") as hive:
        rows, warnings = nsi_routes(hive.key("ControlSet001"), NSI4, 4)
        assert warnings == [] and len(rows) == 2
        for nic in interfaces(hive, "ControlSet001"):
            if not nic.gateways:
                continue
            (route,) = rows[nic.net_luid]
            assert route.destination == IPv4Network("0.0.0.0/0")
            assert [route.next_hop] == [g.address for g in nic.gateways]


def _nic_with_routes() -> Nic:
    return Nic(guid=GUID_E1000, tcpip={"EnableDHCP": 1}, if_type=6, luid_index=9,
               nsi6=[("2001:db8:1::10", 64)])


def _hive_with_routes() -> winmigrate.Hive:
    writable = winmigrate.Hive.from_bytes(system_bytes([_nic_with_routes()]), writable=True)
    table = writable.root.subkey("ControlSet001").create_key(rf"Control\Nsi\{NSI6}\16")
    for dest, hop, metric in (("::/0", "fe80::1", None), ("2001:db8:99::/48", "2001:db8:1::1", 25),
                              ("2001:db8:77::/64", None, None)):
        name, raw = route_row(6, 9, dest, hop, metric)
        table.set_value(name, raw=raw, type=RegType.BINARY)
    table.set_value("nothex", raw=b"\x00", type=RegType.BINARY)
    return winmigrate.Hive.from_bytes(writable.to_bytes())


def test_ipv6_routes_are_read_and_carried() -> None:
    hive = _hive_with_routes()
    (nic,) = interfaces(hive)
    assert [(str(r.destination), r.next_hop and str(r.next_hop), r.metric)
            for r in nic.ipv6_routes] == [("::/0", "fe80::1", None),
                                          ("2001:db8:99::/48", "2001:db8:1::1", 25),
                                          ("2001:db8:77::/64", None, None)]
    assert nic.ipv6_routes[0].is_default and nic.has_static_config
    assert any("not a route key" in w for w in nic.warnings)
    agent = agent_network_script(nic).text
    assert ('netsh interface ipv6 add route prefix=::/0 interface="winmigrate-nic" '
            "nexthop=fe80::1 store=persistent") in agent
    assert ('netsh interface ipv6 add route prefix=2001:db8:99::/48 interface="winmigrate-nic" '
            "nexthop=2001:db8:1::1 metric=25 store=persistent") in agent
    assert ('netsh interface ipv6 add route prefix=2001:db8:77::/64 interface="winmigrate-nic" '
            "store=persistent") in agent
    assert "nexthop" not in agent_network_script(nic, ipv6=False).text
    netsh = build_script([nic], target="netsh").text
    assert "netsh interface ipv6 add route prefix=::/0" in netsh
    ps = build_script([nic], target="powershell").text
    assert "New-NetRoute -InterfaceIndex $idx -AddressFamily IPv6 -DestinationPrefix '::/0' " \
           "-NextHop 'fe80::1'" in ps
    assert "-RouteMetric 25" in ps
