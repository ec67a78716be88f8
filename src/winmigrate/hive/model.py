"""``HiveModel``: one hive image as a tree of keys -- its root, and keys found by path.

The public ``Hive`` (``hivefile``) is this plus the file, its logs and lock, checks, editing and
saving; the writer, compaction, checks and saving work on this class, below the public one.
"""

from __future__ import annotations

from ..errors import KeyNotFoundError, UsageError
from .key import Key, new_key
from .lookup import split_path
from .state import HiveState

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap
    from collections.abc import Iterator

    from .files import FilePager

__all__ = ["HiveModel", "split_path"]


class HiveModel(HiveState):
    """The keys and values of one hive image (see the module docstring)."""

    def __init__(self, buf: bytes | bytearray | mmap.mmap, *, path: str | None = None,
                 writable: bool = False, strict: bool = True, _fd: int | None = None,
                 _pager: FilePager | None = None) -> None:
        super().__init__(buf, path=path, writable=writable, strict=strict, _fd=_fd,
                         _pager=_pager)
        loaded = self._loaded
        del self._loaded  # the root node's fields are the key's from now on
        self._root = new_key(self, loaded.root_offset, loaded.root_nk, loaded.root_name, None, 0)

    @property
    def root(self) -> Key:
        return self._root

    def key(self, path: str) -> Key:
        """The key at ``path`` below the root (``\\`` or ``/`` separators, case-insensitive).
        A leading ``CurrentControlSet`` is resolved through ``Select\\Current``."""
        if not isinstance(path, str):
            raise UsageError(f"path must be a str, not {type(path).__name__}")
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
