"""Checked access to the cells of a hive image: the one way every record is read.

An ``Image`` wraps the bytes of a primary hive (a buffer filled on demand for large read-only
files, a ``bytearray`` for writable ones) and resolves cell offsets to payload ranges after
checking alignment, bounds, allocation state, and that the cell does not cross into another bin.
Opening is lazy: nothing is scanned up front; the bins are walked only when a cell sits where a
bin header could be (near a 4 KiB boundary, or spanning one), so a point lookup on a 100 MB hive
touches only the pages it reads.

A buffer filled on demand comes with a *pager* (``hive.files.FilePager``: the I/O is not this
module's): an object with ``pages`` (one byte per 4 KiB page of the buffer, non-zero once the
page is present), ``fill(start, length)``, which makes those bytes present, ``fill_all()`` and
``complete``. ``Image.pages`` is then what every reader tests before it touches a page (the
readers of ``records`` do too) and ``Image.fetch`` what it calls for a page not yet there;
``pages`` is ``None`` once everything is present -- one attribute test on the hot paths.
"""

from __future__ import annotations

from ..errors import HiveFormatError
from . import layout as L

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap
    from typing import Protocol, TypeAlias

    Buffer: TypeAlias = "bytes | bytearray | mmap.mmap"

    class Pager(Protocol):
        complete: bool
        pages: bytearray

        def fill(self, start: int, length: int) -> None: ...
        def fill_all(self) -> None: ...

_I32 = L.I32.unpack_from
_U32 = L.U32.unpack_from
_HBIN = L.HBIN_HEADER.unpack_from
_BASE = L.BASE_BLOCK_SIZE


class Bin:
    """One hive bin: ``offset`` is relative to the hive bins data, as in its header."""

    __slots__ = ("offset", "size", "timestamp")

    def __init__(self, offset: int, size: int, timestamp: int) -> None:
        self.offset = offset
        self.size = size
        self.timestamp = timestamp

    @property
    def end(self) -> int:
        return self.offset + self.size

    def __repr__(self) -> str:
        return f"Bin(offset=0x{self.offset:x}, size=0x{self.size:x})"


