"""``Key`` and ``Value``: one registry key and one value, read lazily from their hive's image.

A ``Key`` is a parsed key node (nk) and a ``Value`` a parsed value (vk); lists, data and security
descriptors are read when asked for. Nothing here parses bytes directly: ``regf.records`` does,
through the checked cell access of ``regf.image``; names are found by ``lookup``. A key knows its
hive as the ``HiveState`` it reads through. Editing methods hand the change to the writer
(``HiveState._edit``), which keeps every derived field right.

The module imports only what a point lookup needs; dates, enums and the writer are imported on
first use, which keeps a whole-process lookup fast.
"""

from __future__ import annotations

from ..errors import HiveFormatError, KeyNotFoundError, UsageError, ValueNotFoundError
from ..regf import layout as L
from ..regf.names import collation_key
from ..regf.records import (
    class_name,
    read_children,
    read_nk,
    read_nk_named,
    read_values,
    read_vk_named,
    subkey_offsets,
    value_data,
    value_offsets,
)
from ..regf.values import decode
from .loading import salvage_nk
from .lookup import find_subkey, find_value, value_name_index

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from typing import Any, Protocol

    from ..regf.regtype import RegType
    from ..regf.security import SecurityDescriptor
    from .state import HiveState

    class Editing(Protocol):
        """What the editing methods of ``Key`` need from the writer (``edit.Editor``)."""

        def create_key(self, parent: Key, path: str | list[str], exist_ok: bool) -> Key: ...
        def delete_key(self, parent: Key, name: str, recursive: bool) -> None: ...
        def rename(self, key: Key, new_name: str) -> None: ...
        def set_value(self, key: Key, name: str, data: Any, type_: Any,
                      raw: bytes | None) -> Value: ...
        def delete_value(self, key: Key, name: str) -> None: ...
        def set_class_name(self, key: Key, value: str | bytes | None) -> None: ...
        def set_security(self, key: Key, descriptor: bytes) -> None: ...
        def touch(self, key: Key, when: datetime | None) -> None: ...

__all__ = ["Key", "Value", "child_key", "new_key"]

_BASE = L.BASE_BLOCK_SIZE
_PACK_U32 = L.U32.pack
# Keys with at least this many values get a name index (a value list is unsorted: without one,
# every lookup reads every record, and setting n values one by one costs n^2 reads).
_VALUE_INDEX_MIN = 32
_NK_SUBKEY_COUNT = L.NK_SUBKEY_COUNT
_NK_SUBKEY_LIST = L.NK_SUBKEY_LIST
_NK_VALUE_COUNT = L.NK_VALUE_COUNT
_NK_VALUE_LIST = L.NK_VALUE_LIST
_VK_TYPE = L.VK_TYPE
_UTF16LE = L.UTF16LE
_to_regtype: Any = None
_TYPES: dict[int, Any] = {}  # type number -> RegType member, filled on first use


def _regtype(number: int) -> RegType | int:
    global _to_regtype
    if _to_regtype is None:
        from ..regf.regtype import RegType, to_regtype

        _to_regtype = to_regtype
        _TYPES.update((int(t), t) for t in RegType)
    return _to_regtype(number)  # type: ignore[no-any-return]


def new_key(hive: HiveState, off: int, nk: tuple, name: str,  # type: ignore[type-arg]
            parent: Key | None, depth: int) -> Key:
    """The ``Key`` for the node at ``off``: in a writable hive the one live object for that
    node (edits through one key object are seen by every holder), else a new one."""
    key = Key(hive, off, nk, name, parent, depth)
    live_keys = hive._keys
    if live_keys is not None:
        live = live_keys.get(off)
        if live is not None:
            live._parent = parent
            return live  # type: ignore[no-any-return]
        live_keys[off] = key
    return key


def child_key(hive: HiveState, off: int, parent: Key) -> Key:
    """The key node at ``off`` listed under ``parent``.

    The node's own parent field is not required to match: hivex and Windows' self-healing
    loader both keep such keys (``check()`` reports them). What keeps a hostile hive from
    looping is the depth bound here and the visited set of ``Key.walk``."""
    depth = parent._depth + 1
    if depth > L.MAX_KEY_DEPTH:
        raise hive._img.error(f"keys nested deeper than {L.MAX_KEY_DEPTH} (a cycle?)", off)
    try:
        nk, name = read_nk_named(hive._img, off)
    except HiveFormatError:
        if hive.strict:
            raise
        nk, name, note = salvage_nk(hive._img, off)
        hive._problem(note, None)
    return new_key(hive, off, nk, name, parent, depth)


