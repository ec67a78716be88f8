"""Hypothesis strategies for registry names, values, key trees and whole hives.

For the property-based tests of tools that read or rewrite hives (converters, forensic parsers,
registry-diff tools) and for winmigrate's own tests. Everything generated is valid for Windows
and for winmigrate's writer, built from simple choices first so that a failing test shrinks to
a small, readable counterexample: ``"a"`` before exotic names, ``REG_SZ`` before the rest, empty
lists, one control set, no network adapter.

The module needs `Hypothesis <https://hypothesis.readthedocs.io>`_ (``pip install hypothesis``,
or ``pip install 'winmigrate[test]'``); ``import winmigrate`` never imports it.

    from hypothesis import given
    from winmigrate import strategies as ws

    @given(ws.hives())
    def test_my_parser_reads_every_key(hive):
        data = hive.to_bytes()
        assert my_parser.count_keys(data) == sum(1 for _ in hive.walk())

    @given(ws.system_hives())
    def test_conversion(generated):
        hive, description = generated
        convert(hive)
        assert hive.key(description.current_set.name + r"\\Services\\viostor")

What there is:

* names -- ``key_names``, ``value_names``, ``case_twins``, ``false_twins``,
  ``invalid_key_names``, ``invalid_value_names``;
* values -- ``values`` (``(type, data)`` pairs, valid data or ``raw=True`` bytes),
  ``value_types``;
* trees and hives -- ``key_trees`` (plain nested dicts), ``hive_recipes`` and
  ``hives`` (real ``winmigrate.Hive`` objects or their bytes, from scratch or edited
  from a template hive), ``versions``;
* SYSTEM hives -- ``system_hives``, which returns the hive together with a
  ``SystemDescription`` of everything put in;
* plain helpers -- ``write_tree``, ``read_tree``, ``encode_tree``.
"""

from __future__ import annotations

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "winmigrate.strategies needs Hypothesis, which is not installed: run "
        "'pip install hypothesis' (or install winmigrate's test extra: "
        "pip install 'winmigrate[test]')") from _exc

import functools
import os
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import TYPE_CHECKING, Literal, TypeAlias, TypedDict, overload

from .errors import KeyExistsError
from .hive import Hive, Key
from .regf import layout as L
from .regf.names import collation_key, upcase, utf16_length
from .regf.regtype import RegType, to_regtype
from .regf.values import encode

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from hypothesis.strategies import SearchStrategy

__all__ = [
    "BOUNDARY_SIZES",
    "CORE_SERVICES",
    "OTHER_SERVICES",
    "UNKNOWN_TYPES",
    "XEN_SERVICES",
    "AddKeys",
    "CddEntry",
    "ClassFilter",
    "ControlSetSpec",
    "DeleteKey",
    "DeleteValue",
    "DriverPackage",
    "Edit",
    "GeneratedHive",
    "GeneratedHiveBytes",
    "HiveRecipe",
    "KeyTree",
    "NicSpec",
    "RenameKey",
    "ServiceSpec",
    "SetClassName",
    "SetValue",
    "SystemDescription",
    "case_twins",
    "encode_tree",
    "false_twins",
    "hive_recipes",
    "hives",
    "invalid_key_names",
    "invalid_value_names",
    "key_names",
    "key_trees",
    "read_tree",
    "system_hives",
    "value_names",
    "value_types",
    "values",
    "versions",
    "write_tree",
]

#: The Python form of value data: ``str`` (SZ, EXPAND_SZ, LINK), ``int`` (DWORD, QWORD,
#: DWORD_BIG_ENDIAN), ``list[str]`` (MULTI_SZ) or ``bytes`` (anything, stored as it is).
ValueData: TypeAlias = "str | int | list[str] | bytes"


class KeyTree(TypedDict):
    """The content of one key as plain data: its values by name, as ``(type, data)``, and its
    subkeys by name. ``{"values": {}, "subkeys": {}}`` is an empty key.

    Names within one dict are distinct as Windows compares them (no two are equal after
    upcasing). ``data`` is a Python value (``"text"``, ``4``, ``["a", "b"]``) encoded for its
    type, or ``bytes`` stored as they are whatever the type.
    """

    values: dict[str, tuple[RegType | int, ValueData]]
    subkeys: dict[str, KeyTree]


# -- names ---------------------------------------------------------------------------------------

_MAX_KEY = L.MAX_KEY_NAME_CHARS  # 255 UTF-16 code units
_MAX_VALUE = L.MAX_VALUE_NAME_CHARS  # 16383

#: The names simple counterexamples are made of (the first one is where shrinking ends).
_READABLE_KEY_NAMES = ("a", "b", "c", "Key", "Software", "Services", "Parameters", "Control",
                       "Enum", "Tcpip", "x1", "x2")
_READABLE_VALUE_NAMES = ("", "v", "w", "Start", "Type", "ImagePath", "DisplayName", "Group",
                         "NameServer")

#: Names with a story: compressed (Latin-1) names with non-ASCII letters, a C1 control character
#: (stored as the byte 0x9F), 'ÿ' whose Windows upper case 'Ÿ' (U+0178) is outside Latin-1,
#: letters Windows does not upcase although Python does ('ß', 'µ', 'ı', 'ς', Deseret, Georgian,
#: Cherokee, titlecase digraphs), Greek, Cyrillic, CJK, Hangul, emoji (two UTF-16 units),
#: separators and punctuation that are legal in key names ('/', '.', '*', '?', spaces), GUIDs and
#: CriticalDeviceDatabase-style IDs.
_AWKWARD_KEY_NAMES = (
    "Äpfel", "straße", "ß", "café", "Ñandú", "ÿ", "µ", "\x9f", "naïve", "Ωμέγα", "ς", "Москва",
    "東京", "한국어", "😀", "a😀b", "\U00010428", "\u10d0", "\uab70", "\u01c5", "ı", "İ", "ﬀ",
    "\u212a", "\u2126", "Ⅻ", "ａ", "a/b", "text/html", ".", "..", "*", "?", " lead", "trail ",
    "with space", "%SystemRoot%", "{4D36E972-E325-11CE-BFC1-08002BE10318}",
    "pci#ven_8086&dev_7010", "\x01ctl", "tab\there",
)

_NO_SEPARATOR = "\\\0"
_SCRIPTS = (
    (0x0391, 0x03C9),  # Greek
    (0x0400, 0x045F),  # Cyrillic
    (0x00C0, 0x00FF),  # Latin-1 letters
    (0x0100, 0x017F),  # Latin Extended-A
    (0x4E00, 0x4FFF),  # CJK
    (0xAC00, 0xAD00),  # Hangul
    (0x10A0, 0x10FF),  # Georgian (Mtavruli upper case is newer than Windows' table)
    (0x13A0, 0x13F5),  # Cherokee
    (0x10400, 0x1044F),  # Deseret (outside the BMP: surrogate pairs, never upcased)
    (0x1F600, 0x1F64F),  # emoji
)


def _clip(name: str, units: int) -> str:
    """``name`` cut to at most ``units`` UTF-16 code units (never splitting a surrogate pair)."""
    if len(name) <= units // 2 or utf16_length(name) <= units:
        return name
    raw = name.encode("utf-16-le", "surrogatepass")[:2 * units]
    if raw and 0xD8 <= raw[-1] <= 0xDB:  # the first half of a surrogate pair: drop it
        raw = raw[:-2]
    return raw.decode("utf-16-le", "surrogatepass")


class _RepeatedStr(str):
    """A long generated string whose ``repr`` is the expression that makes it (``'ab' * 127 +
    'a'``), so that a counterexample holding it stays readable. It is a ``str`` in every other
    way."""

    _unit: str

    def __repr__(self) -> str:
        unit = self._unit
        count, rest = divmod(len(self), len(unit))
        text = f"{unit!r} * {count}"
        return text + f" + {self[len(self) - rest:]!r}" if rest else text


class _RepeatedBytes(bytes):
    """Long generated bytes whose ``repr`` is ``b'ab' * 8172 + b'a'`` (as ``_RepeatedStr``)."""

    _unit: bytes

    def __repr__(self) -> str:
        unit = self._unit
        count, rest = divmod(len(self), len(unit))
        text = f"{unit!r} * {count}"
        return text + f" + {unit[:rest]!r}" if rest else text


_COMPACT_FROM = 48  # shorter data is shown as it is