class Image:
    """The hive bins of one hive, with checked cell access.

    ``bins_size`` is the extent of the hive bins data the base block declares (possibly clipped to
    the file in a tolerant read); ``minor`` decides which records may appear (``db`` needs 4,
    ``lh`` 5). Offsets given to and returned by ``cell`` are *relative* cell offsets and
    *absolute* payload positions respectively.
    """

    __slots__ = ("_bin_starts", "_bins", "_pager", "bins_size", "buf", "end", "minor", "pages",
                 "source")

    def __init__(self, buf: Buffer, bins_size: int, minor: int, *,
                 source: str | None = None, pager: Pager | None = None) -> None:
        self.buf = buf
        self.bins_size = bins_size
        self.end = _BASE + bins_size
        self.minor = minor
        self.source = source
        self._bins: list[Bin] | None = None
        self._bin_starts: list[int] | None = None
        self._pager = pager
        self.pages: bytearray | None = None if pager is None or pager.complete else pager.pages

    def fetch(self, start: int, length: int) -> None:
        """Make bytes ``[start, start + length)`` of the buffer present (a buffer filled on
        demand; readers call it for a page whose ``pages`` byte is 0)."""
        pager = self._pager
        if pager is not None:
            pager.fill(start, length)
            if pager.complete:
                self.pages = None  # everything is present: the readers stop asking

    def fill_all(self) -> None:
        """Make the whole buffer present (before a walk of every bin or cell)."""
        if self.pages is not None and self._pager is not None:
            self._pager.fill_all()
            self.pages = None

    # -- errors --------------------------------------------------------------------------------

    def error(self, message: str, cell_offset: int | None) -> HiveFormatError:
        """A format error located at the cell ``cell_offset`` (relative)."""
        absolute = None if cell_offset is None else cell_offset + _BASE
        return HiveFormatError(message, absolute, source=self.source)

    # -- cells ---------------------------------------------------------------------------------

    def cell(self, off: int, what: str = "cell") -> tuple[int, int]:
        """Payload ``(start, length)`` of the allocated cell at relative offset ``off``.

        Checks: 8-byte alignment, inside the hive bins, allocated (negative size), size a multiple
        of 8, no overlap with a bin header and no crossing into the next bin. (The two hottest
        readers in ``.records`` repeat the common case of these checks inline and call this
        method for anything else, so the rules live here only.)"""
        a = off + 4096
        end = self.end
        if off & 7 or off < 32 or a + 8 > end:
            raise self._bad_offset(off, what)
        pages = self.pages
        if pages is not None and not pages[a >> 12]:
            self.fetch(a, 8)
        size = -_I32(self.buf, a)[0]
        if size < 8 or size & 7 or a + size > end:
            raise self._bad_size(off, size, what)
        if pages is not None and (a ^ (a + size - 1)) >> 12:  # more pages than the first
            self.fetch(a, size)
        if (a & 0xFFF) < 32 or (a ^ (a + size - 1)) >> 12:  # near or across a 4 KiB boundary
            self._check_within_bin(off, size, what)
        return a + 4, size - 4

    def _bad_offset(self, off: int, what: str) -> HiveFormatError:
        if off == L.NIL:
            return self.error(f"{what} reference is empty (0xFFFFFFFF)", None)
        return self.error(f"{what} offset 0x{off:x} is not an aligned offset inside the hive "
                          f"bins (size 0x{self.bins_size:x})",
                          None if off > self.bins_size else off)

    def _bad_size(self, off: int, size: int, what: str) -> HiveFormatError:
        if size <= 0:
            return self.error(f"{what} cell is free (size {-size}), expected an allocated cell",
                              off)
        return self.error(f"{what} cell has a bad size {size}", off)

    def cell_or_none(self, off: int) -> tuple[int, int] | None:
        """Like ``cell`` but returns ``None`` instead of raising (for tolerant reads)."""
        try:
            return self.cell(off)
        except HiveFormatError:
            return None

    def raw_cell_size(self, off: int) -> int:
        """The signed size field of the cell at ``off`` (negative = allocated), bounds-checked."""
        a = off + _BASE
        if off & 7 or a + 4 > self.end or a < _BASE:
            raise self.error(f"cell offset 0x{off:x} is outside the hive bins", None)
        if self.pages is not None:
            self.fetch(a, 4)
        return int(_I32(self.buf, a)[0])

    # -- bins ----------------------------------------------------------------------------------

    def _plausible_bin_at(self, rel_page: int) -> bool:
        """Whether the 4 KiB page at relative offset ``rel_page`` starts with a header that names
        itself: only then can a bin boundary be there (cheap test before walking all bins)."""
        a = rel_page + _BASE
        if a + L.HBIN_HEADER_SIZE > self.end:
            return False
        if self.pages is not None:
            self.fetch(a, 8)
        return bool(self.buf[a:a + 4] == L.HBIN_SIGNATURE and _U32(self.buf, a + 4)[0] == rel_page)

    def _check_within_bin(self, off: int, size: int, what: str) -> None:
        first_page = off & ~0xFFF
        last_page = (off + size - 1) & ~0xFFF
        candidates = [p for p in range(first_page, last_page + 1, 0x1000)
                      if (p > off - L.HBIN_HEADER_SIZE) and self._plausible_bin_at(p)]
        if not candidates:
            return
        # A bin may start inside this cell's range: decide exactly from the bin map.
        b = self.bin_containing(off)
        if b is None:
            raise self.error(f"{what} cell is not inside any hive bin", off)
        if off < b.offset + L.HBIN_HEADER_SIZE:
            raise self.error(f"{what} cell overlaps the header of the bin at 0x{b.offset:x}", off)
        if off + size > b.end:
            raise self.error(f"{what} cell (size {size}) crosses the end of its bin at "
                             f"0x{b.end:x}", off)

    def bins(self) -> list[Bin]:
        """Every bin, following the chain of bin headers from the first (built once, on demand).

        Raises on a broken chain: a bad signature, an offset that does not name its own position,
        or a size that is not a positive multiple of 4 KiB or runs past the hive bins."""
        if self._bins is None:
            self._bins = self.walk_bins()
            self._bin_starts = [b.offset for b in self._bins]
        return self._bins

    def walk_bins(self, *, stop_on_error: bool = False) -> list[Bin]:
        self.fill_all()
        out: list[Bin] = []
        rel = 0
        buf = self.buf
        while rel < self.bins_size:
            a = rel + _BASE
            if a + L.HBIN_HEADER_SIZE > len(buf):
                if stop_on_error:
                    break
                raise self.error("hive bins end early: the file is truncated", None)
            sig, boff, bsize, _r1, _r2, ts, _spare = _HBIN(buf, a)
            problem = None
            if sig != L.HBIN_SIGNATURE:
                problem = f"bad hive bin signature {bytes(sig)!r} (expected b'hbin')"
            elif boff != rel:
                problem = f"hive bin header says it is at 0x{boff:x}, but it is at 0x{rel:x}"
            elif bsize < L.BIN_ALIGN or bsize % L.BIN_ALIGN or rel + bsize > self.bins_size:
                problem = (f"hive bin size 0x{bsize:x} is not a multiple of 4096 inside the hive "
                           "bins")
            if problem:
                if stop_on_error:
                    break
                raise HiveFormatError(problem, a, source=self.source)
            out.append(Bin(rel, bsize, ts))
            rel += bsize
        return out

    def bin_containing(self, off: int) -> Bin | None:
        import bisect

        bins = self.bins()
        assert self._bin_starts is not None
        i = bisect.bisect_right(self._bin_starts, off) - 1
        if i < 0:
            return None
        b = bins[i]
        return b if off < b.end else None

    def invalidate_bins(self) -> None:
        """Forget the bin map (after the writer appends bins)."""
        self._bins = None
        self._bin_starts = None

    # -- cell walking (check, allocator, compaction) --------------------------------------------

    def iter_cells(self, b: Bin) -> list[tuple[int, int]]:
        """``(relative offset, signed size)`` of every cell in bin ``b``, in order. Raises when the
        cells do not tile the bin exactly."""
        self.fill_all()
        out = []
        rel = b.offset + L.HBIN_HEADER_SIZE
        end = b.end
        buf = self.buf
        while rel < end:
            size = _I32(buf, rel + _BASE)[0]
            length = -size if size < 0 else size
            if length < 8 or length & 7 or rel + length > end:
                raise self.error(f"cell size {size} breaks the tiling of the bin at "
                                 f"0x{b.offset:x}", rel)
            out.append((rel, size))
            rel += length
        return out
