"""Structure-aware mutators over hive and transaction-log bytes.

Every mutator is a pure function ``(data, rng, layout) -> bytes``: the same bytes, the same
``random.Random`` state and the same layout give the same result, so a campaign can name an input
by its seed and index, and Hypothesis can drive a mutator through ``st.randoms()``. The layout
(:func:`hive_layout`, :func:`log_layout`) is computed once from a valid seed and tells the
mutators where the structures are: bins, cells, records and their fields, list elements, the
parents of keys, log entries and their fields.

A mutator never raises on odd input (a seed that is itself damaged just gives fewer structures to
aim at) and never grows the input by more than a small constant.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from winmigrate.regf.baseblock import checksum
from winmigrate.regf.marvin import marvin32

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
BASE = 4096
NIL = 0xFFFFFFFF

#: Values that sit on the edges of what the reader checks: sizes of cells and records, the
#: resident-data bit, the big-data threshold, 4 KiB, and the ends of the integer ranges.
BOUNDARY_U32 = (0, 1, 2, 3, 4, 5, 7, 8, 0x10, 0x14, 0x18, 0x20, 0x4C, 0x50, 0xFF, 0x100, 0x1FF,
                0x200, 0xFFF, 0x1000, 0x1001, 0x1FE0, 0x3FD8, 0x3FD9, 0x7FFF, 0x8000, 0xFFFF,
                0x10000, 0x7FFFFFFF, 0x80000000, 0x80000001, 0x80000004, 0x80000005,
                0xFFFFFFF0, 0xFFFFFFF8, 0xFFFFFFFC, 0xFFFFFFFE, 0xFFFFFFFF)
BOUNDARY_U16 = (0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0x100, 0x1FB, 0x1FC, 0x7FFF, 0x8000, 0xFFFE,
                0xFFFF)
RECORD_SIGNATURES = (b"nk", b"vk", b"sk", b"lf", b"lh", b"li", b"ri", b"db")


# -- layouts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A numeric field at absolute position ``pos`` of ``width`` bytes; ``kind`` says what it
    holds: ``"count"``, ``"size"``, ``"pointer"``, ``"flags"``, ``"length"``, ``"cellsize"``..."""

    pos: int
    width: int
    kind: str
    owner: str  # record signature ("nk", "vk", ... "base", "hbin", "cell", "HvLE", "DIRT")


@dataclass
class HiveLayout:
    size: int
    bins: list[tuple[int, int]] = field(default_factory=list)  # (absolute start, size)
    cells: list[tuple[int, int]] = field(default_factory=list)  # (absolute start, signed size)
    records: dict[bytes, list[int]] = field(default_factory=dict)  # sig -> absolute cell starts
    fields: list[Field] = field(default_factory=list)
    pointers: list[Field] = field(default_factory=list)
    boundaries: list[int] = field(default_factory=list)
    parent: dict[int, int] = field(default_factory=dict)  # nk rel offset -> parent rel offset
    list_owner: dict[int, int] = field(default_factory=dict)  # list rel offset -> nk rel offset
    # (list cell absolute start, signature, count, absolute positions of the element offsets)
    lists: list[tuple[int, bytes, int, list[int]]] = field(default_factory=list)
    # big data: (db cell absolute start, absolute positions of the segment offsets in its list)
    segments: list[tuple[int, list[int]]] = field(default_factory=list)

    @property
    def allocated(self) -> list[int]:
        return [c for c, s in self.cells if s < 0]


def _u32(data: bytes | bytearray, pos: int) -> int:
    return int(_U32.unpack_from(data, pos)[0]) if 0 <= pos <= len(data) - 4 else 0


def _u16(data: bytes | bytearray, pos: int) -> int:
    return int(_U16.unpack_from(data, pos)[0]) if 0 <= pos <= len(data) - 2 else 0


