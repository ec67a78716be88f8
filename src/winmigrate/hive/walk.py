"""``WalkGuard``: the bound on any walk of a key tree that may be damaged (``Key.walk``, the
``.reg`` export...). It needs of a key only its node offset, its path and its subkeys, so it sits
below the model and serves every walker."""

from __future__ import annotations

from ..errors import HiveFormatError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    from .state import HiveState

    W = TypeVar("W", bound="Walkable")

    class Walkable(Protocol):
        """What a walk needs of a key (``Key`` is one)."""

        _off: int
        _hive: HiveState

        @property
        def path(self) -> str: ...

        def subkeys(self: W) -> list[W]: ...

__all__ = ["WalkGuard"]


class WalkGuard:
    """Bounds any walk of a key tree that may be damaged (``Key.walk``, the .reg export, ...).

    ``children(key)`` gives the subkeys to descend into. It counts the keys as they are made,
    not as they are yielded, so a crafted hive whose shared or cyclic lists would multiply the
    keys is stopped after at most as many keys as its bins could hold (an nk cell takes at least
    80 bytes): a strict read raises ``HiveFormatError``, a tolerant one records the problem and
    ends the walk there. A tolerant read also walks a key reached twice only once."""

    __slots__ = ("hive", "limit", "made", "seen")

    def __init__(self, top: Walkable) -> None:
        self.hive = top._hive
        self.limit = self.hive._img.bins_size // 80 + 1
        self.made = 1
        self.seen: set[int] | None = None if self.hive.strict else {top._off}

    def children(self, key: W) -> list[W]:
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