def _exactly(base: str, units: int) -> str:
    """``base`` repeated and cut to exactly ``units`` UTF-16 code units (padded with 'k' where a
    surrogate pair does not fit)."""
    base = base or "k"
    text = _clip(base * (units // max(1, utf16_length(base)) + 1), units)
    text += "k" * (units - utf16_length(text))
    if len(text) < _COMPACT_FROM or text != (base * (len(text) // len(base) + 1))[:len(text)]:
        return text
    out = _RepeatedStr(text)
    out._unit = base
    return out


def _text(alphabet: SearchStrategy[str], max_size: int) -> SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=1, max_size=max_size)


def key_names(*, max_length: int = 255, exotic: bool = True) -> SearchStrategy[str]:
    """Valid key names: 1 to ``max_length`` (at most 255) UTF-16 code units, no backslash, no NUL.

    Simple names come first (``"a"``, ``"Software"``, printable ASCII), then the awkward ones
    unless ``exotic`` is false: non-ASCII Latin-1 (stored "compressed", one byte per character),
    names Windows compares differently from Python (``"ß"``, ``"µ"``, ``"ı"``, ``"ς"``, Deseret,
    Georgian), Greek, Cyrillic, CJK, emoji (two code units each), control characters, ``/``
    (legal in key names), and names of exactly ``max_length`` code units.

    ``Key.create_key`` reads ``/`` as a path separator; ``write_tree`` creates such names
    with ``Key.rename``. Names of one parent must differ after Windows' upcasing: draw a list
    with ``st.lists(key_names(), unique_by=collation_key)``.

    Examples:
        >>> from winmigrate.strategies import key_names
        >>> name = key_names().example()
        >>> 1 <= len(name.encode("utf-16-le")) // 2 <= 255 and "\\\\" not in name
        True
    """
    if not 1 <= max_length <= _MAX_KEY:
        raise InvalidArgument(f"max_length must be 1..{_MAX_KEY}, not {max_length}")
    return _key_names(max_length, exotic)


@functools.lru_cache(maxsize=64)
def _key_names(max_length: int, exotic: bool) -> SearchStrategy[str]:
    # Strategies are immutable: building each one once saves Hypothesis re-validating it.
    readable = st.sampled_from(_READABLE_KEY_NAMES)
    ascii_ = _text(st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                                 exclude_characters=_NO_SEPARATOR), 12)
    branches = [readable, ascii_]
    if exotic:
        latin1 = _text(st.characters(min_codepoint=0x01, max_codepoint=0xFF,
                                     exclude_characters=_NO_SEPARATOR), 12)
        scripts = st.one_of([_text(st.one_of(st.sampled_from("aZ09 -_"),
                                             st.characters(min_codepoint=lo, max_codepoint=hi)),
                                   10) for lo, hi in _SCRIPTS])
        anything = _text(st.characters(exclude_categories=["Cs"],
                                       exclude_characters=_NO_SEPARATOR), 16)
        branches += [latin1, st.sampled_from(_AWKWARD_KEY_NAMES), scripts, anything]
    names = st.one_of(branches)
    if exotic:
        # Any name may be stretched to exactly max_length units: a separate choice, so that a
        # failing long name shrinks to its short form ('é' * 255 -> 'é').
        names = st.tuples(names, st.booleans()).map(
            lambda p: _exactly(p[0], max_length) if p[1] else p[0])
    return names.map(lambda s: _clip(s, max_length)).filter(bool)


def value_names(*, max_length: int = 16383, exotic: bool = True) -> SearchStrategy[str]:
    """Valid value names: ``""`` (the default value) first, then readable names, printable ASCII
    (backslashes and slashes included: they are legal in value names), and with ``exotic``
    Unicode text and long names up to ``max_length`` (at most 16383) UTF-16 code units.
    NUL is never generated (Win32 cannot pass it, and several parsers cut names there).

    Examples:
        >>> from winmigrate.strategies import value_names
        >>> len(value_names(max_length=10).example().encode("utf-16-le")) // 2 <= 10
        True
    """
    if not 0 <= max_length <= _MAX_VALUE:
        raise InvalidArgument(f"max_length must be 0..{_MAX_VALUE}, not {max_length}")
    return _value_names(max_length, exotic)


@functools.lru_cache(maxsize=64)
def _value_names(max_length: int, exotic: bool) -> SearchStrategy[str]:
    branches = [st.sampled_from(_READABLE_VALUE_NAMES),
                st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                        max_size=12)]
    if exotic:
        branches += [
            st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0"),
                     max_size=16),
            st.sampled_from(("ü", "Wert", "ζ", "名前", "😀", "a\\b", "text/plain", "(Default)")),
            st.tuples(st.sampled_from((256, 1000, _MAX_VALUE)),
                      st.sampled_from(("n", "é", "東", "😀"))).map(lambda p: _exactly(p[1], p[0])),
        ]
    return st.one_of(branches).map(lambda s: _clip(s, max_length))


def _windows_case_variants(ch: str) -> list[str]:
    """The characters Windows' upcase makes equal to ``ch`` (``ch`` first)."""
    up = upcase(ch)
    out = [ch]
    for cand in (up, ch.lower(), up.lower()):
        if len(cand) == 1 and cand not in out and upcase(cand) == up:
            out.append(cand)
    return out


_CASED = "AaÄäÖöÜüÉéÿŸΩωΣσДдЖжЯяǄǆⅫⅻＡａ"


@st.composite
def _twin(draw: st.DrawFn) -> tuple[str, str]:
    base = draw(st.one_of(
        st.sampled_from(("Äpfel", "Case", "a", "ÿ", "Ωμέγα", "Москва", "Straße", "Ⅻ")),
        _text(st.sampled_from(_CASED), 8)))
    chars = []
    for ch in base:
        variants = _windows_case_variants(ch)
        chars.append(draw(st.sampled_from(variants)) if len(variants) > 1 else ch)
    twin = "".join(chars)
    if twin == base:  # flip the first character that has another case
        for i, ch in enumerate(base):
            variants = _windows_case_variants(ch)
            if len(variants) > 1:
                twin = base[:i] + variants[1] + base[i + 1:]
                break
    return base, twin


def case_twins() -> SearchStrategy[tuple[str, str]]:
    """Pairs of different names that Windows treats as the same key or value name: equal after
    Windows' upcasing (``("Äpfel", "äPFEL")``, ``("ÿ", "Ÿ")`` -- the second is not
    Latin-1, so one is stored compressed and the other as UTF-16). Two such names collide in one
    parent: creating the second finds the first.

    Examples:
        >>> from winmigrate.regf.names import collation_key
        >>> from winmigrate.strategies import case_twins
        >>> a, b = case_twins().example()
        >>> a != b and collation_key(a) == collation_key(b)
        True
    """
    return _twin().filter(lambda p: p[0] != p[1])


#: Pairs that Python's ``str.upper``/``lower``/``casefold`` relate but Windows keeps apart.
_FALSE_TWINS = tuple(
    (a, b) for a, b in (
        ("ß", "SS"), ("ß", "\u1e9e"), ("µ", "Μ"), ("µ", "μ"), ("ı", "I"), ("ı", "i"),
        ("ς", "σ"), ("ς", "Σ"), ("\U00010428", "\U00010400"), ("\u01c5", "\u01c4"),
        ("\u01c5", "\u01c6"), ("ﬀ", "FF"), ("\u017f", "s"), ("\u10d0", "\u1c90"),
        ("\uab70", "\u13a0"), ("straße", "STRASSE"))
    if collation_key(a) != collation_key(b))


def false_twins() -> SearchStrategy[tuple[str, str]]:
    """Pairs of names that Python's case functions relate (``"ß".upper() == "SS"``,
    ``"µ".upper() == "Μ"``, Deseret and Georgian case pairs newer than Windows' table) but that
    Windows keeps distinct: both can be subkeys of one parent. A tool that folds names with
    ``str.casefold`` merges them by mistake.

    Examples:
        >>> from winmigrate.regf.names import collation_key
        >>> from winmigrate.strategies import false_twins
        >>> a, b = false_twins().example()
        >>> collation_key(a) != collation_key(b)
        True
    """
    return st.sampled_from(_FALSE_TWINS)


def invalid_key_names() -> SearchStrategy[str]:
    """Names a key cannot have: empty, with a backslash, with NUL, or longer than 255 UTF-16
    code units (including 128 emoji: 256 units in only 128 characters).

    Test rejection with ``winmigrate.Key.rename`` or ``winmigrate.create``, which take
    one name; ``winmigrate.Key.create_key`` takes a *path* and reads ``\\`` as a separator.

    Examples:
        >>> import pytest, winmigrate
        >>> from winmigrate.strategies import invalid_key_names
        >>> key = winmigrate.create().root.create_key("a")
        >>> with pytest.raises(winmigrate.UsageError):
        ...     key.rename(invalid_key_names().example())
    """
    return st.one_of(
        st.sampled_from(("", "\\", "a\\b", "\0", "a\0b", "k" * 256, "😀" * 128, "é" * 256)),
        st.tuples(key_names(exotic=False), st.sampled_from(("\\", "\0")), key_names())
        .map("".join),
        key_names().map(lambda s: _exactly(s, _MAX_KEY + 1)),
    )


def invalid_value_names() -> SearchStrategy[str]:
    """Names a value cannot have: longer than 16383 UTF-16 code units."""
    return st.sampled_from(("v", "é", "😀")).map(lambda s: _exactly(s, _MAX_VALUE + 1))


# -- values --------------------------------------------------------------------------------------

#: Data sizes where the storage changes: empty, resident (1-4 bytes in the value record), one
#: cell, the largest single cell (16344), big data from 16345 on (hives of version 1.4 and
#: later), whole and partial big-data segments, and 1 MiB.
BOUNDARY_SIZES = (0, 1, 2, 3, 4, 5, 8, 16343, 16344, 16345, 32688, 32689, 40000, 1 << 20)

#: Type numbers Windows does not define but real hives hold (``0x200000`` is common in
#: Windows 10 SYSTEM hives; the high word is used as flags by some software).
UNKNOWN_TYPES = (0x200000, 12, 0x20004, 0xFFFF0011, 0x7FFFFFFF, 0xFFFFFFFF)

_TYPE_ORDER = (RegType.SZ, RegType.DWORD, RegType.BINARY, RegType.EXPAND_SZ, RegType.MULTI_SZ,
               RegType.QWORD, RegType.NONE, RegType.DWORD_BIG_ENDIAN, RegType.LINK,
               RegType.RESOURCE_LIST, RegType.FULL_RESOURCE_DESCRIPTOR,
               RegType.RESOURCE_REQUIREMENTS_LIST)
assert set(_TYPE_ORDER) == set(RegType)


def value_types(*, unknown: bool = False) -> SearchStrategy[RegType | int]:
    """Every ``winmigrate.RegType``, ``SZ`` first; with ``unknown`` also type numbers
    Windows does not define (``UNKNOWN_TYPES``, as plain ``int``)."""
    known: SearchStrategy[RegType | int] = st.sampled_from(_TYPE_ORDER)
    if not unknown:
        return known
    return st.one_of(known, st.sampled_from(UNKNOWN_TYPES),
                     st.integers(12, 0xFFFFFFFF).map(to_regtype))


