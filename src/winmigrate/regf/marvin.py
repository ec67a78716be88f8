"""Marvin32, the keyed hash Windows puts in every new-format transaction log entry. No I/O.

Marvin32 (Microsoft's string hash, published with .NET) keeps two 32-bit lanes ``lo``/``hi`` seeded
from a 64-bit key, mixes every little-endian 32-bit word of the input into them, then a padding word
(``0x80`` after the 0-3 trailing bytes) and a zero word; the result is ``hi << 32 | lo``.

Windows 8.1+ hashes log entries with the seed bytes ``82 EF 4D 88 7A 4E 55 C5`` (msuhanov/regf,
"Log entries", notes 1-3): Hash-1 covers an entry from its first page reference to its end, Hash-2
the entry's first 32 bytes. The first four seed bytes form ``hi`` and the last four ``lo`` (read as
big-endian numbers), which is how the entries in real logs verify.

This is the hot spot of log replay in pure Python, so ``marvin32`` is written for CPython's
interpreter: two words per loop step from ``struct.iter_unpack`` over a memoryview (no slicing, no
per-byte calls), every name a local, and each rotation done as ``x * (2**32 + 1) >> (32 - n)``
(the product holds ``x`` twice side by side, so one multiply and one shift rotate it; the stray high
bits vanish in the ``& 0xFFFFFFFF`` that the following addition or xor needs anyway).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

__all__ = ["LOG_ENTRY_SEED", "marvin32", "marvin32_parts"]

#: The seed of log entry hashes, ``82 EF 4D 88 7A 4E 55 C5``: hi = 0x82EF4D88, lo = 0x7A4E55C5.
LOG_ENTRY_SEED = 0x82EF4D887A4E55C5

_PAIRS = struct.Struct("<II")
_WORD = struct.Struct("<I")


def marvin32(data: bytes | bytearray | memoryview, seed: int = LOG_ENTRY_SEED) -> int:
    """The 64-bit Marvin32 hash of ``data`` (``hi << 32 | lo``) under the 64-bit ``seed``
    (``seed >> 32`` seeds ``hi``, the low 32 bits seed ``lo``)."""
    return marvin32_parts((data,), seed)


def marvin32_parts(parts: Sequence[bytes | bytearray | memoryview],
                   seed: int = LOG_ENTRY_SEED) -> int:
    """``marvin32`` of the concatenation of ``parts``, without making it: every part but the
    last must be a multiple of 8 bytes long (a log entry's header, page references and pages)."""
    lo = seed & 0xFFFFFFFF
    hi = (seed >> 32) & 0xFFFFFFFF
    mv = memoryview(b"")
    for index, part in enumerate(parts):
        mv = memoryview(part).cast("B")
        n = len(mv)
        body = n & ~7
        if body != n and index != len(parts) - 1:
            raise ValueError("only the last part may have a length that is not a multiple of 8")
        # Each step below is one Marvin "block" (add, xor, rotl 20, rotl 9, rotl 27, rotl 19) on
        # a word; ``lo`` after the rotl-27 addition is left unmasked because the next addition
        # masks it.
        for a, b in _PAIRS.iter_unpack(mv[:body]):
            hi ^= (lo := (lo + a) & 0xFFFFFFFF)
            lo = ((lo * 0x100000001 >> 12) + hi) & 0xFFFFFFFF
            hi = ((hi * 0x100000001 >> 23) ^ lo) & 0xFFFFFFFF
            lo = (lo * 0x100000001 >> 5) + hi
            hi = (hi * 0x100000001 >> 13) & 0xFFFFFFFF
            hi ^= (lo := (lo + b) & 0xFFFFFFFF)
            lo = ((lo * 0x100000001 >> 12) + hi) & 0xFFFFFFFF
            hi = ((hi * 0x100000001 >> 23) ^ lo) & 0xFFFFFFFF
            lo = (lo * 0x100000001 >> 5) + hi
            hi = (hi * 0x100000001 >> 13) & 0xFFFFFFFF
        lo &= 0xFFFFFFFF
    n = len(mv)
    words = [int(w) for (w,) in _WORD.iter_unpack(mv[n & ~7:n & ~3])]
    # The final word: 0x80 followed (towards the low end) by the 0-3 trailing bytes, last byte
    # highest, i.e. the trailing bytes read little-endian with a 0x80 byte appended.
    tail = bytes(mv[n & ~3:])
    words.append(int.from_bytes(tail + b"\x80", "little"))
    words.append(0)
    for v in words:
        lo, hi = _block(lo, hi, v)
    return hi << 32 | lo


def _block(lo: int, hi: int, v: int) -> tuple[int, int]:
    """One Marvin block on a single word (the readable form of the unrolled loop above)."""
    m = 0xFFFFFFFF
    lo = (lo + v) & m
    hi ^= lo
    lo = (((lo << 20) | (lo >> 12)) + hi) & m
    hi = (((hi << 9) | (hi >> 23)) & m) ^ lo
    lo = (((lo << 27) | (lo >> 5)) + hi) & m
    hi = ((hi << 19) | (hi >> 13)) & m
    return lo, hi
