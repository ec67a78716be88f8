"""Network settings of a Windows SYSTEM hive, read offline.

When a guest moves from Xen to KVM its NIC becomes a new device with a new GUID and no
configuration; the old (Xen) adapter's settings stay in the hive under the old GUID. This module
reads them::

    import winmigrate
    from winmigrate import network

    with winmigrate.open("SYSTEM") as hive:
        for nic in network.interfaces(hive):
            print(nic.guid, nic.name, nic.ipv4, nic.gateways, nic.dns_servers)
        script = network.apply_script(network.interfaces_to_migrate(network.interfaces(hive)))

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

import ipaddress
import re
from dataclasses import dataclass, field
from enum import IntEnum
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import TYPE_CHECKING

from .regf.values import parse_decimal
from .system import ControlSetError, control_sets_present
from .system import resolve_control_set as system_resolve_control_set

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .hive import Hive, Key
    from .netscript import Match, Target

__all__ = [
    "NET_CLASS_GUID",
    "NSI_IPV4_GUID",
    "NSI_IPV6_GUID",
    "DhcpLease",
    "Gateway",
    "GlobalSettings",
    "Interface",
    "NetbiosMode",
    "Route",
    "apply_script",
    "global_settings",
    "has_static_config",
    "interfaces",
    "interfaces_to_migrate",
    "net_luid",
    "normalize_guid",
    "resolve_control_set",
]

NET_CLASS_GUID = "{4D36E972-E325-11CE-BFC1-08002BE10318}"
NSI_IPV4_GUID = "{eb004a00-9b1a-11d4-9123-0050047759bc}"
NSI_IPV6_GUID = "{eb004a01-9b1a-11d4-9123-0050047759bc}"
_NSI_UNICAST_TABLE = "10"  # the NSI object id of the persistent unicast address table
_NSI_PREFIX_OFFSET = 16  # data byte holding the on-link prefix length

IPAddress = IPv4Address | IPv6Address

_GUID_RE = re.compile(
    r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")
_LIST_SPLIT = re.compile(r"[,;\s]+")


class NetbiosMode(IntEnum):
    """``NetbiosOptions`` of NetBT: where NetBIOS over TCP/IP takes its setting from."""

    DHCP = 0
    ENABLED = 1
    DISABLED = 2


@dataclass(frozen=True)
class Gateway:
    """A default gateway; ``metric`` is ``DefaultGatewayMetric`` (0 is Windows' "automatic"),
    ``None`` when the registry gives none for it."""

    address: IPv4Address
    metric: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"address": str(self.address), "metric": self.metric}


@dataclass(frozen=True)
class DhcpLease:
    """What the DHCP client last obtained (``Dhcp*`` values and lease times as stored: the
    times are seconds since 1970 on the guest's clock)."""

    address: IPv4Address | None = None
    subnet_mask: IPv4Address | None = None
    server: IPv4Address | None = None
    gateways: list[IPv4Address] = field(default_factory=list)
    dns_servers: list[IPAddress] = field(default_factory=list)
    domain: str | None = None
    lease_seconds: int | None = None
    obtained: int | None = None
    expires: int | None = None
    t1: int | None = None
    t2: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "address": _s(self.address), "subnet_mask": _s(self.subnet_mask),
            "server": _s(self.server), "gateways": [str(a) for a in self.gateways],
            "dns_servers": [str(a) for a in self.dns_servers], "domain": self.domain,
            "lease_seconds": self.lease_seconds, "obtained": self.obtained,
            "expires": self.expires, "t1": self.t1, "t2": self.t2,
        }


@dataclass(frozen=True)
class Interface:
    """One adapter's TCP/IP configuration, joined by the adapter GUID.

    The fields up to ``dhcp_lease`` are the fixed interface of issue 6; the rest say where the
    data came from. ``ipv4`` is what ``IPAddress``/``SubnetMask`` hold (placeholders dropped)
    even when ``dhcp`` is true -- Windows then ignores it, and a warning says so.
    """

    guid: str
    name: str | None = None
    component_id: str | None = None
    driver_desc: str | None = None
    service: str | None = None
    present: bool = False
    is_xen: bool = False
    dhcp: bool = True
    ipv4: list[IPv4Interface] = field(default_factory=list)
    gateways: list[Gateway] = field(default_factory=list)
    dns_servers: list[IPAddress] = field(default_factory=list)
    dns_suffix: str | None = None
    register_dns: bool = True
    register_adapter_name: bool | None = None
    wins_servers: list[IPv4Address] = field(default_factory=list)
    netbios: NetbiosMode = NetbiosMode.DHCP
    interface_metric: int | None = None
    mac_override: str | None = None
    ipv6: list[IPv6Interface] = field(default_factory=list)
    ipv6_dns_servers: list[IPv6Address] = field(default_factory=list)
    dhcp_lease: DhcpLease | None = None
    # Provenance and extras.
    matching_device_id: str | None = None
    device_instance_id: str | None = None
    class_key: str | None = None
    hardware_ids: tuple[str, ...] = ()
    xen_evidence: str | None = None
    if_type: int | None = None
    net_luid_index: int | None = None
    ipv4_nsi: list[IPv4Interface] = field(default_factory=list)
    control_set: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def net_luid(self) -> int | None:
        """The NET_LUID value (``None`` before Vista, which has no ``NetLuidIndex``)."""
        if self.if_type is None or self.net_luid_index is None:
            return None
        return net_luid(self.if_type, self.net_luid_index)

    @property
    def label(self) -> str:
        """The connection name, else the GUID (for messages)."""
        return self.name if self.name else self.guid

    @property
    def has_static_config(self) -> bool:
        return has_static_config(self)

    def to_dict(self) -> dict[str, object]:
        luid = self.net_luid
        return {
            "guid": self.guid, "name": self.name, "component_id": self.component_id,
            "driver_desc": self.driver_desc, "service": self.service, "present": self.present,
            "is_xen": self.is_xen, "dhcp": self.dhcp,
            "ipv4": [str(i) for i in self.ipv4],
            "gateways": [g.to_dict() for g in self.gateways],
            "dns_servers": [str(a) for a in self.dns_servers], "dns_suffix": self.dns_suffix,
            "register_dns": self.register_dns,
            "register_adapter_name": self.register_adapter_name,
            "wins_servers": [str(a) for a in self.wins_servers],
            "netbios": self.netbios.name.lower(), "interface_metric": self.interface_metric,
            "mac_override": self.mac_override, "ipv6": [str(i) for i in self.ipv6],
            "ipv6_dns_servers": [str(a) for a in self.ipv6_dns_servers],
            "dhcp_lease": self.dhcp_lease.to_dict() if self.dhcp_lease else None,
            "matching_device_id": self.matching_device_id,
            "device_instance_id": self.device_instance_id, "class_key": self.class_key,
            "hardware_ids": list(self.hardware_ids), "xen_evidence": self.xen_evidence,
            "if_type": self.if_type, "net_luid_index": self.net_luid_index,
            "net_luid": None if luid is None else f"0x{luid:016x}",
            "ipv4_nsi": [str(i) for i in self.ipv4_nsi], "control_set": self.control_set,
            "has_static_config": self.has_static_config, "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Route:
    """A persistent route (``PersistentRoutes`` value name ``dest,mask,gateway,metric``).
    ``metric`` is as stored; Windows writes -1 for "automatic"."""

    destination: ipaddress.IPv4Network
    gateway: IPv4Address
    metric: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"destination": str(self.destination), "gateway": str(self.gateway),
                "metric": self.metric}


@dataclass(frozen=True)
class GlobalSettings:
    """Machine-wide TCP/IP settings (``<CS>\\Services\\Tcpip\\Parameters``).

    ``hostname`` and ``primary_dns_suffix`` are what the *next boot* uses: ``NV Hostname`` and
    ``NV Domain`` are the configured ("non-volatile") values that Windows copies into
    ``Hostname``/``Domain`` when TCP/IP starts, so after a rename or suffix change that was not
    followed by a reboot the NV value is the one the migrated guest will come up with.
    """

    hostname: str | None = None
    active_hostname: str | None = None
    nv_hostname: str | None = None
    computer_name: str | None = None
    primary_dns_suffix: str | None = None
    domain: str | None = None
    nv_domain: str | None = None
    dhcp_domain: str | None = None
    sync_domain_with_membership: bool | None = None
    search_list: list[str] = field(default_factory=list)
    persistent_routes: list[Route] = field(default_factory=list)
    control_set: str | None = None
    warnings: tuple[str, ...] = ()
    #: The guest's OEM code page (``Control\Nls\CodePage\OEMCP``): cmd reads batch files in it,
    #: so a netsh script carrying non-ASCII names must be saved in it.
    oem_codepage: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "hostname": self.hostname, "active_hostname": self.active_hostname,
            "nv_hostname": self.nv_hostname, "computer_name": self.computer_name,
            "primary_dns_suffix": self.primary_dns_suffix, "domain": self.domain,
            "nv_domain": self.nv_domain, "dhcp_domain": self.dhcp_domain,
            "sync_domain_with_membership": self.sync_domain_with_membership,
            "search_list": list(self.search_list), "oem_codepage": self.oem_codepage,
            "persistent_routes": [r.to_dict() for r in self.persistent_routes],
            "control_set": self.control_set, "warnings": list(self.warnings),
        }