def _filled(size: int, pattern: bytes) -> bytes:
    if size <= 0:
        return b""
    pattern = pattern or b"\0"
    data = (pattern * (size // len(pattern) + 1))[:size]
    if size < _COMPACT_FROM:
        return data
    out = _RepeatedBytes(data)
    out._unit = pattern
    return out


@functools.lru_cache(maxsize=64)
def _sized_bytes(max_size: int) -> SearchStrategy[bytes]:
    """Short arbitrary bytes, or bytes of a boundary size filled with a short repeated pattern
    (generating 16 KiB byte by byte would exhaust Hypothesis' budget and never shrink)."""
    sizes = [s for s in BOUNDARY_SIZES if s <= max_size]
    return st.one_of(st.binary(max_size=min(16, max_size)),
                     st.builds(_filled, st.sampled_from(sizes),
                               st.binary(min_size=1, max_size=8)))


_TEXT_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\0")
_BMP_TEXT_CHARS = st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"],
                                exclude_characters="\0")


@functools.lru_cache(maxsize=256)
def _strings(max_size: int, samples: tuple[str, ...] = ()) -> SearchStrategy[str]:
    """Strings without NUL whose REG_SZ encoding (with terminator) fits ``max_size`` bytes:
    samples, short text, and BMP text of 8171/8172 characters (16344 and 16346 bytes with the
    terminator: the largest single cell, the smallest big data)."""
    short = st.text(alphabet=_TEXT_CHARS, max_size=24)
    branches = [st.sampled_from(("", "a", "text", "ünïcødé", "東京", "😀", *samples)), short]
    longs = [n for n in (8171, 8172, 20000) if 2 * (n + 1) <= max_size]
    if longs:
        branches.append(st.builds(lambda n, s: _exactly(s, n), st.sampled_from(longs),
                                  st.text(alphabet=_BMP_TEXT_CHARS, min_size=1, max_size=4)))
    return st.one_of(branches).filter(lambda s: 2 * (utf16_length(s) + 1) <= max_size)


# Resource descriptors laid out as on x64 Windows (20-byte CM_PARTIAL_RESOURCE_DESCRIPTOR,
# 32-byte IO_RESOURCE_DESCRIPTOR). winmigrate stores and returns these types as bytes.
_PARTIAL = struct.Struct("<BBHQII")  # type, share, flags, start/level..., length/..., pad
_IO_DESCRIPTOR = struct.Struct("<BBBBHHIIQQ")


@st.composite
def _partial_descriptors(draw: st.DrawFn) -> bytes:
    count = draw(st.integers(0, 3))
    out = []
    for _ in range(count):
        kind = draw(st.sampled_from((1, 3, 2, 4)))  # port, memory, interrupt, DMA
        out.append(_PARTIAL.pack(kind, draw(st.integers(0, 3)), draw(st.integers(0, 0xFFFF)),
                                 draw(st.integers(0, 2**64 - 1)),
                                 draw(st.integers(0, 2**32 - 1)), 0))
    return struct.pack("<HHI", 1, 1, count) + b"".join(out)


@st.composite
def _full_descriptor(draw: st.DrawFn) -> bytes:
    interface = draw(st.sampled_from((5, 0, 1, 15)))  # PCIBus, Internal, Isa, ACPIBus
    return struct.pack("<iI", interface, draw(st.integers(0, 255))) + draw(_partial_descriptors())


@st.composite
def _resource_list(draw: st.DrawFn) -> bytes:
    fulls = draw(st.lists(_full_descriptor(), max_size=2))
    return struct.pack("<I", len(fulls)) + b"".join(fulls)


@st.composite
def _requirements_list(draw: st.DrawFn) -> bytes:
    count = draw(st.integers(0, 2))
    descriptors = b"".join(
        _IO_DESCRIPTOR.pack(0, draw(st.sampled_from((1, 3, 2))), 1, 0, 0, 0,
                            draw(st.integers(0, 0x1000)), 1, 0, draw(st.integers(0, 2**32)))
        for _ in range(count))
    body = struct.pack("<HHI", 1, 1, count) + descriptors
    head = struct.pack("<IiIIIIII", 32 + len(body), 5, 0, 0, 0, 0, 0, 1)
    return head + body


#: Bytes taken by the smallest valid data of each type (an empty string is its terminator).
_MIN_SIZE: dict[int, int] = {
             RegType.SZ: 2, RegType.EXPAND_SZ: 2, RegType.LINK: 2, RegType.MULTI_SZ: 2,
             RegType.DWORD: 4, RegType.DWORD_BIG_ENDIAN: 4, RegType.QWORD: 8,
             RegType.RESOURCE_LIST: 4, RegType.FULL_RESOURCE_DESCRIPTOR: 16,
             RegType.RESOURCE_REQUIREMENTS_LIST: 40}


@functools.lru_cache(maxsize=256)
def _valid_data(t: int, max_size: int) -> SearchStrategy[ValueData]:
    if t == RegType.SZ:
        return _strings(max_size, ("C:\\Windows", "192.0.2.1"))
    if t == RegType.EXPAND_SZ:
        return _strings(max_size, ("%SystemRoot%\\system32\\drivers\\tcpip.sys",
                                   "system32\\DRIVERS\\viostor.sys"))
    if t == RegType.LINK:
        return _strings(max_size, ("\\Registry\\Machine\\System\\ControlSet001",))
    if t == RegType.MULTI_SZ:
        item = _strings(max_size, ("XENFILT", "PartMgr")).filter(bool)
        return st.lists(item, max_size=4).filter(
            lambda items: 2 * (sum(utf16_length(s) + 1 for s in items) + 1) <= max_size)
    if t in (RegType.DWORD, RegType.DWORD_BIG_ENDIAN):
        return st.integers(0, 2**32 - 1)
    if t == RegType.QWORD:
        return st.integers(0, 2**64 - 1)
    if t == RegType.RESOURCE_LIST:
        return _resource_list()
    if t == RegType.FULL_RESOURCE_DESCRIPTOR:
        return _full_descriptor()
    if t == RegType.RESOURCE_REQUIREMENTS_LIST:
        return _requirements_list()
    return _sized_bytes(max_size)  # NONE, BINARY, unknown numbers


def values(type: RegType | int | None = None, *, raw: bool = False,
           max_size: int = 40_000) -> SearchStrategy[tuple[RegType | int, ValueData]]:
    """``(type, data)`` pairs to pass to ``key.set_value(name, data, type)``.

    By default the data is valid for its type and round-trips: ``decode(type, encode(type,
    data)) == data`` (strings without NUL, MULTI_SZ without empty strings, DWORDs in
    ``0..2**32-1``, QWORDs in ``0..2**64-1``, resource lists shaped as x64 Windows lays them
    out, bytes for NONE and BINARY). ``type`` fixes the type; ``None`` draws every type.

    With ``raw=True`` the data is arbitrary ``bytes`` (stored as they are, whatever the type)
    of the sizes where the storage changes (``BOUNDARY_SIZES``: 0, 1-4 resident, 5,
    16344, 16345 big data and larger), and ``type=None`` also draws type numbers Windows does
    not define. ``max_size`` bounds the data in bytes.

    Examples:
        >>> from winmigrate import RegType
        >>> from winmigrate.regf.values import decode, encode
        >>> from winmigrate.strategies import values
        >>> t, data = values(RegType.MULTI_SZ).example()
        >>> decode(t, encode(t, data)) == data
        True
        >>> t, data = values(raw=True).example()
        >>> isinstance(data, bytes)
        True
    """
    if max_size < 0:
        raise InvalidArgument(f"max_size must be >= 0, not {max_size}")
    number = None if type is None else int(type)
    if not raw and number is not None and _MIN_SIZE.get(number, 0) > max_size:
        raise InvalidArgument(f"no valid {to_regtype(number)!r} data fits in {max_size} "
                              f"bytes (the smallest takes {_MIN_SIZE[number]})")
    return _values(number, raw, max_size)


@functools.lru_cache(maxsize=256)
def _values(number: int | None, raw: bool, max_size: int,
            ) -> SearchStrategy[tuple[RegType | int, ValueData]]:
    if raw:
        types = (st.just(to_regtype(number)) if number is not None
                 else value_types(unknown=True))
        return st.tuples(types, _sized_bytes(max_size))
    wanted = [to_regtype(number)] if number is not None else [
        t for t in _TYPE_ORDER if _MIN_SIZE.get(t, 0) <= max_size]
    return st.one_of([st.tuples(st.just(t), _fitting(int(t), max_size)) for t in wanted])


def _fitting(number: int, max_size: int) -> SearchStrategy[ValueData]:
    """Valid data of type ``number`` whose encoding takes at most ``max_size`` bytes."""
    return _valid_data(number, max_size).filter(lambda d: len(encode(number, d)) <= max_size)


@functools.lru_cache(maxsize=64)
def _any_values(raw_values: bool, max_size: int) -> SearchStrategy[tuple[RegType | int,
                                                                         ValueData]]:
    valid = values(max_size=max_size)
    return st.one_of(valid, values(raw=True, max_size=max_size)) if raw_values else valid


# -- key trees -----------------------------------------------------------------------------------


def _empty_tree() -> KeyTree:
    return {"values": {}, "subkeys": {}}


def key_trees(*, max_keys: int = 8, max_depth: int = 3, max_values: int = 3,
              max_children: int | None = None,
              names: SearchStrategy[str] | None = None,
              value_names_: SearchStrategy[str] | None = None,
              values_: SearchStrategy[tuple[RegType | int, ValueData]] | None = None,
              raw_values: bool = True, max_size: int = 40_000) -> SearchStrategy[KeyTree]:
    """The content of one key as a ``KeyTree`` (plain nested dicts).

    At most ``max_keys`` keys below the top (all levels together), ``max_depth`` levels deep,
    ``max_children`` subkeys per key (default ``max_keys``), ``max_values`` values per key.
    Sibling names are distinct as Windows compares them. ``names``, ``value_names_`` and
    ``values_`` replace the default strategies (``key_names``, ``value_names``,
    ``values``, mixed with ``values(raw=True)`` unless ``raw_values`` is false).
    Shrinks to ``{"values": {}, "subkeys": {}}``.

    Examples:
        >>> from winmigrate.strategies import key_trees
        >>> tree = key_trees(max_keys=3).example()
        >>> sorted(tree)
        ['subkeys', 'values']
    """
    if max_keys < 0 or max_depth < 0 or max_values < 0:
        raise InvalidArgument("max_keys, max_depth and max_values must be >= 0")
    names = names if names is not None else key_names()
    vnames = value_names_ if value_names_ is not None else value_names()
    data = values_ if values_ is not None else _any_values(raw_values, max_size)
    children = max_keys if max_children is None else max_children
    value_lists = st.lists(st.tuples(vnames, data), max_size=max_values,
                           unique_by=lambda p: collation_key(p[0]))
    name_lists = [st.lists(names, max_size=min(n, children), unique_by=collation_key)
                  for n in range(max_keys + 1)]  # by the number of keys still allowed

    @st.composite
    def tree(draw: st.DrawFn) -> KeyTree:
        budget = [max_keys]

        def node(depth: int) -> KeyTree:
            out = _empty_tree()
            out["values"] = dict(draw(value_lists))
            if depth >= max_depth or budget[0] <= 0:
                return out
            wanted = draw(name_lists[budget[0]])
            budget[0] -= len(wanted)
            for name in wanted:
                out["subkeys"][name] = node(depth + 1)
            return out

        return node(0)

    return tree()


def _create_child(parent: Key, name: str) -> Key:
    """The subkey ``name`` of ``parent``, created if missing. ``create_key`` reads ``/`` and
    ``\\`` as separators, so a name with ``/`` is created under a temporary name and renamed."""
    if "/" not in name:
        return parent.create_key(name)
    found = parent.get_subkey(name)
    if found is not None:
        return found
    n = 0
    while parent.get_subkey(f"winmigrate-strategies-{n}") is not None:
        n += 1
    child = parent.create_key(f"winmigrate-strategies-{n}")
    child.rename(name)
    return child


def write_tree(key: Key, tree: KeyTree) -> None:
    """Write ``tree`` into ``key`` of a writable hive: its values (replacing same-named ones) and
    its subkeys, created where missing (merged where they exist).

    Examples:
        >>> import winmigrate
        >>> from winmigrate import RegType
        >>> from winmigrate.strategies import read_tree, write_tree
        >>> hive = winmigrate.create()
        >>> write_tree(hive.root, {"values": {}, "subkeys": {
        ...     "a": {"values": {"v": (RegType.DWORD, 1)}, "subkeys": {}}}})
        >>> read_tree(hive.root)
        {'values': {}, 'subkeys': {'a': {'values': {'v': (<RegType.DWORD: 4>, 1)}, 'subkeys': {}}}}
    """
    stack: list[tuple[Key, KeyTree]] = [(key, tree)]
    while stack:
        target, content = stack.pop()
        for name, (t, data) in content["values"].items():
            target.set_value(name, data, t)
        for name, sub in content["subkeys"].items():
            stack.append((_create_child(target, name), sub))


def read_tree(key: Key, *, raw: bool = False) -> KeyTree:
    """The content of ``key`` and everything below it as a ``KeyTree``: values as
    ``(type, data)`` decoded (``value.data``), or with ``raw`` as ``(type number, raw bytes)``.

    Compare a hive with the tree it was built from as ``read_tree(key, raw=True) ==
    encode_tree(tree)``: raw-data values (bytes stored as a string type, say) do not decode
    back to the bytes they were given.
    """
    top = _empty_tree()
    stack: list[tuple[Key, KeyTree]] = [(key, top)]
    while stack:
        source, out = stack.pop()
        for value in source.values():
            out["values"][value.name] = ((value.type_number, value.raw) if raw
                                         else (value.type, value.data))
        for sub in source.subkeys():
            child = _empty_tree()
            out["subkeys"][sub.name] = child
            stack.append((sub, child))
    return top


def encode_tree(tree: KeyTree) -> KeyTree:
    """``tree`` with every value as a hive stores it: ``(type number, raw bytes)``."""
    out = _empty_tree()
    out["values"] = {name: (int(t), encode(int(t), data))
                     for name, (t, data) in tree["values"].items()}
    out["subkeys"] = {name: encode_tree(sub) for name, sub in tree["subkeys"].items()}
    return out


def _tree_paths(tree: KeyTree, prefix: str = "") -> list[tuple[str, tuple[str, ...]]]:
    """``(path, value names)`` of every key of ``tree``, the top (``""``) first, pre-order."""
    out = [(prefix, tuple(tree["values"]))]
    for name, sub in tree["subkeys"].items():
        out += _tree_paths(sub, f"{prefix}\\{name}" if prefix else name)
    return out


# -- edits and recipes ---------------------------------------------------------------------------


def _find(hive: Hive, path: str) -> Key | None:
    """The key at ``path`` (names joined by ``\\``; ``/`` is part of a name), or ``None``."""
    key = hive.root
    for part in path.split("\\") if path else ():
        found = key.get_subkey(part)
        if found is None:
            return None
        key = found
    return key


@dataclass(frozen=True)
class SetValue:
    """Create or replace value ``name`` of the key at ``path``."""

    path: str
    name: str
    type: RegType | int
    data: ValueData

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None:
            return False
        key.set_value(self.name, self.data, self.type)
        return True


@dataclass(frozen=True)
class DeleteValue:
    """Delete value ``name`` of the key at ``path`` (skipped when there is none)."""

    path: str
    name: str

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None or self.name not in key:
            return False
        key.delete_value(self.name)
        return True


@dataclass(frozen=True)
class DeleteKey:
    """Delete the key at ``path`` with everything below it (not the root, nor keys flagged
    as not deletable)."""

    path: str

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None or key.parent is None or key.flags & L.KEY_NO_DELETE:
            return False
        key.parent.delete_key(key.name, recursive=True)
        return True


@dataclass(frozen=True)
class RenameKey:
    """Rename the key at ``path`` (skipped when a sibling already has the new name)."""

    path: str
    new_name: str

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None or key.parent is None:
            return False
        try:
            key.rename(self.new_name)
        except KeyExistsError:
            return False
        return True


@dataclass(frozen=True)
class SetClassName:
    """Set (or with ``None`` remove) the class name of the key at ``path``."""

    path: str
    class_name: str | None

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None:
            return False
        key.set_class_name(self.class_name)
        return True


@dataclass(frozen=True)
class AddKeys:
    """Write ``tree`` into the key at ``path`` (see ``write_tree``)."""

    path: str
    tree: KeyTree

    def apply(self, hive: Hive) -> bool:
        key = _find(hive, self.path)
        if key is None:
            return False
        write_tree(key, self.tree)
        return True


#: One change to a hive. ``edit.apply(hive)`` makes it and returns ``False`` when it does not
#: apply (its key was deleted or renamed by an earlier edit, a name is taken, ...).
Edit: TypeAlias = "SetValue | DeleteValue | DeleteKey | RenameKey | SetClassName | AddKeys"


@dataclass(frozen=True)
class HiveRecipe:
    """How a generated hive is made: a new hive of ``version`` named ``root_name`` (or the
    ``template`` hive), ``tree`` written into its root, then each of ``edits`` in order.

    Its ``repr`` is the readable form of a counterexample; ``build`` makes the hive.
    """

    version: tuple[int, int]
    root_name: str
    tree: KeyTree
    edits: tuple[Edit, ...] = ()
    template: str | None = None  # where the template came from, for the repr
    template_bytes: bytes | None = field(default=None, repr=False, compare=False)

    def build(self, *, reopen: bool = True) -> GeneratedHive:
        """The hive, writable. With ``reopen`` (the default) it is re-read from its serialised
        bytes, as a file just opened; without, it is the hive the edits were made on."""
        if self.template_bytes is not None:
            hive = _generated(self.template_bytes)
        else:
            from .writer import new_hive_bytes

            hive = _generated(new_hive_bytes(self.root_name, self.version))
        write_tree(hive.root, self.tree)
        for edit in self.edits:
            edit.apply(hive)
        if reopen:
            data = hive.to_bytes()
            hive.close()
            hive = _generated(data)
        hive.recipe = self
        return hive


class GeneratedHive(Hive):
    """A ``winmigrate.Hive`` made by a strategy; it behaves exactly like one, and its
    ``repr`` shows the ``HiveRecipe`` (or ``SystemDescription``) it was built from,
    which is what Hypothesis prints for a failing example."""

    recipe: HiveRecipe | SystemDescription | None = None

    def __repr__(self) -> str:
        if isinstance(self.recipe, SystemDescription):
            return "GeneratedHive(<SYSTEM hive: see its SystemDescription>)"
        return f"GeneratedHive({self.recipe!r})"


class GeneratedHiveBytes(bytes):
    """The bytes of a generated hive (a ``bytes`` in every way); the ``repr`` shows the recipe
    instead of kilobytes of hive data."""

    recipe: HiveRecipe | SystemDescription | None = None

    def __repr__(self) -> str:
        if isinstance(self.recipe, SystemDescription):
            return "GeneratedHiveBytes(<SYSTEM hive: see its SystemDescription>)"
        return f"GeneratedHiveBytes({self.recipe!r})"


def _generated(data: bytes) -> GeneratedHive:
    """A writable ``GeneratedHive`` over a copy of ``data``."""
    hive = GeneratedHive.from_bytes(data, writable=True)
    assert isinstance(hive, GeneratedHive)
    return hive


def _as_bytes(hive: GeneratedHive) -> GeneratedHiveBytes:
    out = GeneratedHiveBytes(hive.to_bytes())
    out.recipe = hive.recipe
    hive.close()
    return out


def versions() -> SearchStrategy[tuple[int, int]]:
    """The hive versions winmigrate writes: 1.5 (XP and later) first, then 1.3 (``lf`` lists, no
    big data), 1.4 and 1.6."""
    return st.sampled_from(((1, 5), (1, 3), (1, 4), (1, 6)))


class _Template:
    """A template hive, read once: its bytes, version and the keys edits may target."""

    def __init__(self, source: bytes | bytearray | str | os.PathLike[str]) -> None:
        if isinstance(source, (bytes, bytearray)):
            self.label = f"<{len(source)} bytes>"
            self._source: bytes | str = bytes(source)
        else:
            self.label = os.fspath(source)
            self._source = self.label
        self._loaded: tuple[bytes, tuple[int, int], str,
                            list[tuple[str, tuple[str, ...]]]] | None = None

    def load(self) -> tuple[bytes, tuple[int, int], str, list[tuple[str, tuple[str, ...]]]]:
        if self._loaded is None:
            if isinstance(self._source, bytes):
                data = self._source
            else:
                with open(self._source, "rb") as fh:
                    data = fh.read()
            with Hive.from_bytes(data) as hive:
                if hive.dirty:
                    raise InvalidArgument(
                        f"template {self.label} is dirty: replay its logs first "
                        "(winmigrate.open(path, logs='auto', writable=True), then to_bytes())")
                paths = [(k.path, tuple(v.name for v in k.values())) for k in hive.walk()]
                self._loaded = (data, hive.version, hive.root.name, paths)
        return self._loaded


_CLASS_NAMES = st.one_of(st.none(), st.sampled_from(("", "cls", "JD", "Klasse ✓")))
_MORE = st.booleans()


def _draw_edits(draw: st.DrawFn, paths: Sequence[tuple[str, tuple[str, ...]]], max_edits: int,
                trees: SearchStrategy[KeyTree],
                data: SearchStrategy[tuple[RegType | int, ValueData]]) -> list[Edit]:
    """Up to ``max_edits`` edits of the keys in ``paths`` (``(path, value names)``, the root
    first). Each edit draws its kind, its key and its content from strategies built once per
    example, which keeps generation cheap; a ``False`` "more" flag (the simplest choice) ends
    the list."""
    non_root = [p for p in paths if p[0]]
    with_values = [p for p in paths if p[1]]
    kinds = ["set-value", "add-keys", "class-name"]
    if with_values:
        kinds.append("delete-value")
    if non_root:
        kinds += ["delete-key", "rename"]
    kind_of = st.sampled_from(kinds)
    anywhere = st.sampled_from(paths)
    not_root = st.sampled_from(non_root) if non_root else anywhere
    has_values = st.sampled_from(with_values) if with_values else anywhere
    names = value_names()
    new_names = key_names()
    out: list[Edit] = []
    for _ in range(max_edits):
        if not draw(_MORE):
            break
        kind = draw(kind_of)
        if kind == "set-value":
            t, value = draw(data)
            out.append(SetValue(draw(anywhere)[0], draw(names), t, value))
        elif kind == "add-keys":
            out.append(AddKeys(draw(anywhere)[0], draw(trees)))
        elif kind == "class-name":
            out.append(SetClassName(draw(anywhere)[0], draw(_CLASS_NAMES)))
        elif kind == "delete-value":
            path, value_names_ = draw(has_values)
            out.append(DeleteValue(path, draw(st.sampled_from(value_names_))))
        elif kind == "delete-key":
            out.append(DeleteKey(draw(not_root)[0]))
        else:
            out.append(RenameKey(draw(not_root)[0], draw(new_names)))
    return out


def hive_recipes(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] | None = None,
                 template: bytes | bytearray | str | os.PathLike[str] | None = None,
                 root_name: str | SearchStrategy[str] | None = None,
                 max_keys: int = 8, max_depth: int = 3, max_values: int = 3, max_edits: int = 4,
                 raw_values: bool = True, max_size: int = 40_000,
                 ) -> SearchStrategy[HiveRecipe]:
    """``HiveRecipe`` objects: what ``hives`` builds, as plain data.

    Without ``template``: a new hive of ``version`` (a tuple, or a strategy such as
    ``versions``; default ``(1, 5)``) whose root (named ``root_name``, default ``"ROOT"``)
    receives a ``key_trees`` tree, then up to ``max_edits`` edits of its keys. With
    ``template`` (a hive's bytes, or the path of a hive file, read once): the template's keys
    receive the edits, among them ``AddKeys`` with new trees; its version is kept
    (giving ``version`` too is an error).

    Examples:
        >>> from winmigrate.strategies import hive_recipes
        >>> recipe = hive_recipes(max_edits=0).example()
        >>> hive = recipe.build()
        >>> hive.version
        (1, 5)
    """
    trees = key_trees(max_keys=max_keys, max_depth=max_depth, max_values=max_values,
                      raw_values=raw_values, max_size=max_size)
    data = _any_values(raw_values, max_size)
    if template is not None:
        if version is not None or root_name is not None:
            raise InvalidArgument("a template hive keeps its own version and root name: do not "
                                  "give version= or root_name= with template=")
        source = _Template(template)

        @st.composite
        def from_template(draw: st.DrawFn) -> HiveRecipe:
            data_, version_, root_, paths = source.load()
            edits = _draw_edits(draw, paths, max_edits, trees, data)
            return HiveRecipe(version_, root_, _empty_tree(), tuple(edits), source.label, data_)

        return from_template()

    versions_ = (st.just(version) if isinstance(version, tuple)
                 else version if version is not None else st.just((1, 5)))
    roots = (st.just(root_name) if isinstance(root_name, str)
             else root_name if root_name is not None else st.just("ROOT"))

    @st.composite
    def fresh(draw: st.DrawFn) -> HiveRecipe:
        version_ = draw(versions_)
        if version_[0] != 1 or version_[1] not in (3, 4, 5, 6):
            raise InvalidArgument(f"winmigrate writes hive versions 1.3 to 1.6, not {version_}")
        root_ = draw(roots)
        tree = draw(trees)
        edits = _draw_edits(draw, _tree_paths(tree), max_edits, trees, data)
        return HiveRecipe(version_, root_, tree, tuple(edits))

    return fresh()


