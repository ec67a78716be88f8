"""Compaction: the same logical hive laid out afresh, with no free space left between cells.

Every key keeps its name, flags, timestamp, access bits, class name, security descriptor (shared
records stay shared, with exact reference counts) and values (name, type, flags and raw bytes, in
stored order); subkey lists are rebuilt in collation order. The base block keeps every field the
writer does not own (GUIDs, flags, file name...).
"""

from __future__ import annotations

from ..regf import layout as L
from ..regf.build import build_leaf, build_nk, build_offsets, build_ri, build_sk, build_vk, hint_for
from ..regf.names import collation_key, utf16_length
from ..regf.records import read_nk, read_sk
from .edit.blank import new_hive_bytes
from .edit.editor import Editor
from .key import new_key
from .model import HiveModel

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .key import Key

_U32 = L.U32


def compact_hive(src: HiveModel) -> tuple[HiveModel, Editor]:
    """A new writable in-memory hive with ``src``'s content, densely laid out, and its editor
    (which holds the new image)."""
    from ..regf.baseblock import BaseBlock

    fresh = HiveModel(bytearray(new_hive_bytes("ROOT", src.version)), writable=True)
    base = bytearray(src._bb.raw)
    fresh_raw = bytearray(fresh._bb.raw)
    base[36:44] = fresh_raw[36:44]  # root cell and bins size of the new layout
    fresh._bb = BaseBlock(bytes(base))
    ed = Editor(fresh)
    fresh._editor = ed
    security: dict[bytes, int] = {}
    # Start from an empty root: drop the default security record, then copy the source root.
    root_off = fresh.root._off
    default_sk = _U32.unpack_from(ed.buf, root_off + 4096 + 4 + L.NK_OFF_SECURITY)[0]
    ed.alloc.free(default_sk)
    ed.alloc.free(root_off)
    new_root = _copy_node(ed, src.root, L.NIL, security, root=True)
    fresh._keys.clear()
    fresh._root = new_key(fresh, new_root, read_nk(ed.img, new_root), src.root.name, None, 0)
    _link_ring(ed, list(security.values()))
    stack: list[tuple[Key, int]] = [(src.root, new_root)]
    while stack:
        skey, doff = stack.pop()
        children = skey.subkeys()
        if not children:
            continue
        offs = []
        names = []
        for child in children:
            coff = _copy_node(ed, child, doff, security)
            offs.append(coff)
            names.append(child.name)
            stack.append((child, coff))
        _write_list(ed, doff, offs, names)
    _link_ring(ed, list(security.values()))
    fresh._gen += 1
    ed.modified = True
    return fresh, ed


def _copy_node(ed: Editor, key: Key, parent: int, security: dict[bytes, int], *,
               root: bool = False) -> int:
    nk = key._fields()
    sk = L.NIL
    descriptor = _descriptor(key)
    if descriptor is not None:
        sk = security.get(descriptor, L.NIL)
        if sk == L.NIL:
            sk = ed._new_cell(build_sk(flink=0, blink=0, reference_count=0, descriptor=descriptor))
            security[descriptor] = sk
        ed._set(_U32, sk, L.SK_OFF_REFCOUNT, ed._get(_U32, sk, L.SK_OFF_REFCOUNT) + 1)
    class_raw = key.class_name_raw
    class_off = ed._new_cell(class_raw) if class_raw else L.NIL
    values = key.values()
    value_offs = []
    max_vname = max_vdata = 0
    for value in values:
        raw = value.raw
        size_field, data_off = ed._store_data(raw)
        value_offs.append(ed._new_cell(build_vk(name=value.name, size_field=size_field,
                                                data_offset=data_off, type_=value.type_number,
                                                flags=value.flags)))
        max_vname = max(max_vname, 2 * utf16_length(value.name))
        max_vdata = max(max_vdata, len(raw))
    value_list = ed._new_cell(build_offsets(value_offs)) if value_offs else L.NIL
    return ed._new_cell(build_nk(
        name=key.name, flags=nk[L.NK_FLAGS], timestamp=nk[L.NK_TIMESTAMP],
        access_bits=nk[L.NK_ACCESS_BITS], parent=parent, security=sk,
        value_count=len(value_offs), value_list=value_list, class_offset=class_off,
        class_length=len(class_raw or b""), max_name=nk[L.NK_MAX_NAME] & ~0xFFFF,
        max_value_name=max_vname, max_value_data=max_vdata, workvar=nk[L.NK_WORKVAR]))


def _descriptor(key: Key) -> bytes | None:
    off = key._fields()[L.NK_SECURITY]
    if off == L.NIL:
        return None
    return read_sk(key._hive._img, off)[1]


def _write_list(ed: Editor, parent: int, offs: list[int], names: list[str]) -> None:
    """Subkey list of a new key from its children (sorted as Windows sorts them)."""
    order = sorted(range(len(offs)), key=lambda i: collation_key(names[i]))
    sig = ed.leaf_sig
    elements = [offs[i] for i in order]
    hints = [hint_for(sig, names[i]) for i in order] if sig != L.LI_SIGNATURE else []
    if len(elements) <= L.MAX_LEAF_ELEMENTS:
        list_off = ed._new_cell(build_leaf(sig, elements, hints))
    else:
        # Leaves about half full, as Windows leaves them after its splits.
        step = (L.MAX_LEAF_ELEMENTS + 1) // 2
        leaves = [ed._new_cell(build_leaf(sig, elements[i:i + step],
                                          hints[i:i + step] if hints else []))
                  for i in range(0, len(elements), step)]
        list_off = ed._new_cell(build_ri(leaves))
    max_name = max(2 * utf16_length(n) for n in names)
    max_class = 0
    for off in offs:
        max_class = max(max_class, read_nk(ed.img, off)[L.NK_CLASS_LENGTH])
    field = ed._get(_U32, parent, L.NK_OFF_MAX_NAME)
    ed._set(_U32, parent, L.NK_OFF_SUBKEY_LIST, list_off)
    ed.hive._sorted_lists.add(list_off)  # built in collation order
    ed._set(_U32, parent, L.NK_OFF_SUBKEY_COUNT, len(offs))
    ed._set(_U32, parent, L.NK_OFF_MAX_NAME, (field & ~0xFFFF) | min(max_name, 0xFFFF))
    ed._set(_U32, parent, L.NK_OFF_MAX_CLASS, max_class)


def _link_ring(ed: Editor, sks: list[int]) -> None:
    """Chain the security records into their circular flink/blink list."""
    n = len(sks)
    for i, off in enumerate(sks):
        ed._set(_U32, off, L.SK_OFF_FLINK, sks[(i + 1) % n])
        ed._set(_U32, off, L.SK_OFF_BLINK, sks[(i - 1) % n])
