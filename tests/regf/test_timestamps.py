"""FILETIME formatting without datetime gives what datetime gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from winmigrate.regf.timestamps import MAX_FILETIME, filetime_to_datetime, format_filetime

_EDGES = [0, 1, 9_999_999, 10_000_000, 116444736000000000, 116444735999999999,
          2650467743999999999, 2650467744000000000, MAX_FILETIME]


def _by_datetime(ticks: int) -> str | None:
    moment = filetime_to_datetime(ticks)
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def test_edges() -> None:
    for ticks in _EDGES:
        assert format_filetime(ticks) == _by_datetime(ticks), ticks
    assert format_filetime(0) == "1601-01-01 00:00:00"
    assert format_filetime(MAX_FILETIME) is None


@given(st.integers(min_value=0, max_value=MAX_FILETIME))
def test_any_tick(ticks: int) -> None:
    assert format_filetime(ticks) == _by_datetime(ticks)