@overload
def hives(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] | None = ...,
          template: bytes | bytearray | str | os.PathLike[str] | None = ...,
          root_name: str | SearchStrategy[str] | None = ..., max_keys: int = ...,
          max_depth: int = ..., max_values: int = ..., max_edits: int = ...,
          raw_values: bool = ..., max_size: int = ...,
          as_bytes: Literal[False] = ...) -> SearchStrategy[GeneratedHive]: ...


@overload
def hives(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] | None = ...,
          template: bytes | bytearray | str | os.PathLike[str] | None = ...,
          root_name: str | SearchStrategy[str] | None = ..., max_keys: int = ...,
          max_depth: int = ..., max_values: int = ..., max_edits: int = ...,
          raw_values: bool = ..., max_size: int = ...,
          as_bytes: Literal[True]) -> SearchStrategy[GeneratedHiveBytes]: ...


def hives(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] | None = None,
          template: bytes | bytearray | str | os.PathLike[str] | None = None,
          root_name: str | SearchStrategy[str] | None = None, max_keys: int = 8,
          max_depth: int = 3, max_values: int = 3, max_edits: int = 4,
          raw_values: bool = True, max_size: int = 40_000,
          as_bytes: bool = False) -> SearchStrategy[GeneratedHive] | SearchStrategy[
              GeneratedHiveBytes]:
    """Real hives: writable ``winmigrate.Hive`` objects (``GeneratedHive``), or with
    ``as_bytes`` their file bytes (``GeneratedHiveBytes``). Every one passes
    ``hive.check()`` and reads back identically from its bytes.

    The arguments are those of ``hive_recipes``: a version (``versions()`` draws them all),
    a template hive to edit instead of a new one, bounds on keys, depth, values per key and
    edits, whether raw-byte values are mixed in, and the largest value data. Each hive is
    re-read from its bytes, as if just opened from a file; its ``repr`` is the recipe, so a
    failing example reads as what was put in.

    Examples:
        >>> from winmigrate.strategies import hives, versions
        >>> hive = hives(version=versions(), max_keys=4).example()
        >>> hive.check().ok
        True
        >>> data = hives(as_bytes=True).example()
        >>> data[:4]
        b'regf'
    """
    recipes = hive_recipes(version=version, template=template, root_name=root_name,
                           max_keys=max_keys, max_depth=max_depth, max_values=max_values,
                           max_edits=max_edits, raw_values=raw_values, max_size=max_size)
    built = recipes.map(HiveRecipe.build)
    if as_bytes:
        return built.map(_as_bytes)
    return built