# -- public functions ------------------------------------------------------------------------


def net_luid(if_type: int, net_luid_index: int) -> int:
    """NET_LUID.Value: ``Reserved:24 | NetLuidIndex:24 | IfType:16`` from the low bit up. NSI
    value names start with these 8 bytes little-endian, in hex (``0000000700000600`` for
    index 7, type 6)."""
    return ((if_type & 0xFFFF) << 48) | ((net_luid_index & 0xFFFFFF) << 24)


def resolve_control_set(system_hive: Hive, control_set: int | str | None = None) -> str:
    """The ``ControlSetNNN`` key name to read: ``winmigrate.system.resolve_control_set``, with
    one leniency for a reader: a hive whose ``Select\\Current`` is missing or unusable (a
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
    enum = ccs.get_subkey("Enum")

    order = list(tcpip)
    for guid, adapter in adapters.items():
        if guid in tcpip:
            continue
        luid = adapter.luid
        v6 = tcpip6.get(guid)
        if (luid is not None and luid in nsi6.rows) or (
                v6 is not None and isinstance(v6.get("NameServer"), str)
                and v6.get("NameServer").strip()):
            order.append(guid)
    out = []
    for guid in order:
        out.append(_build(cs, guid, adapters.get(guid), connections.get(guid), tcpip.get(guid),
                          tcpip6.get(guid), netbt.get(guid), nsi4, nsi6, enum))
    return out


def has_static_config(nic: Interface) -> bool:
    """Whether re-applying ``nic`` changes anything on a fresh adapter (which comes up with
    DHCP and Windows' defaults): static addresses, gateways, DNS, WINS, a non-default
    suffix, registration, NetBIOS or metric setting."""
    return bool(
        (not nic.dhcp and (nic.ipv4 or nic.gateways)) or nic.dns_servers or nic.ipv6
        or nic.ipv6_dns_servers or nic.wins_servers or nic.dns_suffix
        or nic.netbios != NetbiosMode.DHCP or not nic.register_dns
        or nic.register_adapter_name or nic.interface_metric)


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
    params = _Values(_get(ccs, r"Services\Tcpip\Parameters"), "Tcpip\\Parameters", warnings)
    active = _nonempty(params.text("Hostname"))
    nv_host = _nonempty(params.text("NV Hostname"))
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
    cn = _Values(_get(ccs, r"Control\ComputerName\ComputerName"), "ComputerName", warnings)
    routes: list[Route] = []
    rkey = _get(ccs, r"Services\Tcpip\Parameters\PersistentRoutes")
    if rkey is not None:
        for value in rkey.values():
            route = _parse_route(value.name, warnings)
            if route is not None:
                routes.append(route)
    nls = _Values(_get(ccs, r"Control\Nls\CodePage"), "Nls\\CodePage", warnings)
    oem = nls.text("OEMCP")
    oem_codepage = parse_decimal(oem) if oem is not None else None
    return GlobalSettings(
        oem_codepage=oem_codepage,
        hostname=nv_host or active, active_hostname=active, nv_hostname=nv_host,
        computer_name=_nonempty(cn.text("ComputerName")),
        primary_dns_suffix=_nonempty(suffix), domain=domain, nv_domain=nv_domain,
        dhcp_domain=_nonempty(params.text("DhcpDomain")),
        sync_domain_with_membership=None if sync is None else bool(sync),
        search_list=search, persistent_routes=routes, control_set=cs,
        warnings=tuple(warnings))


def apply_script(interfaces: Sequence[Interface], *, target: Target = "powershell",
                 match: Match = "new-adapter", known_guids: Iterable[str] = (),
                 log_file: str | None = None, newline: str = "\r\n", wait: int = 60,
                 codepage: int | None = None) -> str:
    """The first-boot script that re-applies ``interfaces`` to the new adapter(s); see
    ``winmigrate.netscript.build_script`` for the arguments and the quoting rules (a netsh
    script with non-ASCII names must be saved in ``codepage``; ``build_script`` says so)."""
    from .netscript import build_script

    return build_script(interfaces, target=target, match=match, known_guids=known_guids,
                        log_file=log_file, newline=newline, wait=wait, codepage=codepage).text


# -- reading helpers ---------------------------------------------------------------------------


def _s(value: object) -> str | None:
    return None if value is None else str(value)


def _nonempty(text: str | None) -> str | None:
    return text if text else None


def normalize_guid(text: str) -> str | None:
    """``{XXXXXXXX-...}`` upper case, or ``None`` when ``text`` is not a GUID."""
    m = _GUID_RE.match(text.strip())
    return "{" + m.group(1).upper() + "}" if m else None


def _get(key: Key | None, path: str) -> Key | None:
    """The key at ``path`` below ``key`` (``\\`` separated), or ``None``. Components are looked
    up one by one so a ``/`` inside a name (legal in device instance IDs) is not a separator."""
    for part in path.split("\\"):
        if key is None:
            return None
        if not part:
            continue
        if "/" in part:
            want = part.upper()
            key = next((k for k in key.subkeys() if k.name.upper() == want), None)
        else:
            key = key.get_subkey(part)
    return key


class _Values:
    """Typed access to the values of one key; each value of an unexpected type becomes a
    warning (with the key and value name) and reads as missing."""

    def __init__(self, key: Key | None, where: str, warnings: list[str]) -> None:
        self.key = key
        self.where = where
        self.warnings = warnings

    def raw(self, name: str) -> object:
        return None if self.key is None else self.key.get(name)

    def has(self, name: str) -> bool:
        return self.key is not None and name in self.key

    def _odd(self, name: str, data: object, wanted: str) -> None:
        shown = data.hex() if isinstance(data, bytes) else repr(data)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.warnings.append(f"{self.where}\\{name}: expected {wanted}, found {shown}")

    def text(self, name: str) -> str | None:
        data = self.raw(name)
        if data is None or isinstance(data, str):
            return data
        if isinstance(data, list):
            self._odd(name, data, "a string")
            return " ".join(data)
        self._odd(name, data, "a string")
        return None

    def texts(self, name: str) -> list[str]:
        data = self.raw(name)
        if data is None:
            return []
        if isinstance(data, list):
            if "" in data:  # Windows reads a REG_MULTI_SZ up to its first empty string
                cut = data.index("")
                if any(data[cut + 1:]):
                    self.warnings.append(f"{self.where}\\{name}: entries after an empty string "
                                         "are ignored (as Windows does)")
                data = data[:cut]
            return [s.strip() for s in data if s.strip()]
        if isinstance(data, str):
            self._odd(name, data, "a multi-string")
            return [s for s in _LIST_SPLIT.split(data) if s]
        self._odd(name, data, "a multi-string")
        return []

    def number(self, name: str) -> int | None:
        data = self.raw(name)
        if data is None or (isinstance(data, int) and not isinstance(data, bool)):
            return data
        if isinstance(data, str) and (number := parse_decimal(data)) is not None:
            self._odd(name, data, "a DWORD")
            return number
        self._odd(name, data, "a DWORD")
        return None

    def flag(self, name: str) -> bool | None:
        number = self.number(name)
        return None if number is None else number != 0

    def binary(self, name: str) -> bytes | None:
        data = self.raw(name)
        if data is None or isinstance(data, bytes):
            return data
        self._odd(name, data, "binary data")
        return None


def _parse_ip(text: str, what: str, warnings: list[str], *, v4_only: bool = False,
              v6_only: bool = False) -> IPAddress | None:
    """One address; ``0.0.0.0``/``::`` placeholders and empty strings read as ``None``
    silently, anything unparsable as ``None`` with a warning. IPv6 zone ids are dropped."""
    text = text.strip()
    if not text:
        return None
    if "%" in text:
        warnings.append(f"{what}: zone id dropped from {text!r}")
        text = text.split("%", 1)[0]
    try:
        addr: IPAddress = ipaddress.ip_address(text)
    except ValueError:
        warnings.append(f"{what}: not an IP address: {text!r}")
        return None
    if addr.is_unspecified:
        return None
    if (v4_only and addr.version != 4) or (v6_only and addr.version != 6):
        warnings.append(f"{what}: {text!r} is not an IPv{4 if v4_only else 6} address")
        return None
    return addr


def _parse_v4(text: str, what: str, warnings: list[str]) -> IPv4Address | None:
    addr = _parse_ip(text, what, warnings, v4_only=True)
    return addr if isinstance(addr, IPv4Address) else None


def _parse_list(items: Iterable[str], what: str, warnings: list[str], *,
                v6_only: bool = False) -> list[IPAddress]:
    out: list[IPAddress] = []
    for item in items:
        addr = _parse_ip(item, what, warnings, v6_only=v6_only)
        if addr is not None and addr not in out:
            out.append(addr)
    return out


def _split_servers(text: str | None) -> list[str]:
    """``NameServer``: comma-separated since XP, space-separated on NT/2000; ``;`` seen too."""
    return [s for s in _LIST_SPLIT.split(text) if s] if text else []


def _mask_prefix(text: str) -> int | None:
    """Prefix length of a dotted netmask (contiguous ones from the top), else ``None``."""
    try:
        value = int(IPv4Address(text.strip()))
    except ValueError:
        return None
    inverted = ~value & 0xFFFFFFFF
    if inverted & (inverted + 1):
        return None
    return 32 - inverted.bit_length()


def _pair_addresses(addresses: list[str], masks: list[str], where: str,
                    warnings: list[str]) -> list[IPv4Interface]:
    """``IPAddress`` and ``SubnetMask`` paired in order (unequal lengths reported)."""
    if len(addresses) != len(masks):
        warnings.append(f"{where}: IPAddress has {len(addresses)} entries but SubnetMask has "
                        f"{len(masks)}; unpaired entries ignored")
    out: list[IPv4Interface] = []
    for addr_text, mask_text in zip(addresses, masks, strict=False):
        addr = _parse_v4(addr_text, f"{where}\\IPAddress", warnings)
        if addr is None:
            continue
        prefix = _mask_prefix(mask_text)
        if prefix is None or prefix == 0:
            warnings.append(f"{where}\\SubnetMask: {mask_text!r} is not a usable netmask for "
                            f"{addr}; address ignored")
            continue
        iface = IPv4Interface(f"{addr}/{prefix}")
        if iface not in out:
            out.append(iface)
    return out


def _parse_route(name: str, warnings: list[str]) -> Route | None:
    parts = [p.strip() for p in name.split(",")]
    if len(parts) not in (3, 4):
        warnings.append(f"PersistentRoutes: cannot read route {name!r}")
        return None
    try:
        dest = IPv4Address(parts[0])
        gateway = IPv4Address(parts[2])
    except ValueError:
        warnings.append(f"PersistentRoutes: cannot read route {name!r}")
        return None
    prefix = _mask_prefix(parts[1])
    if prefix is None:
        warnings.append(f"PersistentRoutes: bad mask in route {name!r}")
        return None
    try:
        network = ipaddress.IPv4Network(f"{dest}/{prefix}")
    except ValueError:
        warnings.append(f"PersistentRoutes: destination has host bits set in {name!r}")
        network = ipaddress.IPv4Network(f"{dest}/{prefix}", strict=False)
    metric: int | None = None
    if len(parts) == 4:
        try:
            metric = int(parts[3])
        except ValueError:
            warnings.append(f"PersistentRoutes: bad metric in route {name!r}")
    return Route(network, gateway, metric)


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
    cls = _get(ccs, rf"Control\Class\{NET_CLASS_GUID}")
    if cls is None:
        return out
    for sub in cls.subkeys():
        if not (len(sub.name) == 4 and sub.name.isascii() and sub.name.isdigit()):
            continue  # "Properties", "Configuration": not adapters
        warnings: list[str] = []
        values = _Values(sub, f"Class\\{sub.name}", warnings)
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
    parent = _get(ccs, path)
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
    key = _get(ccs, rf"Control\Nsi\{guid}\{_NSI_UNICAST_TABLE}")
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
           nsi6: _NsiTable, enum: Key | None) -> Interface:
    warnings: list[str] = list(adapter.warnings) if adapter else []
    cls = _Values(adapter.key if adapter else None,
                  f"Class\\{adapter.key.name}" if adapter else "Class", warnings)
    conn = _Values(_get(connection, "Connection"), "Connection", warnings)
    tcp = _Values(tcpip, f"Tcpip\\Interfaces\\{guid}", warnings)
    tcp6 = _Values(tcpip6, f"Tcpip6\\Interfaces\\{guid}", warnings)
    nbt = _Values(netbt, f"NetBT\\Interfaces\\Tcpip_{guid}", warnings)

    # The adapter and its device.
    device_id = _nonempty(cls.text("DeviceInstanceID"))
    pnp_id = _nonempty(conn.text("PnPInstanceId"))
    instance = device_id or pnp_id
    device: Key | None = None
    if instance and enum is not None:
        device = _get(enum, instance)
    elif instance and enum is None:
        warnings.append(f"no Enum key in {cs}: presence of {instance} unknown (reported absent)")
    dev = _Values(device, f"Enum\\{instance}", warnings)
    service = _nonempty(dev.text("Service")) or _nonempty(
        _Values(_get(adapter.key, "Ndi") if adapter else None, "Ndi", warnings).text("Service"))
    hardware_ids = tuple(dev.texts("HardwareID")) + tuple(dev.texts("CompatibleIDs"))
    component_id = _nonempty(cls.text("ComponentId"))
    matching_id = _nonempty(cls.text("MatchingDeviceId"))
    driver_desc = _nonempty(cls.text("DriverDesc"))
    evidence = _xen_evidence((component_id, matching_id, device_id, pnp_id, *hardware_ids),
                             service, driver_desc)
    name = _nonempty(conn.text("Name"))

    # IPv4.
    enable_dhcp = tcp.flag("EnableDHCP")
    dhcp = True if enable_dhcp is None else enable_dhcp
    where = f"Tcpip\\Interfaces\\{guid}"
    ipv4 = _pair_addresses(tcp.texts("IPAddress"), tcp.texts("SubnetMask"), where, warnings)
    gw_texts = tcp.texts("DefaultGateway")
    metric_texts = tcp.texts("DefaultGatewayMetric")
    if metric_texts and len(metric_texts) != len(gw_texts):
        warnings.append(f"{where}: DefaultGateway has {len(gw_texts)} entries but "
                        f"DefaultGatewayMetric has {len(metric_texts)}")
    gateways: list[Gateway] = []
    for i, gw_text in enumerate(gw_texts):
        gw = _parse_v4(gw_text, f"{where}\\DefaultGateway", warnings)
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
    dns = _parse_list(_split_servers(tcp.text("NameServer")), f"{where}\\NameServer", warnings)
    register = tcp.flag("RegistrationEnabled")
    metric_value = tcp.number("InterfaceMetric")

    lease: DhcpLease | None = None
    if dhcp and any(tcp.has(n) for n in ("DhcpIPAddress", "DhcpServer", "Lease")):
        lw = f"{where}\\Dhcp"
        server = _parse_v4(tcp.text("DhcpServer") or "", lw, warnings)
        lease = DhcpLease(
            address=_parse_v4(tcp.text("DhcpIPAddress") or "", lw, warnings),
            subnet_mask=_parse_v4(tcp.text("DhcpSubnetMask") or "", lw, warnings),
            server=None if server == IPv4Address("255.255.255.255") else server,
            gateways=[a for a in (_parse_v4(t, lw, warnings)
                                  for t in tcp.texts("DhcpDefaultGateway")) if a is not None],
            dns_servers=_parse_list(_split_servers(tcp.text("DhcpNameServer")), lw, warnings),
            domain=_nonempty(tcp.text("DhcpDomain")), lease_seconds=tcp.number("Lease"),
            obtained=tcp.number("LeaseObtainedTime"), expires=tcp.number("LeaseTerminatesTime"),
            t1=tcp.number("T1"), t2=tcp.number("T2"))

    # IPv6 DNS servers, WINS, NetBIOS.
    v6_dns = [a for a in _parse_list(_split_servers(tcp6.text("NameServer")),
                                     f"Tcpip6\\Interfaces\\{guid}\\NameServer", warnings,
                                     v6_only=True)
              if isinstance(a, IPv6Address)]
    wins = [a for a in (_parse_v4(t, f"NetBT\\Tcpip_{guid}\\NameServerList", warnings)
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
        dns_suffix=_nonempty(tcp.text("Domain")),
        register_dns=True if register is None else register,
        register_adapter_name=tcp.flag("RegisterAdapterName"), wins_servers=wins,
        netbios=netbios, interface_metric=metric_value,
        mac_override=_normalize_mac(cls.text("NetworkAddress"), cls.where, warnings),
        ipv6=ipv6, ipv6_dns_servers=v6_dns, dhcp_lease=lease, matching_device_id=matching_id,
        device_instance_id=instance, class_key=adapter.key.name if adapter else None,
        hardware_ids=hardware_ids, xen_evidence=evidence,
        if_type=adapter.if_type if adapter else None,
        net_luid_index=adapter.luid_index if adapter else None, ipv4_nsi=ipv4_nsi,
        control_set=cs, warnings=tuple(dict.fromkeys(warnings)))
