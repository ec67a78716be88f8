"""Builders for record payloads: the inverse of ``.records`` (tests check
``parse(build(x)) == x`` and ``build(parse(b)) == b`` on real cells)."""

from __future__ import annotations

from . import layout as L
from .names import encode_name, lf_hint, lh_hash


def build_nk(*, name: str, flags: int, timestamp: int, parent: int, security: int,
             access_bits: int = 0, subkey_count: int = 0, subkey_list: int = L.NIL,
             value_count: int = 0, value_list: int = L.NIL, class_offset: int = L.NIL,
             class_length: int = 0, max_name: int = 0, max_class: int = 0,
             max_value_name: int = 0, max_value_data: int = 0, workvar: int = 0,
             volatile_subkey_count: int = 0, volatile_subkey_list: int = L.NIL) -> bytes:
    """A key node; the compressed-name flag is set from the name (Latin-1 fits or not)."""
    raw, compressed = encode_name(name)
    flags = (flags | L.KEY_COMP_NAME) if compressed else (flags & ~L.KEY_COMP_NAME)
    return L.NK.pack(L.NK_SIGNATURE, flags, timestamp, access_bits, parent, subkey_count,
                     volatile_subkey_count, subkey_list, volatile_subkey_list, value_count,
                     value_list, security, class_offset, max_name, max_class, max_value_name,
                     max_value_data, workvar, len(raw), class_length) + raw


def build_vk(*, name: str, size_field: int, data_offset: int, type_: int, flags: int = 0,
             spare: int = 0) -> bytes:
    """A value record; the compressed-name flag is set from the name."""
    if name:
        raw, compressed = encode_name(name)
    else:
        raw, compressed = b"", False
    flags = (flags | L.VALUE_COMP_NAME) if compressed else (flags & ~L.VALUE_COMP_NAME)
    return L.VK.pack(L.VK_SIGNATURE, len(raw), size_field, data_offset, type_, flags, spare) + raw


def resident_fields(data: bytes) -> tuple[int, int]:
    """``(size field, data offset field)`` for data of at most 4 bytes stored in the record."""
    assert len(data) <= L.RESIDENT_MAX
    return L.DATA_RESIDENT | len(data), int.from_bytes(data.ljust(4, b"\0"), "little")


def hint_for(sig: bytes, name: str) -> int:
    """The second u32 of an ``lh``/``lf`` element for ``name``."""
    if sig == L.LH_SIGNATURE:
        return lh_hash(name)
    return int.from_bytes(lf_hint(name), "little")


def build_leaf(sig: bytes, elements: list[int], hints: list[int]) -> bytes:
    """An ``li``, ``lf`` or ``lh`` leaf."""
    if sig == L.LI_SIGNATURE:
        return L.LIST_HEADER.pack(sig, len(elements)) + L.u32_array(len(elements)).pack(*elements)
    pairs: list[int] = []
    for off, hint in zip(elements, hints):
        pairs.append(off)
        pairs.append(hint)
    return L.LIST_HEADER.pack(sig, len(elements)) + L.u32_array(len(pairs)).pack(*pairs)


def build_ri(leaves: list[int]) -> bytes:
    return L.LIST_HEADER.pack(L.RI_SIGNATURE, len(leaves)) + L.u32_array(len(leaves)).pack(*leaves)


def build_offsets(offsets: list[int]) -> bytes:
    """A value list or a big-data segment list: a plain array of cell offsets."""
    return L.u32_array(len(offsets)).pack(*offsets)


def build_db(count: int, segment_list: int) -> bytes:
    return L.DB.pack(L.DB_SIGNATURE, count, segment_list)


def build_sk(*, flink: int, blink: int, reference_count: int, descriptor: bytes,
             reserved: int = 0) -> bytes:
    return (L.SK.pack(L.SK_SIGNATURE, reserved, flink, blink, reference_count, len(descriptor))
            + descriptor)
