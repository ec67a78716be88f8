"""Network settings as records: what ``winmigrate.windows.network`` reads from a SYSTEM hive
and ``winmigrate.convert.netscript`` re-applies at first boot -- ``Interface`` (one adapter's
TCP/IP, DNS, WINS and NetBIOS settings), ``GlobalSettings``, ``Route``, ``Gateway``,
``DhcpLease`` and ``NetbiosMode`` -- with the identifiers they are keyed by (adapter GUIDs,
NET_LUIDs). No reading here: records only, so the script writers need nothing else.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import IntEnum
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .nsi import NsiRoute

__all__ = [
    "NET_CLASS_GUID",
    "NSI_IPV4_GUID",
    "NSI_IPV6_GUID",
    "DhcpLease",
    "Gateway",
    "GlobalSettings",
    "IPAddress",
    "Interface",
    "NetbiosMode",
    "Route",
    "has_static_config",
    "net_luid",
    "normalize_guid",
]

NET_CLASS_GUID = "{4D36E972-E325-11CE-BFC1-08002BE10318}"
NSI_IPV4_GUID = "{eb004a00-9b1a-11d4-9123-0050047759bc}"
NSI_IPV6_GUID = "{eb004a01-9b1a-11d4-9123-0050047759bc}"

IPAddress = IPv4Address | IPv6Address

_GUID_RE = re.compile(
    r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")


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
    #: persistent IPv6 routes and default gateways (the NSI store; ``windows.nsi``)
    ipv6_routes: list[NsiRoute] = field(default_factory=list)
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
            "ipv6_routes": [r.to_dict() for r in self.ipv6_routes],
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


def net_luid(if_type: int, net_luid_index: int) -> int:
    """NET_LUID.Value: ``Reserved:24 | NetLuidIndex:24 | IfType:16`` from the low bit up. NSI
    value names start with these 8 bytes little-endian, in hex (``0000000700000600`` for
    index 7, type 6)."""
    return ((if_type & 0xFFFF) << 48) | ((net_luid_index & 0xFFFFFF) << 24)


def normalize_guid(text: str) -> str | None:
    """``{XXXXXXXX-...}`` upper case, or ``None`` when ``text`` is not a GUID."""
    m = _GUID_RE.match(text.strip())
    return "{" + m.group(1).upper() + "}" if m else None


def has_static_config(nic: Interface) -> bool:
    """Whether re-applying ``nic`` changes anything on a fresh adapter (which comes up with
    DHCP and Windows' defaults): static addresses, gateways, DNS, WINS, a non-default
    suffix, registration, NetBIOS or metric setting."""
    return bool(
        (not nic.dhcp and (nic.ipv4 or nic.gateways)) or nic.dns_servers or nic.ipv6
        or nic.ipv6_dns_servers or nic.ipv6_routes or nic.wins_servers or nic.dns_suffix
        or nic.netbios != NetbiosMode.DHCP or not nic.register_dns
        or nic.register_adapter_name or nic.interface_metric)


def _s(value: object) -> str | None:
    return None if value is None else str(value)
