"""Building transaction logs for a write, in both formats (layouts: ``winmigrate.regf.logfile``,
which reads them). Apart from the reader so that a save does not import what reading needs
(its result classes pull in ``dataclasses``, 10-20 ms of a 16 MB hive's edit + save). No I/O."""

from __future__ import annotations

import struct

from . import layout as L
from .baseblock import checksum
from .marvin import marvin32, marvin32_parts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

FORMAT_OLD = "old"
FORMAT_NEW = "new"

#: Only the first clustering factor x 512 bytes of the base block are written to a log; Windows
#: always uses a clustering factor of 1 for hives, so a log's base block is 512 bytes.
LOG_BASE_BLOCK_SIZE = 512
SECTOR = 512
PAGE = 512  # old format: one bitmap bit per 512-byte page of hive bins data
DIRT_SIGNATURE = b"DIRT"
ENTRY_SIGNATURE = b"HvLE"
#: signature, size, flags, sequence number, hive bins data size, dirty page count, Hash-1, Hash-2
ENTRY_HEADER = struct.Struct("<4sIIIIIQQ")
ENTRY_HEADER_SIZE = ENTRY_HEADER.size  # 40
PAGE_REF = struct.Struct("<II")  # offset relative to the hive bins data, size
_U32 = L.U32
_U64 = L.U64
_FLAG_KTM_LOCKED = 0x1  # the only base block flag a log entry carries (spec, "Log entries" note 11)


def _log_base_block(base_block: bytes | bytearray, file_type: int, sequence: int) -> bytes:
    """The 512-byte base block of a log: the primary's (as it will be after the write), with the
    log's file type, both sequence numbers ``sequence`` and its own checksum."""
    head = bytearray(base_block[:LOG_BASE_BLOCK_SIZE])
    _U32.pack_into(head, 4, sequence & 0xFFFFFFFF)
    _U32.pack_into(head, 8, sequence & 0xFFFFFFFF)
    _U32.pack_into(head, 28, file_type)
    _U32.pack_into(head, L.CHECKSUM_OFFSET, checksum(head))
    return bytes(head)


def build_new_log(base_block: bytes | bytearray, sequence: int, bins_size: int,
                  pages: Sequence[tuple[int, bytes | memoryview]], *, flags: int = 0) -> bytes:
    """A new-format log (file type 6) holding one entry with sequence number ``sequence``: the
    ``pages`` (``(offset in the hive bins, data)``, each a multiple of 512 bytes) that turn the
    primary into the hive whose base block is ``base_block`` and whose bins are ``bins_size``
    bytes. The log's base block carries ``sequence`` (its entries start there: "Log entries",
    note 6) and the entry both Marvin32 hashes (Hash-1 over everything from offset 40, Hash-2
    over the first 32 bytes), padded to a multiple of 512 bytes."""
    return b"".join(new_log_parts(base_block, sequence, bins_size, pages, flags=flags))


def new_log_parts(base_block: bytes | bytearray, sequence: int, bins_size: int,
                  pages: Sequence[tuple[int, bytes | memoryview]], *,
                  flags: int = 0) -> list[bytes | memoryview]:
    """``build_new_log``'s file as the pieces to write one after the other: its base block and
    entry header, the page references, then the pages themselves (not copied: a save that
    rewrites a whole hive would otherwise hold the hive twice) and the padding."""
    if not pages:
        raise ValueError("a log entry holds at least one page")
    refs = b"".join(PAGE_REF.pack(off, len(data)) for off, data in pages)
    length = ENTRY_HEADER_SIZE + len(refs) + sum(len(data) for _off, data in pages)
    size = -(-length // SECTOR) * SECTOR
    body: list[bytes | memoryview] = [refs, *(data for _off, data in pages),
                                      bytes(size - length)]
    hash1 = marvin32_parts(body)
    head = bytearray(ENTRY_HEADER.pack(ENTRY_SIGNATURE, size, flags & _FLAG_KTM_LOCKED,
                                       sequence & 0xFFFFFFFF, bins_size, len(pages), hash1, 0))
    _U64.pack_into(head, 32, marvin32(head[:32]))
    return [_log_base_block(base_block, L.FILE_TYPE_LOG_NEW, sequence) + bytes(head), *body]


def build_old_log(base_block: bytes | bytearray, sequence: int, bins_size: int,
                  pages: Sequence[tuple[int, bytes | memoryview]]) -> bytes:
    """An old-format log (file type 1): the base block, ``DIRT`` and a bitmap with one bit per
    512-byte page of the ``bins_size`` bytes of hive bins, then the dirty pages in bitmap order
    from the next 512-byte boundary. ``pages`` (``(offset, data)``, 512-byte aligned multiples
    of 512) must not overlap. The log applies to a primary whose last-written time equals the
    one in ``base_block`` (the rule of ``_replay_old``)."""
    if bins_size % L.BIN_ALIGN:
        raise ValueError("hive bins size must be a multiple of 4096")
    bitmap = bytearray(bins_size // (PAGE * 8))
    chunks: dict[int, bytes] = {}
    for off, data in pages:
        raw = bytes(data)
        if off % PAGE or len(raw) % PAGE or off + len(raw) > bins_size:
            raise ValueError(f"page at 0x{off:x} (0x{len(raw):x} bytes) is not whole 512-byte "
                             "pages inside the hive bins")
        for i in range(0, len(raw), PAGE):
            page = (off + i) // PAGE
            bitmap[page >> 3] |= 1 << (page & 7)
            chunks[page] = raw[i:i + PAGE]
    head = DIRT_SIGNATURE + bytes(bitmap)
    head += bytes(-len(head) % SECTOR)
    return (_log_base_block(base_block, L.FILE_TYPE_LOG_OLD, sequence) + head
            + b"".join(chunks[page] for page in sorted(chunks)))
