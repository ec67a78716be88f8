"""Marvin32: the .NET test vectors (dotnet/runtime ``MarvinTests.cs``), the hashes Windows stored
in real log entries, and agreement with the textbook one-word-per-step form."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.logs.builders import marvin32_reference
from winmigrate.regf.marvin import LOG_ENTRY_SEED, marvin32, marvin32_parts

SEED1 = 0x004FB61A001BDBCC
SEED2 = 0x804FB61A001BDBCC
SEED3 = 0x804FB61A801BDBCC

# (seed, data, expected 64-bit hash) from the .NET runtime's Marvin tests.
VECTORS = [
    (SEED1, "", 0x30ED35C100CD3C7D),
    (SEED1, "af", 0x48E73FC77D75DDC1),
    (SEED1, "e70f", 0xB5F6E1FC485DBFF8),
    (SEED1, "37f495", 0xF0B07C789B8CF7E8),
    (SEED1, "8642dc59", 0x7008F2E87E9CF556),
    (SEED1, "153fb79826", 0xE6C08C6DA2AFA997),
    (SEED1, "0932e6246c47", 0x6F04BF1A5EA24060),
    (SEED1, "ab427ea8d10fc7", 0xE11847E4F0678C41),
    (SEED2, "", 0x10A9D5D3996FD65D),
    (SEED2, "af", 0x68201F91960EBF91),
    (SEED2, "e70f", 0x64B581631F6AB378),
    (SEED2, "37f495", 0xE1F2DFA6E5131408),
    (SEED2, "8642dc59", 0x36289D9654FB49F6),
    (SEED2, "153fb79826", 0x0A06114B13464DBD),
    (SEED2, "0932e6246c47", 0xD6DD5E40AD1BC2ED),
    (SEED2, "ab427ea8d10fc7", 0xE203987DBA252FB3),
    (SEED3, "00", 0xA37FB0DA2ECAE06C),
    (SEED3, "ff", 0xFECEF370701AE054),
    (SEED3, "00ff", 0xA638E75700048880),
    (SEED3, "ff00", 0xBDFB46D969730E2A),
    (SEED3, "ff00ff", 0x9D8577C0FE0D30BF),
    (SEED3, "00ff00", 0x4F9FBDDE15099497),
    (SEED3, "00ff00ff", 0x24EAA279D9A529CA),
    (SEED3, "ff00ff00", 0xD3BEC7726B057943),
    (SEED3, "ff00ff00ff", 0x920B62BBCA3E0B72),
    (SEED3, "00ff00ff00", 0x1D7DDF9DFDF3C1BF),
    (SEED3, "00ff00ff00ff", 0xEC21276A17E821A5),
    (SEED3, "ff00ff00ff00", 0x6911A53CA8C12254),
    (SEED3, "ff00ff00ff00ff", 0xFDFD187B1D3CE784),
    (SEED3, "00ff00ff00ff00", 0x71876F2EFB1B0EE8),
]


@pytest.mark.parametrize(("seed", "data", "expected"), VECTORS)
def test_dotnet_vectors(seed: int, data: str, expected: int) -> None:
    assert marvin32(bytes.fromhex(data), seed) == expected
    assert marvin32_reference(bytes.fromhex(data), seed) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 2**64 - 1))
def test_matches_reference(data: bytes, seed: int) -> None:
    assert marvin32(data, seed) == marvin32_reference(data, seed)
    assert marvin32(memoryview(bytearray(data)), seed) == marvin32_reference(data, seed)


def test_real_log_entries(yarp: os.PathLike[str]) -> None:
    """Hash-1 and Hash-2 of every entry Windows wrote in NewDirtyHive1's logs."""
    checked = 0
    for name in ("NewDirtyHive.LOG1", "NewDirtyHive.LOG2"):
        data = (yarp / "NewDirtyHive1" / name).read_bytes()  # type: ignore[operator]
        off = 512
        while off + 40 <= len(data) and data[off:off + 4] == b"HvLE":
            size = struct.unpack_from("<I", data, off + 4)[0]
            hash1, hash2 = struct.unpack_from("<QQ", data, off + 24)
            assert marvin32(data[off + 40:off + size], LOG_ENTRY_SEED) == hash1
            assert marvin32(data[off:off + 32], LOG_ENTRY_SEED) == hash2
            checked += 1
            off += size
    assert checked == 4


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=40), max_size=6))
def test_parts_hash_as_their_concatenation(data: bytes, cuts: list[int]) -> None:
    # Cut at multiples of 8 (all parts but the last must be), as a log entry's pieces are.
    points = sorted({min(8 * c, len(data) & ~7) for c in cuts})
    parts = [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]
    assert marvin32_parts([memoryview(p) for p in parts]) == marvin32(data)


def test_parts_refuse_a_cut_inside_a_pair() -> None:
    with pytest.raises(ValueError):
        marvin32_parts([b"abc", b"defgh"])

