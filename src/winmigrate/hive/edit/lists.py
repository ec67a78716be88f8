"""Subkey lists kept the way Windows keeps them: sorted in its upcased UTF-16 order, ``lh``
hashes or ``lf`` hints by hive version, leaves split before they pass 507 elements under an
``ri``, emptied leaves removed and an ``ri`` left with one leaf collapsed into it."""

from __future__ import annotations

from ...regf import layout as L
from ...regf.build import build_leaf, build_ri, hint_for
from ...regf.names import collation_key
from ...regf.records import list_leaves, read_nk_named
from .cells import CellEditor

__all__ = ["SubkeyLists"]

_U32 = L.U32


class SubkeyLists(CellEditor):
    """Insertion into and removal from a key's subkey list."""

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

    def _free_list_cells(self, list_off: int) -> None:
        self.hive._sorted_lists.discard(list_off)
        leaves = list_leaves(self.img, list_off)
        for leaf_off, _sig, _els, _hints in leaves:
            if leaf_off != list_off:
                self._free(leaf_off)
        self._free(list_off)
