"""Finding a subkey or a value by name the way Windows does, over the checked image.

Names compare case-insensitively through Windows' upcase table (``regf.names.collation_key``).
Subkey lists are kept sorted in that order, so a lookup is a binary search; a list that a damaged
or foreign-written hive keeps out of order is still searched completely once (and remembered as
sorted when it turns out to be). Value lists are not sorted: a key with many values gets an index
of its names, which the model keeps while the hive does not change.

The functions return cell offsets; the model turns them into ``Key``/``Value`` objects. Errors go
to ``skip``, which raises in a strict read and records the problem in a tolerant one.
"""

from __future__ import annotations

from ..errors import HiveFormatError
from ..regf import layout as L
from ..regf.names import collation_key
from ..regf.records import read_nk_named, read_vk_named, value_offsets

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..regf.image import Image

    Skip = Callable[[HiveFormatError], None]

__all__ = ["find_subkey", "find_value", "split_path", "value_name_index"]


def split_path(path: str) -> list[str]:
    """Key path components, empty ones dropped. ``\\`` separates; ``/`` separates too, but only
    in a path with no backslash at all: ``/`` is a legal character in key names (Amcache and
    CriticalDeviceDatabase hold such keys), so ``a\\b/c`` names the key ``b/c`` under ``a``."""
    if "\\" not in path:
        path = path.replace("/", "\\")
    return [p for p in path.split("\\") if p]


def find_subkey(img: Image, offsets: Sequence[int], list_off: int | None, name: str,
                sorted_lists: set[int], skip: Skip) -> int | None:
    """The offset of the key node called ``name`` among ``offsets`` (the elements of the subkey
    list at ``list_off``), or ``None``.

    Binary search on the stored collation order, as Windows does. A miss is final once the list
    is known to be sorted (``sorted_lists``, which the writer keeps current); the first miss in a
    list not yet known to be sorted looks again -- by hash in a list of ``lh`` leaves, else by a
    scan that remembers the list as sorted when it is. ``list_off`` ``None``: ``offsets`` were
    salvaged from a damaged list and are only scanned."""
    target = collation_key(name)
    if list_off is None:
        return _scan(img, offsets, target, None, sorted_lists, skip)
    lo, hi = 0, len(offsets)
    try:
        while lo < hi:
            mid = (lo + hi) // 2
            off = offsets[mid]
            probe = collation_key(read_nk_named(img, off)[1])
            if probe == target:
                return off
            if probe < target:
                lo = mid + 1
            else:
                hi = mid
    except HiveFormatError as e:
        skip(e)
    if list_off in sorted_lists:
        return None
    hashed, found = _find_by_hash(img, list_off, name, target, skip)
    return found if hashed else _scan(img, offsets, target, list_off, sorted_lists, skip)


def _find_by_hash(img: Image, list_off: int, name: str, target: str,
                  skip: Skip) -> tuple[bool, int | None]:
    """For lists of ``lh`` leaves: ``(True, offset or None)`` from the elements whose stored
    hash is the name's (Windows finds keys of hash leaves by that hash), checked by name -- so a
    key is found even in a list out of order, and a miss costs no name reads. ``(False, None)``
    for other list kinds."""
    from ..regf.names import lh_hash
    from ..regf.records import list_leaves

    try:
        leaves = list_leaves(img, list_off)
    except HiveFormatError:
        return False, None
    if not all(sig == L.LH_SIGNATURE for _off, sig, _e, _h in leaves):
        return False, None
    wanted = lh_hash(name)
    for _off, _sig, elements, hints in leaves:
        for off, hint in zip(elements, hints):
            if hint == wanted:
                try:
                    if collation_key(read_nk_named(img, off)[1]) == target:
                        return True, off
                except HiveFormatError as e:
                    skip(e)
    return True, None


def _scan(img: Image, offsets: Sequence[int], target: str, list_off: int | None,
          sorted_lists: set[int], skip: Skip) -> int | None:
    previous = None
    in_order = list_off is not None
    for off in offsets:
        try:
            probe = collation_key(read_nk_named(img, off)[1])
        except HiveFormatError as e:
            skip(e)
            in_order = False
            continue
        if probe == target:
            return off
        if previous is not None and not previous < probe:
            in_order = False
        previous = probe
    if in_order and list_off is not None:
        sorted_lists.add(list_off)
    return None


def value_name_index(img: Image, list_off: int, count: int) -> dict[str, int] | None:
    """Folded value name -> vk offset of the first value of that name, in list order (what
    ``find_value`` finds); ``None`` when the list or a record cannot be read (a scan then
    reports the damage where it stands)."""
    index: dict[str, int] = {}
    try:
        for off in value_offsets(img, list_off, count):
            index.setdefault(collation_key(read_vk_named(img, off)[1]), off)
    except HiveFormatError:
        return None
    return index


def find_value(img: Image, offsets: Sequence[int], name: str,
               skip: Skip) -> tuple[int, tuple, str] | None:  # type: ignore[type-arg]
    """``(offset, vk fields, name)`` of the first value called ``name`` among ``offsets``, or
    ``None``. The exact spelling is compared first; the folded comparison is made only for
    names of the same length."""
    exact = name
    folded: str | None = None
    for off in offsets:
        try:
            vk, vname = read_vk_named(img, off)
        except HiveFormatError as e:
            skip(e)
            continue
        if vname == exact:
            return off, vk, vname
        if len(vname) == len(exact):
            if folded is None:
                folded = collation_key(exact)
            if collation_key(vname) == folded:
                return off, vk, vname
    return None
