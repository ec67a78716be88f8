"""Cell allocation for a writable image, the way Windows does it.

Free cells are reused before the hive grows: an allocation takes the smallest indexed free cell
that fits (splitting off the rest as a new free cell), a release coalesces the cell with free
neighbours in the same bin, and a new bin (a multiple of 4 KiB) is appended only when no free cell
fits. Cells stay 8-byte aligned and never cross a bin.

The free-cell index is built lazily, one bin at a time, only as far as an allocation needs, from
the last bin backwards: hives Windows writes are dense at the front, and their free space lies
mostly in the last bins (the tail of the last bin at least), so a small edit of a 16 MB hive looks
at a few bins, not at every cell. One allocation that finds nothing looks at ``SCAN_BUDGET``
bytes of bins at most before it appends a bin: a hive with no free space (a generated one, or
one compacted) would otherwise be walked cell by cell in full for the first new cell -- 0.4 s on
a 108 MB hive, more than the rest of an edit and its save. The next miss carries on where this
one stopped with twice the budget, so a long edit still indexes every free cell, having grown the
file by at most one bin per doubling (a handful of bins on the largest hives).
"""

from __future__ import annotations

import bisect

from . import layout as L
from .image import Bin, Image

_I32 = L.I32
_BASE = L.BASE_BLOCK_SIZE
MIN_CELL = 8
#: Bytes of not-yet-indexed bins one allocation miss may scan before the hive grows instead.
SCAN_BUDGET = 1 << 20


def cell_size_for(payload: int) -> int:
    """Cell size (header included, rounded to 8) holding ``payload`` bytes."""
    return (payload + 4 + 7) & ~7


class AllocatorState:
    """A copy of the allocator's bookkeeping, for transaction rollback."""

    __slots__ = ("budget", "free", "free_at", "indexed", "scan_below")

    def __init__(self, free: list[tuple[int, int]], free_at: dict[int, int], indexed: set[int],
                 scan_below: int, budget: int) -> None:
        self.free = free
        self.free_at = free_at
        self.indexed = indexed
        self.scan_below = scan_below
        self.budget = budget


