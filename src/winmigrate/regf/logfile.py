"""Transaction log files of both formats: parse them, replay them into an image, and build them for
a write (``build_new_log``, ``build_old_log``). No I/O, no policy.

Which logs to use, in which order, and what to do when none applies is decided by
``winmigrate.hive.logs``; this module only knows the layouts (msuhanov/regf, "Format of transaction
log files") and how one log or one entry changes an image.

A log is attacker-controlled input: every size, count and offset read from it is checked against the
file's length and against ``max_bins_size`` before it is used, and a problem raises
``winmigrate.errors.HiveFormatError`` carrying the log's name and the offset of the bad field.

Old format (Windows XP ... 8.0, file type 1, or 2 in Windows 2000)::

    0      base block (the first 512 bytes of the in-memory one; clustering factor 1)
    512    "DIRT", then a bitmap of hive bins size / 512 bits (bit i = 512-byte page i is dirty)
    next 512-byte boundary: the dirty pages, 512 bytes each, in bitmap order, no gaps

New format (Windows 8.1+, file type 6)::

    0      base block (512 bytes)
    512    log entries, each on a 512-byte boundary, a multiple of 512 bytes long:
           "HvLE", size, flags, sequence, hive bins size, page count, Hash-1, Hash-2,
           page count x (offset in hive bins, size), then the pages back to back
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import HiveFormatError
from . import layout as L
from .baseblock import BaseBlock, checksum
from .logwrite import (
    _FLAG_KTM_LOCKED,
    DIRT_SIGNATURE,
    ENTRY_HEADER,
    ENTRY_HEADER_SIZE,
    ENTRY_SIGNATURE,
    FORMAT_NEW,
    FORMAT_OLD,
    LOG_BASE_BLOCK_SIZE,
    PAGE,
    PAGE_REF,
    SECTOR,
    build_new_log,
    build_old_log,
    new_log_parts,
)
from .marvin import marvin32

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap

__all__ = [
    "ENTRY_HEADER",
    "FORMAT_NEW",
    "FORMAT_OLD",
    "LOG_BASE_BLOCK_SIZE",
    "EntryScan",
    "LogEntry",
    "LogHeader",
    "OldLog",
    "OldReplay",
    "apply_entry",
    "apply_old_log",
    "build_new_log",
    "build_old_log",
    "finish_base_block",
    "first_bin_timestamp",
    "new_log_parts",
    "parse_log_header",
    "parse_old_log",
    "scan_entries",
    "serial_less",
]


_HBIN_HEAD = struct.Struct("<4sII")  # signature, offset of the bin, size
_U32 = L.U32
_U64 = L.U64
_BASE = L.BASE_BLOCK_SIZE


def serial_less(a: int, b: int) -> bool:
    """``a`` comes before ``b`` in 32-bit serial order (sequence numbers wrap around; the spec's
    dual-log ordering compares them so that a wrap does not make the newer log look older)."""
    return a != b and ((b - a) & 0xFFFFFFFF) < 0x80000000


@dataclass(frozen=True)
class LogHeader:
    """The base block of a log file that passed the validity rules (signature, checksum, equal
    sequence numbers, a log file type)."""

    base: BaseBlock
    format: str  # FORMAT_OLD or FORMAT_NEW
    sequence: int
    timestamp: int
    bins_size: int
    flags: int


def parse_log_header(data: bytes | bytearray | memoryview, *, source: str) -> LogHeader:
    """Validate a log's base block. "A transaction log file is considered to be valid when it has
    an expected base block ... and its primary sequence number is equal to its secondary sequence
    number" (spec, old format, base block note 2; the new format reuses the rule)."""
    size = len(data)
    if size == 0:
        raise HiveFormatError("the log is empty", None, source=source)
    if size < LOG_BASE_BLOCK_SIZE:
        raise HiveFormatError(
            f"the log is {size} bytes, too short for its 512-byte base block", 0, source=source)
    head = bytes(data[:LOG_BASE_BLOCK_SIZE])
    if head[:4] != L.REGF_SIGNATURE:
        raise HiveFormatError(f"not a transaction log: signature {head[:4]!r}, expected b'regf'",
                              0, source=source)
    bb = BaseBlock(head + bytes(_BASE - LOG_BASE_BLOCK_SIZE))
    if not bb.checksum_ok:
        raise HiveFormatError(
            f"base block checksum mismatch (stored 0x{bb.stored_checksum:08x}, computed "
            f"0x{bb.computed_checksum:08x})", L.CHECKSUM_OFFSET, source=source)
    if bb.primary_sequence != bb.secondary_sequence:
        raise HiveFormatError(
            f"the log's own sequence numbers differ ({bb.primary_sequence} != "
            f"{bb.secondary_sequence}): it was being written when the system stopped", 4,
            source=source)
    if bb.file_type == L.FILE_TYPE_LOG_NEW:
        fmt = FORMAT_NEW
    elif bb.file_type in (L.FILE_TYPE_LOG_OLD, L.FILE_TYPE_LOG_OLD_ALT):
        fmt = FORMAT_OLD
    else:
        raise HiveFormatError(f"file type {bb.file_type} is not a transaction log (1, 2 or 6)", 28,
                              source=source)
    return LogHeader(bb, fmt, bb.primary_sequence, bb.last_written_raw, bb.hive_bins_size,
                     bb.flags)


