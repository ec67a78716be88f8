"""Values and their data: records created, replaced and deleted; data stored resident (up to 4
bytes), in one cell (up to 16344 bytes) or as big data (``db`` segments, hive 1.4 and later)."""

from __future__ import annotations

from ...errors import UsageError, ValueNotFoundError
from ...regf import layout as L
from ...regf.build import build_db, build_offsets, build_vk, resident_fields
from ...regf.names import collation_key, utf16_length
from ...regf.records import read_vk_named, value_offsets
from ...regf.timestamps import now_filetime
from ...regf.values import REG_BINARY, encode, infer_type
from ..key import Value
from .cells import CellEditor
from .naming import check_value_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..key import Key

__all__ = ["ValueEdits"]

_U32 = L.U32
_U64 = L.U64


class ValueEdits(CellEditor):
    """Setting and deleting values."""

    def set_value(self, key: Key, name: str, data: Any, type_: Any, raw: bytes | None) -> Value:
        self._alive(key)
        check_value_name(name)
        if type_ is not None and (isinstance(type_, bool) or not isinstance(type_, int)):
            raise UsageError(f"type must be a RegType or an int, not {type_!r}")
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
