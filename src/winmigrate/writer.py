"""Changing a hive the way Windows does: keys, values, class names, security, sorted subkey lists.

The ``Editor`` works on the hive's ``bytearray`` image in place, through the allocator (free
cells reused, coalesced, bins appended only when nothing fits) and the record builders. Every
derived field is maintained by the code that changes its inputs:

* subkey lists stay sorted in Windows' upcased UTF-16 order, with ``lh`` hashes / ``lf`` hints,
  the list kind chosen by the hive version, leaves split before they pass 507 elements under an
  ``ri``, emptied leaves removed and an ``ri`` left with one leaf collapsed;
* subkey and value counts; the max name / class / value-name / value-data fields kept at least the
  truth on insert and recomputed exactly (when the hive is serialised) after removals;
* security records shared with the parent, reference counts and the flink/blink ring;
* the last-written time of changed keys and of parents whose subkey list changed.

Fields the writer does not own (flags, access bits, layered-key bits, workvar, the upper bits of
the max-name field) are left as they are.
"""

from __future__ import annotations

from .errors import (
    HiveFormatError,
    KeyExistsError,
    KeyNotFoundError,
    UsageError,
    ValueNotFoundError,
)
from .regf import layout as L
from .regf.allocator import Allocator, AllocatorState
from .regf.build import (
    build_db,
    build_leaf,
    build_nk,
    build_offsets,
    build_ri,
    build_sk,
    build_vk,
    hint_for,
    resident_fields,
)
from .regf.image import Bin
from .regf.names import collation_key, encode_name, utf16_length
from .regf.records import (
    list_leaves,
    read_nk,
    read_nk_named,
    read_sk,
    read_vk_named,
    subkey_offsets,
    value_offsets,
)
from .regf.timestamps import datetime_to_filetime, now_filetime
from .regf.values import REG_BINARY, encode, infer_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any

    from .hive import Hive, Key, Value

_BASE = L.BASE_BLOCK_SIZE
_U32 = L.U32
_U16 = L.U16
_U64 = L.U64
_PAYLOAD = _BASE + 4  # a cell's payload starts 4 bytes after the cell


def _check_key_name(name: str) -> None:
    if not isinstance(name, str):
        raise UsageError(f"a key name must be a str, not {type(name).__name__}")
    if name == "":
        raise UsageError("a key name cannot be empty")
    if "\\" in name:
        raise UsageError(f"a key name cannot contain a backslash: {name!r}")
    if utf16_length(name) > L.MAX_KEY_NAME_CHARS:
        raise UsageError(f"a key name is at most {L.MAX_KEY_NAME_CHARS} UTF-16 characters "
                         f"({utf16_length(name)} given)")
    if "\0" in name:
        raise UsageError("a key name cannot contain a NUL character")


def _check_value_name(name: str) -> None:
    if not isinstance(name, str):
        raise UsageError(f"a value name must be a str, not {type(name).__name__}")
    if utf16_length(name) > L.MAX_VALUE_NAME_CHARS:
        raise UsageError(f"a value name is at most {L.MAX_VALUE_NAME_CHARS} UTF-16 characters")


class Snapshot:
    """Everything a rollback needs (see ``Editor.snapshot``)."""

    __slots__ = ("alloc", "bins", "bins_size", "buf", "gen", "keys", "sorted_lists", "stale")

    def __init__(self, buf: bytes, bins_size: int, bins: list[Bin], alloc: AllocatorState,
                 stale: set[int], keys: list[tuple[Key, int, Key | None, str]], gen: int,
                 sorted_lists: set[int]) -> None:
        self.sorted_lists = sorted_lists
        self.buf = buf
        self.bins_size = bins_size
        self.bins = bins
        self.alloc = alloc
        self.stale = stale
        self.keys = keys
        self.gen = gen