# -- SYSTEM hives --------------------------------------------------------------------------------

_NET_CLASS = "{4D36E972-E325-11CE-BFC1-08002BE10318}"
_SYSTEM_CLASS = "{4D36E97D-E325-11CE-BFC1-08002BE10318}"
_HDC_CLASS = "{4D36E96A-E325-11CE-BFC1-08002BE10318}"
_SCSI_CLASS = "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
_DISK_CLASS = "{4D36E967-E325-11CE-BFC1-08002BE10318}"


@dataclass(frozen=True)
class ServiceSpec:
    """A service key ``<CS>\\Services\\<name>`` and its values (``Type``: 1 kernel driver,
    2 file system driver, 0x10 own process, 0x20 shared process; ``Start``: 0 boot, 1 system,
    2 automatic, 3 on demand, 4 disabled)."""

    name: str
    type: int
    start: int
    error_control: int = 1
    image_path: str | None = None
    group: str | None = None
    display_name: str | None = None
    xen: bool = False

    def write(self, services: Key) -> None:
        key = _create_child(services, self.name)
        key.set_value("Type", self.type, RegType.DWORD)
        key.set_value("Start", self.start, RegType.DWORD)
        key.set_value("ErrorControl", self.error_control, RegType.DWORD)
        if self.image_path is not None:
            key.set_value("ImagePath", self.image_path, RegType.EXPAND_SZ)
        if self.group is not None:
            key.set_value("Group", self.group, RegType.SZ)
        if self.display_name is not None:
            key.set_value("DisplayName", self.display_name, RegType.SZ)
        if self.type & 0x30:
            key.set_value("ObjectName", "LocalSystem", RegType.SZ)


