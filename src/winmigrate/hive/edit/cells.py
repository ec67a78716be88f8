"""``CellEditor``: the writer's access to a writable hive image -- cells allocated, rewritten and
freed through the allocator, fields of key nodes read and set in place -- plus what every kind of
change shares: the snapshots a transaction rolls back to, the exact recount of the max-* fields
before a save, and the serialised image with its stamped base block.

The concerns built on it are mixins, one module each (``lists``, ``data``, ``security``), which
``editor.Editor`` combines with the key operations.
"""

from __future__ import annotations

from ...errors import UsageError
from ...regf import layout as L
from ...regf.allocator import Allocator, AllocatorState
from ...regf.image import Bin
from ...regf.names import utf16_length
from ...regf.records import read_nk, read_nk_named, read_vk_named, subkey_offsets, value_offsets

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..key import Key
    from ..model import HiveModel

__all__ = ["CellEditor", "Snapshot"]

_BASE = L.BASE_BLOCK_SIZE
_U32 = L.U32
_PAYLOAD = _BASE + 4  # a cell's payload starts 4 bytes after the cell


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


class CellEditor:
    """Raw edits of one writable hive's image (see the module docstring)."""

    def __init__(self, hive: HiveModel) -> None:
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

    def _bump_count(self, off: int, field: int, delta: int) -> None:
        self._set(_U32, off, field, self._get(_U32, off, field) + delta)

    def _raise_max(self, off: int, field: int, value: int, *, low16: bool = False) -> None:
        current = self._get(_U32, off, field)
        if low16:
            if value > (current & 0xFFFF):
                self._set(_U32, off, field, (current & ~0xFFFF) | min(value, 0xFFFF))
        elif value > current:
            self._set(_U32, off, field, value)

    def _alive(self, key: Key) -> None:
        if key._hive is not self.hive:
            raise UsageError("the key belongs to another hive")
        if key._off < 0:
            raise UsageError(f"key {key.name!r} was deleted")

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
        time, the root cell, the bins size and a fresh checksum; the clustering factor set to 1
        (the only value Windows loads: ``HvpVerifyHiveHeader``); every other field kept."""
        from ...regf.baseblock import write_header_fields

        base = bytearray(self.hive._bb.raw)
        _U32.pack_into(base, 36, self.hive.root._off)
        _U32.pack_into(base, L.CLUSTERING_OFFSET, 1)
        write_header_fields(base, sequence=sequence, last_written_raw=timestamp,
                            hive_bins_size=self.img.bins_size)
        return bytes(base)

    def serialize(self, sequence: int, timestamp: int) -> tuple[bytes, bytes]:
        """``(base block, hive bins)`` of the current image (see ``stamped_base_block``)."""
        self.finalize()
        with memoryview(self.buf) as view:  # one copy of the bins, not two
            bins = bytes(view[_BASE:_BASE + self.img.bins_size])
        return self.stamped_base_block(sequence, timestamp), bins