class Editor:
    """All changes to one writable hive go through here (``Key`` methods delegate to it)."""

    def __init__(self, hive: Hive) -> None:
        self.hive = hive
        self.img = hive._img
        buf = self.img.buf
        if not isinstance(buf, bytearray):  # pragma: no cover - writable hives hold a bytearray
            raise UsageError("the hive is not writable")
        if len(buf) > _BASE + self.img.bins_size:
            del buf[_BASE + self.img.bins_size:]  # slack after the last bin is not hive data
        self.alloc = Allocator(self.img)
        self.minor = hive._bb.minor
        if self.minor >= L.LH_MIN_MINOR:
            self.leaf_sig = L.LH_SIGNATURE
        elif self.minor >= 3:
            self.leaf_sig = L.LF_SIGNATURE
        else:
            self.leaf_sig = L.LI_SIGNATURE
        self._stale: set[int] = set()  # keys whose max-* fields need an exact recount
        self.modified = False

    # -- raw access --------------------------------------------------------------------------

    @property
    def buf(self) -> bytearray:
        return self.img.buf  # type: ignore[return-value]

    def _changed(self) -> None:
        self.hive._gen += 1
        self.modified = True

    def _get(self, st: Any, off: int, field: int) -> int:
        return int(st.unpack_from(self.buf, off + _PAYLOAD + field)[0])

    def _set(self, st: Any, off: int, field: int, value: int) -> None:
        st.pack_into(self.buf, off + _PAYLOAD + field, value)

    def _new_cell(self, payload: bytes) -> int:
        off = self.alloc.alloc(len(payload))
        a = off + _PAYLOAD
        self.buf[a:a + len(payload)] = payload
        return off

    def _rewrite_cell(self, off: int, payload: bytes, spare: int = 0) -> int:
        """Put ``payload`` in the cell at ``off`` (moved, with ``spare`` bytes of room to grow,
        if it no longer fits); the offset."""
        off = self.alloc.realloc(off, len(payload), spare)
        a = off + _PAYLOAD
        self.buf[a:a + len(payload)] = payload
        return off

    def _free(self, off: int) -> None:
        if off != L.NIL:
            self.alloc.free(off)

    # -- snapshots (transactions) --------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        keys = []
        live = self.hive._keys
        if live is not None:
            keys = [(k, k._off, k._parent, k.name) for k in list(live.values())]
        return Snapshot(bytes(self.buf), self.img.bins_size, [Bin(b.offset, b.size, b.timestamp)
                                                              for b in self.alloc.bins],
                        self.alloc.state(), set(self._stale), keys, self.hive._gen,
                        set(self.hive._sorted_lists))

    def restore(self, snap: Snapshot) -> None:
        self.buf[:] = snap.buf
        self.img.bins_size = snap.bins_size
        self.img.end = _BASE + snap.bins_size
        bins = [Bin(b.offset, b.size, b.timestamp) for b in snap.bins]
        self.alloc.restore(snap.alloc, bins)
        self.img._bins = bins
        self.img._bin_starts = [b.offset for b in bins]
        self._stale = set(snap.stale)
        self.hive._sorted_lists = set(snap.sorted_lists)
        live = self.hive._keys
        if live is not None:
            known = {id(k) for k, _o, _p, _n in snap.keys}
            for key in list(live.values()):
                if id(key) not in known:
                    key._off = -1  # made inside the rolled-back transaction: gone with it
            live.clear()
            for key, off, parent, name in snap.keys:
                key._off = off
                key._parent = parent
                key.name = name
                if off >= 0:
                    live[off] = key
        self.hive._gen = max(self.hive._gen, snap.gen) + 1

    # -- keys ----------------------------------------------------------------------------------

    def _alive(self, key: Key) -> None:
        if key._hive is not self.hive:
            raise UsageError("the key belongs to another hive")
        if key._off < 0:
            raise UsageError(f"key {key.name!r} was deleted")

    def create_key(self, parent: Key, path: str | list[str], exist_ok: bool) -> Key:
        """``path`` is split on ``\\`` and ``/``; a list gives the names literally."""
        from .hive import split_path

        self._alive(parent)
        if isinstance(path, list):
            parts = path
        else:
            parts = split_path(path) if isinstance(path, str) else []
        if not parts:
            raise UsageError(f"no key name in path {path!r}")
        for part in parts:
            _check_key_name(part)
        key = parent
        for i, part in enumerate(parts):
            child = key._find(part)
            if child is None:
                child = self._create_child(key, part)
            elif i == len(parts) - 1 and not exist_ok:
                raise KeyExistsError(f"key {child.path} already exists")
            key = child
        return key

    def _create_child(self, parent: Key, name: str) -> Key:
        if parent._depth + 1 > L.MAX_KEY_DEPTH:
            raise UsageError(f"keys cannot be nested deeper than {L.MAX_KEY_DEPTH}")
        pnk = parent._fields()
        now = now_filetime()
        security = pnk[L.NK_SECURITY]
        off = self._new_cell(build_nk(name=name, flags=0, timestamp=now, parent=parent._off,
                                      security=security))
        if security != L.NIL:
            self._add_sk_reference(security, 1)
        self._list_insert(parent._off, off, name)
        self._bump_count(parent._off, L.NK_OFF_SUBKEY_COUNT, 1)
        self._raise_max(parent._off, L.NK_OFF_MAX_NAME, 2 * utf16_length(name), low16=True)
        self._set(_U64, parent._off, L.NK_OFF_TIMESTAMP, now)
        self._changed()
        return self.hive._child(off, parent)

    def _bump_count(self, off: int, field: int, delta: int) -> None:
        self._set(_U32, off, field, self._get(_U32, off, field) + delta)

    def _raise_max(self, off: int, field: int, value: int, *, low16: bool = False) -> None:
        current = self._get(_U32, off, field)
        if low16:
            if value > (current & 0xFFFF):
                self._set(_U32, off, field, (current & ~0xFFFF) | min(value, 0xFFFF))
        elif value > current:
            self._set(_U32, off, field, value)

    def delete_key(self, parent: Key, name: str, recursive: bool) -> None:
        self._alive(parent)
        child = parent._find(name)
        if child is None:
            raise KeyNotFoundError(f"{parent.path}\\{name}" if parent.path else name)
        nk = child._fields()
        if nk[L.NK_SUBKEY_COUNT] and not recursive:
            raise UsageError(f"key {child.path} has {nk[L.NK_SUBKEY_COUNT]} subkeys "
                             "(pass recursive=True to delete them too)")
        if nk[L.NK_FLAGS] & L.KEY_NO_DELETE:
            raise UsageError(f"key {child.path} is marked as not deletable")
        # Children first (post-order), without recursion.
        order: list[int] = []
        stack = [child._off]
        while stack:
            off = stack.pop()
            order.append(off)
            knk = read_nk(self.img, off)
            if knk[L.NK_SUBKEY_COUNT]:
                stack.extend(subkey_offsets(self.img, knk[L.NK_SUBKEY_LIST],
                                            knk[L.NK_SUBKEY_COUNT]))
        self._list_remove(parent._off, child._off)
        self._bump_count(parent._off, L.NK_OFF_SUBKEY_COUNT, -1)
        self._stale.add(parent._off)
        self._set(_U64, parent._off, L.NK_OFF_TIMESTAMP, now_filetime())
        live = self.hive._keys
        for off in reversed(order):
            self._free_key(off)
            self._stale.discard(off)
            if live is not None:
                obj = live.pop(off, None)
                if obj is not None:
                    obj._off = -1
        child._off = -1
        self._changed()

    def _free_key(self, off: int) -> None:
        """Free a key node and everything it owns (its subkeys must be freed already)."""
        nk = read_nk(self.img, off)
        for voff in value_offsets(self.img, nk[L.NK_VALUE_LIST], nk[L.NK_VALUE_COUNT]):
            self._free_value(voff)
        if nk[L.NK_VALUE_COUNT]:
            self._free(nk[L.NK_VALUE_LIST])
        if nk[L.NK_SUBKEY_COUNT] and nk[L.NK_SUBKEY_LIST] != L.NIL:
            self._free_list_cells(nk[L.NK_SUBKEY_LIST])
        if nk[L.NK_CLASS] != L.NIL and nk[L.NK_CLASS_LENGTH]:
            self._free(nk[L.NK_CLASS])
        if nk[L.NK_SECURITY] != L.NIL:
            self._add_sk_reference(nk[L.NK_SECURITY], -1)
        self._free(off)

    def _free_list_cells(self, list_off: int) -> None:
        self.hive._sorted_lists.discard(list_off)
        leaves = list_leaves(self.img, list_off)
        for leaf_off, _sig, _els, _hints in leaves:
            if leaf_off != list_off:
                self._free(leaf_off)
        self._free(list_off)

    def rename(self, key: Key, new_name: str) -> None:
        self._alive(key)
        _check_key_name(new_name)
        old_off = key._off
        nk = key._fields()
        parent = key._parent
        if parent is not None:
            other = parent._find(new_name)
            if other is not None and other._off != old_off:
                raise KeyExistsError(f"a key called {other.name!r} already exists next to "
                                     f"{key.path}")
        old_name = key.name
        raw, compressed = encode_name(new_name)
        flags = (nk[L.NK_FLAGS] | L.KEY_COMP_NAME) if compressed else (
            nk[L.NK_FLAGS] & ~L.KEY_COMP_NAME)
        now = now_filetime()
        fields = list(nk)
        fields[L.NK_FLAGS] = flags
        fields[L.NK_TIMESTAMP] = now
        fields[L.NK_NAME_LENGTH] = len(raw)
        payload = L.NK.pack(*fields) + raw
        if parent is not None:
            self._list_remove(parent._off, old_off)
        new_off = self._rewrite_cell(old_off, payload)
        if new_off != old_off:
            self._moved_key(old_off, new_off, nk)
        key._off = new_off
        key.name = new_name
        if parent is not None:
            self._list_insert(parent._off, new_off, new_name)
            self._raise_max(parent._off, L.NK_OFF_MAX_NAME, 2 * utf16_length(new_name),
                            low16=True)
            if utf16_length(old_name) > utf16_length(new_name):
                self._stale.add(parent._off)
            self._set(_U64, parent._off, L.NK_OFF_TIMESTAMP, now)
        self._changed()

    def _moved_key(self, old: int, new: int, nk: tuple) -> None:  # type: ignore[type-arg]
        """A key node moved: its subkeys' parent fields and our bookkeeping follow."""
        if nk[L.NK_SUBKEY_COUNT]:
            for child in subkey_offsets(self.img, nk[L.NK_SUBKEY_LIST], nk[L.NK_SUBKEY_COUNT]):
                self._set(_U32, child, L.NK_OFF_PARENT, new)
        if old in self._stale:
            self._stale.discard(old)
            self._stale.add(new)
        live = self.hive._keys
        if live is not None:
            obj = live.pop(old, None)
            if obj is not None:
                obj._off = new
                live[new] = obj

    def touch(self, key: Key, when: datetime | None) -> None:
        self._alive(key)
        ticks = now_filetime() if when is None else datetime_to_filetime(when)
        self._set(_U64, key._off, L.NK_OFF_TIMESTAMP, ticks)
        self._changed()

    # -- subkey lists --------------------------------------------------------------------------

    def _name_key(self, off: int) -> str:
        return collation_key(read_nk_named(self.img, off)[1])

    def _list_insert(self, parent_off: int, child_off: int, name: str) -> None:
        """Insert ``child_off`` into the parent's subkey list at its sorted place."""
        count = self._get(_U32, parent_off, L.NK_OFF_SUBKEY_COUNT)
        list_off = self._get(_U32, parent_off, L.NK_OFF_SUBKEY_LIST)
        sig = self.leaf_sig
        if count == 0 or list_off == L.NIL:
            leaf = self._new_cell(build_leaf(sig, [child_off], [hint_for(sig, name)]))
            self._set_list(parent_off, None, leaf, True)
            return
        was_sorted = list_off in self.hive._sorted_lists
        target = collation_key(name)
        leaves = list_leaves(self.img, list_off)
        is_ri = leaves[0][0] != list_off
        # The leaf that takes the name: the first whose last element sorts after it.
        index = len(leaves) - 1
        if len(leaves) > 1:
            for i, (_off, _sig, elements, _hints) in enumerate(leaves):
                if elements and target < self._name_key(elements[-1]):
                    index = i
                    break
        leaf_off, leaf_sig, elements, hints = leaves[index]
        lo, hi = 0, len(elements)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._name_key(elements[mid]) < target:
                lo = mid + 1
            else:
                hi = mid
        elements.insert(lo, child_off)
        if leaf_sig != L.LI_SIGNATURE:
            hints.insert(lo, hint_for(leaf_sig, name))
        new_leaves = [entry[0] for entry in leaves]
        if len(elements) > L.MAX_LEAF_ELEMENTS:
            half = len(elements) // 2
            first = self._rewrite_cell(leaf_off, build_leaf(leaf_sig, elements[:half],
                                                            hints[:half]))
            second = self._new_cell(build_leaf(leaf_sig, elements[half:], hints[half:]))
            new_leaves[index:index + 1] = [first, second]
        else:
            # A leaf that has to move gets room for half as many elements again (at most a full
            # leaf): growing one element at a time would leave a trail of freed cells.
            width = 4 if leaf_sig == L.LI_SIGNATURE else 8
            room = min(len(elements) // 2, L.MAX_LEAF_ELEMENTS - len(elements)) * width
            new_leaves[index] = self._rewrite_cell(leaf_off, build_leaf(leaf_sig, elements, hints),
                                                   room)
        if is_ri:
            ri = self._rewrite_cell(list_off, build_ri(new_leaves))
            self._set_list(parent_off, list_off, ri, was_sorted)
        elif len(new_leaves) > 1:
            ri = self._new_cell(build_ri(new_leaves))
            self._set_list(parent_off, list_off, ri, was_sorted)
        else:
            self._set_list(parent_off, list_off, new_leaves[0], was_sorted)

    def _set_list(self, parent_off: int, old: int | None, new: int, in_order: bool) -> None:
        """Point the parent at its new subkey list, and keep the hive's knowledge of which lists
        are in Windows' order (an insert or removal by binary search keeps a sorted list
        sorted) exact for both offsets."""
        self._set(_U32, parent_off, L.NK_OFF_SUBKEY_LIST, new)
        known = self.hive._sorted_lists
        if old is not None:
            known.discard(old)
        if in_order and new != L.NIL:
            known.add(new)
        else:
            known.discard(new)

    def _list_remove(self, parent_off: int, child_off: int) -> None:
        list_off = self._get(_U32, parent_off, L.NK_OFF_SUBKEY_LIST)
        was_sorted = list_off in self.hive._sorted_lists
        leaves = list_leaves(self.img, list_off)
        is_ri = leaves[0][0] != list_off
        i = next((n for n, leaf in enumerate(leaves) if child_off in leaf[2]), -1)
        if i < 0:
            raise self.img.error("key to remove is not in its parent's subkey list", child_off)
        leaf_off, leaf_sig, elements, hints = leaves[i]
        pos = elements.index(child_off)
        del elements[pos]
        if hints:
            del hints[pos]
        new_leaves = [entry[0] for entry in leaves]
        if elements:
            new_leaves[i] = self._rewrite_cell(leaf_off, build_leaf(leaf_sig, elements, hints))
        else:
            self._free(leaf_off)
            del new_leaves[i]
        if not is_ri:
            self._set_list(parent_off, list_off, new_leaves[0] if new_leaves else L.NIL,
                           was_sorted)
            return
        if not new_leaves:
            self._free(list_off)
            self._set_list(parent_off, list_off, L.NIL, was_sorted)
        elif len(new_leaves) == 1:  # an ri with one leaf is collapsed into that leaf
            self._free(list_off)
            self._set_list(parent_off, list_off, new_leaves[0], was_sorted)
        else:
            ri = self._rewrite_cell(list_off, build_ri(new_leaves))
            self._set_list(parent_off, list_off, ri, was_sorted)

    # -- values --------------------------------------------------------------------------------

    def set_value(self, key: Key, name: str, data: Any, type_: Any, raw: bytes | None) -> Value:
        from .hive import Value

        self._alive(key)
        _check_value_name(name)
        if (data is None) == (raw is None):
            raise UsageError("give exactly one of data and raw")
        if raw is not None:
            if not isinstance(raw, (bytes, bytearray, memoryview)):
                raise UsageError("raw must be bytes")
            number = REG_BINARY if type_ is None else int(type_)
            payload = bytes(raw)
        else:
            try:
                number = infer_type(data) if type_ is None else int(type_)
                payload = encode(number, data)
            except (TypeError, ValueError) as e:
                raise UsageError(f"value {name!r}: {e}") from None
        if not 0 <= number <= 0xFFFFFFFF:
            raise UsageError(f"value type {number} does not fit in 32 bits")
        size_field, data_off = self._store_data(payload)
        existing = key._find_value(name)
        # The key's value-name index, if current: kept current below instead of rebuilt.
        index = self.hive._current_value_index(key._off)
        now = now_filetime()
        if existing is not None:
            voff = existing._off
            self._free_data(existing._vk[L.VK_DATA_SIZE], existing._vk[L.VK_DATA_OFFSET])
            self._set(_U32, voff, L.VK_OFF_DATA_SIZE, size_field)
            self._set(_U32, voff, L.VK_OFF_DATA, data_off)
            self._set(_U32, voff, L.VK_OFF_TYPE, number)
            if existing.size > len(payload):
                self._stale.add(key._off)
        else:
            voff = self._new_cell(build_vk(name=name, size_field=size_field, data_offset=data_off,
                                           type_=number))
            nk = key._fields()
            count = nk[L.NK_VALUE_COUNT]
            offsets = list(value_offsets(self.img, nk[L.NK_VALUE_LIST], count)) + [voff]
            if count:
                list_off = self._rewrite_cell(nk[L.NK_VALUE_LIST], build_offsets(offsets),
                                              4 * (len(offsets) // 2))
            else:
                list_off = self._new_cell(build_offsets(offsets))
            self._set(_U32, key._off, L.NK_OFF_VALUE_LIST, list_off)
            self._set(_U32, key._off, L.NK_OFF_VALUE_COUNT, count + 1)
            self._raise_max(key._off, L.NK_OFF_MAX_VALUE_NAME, 2 * utf16_length(name))
        self._raise_max(key._off, L.NK_OFF_MAX_VALUE_DATA, len(payload))
        self._set(_U64, key._off, L.NK_OFF_TIMESTAMP, now)
        self._changed()
        if index is not None:
            index.setdefault(collation_key(name), voff)  # a replaced value keeps its record
            self.hive._keep_value_index(key._off, index)
        vk, vname = read_vk_named(self.img, voff)
        return Value(key, voff, vname, vk)

    def _store_data(self, payload: bytes) -> tuple[int, int]:
        """``(size field, data offset)`` for new data: resident up to 4 bytes (zero-length data
        is resident too, as Windows stores it), one cell up to 16344 bytes, else big data."""
        n = len(payload)
        if n > 0x7FFFFFFF:
            raise UsageError("value data is limited to 2 GiB")
        if n <= L.RESIDENT_MAX:
            return resident_fields(payload)
        if n <= L.BIG_DATA_THRESHOLD or self.minor < L.BIG_DATA_MIN_MINOR:
            return n, self._new_cell(payload)
        # Windows gives every segment, the last one included, a full 16344-byte cell (hivex
        # even drops a last segment whose cell is smaller than the data it should hold).
        step = L.BIG_DATA_SEGMENT
        segments = [self._new_cell(payload[i:i + step].ljust(step, b"\0"))
                    for i in range(0, n, step)]
        seg_list = self._new_cell(build_offsets(segments))
        return n, self._new_cell(build_db(len(segments), seg_list))

    def _free_data(self, size_field: int, data_off: int) -> None:
        if size_field & L.DATA_RESIDENT or size_field == 0 or data_off == L.NIL:
            return
        if size_field > L.BIG_DATA_THRESHOLD and self.minor >= L.BIG_DATA_MIN_MINOR:
            start, _length = self.img.cell(data_off, "big data")
            _sig, count, seg_list = L.DB.unpack_from(self.buf, start)
            for seg in value_offsets(self.img, seg_list, count):
                self._free(seg)
            self._free(seg_list)
        self._free(data_off)

    def _free_value(self, voff: int) -> None:
        vk, _name = read_vk_named(self.img, voff)
        self._free_data(vk[L.VK_DATA_SIZE], vk[L.VK_DATA_OFFSET])
        self._free(voff)

    def delete_value(self, key: Key, name: str) -> None:
        self._alive(key)
        existing = key._find_value(name)
        if existing is None:
            raise ValueNotFoundError(key.path, name)
        nk = key._fields()
        count = nk[L.NK_VALUE_COUNT]
        offsets = [o for o in value_offsets(self.img, nk[L.NK_VALUE_LIST], count)
                   if o != existing._off]
        self._free_value(existing._off)
        if offsets:
            list_off = self._rewrite_cell(nk[L.NK_VALUE_LIST], build_offsets(offsets))
        else:
            self._free(nk[L.NK_VALUE_LIST])
            list_off = L.NIL
        self._set(_U32, key._off, L.NK_OFF_VALUE_LIST, list_off)
        self._set(_U32, key._off, L.NK_OFF_VALUE_COUNT, len(offsets))
        self._stale.add(key._off)
        self._set(_U64, key._off, L.NK_OFF_TIMESTAMP, now_filetime())
        self._changed()

    # -- class names ---------------------------------------------------------------------------

    def set_class_name(self, key: Key, value: str | bytes | None) -> None:
        self._alive(key)
        if value is None:
            raw = b""
        elif isinstance(value, str):
            raw = value.encode("utf-16-le", "surrogatepass")
        elif isinstance(value, (bytes, bytearray)):
            raw = bytes(value)
        else:
            raise UsageError("a class name is a str, bytes or None")
        if len(raw) > 0xFFFF:
            raise UsageError("a class name is at most 65535 bytes")
        nk = key._fields()
        old = nk[L.NK_CLASS]
        if old != L.NIL and nk[L.NK_CLASS_LENGTH]:
            self._free(old)
        new = self._new_cell(raw) if raw else L.NIL
        self._set(_U32, key._off, L.NK_OFF_CLASS, new)
        self._set(_U16, key._off, L.NK_OFF_CLASS_LENGTH, len(raw))
        if key._parent is not None:
            self._raise_max(key._parent._off, L.NK_OFF_MAX_CLASS, len(raw))
            if nk[L.NK_CLASS_LENGTH] > len(raw):
                self._stale.add(key._parent._off)
        self._set(_U64, key._off, L.NK_OFF_TIMESTAMP, now_filetime())
        self._changed()

    # -- security ------------------------------------------------------------------------------

    def _add_sk_reference(self, sk_off: int, delta: int) -> None:
        count = self._get(_U32, sk_off, L.SK_OFF_REFCOUNT) + delta
        if count > 0:
            self._set(_U32, sk_off, L.SK_OFF_REFCOUNT, count)
            return
        # Unreferenced: unlink from the ring and free (unless it is the only record).
        flink = self._get(_U32, sk_off, L.SK_OFF_FLINK)
        blink = self._get(_U32, sk_off, L.SK_OFF_BLINK)
        if flink == sk_off:
            self._set(_U32, sk_off, L.SK_OFF_REFCOUNT, 0)
            return
        self._set(_U32, blink, L.SK_OFF_FLINK, flink)
        self._set(_U32, flink, L.SK_OFF_BLINK, blink)
        self._free(sk_off)

    def _iter_sk_ring(self, start: int) -> list[int]:
        out = [start]
        off = self._get(_U32, start, L.SK_OFF_FLINK)
        limit = self.img.bins_size // 24 + 1
        while off != start:
            out.append(off)
            if len(out) > limit:
                raise self.img.error("the security record ring does not close", start)
            read_sk(self.img, off)  # checked: allocated and signed
            off = self._get(_U32, off, L.SK_OFF_FLINK)
        return out

    def set_security(self, key: Key, descriptor: bytes) -> None:
        from .regf.security import SecurityDescriptor

        self._alive(key)
        descriptor = bytes(descriptor)
        try:
            SecurityDescriptor.parse(descriptor)
        except HiveFormatError as e:
            raise UsageError(
                f"not a valid self-relative security descriptor: {e.message}") from None
        nk = key._fields()
        current = nk[L.NK_SECURITY]
        ring_start = current if current != L.NIL else self.hive.root._fields()[L.NK_SECURITY]
        target = None
        if ring_start != L.NIL:
            for off in self._iter_sk_ring(ring_start):
                if read_sk(self.img, off)[1] == descriptor:
                    target = off
                    break
        if target is not None and target == current:
            return
        if target is not None:
            self._add_sk_reference(target, 1)
        else:
            if ring_start == L.NIL:
                target = self._new_cell(build_sk(flink=0, blink=0, reference_count=1,
                                                 descriptor=descriptor))
                self._set(_U32, target, L.SK_OFF_FLINK, target)
                self._set(_U32, target, L.SK_OFF_BLINK, target)
            else:
                # Insert after the current record: new.flink = cur.flink, new.blink = cur.
                nxt = self._get(_U32, ring_start, L.SK_OFF_FLINK)
                target = self._new_cell(build_sk(flink=nxt, blink=ring_start, reference_count=1,
                                                 descriptor=descriptor))
                self._set(_U32, ring_start, L.SK_OFF_FLINK, target)
                self._set(_U32, nxt, L.SK_OFF_BLINK, target)
        self._set(_U32, key._off, L.NK_OFF_SECURITY, target)
        if current != L.NIL:
            self._add_sk_reference(current, -1)
        self._changed()

    # -- derived fields, recomputed before the hive is serialised ------------------------------

    def finalize(self) -> None:
        """Recount the max-name/class/value-name/value-data fields of keys that lost entries."""
        for off in sorted(self._stale):
            self._recount(off)
        self._stale.clear()

    def _recount(self, off: int) -> None:
        nk = read_nk(self.img, off)
        max_name = max_class = max_vname = max_vdata = 0
        if nk[L.NK_SUBKEY_COUNT]:
            for child in subkey_offsets(self.img, nk[L.NK_SUBKEY_LIST], nk[L.NK_SUBKEY_COUNT]):
                cnk, cname = read_nk_named(self.img, child)
                max_name = max(max_name, 2 * utf16_length(cname))
                max_class = max(max_class, cnk[L.NK_CLASS_LENGTH])
        for voff in value_offsets(self.img, nk[L.NK_VALUE_LIST], nk[L.NK_VALUE_COUNT]):
            vk, vname = read_vk_named(self.img, voff)
            max_vname = max(max_vname, 2 * utf16_length(vname))
            size = vk[L.VK_DATA_SIZE]
            size = size & 0x7FFFFFFF if size & L.DATA_RESIDENT else size
            max_vdata = max(max_vdata, size)
        field = nk[L.NK_MAX_NAME]
        self._set(_U32, off, L.NK_OFF_MAX_NAME, (field & ~0xFFFF) | min(max_name, 0xFFFF))
        self._set(_U32, off, L.NK_OFF_MAX_CLASS, max_class)
        self._set(_U32, off, L.NK_OFF_MAX_VALUE_NAME, max_vname)
        self._set(_U32, off, L.NK_OFF_MAX_VALUE_DATA, max_vdata)


    # -- serialising ---------------------------------------------------------------------------

    def stamped_base_block(self, sequence: int, timestamp: int) -> bytes:
        """The base block for the current image: both sequence numbers set to ``sequence``, the
        time, the root cell, the bins size and a fresh checksum; every other field kept."""
        from .regf.baseblock import write_header_fields

        base = bytearray(self.hive._bb.raw)
        _U32.pack_into(base, 36, self.hive.root._off)
        write_header_fields(base, sequence=sequence, last_written_raw=timestamp,
                            hive_bins_size=self.img.bins_size)
        return bytes(base)

    def serialize(self, sequence: int, timestamp: int) -> tuple[bytes, bytes]:
        """``(base block, hive bins)`` of the current image (see ``stamped_base_block``)."""
        self.finalize()
        with memoryview(self.buf) as view:  # one copy of the bins, not two
            bins = bytes(view[_BASE:_BASE + self.img.bins_size])
        return self.stamped_base_block(sequence, timestamp), bins


def new_hive_bytes(root_name: str, version: tuple[int, int]) -> bytes:
    """The bytes of a new hive: a base block and one bin holding the root key and its security
    record (the default descriptor Windows gives a new hive's root)."""
    from .regf.baseblock import checksum
    from .regf.security import DEFAULT_ROOT_DESCRIPTOR

    major, minor = version
    if major != 1 or minor not in (3, 4, 5, 6):
        raise UsageError(f"cannot create a hive of version {major}.{minor} (1.3 to 1.6)")
    _check_key_name(root_name)
    now = now_filetime()
    bin_ = bytearray(L.BIN_ALIGN)
    L.HBIN_HEADER.pack_into(bin_, 0, L.HBIN_SIGNATURE, 0, L.BIN_ALIGN, 0, 0, now, 0)
    root_off = L.HBIN_HEADER_SIZE
    root = build_nk(name=root_name, flags=L.KEY_HIVE_ENTRY | L.KEY_NO_DELETE, timestamp=now,
                    parent=L.NIL, security=0)
    root_size = (len(root) + 4 + 7) & ~7
    sk_off = root_off + root_size
    root = build_nk(name=root_name, flags=L.KEY_HIVE_ENTRY | L.KEY_NO_DELETE, timestamp=now,
                    parent=L.NIL, security=sk_off)
    sk = build_sk(flink=sk_off, blink=sk_off, reference_count=1,
                  descriptor=DEFAULT_ROOT_DESCRIPTOR)
    sk_size = (len(sk) + 4 + 7) & ~7
    L.I32.pack_into(bin_, root_off, -root_size)
    bin_[root_off + 4:root_off + 4 + len(root)] = root
    L.I32.pack_into(bin_, sk_off, -sk_size)
    bin_[sk_off + 4:sk_off + 4 + len(sk)] = sk
    free_off = sk_off + sk_size
    L.I32.pack_into(bin_, free_off, L.BIN_ALIGN - free_off)
    base = bytearray(L.BASE_BLOCK_SIZE)
    L.BASE_BLOCK_HEAD.pack_into(base, 0, L.REGF_SIGNATURE, 1, 1, now, major, minor,
                                L.FILE_TYPE_PRIMARY, L.FILE_FORMAT_DIRECT_MEMORY_LOAD, root_off,
                                L.BIN_ALIGN)
    _U32.pack_into(base, L.CLUSTERING_OFFSET, 1)
    name = root_name.encode("utf-16-le", "surrogatepass")[:L.FILE_NAME_SIZE - 2]
    base[L.FILE_NAME_OFFSET:L.FILE_NAME_OFFSET + len(name)] = name
    _U32.pack_into(base, L.CHECKSUM_OFFSET, checksum(base))
    return bytes(base) + bytes(bin_)
