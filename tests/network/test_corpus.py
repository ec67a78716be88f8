"""``interfaces()`` on every SYSTEM hive of the shared corpus, against an independent reader.

The expected values are read with python-registry (``from Registry import Registry``) and, where
it cannot parse a key of a damaged hive, dissect.regf -- never through winmigrate -- and turned
into expected fields by the simple rules written out below (not winmigrate's parser). Logs are
not replayed on either side (``logs="ignore"``), so both read the same primary file.

The NSI encoding is checked on the Windows 7 hive with python-registry and, byte for byte, with
hivex's Python binding (run by the system interpreter).

Skipped cleanly when ``../shared/corpus`` is absent.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import re
import struct
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import winmigrate
from winmigrate import HiveFormatError
from winmigrate.windows.netsettings import Interface
from winmigrate.windows.network import interfaces

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "corpus"
MANIFEST = SHARED / "MANIFEST.tsv"
NET = "{4D36E972-E325-11CE-BFC1-08002BE10318}"
NSI4 = "{eb004a00-9b1a-11d4-9123-0050047759bc}"
NSI6 = "{eb004a01-9b1a-11d4-9123-0050047759bc}"
WIN7 = ["mkorman90_regipy/regipy_tests/data/SYSTEM",
        "mkorman90_regipy/_history/9726b9e2ee/regipy_tests/data/SYSTEM"]

pytestmark = pytest.mark.corpus

# Totals over the run, printed by the last test (pytest -s) and checked for a floor.
TOTALS: Counter[str] = Counter()


def system_hive_paths() -> list[str]:
    if not MANIFEST.exists():
        return []
    with MANIFEST.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return sorted(r["relpath"] for r in rows if r["hive_kind"].startswith("SYSTEM")
                  and "not staged" not in r.get("notes", ""))


# -- the independent reader ---------------------------------------------------------------------


class OKey:
    """A key as the oracle reads it: lower-cased value names -> (type, decoded data)."""

    def __init__(self, name: str, values: dict[str, tuple[int, Any]], subkeys: list[str],
                 source: str) -> None:
        self.name = name
        self.values = values
        self.subkeys = subkeys
        self.source = source

    def get(self, name: str) -> Any:
        entry = self.values.get(name.lower())
        return None if entry is None else entry[1]


class Oracle:
    """python-registry first; dissect.regf for keys python-registry cannot parse."""

    def __init__(self, path: Path) -> None:
        from Registry import Registry  # type: ignore[import-untyped]

        self._pr = Registry.Registry(str(path))
        self._path = path
        self._ds: Any = None
        self.sources: Counter[str] = Counter()

    def _dissect(self) -> Any:
        if self._ds is None:
            from dissect.regf import RegistryHive  # type: ignore[import-untyped]

            self._ds = RegistryHive(self._path.open("rb"))
        return self._ds

    def key(self, path: str) -> OKey | None:
        from Registry import Registry

        try:
            k = self._pr.open(path)
            values = {}
            for v in k.values():
                values[v.name().lower()] = (v.value_type(), _clean(v.value_type(), v.value()))
            out = OKey(k.name(), values, [s.name() for s in k.subkeys()], "python-registry")
        except Registry.RegistryKeyNotFoundException:
            return None
        except Exception:  # a damaged key python-registry cannot parse
            try:
                k = self._dissect().open(path)
                values = {v.name.lower(): (v.type, _clean(v.type, v.value)) for v in k.values()}
                out = OKey(k.name, values, [s.name for s in k.subkeys()], "dissect.regf")
            except Exception:
                self.sources["unreadable"] += 1
                return None
        self.sources[out.source] += 1
        return out

    def child(self, parent: str, name: str) -> OKey | None:
        """A subkey found by case-insensitive name (the readers differ on case handling)."""
        p = self.key(parent)
        if p is None:
            return None
        for sub in p.subkeys:
            if sub.lower() == name.lower():
                return self.key(f"{parent}\\{sub}")
        return None


def _clean(vtype: int, data: Any) -> Any:
    if vtype == 7 and isinstance(data, list):
        # python-registry turns the list terminator into trailing empty strings; Windows
        # reads a REG_MULTI_SZ up to its first empty string.
        out = []
        for s in data:
            if s == "":
                break
            out.append(s)
        return out
    if isinstance(data, str):
        return data.split("\x00", 1)[0]
    return data


# -- expected fields, from oracle data ---------------------------------------------------------


def _ip_list(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    items = [s for s in re.split(r"[,; \t]+", text) if s]
    return [s for s in dict.fromkeys(items) if s not in ("0.0.0.0", "::")]


def _prefix(mask: str) -> int:
    return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen


def expected(o: Oracle, cs: str, tcp_name: str) -> dict[str, Any]:
    guid = "{" + tcp_name.strip("{}").upper() + "}"
    tcp = o.key(f"{cs}\\Services\\Tcpip\\Parameters\\Interfaces\\{tcp_name}")
    assert tcp is not None
    exp: dict[str, Any] = {"guid": guid}
    dhcp = tcp.get("EnableDHCP")
    exp["dhcp"] = True if dhcp is None else bool(dhcp)
    addrs = tcp.get("IPAddress") or []
    masks = tcp.get("SubnetMask") or []
    exp["ipv4"] = [f"{a.strip()}/{_prefix(m.strip())}" for a, m in zip(addrs, masks, strict=False)
                   if a.strip() and a.strip() != "0.0.0.0"]
    gws = tcp.get("DefaultGateway") or []
    metrics = tcp.get("DefaultGatewayMetric") or []
    exp["gateways"] = [{"address": g, "metric": int(metrics[i]) if i < len(metrics) else None}
                       for i, g in enumerate(gws) if g and g != "0.0.0.0"]
    exp["dns_servers"] = _ip_list(tcp.get("NameServer"))
    exp["dns_suffix"] = tcp.get("Domain") or None
    reg = tcp.get("RegistrationEnabled")
    exp["register_dns"] = True if reg is None else bool(reg)
    ran = tcp.get("RegisterAdapterName")
    exp["register_adapter_name"] = None if ran is None else bool(ran)
    exp["interface_metric"] = tcp.get("InterfaceMetric")
    if exp["dhcp"] and any(tcp.get(n) is not None for n in ("DhcpIPAddress", "DhcpServer",
                                                            "Lease")):
        server = tcp.get("DhcpServer")
        exp["dhcp_lease"] = {
            "address": tcp.get("DhcpIPAddress") or None,
            "subnet_mask": tcp.get("DhcpSubnetMask") or None,
            "server": None if server in (None, "", "255.255.255.255") else server,
            "gateways": [g for g in tcp.get("DhcpDefaultGateway") or [] if g != "0.0.0.0"],
            "dns_servers": _ip_list(tcp.get("DhcpNameServer")),
            "domain": tcp.get("DhcpDomain") or None,
            "lease_seconds": tcp.get("Lease"), "obtained": tcp.get("LeaseObtainedTime"),
            "expires": tcp.get("LeaseTerminatesTime"), "t1": tcp.get("T1"), "t2": tcp.get("T2"),
        }
    else:
        exp["dhcp_lease"] = None

    nbt = o.child(f"{cs}\\Services\\NetBT\\Parameters\\Interfaces", f"Tcpip_{guid}")
    exp["wins_servers"] = [s for s in (nbt.get("NameServerList") if nbt else None) or []]
    opt = nbt.get("NetbiosOptions") if nbt else None
    exp["netbios"] = {0: "dhcp", 1: "enabled", 2: "disabled"}[opt or 0]
    t6 = o.child(f"{cs}\\Services\\Tcpip6\\Parameters\\Interfaces", guid)
    exp["ipv6_dns_servers"] = _ip_list(t6.get("NameServer")) if t6 else []

    conn = o.child(f"{cs}\\Control\\Network\\{NET}", guid)
    conn_key = o.key(f"{cs}\\Control\\Network\\{NET}\\{conn.name}\\Connection") if conn else None
    exp["name"] = (conn_key.get("Name") or None) if conn_key else None
    pnp = (conn_key.get("PnPInstanceId") or None) if conn_key else None

    adapter = find_adapter(o, cs, guid)
    exp["component_id"] = (adapter.get("ComponentId") or None) if adapter else None
    exp["driver_desc"] = (adapter.get("DriverDesc") or None) if adapter else None
    exp["class_key"] = adapter.name if adapter else None
    instance = ((adapter.get("DeviceInstanceID") if adapter else None) or pnp) or None
    exp["device_instance_id"] = instance
    dev = o.key(f"{cs}\\Enum\\{instance}") if instance else None
    exp["present"] = dev is not None
    ndi = o.key(f"{cs}\\Control\\Class\\{NET}\\{adapter.name}\\Ndi") if adapter else None
    exp["service"] = ((dev.get("Service") if dev else None)
                      or (ndi.get("Service") if ndi else None) or None)
    if_type = adapter.get("*IfType") if adapter else None
    index = adapter.get("NetLuidIndex") if adapter else None
    exp["ipv4_nsi"] = nsi_rows(o, cs, NSI4, if_type, index, 4)
    exp["ipv6"] = nsi_rows(o, cs, NSI6, if_type, index, 16)
    return exp


def find_adapter(o: Oracle, cs: str, guid: str) -> OKey | None:
    parent = f"{cs}\\Control\\Class\\{NET}"
    cls = o.key(parent)
    if cls is None:
        return None
    for sub in cls.subkeys:
        if len(sub) == 4 and sub.isdigit():
            k = o.key(f"{parent}\\{sub}")
            cid = k.get("NetCfgInstanceId") if k else None
            if isinstance(cid, str) and cid.upper() == guid:
                return k
    return None


def nsi_rows(o: Oracle, cs: str, table: str, if_type: Any, index: Any, size: int) -> list[str]:
    if not isinstance(if_type, int) or not isinstance(index, int):
        return []
    key = o.child(f"{cs}\\Control\\Nsi", table)
    rows = o.key(f"{cs}\\Control\\Nsi\\{key.name}\\10") if key else None
    if rows is None:
        return []
    prefix = struct.pack("<Q", (if_type << 48) | (index << 24)).hex()
    out = []
    for name, (_t, data) in rows.values.items():
        if name.startswith(prefix):
            packed = bytes.fromhex(name[16:16 + 2 * size])
            addr = ipaddress.ip_address(packed)
            out.append(f"{addr}/{data[16]}")
    return out


FIELDS = ["dhcp", "ipv4", "gateways", "dns_servers", "dns_suffix", "register_dns",
          "register_adapter_name", "interface_metric", "dhcp_lease", "wins_servers", "netbios",
          "ipv6_dns_servers", "name", "component_id", "driver_desc", "class_key",
          "device_instance_id", "present", "service", "ipv4_nsi", "ipv6"]


def read_with_winmigrate(path: Path, cs: str) -> tuple[list[Interface], str]:
    try:
        with winmigrate.open(path, logs="ignore") as hive:
            return interfaces(hive, cs), "strict"
    except HiveFormatError:
        with winmigrate.open(path, logs="ignore", strict=False) as hive:
            return interfaces(hive, cs), "tolerant"


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("relpath", system_hive_paths() or [
    pytest.param("none", marks=pytest.mark.skip(reason="no corpus manifest"))])
def test_interfaces_match_independent_reader(corpus: Path, relpath: str) -> None:
    path = corpus / relpath
    o = Oracle(path)
    root = o.key("")
    sets = [s for s in (root.subkeys if root else []) if re.fullmatch(r"(?i)controlset\d{3}", s)]
    assert sets, "no control set"
    for cs in sets:
        tcp = o.key(f"{cs}\\Services\\Tcpip\\Parameters\\Interfaces")
        nics, mode = read_with_winmigrate(path, cs)
        got = {n.guid: n.to_dict() for n in nics}
        if tcp is None:
            # Neither reader finds TCP/IP interfaces in this control set (e.g. the corrupted
            # XP hive's ControlSet003, or an installation image).
            assert all(not d["ipv4"] and d["dhcp"] for d in got.values()) or not got
            TOTALS["control sets without Tcpip interfaces"] += 1
            continue
        TOTALS["control sets compared"] += 1
        want_guids = {"{" + t.strip("{}").upper() + "}" for t in tcp.subkeys}
        assert set(got) >= want_guids, (cs, sorted(want_guids - set(got)))
        for tcp_name in tcp.subkeys:
            exp = expected(o, cs, tcp_name)
            have = got[exp["guid"]]
            TOTALS["interfaces compared"] += 1
            TOTALS[f"interfaces read {mode}"] += 1
            for field in FIELDS:
                TOTALS["values compared"] += 1
                assert have[field] == exp[field], (relpath, cs, exp["guid"], field)
    for source, n in o.sources.items():
        TOTALS[f"oracle keys via {source}"] += n


@pytest.mark.parametrize("relpath", WIN7)
def test_windows7_static_addresses(corpus: Path, relpath: str) -> None:
    with winmigrate.open(corpus / relpath, logs="ignore") as hive:
        nics = {n.guid: n for n in interfaces(hive)}
    lan2 = nics["{698E50A9-4F58-4D86-B61D-F42E58DCACF6}"]
    lan1 = nics["{6AAFC9A9-0542-4DB2-8760-CCFFA953737C}"]
    assert (lan2.name, [str(i) for i in lan2.ipv4]) == ("Local Area Connection 2",
                                                        ["10.3.58.5/24"])
    assert [(str(g.address), g.metric) for g in lan2.gateways] == [("10.3.58.1", 0)]
    assert [str(a) for a in lan2.dns_servers] == ["10.3.58.4"]
    assert (lan1.name, [str(i) for i in lan1.ipv4]) == ("Local Area Connection",
                                                        ["192.168.1.123/24"])
    assert [(str(g.address), g.metric) for g in lan1.gateways] == [("192.168.1.1", 0)]
    assert [str(a) for a in lan1.dns_servers] == ["192.168.1.112"]
    for nic in (lan1, lan2):
        assert not nic.dhcp and nic.present and not nic.is_xen and nic.service == "E1G60"
        assert nic.ipv4_nsi == nic.ipv4  # the NSI store agrees with IPAddress/SubnetMask
        assert nic.warnings == ()


_HIVEX_NSI = r"""
import hivex, json, sys
h = hivex.Hivex(sys.argv[1])
node = h.root()
for part in sys.argv[2].split("\\"):
    node = h.node_get_child(node, part)
