"""The base block: every field, the checksum and its fix-ups, the dirty flag."""

from __future__ import annotations

import struct

import pytest

import winmigrate
from winmigrate.regf import layout as L
from winmigrate.regf.baseblock import BaseBlock, checksum, parse_base_block


def _block_with_xor(target: int) -> bytes:
    """A base block whose 127-dword XOR is ``target`` before the fix-ups."""
    block = bytearray(4096)
    block[0:4] = b"regf"
    words = struct.unpack_from("<127I", block)
    current = 0
    for w in words:
        current ^= w
    struct.pack_into("<I", block, 500, current ^ target)
    return bytes(block)


def test_checksum_fixups() -> None:
    assert checksum(_block_with_xor(0xFFFFFFFF)) == 0xFFFFFFFE
    assert checksum(_block_with_xor(0)) == 1
    assert checksum(_block_with_xor(0x12345678)) == 0x12345678


def test_fields_of_a_new_hive() -> None:
    hive = winmigrate.create("TESTROOT", version=(1, 3))
    bb = hive.base_block
    assert bb.raw[:4] == b"regf"
    assert (bb.major, bb.minor) == (1, 3) and hive.version == (1, 3)
    assert bb.file_type == 0 and bb.file_format == 1
    assert bb.primary_sequence == bb.secondary_sequence == 1
    assert bb.checksum_ok and not bb.dirty and not hive.dirty
    assert bb.hive_bins_size == 4096 and bb.root_cell == 0x20
    assert bb.clustering_factor == 1
    assert bb.file_name == "TESTROOT"
    assert bb.last_written is not None and bb.last_written.tzinfo is not None
    assert bb.last_reorganized is None
    assert str(bb.rm_id) == "00000000-0000-0000-0000-000000000000"
    d = bb.to_dict()
    assert d["dirty"] is False and d["minor"] == 3
    with pytest.raises(AttributeError):
        bb.raw = b""  # type: ignore[misc]


@pytest.mark.parametrize("field", [4, 8, 100])
def test_dirty_when_sequences_differ_or_checksum_is_wrong(field: int) -> None:
    data = bytearray(winmigrate.create().to_bytes())
    struct.pack_into("<I", data, field, struct.unpack_from("<I", data, field)[0] + 1)
    bb = parse_base_block(bytes(data))
    assert bb.dirty
    hive = winmigrate.Hive.from_bytes(bytes(data))
    assert hive.dirty
    assert hive.root.name == "ROOT"  # still readable


def test_not_a_hive() -> None:
    with pytest.raises(winmigrate.HiveFormatError) as e:
        parse_base_block(b"MZ" + bytes(4094))
    assert e.value.offset == 0
    with pytest.raises(winmigrate.HiveFormatError):
        parse_base_block(b"regf")


def test_guids_and_flags_are_read() -> None:
    data = bytearray(winmigrate.create().to_bytes())
    data[L.RM_ID_OFFSET:L.RM_ID_OFFSET + 16] = bytes(range(16))
    struct.pack_into("<I", data, L.FLAGS_OFFSET, 1)
    bb = BaseBlock(bytes(data[:4096]))
    assert bb.rm_id.bytes_le == bytes(range(16))
    assert bb.flags == 1


def _two_bin_hive_with_bins_size(size: int, *, fix_checksum: bool) -> bytes:
    """A hive whose second bin holds a key, with the base block's hive bins size set to ``size``
    (and its checksum recomputed or left wrong)."""
    hive = winmigrate.create()
    hive.root.create_key("Near")
    hive.root.create_key("Far").set_value("big", raw=bytes(6000))  # forces a second bin
    data = bytearray(hive.to_bytes())
    assert struct.unpack_from("<I", data, 40)[0] > 4096
    struct.pack_into("<I", data, 40, size)
    if fix_checksum:
        struct.pack_into("<I", data, L.CHECKSUM_OFFSET, checksum(data[:512]))
    return bytes(data)


def test_an_invalid_base_block_does_not_hide_the_bins_after_its_size() -> None:
    """A wrong checksum means the base block was not written completely: its hive bins size is
    not believed when the hbin chain in the file goes further (yarp's effective size)."""
    data = _two_bin_hive_with_bins_size(4096, fix_checksum=False)
    hive = winmigrate.Hive.from_bytes(data)
    assert hive.dirty and hive._img.bins_size == len(data) - 4096
    assert hive.key("Far").value("big").raw == bytes(6000)
    assert any("stops short of the hbin chain" in p.message for p in hive.problems)


def test_a_valid_base_block_is_believed() -> None:
    data = _two_bin_hive_with_bins_size(4096, fix_checksum=True)
    hive = winmigrate.Hive.from_bytes(data)
    assert not hive.dirty and hive._img.bins_size == 4096 and hive.problems == []
    with pytest.raises(winmigrate.HiveFormatError):
        _ = hive.key("Far").value("big").raw  # its data lies past the hive bins: slack
