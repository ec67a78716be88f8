"""Network settings of a Windows SYSTEM hive, read offline.

When a guest moves from Xen to KVM its NIC becomes a new device with a new GUID and no
configuration; the old (Xen) adapter's settings stay in the hive under the old GUID. This module
reads them::

    import winmigrate
    from winmigrate.windows import network

    with winmigrate.open("SYSTEM") as hive:
        for nic in network.interfaces(hive):
            print(nic.guid, nic.name, nic.ipv4, nic.gateways, nic.dns_servers)

The records themselves are ``winmigrate.windows.netsettings``'; the first-boot script that
re-applies them is ``winmigrate.convert.netscript``'.

What is read from where (``<CS>`` is the control set, ``Select\\Current`` by default):

* ``<CS>\\Control\\Class\\{4D36E972-E325-11CE-BFC1-08002BE10318}\\NNNN`` -- the adapter:
  ``NetCfgInstanceId`` (the GUID everything joins on), ``ComponentId``, ``MatchingDeviceId``,
  ``DriverDesc``, ``NetworkAddress`` (MAC override), ``NetLuidIndex``, ``*IfType``,
  ``DeviceInstanceID``; ``Ndi\\Service``.
* ``<CS>\\Control\\Network\\{4D36E972-...}\\{GUID}\\Connection`` -- ``Name``, ``PnPInstanceId``.
* ``<CS>\\Enum\\<device instance>`` -- presence, ``Service``, ``HardwareID``, ``CompatibleIDs``.
* ``<CS>\\Services\\Tcpip\\Parameters\\Interfaces\\{GUID}`` -- IPv4, gateways, DNS, DHCP lease.
* ``<CS>\\Services\\Tcpip6\\Parameters\\Interfaces\\{GUID}`` -- IPv6 DNS servers.
* ``<CS>\\Services\\NetBT\\Parameters\\Interfaces\\Tcpip_{GUID}`` -- WINS, NetBIOS.
* ``<CS>\\Control\\Nsi\\{eb004a01-9b1a-11d4-9123-0050047759bc}\\10`` -- static IPv6 addresses
  (and ``{eb004a00-...}\\10`` for IPv4, a cross-check), keyed by the NET_LUID (see
  ``net_luid`` and docs/network.md for the encoding as verified on real hives).

Reading is tolerant of what real hives hold: missing keys, values of an unexpected type,
``0.0.0.0`` placeholders, ``NameServer`` lists separated by commas, spaces or semicolons,
``IPAddress``/``SubnetMask`` lists of unequal length. Each oddity becomes a line in the
interface's ``warnings``; only malformed hive bytes (``HiveFormatError``, in a strict read) and
bad arguments (``UsageError``) raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import TYPE_CHECKING

from ..regf.values import parse_decimal
from .controlsets import ControlSetError, control_sets_present
from .controlsets import resolve_control_set as system_resolve_control_set
from .netsettings import (
    NET_CLASS_GUID,
    NSI_IPV4_GUID,
    NSI_IPV6_GUID,
    DhcpLease,
    Gateway,
    GlobalSettings,
    Interface,
    IPAddress,
    NetbiosMode,
    Route,
    has_static_config,
    net_luid,
    normalize_guid,
)
from .netvalues import (
    TypedValues,
    nonempty,
    pair_addresses,
    parse_list,
    parse_route,
    parse_v4,
    split_servers,
    subkey_at,
)
from .nsi import NsiRoute, nsi_routes

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..hive import Hive, Key

__all__ = [
    "global_settings",
    "has_static_config",
    "interfaces",
    "interfaces_to_migrate",
    "resolve_control_set",
]

_NSI_UNICAST_TABLE = "10"  # the NSI object id of the persistent unicast address table
_NSI_PREFIX_OFFSET = 16  # data byte holding the on-link prefix length
_LIST_SPLIT = re.compile(r"[,;\s]+")


def resolve_control_set(system_hive: Hive, control_set: int | str | None = None) -> str:
    """The ``ControlSetNNN`` key name to read: ``controlsets.resolve_control_set``, with one
    leniency for a reader: a hive whose ``Select\\Current`` is missing or unusable (a
    differencing hive, an extracted fragment) falls back to its only ``ControlSetNNN``.
    Raises ``ControlSetError`` when there is no such single set, or the one named is absent."""
    try:
        return system_resolve_control_set(system_hive, control_set)
    except ControlSetError:
        if not (control_set is None or (isinstance(control_set, str) and
                                        control_set.strip().upper() in
                                        ("CURRENT", "CURRENTCONTROLSET"))):
            raise
        present = control_sets_present(system_hive)
        if len(present) == 1:
            return present[0]
        raise


def interfaces(system_hive: Hive, control_set: int | str | None = None) -> list[Interface]:
    """Every adapter with TCP/IP settings in ``control_set`` (default: the current one).

    One ``Interface`` per key under ``Services\\Tcpip\\Parameters\\Interfaces``, plus any
    adapter with only IPv6 settings (static NSI addresses, ``Tcpip6`` DNS servers), in the
    stored order of the Tcpip keys. The adapter, connection, Enum, Tcpip6, NetBT and NSI data
    are joined on the GUID (case-insensitively: the keys disagree on case)."""
    cs = resolve_control_set(system_hive, control_set)
    ccs = system_hive.key(cs)
    adapters = _class_instances(ccs)
    connections = _guid_subkeys(ccs, rf"Control\Network\{NET_CLASS_GUID}")
    tcpip = _guid_subkeys(ccs, r"Services\Tcpip\Parameters\Interfaces")
    tcpip6 = _guid_subkeys(ccs, r"Services\Tcpip6\Parameters\Interfaces")
    netbt = _guid_subkeys(ccs, r"Services\NetBT\Parameters\Interfaces", prefix="Tcpip_")
    nsi6 = _nsi_table(ccs, NSI_IPV6_GUID, 16)
    nsi4 = _nsi_table(ccs, NSI_IPV4_GUID, 4)
    routes6, route_warnings = nsi_routes(ccs, NSI_IPV6_GUID, 16)
    nsi6.warnings.extend(route_warnings)
    enum = ccs.get_subkey("Enum")

    order = list(tcpip)
    for guid, adapter in adapters.items():
        if guid in tcpip:
            continue
        luid = adapter.luid
        v6 = tcpip6.get(guid)
        if (luid is not None and (luid in nsi6.rows or luid in routes6)) or (
                v6 is not None and isinstance(v6.get("NameServer"), str)
                and v6.get("NameServer").strip()):
            order.append(guid)
    out = []
    for guid in order:
        out.append(_build(cs, guid, adapters.get(guid), connections.get(guid), tcpip.get(guid),
                          tcpip6.get(guid), netbt.get(guid), nsi4, nsi6, enum,
                          routes6))
    return out


def interfaces_to_migrate(nics: Iterable[Interface]) -> list[Interface]:
    """The interfaces whose settings the first boot should re-apply: the Xen PV NICs that have
    static configuration; if there is none, every interface with static configuration.

    A Xen NIC on DHCP with default settings needs nothing (the new NIC comes up the same way);
    the fallback covers guests whose old NIC is not recognised as Xen (emulated NICs, unknown
    PV drivers), at the price of possibly including several adapters."""
    nics = list(nics)
    xen = [n for n in nics if n.is_xen and has_static_config(n)]
    return xen if xen else [n for n in nics if has_static_config(n)]


def global_settings(system_hive: Hive, control_set: int | str | None = None) -> GlobalSettings:
    """Host name, primary DNS suffix, search list and persistent routes of ``control_set``."""
    cs = resolve_control_set(system_hive, control_set)
    ccs = system_hive.key(cs)
    warnings: list[str] = []
    params = TypedValues(subkey_at(ccs, r"Services\Tcpip\Parameters"), "Tcpip\\Parameters",
                         warnings)
    active = nonempty(params.text("Hostname"))
    nv_host = nonempty(params.text("NV Hostname"))
    domain = params.text("Domain")
    nv_domain = params.text("NV Domain")
    if nv_host and active and nv_host.lower() != active.lower():
        warnings.append(f"NV Hostname {nv_host!r} differs from Hostname {active!r}: a rename is "
                        "pending; the next boot uses the NV value")
    if nv_domain is not None and domain is not None and nv_domain.lower() != domain.lower():
        warnings.append(f"NV Domain {nv_domain!r} differs from Domain {domain!r}: the next boot "
                        "uses the NV value")
    suffix = nv_domain if nv_domain is not None else domain
    search_text = params.text("SearchList")
    search = [s for s in _LIST_SPLIT.split(search_text) if s] if search_text else []
    sync = params.number("SyncDomainWithMembership")
    cn = TypedValues(subkey_at(ccs, r"Control\ComputerName\ComputerName"), "ComputerName", warnings)
    routes: list[Route] = []
    rkey = subkey_at(ccs, r"Services\Tcpip\Parameters\PersistentRoutes")
    if rkey is not None:
        for value in rkey.values():
            route = parse_route(value.name, warnings)
            if route is not None:
                routes.append(route)
    nls = TypedValues(subkey_at(ccs, r"Control\Nls\CodePage"), "Nls\\CodePage", warnings)
    oem = nls.text("OEMCP")
    oem_codepage = parse_decimal(oem) if oem is not None else None
    return GlobalSettings(
        oem_codepage=oem_codepage,
        hostname=nv_host or active, active_hostname=active, nv_hostname=nv_host,
        computer_name=nonempty(cn.text("ComputerName")),
        primary_dns_suffix=nonempty(suffix), domain=domain, nv_domain=nv_domain,
        dhcp_domain=nonempty(params.text("DhcpDomain")),
        sync_domain_with_membership=None if sync is None else bool(sync),
        search_list=search, persistent_routes=routes, control_set=cs,
        warnings=tuple(warnings))


@dataclass
class _Adapter:
    """A network class instance (``Control\\Class\\{4D36E972-...}\\NNNN``)."""

    key: Key
    guid: str
    if_type: int | None
    luid_index: int | None
    warnings: list[str]

    @property
    def luid(self) -> int | None:
        if self.if_type is None or self.luid_index is None:
            return None
        return net_luid(self.if_type, self.luid_index)


def _class_instances(ccs: Key) -> dict[str, _Adapter]:
    out: dict[str, _Adapter] = {}
    cls = subkey_at(ccs, rf"Control\Class\{NET_CLASS_GUID}")
    if cls is None:
        return out
    for sub in cls.subkeys():
        if not (len(sub.name) == 4 and sub.name.isascii() and sub.name.isdigit()):
            continue  # "Properties", "Configuration": not adapters
        warnings: list[str] = []
        values = TypedValues(sub, f"Class\\{sub.name}", warnings)
        raw_id = values.text("NetCfgInstanceId")
        guid = normalize_guid(raw_id) if raw_id else None
        if guid is None:
            continue
        if guid in out:
            out[guid].warnings.append(f"Class\\{sub.name} also claims this GUID; ignored")
            continue
        out[guid] = _Adapter(sub, guid, values.number("*IfType"), values.number("NetLuidIndex"),
                             warnings)
    return out


def _guid_subkeys(ccs: Key, path: str, prefix: str = "") -> dict[str, Key]:
    """Subkeys of ``path`` named ``prefix{GUID}``, by normalized GUID, in stored order."""
    out: dict[str, Key] = {}
    parent = subkey_at(ccs, path)
    if parent is None:
        return out
    for sub in parent.subkeys():
        name = sub.name
        if prefix:
            if name[:len(prefix)].upper() != prefix.upper():
                continue
            name = name[len(prefix):]
        guid = normalize_guid(name)
        if guid is not None and guid not in out:
            out[guid] = sub
    return out


@dataclass
class _NsiTable:
    rows: dict[int, list[tuple[IPAddress, int | None]]]
    warnings: list[str]


def _nsi_table(ccs: Key, guid: str, addr_len: int) -> _NsiTable:
    """The persistent unicast address table of NSI module ``guid``, by NET_LUID.

    Value name: hex of the key struct -- NET_LUID (8 bytes, little-endian), the address (4 or
    16 bytes, network order) and, for IPv4, 4 bytes of alignment padding (verified on the
    Windows 7 corpus hive: ``0000000700000600`` + ``0a033a05`` + ``00000000``). Data byte 16 is
    the on-link prefix length."""
    table = _NsiTable({}, [])
    key = subkey_at(ccs, rf"Control\Nsi\{guid}\{_NSI_UNICAST_TABLE}")
    if key is None:
        return table
    family = "IPv4" if addr_len == 4 else "IPv6"
    where = f"Nsi\\{guid}\\{_NSI_UNICAST_TABLE}"
    for value in key.values():
        name = value.name
        lengths = (16 + 2 * addr_len, 16 + 2 * addr_len + 8)
        try:
            raw_name = bytes.fromhex(name)
        except ValueError:
            raw_name = b""
        if len(name) not in lengths or len(raw_name) * 2 != len(name):
            table.warnings.append(f"{where}: value name {name!r} is not LUID+{family} address")
            continue
        luid = int.from_bytes(raw_name[:8], "little")
        packed = raw_name[8:8 + addr_len]
        addr: IPAddress = IPv4Address(packed) if addr_len == 4 else IPv6Address(packed)
        data = value.raw
        prefix: int | None = None
        if len(data) > _NSI_PREFIX_OFFSET:
            prefix = data[_NSI_PREFIX_OFFSET]
            if prefix > 8 * addr_len:
                table.warnings.append(f"{where}\\{name}: prefix length {prefix} out of range")
                prefix = None
        else:
            table.warnings.append(f"{where}\\{name}: data too short ({len(data)} bytes) for a "
                                  "prefix length")
        table.rows.setdefault(luid, []).append((addr, prefix))
    return table


# Xen PV NIC evidence (domain.md section 2). Hardware/compatible IDs, case-insensitive prefixes.
_XEN_ID_RE = re.compile(
    r"^(?:XEN\\VIF|XENVIF\\|XENBUS\\VEN_[^&\\]*&DEV_VIF|PCI\\VEN_5853(?:&|$)|PCI\\VEN_FFFD(?:&|$))",
    re.IGNORECASE)
_XEN_SERVICES = frozenset({"xennet", "xennet6", "xenvif", "xenvif6", "xennet_ndis6"})
_XEN_DESC_RE = re.compile(
    r"\bxen|\b(?:aws|citrix|xcp-ng|red\s*hat|xenserver)\b.*\bpv\b.*\b(?:network|nic|ethernet)",
    re.IGNORECASE)


def _xen_evidence(ids: Iterable[str | None], service: str | None,
                  desc: str | None) -> str | None:
    for ident in ids:
        if ident and _XEN_ID_RE.match(ident):
            return f"hardware ID {ident}"
    if service and service.lower() in _XEN_SERVICES:
        return f"service {service}"
    if desc and _XEN_DESC_RE.search(desc):
        return f"description {desc!r}"
    return None


def _normalize_mac(text: str | None, where: str, warnings: list[str]) -> str | None:
    if not text or not text.strip():
        return None
    digits = re.sub(r"[-:.\s]", "", text)
    if re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2)).lower()
    warnings.append(f"{where}\\NetworkAddress: not a MAC address: {text!r}")
    return None


def _build(cs: str, guid: str, adapter: _Adapter | None, connection: Key | None,
           tcpip: Key | None, tcpip6: Key | None, netbt: Key | None, nsi4: _NsiTable,
           nsi6: _NsiTable, enum: Key | None,
           routes6: dict[int, list[NsiRoute]] | None = None) -> Interface:
    warnings: list[str] = list(adapter.warnings) if adapter else []
    cls = TypedValues(adapter.key if adapter else None,
                  f"Class\\{adapter.key.name}" if adapter else "Class", warnings)
    conn = TypedValues(subkey_at(connection, "Connection"), "Connection", warnings)
    tcp = TypedValues(tcpip, f"Tcpip\\Interfaces\\{guid}", warnings)
    tcp6 = TypedValues(tcpip6, f"Tcpip6\\Interfaces\\{guid}", warnings)
    nbt = TypedValues(netbt, f"NetBT\\Interfaces\\Tcpip_{guid}", warnings)

    # The adapter and its device.
    device_id = nonempty(cls.text("DeviceInstanceID"))
    pnp_id = nonempty(conn.text("PnPInstanceId"))
    instance = device_id or pnp_id
    device: Key | None = None
    if instance and enum is not None:
        device = subkey_at(enum, instance)
    elif instance and enum is None:
        warnings.append(f"no Enum key in {cs}: presence of {instance} unknown (reported absent)")
    dev = TypedValues(device, f"Enum\\{instance}", warnings)
    service = nonempty(dev.text("Service"))
    if service is None:  # only then is the class key's Ndi\Service read (and warned about)
        ndi = TypedValues(subkey_at(adapter.key, "Ndi") if adapter else None, "Ndi", warnings)
        service = nonempty(ndi.text("Service"))
    hardware_ids = tuple(dev.texts("HardwareID")) + tuple(dev.texts("CompatibleIDs"))
    component_id = nonempty(cls.text("ComponentId"))
    matching_id = nonempty(cls.text("MatchingDeviceId"))
    driver_desc = nonempty(cls.text("DriverDesc"))
    evidence = _xen_evidence((component_id, matching_id, device_id, pnp_id, *hardware_ids),
                             service, driver_desc)
    name = nonempty(conn.text("Name"))

    # IPv4.
    enable_dhcp = tcp.flag("EnableDHCP")
    dhcp = True if enable_dhcp is None else enable_dhcp
    where = f"Tcpip\\Interfaces\\{guid}"
    ipv4 = pair_addresses(tcp.texts("IPAddress"), tcp.texts("SubnetMask"), where, warnings)
    gw_texts = tcp.texts("DefaultGateway")
    metric_texts = tcp.texts("DefaultGatewayMetric")
    if metric_texts and len(metric_texts) != len(gw_texts):
        warnings.append(f"{where}: DefaultGateway has {len(gw_texts)} entries but "
                        f"DefaultGatewayMetric has {len(metric_texts)}")
    gateways: list[Gateway] = []
    for i, gw_text in enumerate(gw_texts):
        gw = parse_v4(gw_text, f"{where}\\DefaultGateway", warnings)
        if gw is None:
            continue
        metric: int | None = None
        if i < len(metric_texts):
            try:
                metric = int(metric_texts[i])
            except ValueError:
                warnings.append(f"{where}\\DefaultGatewayMetric: not a number: "
                                f"{metric_texts[i]!r}")
        if all(g.address != gw for g in gateways):
            gateways.append(Gateway(gw, metric))
    if dhcp and (ipv4 or gateways):
        warnings.append("EnableDHCP is set: the static IPAddress/DefaultGateway values are "
                        "kept by Windows but not used")
    dns = parse_list(split_servers(tcp.text("NameServer")), f"{where}\\NameServer", warnings)
    register = tcp.flag("RegistrationEnabled")
    metric_value = tcp.number("InterfaceMetric")

    lease: DhcpLease | None = None
    if dhcp and any(tcp.has(n) for n in ("DhcpIPAddress", "DhcpServer", "Lease")):
        lw = f"{where}\\Dhcp"
        server = parse_v4(tcp.text("DhcpServer") or "", lw, warnings)
        lease = DhcpLease(
            address=parse_v4(tcp.text("DhcpIPAddress") or "", lw, warnings),
            subnet_mask=parse_v4(tcp.text("DhcpSubnetMask") or "", lw, warnings),
            server=None if server == IPv4Address("255.255.255.255") else server,
            gateways=[a for a in (parse_v4(t, lw, warnings)
                                  for t in tcp.texts("DhcpDefaultGateway")) if a is not None],
            dns_servers=parse_list(split_servers(tcp.text("DhcpNameServer")), lw, warnings),
            domain=nonempty(tcp.text("DhcpDomain")), lease_seconds=tcp.number("Lease"),
            obtained=tcp.number("LeaseObtainedTime"), expires=tcp.number("LeaseTerminatesTime"),
            t1=tcp.number("T1"), t2=tcp.number("T2"))

    # IPv6 DNS servers, WINS, NetBIOS.
    v6_dns = [a for a in parse_list(split_servers(tcp6.text("NameServer")),
                                     f"Tcpip6\\Interfaces\\{guid}\\NameServer", warnings,
                                     v6_only=True)
              if isinstance(a, IPv6Address)]
    wins = [a for a in (parse_v4(t, f"NetBT\\Tcpip_{guid}\\NameServerList", warnings)
                        for t in nbt.texts("NameServerList")) if a is not None]
    netbios_value = nbt.number("NetbiosOptions")
    netbios = NetbiosMode.DHCP
    if netbios_value is not None:
        try:
            netbios = NetbiosMode(netbios_value)
        except ValueError:
            warnings.append(f"NetBT\\Tcpip_{guid}\\NetbiosOptions: unknown value "
                            f"{netbios_value}; read as DHCP")

    # NSI static addresses, by NET_LUID.
    luid = adapter.luid if adapter else None
    ipv6: list[IPv6Interface] = []
    ipv4_nsi: list[IPv4Interface] = []
    if luid is not None:
        for addr, prefix in nsi6.rows.get(luid, []):
            ipv6.append(IPv6Interface(f"{addr}/{128 if prefix is None else prefix}"))
        for addr, prefix in nsi4.rows.get(luid, []):
            ipv4_nsi.append(IPv4Interface(f"{addr}/{32 if prefix is None else prefix}"))
        if not dhcp and ipv4_nsi and set(ipv4_nsi) != set(ipv4):
            warnings.append("the NSI store's static IPv4 addresses ("
                            + ", ".join(map(str, ipv4_nsi)) + ") differ from IPAddress/"
                            "SubnetMask (" + ", ".join(map(str, ipv4)) + ")")
        # Rows that could not be read belong to no known LUID: every Vista+ adapter says so.
        warnings.extend(nsi4.warnings + nsi6.warnings)

    return Interface(
        guid=guid, name=name, component_id=component_id, driver_desc=driver_desc,
        service=service, present=device is not None, is_xen=evidence is not None, dhcp=dhcp,
        ipv4=ipv4, gateways=gateways, dns_servers=dns,
        dns_suffix=nonempty(tcp.text("Domain")),
        register_dns=True if register is None else register,
        register_adapter_name=tcp.flag("RegisterAdapterName"), wins_servers=wins,
        netbios=netbios, interface_metric=metric_value,
        mac_override=_normalize_mac(cls.text("NetworkAddress"), cls.where, warnings),
        ipv6=ipv6, ipv6_dns_servers=v6_dns,
        ipv6_routes=list((routes6 or {}).get(luid, [])) if luid is not None else [],
        dhcp_lease=lease, matching_device_id=matching_id,
        device_instance_id=instance, class_key=adapter.key.name if adapter else None,
        hardware_ids=hardware_ids, xen_evidence=evidence,
        if_type=adapter.if_type if adapter else None,
        net_luid_index=adapter.luid_index if adapter else None, ipv4_nsi=ipv4_nsi,
        control_set=cs, warnings=tuple(dict.fromkeys(warnings)))