def hive_layout(data: bytes) -> HiveLayout:
    """Where the structures of ``data`` are (best effort: stops at the first broken bin)."""
    lay = HiveLayout(len(data))
    add = lay.fields.append
    for pos, width, kind in ((4, 4, "sequence"), (8, 4, "sequence"), (20, 4, "version"),
                             (24, 4, "version"), (28, 4, "type"), (32, 4, "format"),
                             (36, 4, "pointer"), (40, 4, "size"), (44, 4, "count"),
                             (144, 4, "flags")):
        add(Field(pos, width, kind, "base"))
    lay.pointers.append(Field(36, 4, "pointer", "base"))
    lay.boundaries += [0, 512, 4096]
    if len(data) < BASE + 32:
        return lay
    bins_end = min(len(data), BASE + _u32(data, 40))
    pos = BASE
    while pos + 32 <= bins_end and data[pos:pos + 4] == b"hbin":
        size = _u32(data, pos + 8)
        if size < 4096 or size % 4096 or pos + size > len(data):
            break
        lay.bins.append((pos, size))
        add(Field(pos + 4, 4, "pointer", "hbin"))
        add(Field(pos + 8, 4, "size", "hbin"))
        lay.boundaries += [pos, pos + 32]
        cell = pos + 32
        end = pos + size
        while cell + 4 <= end:
            csize = _I32.unpack_from(data, cell)[0]
            length = -csize if csize < 0 else csize
            if length < 8 or length % 8 or cell + length > end:
                break
            lay.cells.append((cell, csize))
            lay.boundaries.append(cell)
            add(Field(cell, 4, "cellsize", "cell"))
            if csize < 0 and length >= 8:
                _record(data, lay, cell, length)
            cell += length
        pos += size
    lay.boundaries.append(pos)
    lay.boundaries.append(len(data))
    lay.boundaries = sorted(set(lay.boundaries))
    return lay


def _record(data: bytes, lay: HiveLayout, cell: int, length: int) -> None:
    p = cell + 4
    sig = bytes(data[p:p + 2])
    if sig not in RECORD_SIGNATURES:
        lay.records.setdefault(b"data", []).append(cell)
        return
    lay.records.setdefault(sig, []).append(cell)
    add = lay.fields.append
    ptr = lay.pointers.append
    rel = cell - BASE
    if sig == b"nk" and length >= 80:
        add(Field(p + 2, 2, "flags", "nk"))
        for off, kind in ((20, "count"), (36, "count"), (52, "length"), (56, "length"),
                          (60, "length"), (64, "size")):
            add(Field(p + off, 4, kind, "nk"))
        for off in (16, 28, 40, 44, 48):
            f = Field(p + off, 4, "pointer", "nk")
            add(f)
            ptr(f)
        add(Field(p + 72, 2, "length", "nk"))
        add(Field(p + 74, 2, "length", "nk"))
        lay.parent[rel] = _u32(data, p + 16)
        if _u32(data, p + 20):
            lay.list_owner[_u32(data, p + 28)] = rel
    elif sig == b"vk" and length >= 24:
        add(Field(p + 2, 2, "length", "vk"))
        add(Field(p + 4, 4, "size", "vk"))
        add(Field(p + 12, 4, "type", "vk"))
        add(Field(p + 16, 2, "flags", "vk"))
        f = Field(p + 8, 4, "pointer", "vk")
        add(f)
        ptr(f)
    elif sig == b"sk" and length >= 24:
        for off in (4, 8):
            f = Field(p + off, 4, "pointer", "sk")
            add(f)
            ptr(f)
        add(Field(p + 12, 4, "count", "sk"))
        add(Field(p + 16, 4, "size", "sk"))
        # The descriptor's own header: control, then owner, group, SACL, DACL offsets.
        if length >= 4 + 20 + 20:
            add(Field(p + 22, 2, "flags", "sd"))
            for off in (24, 28, 32, 36):
                add(Field(p + off, 4, "size", "sd"))
            dacl = _u32(data, p + 36)
            if dacl and p + 20 + dacl + 8 <= cell + length:
                add(Field(p + 20 + dacl + 2, 2, "size", "acl"))
                add(Field(p + 20 + dacl + 4, 2, "count", "acl"))
                add(Field(p + 20 + dacl + 8 + 2, 2, "size", "ace"))
    elif sig in (b"lf", b"lh", b"li", b"ri"):
        count = _u16(data, p + 2)
        add(Field(p + 2, 2, "count", sig.decode()))
        stride = 8 if sig in (b"lf", b"lh") else 4
        elems = [p + 4 + i * stride for i in range(count)
                 if p + 4 + i * stride + 4 <= cell + length]
        for e in elems:
            f = Field(e, 4, "pointer", sig.decode())
            add(f)
            ptr(f)
        lay.lists.append((cell, sig, count, elems))
    elif sig == b"db" and length >= 12:
        add(Field(p + 2, 2, "count", "db"))
        f = Field(p + 4, 4, "pointer", "db")
        add(f)
        ptr(f)
        count = _u16(data, p + 2)
        seg_list = _u32(data, p + 4) + BASE + 4
        if seg_list + 4 * count <= len(data):
            positions = [seg_list + 4 * i for i in range(count)]
            lay.segments.append((cell, positions))
            for pos in positions:
                f = Field(pos, 4, "pointer", "segment")
                add(f)
                ptr(f)


