"""Persistent routes in the NSI store: ``<CS>\\Control\\Nsi\\<module>\\16``, the IP forward
table of the IPv4 (``{eb004a00-...}``) and IPv6 (``{eb004a01-...}``) modules -- where Vista and
later keep the routes and default gateways set with ``netsh ... store=persistent`` or in the
adapter's properties. IPv6 default gateways exist nowhere else in the registry.

Each route is one value; its name is the hex of the forward-table key (Wine's ``nsi.h`` names
the fields): a u32 (0), the destination prefix (4 or 16 bytes, network order), the prefix length
(1 byte, 3 of padding), 12 bytes (0), for IPv6 4 more bytes of padding, the interface's NET_LUID
twice (8 bytes each, little-endian) and the next hop (4 or 16 bytes), for IPv4 4 bytes of
padding: 48 bytes for IPv4, 72 for IPv6. Verified on the corpus: the Windows 7 SYSTEM hive's two
IPv4 rows decode to ``0.0.0.0/0`` via ``10.3.58.1`` and via ``192.168.1.1`` on the LUIDs of the
two adapters whose ``DefaultGateway`` values say the same. The value's data (a
``nsi_ip_forward_rw``) holds the metric at offset 12; ``0xFFFFFFFF`` there means "automatic".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..hive import Key

__all__ = ["NSI_FORWARD_TABLE", "NsiRoute", "nsi_routes"]

#: The NSI object id of the IP forward (route) table.
NSI_FORWARD_TABLE = "16"
_KEY_SIZES = {4: 48, 16: 72}
_METRIC = struct.Struct("<I")
_METRIC_OFFSET = 12
_AUTOMATIC = 0xFFFFFFFF


@dataclass(frozen=True)
class NsiRoute:
    """One persistent route of an interface (``luid``). ``metric`` ``None``: automatic."""

    luid: int
    destination: IPv4Network | IPv6Network
    next_hop: IPv4Address | IPv6Address | None
    metric: int | None

    @property
    def is_default(self) -> bool:
        return self.destination.prefixlen == 0

    def to_dict(self) -> dict[str, object]:
        return {"destination": str(self.destination),
                "next_hop": None if self.next_hop is None else str(self.next_hop),
                "metric": self.metric}


def nsi_routes(ccs: Key, module_guid: str, addr_len: int
               ) -> tuple[dict[int, list[NsiRoute]], list[str]]:
    """The persistent routes of NSI module ``module_guid`` (``addr_len`` 4 or 16), by NET_LUID,
    in stored order; and warnings for rows that cannot be read."""
    key: Key | None = ccs
    for name in ("Control", "Nsi", module_guid, NSI_FORWARD_TABLE):
        key = key.get_subkey(name) if key is not None else None
    rows: dict[int, list[NsiRoute]] = {}
    warnings: list[str] = []
    if key is None:
        return rows, warnings
    size = _KEY_SIZES[addr_len]
    where = f"Nsi\\{module_guid}\\{NSI_FORWARD_TABLE}"
    v6 = addr_len == 16
    for value in key.values():
        try:
            raw = bytes.fromhex(value.name)
        except ValueError:
            raw = b""
        if len(raw) != size:
            warnings.append(f"{where}: value name {value.name[:40]!r} is not a route key")
            continue
        prefix = raw[4:4 + addr_len]
        length = raw[4 + addr_len]
        off = 4 + addr_len + 4 + 12 + (4 if v6 else 0)
        luid = int.from_bytes(raw[off:off + 8], "little")
        hop = raw[off + 16:off + 16 + addr_len]
        if length > 8 * addr_len:
            warnings.append(f"{where}\\{value.name[:40]}: prefix length {length} out of range")
            continue
        try:
            dest: IPv4Network | IPv6Network = (
                IPv6Network((prefix, length)) if v6 else IPv4Network((prefix, length)))
        except ValueError:
            warnings.append(f"{where}\\{value.name[:40]}: host bits set in the destination")
            continue
        next_hop: IPv4Address | IPv6Address | None = (
            IPv6Address(hop) if v6 else IPv4Address(hop))
        if next_hop is not None and int(next_hop) == 0:
            next_hop = None  # on-link
        metric = None
        data = value.raw
        if len(data) >= _METRIC_OFFSET + 4:
            found = _METRIC.unpack_from(data, _METRIC_OFFSET)[0]
            metric = None if found == _AUTOMATIC else found
        rows.setdefault(luid, []).append(NsiRoute(luid, dest, next_hop, metric))
    return rows, warnings