def _driver(name: str, group: str, start: int = 0, *, xen: bool = False,
            display: str | None = None) -> ServiceSpec:
    return ServiceSpec(name, 1, start, 1 if start else 3,
                       f"system32\\DRIVERS\\{name.lower()}.sys", group, display, xen)


#: Services every generated control set has (the storage path of a boot and TCP/IP).
CORE_SERVICES = (
    _driver("disk", "SCSI Class"), _driver("atapi", "SCSI miniport"),
    _driver("intelide", "System Bus Extender"), _driver("pciide", "System Bus Extender", 3),
    _driver("PartMgr", "Boot Bus Extender"), _driver("Tcpip", "PNP_TDI"),
)
#: Optional Windows services, drawn in this order of preference.
OTHER_SERVICES = (
    ServiceSpec("Dhcp", 0x20, 2, 1, "%SystemRoot%\\system32\\svchost.exe -k "
                "LocalServiceNetworkRestricted", "TDI", "DHCP Client"),
    _driver("NetBT", "PNP_TDI", 1), _driver("storahci", "SCSI Miniport", 3),
    _driver("volsnap", "Filter"), _driver("E1G60", "NDIS", 3),
    ServiceSpec("W32Time", 0x20, 3, 1, "%SystemRoot%\\system32\\svchost.exe -k LocalService",
                None, "Windows Time"),
    ServiceSpec("LanmanServer", 0x20, 2, 1, "%SystemRoot%\\system32\\svchost.exe -k netsvcs",
                None, "Server"),
    _driver("netkvm", "NDIS", 3, display="Red Hat VirtIO Ethernet Adapter"),
    _driver("viostor", "SCSI miniport", 0, display="Red Hat VirtIO SCSI controller"),
)
#: Xen PV driver services (the AWS/XenServer set of domain.md).
XEN_SERVICES = (
    _driver("xenbus", "Boot Bus Extender", xen=True, display="AWS PV Bus"),
    _driver("xenfilt", "Boot Bus Extender", xen=True, display="AWS Bus Filter"),
    _driver("xenvbd", "Scsi Miniport", xen=True, display="AWS PV Storage Host Adapter"),
    _driver("xenvif", "NDIS", 3, xen=True, display="AWS PV Network Class"),
    _driver("xennet", "NDIS", 3, xen=True, display="AWS PV Network Device"),
    _driver("xeniface", "Extended Base", 3, xen=True, display="AWS Interface"),
)


@dataclass(frozen=True)
class CddEntry:
    """``<CS>\\Control\\CriticalDeviceDatabase\\<device_id>`` (Windows 7 and older)."""

    device_id: str
    service: str
    class_guid: str


_CDD_STANDARD = (CddEntry("primary_ide_channel", "atapi", _HDC_CLASS),
                 CddEntry("pci#ven_8086&dev_7010", "intelide", _HDC_CLASS),
                 CddEntry("pci#cc_0101", "pciide", _HDC_CLASS),
                 CddEntry("gendisk", "disk", _DISK_CLASS))
_CDD_XEN = (CddEntry("pci#ven_5853&dev_0001", "xenbus", _SYSTEM_CLASS),
            CddEntry("xenbus#ven_xs0001&dev_vbd&rev_00000001", "xenvbd", _SCSI_CLASS))


@dataclass(frozen=True)
class DriverPackage:
    """A package in the root ``DriverDatabase`` (Windows 8 and later): ``DriverInfFiles\\<inf>``,
    ``DriverPackages\\<package>`` with ``Configurations\\<configuration>\\Service`` and
    ``Descriptors\\<hardware id>``, and ``DeviceIds\\<hardware id>`` ranking the inf."""

    inf: str
    package: str
    service: str
    class_guid: str
    hardware_ids: tuple[str, ...]
    configuration: str


@dataclass(frozen=True)
class ClassFilter:
    """``UpperFilters``/``LowerFilters`` (REG_MULTI_SZ) of ``<CS>\\Control\\Class\\<guid>``;
    an empty tuple means the value is absent."""

    class_guid: str
    upper: tuple[str, ...] = ()
    lower: tuple[str, ...] = ()


@dataclass(frozen=True)
class NicSpec:
    """One network adapter as written, in the terms of ``winmigrate.network.Interface``.

    ``guid`` is upper case with braces (the keys may spell it in other cases); ``gateways``
    are ``(address, metric or None)``; ``ipv4`` is empty for DHCP adapters (their
    ``IPAddress`` holds the ``0.0.0.0`` placeholder) and ``dhcp_address`` is the lease."""

    guid: str
    class_key: str
    name: str | None
    driver_desc: str
    component_id: str
    service: str
    device_instance_id: str
    hardware_ids: tuple[str, ...]
    present: bool
    is_xen: bool
    dhcp: bool
    ipv4: tuple[IPv4Interface, ...] = ()
    gateways: tuple[tuple[IPv4Address, int | None], ...] = ()
    dns_servers: tuple[IPv4Address, ...] = ()
    dns_suffix: str | None = None
    dhcp_address: IPv4Address | None = None
    net_luid_index: int = 1
    tcpip_key_case: Literal["upper", "lower"] = "upper"


@dataclass(frozen=True)
class ControlSetSpec:
    """What ``ControlSet<number>`` holds."""

    number: int
    services: tuple[ServiceSpec, ...]
    nics: tuple[NicSpec, ...] = ()
    cdd: tuple[CddEntry, ...] = ()
    filters: tuple[ClassFilter, ...] = ()
    hostname: str = "WINGUEST"

    @property
    def name(self) -> str:
        """``ControlSet001`` etc."""
        return f"ControlSet{self.number:03d}"

    def service(self, name: str) -> ServiceSpec | None:
        """The service called ``name`` (compared as Windows does), or ``None``."""
        wanted = collation_key(name)
        return next((s for s in self.services if collation_key(s.name) == wanted), None)


@dataclass(frozen=True)
class SystemDescription:
    """Everything ``system_hives`` put into a SYSTEM hive.

    ``select`` is ``(Current, Default, LastKnownGood, Failed)`` of the ``Select`` key;
    ``style`` is ``"cdd"`` (Windows 7 and older: a CriticalDeviceDatabase in every control set)
    or ``"driver-database"`` (Windows 8 and later: a root ``DriverDatabase`` holding
    ``driver_packages``); ``xen`` says whether the Xen PV drivers are installed (services,
    ``XENFILT`` class filters, ``xenfilt\\Unplug``, Xen CDD entries or packages).
    """

    version: tuple[int, int]
    select: tuple[int, int, int, int]
    control_sets: tuple[ControlSetSpec, ...]
    style: Literal["cdd", "driver-database"]
    xen: bool
    driver_packages: tuple[DriverPackage, ...] = ()

    @property
    def current(self) -> int:
        """``Select\\Current``."""
        return self.select[0]

    @property
    def current_set(self) -> ControlSetSpec:
        """The control set ``Select\\Current`` names."""
        return self.control_set(self.current)

    def control_set(self, number: int) -> ControlSetSpec:
        """The control set numbered ``number``."""
        for cs in self.control_sets:
            if cs.number == number:
                return cs
        raise KeyError(number)

    def build(self) -> GeneratedHive:
        """The SYSTEM hive this describes (writable, re-read from its bytes)."""
        return _build_system(self)


_NIC_KINDS = {
    # kind: (driver desc, component id, service, hardware id, instance prefix, is_xen)
    "e1000": ("Intel(R) PRO/1000 MT Network Connection", "pci\\ven_8086&dev_100e", "E1G60",
              "PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", "3&267A616A&0&", False),
    "rtl8139": ("Realtek RTL8139C+ Fast Ethernet NIC", "pci\\ven_10ec&dev_8139", "RTL8023",
                "PCI\\VEN_10EC&DEV_8139&SUBSYS_11001AF4&REV_20", "3&13C0B0C5&0&", False),
    "virtio": ("Red Hat VirtIO Ethernet Adapter", "pci\\ven_1af4&dev_1000", "netkvm",
               "PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "3&13C0B0C5&0&", False),
    "xen-aws": ("AWS PV Network Device #0", "xenvif\\ven_xs0001&dev_net&rev_00000000",
                "xennet", "XENVIF\\VEN_XS0001&DEV_NET&REV_00000000", "", True),
    "xen-xcp": ("XCP-ng PV Network Device #0", "xenvif\\ven_xs0001&dev_net&rev_00000001",
                "xennet", "XENVIF\\VEN_XS0001&DEV_NET&REV_00000001", "", True),
    "xen-citrix": ("Citrix PV Ethernet Adapter #0", "xen\\vif", "xennet6", "XEN\\VIF", "",
                   True),
}
_NETWORKS = ("192.0.2.", "198.51.100.", "203.0.113.", "10.0.0.")


def _guid(value: int) -> str:
    h = f"{value:032X}"
    return "{" + f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" + "}"


