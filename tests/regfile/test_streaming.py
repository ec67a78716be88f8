"""Export and import stream: a key holding big values is written as it is read, and a .reg file
is parsed line by line from its stream, so memory is bounded by the largest value, not by the
size of the key, the file or the hive (issue 20)."""

from __future__ import annotations

import importlib
import io
import tracemalloc

import pytest

import winmigrate
from winmigrate.regfile import (
    RegFileError,
    RegReader,
    dumps,
    encode_text,
    import_reg,
    iter_export,
    parse,
)


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


# -- import --------------------------------------------------------------------------------------

_SAMPLE = (
    "Windows Registry Editor Version 5.00\r\n\r\n"
    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Caf\u00e9 \u65e5\u672c]\r\n"
    '"s"="\u00e9t\u00e9 \U0001f600"\r\n"d"=dword:0000002a\r\n'
    '"h"=hex:01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,10,11,12,13,14,15,16,17,18,19,\\\r\n'
    "  1a,1b,1c\r\n"
    "; a comment\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Two]\r@=\"mac line ends\"\r"
    "[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Gone]\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Two]\n\"x\"=-\n"
)


def _encodings() -> dict[str, bytes]:
    return {
        "utf-16-le": b"\xff\xfe" + _SAMPLE.encode("utf-16-le"),
        "utf-16-be": b"\xfe\xff" + _SAMPLE.encode("utf-16-be"),
        "no BOM utf-16": _SAMPLE.encode("utf-16-le"),
        "utf-8 BOM": b"\xef\xbb\xbf" + _SAMPLE.encode(),
        "utf-8": _SAMPLE.encode(),
        # hivexregedit's mix: one line in Latin-1 among UTF-8 ones
        "mixed": _SAMPLE.encode() + '[HKEY_LOCAL_MACHINE\\SOFTWARE\\d\u00e9j\u00e0]\n'.encode(
            "latin-1"),
        "REGEDIT4": _SAMPLE.replace("Windows Registry Editor Version 5.00", "REGEDIT4")
        .replace("\u65e5\u672c", "").replace(" \U0001f600", "").encode("cp1252"),
    }


class _Trickle(io.RawIOBase):
    """A stream handing over at most ``n`` bytes per read, so that chunks end everywhere:
    between a CR and its LF, inside a UTF-16 code unit or surrogate pair, inside a UTF-8
    character."""

    def __init__(self, data: bytes, n: int) -> None:
        self._data, self._n, self._pos = data, n, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        out = self._data[self._pos:self._pos + self._n]
        self._pos += len(out)
        return out


def test_a_stream_read_in_any_chunks_gives_the_ops_of_the_whole_file(
        monkeypatch: pytest.MonkeyPatch) -> None:
    parse_module = importlib.import_module("winmigrate.regfile.parse")  # the name is shadowed
    for name, data in _encodings().items():
        whole = parse(data)
        assert whole.first_key is not None, name
        for n in (1, 2, 3, 5, 7, 64, 1 << 20):
            monkeypatch.setattr(parse_module, "_CHUNK", n)
            got = parse(_Trickle(data, n))  # type: ignore[arg-type]
            assert (got.format, got.encoding, got.ops) == (whole.format, whole.encoding,
                                                         whole.ops), (name, n)


def test_the_reader_reads_as_it_goes() -> None:
    body = "".join(f'[HKEY_LOCAL_MACHINE\\SOFTWARE\\K{i}]\r\n"v"=dword:{i:08x}\r\n'
                   for i in range(100_000))
    data = b"\xff\xfe" + ("Windows Registry Editor Version 5.00\r\n" + body).encode("utf-16-le")
    reader = RegReader(io.BytesIO(data))
    ops = iter(reader)
    for _ in range(10):
        next(ops)
    assert reader.position <= (1 << 20) + 64 < len(data)  # one chunk read, of a 7 MB file
    assert sum(1 for _ in ops) == 200_000 - 10


def test_reading_stays_flat_in_memory() -> None:
    # 5 MB of UTF-16: the reader holds a chunk's text and lines, never the file's.
    lines = "".join(f'"v"=dword:{i & 1:08x}\r\n"s"="{"x" * (i & 7)}"\r\n' for i in range(80_000))
    text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\K]\r\n"
    data = b"\xff\xfe" + (text + lines).encode("utf-16-le")
    del lines
    tracemalloc.start()
    try:
        count = sum(1 for _ in RegReader(io.BytesIO(data)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 160_001
    assert peak < len(data) // 2, (peak, len(data))


def test_a_bad_last_line_leaves_the_hive_as_it_was() -> None:
    hive = winmigrate.create("SOFTWARE")
    hive.root.create_key("Keep").set_value("a", 1)
    before = hive.to_bytes()
    text = ("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\New]\r\n"
            + '"v"=dword:00000001\r\n' * 1000 + '"bad"=dword:xyz\r\n')
    with pytest.raises(RegFileError) as caught:
        import_reg(hive, io.BytesIO(text.encode()))
    assert caught.value.line == 1004
    assert hive.to_bytes()[4096:] == before[4096:]  # the bins; the header's counters move on
    assert [k.name for k in hive.root.subkeys()] == ["Keep"]


def test_counts_without_the_list_of_changes() -> None:
    data = _encodings()["utf-16-le"]
    kept = import_reg(winmigrate.create("SOFTWARE"), data)
    counted = import_reg(winmigrate.create("SOFTWARE"), data, keep_changes=False)
    assert counted.changes == () and len(kept.changes) == sum(kept.counts.values())
    assert (counted.counts, counted.unchanged, counted.absent) == (kept.counts, kept.unchanged,
                                                                    kept.absent)


def test_a_key_the_file_comes_back_to_is_read_again_from_the_hive() -> None:
    # The import forgets what it learnt below the keys it leaves; coming back must still find
    # the keys and values it made there.
    text = "\r\n".join([
        "Windows Registry Editor Version 5.00", "",
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B]", '"v"=dword:00000001', '"w"="x"',
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B\\C]",
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Z]", '"z"=dword:00000002',
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\a\\b]", '"V"=dword:00000001', '"w"="y"', '"gone"=-',
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B\\c]", '"in c"=dword:00000003',
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B\\D]", ""])
    hive = winmigrate.create("SOFTWARE")
    report = import_reg(hive, text.encode())
    assert report.counts == {"key_created": 5, "value_added": 4, "value_changed": 1}
    assert (report.unchanged, report.absent) == (1, 1)
    b = hive.root.subkey("A").subkey("B")
    assert sorted(k.name for k in b.subkeys()) == ["C", "D"]
    assert {v.name: v.data for v in b.values()} == {"v": 1, "w": "y"}
    assert b.subkey("C").get("in c") == 3