out = {}
for v in h.node_values(node):
    out[h.value_key(v)] = h.value_value(v)[1].hex()
print(json.dumps(out))
"""


def test_nsi_encoding_verified_on_windows7(corpus: Path) -> None:
    """Value names under Nsi\\{eb004a00-...}\\10 are NET_LUID (8 bytes little-endian) + IPv4
    address + 4 zero bytes, and data byte 16 is the prefix length: checked against the class
    instances' *IfType/NetLuidIndex and the Tcpip IPAddress/SubnetMask of the same adapter."""
    path = corpus / WIN7[0]
    o = Oracle(path)
    cs = "ControlSet001"
    nsi = o.key(f"{cs}\\Control\\Nsi\\{NSI4}\\10")
    assert nsi is not None and len(nsi.values) == 2
    checked = 0
    for name, (vtype, data) in nsi.values.items():
        assert vtype == 3 and len(name) == 32 and name[24:] == "00000000"
        luid = int.from_bytes(bytes.fromhex(name[:16]), "little")
        if_type, index = luid >> 48, (luid >> 24) & 0xFFFFFF
        assert luid & 0xFFFFFF == 0
        address = str(ipaddress.IPv4Address(bytes.fromhex(name[16:24])))
        cls = o.key(f"{cs}\\Control\\Class\\{NET}")
        assert cls is not None
        owners = []
        for sub in cls.subkeys:
            k = o.key(f"{cs}\\Control\\Class\\{NET}\\{sub}")
            if k and k.get("*IfType") == if_type and k.get("NetLuidIndex") == index:
                owners.append(k.get("NetCfgInstanceId"))
        assert len(owners) == 1, owners
        tcp = o.key(f"{cs}\\Services\\Tcpip\\Parameters\\Interfaces\\{owners[0]}")
        assert tcp is not None
        ips = tcp.get("IPAddress")
        assert address in ips
        mask = tcp.get("SubnetMask")[ips.index(address)]
        assert data[16] == _prefix(mask)
        checked += 1
    assert checked == 2
    # The same bytes through hivex, a third reader.
    try:
        done = subprocess.run(["/usr/bin/python3", "-c", _HIVEX_NSI, str(path),
                               f"{cs}\\Control\\Nsi\\{NSI4}\\10"], capture_output=True,
                              text=True, timeout=120, check=False)
    except OSError:
        pytest.skip("no system python for hivex")
    if done.returncode != 0:
        pytest.skip(f"hivex unavailable: {done.stderr.strip()[-200:]}")
    by_hivex = json.loads(done.stdout)
    assert {k.lower(): v for k, v in by_hivex.items()} == {
        k: d.hex() for k, (_t, d) in nsi.values.items()}
    TOTALS["NSI rows verified (python-registry + hivex)"] += checked


def test_zz_report_totals(corpus: Path) -> None:
    """Runs last (name order within the module): the comparison covered real data."""
    if not TOTALS:
        pytest.skip("the comparison tests did not run")
    print("\ncorpus agreement:", json.dumps(dict(sorted(TOTALS.items())), indent=1))
    assert TOTALS["interfaces compared"] >= 20
    assert TOTALS["values compared"] >= 20 * len(FIELDS)