class Key:
    """A registry key. Obtained from ``Hive.root``, ``Hive.key`` or ``subkeys``."""

    __slots__ = ("__weakref__", "_depth", "_gen", "_hive", "_nk", "_off", "_parent", "_path",
                 "name")

    def __init__(self, hive: HiveState, off: int, nk: tuple, name: str,  # type: ignore[type-arg]
                 parent: Key | None, depth: int) -> None:
        # (Made by the hive, never by users: the node fields come from a checked read.)
        self._hive = hive
        self._off = off
        self._nk = nk
        self._gen = hive._gen
        self._parent = parent
        self._depth = depth
        self.name = name
        self._path: tuple[int, str] | None = None

    # -- the node ------------------------------------------------------------------------------

    def _fields(self) -> tuple:  # type: ignore[type-arg]
        """The key node's fields, re-read when the hive changed since they were parsed."""
        hive = self._hive
        if self._gen != hive._gen:
            if self._off < 0:
                raise UsageError(f"key {self.name!r} was deleted")
            self._nk = read_nk(hive._img, self._off)
            self._gen = hive._gen
        return self._nk

    @property
    def hive(self) -> HiveState:
        """The hive this key belongs to (at run time the ``Hive`` it was read from)."""
        return self._hive

    @property
    def offset(self) -> int:
        """Offset of the key node cell, relative to the hive bins."""
        return self._off

    @property
    def path(self) -> str:
        """Path from the root (the root's own name excluded; the root's path is ``""``).

        Built from the parent's path and kept until the hive changes, so that paths of a whole
        walk cost time in proportion to the keys, not to keys times depth."""
        cached = self._path
        gen = self._hive._gen
        if cached is not None and cached[0] == gen:
            return cached[1]
        parent = self._parent
        if parent is None:
            path = ""
        else:
            above = parent.path
            path = f"{above}\\{self.name}" if above else self.name
        self._path = (gen, path)
        return path

    @property
    def parent(self) -> Key | None:
        return self._parent

    @property
    def flags(self) -> int:
        """The nk flags (``KEY_*`` in ``winmigrate.regf.layout``)."""
        return int(self._fields()[L.NK_FLAGS])

    @property
    def is_symlink(self) -> bool:
        """A link key: its ``SymbolicLinkValue`` (REG_LINK) names the target; not followed."""
        return bool(self._fields()[L.NK_FLAGS] & L.KEY_SYM_LINK)

    @property
    def timestamp(self) -> int:
        """Last-written time as raw FILETIME ticks."""
        return int(self._fields()[L.NK_TIMESTAMP])

    @property
    def last_written(self) -> datetime | None:
        """Last-written time (timezone-aware UTC), ``None`` if the stored value is not a date."""
        from ..regf.timestamps import filetime_to_datetime

        return filetime_to_datetime(self._fields()[L.NK_TIMESTAMP])

    @property
    def access_bits(self) -> int:
        return int(self._fields()[L.NK_ACCESS_BITS])

    @property
    def subkey_count(self) -> int:
        return int(self._fields()[_NK_SUBKEY_COUNT])

    @property
    def value_count(self) -> int:
        return int(self._fields()[_NK_VALUE_COUNT])

    @property
    def class_name(self) -> str | None:
        """The key's class name, or ``None`` when it has none."""
        raw = self.class_name_raw
        if raw is None:
            return None
        if len(raw) & 1:
            raw = raw[:-1]
        return raw.decode("utf-16-le", "surrogatepass")

    @property
    def class_name_raw(self) -> bytes | None:
        nk = self._fields()
        length = nk[L.NK_CLASS_LENGTH]
        off = nk[L.NK_CLASS]
        if off == L.NIL or length == 0:
            return None
        try:
            return class_name(self._hive._img, off, length)
        except HiveFormatError as e:
            self._hive._skip(e, self.path, self._off)
            return None

    @property
    def security(self) -> SecurityDescriptor | None:
        """The key's security descriptor (shared ``sk`` record), decoded."""
        from ..regf.records import read_sk
        from ..regf.security import SecurityDescriptor

        off = self._fields()[L.NK_SECURITY]
        if off == L.NIL:
            return None
        hive = self._hive
        cached = hive._security_cache.get(off)
        if cached is not None and cached[0] == hive._gen:
            return cached[1]  # keys share a handful of records: parse each once
        try:
            sk, raw = read_sk(hive._img, off)
            sd = SecurityDescriptor.parse(raw, reference_count=sk[4], offset=off)
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
            return None
        hive._security_cache[off] = (hive._gen, sd)
        return sd

    # -- subkeys -------------------------------------------------------------------------------

    def subkeys(self) -> list[Key]:
        """The subkeys, in stored (Windows collation) order."""
        hive = self._hive
        nk = self._nk if self._gen == hive._gen else self._fields()  # (_fields, inline)
        count = nk[_NK_SUBKEY_COUNT]
        if not count:
            return []
        try:
            offsets = subkey_offsets(hive._img, nk[_NK_SUBKEY_LIST], count)
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
            return self._salvage_subkeys(nk)
        depth = self._depth + 1
        if depth <= L.MAX_KEY_DEPTH:
            try:
                # Read-only: no registry of live key objects to keep; else the hive's.
                make = Key if hive._keys is None else new_key
                return read_children(hive._img, offsets, make, hive, self, depth)
            except HiveFormatError as e:
                if hive.strict:
                    hive._skip(e, self.path, self._off)
        child = child_key  # one by one: the depth error, or a tolerant read of a damaged list
        out = []
        for off in offsets:
            try:
                out.append(child(hive, off, self))
            except HiveFormatError as e:
                hive._skip(e, self.path, self._off)
        return out

    def _salvage_subkeys(self, nk: tuple) -> list[Key]:  # type: ignore[type-arg]
        """Tolerant read of a damaged subkey list: every leaf that can be read."""
        from ..regf.records import list_leaves

        hive = self._hive
        out = []
        try:
            leaves = list_leaves(hive._img, nk[_NK_SUBKEY_LIST])
        except HiveFormatError:
            return []
        for _leaf, _sig, elements, _hints in leaves:
            for off in elements:
                try:
                    out.append(child_key(hive, off, self))
                except HiveFormatError as e:
                    hive._problem(e, self.path)
        return out

    def __iter__(self) -> Iterator[Key]:
        return iter(self.subkeys())

    def _find(self, name: str) -> Key | None:
        """The subkey called ``name`` (case-insensitive), or ``None`` (see
        ``lookup.find_subkey``)."""
        nk = self._fields()
        count = nk[_NK_SUBKEY_COUNT]
        if not count:
            return None
        hive = self._hive
        list_off: int | None = nk[_NK_SUBKEY_LIST]
        try:
            offsets = subkey_offsets(hive._img, nk[_NK_SUBKEY_LIST], count)
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
            offsets, list_off = [k._off for k in self._salvage_subkeys(nk)], None
        found = find_subkey(hive._img, offsets, list_off, name, hive._sorted_lists,
                            lambda e: hive._skip(e, self.path, self._off))
        if found is None:
            return None
        try:
            return child_key(hive, found, self)
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
            return None

    def subkey(self, name: str) -> Key:
        """The direct subkey called ``name`` (case-insensitive); raises ``KeyNotFoundError``.

        ``name`` is one key name, taken literally: ``/`` is a legal character in key names
        (only ``Hive.key`` and ``create_key`` read it as a separator). A name with
        backslashes is followed as a path."""
        if not isinstance(name, str):
            raise UsageError(f"a key name must be a str, not {type(name).__name__}")
        if "\\" in name:
            key = self
            for part in name.split("\\"):
                if part:
                    key = key.subkey(part)
            return key
        found = self._find(name)
        if found is None:
            path = self.path
            raise KeyNotFoundError(f"{path}\\{name}" if path else name)
        return found

    def get_subkey(self, name: str) -> Key | None:
        """Like ``subkey`` but ``None`` when missing."""
        try:
            return self.subkey(name)
        except KeyNotFoundError:
            return None

    def walk(self) -> Iterator[Key]:
        """This key and every key below it, depth-first in stored order (no recursion).

        A damaged hive can list one key under two parents (hivex then shows it twice, and so does
        a strict walk; a tolerant one walks it once and lists the problem) or loop back to an
        ancestor (stopped by the 512-level depth bound). A strict walk also stops a crafted hive
        whose shared lists would multiply the keys without end: it never makes more keys than
        the hive bins could hold (see ``WalkGuard``)."""
        from .walk import WalkGuard  # (on first use: a point lookup never walks)

        guard = WalkGuard(self)
        hive = self._hive
        stack = [self]
        while stack:
            key = stack.pop()
            yield key
            if key._gen == hive._gen and not key._nk[_NK_SUBKEY_COUNT]:
                continue  # a leaf whose node is current: nothing to descend into (most keys)
            children = guard.children(key)
            if children:
                children.reverse()
                stack.extend(children)

    # -- values --------------------------------------------------------------------------------

    def values(self) -> list[Value]:
        """The values, in stored order (a value list is not sorted)."""
        hive = self._hive
        nk = self._nk if self._gen == hive._gen else self._fields()  # (_fields, inline)
        count = nk[_NK_VALUE_COUNT]
        if not count:
            return []
        img = hive._img
        try:
            offsets = value_offsets(img, nk[_NK_VALUE_LIST], count)
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
            return []
        try:
            return read_values(img, offsets, Value, self)
        except HiveFormatError as e:
            if hive.strict:
                hive._skip(e, self.path, self._off)
        out = []  # a tolerant read: every value that can be read, the others listed as skipped
        for off in offsets:
            try:
                vk, vname = read_vk_named(img, off)
                out.append(Value(self, off, vname, vk))
            except HiveFormatError as e:
                hive._skip(e, self.path, self._off)
        return out

    def value(self, name: str) -> Value:
        """The value called ``name`` (case-insensitive; ``""`` is the default value)."""
        found = self._find_value(name)
        if found is None:
            raise ValueNotFoundError(self.path, name)
        return found

    def _find_value(self, name: str) -> Value | None:
        if not isinstance(name, str):
            raise UsageError(f"a value name must be a str, not {type(name).__name__}")
        nk = self._fields()
        count = nk[_NK_VALUE_COUNT]
        if not count:
            return None
        hive = self._hive
        img = hive._img
        if count >= _VALUE_INDEX_MIN:
            # An index of the names, kept while the hive does not change (the writer keeps it
            # current across its own additions, ``Editor.set_value``).
            index = hive._current_value_index(self._off)
            if index is None:
                index = value_name_index(img, nk[_NK_VALUE_LIST], count)
                if index is not None:
                    hive._keep_value_index(self._off, index)
            if index is not None:
                off = index.get(collation_key(name))
                if off is None:
                    return None
                vk, vname = read_vk_named(img, off)  # read once already: cannot fail now
                return Value(self, off, vname, vk)
        try:
            offsets = value_offsets(img, nk[_NK_VALUE_LIST], count)
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
            return None
        found = find_value(img, offsets, name, lambda e: hive._skip(e, self.path, self._off))
        if found is None:
            return None
        off, vk, vname = found
        return Value(self, off, vname, vk)

    def get_value(self, name: str) -> Value | None:
        """The value called ``name`` (case-insensitive), or ``None`` when there is none."""
        return self._find_value(name)

    def get(self, name: str, default: Any = None) -> Any:
        """The decoded data of value ``name``, or ``default`` when there is no such value."""
        found = self._find_value(name)
        return default if found is None else found.data

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find_value(name) is not None

    # -- editing (carried out by the writer, ``edit.Editor``) ------------------------------

    def _writer(self) -> Editing:
        """The hive's writer; ``NotWritableError`` (or ``DirtyHiveError``...) when the hive
        cannot be changed."""
        writer: Editing = self._hive._edit()
        return writer

    def create_key(self, path: str, exist_ok: bool = True) -> Key:
        """Create the key at ``path`` below this one (and any missing keys on the way)."""
        return self._writer().create_key(self, path, exist_ok)

    def create_subkey(self, name: str, exist_ok: bool = True) -> Key:
        """Create the direct subkey called exactly ``name`` (``/`` is a legal character in key
        names, e.g. ``SCSI#DiskMATSHITALS-120/240____00``; only ``\\`` is not)."""
        if not isinstance(name, str) or "\\" in name:
            raise UsageError(f"a key name cannot contain a backslash: {name!r}")
        return self._writer().create_key(self, [name], exist_ok)

    def delete_key(self, name: str, recursive: bool = False) -> None:
        """Delete the subkey ``name`` (with everything below it if ``recursive``)."""
        self._writer().delete_key(self, name, recursive)

    def rename(self, new_name: str) -> None:
        """Give this key a new name (its place in the parent's sorted list changes)."""
        self._writer().rename(self, new_name)

    def set_value(self, name: str, data: Any = None, type: RegType | int | None = None, *,
                  raw: bytes | None = None) -> Value:
        """Create or replace value ``name``. Give exactly one of ``data`` (encoded for ``type``,
        inferred when omitted: str -> SZ, int -> DWORD, list[str] -> MULTI_SZ, bytes -> BINARY;
        strings as regedit stores them, UTF-16LE with their NUL -- except a REG_LINK target,
        a counted path without one) and ``raw`` (stored byte for byte, with ``type`` defaulting
        to REG_BINARY)."""
        return self._writer().set_value(self, name, data, type, raw)

    def delete_value(self, name: str) -> None:
        """Delete value ``name`` (case-insensitive); raises ``ValueNotFoundError``."""
        self._writer().delete_value(self, name)

    def set_class_name(self, class_name: str | bytes | None) -> None:
        """Set (or with ``None`` remove) the key's class name."""
        self._writer().set_class_name(self, class_name)

    def set_security(self, descriptor: bytes) -> None:
        """Give the key this self-relative security descriptor (shared with identical ones)."""
        self._writer().set_security(self, descriptor)

    def touch(self, when: datetime | None = None) -> None:
        """Set the last-written time (now by default)."""
        self._writer().touch(self, when)

    # -- misc ------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<Key {self.path or '(root)'!s}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other._hive is self._hive and other._off == self._off

    def __hash__(self) -> int:
        return hash((id(self._hive), self._off))