def fix_checksum(buf: bytearray) -> None:
    """Recompute the base block checksum (so a base block change does not just make it dirty)."""
    if len(buf) >= 512:
        _U32.pack_into(buf, 508, checksum(buf))


# -- helpers ----------------------------------------------------------------------------


def _put(buf: bytearray, pos: int, width: int, value: int) -> None:
    if pos >= 0 and pos + width <= len(buf):
        buf[pos:pos + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")


def _boundary(rng: random.Random, width: int, current: int) -> int:
    choice = rng.random()
    if choice < 0.55:
        return rng.choice(BOUNDARY_U16 if width == 2 else BOUNDARY_U32)
    if choice < 0.8:
        return current + rng.choice((-8, -4, -2, -1, 1, 2, 4, 8, 0x1000, -0x1000))
    if choice < 0.9:
        return current * rng.choice((2, 16, 256))
    return rng.getrandbits(8 * width)


def _pick_field(rng: random.Random, lay: HiveLayout, kinds: tuple[str, ...] | None = None,
                owners: tuple[str, ...] | None = None) -> Field | None:
    pool = [f for f in lay.fields if (kinds is None or f.kind in kinds)
            and (owners is None or f.owner in owners)]
    return rng.choice(pool) if pool else None


def _cell_targets(lay: HiveLayout) -> list[int]:
    """Relative offsets worth pointing at: every cell, and the classic bad ones."""
    return [c - BASE for c, _s in lay.cells] or [0x20]


# -- hive mutators ----------------------------------------------------------------------

Mutator = Callable[[bytes, random.Random, HiveLayout], bytes]


def bit_flip(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Flip 1-8 bits, half of them inside structural fields."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if lay.fields and rng.random() < 0.5:
            f = rng.choice(lay.fields)
            pos = f.pos + rng.randrange(f.width)
        else:
            pos = rng.randrange(len(buf)) if buf else 0
        if pos < len(buf):
            buf[pos] ^= 1 << rng.randrange(8)
    return bytes(buf)


def overwrite(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Write a boundary value (byte, word or dword) into a field or at a random place."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        f = _pick_field(rng, lay) if rng.random() < 0.75 else None
        if f is not None:
            current = int.from_bytes(buf[f.pos:f.pos + f.width], "little")
            _put(buf, f.pos, f.width, _boundary(rng, f.width, current))
        elif buf:
            width = rng.choice((1, 2, 4))
            pos = rng.randrange(max(1, len(buf) - width))
            _put(buf, pos, width, rng.choice(BOUNDARY_U32))
    return bytes(buf)


def truncate(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Cut the file at a structural boundary (base block end, a bin's start or end, a cell's
    start), give or take a few bytes."""
    points = lay.boundaries or [len(data)]
    cut = rng.choice(points) + rng.choice((0, 0, 0, -1, 1, -4, 4, 8, -8, 32))
    return data[:max(0, min(len(data), cut))]


def swap_cells(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Exchange the payloads of two allocated cells (as much as fits in the smaller one)."""
    cells = [(c, -s) for c, s in lay.cells if s < 0]
    if len(cells) < 2:
        return bit_flip(data, rng, lay)
    buf = bytearray(data)
    (a, la), (b, lb) = rng.sample(cells, 2)
    n = min(la, lb) - 4
    pa, pb = bytes(buf[a + 4:a + 4 + n]), bytes(buf[b + 4:b + 4 + n])
    buf[a + 4:a + 4 + n], buf[b + 4:b + 4 + n] = pb, pa
    return bytes(buf)


def _ancestors(lay: HiveLayout, rel: int) -> list[int]:
    out: list[int] = []
    seen = set()
    while rel in lay.parent and rel not in seen and len(out) < 64:
        seen.add(rel)
        rel = lay.parent[rel]
        out.append(rel)
    return out


def cyclic_lists(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Self-referencing and cyclic structures: list elements pointing at the key that owns the
    list or at one of its ancestors (one element, or all of them: a fan-out that multiplies with
    every level), an ``ri`` pointing at itself, a key whose subkey list is its parent's, a key
    that is its own parent, sk records whose ring points at themselves."""
    buf = bytearray(data)
    choice = rng.randrange(6)
    lists = [entry for entry in lay.lists if entry[3]]
    if choice <= 1 and lists:
        cell, sig, _count, elems = rng.choice(lists)
        owner = lay.list_owner.get(cell - BASE)
        if sig == b"ri":
            targets = [cell - BASE]  # an ri at itself (or, below, at its owner)
            if owner is not None:
                targets.append(owner)
        else:
            targets = [] if owner is None else [owner, *_ancestors(lay, owner)]
        if not targets:
            targets = [cell - BASE]
        target = rng.choice(targets)
        chosen = elems if choice == 1 else [rng.choice(elems)]
        for e in chosen:
            _put(buf, e, 4, target)
    elif choice == 2 and lay.parent:
        # A key takes its parent's (or the root's) subkey list and count: every level repeats.
        child = rng.choice(sorted(lay.parent))
        ancestors = _ancestors(lay, child)
        if ancestors:
            anc = rng.choice(ancestors) + BASE + 4
            me = child + BASE + 4
            if anc + 32 <= len(buf) and me + 32 <= len(buf):
                buf[me + 20:me + 24] = buf[anc + 20:anc + 24]
                buf[me + 28:me + 32] = buf[anc + 28:anc + 32]
    elif choice == 3 and lay.parent:
        key = rng.choice(sorted(lay.parent))
        _put(buf, key + BASE + 4 + 16, 4, key)  # its own parent
    elif choice == 4 and lay.records.get(b"sk"):
        sk = rng.choice(lay.records[b"sk"])
        _put(buf, sk + 4 + rng.choice((4, 8)), 4, sk - BASE)
    else:
        # A list element at the list cell itself, or at a value / security cell (type confusion).
        if lists:
            cell, _sig, _count, elems = rng.choice(lists)
            others = [c for sig in (b"vk", b"sk", b"db", b"data") for c in lay.records.get(sig, [])]
            target = rng.choice(others + [cell]) - BASE
            _put(buf, rng.choice(elems), 4, target)
    return bytes(buf)


def fan_in(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Many references to one cell: one key listed under many parents (the first element of
    several lists, often a key with a subtree), every element of one list made the same (with
    the count raised to fill the cell when it has room), every leaf of an ``ri`` the same leaf,
    every big-data segment the same segment. Shared structures multiply what a reader builds."""
    buf = bytearray(data)
    r = rng.random()
    if lay.segments and r < 0.2:
        _db, positions = rng.choice(lay.segments)
        if positions:
            segment = bytes(buf[positions[0]:positions[0] + 4])
            for pos in positions:
                buf[pos:pos + 4] = segment
        return bytes(buf)
    lists = [entry for entry in lay.lists if entry[3]]
    if not lists:
        return retarget_pointer(data, rng, lay)
    multi = [entry for entry in lists if len(entry[3]) > 1]
    if r < 0.6 or not multi:
        # One key under many parents: a key that has subkeys when there is one.
        owners = [o for o in lay.list_owner.values() if o in lay.parent]
        target = rng.choice(owners) if owners and rng.random() < 0.8 else rng.choice(
            [c - BASE for c in lay.records.get(b"nk", [])] or [0x20])
        for _cell, sig, _count, elems in rng.sample(lists, min(len(lists), rng.randint(2, 12))):
            if sig != b"ri":
                _put(buf, rng.choice(elems), 4, target)
        return bytes(buf)
    cell, sig, _count, elems = rng.choice(multi)
    same = bytes(buf[elems[0]:elems[0] + 4])
    stride = 8 if sig in (b"lf", b"lh") else 4
    if rng.random() < 0.5 and cell + 8 <= len(buf):  # fill the cell with the first element
        # (An earlier stacked mutator may have made the size absurd: stay inside the file.)
        length = min(-_I32.unpack_from(buf, cell)[0], len(buf) - cell) - 4
        capacity = max(0, (length - 4) // stride)
        first = bytes(buf[elems[0]:elems[0] + stride])
        buf[cell + 8:cell + 8 + capacity * stride] = first * capacity
        _put(buf, cell + 6, 2, min(capacity, 0xFFFF))
    else:
        for e in elems:
            buf[e:e + 4] = same
    return bytes(buf)


def huge_counts(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Declare absurd counts and sizes: subkey and value counts, list counts, data sizes, big
    data segment counts, name and class lengths, descriptor lengths, bin and hive bins sizes."""
    buf = bytearray(data)
    f = _pick_field(rng, lay, kinds=("count", "size", "length", "cellsize"))
    if f is None:
        return overwrite(data, rng, lay)
    if f.width == 2:
        value = rng.choice((0xFFFF, 0x8000, 0x7FFF, 0x1000, 0x1FC, 0x1FB, 0x100))
    elif f.kind == "cellsize":
        value = rng.choice((-0x7FFFFFF8, -0x10000000, -0x100000, 0x7FFFFFF8, 0x10000000))
    else:
        value = rng.choice((0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000, 0x10000000, 0x1000000,
                            0x100000, 0x10000, 0x3FD9, 0xFFFF, 0x80000000 | 0x7FFFFFF))
    _put(buf, f.pos, f.width, value)
    if f.owner == "base" and rng.random() < 0.8:
        fix_checksum(buf)
    return bytes(buf)


def overlap_cells(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Make a cell's size swallow its neighbour(s), or cross the end of its bin."""
    if len(lay.cells) < 2:
        return truncate(data, rng, lay)
    buf = bytearray(data)
    i = rng.randrange(len(lay.cells) - 1)
    cell, size = lay.cells[i]
    length = abs(size)
    mode = rng.randrange(3)
    if mode == 0:
        length += abs(lay.cells[i + 1][1])
    elif mode == 1:
        length += rng.choice((8, 16, 0x1000, 0x2000))
    else:
        length = max(8, length - 8)  # shrink: the neighbour now starts inside garbage
    _put(buf, cell, 4, -length if (size < 0 or rng.random() < 0.3) else length)
    return bytes(buf)


def wrong_signature(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Replace a record, bin or base block signature with another one (or with garbage)."""
    buf = bytearray(data)
    pick = rng.random()
    if pick < 0.08 or not (lay.records or lay.bins):
        buf[0:4] = rng.choice((b"regF", b"hbin", b"\0\0\0\0", b"rege"))
        return bytes(buf)
    if pick < 0.2 and lay.bins:
        start, _size = rng.choice(lay.bins)
        buf[start:start + 4] = rng.choice((b"hbiN", b"regf", b"\0\0\0\0", b"nk\0\0"))
        return bytes(buf)
    kinds = [k for k in lay.records if k != b"data"] or list(lay.records)
    cell = rng.choice(lay.records[rng.choice(kinds)])
    buf[cell + 4:cell + 6] = rng.choice(RECORD_SIGNATURES + (b"\0\0", b"NK", b"hb"))
    return bytes(buf)


def retarget_pointer(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Point a reference at another cell (of any kind: type confusion), a free cell, a bin
    header, the middle of a cell, NIL, or past the end."""
    if not lay.pointers:
        return overwrite(data, rng, lay)
    buf = bytearray(data)
    f = rng.choice(lay.pointers)
    targets = _cell_targets(lay)
    r = rng.random()
    if r < 0.6:
        value = rng.choice(targets)
    elif r < 0.7:
        value = rng.choice(targets) + rng.choice((4, 8, 12, 16, 2))
    elif r < 0.8 and lay.bins:
        value = rng.choice(lay.bins)[0] - BASE
    else:
        value = rng.choice((NIL, 0, 0x20, len(data), len(data) - BASE, 0x7FFFFFF8, 0xFFFFFFF8))
    _put(buf, f.pos, 4, value)
    if f.owner == "base":
        fix_checksum(buf)
    return bytes(buf)


def base_block(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Change a base block field and (mostly) keep the checksum right, so the change is not
    hidden behind a dirty-hive verdict."""
    buf = bytearray(data)
    f = _pick_field(rng, lay, owners=("base",))
    if f is None or len(buf) < 512:
        return bit_flip(data, rng, lay)
    current = _u32(buf, f.pos)
    if f.kind == "version":
        value = rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 0xFFFFFFFF))
    elif f.kind == "type":
        value = rng.choice((0, 1, 2, 6, 7))
    elif f.kind == "sequence":
        value = rng.choice((current + 1, current - 1, 0, 0xFFFFFFFF))
    else:
        value = _boundary(rng, 4, current)
    _put(buf, f.pos, 4, value)
    if rng.random() < 0.85:
        fix_checksum(buf)
    return bytes(buf)


def splice(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    """Copy a chunk of the file over another place (a cell over another cell, mostly)."""
    if len(data) < 128:
        return bit_flip(data, rng, lay)
    buf = bytearray(data)
    n = rng.choice((8, 16, 32, 64, 256, 512))
    cells = [c for c, _s in lay.cells]
    src = rng.choice(cells) if cells and rng.random() < 0.7 else rng.randrange(len(buf) - n)
    dst = rng.choice(cells) if cells and rng.random() < 0.7 else rng.randrange(len(buf) - n)
    chunk = bytes(buf[src:src + n])
    buf[dst:dst + len(chunk)] = chunk
    return bytes(buf[:len(data)])


def zero_range(data: bytes, rng: random.Random, lay: HiveLayout) -> bytes:
    buf = bytearray(data)
    if not buf:
        return data
    pos = rng.choice([c for c, _s in lay.cells]) if lay.cells and rng.random() < 0.6 else (
        rng.randrange(len(buf)))
    n = rng.choice((4, 8, 16, 64, 512))
    buf[pos:pos + n] = bytes(len(buf[pos:pos + n]))
    return bytes(buf)


HIVE_MUTATORS: dict[str, Mutator] = {
    "bit_flip": bit_flip,
    "overwrite": overwrite,
    "truncate": truncate,
    "swap_cells": swap_cells,
    "cyclic_lists": cyclic_lists,
    "fan_in": fan_in,
    "huge_counts": huge_counts,
    "overlap_cells": overlap_cells,
    "wrong_signature": wrong_signature,
    "retarget_pointer": retarget_pointer,
    "base_block": base_block,
    "splice": splice,
    "zero_range": zero_range,
}
#: Relative frequencies for random choice (structure-aware mutators first).
HIVE_WEIGHTS: dict[str, float] = {
    "bit_flip": 1.0, "overwrite": 1.5, "truncate": 0.6, "swap_cells": 0.8, "cyclic_lists": 1.5,
    "fan_in": 0.8, "huge_counts": 1.5, "overlap_cells": 1.0, "wrong_signature": 1.0,
    "retarget_pointer": 2.0, "base_block": 0.6, "splice": 0.6, "zero_range": 0.4,
}


# -- logs ------------------------------------------------------------------------------


@dataclass
class LogLayout:
    size: int
    format: str | None  # "new", "old" or None (not a valid-looking log)
    fields: list[Field] = field(default_factory=list)
    entries: list[tuple[int, int]] = field(default_factory=list)  # new: (offset, size)
    boundaries: list[int] = field(default_factory=list)
    bitmap: tuple[int, int] | None = None  # old: (offset, length)
    pages_offset: int | None = None  # old: where the dirty pages start


def log_layout(data: bytes) -> LogLayout:
    file_type = _u32(data, 28)
    fmt = "new" if file_type == 6 else ("old" if file_type in (1, 2) else None)
    lay = LogLayout(len(data), fmt)
    add = lay.fields.append
    for pos, kind in ((4, "sequence"), (8, "sequence"), (12, "timestamp"), (28, "type"),
                      (40, "size")):
        add(Field(pos, 4, kind, "base"))
    lay.boundaries += [0, 512, len(data)]
    if fmt == "new":
        off = 512
        while off + 40 <= len(data) and data[off:off + 4] == b"HvLE":
            size = _u32(data, off + 4)
            count = _u32(data, off + 20)
            lay.entries.append((off, size))
            lay.boundaries.append(off)
            for rel, kind in ((4, "size"), (8, "flags"), (12, "sequence"), (16, "size"),
                              (20, "count"), (24, "hash"), (28, "hash"), (32, "hash"),
                              (36, "hash")):
                add(Field(off + rel, 4, kind, "HvLE"))
            for i in range(min(count, 64)):
                ref = off + 40 + 8 * i
                if ref + 8 > off + size or ref + 8 > len(data):
                    break
                add(Field(ref, 4, "pointer", "page"))
                add(Field(ref + 4, 4, "size", "page"))
            if size < 512 or size % 512:
                break
            off += size
            lay.boundaries.append(off)
    elif fmt == "old" and data[512:516] == b"DIRT":
        bins = _u32(data, 40)
        length = bins // 4096
        lay.bitmap = (516, length)
        lay.pages_offset = -(-(516 + length) // 512) * 512
        lay.boundaries += [516, lay.pages_offset]
        lay.boundaries += list(range(lay.pages_offset, len(data), 512))
    lay.boundaries = sorted(set(b for b in lay.boundaries if 0 <= b <= len(data)))
    return lay


def rehash_entries(buf: bytearray, lay: LogLayout) -> None:
    """Recompute Hash-1 and Hash-2 of every entry whose size fits the file, so that a changed
    field reaches the code past the hash check."""
    for off, _size in lay.entries:
        size = _u32(buf, off + 4)
        if off + 40 > len(buf) or size < 40 or off + size > len(buf):
            continue
        _U32.pack_into(buf, off + 24, 0)
        h1 = marvin32(bytes(buf[off + 40:off + size]))
        buf[off + 24:off + 32] = h1.to_bytes(8, "little")
        h2 = marvin32(bytes(buf[off:off + 32]))
        buf[off + 32:off + 40] = h2.to_bytes(8, "little")


LogMutator = Callable[[bytes, random.Random, LogLayout], bytes]


def log_field(data: bytes, rng: random.Random, lay: LogLayout) -> bytes:
    """Change a log field (entry size, sequence, hive bins size, page count, page reference,
    hash; base block sequence, type, bins size) and usually keep hashes and checksum right."""
    buf = bytearray(data)
    if not lay.fields:
        return bytes(buf)
    f = rng.choice(lay.fields)
    current = _u32(buf, f.pos)
    if f.kind == "sequence":
        value = rng.choice((current + 1, current - 1, current + 2, 0, 0xFFFFFFFF,
                            current ^ 0x80000000))
    elif f.kind == "type":
        value = rng.choice((0, 1, 2, 6, 7))
    elif f.kind in ("size", "count") and rng.random() < 0.5:
        value = rng.choice((0, 1, 0x200, 0x1000, 0x7FFFF000, 0x10000000, 0xFFFFFFFF,
                            current + 0x1000, current + 0x200, current - 0x200))
    else:
        value = _boundary(rng, 4, current)
    _put(buf, f.pos, 4, value)
    if f.owner == "base" and rng.random() < 0.85:
        fix_checksum(buf)
    if f.owner in ("HvLE", "page") and rng.random() < 0.8:
        rehash_entries(buf, lay)
    return bytes(buf)


def log_pages(data: bytes, rng: random.Random, lay: LogLayout) -> bytes:
    """Damage the page data a log carries (what lands in the hive), keeping the hashes right:
    a bad bin header in a dirty page, a cell header, random bytes."""
    buf = bytearray(data)
    if lay.format == "new" and lay.entries:
        off, size = rng.choice(lay.entries)
        count = _u32(buf, off + 20)
        start = off + 40 + 8 * min(count, 64)
        end = min(off + size, len(buf))
    elif lay.pages_offset is not None:
        start, end = lay.pages_offset, len(buf)
    else:
        start, end = 512, len(buf)
    if end - start < 8:
        return bytes(buf)
    for _ in range(rng.randint(1, 6)):
        page = start + rng.randrange(0, end - start, 512) if end - start >= 512 else start
        r = rng.random()
        if r < 0.3:  # a bin header at the start of a page
            _put(buf, page + rng.choice((0, 4, 8)), 4, rng.choice(BOUNDARY_U32))
        elif r < 0.6:
            pos = rng.randrange(start, end - 4)
            _put(buf, pos & ~3, 4, rng.choice(BOUNDARY_U32))
        else:
            pos = rng.randrange(start, end)
            buf[pos] ^= 1 << rng.randrange(8)
    if rng.random() < 0.85:
        rehash_entries(buf, lay)
    return bytes(buf)


def log_truncate(data: bytes, rng: random.Random, lay: LogLayout) -> bytes:
    cut = rng.choice(lay.boundaries or [len(data)]) + rng.choice((0, 0, -1, 1, -40, 40, -512))
    return data[:max(0, min(len(data), cut))]


def log_entries(data: bytes, rng: random.Random, lay: LogLayout) -> bytes:
    """Reorder the log: duplicate an entry, swap two, drop one (sequence gaps and repeats)."""
    if lay.format != "new" or not lay.entries:
        return log_field(data, rng, lay)
    parts = [bytes(data[o:o + s]) for o, s in lay.entries if s >= 512]
    if not parts:
        return log_field(data, rng, lay)
    mode = rng.randrange(3)
    if mode == 0:
        i = rng.randrange(len(parts))
        parts.insert(i, parts[i])
    elif mode == 1 and len(parts) > 1:
        i, j = rng.sample(range(len(parts)), 2)
        parts[i], parts[j] = parts[j], parts[i]
    else:
        del parts[rng.randrange(len(parts))]
    return bytes(data[:512]) + b"".join(parts)


def log_bitmap(data: bytes, rng: random.Random, lay: LogLayout) -> bytes:
    """Old format: flip bitmap bits, mark everything dirty, or clear it; break ``DIRT``."""
    if lay.bitmap is None:
        return log_field(data, rng, lay)
    buf = bytearray(data)
    start, length = lay.bitmap
    r = rng.random()
    if r < 0.1:
        buf[512:516] = rng.choice((b"DIRt", b"\0\0\0\0", b"HvLE"))
    elif length and r < 0.3:
        buf[start:start + length] = b"\xff" * len(buf[start:start + length])
    elif length and r < 0.4:
        buf[start:start + length] = bytes(len(buf[start:start + length]))
    elif length:
        for _ in range(rng.randint(1, 8)):
            pos = start + rng.randrange(length)
            if pos < len(buf):
                buf[pos] ^= 1 << rng.randrange(8)
    return bytes(buf)


def log_bit_flip(data: bytes, rng: random.Random, lay: LogLayout) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if buf:
            pos = rng.randrange(len(buf))
            buf[pos] ^= 1 << rng.randrange(8)
    return bytes(buf)


LOG_MUTATORS: dict[str, LogMutator] = {
    "log_field": log_field,
    "log_pages": log_pages,
    "log_truncate": log_truncate,
    "log_entries": log_entries,
    "log_bitmap": log_bitmap,
    "log_bit_flip": log_bit_flip,
}
LOG_WEIGHTS: dict[str, float] = {
    "log_field": 3.0, "log_pages": 2.0, "log_truncate": 1.0, "log_entries": 1.0,
    "log_bitmap": 1.0, "log_bit_flip": 0.7,
}


# -- driving them ----------------------------------------------------------------------


def mutate_hive(data: bytes, rng: random.Random, lay: HiveLayout, *,
                names: list[str] | None = None) -> tuple[bytes, list[str]]:
    """Apply 1-4 mutators (stacked, as later ones see earlier results through the same layout)
    and return the bytes with the names used."""
    used = names or rng.choices(list(HIVE_WEIGHTS), weights=list(HIVE_WEIGHTS.values()),
                                k=rng.choice((1, 1, 1, 2, 2, 3, 4)))
    for name in used:
        try:
            data = HIVE_MUTATORS[name](data, rng, lay)
        except (struct.error, IndexError, ValueError):
            pass  # a stacked mutator met bytes an earlier one cut short: skip it
    return data, list(used)


def mutate_logs(primary: bytes, logs: dict[str, bytes], rng: random.Random,
                primary_layout: HiveLayout, log_layouts: dict[str, LogLayout]
                ) -> tuple[bytes, dict[str, bytes], list[str]]:
    """Mutate a dirty hive's logs (mostly) and its primary (sometimes)."""
    used: list[str] = []
    out = dict(logs)
    roles = sorted(logs)
    for _ in range(rng.choice((1, 1, 2, 3))):
        if roles and rng.random() < 0.75:
            role = rng.choice(roles)
            name = rng.choices(list(LOG_WEIGHTS), weights=list(LOG_WEIGHTS.values()))[0]
            try:
                out[role] = LOG_MUTATORS[name](out[role], rng, log_layouts[role])
            except (struct.error, IndexError, ValueError):
                pass  # see mutate_hive
            used.append(f"{role}:{name}")
        else:
            primary, names = mutate_hive(primary, rng, primary_layout,
                                         names=[rng.choices(list(HIVE_WEIGHTS),
                                                            weights=list(HIVE_WEIGHTS.values()))[0]])
            used += names
    if roles and rng.random() < 0.05:
        del out[rng.choice(roles)]  # a log gone missing
        used.append("drop_log")
    return primary, out, used