@st.composite
def _nic(draw: st.DrawFn, index: int, kinds: Sequence[str]) -> NicSpec:
    kind = draw(st.sampled_from(kinds))
    desc, component, service, hwid, prefix, is_xen = _NIC_KINDS[kind]
    guid = _guid(draw(st.integers(0, 2**128 - 1)))
    slot = 0x10 + index
    instance = f"{hwid}\\{prefix}{slot:02X}" if prefix else f"{hwid}\\{index}"
    name = draw(st.one_of(st.sampled_from(("Local Area Connection", "Ethernet",
                                           f"Local Area Connection {index + 2}",
                                           f"Ethernet {index + 2}")),
                          st.none(), key_names(max_length=60)))
    dhcp = draw(st.booleans())
    net = draw(st.sampled_from(_NETWORKS))
    hosts = st.integers(1, 254)
    ipv4: tuple[IPv4Interface, ...] = ()
    gateways: tuple[tuple[IPv4Address, int | None], ...] = ()
    dns: tuple[IPv4Address, ...] = ()
    lease: IPv4Address | None = None
    if dhcp:
        lease = IPv4Address(net + str(draw(hosts)))
    else:
        addresses = draw(st.lists(hosts, min_size=1, max_size=3, unique=True))
        prefix_len = draw(st.sampled_from((24, 25, 16, 8, 30)))
        ipv4 = tuple(IPv4Interface(f"{net}{h}/{prefix_len}") for h in addresses)
        gws = draw(st.lists(hosts, max_size=2, unique=True))
        metrics = draw(st.one_of(st.none(), st.lists(st.integers(0, 9999), min_size=len(gws),
                                                     max_size=len(gws))))
        gateways = tuple((IPv4Address(f"{net}{g}"), None if metrics is None else metrics[i])
                         for i, g in enumerate(gws))
        dns = tuple(IPv4Address(f"{net}{d}")
                    for d in draw(st.lists(hosts, max_size=3, unique=True)))
    suffix = draw(st.one_of(st.none(), st.sampled_from(("corp.example", "example.com"))))
    return NicSpec(
        guid=guid, class_key=f"{index + 7:04d}", name=name, driver_desc=desc,
        component_id=component, service=service, device_instance_id=instance,
        hardware_ids=(hwid, hwid.rsplit("&REV_", 1)[0]) if "&REV_" in hwid else (hwid,),
        present=draw(st.booleans()), is_xen=is_xen, dhcp=dhcp, ipv4=ipv4, gateways=gateways,
        dns_servers=dns, dns_suffix=suffix, dhcp_address=lease, net_luid_index=index + 1,
        tcpip_key_case=draw(st.sampled_from(("upper", "lower"))))


_XEN_KINDS = tuple(k for k, v in _NIC_KINDS.items() if v[5])
_PLAIN_KINDS = tuple(k for k, v in _NIC_KINDS.items() if not v[5])


@functools.lru_cache(maxsize=32)
def _odd_services(max_services: int) -> SearchStrategy[list[ServiceSpec]]:
    """Services with generated names and values (anything a service key may hold)."""
    return st.lists(st.builds(
        ServiceSpec, key_names(max_length=60), st.sampled_from((1, 0x10, 0x20, 2)),
        st.integers(0, 4), st.integers(0, 3),
        st.one_of(st.none(), _strings(400)), st.one_of(st.none(), st.just("Extended Base")),
        st.one_of(st.none(), _strings(400))), max_size=max_services)


@st.composite
def _control_set(draw: st.DrawFn, number: int, *, style: str, xen: bool, max_services: int,
                 max_nics: int, current: bool) -> ControlSetSpec:
    # The same choices are drawn whatever ``xen`` and ``style`` say, so that the shrinker can
    # turn either off without the rest of the example changing meaning.
    services: dict[str, ServiceSpec] = {}
    extra = draw(st.lists(st.sampled_from(OTHER_SERVICES), max_size=max_services,
                          unique_by=lambda s: s.name))
    odd = draw(_odd_services(max_services))[:max(0, max_services - len(extra))]
    for svc in (*CORE_SERVICES, *(XEN_SERVICES if xen else ()), *extra, *odd):
        services.setdefault(collation_key(svc.name), svc)
    count = draw(st.integers(0, max_nics))
    nics: list[NicSpec] = []
    for i in range(count):
        # With xen, the first adapter of the current control set is the Xen PV NIC, and Xen
        # NICs are the simplest choice for the others.
        kinds = (_XEN_KINDS if current and i == 0 else _XEN_KINDS + _PLAIN_KINDS) if xen \
            else _PLAIN_KINDS
        nic = draw(_nic(i, kinds))
        if all(n.guid != nic.guid for n in nics):
            nics.append(nic)
    for nic in nics:
        services.setdefault(collation_key(nic.service), _driver(nic.service, "NDIS", 3,
                                                                xen=nic.is_xen))
    filters = [ClassFilter(_DISK_CLASS, upper=("PartMgr",))]
    for guid in (_SYSTEM_CLASS, _HDC_CLASS):
        spelled = draw(st.sampled_from(("XENFILT", "xenfilt")))
        others = draw(st.lists(st.sampled_from(("PartMgr", "vmbusr")), max_size=1))
        upper = tuple(draw(st.permutations([spelled, *others])))
        if xen:
            filters.append(ClassFilter(guid, upper=upper))
    cdd: tuple[CddEntry, ...] = ()
    if style == "cdd":
        cdd = _CDD_STANDARD + (_CDD_XEN if xen else ())
    hostname = draw(st.sampled_from(("WINGUEST", "xenguest", "SRV01", "win-7f3a")))
    return ControlSetSpec(number, tuple(services.values()), tuple(nics), cdd,
                          tuple(filters), hostname)


_PACKAGE_VERSION = struct.Struct("<BBHI16sQQ8s")


def _package_version(class_guid: str) -> bytes:
    """The 48-byte ``Version`` value of a driver package: flags, architecture (9 = amd64), the
    class GUID, the driver date (2006-06-21 as FILETIME) and version 10.0.0.0."""
    import uuid

    guid = uuid.UUID(class_guid.strip("{}")).bytes_le
    return _PACKAGE_VERSION.pack(0xFF, 0xFF, 9, 0, guid, 0x01C6953D4CC40000, 10 << 48, bytes(8))


def _packages(xen: bool, digest: int) -> tuple[DriverPackage, ...]:
    out = [DriverPackage("mshdc.inf", f"mshdc.inf_amd64_{digest:016x}", "atapi", _HDC_CLASS,
                         ("PCI\\CC_0101",), "atapi_Inst"),
           DriverPackage("disk.inf", f"disk.inf_amd64_{digest ^ 1:016x}", "disk", _DISK_CLASS,
                         ("GenDisk",), "disk_install")]
    if xen:
        out += [DriverPackage("oem2.inf", f"xenvbd.inf_amd64_{digest ^ 2:016x}", "xenvbd",
                              _SCSI_CLASS, ("XENBUS\\VEN_XS0001&DEV_VBD&REV_00000001",),
                              "XenVbd_Inst"),
                DriverPackage("oem88.inf", f"xenbus.inf_amd64_{digest ^ 3:016x}", "xenbus",
                              _SYSTEM_CLASS, ("PCI\\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01",),
                              "XenBus_Inst")]
    return tuple(out)


