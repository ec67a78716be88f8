"""From a buffer to what the model reads: the base block, the checked image of the hive bins, and
the root key node -- strictly, or tolerantly with every repair listed.

Kept out of the model so that its rules (which size of hive bins to believe, how much of a damaged
key node to keep) sit in one place with the evidence for them.
"""

from __future__ import annotations

from ..errors import HiveFormatError
from ..regf import layout as L
from ..regf.image import Image
from ..regf.records import read_nk_named

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap

    from ..regf.baseblock import BaseBlock
    from ..regf.image import Pager

    Buffer = bytes | bytearray | mmap.mmap

__all__ = ["Loaded", "load", "salvage_nk"]

_BASE = L.BASE_BLOCK_SIZE


class Loaded:
    """The result of ``load``: base block, image, the root's offset, node and name, and the
    findings of a tolerant load (each a ``HiveFormatError`` with its offset, and the key path
    concerned: ``""`` for the root, ``None`` when not tied to a key)."""

    __slots__ = ("base_block", "image", "notes", "root_name", "root_nk", "root_offset")

    def __init__(self, base_block: BaseBlock, image: Image, root_offset: int,
                 root_nk: tuple, root_name: str,  # type: ignore[type-arg]
                 notes: list[tuple[HiveFormatError, str | None]]) -> None:
        self.base_block = base_block
        self.image = image
        self.root_offset = root_offset
        self.root_nk = root_nk
        self.root_name = root_name
        self.notes = notes


def load(buf: Buffer, *, strict: bool, source: str | None, pager: Pager | None = None) -> Loaded:
    """Parse the base block of ``buf`` and open its hive bins. Strict: any damage raises
    ``HiveFormatError``. Tolerant: a truncated file is read as far as its whole cells go, a root
    name that overruns its cell is cut, and each such repair is listed in ``notes``. ``pager``
    fills ``buf`` on demand (see ``regf.image``); the base block is always present."""
    from ..regf.baseblock import parse_base_block, validate_primary

    notes: list[tuple[HiveFormatError, str | None]] = []
    bb = parse_base_block(buf, source=source)
    header_notes = validate_primary(bb, len(buf), source=source)
    bins_size = bb.hive_bins_size
    if _BASE + bins_size > len(buf):
        msg = (f"file is truncated: the base block declares 0x{bins_size:x} bytes of hive "
               f"bins but the file holds only 0x{max(len(buf) - _BASE, 0):x}")
        if strict:
            raise HiveFormatError(msg + " (open with strict=False to read what is there)",
                                  40, source=source)
        bins_size = max(0, len(buf) - _BASE)  # read the cells that are wholly there
        notes.append((HiveFormatError(msg, 40, source=source), ""))
    if not bb.checksum_ok:
        bins_size = _effective_bins_size(buf, bins_size, notes, source, pager)
    img = Image(buf, bins_size, bb.minor, source=source, pager=pager)
    notes += [(HiveFormatError(note, 24, source=source), "") for note in header_notes]
    try:
        nk, name = read_nk_named(img, bb.root_cell)
    except HiveFormatError:
        if strict:
            raise
        nk, name, note = salvage_nk(img, bb.root_cell)
        notes.append((note, None))
    return Loaded(bb, img, bb.root_cell, nk, name, notes)


def _effective_bins_size(buf: Buffer, declared: int,
                         notes: list[tuple[HiveFormatError, str | None]],
                         source: str | None, pager: Pager | None) -> int:
    """The hive bins size to read when the base block's checksum is wrong (a header that was
    not written completely, and no log replaced it): its size field cannot be trusted, so
    when the chain of hbin headers in the file goes further, the chain is read (yarp's
    "effective hbins data size"). A valid base block is always believed: data past its
    hive bins is slack, as it is for Windows."""
    whole = (len(buf) - _BASE) & ~(L.BIN_ALIGN - 1)
    if whole <= declared:
        return declared
    chain = sum(b.size for b in Image(buf, whole, 0, pager=pager).walk_bins(stop_on_error=True))
    if chain <= declared:
        return declared
    notes.append((HiveFormatError(
        f"the base block's checksum is wrong and its hive bins size 0x{declared:x} stops "
        f"short of the hbin chain in the file: the chain (0x{chain:x} bytes) is read", 40,
        source=source), ""))
    return chain


def salvage_nk(img: Image, off: int) -> tuple[tuple, str, HiveFormatError]:  # type: ignore[type-arg]
    """Tolerant read of a key node whose name overruns its cell: the node, the part of the name
    that fits, and the finding to list. Raises ``HiveFormatError`` when not even the fixed part
    of the node can be read."""
    from ..regf.names import decode_name

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
    note = img.error(f"key name ({nk[L.NK_NAME_LENGTH]} bytes) does not fit its cell; kept the "
                     f"first {fit} bytes", off)
    return nk, decode_name(raw, compressed), note
