"""Values: valid data round-trips through the codecs and a hive; raw data covers the sizes where
the storage changes and type numbers Windows does not define."""

from __future__ import annotations

import struct

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import winmigrate
from tests.helpers import assert_written_ok
from winmigrate import RegType
from winmigrate import testing as ws
from winmigrate.regf.values import decode, encode

FAST = settings(max_examples=150, deadline=None)
FIND = settings(max_examples=3000, database=None, phases=[Phase.generate],
                derandomize=True)  # no shrinking; the same examples every run


@FAST
@given(ws.values())
def test_valid_values_round_trip_through_the_codecs(pair: tuple[RegType | int, object]) -> None:
    t, data = pair
    assert isinstance(t, RegType)
    assert decode(int(t), encode(int(t), data)) == data


@pytest.mark.parametrize("t", list(RegType))
def test_every_type_has_valid_data_of_its_own_shape(t: RegType) -> None:
    @settings(max_examples=30, deadline=None)
    @given(ws.values(t))
    def check(pair: tuple[RegType | int, object]) -> None:
        got, data = pair
        assert got is t
        if t in (RegType.SZ, RegType.EXPAND_SZ, RegType.LINK):
            assert isinstance(data, str) and "\0" not in data
        elif t == RegType.MULTI_SZ:
            assert isinstance(data, list) and all(isinstance(s, str) and s for s in data)
        elif t in (RegType.DWORD, RegType.DWORD_BIG_ENDIAN):
            assert isinstance(data, int) and 0 <= data < 2**32
        elif t == RegType.QWORD:
            assert isinstance(data, int) and 0 <= data < 2**64
        else:
            assert isinstance(data, bytes)
        hive = winmigrate.create()
        hive.root.set_value("v", data, t)
        value = winmigrate.Hive.from_bytes(hive.to_bytes()).root.value("v")
        assert value.type is t and value.data == data

    check()


def _cm_resource_list_ok(raw: bytes) -> bool:
    """Walk a CM_RESOURCE_LIST as laid out on x64: every length adds up."""
    (count,), pos = struct.unpack_from("<I", raw), 4
    for _ in range(count):
        pos += 8  # interface type, bus number
        _version, _revision, n = struct.unpack_from("<HHI", raw, pos)
        pos += 8 + 20 * n
    return pos == len(raw)


@settings(max_examples=50, deadline=None)
@given(ws.values(RegType.RESOURCE_LIST))
def test_resource_lists_are_well_formed(pair: tuple[RegType | int, object]) -> None:
    assert isinstance(pair[1], bytes) and _cm_resource_list_ok(pair[1])


@settings(max_examples=50, deadline=None)
@given(ws.values(RegType.RESOURCE_REQUIREMENTS_LIST))
def test_requirements_lists_declare_their_size(pair: tuple[RegType | int, object]) -> None:
    raw = pair[1]
    assert isinstance(raw, bytes) and struct.unpack_from("<I", raw)[0] == len(raw)
    count = struct.unpack_from("<I", raw, 36)[0]
    assert len(raw) == 40 + 32 * count


@FAST
@given(ws.values(raw=True, max_size=1 << 20))
def test_raw_values_are_stored_byte_for_byte(pair: tuple[RegType | int, object]) -> None:
    t, data = pair
    assert isinstance(data, bytes) and 0 <= int(t) <= 0xFFFFFFFF
    for version in ((1, 3), (1, 5)):
        hive = winmigrate.create(version=version)
        hive.root.set_value("v", raw=data, type=t)
        again = winmigrate.Hive.from_bytes(hive.to_bytes())
        value = again.root.value("v")
        assert (value.type_number, value.raw) == (int(t), data)
        assert value.is_resident == (len(data) <= 4)
        assert_written_ok(again)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 16344, 16345, 40000])
def test_raw_values_reach_every_boundary_size(size: int) -> None:
    _t, data = find(ws.values(raw=True), lambda p: len(p[1]) == size, settings=FIND)
    assert len(data) == size


def test_raw_values_draw_unknown_type_numbers() -> None:
    t, _data = find(ws.values(raw=True), lambda p: not isinstance(p[0], RegType),
                    settings=FIND)
    assert isinstance(t, int) and int(t) not in set(RegType)


def test_long_strings_cross_the_big_data_threshold() -> None:
    # 8171 characters + terminator = 16344 bytes (one cell); 8172 -> big data.
    for n in (8171, 8172):
        _t, text = find(ws.values(RegType.SZ), lambda p, n=n: len(p[1]) == n, settings=FIND)
        assert len(encode(1, text)) == 2 * (n + 1)


@FAST
@given(st.integers(0, 64).flatmap(lambda n: st.tuples(st.just(n), ws.values(max_size=n))))
def test_max_size_bounds_the_encoding(pair: tuple[int, tuple[RegType | int, object]]) -> None:
    limit, (t, data) = pair
    assert len(encode(int(t), data)) <= limit


def test_a_type_that_cannot_fit_is_refused() -> None:
    from hypothesis.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        ws.values(RegType.QWORD, max_size=7)


def test_long_data_has_a_readable_repr() -> None:
    _t, data = find(ws.values(raw=True), lambda p: len(p[1]) == 16345, settings=FIND)
    assert len(repr(data)) < 40 and eval(repr(data)) == data  # e.g. b'\x00' * 16345
    _t, text = find(ws.values(RegType.SZ), lambda p: len(p[1]) == 8172, settings=FIND)
    assert len(repr(text)) < 40 and eval(repr(text)) == text


def test_value_types() -> None:
    assert find(ws.value_types(), lambda t: True, settings=FIND) is RegType.SZ
    assert set(ws.UNKNOWN_TYPES).isdisjoint(set(RegType))