class Value:
    """A registry value: ``name``, ``type``, ``raw`` bytes and decoded ``data``.

    In a writable hive a ``Value`` reads its data when created, so it stays a faithful snapshot
    even if the hive changes afterwards."""

    __slots__ = ("_key", "_off", "_raw", "_vk", "name")

    def __init__(self, key: Key, off: int, name: str, vk: tuple,  # type: ignore[type-arg]
                 raw: bytes | None = None) -> None:
        self._key = key
        self._off = off
        self.name = name
        self._vk = vk
        self._raw = raw if raw is not None or not key._hive._writable else self._load()

    def _load(self) -> bytes:
        vk = self._vk
        size = vk[L.VK_DATA_SIZE]
        if size & 0x80000000 and size <= 0x80000004:  # resident: the data is the offset field
            return _PACK_U32(vk[L.VK_DATA_OFFSET])[:size & 7]
        hive = self._key._hive
        try:
            return value_data(hive._img, self._off, size, vk[L.VK_DATA_OFFSET])
        except HiveFormatError as e:
            hive._skip(e, self._key.path, self._off)
            return b""

    @property
    def type(self) -> RegType | int:
        """The value type: a ``RegType`` member, or the plain number when Windows defines none."""
        try:
            return _TYPES[self._vk[_VK_TYPE]]  # type: ignore[no-any-return]
        except KeyError:  # the first use, or a number Windows does not define
            return _regtype(self._vk[_VK_TYPE])

    @property
    def type_number(self) -> int:
        return int(self._vk[L.VK_TYPE])

    @property
    def raw(self) -> bytes:
        """The data bytes exactly as stored (resident, one cell or big-data segments)."""
        raw = self._raw
        if raw is None:
            raw = self._raw = self._load()
        return raw

    @property
    def data(self) -> str | int | list[str] | bytes:
        """The data decoded for its type (see ``winmigrate.regf.values``)."""
        raw = self._raw
        if raw is None:
            raw = self._raw = self._load()
        t = self._vk[_VK_TYPE]
        # The commonest types first, with decode's rules inlined: REG_SZ and REG_EXPAND_SZ,
        # REG_DWORD, REG_BINARY.
        if t == 1 or t == 2:
            if not len(raw) & 1:
                return _UTF16LE(raw, "surrogatepass", True)[0].partition("\0")[0]
        elif t == 4:
            if len(raw) == 4:
                return int.from_bytes(raw, "little")
        elif t == 3:
            return raw
        return decode(t, raw)

    @property
    def size(self) -> int:
        """The data length in bytes."""
        size = self._vk[L.VK_DATA_SIZE]
        return size & 0x7FFFFFFF if size & L.DATA_RESIDENT else int(size)

    @property
    def is_resident(self) -> bool:
        """Data of up to 4 bytes stored in the value record itself."""
        return bool(self._vk[L.VK_DATA_SIZE] & L.DATA_RESIDENT)

    @property
    def flags(self) -> int:
        return int(self._vk[L.VK_FLAGS])

    @property
    def key(self) -> Key:
        return self._key

    @property
    def offset(self) -> int:
        return self._off

    def __repr__(self) -> str:
        shown = "(default)" if self.name == "" else repr(self.name)
        t = _regtype(self._vk[L.VK_TYPE])
        return f"<Value {shown} {'REG_' + t.name if hasattr(t, 'name') else hex(t)}>"