def system_hives(*, version: tuple[int, int] | SearchStrategy[tuple[int, int]] = (1, 5),
                 style: Literal["cdd", "driver-database"] | None = None,
                 xen: bool | None = None, max_control_sets: int = 2,
                 control_set_numbers: Sequence[int] = (1, 2, 3, 10, 11, 99, 100, 999),
                 max_services: int = 3, max_nics: int = 2,
                 as_bytes: bool = False,
                 ) -> SearchStrategy[tuple[GeneratedHive | GeneratedHiveBytes,
                                           SystemDescription]]:
    """SYSTEM-shaped hives for testing conversion code, each with a ``SystemDescription``
    of what was put in: ``(hive, description)``.

    * ``Select`` (``Current``, ``Default``, ``LastKnownGood``, ``Failed``) over 1 to
      ``max_control_sets`` control sets numbered from ``control_set_numbers`` (numbers of 10
      and more included: ``ControlSet010``);
    * in each control set: ``Services`` with realistic service keys (``CORE_SERVICES``,
      up to ``max_services`` of ``OTHER_SERVICES`` and odd-named ones), the disk class's
      ``UpperFilters``, network adapters (``Control\\Class\\{4D36E972-...}\\NNNN`` with
      ``NetCfgInstanceId``, the ``Connection`` name, ``Enum`` device, ``Services\\Tcpip\\
      Parameters\\Interfaces\\{GUID}`` with static or DHCP IPv4 settings), the host name;
    * ``style``: a ``CriticalDeviceDatabase`` in each control set (``"cdd"``, Windows 7 and
      older) or a root ``DriverDatabase`` (``"driver-database"``, Windows 8 and later); drawn
      when ``None``;
    * ``xen``: the Xen PV drivers (services, ``XENFILT`` in the System and HDC classes'
      ``UpperFilters``, ``xenfilt\\Unplug``, Xen CDD entries or driver packages; the first
      adapter of the current control set, if there is one, is a Xen PV NIC); drawn when
      ``None``.

    The hive reads back through ``winmigrate.network.interfaces`` as the description's
    ``current_set.nics`` say. With ``as_bytes`` the hive is given as its bytes.

    Examples:
        >>> from winmigrate import network
        >>> from winmigrate.strategies import system_hives
        >>> hive, description = system_hives(xen=True).example()
        >>> nics = description.current_set.nics
        >>> not nics or nics[0].is_xen
        True
        >>> {n.guid for n in network.interfaces(hive) if n.is_xen} == {
        ...     n.guid for n in nics if n.is_xen}
        True
    """
    if max_control_sets < 1:
        raise InvalidArgument("max_control_sets must be at least 1")
    numbers_ok = [n for n in control_set_numbers if 1 <= n <= 999]
    if not numbers_ok:
        raise InvalidArgument("control_set_numbers must hold numbers in 1..999")
    versions_ = st.just(version) if isinstance(version, tuple) else version
    styles: SearchStrategy[Literal["cdd", "driver-database"]] = (
        st.just(style) if style is not None else st.sampled_from(("cdd", "driver-database")))
    xens = st.just(xen) if xen is not None else st.booleans()

    @st.composite
    def description(draw: st.DrawFn) -> SystemDescription:
        version_ = draw(versions_)
        style_ = draw(styles)
        xen_ = draw(xens)
        numbers = draw(st.lists(st.sampled_from(numbers_ok), min_size=1,
                                max_size=max_control_sets, unique=True))
        current = numbers[0]
        default = draw(st.sampled_from(numbers))
        last_good = draw(st.sampled_from(numbers))
        failed = draw(st.one_of(st.just(0), st.sampled_from(numbers)))
        sets = tuple(draw(_control_set(n, style=style_, xen=xen_, max_services=max_services,
                                       max_nics=max_nics, current=n == current))
                     for n in numbers)
        digest = draw(st.integers(0, 2**64 - 1))
        packages = _packages(xen_, digest) if style_ == "driver-database" else ()
        return SystemDescription(version_, (current, default, last_good, failed),
                                 sets, style_, xen_, packages)

    def build(desc: SystemDescription) -> tuple[GeneratedHive | GeneratedHiveBytes,
                                                SystemDescription]:
        hive = _build_system(desc)
        return (_as_bytes(hive) if as_bytes else hive), desc

    return description().map(build)


def _put(key: Key, values_: dict[str, tuple[RegType, ValueData]]) -> Key:
    for name, (t, data) in values_.items():
        key.set_value(name, data, t)
    return key


def _path(key: Key, *names: str) -> Key:
    for name in names:
        key = _create_child(key, name)
    return key


def _write_nic(cs: Key, nic: NicSpec) -> None:
    SZ, DW, MULTI = RegType.SZ, RegType.DWORD, RegType.MULTI_SZ
    inst = _path(cs, "Control", "Class", _NET_CLASS, nic.class_key)
    _put(inst, {"NetCfgInstanceId": (SZ, nic.guid), "DriverDesc": (SZ, nic.driver_desc),
                "ComponentId": (SZ, nic.component_id),
                "MatchingDeviceId": (SZ, nic.component_id),
                "DeviceInstanceID": (SZ, nic.device_instance_id), "*IfType": (DW, 6),
                "NetLuidIndex": (DW, nic.net_luid_index)})
    _put(_path(inst, "Ndi"), {"Service": (SZ, nic.service)})
    conn = _path(cs, "Control", "Network", _NET_CLASS, nic.guid, "Connection")
    _put(conn, {"PnPInstanceId": (SZ, nic.device_instance_id)})
    if nic.name is not None:
        _put(conn, {"Name": (SZ, nic.name)})
    if nic.present:
        device = _path(cs, "Enum", *nic.device_instance_id.split("\\"))
        _put(device, {"HardwareID": (MULTI, list(nic.hardware_ids)),
                      "Service": (SZ, nic.service), "ClassGUID": (SZ, _NET_CLASS.lower()),
                      "Driver": (SZ, f"{_NET_CLASS.lower()}\\{nic.class_key}")})
    tcpip_name = nic.guid if nic.tcpip_key_case == "upper" else nic.guid.lower()
    tcpip = _path(cs, "Services", "Tcpip", "Parameters", "Interfaces", tcpip_name)
    if nic.dhcp:
        assert nic.dhcp_address is not None
        net = str(nic.dhcp_address).rsplit(".", 1)[0]
        _put(tcpip, {"EnableDHCP": (DW, 1), "IPAddress": (MULTI, ["0.0.0.0"]),
                     "SubnetMask": (MULTI, ["0.0.0.0"]), "DefaultGateway": (MULTI, []),
                     "NameServer": (SZ, ""), "Domain": (SZ, nic.dns_suffix or ""),
                     "DhcpIPAddress": (SZ, str(nic.dhcp_address)),
                     "DhcpSubnetMask": (SZ, "255.255.255.0"), "DhcpServer": (SZ, net + ".1"),
                     "Lease": (DW, 86400), "LeaseObtainedTime": (DW, 1700000000),
                     "LeaseTerminatesTime": (DW, 1700086400)})
        return
    values_: dict[str, tuple[RegType, ValueData]] = {
        "EnableDHCP": (DW, 0),
        "IPAddress": (MULTI, [str(i.ip) for i in nic.ipv4]),
        "SubnetMask": (MULTI, [str(i.netmask) for i in nic.ipv4]),
        "DefaultGateway": (MULTI, [str(a) for a, _m in nic.gateways]),
        "NameServer": (SZ, ",".join(str(a) for a in nic.dns_servers)),
        "Domain": (SZ, nic.dns_suffix or ""),
    }
    if nic.gateways and all(m is not None for _a, m in nic.gateways):
        values_["DefaultGatewayMetric"] = (MULTI, [str(m) for _a, m in nic.gateways])
    _put(tcpip, values_)


def _write_packages(root: Key, packages: Iterable[DriverPackage]) -> None:
    SZ, DW, MULTI, BIN = RegType.SZ, RegType.DWORD, RegType.MULTI_SZ, RegType.BINARY
    ddb = _put(_path(root, "DriverDatabase"), {"Version": (DW, 0x0A000000),
                                               "Architecture": (DW, 9)})
    for pkg in packages:
        _put(_path(ddb, "DriverInfFiles", pkg.inf), {"": (MULTI, [pkg.package]),
                                                     "Active": (SZ, pkg.package),
                                                     "Configurations": (MULTI,
                                                                        [pkg.configuration])})
        entry = _put(_path(ddb, "DriverPackages", pkg.package), {
            "": (SZ, pkg.inf), "Version": (BIN, _package_version(pkg.class_guid)),
            "Provider": (SZ, "Microsoft"), "SignerScore": (DW, 0x0D000005)})
        _put(_path(entry, "Configurations", pkg.configuration), {"Service": (SZ, pkg.service),
                                                                 "ConfigFlags": (DW, 0)})
        for hwid in pkg.hardware_ids:
            _put(_path(entry, "Descriptors", *hwid.split("\\")),
                 {"Configuration": (SZ, pkg.configuration)})
            _put(_path(ddb, "DeviceIds", *hwid.split("\\")),
                 {pkg.inf: (BIN, b"\x01\xff\x00\x00")})
        _put(_path(ddb, "DeviceIds", pkg.class_guid.lower()), {pkg.inf: (RegType.NONE, b"")})


def _build_system(desc: SystemDescription) -> GeneratedHive:
    from .writer import new_hive_bytes

    hive = _generated(new_hive_bytes("ROOT", desc.version))
    root = hive.root
    DW = RegType.DWORD
    _put(_path(root, "Select"), dict(zip(("Current", "Default", "LastKnownGood", "Failed"),
                                         ((DW, n) for n in desc.select))))
    for cs_spec in desc.control_sets:
        cs = _path(root, cs_spec.name)
        services = _path(cs, "Services")
        for svc in cs_spec.services:
            svc.write(services)
        if desc.xen:
            _put(_path(services, "xenfilt", "Unplug"), {"DISKS": (DW, 1), "NICS": (DW, 1)})
        classes = _path(cs, "Control", "Class")
        for flt in cs_spec.filters:
            key = _path(classes, flt.class_guid)
            if flt.upper:
                key.set_value("UpperFilters", list(flt.upper), RegType.MULTI_SZ)
            if flt.lower:
                key.set_value("LowerFilters", list(flt.lower), RegType.MULTI_SZ)
        _path(classes, _NET_CLASS).set_value("Class", "Net", RegType.SZ)
        if desc.style == "cdd":
            cdd = _path(cs, "Control", "CriticalDeviceDatabase")
            for entry in cs_spec.cdd:
                _put(_path(cdd, entry.device_id), {"Service": (RegType.SZ, entry.service),
                                                   "ClassGUID": (RegType.SZ, entry.class_guid)})
        params = _path(services, "Tcpip", "Parameters")
        _put(params, {"Hostname": (RegType.SZ, cs_spec.hostname),
                      "NV Hostname": (RegType.SZ, cs_spec.hostname)})
        _put(_path(cs, "Control", "ComputerName", "ComputerName"),
             {"ComputerName": (RegType.SZ, cs_spec.hostname.upper())})
        _path(cs, "Enum", "Root")
        for nic in cs_spec.nics:
            _write_nic(cs, nic)
    if desc.style == "driver-database":
        _write_packages(root, desc.driver_packages)
    data = hive.to_bytes()
    hive.close()
    out = _generated(data)
    out.recipe = desc
    return out

