"""The base block (first 4 KiB of a hive or log): parse, checksum, and in-place updates."""

from __future__ import annotations

from ..errors import HiveFormatError
from . import layout as L
from .timestamps import filetime_to_datetime

TYPE_CHECKING = False
if TYPE_CHECKING:
    import uuid
    from datetime import datetime


def checksum(block: bytes | bytearray | memoryview) -> int:
    """XOR of the first 127 dwords, with Windows' fix-ups (0xFFFFFFFF -> 0xFFFFFFFE, 0 -> 1)."""
    value = 0
    for word in L.u32_array(127).unpack_from(block, 0):
        value ^= word
    if value == 0xFFFFFFFF:
        return 0xFFFFFFFE
    if value == 0:
        return 1
    return value


class BaseBlock:
    """Every field of ``_HBASE_BLOCK``, read-only. ``raw`` is the 4096-byte block itself.

    (A plain class rather than a dataclass: it is built on every open, and importing
    ``dataclasses``/``uuid`` would triple the start-up cost of a point lookup.)"""

    __slots__ = ("_f", "computed_checksum", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._f = L.BASE_BLOCK_HEAD.unpack_from(raw)
        self.computed_checksum = checksum(raw)

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError(f"BaseBlock.{name} is read-only")
        object.__setattr__(self, name, value)

    def _u32(self, offset: int) -> int:
        return int(L.U32.unpack_from(self.raw, offset)[0])

    def _guid(self, offset: int) -> uuid.UUID:
        import uuid

        return uuid.UUID(bytes_le=self.raw[offset:offset + 16])

    primary_sequence = property(lambda self: int(self._f[1]),
                                doc="Sequence number set before a write.")
    secondary_sequence = property(lambda self: int(self._f[2]),
                                  doc="Sequence number set after the write completed.")
    last_written_raw = property(lambda self: int(self._f[3]), doc="FILETIME of the last write.")
    major = property(lambda self: int(self._f[4]))
    minor = property(lambda self: int(self._f[5]))
    file_type = property(lambda self: int(self._f[6]),
                         doc="0 primary, 1/2 old-format log, 6 new-format log.")
    file_format = property(lambda self: int(self._f[7]), doc="1 = direct memory load.")
    root_cell = property(lambda self: int(self._f[8]))
    hive_bins_size = property(lambda self: int(self._f[9]))
    clustering_factor = property(lambda self: self._u32(L.CLUSTERING_OFFSET))
    flags = property(lambda self: self._u32(L.FLAGS_OFFSET),
                     doc="Bit 0: KTM locked; bit 1: defragmented (Windows 8+).")
    stored_checksum = property(lambda self: self._u32(L.CHECKSUM_OFFSET))
    boot_type = property(lambda self: self._u32(L.BOOT_TYPE_OFFSET))
    boot_recover = property(lambda self: self._u32(L.BOOT_RECOVER_OFFSET))
    rm_id = property(lambda self: self._guid(L.RM_ID_OFFSET))
    log_id = property(lambda self: self._guid(L.LOG_ID_OFFSET))
    tm_id = property(lambda self: self._guid(L.TM_ID_OFFSET))
    thaw_tm_id = property(lambda self: self._guid(L.THAW_TM_ID_OFFSET))
    thaw_rm_id = property(lambda self: self._guid(L.THAW_RM_ID_OFFSET))
    thaw_log_id = property(lambda self: self._guid(L.THAW_LOG_ID_OFFSET))

    @property
    def guid_signature(self) -> bytes:
        return self.raw[L.GUID_SIGNATURE_OFFSET:L.GUID_SIGNATURE_OFFSET + 4]

    @property
    def last_reorganized_raw(self) -> int:
        return int(L.U64.unpack_from(self.raw, L.LAST_REORGANIZED_OFFSET)[0])

    @property
    def file_name(self) -> str:
        """The name Windows embeds for debugging (e.g. ``\\SystemRoot\\...\\SYSTEM``' tail)."""
        raw = self.raw[L.FILE_NAME_OFFSET:L.FILE_NAME_OFFSET + L.FILE_NAME_SIZE]
        return raw.decode("utf-16-le", "replace").split("\0", 1)[0]

    @property
    def version(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @property
    def checksum_ok(self) -> bool:
        return bool(self.stored_checksum == self.computed_checksum)

    @property
    def sequences_match(self) -> bool:
        return bool(self.primary_sequence == self.secondary_sequence)

    @property
    def dirty(self) -> bool:
        """The last write did not complete (or the block is damaged): logs may hold newer data."""
        return not (self.checksum_ok and self.sequences_match)

    @property
    def last_written(self) -> datetime | None:
        return filetime_to_datetime(self.last_written_raw)

    @property
    def last_reorganized(self) -> datetime | None:
        """Windows 8+ records when the hive was last defragmented (0 = never)."""
        raw = self.last_reorganized_raw
        return filetime_to_datetime(raw) if raw else None

    def to_dict(self) -> dict[str, object]:
        """Every field, JSON-friendly (GUIDs and times as strings)."""
        out: dict[str, object] = {}
        for name in ("primary_sequence", "secondary_sequence", "last_written_raw", "major",
                     "minor", "file_type", "file_format", "root_cell", "hive_bins_size",
                     "clustering_factor", "file_name", "flags", "stored_checksum",
                     "computed_checksum", "last_reorganized_raw", "boot_type", "boot_recover"):
            out[name] = getattr(self, name)
        for name in ("rm_id", "log_id", "tm_id", "thaw_tm_id", "thaw_rm_id", "thaw_log_id"):
            out[name] = str(getattr(self, name))
        out["guid_signature"] = self.guid_signature.hex()
        lw = self.last_written
        out["last_written"] = lw.isoformat() if lw else None
        out["dirty"] = self.dirty
        return out


def parse_base_block(buf: bytes | bytearray | memoryview | object, *,
                     source: str | None = None) -> BaseBlock:
    """Decode the base block at the start of ``buf``. A file shorter than 4096 bytes but holding
    the first 512 is padded with zeros (its fields beyond 512 read as 0)."""
    size = len(buf)  # type: ignore[arg-type]
    if size < 512:
        raise HiveFormatError(f"file is {size} bytes, too short for a base block (4096)", 0,
                              source=source)
    head = bytes(buf[:L.BASE_BLOCK_SIZE])  # type: ignore[index]
    if len(head) < L.BASE_BLOCK_SIZE:
        head = head + bytes(L.BASE_BLOCK_SIZE - len(head))
    if head[:4] != L.REGF_SIGNATURE:
        raise HiveFormatError(f"not a registry hive: signature {head[:4]!r}, expected b'regf'", 0,
                              source=source)
    return BaseBlock(head)


def validate_primary(bb: BaseBlock, file_size: int, *, source: str | None = None) -> list[str]:
    """Check the fields a reader depends on. Raises on what makes the hive unreadable; returns
    softer findings (e.g. an unknown minor version) as text."""
    notes: list[str] = []
    if bb.major != 1:
        raise HiveFormatError(f"unsupported major version {bb.major} (only 1 exists)", 20,
                              source=source)
    if bb.minor not in (2, 3, 4, 5, 6):
        notes.append(f"unusual minor version {bb.minor}")
    if bb.file_type != L.FILE_TYPE_PRIMARY:
        raise HiveFormatError(
            f"file type {bb.file_type} is a transaction log, not a primary hive: open the primary "
            "hive (the file without the .LOG/.LOG1/.LOG2 suffix); its logs are found beside it",
            28, source=source)
    if bb.hive_bins_size % L.BIN_ALIGN or bb.hive_bins_size == 0:
        raise HiveFormatError(
            f"hive bins data size 0x{bb.hive_bins_size:x} is not a positive multiple of 4096",
            40, source=source)
    if bb.root_cell == L.NIL or bb.root_cell >= bb.hive_bins_size or bb.root_cell % L.CELL_ALIGN:
        raise HiveFormatError(f"root cell offset 0x{bb.root_cell:x} is outside the hive bins", 36,
                              source=source)
    if file_size < L.BASE_BLOCK_SIZE:
        raise HiveFormatError(f"file is {file_size} bytes, shorter than the 4096-byte base block",
                              None, source=source)
    return notes


def write_header_fields(block: bytearray, *, sequence: int, last_written_raw: int,
                        hive_bins_size: int) -> None:
    """Stamp a finished write into a base block: both sequence numbers equal, the time, the
    bins size and a fresh checksum. Every other field is left as it was."""
    L.U32.pack_into(block, 4, sequence)
    L.U32.pack_into(block, 8, sequence)
    L.U64.pack_into(block, 12, last_written_raw)
    L.U32.pack_into(block, 40, hive_bins_size)
    L.U32.pack_into(block, L.CHECKSUM_OFFSET, checksum(block))
