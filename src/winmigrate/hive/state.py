"""``HiveState``: what every ``Key`` and ``Value`` of one hive reads through.

The checked image of the hive bins and the base block (from ``loading``), the file behind them,
strictness and the problems a tolerant read records, and the caches that stay valid for one
*generation* of the hive (every change bumps it): parsed key nodes, the value-name indexes, parsed
security descriptors, and the subkey lists known to be sorted. Keys and values know their hive
only as this state, so the model's modules depend on it and never on each other in a circle:
``state`` <- ``key`` (Key, Value) <- ``model`` (HiveModel: the root and path lookups).
"""

from __future__ import annotations

from ..errors import HiveFormatError, NotWritableError
from ..regf import layout as L
from .loading import load

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap
    from datetime import datetime
    from typing import Any

    from ..regf.baseblock import BaseBlock
    from ..regf.image import Image
    from ..regf.security import SecurityDescriptor
    from .files import FilePager
    from .loading import Loaded
    from .problems import Problem

__all__ = ["HiveState"]

_BASE = L.BASE_BLOCK_SIZE
_TOLERANT_HINT = (" (open with strict=False to read around it; hive.problems lists what was "
                  "skipped)")
_VALUE_INDEX_KEYS = 256  # value-name indexes kept at once


class HiveState:
    """The state one hive's keys and values share (see the module docstring). Built from a
    buffer; ``HiveModel`` adds the root, the public ``Hive`` the file and its operations."""

    def __init__(self, buf: bytes | bytearray | mmap.mmap, *, path: str | None = None,
                 writable: bool = False, strict: bool = True, _fd: int | None = None,
                 _pager: FilePager | None = None) -> None:
        import os

        self.path = path
        self.strict = strict
        self._writable = writable
        self._fd = _fd
        self._pager = _pager
        self._closed = False
        self.problems: list[Problem] = []
        self._gen = 0  # bumped by every change; cached key nodes re-read when it moves
        # Writable hives: key node offset -> the live Key (one object per key, so that edits
        # through one are seen by all); ``None`` in a read-only hive.
        self._keys: Any = None
        if writable:
            import weakref

            self._keys = weakref.WeakValueDictionary()
        self._editor: Any = None
        self._sequence_floor = 0  # a save numbers itself past this (replayed log entries)
        # Subkey lists verified to be in Windows' order (see lookup.find_subkey), by list offset.
        self._sorted_lists: set[int] = set()
        # key node offset -> (hive generation it is valid for, folded value name -> vk offset)
        self._value_index: dict[int, tuple[int, dict[str, int]]] = {}
        self._security_cache: dict[int, tuple[int, SecurityDescriptor]] = {}
        self._source = os.path.basename(path) if path else None
        self._loaded = self._load_image(buf)

    def _load_image(self, buf: bytes | bytearray | mmap.mmap) -> Loaded:
        """Parse ``buf`` (see ``loading.load``) and take its base block and image."""
        loaded = load(buf, strict=self.strict, source=self._source, pager=self._pager)
        self._bb: BaseBlock = loaded.base_block
        self._img: Image = loaded.image
        for err, where in loaded.notes:
            self._problem(err, where)
        return loaded

    # -- the base block ------------------------------------------------------------------------

    @property
    def base_block(self) -> BaseBlock:
        """Every field of the base block (as read; a save rewrites sequence, time, checksum)."""
        return self._bb

    @property
    def version(self) -> tuple[int, int]:
        return (self._bb.major, self._bb.minor)

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

    # -- value-name indexes (see Key._find_value) -----------------------------------------------

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

    # -- editing -------------------------------------------------------------------------------

    def _edit(self) -> Any:
        """The writer (``edit.Editor``), for ``Key``'s editing methods. Only the public ``Hive``
        hands one out, once it knows the hive is open, strict, writable and not dirty."""
        raise NotWritableError("this hive cannot be changed")
