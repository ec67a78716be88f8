"""Key and value names: the rules hold, and the awkward cases are really generated."""

from __future__ import annotations

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import winmigrate
from tests.helpers import assert_written_ok
from winmigrate import testing as ws
from winmigrate.regf.names import collation_key, encode_name, utf16_length

FAST = settings(max_examples=200, deadline=None)
FIND = settings(max_examples=3000, database=None, phases=[Phase.generate],
                derandomize=True)  # no shrinking; the same examples every run


@FAST
@given(ws.key_names())
def test_key_names_obey_the_rules_and_survive_a_hive(name: str) -> None:
    assert 1 <= utf16_length(name) <= 255
    assert "\\" not in name and "\0" not in name
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in name)  # no lone surrogates
    hive = winmigrate.create()
    ws.write_tree(hive.root, {"values": {}, "subkeys": {name: {"values": {}, "subkeys": {}}}})
    again = winmigrate.Hive.from_bytes(hive.to_bytes())
    assert [k.name for k in again.root.subkeys()] == [name]
    assert again.root.subkey(name).name == name


@FAST
@given(st.integers(1, 255).flatmap(lambda n: st.tuples(st.just(n), ws.key_names(max_length=n))))
def test_key_names_respect_max_length(pair: tuple[int, str]) -> None:
    limit, name = pair
    assert 1 <= utf16_length(name) <= limit


@FAST
@given(ws.key_names(exotic=False))
def test_plain_key_names_are_printable_ascii(name: str) -> None:
    assert name.isascii() and name.isprintable()


@FAST
@given(ws.value_names())
def test_value_names_obey_the_rules(name: str) -> None:
    assert utf16_length(name) <= 16383
    assert "\0" not in name
    hive = winmigrate.create()
    hive.root.set_value(name, 1)
    again = winmigrate.Hive.from_bytes(hive.to_bytes())
    assert [v.name for v in again.root.values()] == [name]


@pytest.mark.parametrize(("description", "predicate"), [
    ("non-ASCII Latin-1 (stored compressed)",
     lambda s: not s.isascii() and encode_name(s)[1]),
    ("beyond Latin-1 (stored as UTF-16)", lambda s: not encode_name(s)[1]),
    ("Greek", lambda s: any("\u0391" <= c <= "\u03c9" for c in s)),
    ("Cyrillic", lambda s: any("\u0400" <= c <= "\u045f" for c in s)),
    ("CJK", lambda s: any("\u4e00" <= c <= "\u9fff" for c in s)),
    ("outside the BMP", lambda s: any(ord(c) > 0xFFFF for c in s)),
    ("exactly 255 UTF-16 units", lambda s: utf16_length(s) == 255),
    ("255 units with surrogate pairs", lambda s: utf16_length(s) == 255 and len(s) < 255),
    ("'ß' (no upper case in Windows' table)", lambda s: "ß" in s),
    ("a slash", lambda s: "/" in s),
])
def test_awkward_key_names_are_generated(description: str, predicate) -> None:  # type: ignore[no-untyped-def]
    from hypothesis import find

    found = find(ws.key_names(), predicate, settings=FIND)
    assert predicate(found), description


def test_long_and_default_value_names_are_generated() -> None:
    from hypothesis import find

    assert find(ws.value_names(), lambda s: s == "", settings=FIND) == ""
    long = find(ws.value_names(), lambda s: utf16_length(s) == 16383, settings=FIND)
    assert utf16_length(long) == 16383


@FAST
@given(ws.case_twins())
def test_case_twins_collide_in_one_parent(pair: tuple[str, str]) -> None:
    a, b = pair
    assert a != b and collation_key(a) == collation_key(b)
    hive = winmigrate.create()
    first = hive.root.create_key(a)
    assert hive.root.create_key(b) == first  # found, not created
    assert hive.root.subkey_count == 1
    assert hive.root.subkey(b).name == a
    with pytest.raises(winmigrate.KeyExistsError):
        hive.root.create_key(b, exist_ok=False)
    first.set_value(a, 1)
    first.set_value(b, 2)  # the same value, replaced
    assert [(v.name, v.data) for v in first.values()] == [(a, 2)]


@given(ws.false_twins())
def test_false_twins_are_distinct_keys(pair: tuple[str, str]) -> None:
    a, b = pair
    assert a.casefold() == b.casefold() or a.upper() == b.upper() or a.lower() == b.lower()
    hive = winmigrate.create()
    hive.root.create_key(a)
    hive.root.create_key(b)
    again = winmigrate.Hive.from_bytes(hive.to_bytes())
    assert sorted(k.name for k in again.root.subkeys()) == sorted([a, b])
    assert_written_ok(again)


def test_every_false_twin_is_kept() -> None:
    # The table is filtered at import by collation_key: nothing should be filtered away.
    from winmigrate.testing.names import _FALSE_TWINS

    assert len(_FALSE_TWINS) == 16


@FAST
@given(ws.invalid_key_names())
def test_invalid_key_names_are_rejected(name: str) -> None:
    hive = winmigrate.create()
    key = hive.root.create_key("a")
    with pytest.raises(winmigrate.UsageError):
        key.rename(name)
    with pytest.raises(winmigrate.UsageError):
        winmigrate.create(name)
    assert [k.name for k in hive.root.subkeys()] == ["a"]


@settings(max_examples=5, deadline=None)
@given(ws.invalid_value_names())
def test_invalid_value_names_are_rejected(name: str) -> None:
    hive = winmigrate.create()
    with pytest.raises(winmigrate.UsageError):
        hive.root.set_value(name, 1)


def test_bad_arguments() -> None:
    from hypothesis.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        ws.key_names(max_length=256).example()
    with pytest.raises(InvalidArgument):
        ws.value_names(max_length=16384).example()
