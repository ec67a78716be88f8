"""The keys table: every key and value of a hive, data shown the documented way, the same
through JSON Lines and Arrow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import FIXTURES
from winmigrate.survey.keyrows import (
    ArrowKeys,
    JsonKeys,
    decompress_json,
    filetime_iso,
    render_data,
    write_key_rows,
)
from winmigrate.survey.schema import KEYS_COLUMNS


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


@pytest.mark.parametrize(("type_", "raw", "want"), [
    (1, _utf16("C:\\Windows\0"), ("C:\\Windows", "string", False)),
    (2, _utf16("%SystemRoot%"), ("%SystemRoot%", "string", False)),  # no terminator
    (1, _utf16("shown\0hidden\0"), (_utf16("shown\0hidden\0").hex(), "hex", False)),
    (1, b"abc", ("616263", "hex", False)),  # odd length
    (1, b"\x00\xd8\x00\x00", ("00d80000", "hex", False)),  # a lone surrogate
    (7, _utf16("a\0b\0\0"), ("a\nb", "strings", False)),
    (7, _utf16("a\nb\0\0"), (_utf16("a\nb\0\0").hex(), "hex", False)),
    (7, _utf16("\0"), ("", "strings", False)),
    (4, (7).to_bytes(4, "little"), ("7", "integer", False)),
    (4, b"\x01\x02", ("0102", "hex", False)),
    (5, (7).to_bytes(4, "big"), ("7", "integer", False)),
    (11, (2**40).to_bytes(8, "little"), (str(2**40), "integer", False)),
    (3, b"\x00\xff", ("00ff", "hex", False)),
    (0x1234, b"", ("", "hex", False)),
])
def test_render_data(type_: int, raw: bytes, want: tuple[str, str, bool]) -> None:
    assert render_data(type_, raw) == want


def test_render_data_truncates() -> None:
    assert render_data(1, _utf16("x" * 100), 10) == (_utf16("x" * 5).hex(), "hex", True)
    assert render_data(1, _utf16("x" * 100), 0)[1] == "string"


def test_filetime_iso() -> None:
    assert filetime_iso(133486382450000001) == "2024-01-02T03:04:05.0000001Z"
    assert filetime_iso(0) == "1601-01-01T00:00:00.0000000Z"
    assert filetime_iso(2**64 - 1) is None


def _json_rows(path: Path) -> list[dict[str, object]]:
    enc = JsonKeys(str(path), "ab" * 32, block=4096)  # small blocks: several compressed pieces
    assert write_key_rows(str(path), enc) is None
    text = b"".join(decompress_json(enc.payload(), block=1000)).decode("utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == enc.rows
    return rows


@pytest.mark.parametrize("name", ["types_1_5.hiv", "xen_win10_small.hiv", "deep.hiv"])
def test_every_key_and_value(name: str) -> None:
    path = FIXTURES / name
    rows = _json_rows(path)
    assert all(list(r) == [c.name for c in KEYS_COLUMNS] for r in rows)
    want = []
    with winmigrate.open(path) as hive:
        for key in hive.walk():
            want.append(("key", key.path, None, key.timestamp))
            want.extend(("value", key.path, v.name, key.timestamp) for v in key.values())
    assert [(r["entry"], r["key"], r["name"], r["filetime"]) for r in rows] == want
    assert {r["sha256"] for r in rows} == {"ab" * 32} and {r["path"] for r in rows} == {str(path)}


def test_json_and_arrow_hold_the_same_rows() -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.ipc  # noqa: F401

    path = FIXTURES / "types_1_5.hiv"
    rows = _json_rows(path)
    enc = ArrowKeys(str(path), "ab" * 32, batch_rows=7)
    write_key_rows(str(path), enc)
    table = pa.ipc.open_stream(pa.py_buffer(enc.payload())).read_all()
    assert table.num_rows == len(rows) == enc.rows and table.num_columns == len(KEYS_COLUMNS)
    arrow_rows = table.to_pylist()
    for mine, theirs in zip(rows, arrow_rows):
        stamp = theirs.pop("last_written")
        iso = mine.pop("last_written")
        assert mine == theirs
        if iso is not None:
            assert stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:26] == str(iso)[:26]


def test_damaged_hives_give_problem_rows(tmp_path: Path) -> None:
    cut = tmp_path / "cut.hiv"
    cut.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes()[:20000])
    rows = _json_rows(cut)
    assert rows[0]["entry"] == "key"  # what can be read is there
    problems = [r for r in rows if r["entry"] == "problem"]
    assert problems and all(r["message"] for r in problems)
    (tmp_path / "junk").write_bytes(b"nothing")
    enc = JsonKeys(str(tmp_path / "junk"), None)
    assert write_key_rows(str(tmp_path / "junk"), enc)
    [row] = [json.loads(line) for line in b"".join(decompress_json(enc.payload())).splitlines()]
    assert row["entry"] == "problem" and row["key"] is None
    assert str(row["message"]).startswith("cannot read the hive: ")
