"""What both script targets share: the ``Script`` result, the checks of the arguments and of the
interfaces handed in, and the ``Builder`` base the targets extend."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, IPv6Network
from typing import TYPE_CHECKING, Literal

from ...errors import UsageError
from ...windows.netsettings import NET_CLASS_GUID, Interface, normalize_guid

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ...windows.nsi import NsiRoute

__all__ = ["Builder", "Match", "Script", "Target"]

Target = Literal["powershell", "netsh"]
Match = str | Mapping[str, str]

MAC_RE = re.compile(r"^(?:[0-9A-Fa-f]{2}[-:]?){5}[0-9A-Fa-f]{2}$")
DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
                         r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$")
TCPIP_KEY = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces"
CONN_KEY = rf"SYSTEM\CurrentControlSet\Control\Network\{NET_CLASS_GUID}"
OLD_SUFFIX = " (old adapter)"


@dataclass(frozen=True)
class Script:
    """A generated script: ``text`` (``newline``-separated) and the ``warnings`` about settings
    it could not carry (also written into the script as comments and log lines). ``encoding``
    is how the file must be saved: ``ascii``, or for a netsh script carrying non-ASCII names the
    guest's OEM code page (``cp850``...), the one cmd reads batch files in."""

    text: str
    target: str
    warnings: tuple[str, ...] = ()
    encoding: str = "ascii"

    def to_bytes(self) -> bytes:
        return self.text.encode(self.encoding)


def parse_match(spec: str) -> str | None:
    """``"new-adapter"`` -> ``None``; ``"mac:aa:bb:cc:dd:ee:ff"`` -> ``"AABBCCDDEEFF"``."""
    s = spec.strip()
    if s.lower() == "new-adapter":
        return None
    if s.lower().startswith("mac:"):
        mac = s[4:].strip()
        if MAC_RE.match(mac):
            return re.sub(r"[-:]", "", mac).upper()
    raise UsageError(f"bad match {spec!r}: give 'new-adapter' or 'mac:aa:bb:cc:dd:ee:ff'")


def matches(nics: Sequence[Interface], match: Match) -> list[str | None]:
    if isinstance(match, str):
        mac = parse_match(match)
        if len(nics) > 1:
            how = "new-adapter" if mac is None else "one MAC address"
            raise UsageError(f"{how} can place only one interface, not {len(nics)}: give a "
                             "mapping {GUID: 'mac:...'} (CLI: --match GUID=mac:...)")
        return [mac] * len(nics)
    by_guid: dict[str, str | None] = {}
    for guid, spec in match.items():
        norm = normalize_guid(guid)
        if norm is None:
            raise UsageError(f"bad GUID in match: {guid!r}")
        by_guid[norm] = parse_match(spec)
    out: list[str | None] = []
    for nic in nics:
        if nic.guid not in by_guid:
            raise UsageError(f"no match given for interface {nic.guid}")
        out.append(by_guid[nic.guid])
    if sum(m is None for m in out) > 1:
        raise UsageError("new-adapter can place only one interface")
    macs = [m for m in out if m is not None]
    if len(set(macs)) != len(macs):
        raise UsageError("two interfaces matched to the same MAC address")
    return out


def check_nic(nic: Interface) -> None:
    """The script writes GUIDs and addresses without quoting them for data: make sure they are
    what their types say (an ``Interface`` built by hand could hold anything)."""
    if normalize_guid(nic.guid) != nic.guid:
        raise UsageError(f"interface GUID {nic.guid!r} is not of the form {{XXXXXXXX-...}}")
    kinds: list[tuple[object, type | tuple[type, ...]]] = [
        *((i, IPv4Interface) for i in nic.ipv4), *((g.address, IPv4Address) for g in nic.gateways),
        *((a, (IPv4Address, IPv6Address)) for a in nic.dns_servers),
        *((a, IPv4Address) for a in nic.wins_servers), *((i, IPv6Interface) for i in nic.ipv6),
        *((a, IPv6Address) for a in nic.ipv6_dns_servers)]
    for route in nic.ipv6_routes:
        kinds.append((route.destination, IPv6Network))
        if route.next_hop is not None:
            kinds.append((route.next_hop, IPv6Address))
        if route.metric is not None and (isinstance(route.metric, bool)
                                         or not isinstance(route.metric, int)
                                         or not 0 <= route.metric <= 0xFFFFFFFE):
            raise UsageError(f"{nic.guid}: route metric {route.metric!r} is not a number")
    for value, kind in kinds:
        if not isinstance(value, kind) or "%" in str(value):
            raise UsageError(f"{nic.guid}: {value!r} is not an address of the expected kind")
    for g in nic.gateways:
        if g.metric is not None and not isinstance(g.metric, int):
            raise UsageError(f"{nic.guid}: gateway metric {g.metric!r} is not an int")
    if nic.interface_metric is not None and not isinstance(nic.interface_metric, int):
        raise UsageError(f"{nic.guid}: interface metric {nic.interface_metric!r} is not an int")


def known_guids_of(nics: Sequence[Interface], known_guids: Iterable[str]) -> list[str]:
    out: list[str] = []
    for guid in [*known_guids, *(n.guid for n in nics)]:
        norm = normalize_guid(guid)
        if norm is None:
            raise UsageError(f"not a GUID: {guid!r}")
        if norm not in out:
            out.append(norm)
    return out


def dns_all(nic: Interface) -> tuple[list[str], list[str]]:
    v4 = [str(a) for a in nic.dns_servers if isinstance(a, IPv4Address)]
    v6 = [str(a) for a in nic.dns_servers if isinstance(a, IPv6Address)]
    v6 += [str(a) for a in nic.ipv6_dns_servers if str(a) not in v6]
    return v4, v6


def register_mode(nic: Interface) -> str:
    """netsh's ``register=``: none, primary (this connection's addresses) or both (also under
    the connection-specific suffix, ``RegisterAdapterName``)."""
    if not nic.register_dns:
        return "none"
    return "both" if nic.register_adapter_name else "primary"


def describe(nic: Interface) -> str:
    bits = [nic.guid]
    if nic.name:
        bits.append(repr(nic.name))
    if nic.driver_desc:
        bits.append(f"({nic.driver_desc})")
    if nic.is_xen:
        bits.append("[Xen PV]")
    return " ".join(bits)


class Builder:
    def __init__(self, log_file: str | None, wait: int) -> None:
        self.log_file = log_file
        self.wait = wait
        self.warnings: list[str] = []
        self.lines: list[str] = []

    def warn(self, nic: Interface, message: str) -> str:
        text = f"{nic.guid}: {message}"
        self.warnings.append(text)
        return text

    def build(self, nics: list[Interface], macs: list[str | None],
              known: list[str]) -> list[str]:
        raise NotImplementedError


def ipv6_route_words(route: NsiRoute) -> tuple[str, str]:
    """(what, netsh arguments after ``interface=...``) for a persistent IPv6 route."""
    via = f" via {route.next_hop}" if route.next_hop is not None else " (on-link)"
    what = ("IPv6 default gateway" if route.is_default else f"IPv6 route {route.destination}") \
        + via + ("" if route.metric is None else f", metric {route.metric}")
    args = (f"{' nexthop=' + str(route.next_hop) if route.next_hop is not None else ''}"
            f"{'' if route.metric is None else f' metric={route.metric}'}")
    return what, args
