"""Export and import stream: a key holding big values is written as it is read, and a .reg file
is parsed line by line from its stream, so memory is bounded by the largest value, not by the
size of the key, the file or the hive (issue 20)."""

from __future__ import annotations

import io

import winmigrate
from winmigrate.regfile import dumps, encode_text, iter_export


def _blob_hive() -> winmigrate.Hive:
    hive = winmigrate.create("SOFTWARE")
    key = hive.root.create_key("Blobs")
    for i in range(40):
        key.set_value(f"b{i:03}", raw=bytes([i]) * 20_000, type=winmigrate.RegType.BINARY)
    key.create_key("Child").set_value("x", 1)
    return hive


def test_a_key_with_big_values_is_handed_on_in_pieces() -> None:
    hive = _blob_hive()
    pieces = list(iter_export(hive.root.subkey("Blobs"), prefix="HKEY_LOCAL_MACHINE\\SOFTWARE"))
    # 40 values of ~80,000 characters of hex each: never one piece holding the whole key.
    assert max(len(p) for p in pieces) < 2 * 80_000 + (1 << 16)
    assert len(pieces) > 20
    text = "".join(pieces)
    assert text.count('"b0') == 40 and "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Blobs\\Child]" in text


def test_pieces_encode_to_the_same_bytes_whatever_the_chunk() -> None:
    hive = _blob_hive()
    whole = dumps(hive)
    for chunk in (1, 1000, 1 << 16, 1 << 20, 1 << 30):
        out = io.BytesIO()
        encode_text(iter_export(hive, prefix="HKEY_LOCAL_MACHINE\\SOFTWARE"), out, chunk=chunk)
        assert out.getvalue() == whole, chunk
