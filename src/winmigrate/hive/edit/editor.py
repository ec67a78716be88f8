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

from ...errors import KeyExistsError, KeyNotFoundError, UsageError
from ...regf import layout as L
from ...regf.build import build_nk
from ...regf.names import encode_name, utf16_length
from ...regf.records import read_nk, subkey_offsets, value_offsets
from ...regf.timestamps import MAX_FILETIME, datetime_to_filetime, now_filetime
from ..key import child_key
from ..lookup import split_path
from .data import ValueEdits
from .lists import SubkeyLists
from .naming import check_key_name
from .security import SecurityRecords

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

    from ..key import Key

__all__ = ["Editor"]

_U16 = L.U16
_U32 = L.U32
_U64 = L.U64


class Editor(SubkeyLists, ValueEdits, SecurityRecords):
    """All changes to one writable hive go through here (``Key`` methods delegate to it): the
    key operations and class names here, lists, values and security records in their mixins."""

    # -- keys ----------------------------------------------------------------------------------

    def create_key(self, parent: Key, path: str | list[str], exist_ok: bool) -> Key:
        """``path`` is split on ``\\`` and ``/``; a list gives the names literally."""
        self._alive(parent)
        if isinstance(path, list):
            parts = path
        else:
            parts = split_path(path) if isinstance(path, str) else []
        if not parts:
            raise UsageError(f"no key name in path {path!r}")
        for part in parts:
            check_key_name(part)
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
        return child_key(self.hive, off, parent)

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

    def rename(self, key: Key, new_name: str) -> None:
        self._alive(key)
        check_key_name(new_name)
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
        from datetime import datetime

        self._alive(key)
        if when is not None and not isinstance(when, datetime):
            raise UsageError(f"when must be a datetime or None, not {type(when).__name__}")
        ticks = now_filetime() if when is None else datetime_to_filetime(when)
        if when is not None and not 0 < ticks < MAX_FILETIME:
            raise UsageError(f"when ({when.isoformat()}) is outside what a FILETIME holds "
                             "(1601-01-01 to 30828-09-14 UTC)")
        self._set(_U64, key._off, L.NK_OFF_TIMESTAMP, ticks)
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