class Allocator:
    """Allocates and frees cells in ``img`` (whose buffer must be a ``bytearray``)."""

    def __init__(self, img: Image) -> None:
        if not isinstance(img.buf, bytearray):
            raise TypeError("the allocator needs a writable (bytearray) image")
        self.img = img
        self.bins: list[Bin] = img.bins()  # validates the whole bin chain once
        self._free: list[tuple[int, int]] = []  # (size, offset), sorted: best fit by bisect
        self._free_at: dict[int, int] = {}  # offset -> size of every indexed free cell
        self._indexed: set[int] = set()  # offsets of the bins whose free cells are indexed
        # The bins at indexes below this one are not scanned yet; the next scanned is the one just
        # below (bins appended later are indexed when they are made).
        self._scan_below = len(self.bins)
        self._budget = SCAN_BUDGET  # doubles after each miss that ran out of it

    # -- state for transactions ----------------------------------------------------------------

    def state(self) -> AllocatorState:
        return AllocatorState(list(self._free), dict(self._free_at), set(self._indexed),
                              self._scan_below, self._budget)

    def restore(self, state: AllocatorState, bins: list[Bin]) -> None:
        self._free = list(state.free)
        self._free_at = dict(state.free_at)
        self._indexed = set(state.indexed)
        self._scan_below = state.scan_below
        self._budget = state.budget
        self.bins = bins

    # -- index -------------------------------------------------------------------------------

    def _index_bin(self, b: Bin) -> None:
        if b.offset in self._indexed:
            return
        for off, size in self.img.iter_cells(b):
            if size > 0:
                self._add_free(off, size)
        self._indexed.add(b.offset)

    def _add_free(self, off: int, size: int) -> None:
        bisect.insort(self._free, (size, off))
        self._free_at[off] = size

    def _remove_free(self, off: int) -> None:
        size = self._free_at.pop(off)
        i = bisect.bisect_left(self._free, (size, off))
        del self._free[i]

    def _bin_of(self, off: int) -> Bin:
        b = self.img.bin_containing(off)
        if b is None:  # pragma: no cover - offsets come from allocated cells
            raise self.img.error("cell is not inside any bin", off)
        return b

    # -- allocation --------------------------------------------------------------------------

    def alloc(self, payload: int) -> int:
        """A new allocated cell with room for ``payload`` bytes (zero-filled); its offset."""
        size = cell_size_for(payload)
        while True:
            i = bisect.bisect_left(self._free, (size, -1))
            if i < len(self._free):
                free_size, off = self._free[i]
                self._take(off, free_size, size)
                return off
            if self._scan_below <= 0 or not self._index_until(size):
                break
        return self._grow(size)

    def _index_until(self, size: int) -> bool:
        """Index the not-yet-indexed bins, last first, until one holds a free cell of at least
        ``size`` bytes or the budget is spent (then doubled for the next miss); whether one was
        found. (One tight loop over the cell sizes.)"""
        img = self.img
        bins = self.bins
        found = False
        scanned = 0
        with memoryview(img.buf) as view, view.cast("i") as sizes:
            while self._scan_below > 0 and not found and scanned < self._budget:
                self._scan_below -= 1
                b = bins[self._scan_below]
                if b.offset in self._indexed:
                    continue
                rel = b.offset + L.HBIN_HEADER_SIZE
                end = b.offset + b.size
                free = []
                while rel < end:
                    cell = sizes[(rel + _BASE) >> 2]
                    if cell <= -MIN_CELL and not cell & 7:  # allocated (the common case)
                        rel -= cell
                        continue
                    if cell < MIN_CELL or cell & 7:
                        raise img.error(f"cell size {cell} breaks the tiling of the bin at "
                                        f"0x{b.offset:x}", rel)
                    free.append((rel, cell))
                    if cell >= size:
                        found = True
                    rel += cell
                if rel != end:  # the last cell ran past the end of its bin
                    raise img.error(f"cells overrun the end of the bin at 0x{b.offset:x}",
                                    b.offset)
                for off, cell in free:
                    self._add_free(off, cell)
                self._indexed.add(b.offset)
                scanned += b.size
        if not found and self._scan_below > 0:
            self._budget *= 2
        return found

    def _take(self, off: int, free_size: int, size: int) -> None:
        self._remove_free(off)
        buf = self.img.buf
        a = off + _BASE
        if free_size - size >= MIN_CELL:
            rest = off + size
            _I32.pack_into(buf, rest + _BASE, free_size - size)
            self._add_free(rest, free_size - size)
        else:
            size = free_size
        _I32.pack_into(buf, a, -size)
        buf[a + 4:a + size] = bytes(size - 4)  # type: ignore[index]

    def _grow(self, size: int) -> int:
        """Append a bin big enough for a cell of ``size``; the rest of it becomes a free cell."""
        img = self.img
        buf = img.buf
        assert isinstance(buf, bytearray)
        rel = img.bins_size
        bin_size = (size + L.HBIN_HEADER_SIZE + L.BIN_ALIGN - 1) & ~(L.BIN_ALIGN - 1)
        if len(buf) != _BASE + rel:
            del buf[_BASE + rel:]  # drop any slack after the old last bin
        new = bytearray(bin_size)
        L.HBIN_HEADER.pack_into(new, 0, L.HBIN_SIGNATURE, rel, bin_size, 0, 0, 0, 0)
        first = L.HBIN_HEADER_SIZE
        _I32.pack_into(new, first, -size)
        rest = bin_size - L.HBIN_HEADER_SIZE - size
        if rest:
            _I32.pack_into(new, first + size, rest)
        buf.extend(new)
        img.bins_size = rel + bin_size
        img.end = _BASE + img.bins_size
        b = Bin(rel, bin_size, 0)
        self.bins.append(b)
        starts = img._bin_starts
        if img._bins is self.bins and starts is not None and len(starts) == len(self.bins) - 1:
            starts.append(rel)  # not rebuilt per bin: an import appends thousands of bins
        else:
            img._bin_starts = [x.offset for x in self.bins]
        img._bins = self.bins
        self._indexed.add(rel)
        if rest:
            self._add_free(rel + first + size, rest)
        return rel + first

    # -- release -----------------------------------------------------------------------------

    def free(self, off: int) -> None:
        """Release the allocated cell at ``off``, merging it with free neighbours in its bin."""
        img = self.img
        buf = img.buf
        size = -_I32.unpack_from(buf, off + _BASE)[0]
        if size <= 0:
            raise img.error("freeing a cell that is already free", off)
        b = self._bin_of(off)
        indexed = b.offset in self._indexed
        start, total = off, size
        # The next cell, if free, joins this one.
        nxt = off + size
        if nxt < b.end:
            nsize = _I32.unpack_from(buf, nxt + _BASE)[0]
            if nsize > 0:
                if indexed:
                    self._remove_free(nxt)
                total += nsize
        # The previous cell (found by walking the bin from its start), if free, absorbs it.
        prev = None
        rel = b.offset + L.HBIN_HEADER_SIZE
        while rel < off:
            csize = _I32.unpack_from(buf, rel + _BASE)[0]
            length = -csize if csize < 0 else csize
            if length < MIN_CELL:
                raise img.error("cells do not tile their bin", rel)
            prev = (rel, csize)
            rel += length
        if prev is not None and prev[1] > 0 and prev[0] + prev[1] == off:
            if indexed:
                self._remove_free(prev[0])
            start = prev[0]
            total += prev[1]
        _I32.pack_into(buf, start + _BASE, total)
        if indexed:
            self._add_free(start, total)

    def realloc(self, off: int, payload: int, spare: int = 0) -> int:
        """A cell for ``payload`` bytes holding the old cell's content: the same cell when it is
        big enough (or can grow into a free neighbour), else a new one with ``spare`` extra
        bytes of room (the old is freed). Returns the (possibly new) offset."""
        img = self.img
        buf = img.buf
        old_size = -_I32.unpack_from(buf, off + _BASE)[0]
        need = cell_size_for(payload)
        if need <= old_size:
            return off
        # Grow in place into a free neighbour: lists that gain one element at a time (subkey
        # leaves, value lists) would otherwise leave a trail of freed cells behind them.
        b = self._bin_of(off)
        nxt = off + old_size
        if nxt < b.end:
            nsize = _I32.unpack_from(buf, nxt + _BASE)[0]
            if nsize > 0 and old_size + nsize >= need:
                indexed = b.offset in self._indexed
                if indexed:
                    self._remove_free(nxt)
                total = old_size + nsize
                size = need if total - need >= MIN_CELL else total
                if size < total:
                    _I32.pack_into(buf, off + size + _BASE, total - size)
                    if indexed:
                        self._add_free(off + size, total - size)
                _I32.pack_into(buf, off + _BASE, -size)
                a = nxt + _BASE
                buf[a:off + size + _BASE] = bytes(off + size - nxt)  # type: ignore[index]
                return off
        new = self.alloc(payload + spare)
        keep = old_size - 4
        src, dst = off + _BASE + 4, new + _BASE + 4
        img.buf[dst:dst + keep] = img.buf[src:src + keep]  # type: ignore[index]
        self.free(off)
        return new

    # -- introspection ---------------------------------------------------------------------------

    def free_bytes(self) -> int:
        """Total size of free cells in every bin (indexes all bins)."""
        while self._scan_below > 0:
            self._scan_below -= 1
            self._index_bin(self.bins[self._scan_below])
        return sum(self._free_at.values())