# -- old format ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OldLog:
    """A parsed old-format log: its header and its dirty pages as runs of contiguous pages,
    ``(offset in hive bins, offset in the log, length)``, in bitmap order."""

    header: LogHeader
    runs: tuple[tuple[int, int, int], ...]
    page_count: int
    pages_offset: int  # where the first dirty page starts in the log


def parse_old_log(data: bytes | bytearray | memoryview, header: LogHeader, *, source: str,
                  max_bins_size: int) -> OldLog:
    """Read the dirty vector of an old-format log and map its dirty pages."""
    bins_size = header.bins_size
    if bins_size == 0 or bins_size % L.BIN_ALIGN:
        raise HiveFormatError(
            f"hive bins data size 0x{bins_size:x} is not a positive multiple of 4096", 40,
            source=source)
    if bins_size > max_bins_size:
        raise HiveFormatError(
            f"hive bins data size 0x{bins_size:x} is more than the primary and its logs can "
            f"hold (limit 0x{max_bins_size:x})", 40, source=source)
    size = len(data)
    sig = bytes(data[SECTOR:SECTOR + 4])
    if sig != DIRT_SIGNATURE:
        raise HiveFormatError(f"dirty vector signature {sig!r}, expected b'DIRT'", SECTOR,
                              source=source)
    # Bitmap length in bits = hive bins data size / 512, so in bytes = size / 4096.
    bitmap_len = bins_size // (PAGE * 8)
    bitmap_start = SECTOR + 4
    if bitmap_start + bitmap_len > size:
        raise HiveFormatError(
            f"the dirty vector's bitmap needs {bitmap_len} bytes but the log ends at "
            f"0x{size:x}", bitmap_start, source=source)
    bitmap = bytes(data[bitmap_start:bitmap_start + bitmap_len])
    # "Dirty pages are stored starting from the beginning of the sector following the last sector
    # of a dirty vector".
    pages_offset = -(-(bitmap_start + bitmap_len) // SECTOR) * SECTOR
    runs: list[tuple[int, int, int]] = []
    count = 0
    run_start = -1
    run_log = 0
    # Bits are tested like the x86 bt instruction: byte i holds pages 8i..8i+7, lowest bit first.
    # Windows dirties whole 4 KiB blocks, so bytes are nearly always 0x00 or 0xFF: handle those
    # without looking at single bits.
    for index, byte in enumerate(bitmap):
        if byte == 0xFF:
            if run_start < 0:
                run_start = index * 8
                run_log = pages_offset + count * PAGE
            count += 8
            continue
        if byte == 0:
            if run_start >= 0:
                runs.append((run_start * PAGE, run_log, (index * 8 - run_start) * PAGE))
                run_start = -1
            continue
        for bit in range(8):
            if byte >> bit & 1:
                if run_start < 0:
                    run_start = index * 8 + bit
                    run_log = pages_offset + count * PAGE
                count += 1
            elif run_start >= 0:
                page = index * 8 + bit
                runs.append((run_start * PAGE, run_log, (page - run_start) * PAGE))
                run_start = -1
    if run_start >= 0:
        runs.append((run_start * PAGE, run_log, (bitmap_len * 8 - run_start) * PAGE))
    end = pages_offset + count * PAGE
    if end > size:
        raise HiveFormatError(
            f"the bitmap marks {count} dirty pages (up to 0x{end:x}) but the log ends at "
            f"0x{size:x}: it is truncated", pages_offset, source=source)
    return OldLog(header, tuple(runs), count, pages_offset)


@dataclass(frozen=True)
class OldReplay:
    """What applying an old-format log did: pages written, pages held back, and where and why
    recovery stopped (``stop_offset`` is relative to the hive bins data; ``None``: not stopped)."""

    pages_applied: int
    pages_rejected: int
    stop_offset: int | None
    stop_reason: str | None


def apply_old_log(image: bytearray, original: bytes | bytearray | memoryview | mmap.mmap,
                  log: OldLog, data: bytes | bytearray | memoryview) -> OldReplay:
    """Write the log's dirty pages into ``image`` (grown to 4096 + the log's hive bins size), then
    check every hive bin that received dirty data; at the first bad one, recovery stops: that bin
    and everything after it are put back as they were in ``original``.

    Spec, "Dirty pages": "contiguous dirty pages belonging to the same hive bin ... are processed
    together, and a dirty hive bin is verified for correctness (its Signature must be correct, its
    Size must not be less than 4096 bytes, its Offset must match ...); recovery stops if a dirty
    hive bin is invalid, an invalid dirty hive bin is ignored."
    """
    bins_size = log.header.bins_size
    _grow(image, _BASE + bins_size)
    src = memoryview(data)
    for bins_off, log_off, length in log.runs:
        image[_BASE + bins_off:_BASE + bins_off + length] = src[log_off:log_off + length]
    cut, reason = _first_bad_dirty_bin(image, log.runs, bins_size)
    if cut is None:
        return OldReplay(log.page_count, 0, None, None)
    # Slices, not a memoryview: ``original`` may be the file's mmap, which the caller closes later.
    rejected = 0
    for bins_off, _log_off, length in log.runs:
        start = max(bins_off, cut)
        end = bins_off + length
        if start >= end:
            continue
        rejected += (end - start) // PAGE
        lo, hi = _BASE + start, _BASE + end
        keep = bytes(original[lo:min(hi, len(original))]) if lo < len(original) else b""
        image[lo:hi] = keep + bytes(hi - lo - len(keep))
    return OldReplay(log.page_count - rejected, rejected, cut, reason)


def _first_bad_dirty_bin(image: bytearray, runs: tuple[tuple[int, int, int], ...],
                         bins_size: int) -> tuple[int | None, str | None]:
    """Walk the bins of the patched image; return the offset of the first bin that holds dirty
    data and fails the checks (or past which no dirty page can be checked), with the reason."""
    pos = 0
    ri = 0
    nruns = len(runs)
    while pos < bins_size:
        while ri < nruns and runs[ri][0] + runs[ri][2] <= pos:
            ri += 1
        if ri == nruns:
            return None, None  # no dirty page at or after this bin: nothing left to verify
        sig, off, size = _HBIN_HEAD.unpack_from(image, _BASE + pos)
        problem = None
        if sig != L.HBIN_SIGNATURE:
            problem = f"signature {sig!r}"
        elif off != pos:
            problem = f"its offset field says 0x{off:x}"
        elif size < L.BIN_ALIGN or size % L.BIN_ALIGN:
            problem = f"size 0x{size:x} is not a positive multiple of 4096"
        elif pos + size > bins_size:
            problem = f"size 0x{size:x} runs past the hive bins data (0x{bins_size:x})"
        if problem is not None:
            # Either this bin holds dirty data, or its header is broken in the primary and the
            # dirty pages after it cannot be placed in a bin: recovery stops here either way.
            return pos, f"hive bin at 0x{pos:x} is invalid after replay: {problem}"
        pos += size
    return None, None


# -- new format ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    """One valid ``HvLE`` entry: where it is in its log and the pages it writes, as
    ``(offset in hive bins, length, offset of the data in the log)``."""

    offset: int
    size: int
    flags: int
    sequence: int
    bins_size: int
    pages: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class EntryScan:
    """The consecutive valid entries at the start of a new-format log, and why the run ended.

    ``stop_kind`` is ``"end"`` (the file or the entries end: zeros, remnant data), ``"stale"``
    (an older, already applied entry follows: normal in a log reused from its start) or
    ``"invalid"`` (an entry with the expected sequence number is broken: bad hash, size, ...).
    """

    entries: tuple[LogEntry, ...]
    stop_offset: int
    stop_kind: str
    stop_reason: str


def scan_entries(data: bytes | bytearray | memoryview, first_sequence: int, *,
                 max_bins_size: int, verify: bool = True) -> EntryScan:
    """The run of entries from offset 512 whose sequence numbers go ``first_sequence``,
    ``first_sequence + 1``, ...; each checked as the spec says ("Log entries", notes 1-3, 7, 8):
    signature, size, hive bins size (a multiple of 4096), the page references inside the entry and
    inside the declared hive bins, and (``verify``) Hash-2 over the first 32 bytes and Hash-1 over
    everything from offset 40. ``verify=False`` skips only the hashes (a cheap header scan)."""
    mv = memoryview(data)
    total = len(mv)
    entries: list[LogEntry] = []
    off = LOG_BASE_BLOCK_SIZE
    expected = first_sequence & 0xFFFFFFFF
    while True:
        if off >= total:
            return EntryScan(tuple(entries), off, "end", "end of the log")
        if off + ENTRY_HEADER_SIZE > total:
            return EntryScan(tuple(entries), off, "end",
                             f"{total - off} trailing bytes, too few for an entry header")
        sig, size, flags, seq, bins, count, hash1, hash2 = ENTRY_HEADER.unpack_from(mv, off)
        if sig != ENTRY_SIGNATURE:
            what = "zero padding" if not any(mv[off:off + 40]) else f"signature {sig!r}"
            return EntryScan(tuple(entries), off, "end", f"no further entry ({what})")
        if seq != expected:
            if serial_less(seq, expected):
                return EntryScan(tuple(entries), off, "stale",
                                 f"older entry (sequence {seq}, expected {expected}): "
                                 "already applied, left over from a previous use of the log")
            return EntryScan(tuple(entries), off, "invalid",
                             f"gap in sequence: entry {seq} where {expected} was expected")
        problem = _entry_problem(mv, off, total, size, bins, count, max_bins_size)
        if problem is None and verify:
            stored2 = hash2
            computed2 = marvin32(mv[off:off + 32])
            if computed2 != stored2:
                problem = (f"Hash-2 mismatch (stored 0x{stored2:016x}, computed "
                           f"0x{computed2:016x})")
            else:
                computed1 = marvin32(mv[off + ENTRY_HEADER_SIZE:off + size])
                if computed1 != hash1:
                    problem = (f"Hash-1 mismatch (stored 0x{hash1:016x}, computed "
                               f"0x{computed1:016x})")
        pages: list[tuple[int, int, int]] = []
        if problem is None:
            pos = off + ENTRY_HEADER_SIZE + 8 * count
            end = off + size
            for i, (page_off, page_size) in enumerate(PAGE_REF.iter_unpack(
                    mv[off + ENTRY_HEADER_SIZE:off + ENTRY_HEADER_SIZE + 8 * count])):
                if page_size == 0 or page_off + page_size > bins:
                    problem = (f"page reference {i} (offset 0x{page_off:x}, size 0x{page_size:x}) "
                               f"is outside the entry's hive bins data (0x{bins:x} bytes)")
                    break
                if pos + page_size > end:
                    problem = (f"page {i} (0x{page_size:x} bytes at 0x{pos:x}) runs past the end "
                               f"of the entry (0x{end:x})")
                    break
                pages.append((page_off, page_size, pos))
                pos += page_size
        if problem is not None:
            return EntryScan(tuple(entries), off, "invalid", f"entry {seq}: {problem}")
        entries.append(LogEntry(off, size, flags, seq, bins, tuple(pages)))
        off += size
        expected = (expected + 1) & 0xFFFFFFFF


def _entry_problem(mv: memoryview, off: int, total: int, size: int, bins: int, count: int,
                   max_bins_size: int) -> str | None:
    if size < SECTOR or size % SECTOR:
        return f"size 0x{size:x} is not a positive multiple of 512"
    if off + size > total:
        return f"size 0x{size:x} runs past the end of the log (0x{total:x})"
    if bins == 0 or bins % L.BIN_ALIGN:
        return f"hive bins data size 0x{bins:x} is not a positive multiple of 4096"
    if bins > max_bins_size:
        return (f"hive bins data size 0x{bins:x} is more than the primary and its logs can hold "
                f"(limit 0x{max_bins_size:x})")
    if count == 0:
        return "no dirty pages"
    if ENTRY_HEADER_SIZE + 8 * count > size:
        return f"{count} page references do not fit in an entry of 0x{size:x} bytes"
    return None


def _grow(image: bytearray, size: int) -> None:
    """Zero-extend ``image`` to ``size`` bytes, a megabyte at a time (no temporary as large as the
    growth itself)."""
    chunk = 1 << 20
    while len(image) < size:
        image.extend(bytes(min(chunk, size - len(image))))


def apply_entry(image: bytearray, entry: LogEntry, data: bytes | bytearray | memoryview) -> None:
    """Write one entry's pages into ``image``, first growing it to the entry's hive bins size
    ("A primary file is grown according to the Hive bins data size field of a log entry being
    applied", note 9). Bounds were checked by ``scan_entries``."""
    _grow(image, _BASE + entry.bins_size)
    src = memoryview(data)
    for page_off, length, log_off in entry.pages:
        image[_BASE + page_off:_BASE + page_off + length] = src[log_off:log_off + length]


def finish_base_block(image: bytearray, *, sequence: int, bins_size: int,
                      ktm_locked: bool | None = None) -> None:
    """Make the image's base block that of a completed write: both sequence numbers set to the last
    one applied, the hive bins size, file type 0 (primary), bit 0 of the flags from the last entry
    (note 11) when given, and the checksum recomputed. Every other field is kept."""
    _U32.pack_into(image, 4, sequence & 0xFFFFFFFF)
    _U32.pack_into(image, 8, sequence & 0xFFFFFFFF)
    _U32.pack_into(image, 28, L.FILE_TYPE_PRIMARY)
    _U32.pack_into(image, 40, bins_size)
    if ktm_locked is not None:
        flags = _U32.unpack_from(image, L.FLAGS_OFFSET)[0]
        flags = (flags | _FLAG_KTM_LOCKED) if ktm_locked else (flags & ~_FLAG_KTM_LOCKED)
        _U32.pack_into(image, L.FLAGS_OFFSET, flags)
    _U32.pack_into(image, L.CHECKSUM_OFFSET, checksum(image))


def first_bin_timestamp(buf: bytes | bytearray | memoryview) -> int | None:
    """The FILETIME in the first hive bin's header, the backup copy of the base block's last
    written time (used when the primary's base block is invalid), or ``None``."""
    if len(buf) < _BASE + 28 or bytes(buf[_BASE:_BASE + 4]) != L.HBIN_SIGNATURE:
        return None
    return int(_U64.unpack_from(buf, _BASE + 20)[0])


# -- building (a write journalled the way Windows journals its own) ----------------------------
