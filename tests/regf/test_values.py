"""Value codecs: decoding never loses bytes, encoding follows regedit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winmigrate.regf import values as V
from winmigrate.regf.regtype import RegType, to_regtype


@pytest.mark.parametrize(("raw", "expected"), [
    ("abc\0".encode("utf-16-le"), "abc"),
    ("abc".encode("utf-16-le"), "abc"),  # missing terminator
    ("abc\0\0\0".encode("utf-16-le"), "abc"),  # extra terminators
    ("abc\0def\0".encode("utf-16-le"), "abc"),  # embedded NUL: what Windows programs see
    ("abc".encode("utf-16-le") + b"x", "abc"),  # odd length: the last byte is not a unit
    (b"", ""),
    (b"\x00\xd8", "\ud800"),  # a lone surrogate survives
])
def test_strings(raw: bytes, expected: str) -> None:
    for t in (V.REG_SZ, V.REG_EXPAND_SZ, V.REG_LINK):
        assert V.decode(t, raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("a\0b\0\0".encode("utf-16-le"), ["a", "b"]),
    ("a\0b\0".encode("utf-16-le"), ["a", "b"]),  # missing final terminator
    ("a\0b".encode("utf-16-le"), ["a", "b"]),
    ("a\0\0b\0\0".encode("utf-16-le"), ["a", "", "b"]),  # empty string inside is kept
    ("\0".encode("utf-16-le"), []),
    (b"", []),
])
def test_multi_strings(raw: bytes, expected: list[str]) -> None:
    assert V.decode(V.REG_MULTI_SZ, raw) == expected


def test_numbers_and_malformed_sizes() -> None:
    assert V.decode(V.REG_DWORD, b"\x01\x00\x00\x00") == 1
    assert V.decode(V.REG_DWORD_BIG_ENDIAN, b"\x00\x00\x00\x01") == 1
    assert V.decode(V.REG_QWORD, (1 << 40).to_bytes(8, "little")) == 1 << 40
    # Not the size the type needs: the bytes themselves, nothing invented.
    assert V.decode(V.REG_DWORD, b"\x01\x02") == b"\x01\x02"
    assert V.decode(V.REG_QWORD, b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04"
    for t in (V.REG_NONE, V.REG_BINARY, V.REG_RESOURCE_LIST, V.REG_FULL_RESOURCE_DESCRIPTOR,
              V.REG_RESOURCE_REQUIREMENTS_LIST, 0x12345, 0xFFFF0012):
        assert V.decode(t, b"\x01\x02\x03") == b"\x01\x02\x03"


def test_encoding_like_regedit() -> None:
    assert V.encode(V.REG_SZ, "ab") == b"a\0b\0\0\0"
    assert V.encode(V.REG_EXPAND_SZ, "%x%") == "%x%\0".encode("utf-16-le")
    assert V.encode(V.REG_MULTI_SZ, ["a", "b"]) == "a\0b\0\0".encode("utf-16-le")
    assert V.encode(V.REG_MULTI_SZ, []) == b"\0\0"
    assert V.encode(V.REG_DWORD, 0x01020304) == b"\x04\x03\x02\x01"
    assert V.encode(V.REG_DWORD_BIG_ENDIAN, 0x01020304) == b"\x01\x02\x03\x04"
    assert V.encode(V.REG_DWORD, -1) == b"\xff\xff\xff\xff"
    assert V.encode(V.REG_QWORD, 1 << 40) == (1 << 40).to_bytes(8, "little")
    assert V.encode(V.REG_BINARY, b"\x00\x01") == b"\x00\x01"
    assert V.encode(V.REG_SZ, b"raw") == b"raw"  # bytes are stored as given for any type


@pytest.mark.parametrize(("t", "data"), [
    (V.REG_DWORD, 1 << 32), (V.REG_DWORD, "1"), (V.REG_SZ, 5), (V.REG_MULTI_SZ, "ab"),
    (V.REG_MULTI_SZ, ["a", ""]), (V.REG_MULTI_SZ, ["a\0b"]), (V.REG_BINARY, "text"),
    (V.REG_QWORD, 1 << 64), (V.REG_DWORD, True),
])
def test_encoding_refuses_what_does_not_fit(t: int, data: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        V.encode(t, data)


def test_type_inference() -> None:
    assert V.infer_type("x") == V.REG_SZ
    assert V.infer_type(1) == V.REG_DWORD
    assert V.infer_type(["a"]) == V.REG_MULTI_SZ
    assert V.infer_type(b"x") == V.REG_BINARY
    with pytest.raises(TypeError):
        V.infer_type(1.5)
    with pytest.raises(TypeError):
        V.infer_type(True)


def test_regtype() -> None:
    assert to_regtype(1) is RegType.SZ
    assert to_regtype(0x200000) == 0x200000 and not isinstance(to_regtype(0x200000), RegType)
    assert RegType.parse("REG_EXPAND_SZ") is RegType.EXPAND_SZ
    assert RegType.parse("multi_sz") is RegType.MULTI_SZ
    assert RegType.parse("0x10") == 16
    assert RegType.EXPAND_SZ.reg_name == "REG_EXPAND_SZ"
    with pytest.raises(ValueError):
        RegType.parse("REG_NOPE")


@given(st.text())
def test_string_round_trip(text: str) -> None:
    if "\0" in text:
        text = text.replace("\0", "")
    assert V.decode(V.REG_SZ, V.encode(V.REG_SZ, text)) == text


@given(st.lists(st.text(min_size=1).filter(lambda s: "\0" not in s)))
def test_multi_string_round_trip(items: list[str]) -> None:
    assert V.decode(V.REG_MULTI_SZ, V.encode(V.REG_MULTI_SZ, items)) == items


@given(st.integers(0, 0xFFFFFFFF))
def test_dword_round_trip(n: int) -> None:
    assert V.decode(V.REG_DWORD, V.encode(V.REG_DWORD, n)) == n


def test_a_link_is_stored_without_terminator() -> None:
    """SZ and EXPAND_SZ carry their NUL as regedit stores them; a REG_LINK target is a counted
    path (the kernel takes the data length as the path length)."""
    assert V.encode(V.REG_SZ, "ab") == "ab\0".encode("utf-16-le")
    assert V.encode(V.REG_EXPAND_SZ, "ab") == "ab\0".encode("utf-16-le")
    target = "\\Registry\\Machine\\System\\ControlSet001"
    assert V.encode(V.REG_LINK, target) == target.encode("utf-16-le")
    assert V.decode(V.REG_LINK, V.encode(V.REG_LINK, target)) == target


@pytest.mark.parametrize(("text", "expected"), [
    ("42", 42), (" 7 ", 7), ("-3", -3), ("+5", 5), ("0x10", None), ("", None), ("-", None),
    ("²", None), ("1²", None), ("٣", None), ("4 2", None), ("12a", None),
])
def test_parse_decimal_takes_ascii_digits_only(text: str, expected: int | None) -> None:
    """str.isdigit() is true for "²", which int() refuses (fuzz campaign b, input 756912: a
    service's Start stored as the REG_SZ "²")."""
    assert V.parse_decimal(text) == expected
