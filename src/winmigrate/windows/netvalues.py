"""Reading registry values the way the network reader needs them: typed, tolerant of what real
hives hold (values of an unexpected type, ``0.0.0.0`` placeholders, server lists separated by
commas, spaces or semicolons, address and mask lists of unequal length), every oddity a warning
with the key and value it came from."""

from __future__ import annotations

import ipaddress
import re
from ipaddress import IPv4Address, IPv4Interface
from typing import TYPE_CHECKING

from ..regf.values import parse_decimal
from .netsettings import IPAddress, Route

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..hive import Key

__all__ = ["TypedValues", "as_text", "mask_prefix", "nonempty", "pair_addresses", "parse_ip",
           "parse_list", "parse_route", "parse_v4", "split_servers", "subkey_at"]

_LIST_SPLIT = re.compile(r"[,;\s]+")


def as_text(value: object) -> str | None:
    return None if value is None else str(value)


def nonempty(text: str | None) -> str | None:
    return text if text else None



def subkey_at(key: Key | None, path: str) -> Key | None:
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


class TypedValues:
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


def parse_ip(text: str, what: str, warnings: list[str], *, v4_only: bool = False,
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


def parse_v4(text: str, what: str, warnings: list[str]) -> IPv4Address | None:
    addr = parse_ip(text, what, warnings, v4_only=True)
    return addr if isinstance(addr, IPv4Address) else None


def parse_list(items: Iterable[str], what: str, warnings: list[str], *,
                v6_only: bool = False) -> list[IPAddress]:
    out: list[IPAddress] = []
    for item in items:
        addr = parse_ip(item, what, warnings, v6_only=v6_only)
        if addr is not None and addr not in out:
            out.append(addr)
    return out


def split_servers(text: str | None) -> list[str]:
    """``NameServer``: comma-separated since XP, space-separated on NT/2000; ``;`` seen too."""
    return [s for s in _LIST_SPLIT.split(text) if s] if text else []


def mask_prefix(text: str) -> int | None:
    """Prefix length of a dotted netmask (contiguous ones from the top), else ``None``."""
    try:
        value = int(IPv4Address(text.strip()))
    except ValueError:
        return None
    inverted = ~value & 0xFFFFFFFF
    if inverted & (inverted + 1):
        return None
    return 32 - inverted.bit_length()


def pair_addresses(addresses: list[str], masks: list[str], where: str,
                    warnings: list[str]) -> list[IPv4Interface]:
    """``IPAddress`` and ``SubnetMask`` paired in order (unequal lengths reported)."""
    if len(addresses) != len(masks):
        warnings.append(f"{where}: IPAddress has {len(addresses)} entries but SubnetMask has "
                        f"{len(masks)}; unpaired entries ignored")
    out: list[IPv4Interface] = []
    for addr_text, mask_text in zip(addresses, masks, strict=False):
        addr = parse_v4(addr_text, f"{where}\\IPAddress", warnings)
        if addr is None:
            continue
        prefix = mask_prefix(mask_text)
        if prefix is None or prefix == 0:
            warnings.append(f"{where}\\SubnetMask: {mask_text!r} is not a usable netmask for "
                            f"{addr}; address ignored")
            continue
        iface = IPv4Interface(f"{addr}/{prefix}")
        if iface not in out:
            out.append(iface)
    return out


def parse_route(name: str, warnings: list[str]) -> Route | None:
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
    prefix = mask_prefix(parts[1])
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
