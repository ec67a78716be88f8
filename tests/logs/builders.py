"""Transaction log builders for the tests: both formats, written from the format description
(msuhanov/regf) with an independent, word-at-a-time Marvin32, so that replaying what they build
checks winmigrate's parser against a second implementation rather than against itself."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

SEED = 0x82EF4D887A4E55C5  # bytes 82 EF 4D 88 7A 4E 55 C5: hi = 0x82EF4D88, lo = 0x7A4E55C5
BASE = 4096
M32 = 0xFFFFFFFF


def rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & M32


def marvin32_reference(data: bytes, seed: int = SEED) -> int:
    """The plain textbook Marvin32 (one 32-bit word per step)."""
    lo, hi = seed & M32, seed >> 32
    words = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data) & ~3, 4)]
    tail = data[len(data) & ~3:]
    words.append(int.from_bytes(tail + b"\x80", "little"))
    words.append(0)
    for v in words:
        lo = (lo + v) & M32
        hi ^= lo
        lo = (rotl(lo, 20) + hi) & M32
        hi = rotl(hi, 9) ^ lo
        lo = (rotl(lo, 27) + hi) & M32
        hi = rotl(hi, 19)
    return hi << 32 | lo


def xor_checksum(block: bytes | bytearray) -> int:
    value = 0
    for (word,) in struct.iter_unpack("<I", bytes(block[:508])):
        value ^= word
    return {0: 1, M32: 0xFFFFFFFE}.get(value, value)


def with_checksum(block: bytearray) -> bytearray:
    struct.pack_into("<I", block, 508, xor_checksum(block))
    return block


def set_sequences(image: bytearray, seq1: int, seq2: int) -> None:
    struct.pack_into("<II", image, 4, seq1, seq2)
    with_checksum(image)


def log_base_block(primary: bytes | bytearray, *, file_type: int, sequence: int,
                   timestamp: int | None = None, bins_size: int | None = None,
                   flags: int | None = None) -> bytearray:
    """The first 512 bytes of ``primary``'s base block as a log carries them: the file type of a
    log, both sequence numbers equal, a fresh checksum."""
    bb = bytearray(primary[:512])
    struct.pack_into("<II", bb, 4, sequence, sequence)
    if timestamp is not None:
        struct.pack_into("<Q", bb, 12, timestamp)
    struct.pack_into("<I", bb, 28, file_type)
    if bins_size is not None:
        struct.pack_into("<I", bb, 40, bins_size)
    if flags is not None:
        struct.pack_into("<I", bb, 144, flags)
    return with_checksum(bb)


@dataclass
class Entry:
    """A new-format entry to build: pages are ``(offset in hive bins, data)``."""

    sequence: int
    bins_size: int
    pages: list[tuple[int, bytes]]
    flags: int = 0


def new_entry_bytes(entry: Entry) -> bytearray:
    refs = b"".join(struct.pack("<II", off, len(data)) for off, data in entry.pages)
    body = refs + b"".join(data for _off, data in entry.pages)
    size = -(-(40 + len(body)) // 512) * 512
    body += bytes(size - 40 - len(body))
    hash1 = marvin32_reference(body)
    head = struct.pack("<4sIIIIIQ", b"HvLE", size, entry.flags, entry.sequence, entry.bins_size,
                       len(entry.pages), hash1)
    hash2 = marvin32_reference(head)
    return bytearray(head + struct.pack("<Q", hash2) + body)


def build_new_log(primary: bytes | bytearray, entries: list[Entry], *,
                  sequence: int | None = None, padding: int = 0) -> bytearray:
    """A new-format log (file type 6) holding ``entries`` back to back from offset 512; the base
    block carries the first entry's sequence number (or ``sequence``)."""
    first = sequence if sequence is not None else (entries[0].sequence if entries else 1)
    bins = entries[0].bins_size if entries else None
    out = bytearray(log_base_block(primary, file_type=6, sequence=first, bins_size=bins))
    for entry in entries:
        out += new_entry_bytes(entry)
    out += bytes(padding)
    return out


def build_old_log(primary: bytes | bytearray, *, sequence: int, timestamp: int, bins_size: int,
                  pages: dict[int, bytes], file_type: int = 1) -> bytearray:
    """An old-format log: base block, ``DIRT`` + bitmap (bit i = 512-byte page i, lowest bit
    first), then the dirty pages in bitmap order from the next 512-byte boundary."""
    out = bytearray(log_base_block(primary, file_type=file_type, sequence=sequence,
                                   timestamp=timestamp, bins_size=bins_size))
    bitmap = bytearray(bins_size // 4096)
    for index in pages:
        bitmap[index // 8] |= 1 << (index % 8)
    out += b"DIRT" + bitmap
    out += bytes(-len(out) % 512)
    for index in sorted(pages):
        data = pages[index]
        assert len(data) == 512
        out += data
    return out


def hbin_header(offset: int, size: int, timestamp: int = 0) -> bytes:
    return struct.pack("<4sIIIIQI", b"hbin", offset, size, 0, 0, timestamp, 0)


def empty_bin(offset: int, size: int) -> bytes:
    """A hive bin holding one free cell."""
    return hbin_header(offset, size) + struct.pack("<i", size - 32) + bytes(size - 36)


@dataclass
class Files:
    """A primary and its logs written into a folder."""

    folder: Path
    name: str = "HIVE"
    logs: dict[str, bytes] = field(default_factory=dict)

    @property
    def primary(self) -> Path:
        return self.folder / self.name

    def write(self, primary: bytes | bytearray, logs: dict[str, bytes | bytearray]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.primary.write_bytes(bytes(primary))
        for suffix, data in logs.items():
            (self.folder / f"{self.name}.{suffix}").write_bytes(bytes(data))
        return self.primary
