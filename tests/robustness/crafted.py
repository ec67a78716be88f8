"""Hand-crafted hostile hives and logs for the resource-bound tests: each is a small valid hive
written by winmigrate, then patched so that one declared size, count or reference multiplies
what a reader builds."""

from __future__ import annotations

import struct

import winmigrate
from tests.fuzz.mutators import hive_layout
from tests.fuzz.seeds import build_system, new_entry, normalise
from winmigrate.regf.baseblock import checksum

BASE = 4096


def _u32(buf: bytes | bytearray, pos: int) -> int:
    return int(struct.unpack_from("<I", buf, pos)[0])


def _nk(buf: bytes | bytearray, rel: int, field: int) -> int:
    return _u32(buf, BASE + rel + 4 + field)


def _set_nk(buf: bytearray, rel: int, field: int, value: int) -> None:
    struct.pack_into("<I", buf, BASE + rel + 4 + field, value)


def shared_subkey_lists(n: int = 600) -> bytes:
    """Key ``Many`` with ``n`` subkeys, each of which lists those same ``n`` keys as its own
    subkeys (its subkey list pointer and count are ``Many``'s): a graph of n + 1 nodes that
    reads as a tree of n**512 keys."""
    hive = winmigrate.create("ROOT", (1, 5))
    many = hive.root.create_key("Many")
    for i in range(n):
        many.create_key(f"k{i:03d}")
    data = bytearray(normalise(hive.to_bytes()))
    hive = winmigrate.Hive.from_bytes(bytes(data))
    many_key = hive.key("Many")
    list_off = _nk(data, many_key.offset, 28)
    for child in many_key.subkeys():
        _set_nk(data, child.offset, 20, n)
        _set_nk(data, child.offset, 28, list_off)
    return bytes(data)


def self_listed_root() -> bytes:
    """A small SYSTEM-like hive whose root lists itself under every name it has (fan-out 2 at
    each of the 512 levels the depth bound allows)."""
    data = bytearray(build_system((1, 5), sets=(1,), extras=False))
    lay = hive_layout(bytes(data))
    root = _u32(data, 36)
    for cell, _sig, _count, elems in lay.lists:
        if lay.list_owner.get(cell - BASE) == root:
            for e in elems:
                struct.pack_into("<I", data, e, root)
    return bytes(data)


def ri_with_repeated_leaf(leaves: int = 4000, keys: int = 500) -> bytes:
    """Version 1.3 (one plain cell for long data): key ``Many`` has ``keys`` subkeys in one
    ``lf`` leaf; a 16 KB value's data cell is rewritten as an ``ri`` list of ``leaves`` entries,
    all that same leaf, and key ``Target`` points at it, claiming ``keys`` subkeys."""
    hive = winmigrate.create("ROOT", (1, 3))
    many = hive.root.create_key("Many")
    for i in range(keys):
        many.create_key(f"k{i:03d}")
    target = hive.root.create_key("Target")
    target.set_value("blob", raw=bytes(4 + 4 * leaves))
    data = bytearray(normalise(hive.to_bytes()))
    hive = winmigrate.Hive.from_bytes(bytes(data))
    leaf = _nk(data, hive.key("Many").offset, 28)
    target_key = hive.key("Target")
    blob = target_key.value("blob")
    cell = _u32(data, BASE + blob.offset + 4 + 8)
    payload = BASE + cell + 4
    data[payload:payload + 4 + 4 * leaves] = (b"ri" + struct.pack("<H", leaves)
                                              + struct.pack("<I", leaf) * leaves)
    _set_nk(data, target_key.offset, 20, keys)
    _set_nk(data, target_key.offset, 28, cell)
    return bytes(data)


def big_data_repeated_segment(segments: int = 2000) -> bytes:
    """A ``db`` record whose ``segments`` segment references all name the same 16 KB segment,
    with the value's size claiming ``segments`` x 16344 bytes (the segment list lives in the
    data cell of another, 8 KB value)."""
    hive = winmigrate.create("ROOT", (1, 5))
    key = hive.root.create_key("Big")
    key.set_value("big", raw=bytes(20_000))
    key.set_value("list", raw=bytes(4 * segments))
    data = bytearray(normalise(hive.to_bytes()))
    hive = winmigrate.Hive.from_bytes(bytes(data))
    big = hive.key("Big").value("big")
    vk = BASE + big.offset + 4
    db = _u32(data, vk + 8)
    db_payload = BASE + db + 4
    first_segment = _u32(data, BASE + _u32(data, db_payload + 4) + 4)
    list_cell = _u32(data, BASE + hive.key("Big").value("list").offset + 4 + 8)
    struct.pack_into(f"<{segments}I", data, BASE + list_cell + 4, *([first_segment] * segments))
    struct.pack_into("<HI", data, db_payload + 2, segments, list_cell)
    struct.pack_into("<I", data, vk + 4, segments * 16344)
    return bytes(data)


def growing_log(growth: int = 16 << 20) -> tuple[bytes, dict[str, bytes]]:
    """A dirty primary and a new-format LOG1 of one valid entry (one 4 KB page, hashes right)
    whose hive bins size is ``growth`` bytes larger than the primary's."""
    clean = build_system((1, 5), sets=(1,), extras=False)
    seq = _u32(clean, 4)
    bins = _u32(clean, 40) + growth
    page = clean[BASE:BASE + 4096]
    log = bytearray(clean[:512])
    struct.pack_into("<II", log, 4, seq, seq)
    struct.pack_into("<I", log, 28, 6)
    struct.pack_into("<I", log, 40, bins)
    struct.pack_into("<I", log, 508, checksum(log))
    log += new_entry(seq, bins, [(0, page)])
    primary = bytearray(clean)
    struct.pack_into("<II", primary, 4, seq + 1, seq)
    struct.pack_into("<I", primary, 508, checksum(primary))
    return bytes(primary), {"LOG1": bytes(log)}
