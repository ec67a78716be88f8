"""Random key/value trees survive export -> import exactly (5.00 format), and the text is
stable; and diff(A, B) rendered as .reg turns A into B."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import winmigrate
from tests.helpers import diff_dumps, dump_hive
from winmigrate.cli.diff import reg_pieces
from winmigrate.hive.diff import diff
from winmigrate.regf.names import collation_key
from winmigrate.regfile import apply, dumps, encode_text, parse

PREFIX = "HKEY_LOCAL_MACHINE\\PROP"

# Names with what .reg files find hard: quotes, backslashes (values only), brackets, '/',
# spaces, semicolons, '=', '@', line breaks (values only), non-ASCII and astral characters.
_NAME_CHARS = st.sampled_from(list('ab"[]/ ;=@-é€ключ😀\t') + ["\\"])
KEY_NAMES = st.text(_NAME_CHARS.filter(lambda c: c != "\\"), min_size=1, max_size=12)
VALUE_NAMES = st.one_of(st.just(""), st.text(st.one_of(_NAME_CHARS, st.sampled_from("\r\n")),
                                              max_size=12))
TYPES = st.one_of(st.integers(0, 11), st.sampled_from([0xFFFF0012, 0x20000, 0xFFFFFFFF]),
                  st.integers(0, 0xFFFFFFFF))


@st.composite
def raw_data(draw: st.DrawFn, type_number: int) -> bytes:
    if type_number in (1, 2, 7) and draw(st.booleans()):
        text = draw(st.text(max_size=30))  # proper strings: the quoted form for REG_SZ
        data = (text + "\0").encode("utf-16-le", "surrogatepass")
        return data
    if type_number == 4 and draw(st.booleans()):
        return draw(st.binary(min_size=4, max_size=4))
    return draw(st.binary(max_size=200))


@st.composite
def values(draw: st.DrawFn) -> list[tuple[str, int, bytes]]:
    names = draw(st.lists(VALUE_NAMES, max_size=5, unique_by=collation_key))
    out = []
    for name in names:
        t = draw(TYPES)
        out.append((name, t, draw(raw_data(t))))
    return out


@st.composite
def trees(draw: st.DrawFn, depth: int = 3) -> dict[str, object]:
    node: dict[str, object] = {"values": draw(values()), "children": {}}
    if depth:
        names = draw(st.lists(KEY_NAMES, max_size=3, unique_by=collation_key))
        node["children"] = {n: draw(trees(depth - 1)) for n in names}
    return node


def build(tree: dict[str, object]) -> winmigrate.Hive:
    hive = winmigrate.create("PROP")
    stack = [(hive.root, tree)]
    while stack:
        key, node = stack.pop()
        for name, t, raw in node["values"]:  # type: ignore[attr-defined]
            key.set_value(name, raw=raw, type=t)
        for name, child in node["children"].items():  # type: ignore[attr-defined]
            stack.append((key.create_subkey(name), child))  # literal: '/' is a legal char
    return hive


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(trees())
def test_random_trees_round_trip(tree: dict[str, object]) -> None:
    hive = build(tree)
    text = dumps(hive, prefix=PREFIX)
    copy = winmigrate.create("PROP")
    apply(copy, parse(text))
    assert diff_dumps(dump_hive(copy), dump_hive(hive)) == []
    assert dumps(copy, prefix=PREFIX) == text


@SETTINGS
@given(trees(depth=2), trees(depth=2))
def test_reg_of_diff_turns_a_into_b(tree_a: dict[str, object], tree_b: dict[str, object]) -> None:
    a, b = build(tree_a), build(tree_b)
    changes = diff(a, b)
    out = io.BytesIO()
    encode_text(reg_pieces(changes.changes, PREFIX), out)
    apply(a, parse(out.getvalue()))
    assert diff(a, b).empty
    assert diff(b, a).empty
