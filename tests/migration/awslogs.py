"""Read what can be read from the transaction logs of the AWS EC2 (Xen) guest's SYSTEM hive.

The corpus holds ``strozfriedberg_notatin/test_data/system.log1``/``.log2`` without their
primary. Their new-format entries carry 4 KiB pages of the hive bins (about 530 of 4,085); laid
out at their offsets they give a sparse image in which every key node (nk), value list and value
(vk) that lies wholly in the pages present can be parsed, and a key's path rebuilt through its
parents' nodes where those are present too. This is evidence for the fixtures, not a hive
reader: damaged or partial cells are skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from winmigrate.regf import layout as L
from winmigrate.regf.logfile import parse_log_header, scan_entries
from winmigrate.regf.values import decode

LOGS = ("strozfriedberg_notatin/test_data/system.log1",
        "strozfriedberg_notatin/test_data/system.log2")
PAGE = 4096


@dataclass(frozen=True)
class MinedKey:
    path: str  # from the root's name, e.g. ROOT\ControlSet002\Services\xenbus; "?" = unknown
    values: dict[str, tuple[int, bytes]] | None  # None when the value list is not present

    def get(self, name: str) -> object:
        if self.values is None or name not in self.values:
            return None
        type_, raw = self.values[name]
        return decode(type_, raw)


class SparseHive:
    def __init__(self, corpus: Path) -> None:
        entries = []
        for rel in LOGS:
            data = (corpus / rel).read_bytes()
            header = parse_log_header(data, source=rel)
            scan = scan_entries(data, header.sequence, max_bins_size=1 << 30)
            entries.extend((e.sequence, e, data) for e in scan.entries)
        entries.sort(key=lambda t: t[0])
        size = max(e.bins_size for _, e, _ in entries)
        self.img = bytearray(size)
        self.have = bytearray(size // PAGE + 1)
        for _, entry, data in entries:  # in sequence order: later pages win
            for off, length, log_off in entry.pages:
                self.img[off:off + length] = data[log_off:log_off + length]
                for p in range(off // PAGE, (off + length) // PAGE):
                    self.have[p] = 1

    @property
    def pages(self) -> int:
        return sum(self.have)

    def _present(self, off: int, n: int) -> bool:
        if off < 0 or n <= 0 or off + n > len(self.img):
            return False
        return all(self.have[p] for p in range(off // PAGE, (off + n - 1) // PAGE + 1))

    def _cell(self, off: int) -> bytes | None:
        if not self._present(off, 4):
            return None
        size = struct.unpack_from("<i", self.img, off)[0]
        if size >= 0 or -size > 1 << 20 or not self._present(off, -size):
            return None
        return bytes(self.img[off + 4:off - size])

    def _nk(self, off: int) -> tuple[tuple[int, ...], str] | None:
        cell = self._cell(off)
        if cell is None or cell[:2] != b"nk" or len(cell) < L.NK_FIXED_SIZE:
            return None
        f = L.NK.unpack_from(cell, 0)
        raw = cell[L.NK_FIXED_SIZE:L.NK_FIXED_SIZE + f[L.NK_NAME_LENGTH]]
        name = raw.decode("latin-1") if f[L.NK_FLAGS] & L.KEY_COMP_NAME else raw.decode(
            "utf-16-le", "replace")
        return f, name

    def _path(self, off: int) -> str:
        parts: list[str] = []
        for _ in range(64):
            found = self._nk(off)
            if found is None:
                return "?\\" + "\\".join(reversed(parts))
            f, name = found
            parts.append(name)
            if f[L.NK_FLAGS] & L.KEY_HIVE_ENTRY:
                break
            off = f[L.NK_PARENT]
        return "\\".join(reversed(parts))

    def _values(self, f: tuple[int, ...]) -> dict[str, tuple[int, bytes]] | None:
        count = f[L.NK_VALUE_COUNT]
        if not count:
            return {}
        lst = self._cell(f[L.NK_VALUE_LIST])
        if lst is None or len(lst) < 4 * count:
            return None
        out: dict[str, tuple[int, bytes]] = {}
        for i in range(count):
            voff = struct.unpack_from("<I", lst, 4 * i)[0]
            vk = self._cell(voff)
            if vk is None or vk[:2] != b"vk":
                return None
            nlen, dsize, doff, type_, flags = struct.unpack_from("<HIIIH", vk, 2)
            raw_name = vk[20:20 + nlen]
            name = raw_name.decode("latin-1") if flags & 1 else raw_name.decode(
                "utf-16-le", "replace")
            if dsize & 0x80000000:
                data = struct.pack("<I", doff)[:dsize & 7]
            else:
                cell = self._cell(doff)
                if cell is None or dsize > len(cell):
                    return None
                data = cell[:dsize]
            out[name] = (type_, data)
        return out

    def keys(self) -> Iterator[MinedKey]:
        for page in range(len(self.have)):
            if not self.have[page]:
                continue
            for off in range(page * PAGE, page * PAGE + PAGE, 8):
                if self.img[off + 4:off + 6] == b"nk":
                    found = self._nk(off)
                    if found is not None:
                        yield MinedKey(self._path(off), self._values(found[0]))

    def by_path(self) -> dict[str, MinedKey]:
        out: dict[str, MinedKey] = {}
        for key in self.keys():
            if key.values is not None or key.path.upper() not in out:
                out[key.path.upper()] = key
        return out
