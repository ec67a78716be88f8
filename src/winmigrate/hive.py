"""The hive model: ``Hive``, ``Key`` and ``Value``.

Reading is lazy over one buffer: a ``Key`` is a parsed key node (nk) and a ``Value`` a parsed value
(vk); lists, data and security descriptors are read when asked for. Nothing here parses bytes
directly: ``.regf.records`` does, through the checked cell access of ``.regf.image``.

The module imports only what a point lookup needs (``os``, ``mmap``, ``struct``); dates, enums,
dataclasses and the writer are imported on first use, which keeps a whole-process lookup fast.
"""

from __future__ import annotations

import os

from .errors import (
    HiveFileError,
    HiveFormatError,
    KeyNotFoundError,
    NotWritableError,
    UsageError,
    ValueNotFoundError,
    WinmigrateError,
)
from .regf import layout as L
from .regf.image import Image
from .regf.names import collation_key
from .regf.records import (
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
from .regf.values import decode

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap
    from collections.abc import Callable, Iterator
    from datetime import datetime
    from types import TracebackType
    from typing import Any, Literal

    from .check import CheckReport
    from .logs import RecoveryReport
    from .problems import Problem
    from .regf.baseblock import BaseBlock
    from .regf.regtype import RegType
    from .regf.security import SecurityDescriptor

__all__ = ["Hive", "Key", "Value", "create", "open"]

_BASE = L.BASE_BLOCK_SIZE
_PACK_U32 = L.U32.pack
_TOLERANT_HINT = (" (open with strict=False to read around it; hive.problems lists what was "
                  "skipped)")
_MMAP_THRESHOLD = 1 << 20  # smaller files are simply read: mapping them saves nothing
# Keys with at least this many values get a name index (a value list is unsorted: without one,
# every lookup reads every record, and setting n values one by one costs n^2 reads).
_VALUE_INDEX_MIN = 32
_VALUE_INDEX_KEYS = 256  # indexes kept at once
_NK_SUBKEY_COUNT = L.NK_SUBKEY_COUNT
_NK_SUBKEY_LIST = L.NK_SUBKEY_LIST
_NK_VALUE_COUNT = L.NK_VALUE_COUNT
_NK_VALUE_LIST = L.NK_VALUE_LIST
_NK_PARENT = L.NK_PARENT
_VK_TYPE = L.VK_TYPE
_UTF16LE = L.UTF16LE
_to_regtype: Any = None


_TYPES: dict[int, Any] = {}  # type number -> RegType member, filled on first use


def _regtype(number: int) -> RegType | int:
    global _to_regtype
    if _to_regtype is None:
        from .regf.regtype import RegType, to_regtype

        _to_regtype = to_regtype
        _TYPES.update((int(t), t) for t in RegType)
    return _to_regtype(number)  # type: ignore[no-any-return]


def split_path(path: str) -> list[str]:
    """Key path components, empty ones dropped. ``\\`` separates; ``/`` separates too, but only
    in a path with no backslash at all: ``/`` is a legal character in key names (Amcache and
    CriticalDeviceDatabase hold such keys), so ``a\\b/c`` names the key ``b/c`` under ``a``."""
    if "\\" not in path:
        path = path.replace("/", "\\")
    return [p for p in path.split("\\") if p]


class Hive:
    """An open registry hive. Use ``winmigrate.open``, ``from_bytes`` or
    ``winmigrate.create`` to get one; use it as a context manager to release the file."""

    def __init__(self, buf: bytes | bytearray | mmap.mmap, *, path: str | None = None,
                 writable: bool = False, strict: bool = True, _fd: int | None = None,
                 _mapping: mmap.mmap | None = None) -> None:
        self.path = path
        self.strict = strict
        self._writable = writable
        self._fd = _fd
        self._mapping = _mapping
        self._closed = False
        self.problems: list[Problem] = []
        self.recovery: RecoveryReport | None = None
        self._gen = 0  # bumped by every change; cached key nodes re-read when it moves
        self._keys: Any = None  # writable hives: offset -> live Key (one object per key)
        self._editor: Any = None
        self._dirty_unreplayed = False
        self._sequence_floor = 0  # a save numbers itself past this (replayed log entries)
        self._file_dirty = False
        # Subkey lists verified to be in Windows' order (see Key._find), by list cell offset.
        self._sorted_lists: set[int] = set()
        # key node offset -> (hive generation it is valid for, folded value name -> vk offset)
        self._value_index: dict[int, tuple[int, dict[str, int]]] = {}
        self._security_cache: dict[int, tuple[int, SecurityDescriptor]] = {}
        source = os.path.basename(path) if path else None
        self._source = source
        self._load(buf)

    def _load(self, buf: bytes | bytearray | mmap.mmap) -> None:
        """(Re)build the view of ``buf``: base block fields, the checked image and the root."""
        from .regf.baseblock import parse_base_block, validate_primary

        source = self._source
        bb = parse_base_block(buf, source=source)
        notes = validate_primary(bb, len(buf), source=source)
        bins_size = bb.hive_bins_size
        if _BASE + bins_size > len(buf):
            msg = (f"file is truncated: the base block declares 0x{bins_size:x} bytes of hive "
                   f"bins but the file holds only 0x{max(len(buf) - _BASE, 0):x}")
            if self.strict:
                raise HiveFormatError(msg + " (open with strict=False to read what is there)",
                                      40, source=source)
            bins_size = max(0, len(buf) - _BASE)  # read the cells that are wholly there
            self._problem(HiveFormatError(msg, 40, source=source), "")
        if not bb.checksum_ok:
            bins_size = self._effective_bins_size(buf, bins_size)
        self._bb = bb
        self._img = Image(buf, bins_size, bb.minor, source=source)
        for note in notes:
            self._problem(HiveFormatError(note, 24, source=source), "")
        try:
            nk, name = read_nk_named(self._img, bb.root_cell)
        except HiveFormatError:
            if self.strict:
                raise
            nk, name = self._salvage_nk(bb.root_cell)
        self._root = self._new_key(bb.root_cell, nk, name, None, 0)

    def _effective_bins_size(self, buf: bytes | bytearray | mmap.mmap, declared: int) -> int:
        """The hive bins size to read when the base block's checksum is wrong (a header that was
        not written completely, and no log replaced it): its size field cannot be trusted, so
        when the chain of hbin headers in the file goes further, the chain is read (yarp's
        "effective hbins data size"). A valid base block is always believed: data past its
        hive bins is slack, as it is for Windows."""
        whole = (len(buf) - _BASE) & ~(L.BIN_ALIGN - 1)
        if whole <= declared:
            return declared
        chain = sum(b.size for b in Image(buf, whole, 0).walk_bins(stop_on_error=True))
        if chain <= declared:
            return declared
        self._problem(HiveFormatError(
            f"the base block's checksum is wrong and its hive bins size 0x{declared:x} stops "
            f"short of the hbin chain in the file: the chain (0x{chain:x} bytes) is read", 40,
            source=self._source), "")
        return chain

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, writable: bool = False,
             logs: Literal["auto", "ignore", "require"] | list[str] = "auto",
             strict: bool = True, lock: bool = True) -> Hive:
        """Open the hive file at ``path`` (see ``winmigrate.open``)."""
        if writable and not strict:
            raise UsageError("a tolerant read (strict=False) cannot be writable")
        fspath = os.fspath(path)
        try:
            fd = os.open(fspath, os.O_RDWR if writable else os.O_RDONLY)
        except OSError as e:
            raise HiveFileError(e.errno, f"cannot open hive: {e.strerror}", fspath) from None
        try:
            import stat

            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise HiveFileError(21, "cannot open hive: it is a directory", fspath)
            mapping = None
            if writable:
                if lock:
                    _lock_exclusive(fd, fspath)
                buf: bytes | bytearray | mmap.mmap = _read_all(fd, st.st_size, fspath)
            elif st.st_size >= _MMAP_THRESHOLD:
                import mmap

                mapping = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
                buf = mapping
            else:
                buf = bytes(_read_all(fd, st.st_size, fspath))
            if not writable and mapping is None:
                os.close(fd)
                fd = -1
            recovery = None
            floor = 0
            if logs != "ignore":
                from .logpaths import find_logs, needs_recovery

                if not needs_recovery(buf, logs):
                    # Stale logs beside a clean primary: a later save numbers itself past them.
                    # (A clean hive with no logs, the common case, never loads the replay.)
                    stale = find_logs(fspath) if writable else []
                    if stale:
                        from .logs import log_sequence_floor

                        floor = log_sequence_floor(fspath, stale)
                else:
                    from .logs import recover

                    recovered, recovery = recover(buf, fspath, logs, writable=writable)
                    buf = recovered  # type: ignore[assignment]
                    if recovery.replaced_image and mapping is not None:
                        mapping.close()
                        mapping = None
                        os.close(fd)
                        fd = -1
            hive = cls(buf, path=fspath, writable=writable, strict=strict,
                       _fd=fd if fd >= 0 else None, _mapping=mapping)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            raise
        hive._after_open(recovery, ignored=logs == "ignore")
        hive._sequence_floor = max(hive._sequence_floor, floor)
        return hive

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, *, writable: bool = False,
                   strict: bool = True) -> Hive:
        """A hive read from memory (the bytes are copied when ``writable``)."""
        if writable and not strict:
            raise UsageError("a tolerant read (strict=False) cannot be writable")
        buf: bytes | bytearray = bytearray(data) if writable else bytes(data)
        hive = cls(buf, writable=writable, strict=strict)
        hive._after_open(None, ignored=True)
        return hive

    def _after_open(self, recovery: RecoveryReport | None, *, ignored: bool) -> None:
        """Record what log recovery did; a dirty image that no log brought up to date can be
        read but not changed or saved."""
        self.recovery = recovery
        self._file_dirty = recovery.primary_dirty if recovery is not None else self._bb.dirty
        if recovery is not None:
            self._sequence_floor = recovery.sequence_floor
        if self._bb.dirty and (recovery is None or not recovery.applied):
            self._dirty_unreplayed = True
        if self._writable:
            import weakref

            self._keys = weakref.WeakValueDictionary()
            self._keys[self._root._off] = self._root

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the file (and its lock). Keys and values of a closed hive cannot be read."""
        if self._closed:
            return
        self._closed = True
        self._img.buf = b""
        self._img.end = 0
        self._img.bins_size = 0
        if self._mapping is not None:
            try:
                self._mapping.close()
            except BufferError:  # a memoryview still refers to it; it goes with the last one
                pass
            self._mapping = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Hive:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path or "<memory>"
        return f"<Hive {where} v{self.version[0]}.{self.version[1]} root={self.root.name!r}>"

    # -- base block ----------------------------------------------------------------------------

    @property
    def base_block(self) -> BaseBlock:
        """Every field of the base block (as read; a save rewrites sequence, time, checksum)."""
        return self._bb

    @property
    def version(self) -> tuple[int, int]:
        return (self._bb.major, self._bb.minor)

    @property
    def dirty(self) -> bool:
        """The primary file was not cleanly written: bad checksum or sequence numbers that
        differ (as found on disk, before any log replay; see ``recovery``)."""
        return bool(self._file_dirty)

    @property
    def sequence(self) -> tuple[int, int]:
        """(primary, secondary) sequence numbers; they differ in a dirty hive."""
        return (self._bb.primary_sequence, self._bb.secondary_sequence)

    @property
    def last_written(self) -> datetime | None:
        return self._bb.last_written

    @property
    def writable(self) -> bool:
        return self._writable

    # -- keys ----------------------------------------------------------------------------------

    @property
    def root(self) -> Key:
        return self._root

    def key(self, path: str) -> Key:
        """The key at ``path`` below the root (``\\`` or ``/`` separators, case-insensitive).
        A leading ``CurrentControlSet`` is resolved through ``Select\\Current``."""
        parts = split_path(path)
        key = self._root
        if parts and parts[0].upper() == "CURRENTCONTROLSET":
            ccs = self.current_control_set
            if ccs is not None and key._find(parts[0]) is None:
                parts[0] = ccs
        for i, part in enumerate(parts):
            child = key._find(part)
            if child is None:
                raise KeyNotFoundError("\\".join(parts), "\\".join(parts[:i + 1]))
            key = child
        return key

    def get_key(self, path: str) -> Key | None:
        """Like ``key`` but ``None`` when there is no such key."""
        try:
            return self.key(path)
        except KeyNotFoundError:
            return None

    @property
    def current_control_set(self) -> str | None:
        """``ControlSetNNN`` named by ``Select\\Current`` in a SYSTEM hive, else ``None``."""
        select = self._root._find("Select")
        if select is None:
            return None
        current = select.get("Current")
        if not isinstance(current, int) or not 0 < current < 1000:
            return None
        return f"ControlSet{current:03d}"

    def walk(self) -> Iterator[Key]:
        """Every key, the root first, depth-first in stored order."""
        return self._root.walk()

    # -- value-name indexes (see Key._value_names) ----------------------------------------------

    def _current_value_index(self, key_off: int) -> dict[str, int] | None:
        """The value-name index of the key node at ``key_off``, if one was made since the hive
        last changed."""
        cached = self._value_index.get(key_off)
        return cached[1] if cached is not None and cached[0] == self._gen else None

    def _keep_value_index(self, key_off: int, index: dict[str, int]) -> None:
        """Keep ``index`` as current for the hive as it is now (at most ``_VALUE_INDEX_KEYS``
        keys' indexes at once)."""
        if key_off not in self._value_index and len(self._value_index) >= _VALUE_INDEX_KEYS:
            self._value_index.clear()
        self._value_index[key_off] = (self._gen, index)

    # -- problems (tolerant reads) ---------------------------------------------------------------

    def _problem(self, err: HiveFormatError, path: str | None) -> None:
        from .problems import Problem

        self.problems.append(Problem(err.offset, path if path is not None else err.path,
                                     err.message))

    def _skip(self, err: HiveFormatError, path: str, key_offset: int | None = None) -> None:
        """In strict mode re-raise ``err`` (with the key path, and the key node's file offset
        when the error has none); otherwise record it and go on."""
        err.with_context(path=path, offset=None if key_offset is None else key_offset + _BASE)
        if self.strict:
            if not err.message.endswith(_TOLERANT_HINT):
                err.message += _TOLERANT_HINT
                err.args = (err._render(),)
            raise err
        self._problem(err, path)

    # -- key objects -----------------------------------------------------------------------------

    def _new_key(self, off: int, nk: tuple, name: str, parent: Key | None,  # type: ignore[type-arg]
                 depth: int) -> Key:
        key = Key(self, off, nk, name, parent, depth)
        if self._keys is not None:
            live = self._keys.get(off)
            if live is not None:
                live._parent = parent
                return live  # type: ignore[no-any-return]
            self._keys[off] = key
        return key

    def _child(self, off: int, parent: Key) -> Key:
        """The key node at ``off`` listed under ``parent``.

        The node's own parent field is not required to match: hivex and Windows' self-healing
        loader both keep such keys (``check()`` reports them). What keeps a hostile hive from
        looping is the depth bound here and the visited set of ``Key.walk``."""
        depth = parent._depth + 1
        if depth > L.MAX_KEY_DEPTH:
            raise self._img.error(f"keys nested deeper than {L.MAX_KEY_DEPTH} (a cycle?)", off)
        try:
            nk, name = read_nk_named(self._img, off)
        except HiveFormatError:
            if self.strict:
                raise
            nk, name = self._salvage_nk(off)
        return self._new_key(off, nk, name, parent, depth)

    def _salvage_nk(self, off: int) -> tuple[tuple, str]:  # type: ignore[type-arg]
        """Tolerant read of a key node whose name overruns its cell: keep the part that fits."""
        from .regf.names import decode_name

        img = self._img
        start, length = img.cell(off, "key node")
        if length < L.NK_FIXED_SIZE:
            raise img.error(f"key node cell too small ({length} bytes)", off)
        nk = L.NK.unpack_from(img.buf, start)
        if nk[0] != b"nk":
            raise img.error(f"expected a key node (nk), found signature {bytes(nk[0])!r}", off)
        compressed = bool(nk[L.NK_FLAGS] & L.KEY_COMP_NAME)
        fit = min(nk[L.NK_NAME_LENGTH], length - L.NK_FIXED_SIZE)
        if not compressed:
            fit &= ~1
        raw = bytes(img.buf[start + L.NK_FIXED_SIZE:start + L.NK_FIXED_SIZE + fit])
        self._problem(img.error(f"key name ({nk[L.NK_NAME_LENGTH]} bytes) does not fit its "
                                f"cell; kept the first {fit} bytes", off), None)
        return nk, decode_name(raw, compressed)

    # -- checks, writing (implemented in their own modules) ------------------------------------

    def check(self, *, progress: Callable[[int], None] | None = None) -> CheckReport:
        """Windows' load-time checks over the whole hive, as a report (see ``.check``);
        ``progress`` is called now and then with the number of keys checked."""
        from .check import check_hive

        return check_hive(self, progress=progress)

    def _require_writable(self) -> Any:
        where = f"{self._source}: " if self._source else ""
        if self._closed:
            raise UsageError(f"{where}the hive is closed")
        if not self.strict:
            raise NotWritableError(f"{where}a tolerant read (strict=False) cannot be changed; "
                                   "open it with writable=True (strict) to change it")
        if not self._writable:
            raise NotWritableError(f"{where}the hive was opened read-only (open it with "
                                   "writable=True)")
        if self._dirty_unreplayed:
            from .errors import DirtyHiveError

            raise DirtyHiveError(
                f"{where}the hive is dirty and its transaction logs were not replayed; changing "
                "or saving it would lose the changes they hold (open it with logs='auto' next to "
                "its .LOG1/.LOG2 files, or name them with logs=[...])")
        if self._editor is None:
            from .writer import Editor

            self._editor = Editor(self)
        return self._editor


    # -- transactions and saving (see ``.writer`` and ``.save``) -------------------------

    def transaction(self) -> Transaction:
        """``with hive.transaction(): ...`` -- the changes inside commit together, or, if the
        block raises, none of them remain (the exception propagates)."""
        return Transaction(self)

    def to_bytes(self, *, compact: bool = False) -> bytes:
        """The hive as a file would hold it after ``save`` (sequence numbers advanced, time
        and checksum updated). With ``compact`` the content is laid out afresh, defragmented.
        Like ``save``, it needs a writable hive (``NotWritableError`` otherwise)."""
        from .save import serialize

        base, bins = serialize(self, compact=compact)
        return base + bins

    def save(self, path: str | os.PathLike[str] | None = None, *, compact: bool = False,
             backup: bool = False) -> None:
        """Write the hive atomically: to a temporary file in the same folder, fsync, rename over
        the target, fsync of the folder. ``path=None`` replaces the file the hive was opened
        from; another path writes a copy (the hive stays tied to its own file). ``backup`` keeps
        the previous file (and its logs) as ``NAME.bak`` (``NAME.LOG1.bak``...)."""
        from .save import save_hive

        save_hive(self, path, compact=compact, backup=backup)

    @property
    def modified(self) -> bool:
        """Whether changes were made since the hive was opened or last saved."""
        return bool(self._editor is not None and self._editor.modified)


class Transaction:
    """Context manager returned by ``Hive.transaction`` (nestable: each level rolls back to
    where it began)."""

    __slots__ = ("_hive", "_snapshot")

    def __init__(self, hive: Hive) -> None:
        self._hive = hive
        self._snapshot: Any = None

    def __enter__(self) -> Hive:
        editor = self._hive._require_writable()
        self._snapshot = editor.snapshot()
        return self._hive

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None and self._snapshot is not None:
            self._hive._editor.restore(self._snapshot)
        self._snapshot = None


class Key:
    """A registry key. Obtained from ``Hive.root``, ``Hive.key`` or ``subkeys``."""

    __slots__ = ("__weakref__", "_depth", "_gen", "_hive", "_nk", "_off", "_parent", "_path",
                 "name")

    def __init__(self, hive: Hive, off: int, nk: tuple, name: str,  # type: ignore[type-arg]
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
    def hive(self) -> Hive:
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
        from .regf.timestamps import filetime_to_datetime

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
        from .regf.records import read_sk
        from .regf.security import SecurityDescriptor

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
                make = Key if hive._keys is None else Hive._new_key
                return read_children(hive._img, offsets, make, hive, self, depth)
            except HiveFormatError as e:
                if hive.strict:
                    hive._skip(e, self.path, self._off)
        child = hive._child  # one by one: the depth error, or a tolerant read of a damaged list
        out = []
        for off in offsets:
            try:
                out.append(child(off, self))
            except HiveFormatError as e:
                hive._skip(e, self.path, self._off)
        return out

    def _salvage_subkeys(self, nk: tuple) -> list[Key]:  # type: ignore[type-arg]
        """Tolerant read of a damaged subkey list: every leaf that can be read."""
        from .regf.records import list_leaves

        hive = self._hive
        out = []
        try:
            leaves = list_leaves(hive._img, nk[_NK_SUBKEY_LIST])
        except HiveFormatError:
            return []
        for _leaf, _sig, elements, _hints in leaves:
            for off in elements:
                try:
                    out.append(hive._child(off, self))
                except HiveFormatError as e:
                    hive._problem(e, self.path)
        return out

    def __iter__(self) -> Iterator[Key]:
        return iter(self.subkeys())

    def _find(self, name: str) -> Key | None:
        """The subkey called ``name`` (case-insensitive), or ``None``.

        Binary search on the stored collation order, as Windows does. A miss is final once the
        list is known to be sorted; the first miss in a list not yet known to be sorted scans it
        once (finding keys that a damaged or foreign-written hive keeps out of order) and
        remembers the list as sorted when it is. The writer keeps that knowledge current."""
        nk = self._fields()
        count = nk[_NK_SUBKEY_COUNT]
        if not count:
            return None
        hive = self._hive
        img = hive._img
        list_off = nk[_NK_SUBKEY_LIST]
        try:
            offsets = subkey_offsets(img, list_off, count)
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
            return self._find_linear(name, [k._off for k in self._salvage_subkeys(nk)], None)
        target = collation_key(name)
        lo, hi = 0, len(offsets)
        try:
            while lo < hi:
                mid = (lo + hi) // 2
                off = offsets[mid]
                probe = collation_key(read_nk_named(img, off)[1])
                if probe == target:
                    return hive._child(off, self)
                if probe < target:
                    lo = mid + 1
                else:
                    hi = mid
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
        if list_off in hive._sorted_lists:
            return None
        hashed, found = self._find_by_hash(name, list_off)
        return found if hashed else self._find_linear(name, offsets, list_off)

    def _find_by_hash(self, name: str, list_off: int) -> tuple[bool, Key | None]:
        """For lists of ``lh`` leaves: ``(True, key or None)`` from the elements whose stored
        hash is the name's (Windows finds keys of hash leaves by that hash), checked by name --
        so a key is found even in a list out of order, and a miss costs no name reads.
        ``(False, None)`` for other list kinds."""
        from .regf.names import lh_hash
        from .regf.records import list_leaves

        hive = self._hive
        try:
            leaves = list_leaves(hive._img, list_off)
        except HiveFormatError:
            return False, None
        if not all(sig == L.LH_SIGNATURE for _off, sig, _e, _h in leaves):
            return False, None
        wanted = lh_hash(name)
        target = collation_key(name)
        for _off, _sig, elements, hints in leaves:
            for off, hint in zip(elements, hints):
                if hint == wanted:
                    try:
                        if collation_key(read_nk_named(hive._img, off)[1]) == target:
                            return True, hive._child(off, self)
                    except HiveFormatError as e:
                        hive._skip(e, self.path, self._off)
        return True, None

    def _find_linear(self, name: str, offsets: list[int], list_off: int | None) -> Key | None:
        target = collation_key(name)
        hive = self._hive
        img = hive._img
        previous = None
        in_order = list_off is not None
        for off in offsets:
            try:
                probe = collation_key(read_nk_named(img, off)[1])
            except HiveFormatError as e:
                hive._skip(e, self.path, self._off)
                in_order = False
                continue
            if probe == target:
                return hive._child(off, self)
            if previous is not None and not previous < probe:
                in_order = False
            previous = probe
        if in_order and list_off is not None:
            hive._sorted_lists.add(list_off)
        return None

    def subkey(self, name: str) -> Key:
        """The direct subkey called ``name`` (case-insensitive); raises ``KeyNotFoundError``.

        ``name`` is one key name, taken literally: ``/`` is a legal character in key names
        (only ``Hive.key`` and ``create_key`` read it as a separator). A name with
        backslashes is followed as a path."""
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
        nk = self._fields()
        count = nk[_NK_VALUE_COUNT]
        if not count:
            return None
        hive = self._hive
        img = hive._img
        if count >= _VALUE_INDEX_MIN:
            index = self._value_names(nk, count)
            if index is not None:
                found = index.get(collation_key(name))
                if found is None:
                    return None
                vk, vname = read_vk_named(img, found)  # read once already: cannot fail now
                return Value(self, found, vname, vk)
        try:
            offsets = value_offsets(img, nk[_NK_VALUE_LIST], count)
        except HiveFormatError as e:
            hive._skip(e, self.path, self._off)
            return None
        exact = name
        folded: str | None = None
        for off in offsets:
            try:
                vk, vname = read_vk_named(img, off)
            except HiveFormatError as e:
                hive._skip(e, self.path, self._off)
                continue
            if vname == exact:
                return Value(self, off, vname, vk)
            if len(vname) == len(exact):
                if folded is None:
                    folded = collation_key(exact)
                if collation_key(vname) == folded:
                    return Value(self, off, vname, vk)
        return None

    def _value_names(self, nk: tuple, count: int) -> dict[str, int] | None:  # type: ignore[type-arg]
        """Folded value name -> vk offset of the first value of that name, in list order (what
        the linear scan finds), valid until the hive changes; ``None`` when the list or a record
        cannot be read (the scan then reports it where it stands). The writer keeps it current
        across its own additions (``Editor.set_value``)."""
        hive = self._hive
        index = hive._current_value_index(self._off)
        if index is not None:
            return index
        img = hive._img
        index = {}
        try:
            for off in value_offsets(img, nk[_NK_VALUE_LIST], count):
                index.setdefault(collation_key(read_vk_named(img, off)[1]), off)
        except HiveFormatError:
            return None
        hive._keep_value_index(self._off, index)
        return index

    def get_value(self, name: str) -> Value | None:
        """The value called ``name`` (case-insensitive), or ``None`` when there is none."""
        return self._find_value(name)

    def get(self, name: str, default: Any = None) -> Any:
        """The decoded data of value ``name``, or ``default`` when there is no such value."""
        found = self._find_value(name)
        return default if found is None else found.data

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find_value(name) is not None

    # -- editing (see ``.writer``) ----------------------------------------------------------

    def create_key(self, path: str, exist_ok: bool = True) -> Key:
        """Create the key at ``path`` below this one (and any missing keys on the way)."""
        return self._hive._require_writable().create_key(self, path, exist_ok)  # type: ignore[no-any-return]

    def create_subkey(self, name: str, exist_ok: bool = True) -> Key:
        """Create the direct subkey called exactly ``name`` (``/`` is a legal character in key
        names, e.g. ``SCSI#DiskMATSHITALS-120/240____00``; only ``\\`` is not)."""
        if not isinstance(name, str) or "\\" in name:
            raise UsageError(f"a key name cannot contain a backslash: {name!r}")
        return self._hive._require_writable().create_key(self, [name], exist_ok)  # type: ignore[no-any-return]

    def delete_key(self, name: str, recursive: bool = False) -> None:
        """Delete the subkey ``name`` (with everything below it if ``recursive``)."""
        self._hive._require_writable().delete_key(self, name, recursive)

    def rename(self, new_name: str) -> None:
        """Give this key a new name (its place in the parent's sorted list changes)."""
        self._hive._require_writable().rename(self, new_name)

    def set_value(self, name: str, data: Any = None, type: RegType | int | None = None, *,
                  raw: bytes | None = None) -> Value:
        """Create or replace value ``name``. Give exactly one of ``data`` (encoded for ``type``,
        inferred when omitted: str -> SZ, int -> DWORD, list[str] -> MULTI_SZ, bytes -> BINARY;
        strings as regedit stores them, UTF-16LE with their NUL -- except a REG_LINK target,
        a counted path without one) and ``raw`` (stored byte for byte, with ``type`` defaulting
        to REG_BINARY)."""
        return self._hive._require_writable().set_value(self, name, data, type, raw)  # type: ignore[no-any-return]

    def delete_value(self, name: str) -> None:
        """Delete value ``name`` (case-insensitive); raises ``ValueNotFoundError``."""
        self._hive._require_writable().delete_value(self, name)

    def set_class_name(self, class_name: str | bytes | None) -> None:
        """Set (or with ``None`` remove) the key's class name."""
        self._hive._require_writable().set_class_name(self, class_name)

    def set_security(self, descriptor: bytes) -> None:
        """Give the key this self-relative security descriptor (shared with identical ones)."""
        self._hive._require_writable().set_security(self, descriptor)

    def touch(self, when: datetime | None = None) -> None:
        """Set the last-written time (now by default)."""
        self._hive._require_writable().touch(self, when)

    # -- misc ------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<Key {self.path or '(root)'!s}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other._hive is self._hive and other._off == self._off

    def __hash__(self) -> int:
        return hash((id(self._hive), self._off))


class WalkGuard:
    """Bounds any walk of a key tree that may be damaged (``Key.walk``, the .reg export, ...).

    ``children(key)`` gives the subkeys to descend into. It counts the keys as they are made,
    not as they are yielded, so a crafted hive whose shared or cyclic lists would multiply the
    keys is stopped after at most as many keys as its bins could hold (an nk cell takes at least
    80 bytes): a strict read raises ``HiveFormatError``, a tolerant one records the problem and
    ends the walk there. A tolerant read also walks a key reached twice only once."""

    __slots__ = ("hive", "limit", "made", "seen")

    def __init__(self, top: Key) -> None:
        self.hive = top._hive
        self.limit = self.hive._img.bins_size // 80 + 1
        self.made = 1
        self.seen: set[int] | None = None if self.hive.strict else {top._off}

    def children(self, key: Key) -> list[Key]:
        hive = self.hive
        children = key.subkeys()
        if children and self.seen is not None:
            seen = self.seen
            fresh = [c for c in children if c._off not in seen]
            if len(fresh) < len(children):
                hive._problem(HiveFormatError(
                    f"{len(children) - len(fresh)} subkey(s) already reached through another "
                    "parent (shared or cyclic lists): not walked again", None,
                    source=hive._source), key.path)
            seen.update(c._off for c in fresh)
            children = fresh
        if children:
            self.made += len(children)
            if self.made > self.limit:
                err = HiveFormatError(
                    f"the key tree holds more keys than the hive bins can ({self.limit}): "
                    "subkey lists are shared or cyclic", None, path=_short_path(key.path),
                    source=hive._source)
                if hive.strict:
                    raise err
                hive._problem(err, key.path)  # a tolerant read keeps what it has walked
                children.clear()
                self.limit = -1  # and stops: every later key is over the bound too
        return children


def _short_path(path: str, keep: int = 8) -> str:
    """A key path for a message: a cyclic tree's paths run to hundreds of components."""
    parts = path.split("\\")
    if len(parts) <= keep:
        return path
    return "\\".join(parts[:3]) + f"\\...({len(parts) - 6} more)...\\" + "\\".join(parts[-3:])


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


def _read_all(fd: int, size: int, path: str) -> bytearray:
    """The whole file, read straight into one buffer (no intermediate copies)."""
    buf = bytearray(size)
    got = 0
    try:
        with memoryview(buf) as view:
            while got < size:
                n = os.readv(fd, [view[got:]])
                if n == 0:
                    break
                got += n
            extra = os.read(fd, 1 << 16)  # the file grew since fstat: take the rest too
    except OSError as e:
        raise HiveFileError(e.errno, f"cannot read hive: {e.strerror}", path) from None
    if got < size:
        del buf[got:]
    elif extra:
        buf += extra + _read_rest(fd)
    return buf


def _read_rest(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _lock_exclusive(fd: int, path: str) -> None:
    """Advisory exclusive lock for writers (readers are not blocked)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        from .errors import HiveLockedError

        raise HiveLockedError(f"{path}: another process has this hive open for writing (close it "
                              "there, or open it read-only: readers are not blocked)") from None
    except OSError:  # locking unsupported on this filesystem: go on without it
        pass


def open(path: str | os.PathLike[str], *, writable: bool = False,
         logs: Literal["auto", "ignore", "require"] | list[str] = "auto", strict: bool = True,
         lock: bool = True) -> Hive:
    """Open a hive file.

    ``writable`` reads the file into memory and takes an exclusive advisory lock; changes are
    written by ``Hive.save``. ``logs`` says what to do with transaction logs when the hive is
    dirty: ``"auto"`` replays the sibling ``.LOG``/``.LOG1``/``.LOG2`` files, ``"ignore"`` reads
    the primary file as it is (a dirty hive then cannot be saved), ``"require"`` fails when no log
    can be applied, and a list names the log files to use. ``strict=False`` reads what can be read
    and lists what was skipped in ``Hive.problems`` (such a hive is never writable).
    """
    return Hive.open(path, writable=writable, logs=logs, strict=strict, lock=lock)


def create(root_name: str = "ROOT", version: tuple[int, int] = (1, 5)) -> Hive:
    """A new, empty, writable hive in memory (like offreg's ``ORCreateHive``)."""
    from .writer import new_hive_bytes

    return Hive.from_bytes(new_hive_bytes(root_name, version), writable=True)


def is_winmigrate_error(exc: BaseException) -> bool:
    return isinstance(exc, WinmigrateError)
