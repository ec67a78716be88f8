"""Values: types, and data valid for each type (or raw bytes), sized around the boundaries the
format cares about (resident data, one cell, big data)."""

from __future__ import annotations

import functools
import struct
from typing import TYPE_CHECKING, TypeAlias

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..regf.names import utf16_length
from ..regf.regtype import RegType, to_regtype
from ..regf.values import encode
from .names import COMPACT_FROM, RepeatedBytes, exactly

if TYPE_CHECKING:

    from hypothesis.strategies import SearchStrategy

#: The Python form of value data: ``str`` (SZ, EXPAND_SZ, LINK), ``int`` (DWORD, QWORD,
#: DWORD_BIG_ENDIAN), ``list[str]`` (MULTI_SZ) or ``bytes`` (anything, stored as it is).
ValueData: TypeAlias = "str | int | list[str] | bytes"



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
    if size < COMPACT_FROM:
        return data
    out = RepeatedBytes(data)
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
def strings(max_size: int, samples: tuple[str, ...] = ()) -> SearchStrategy[str]:
    """Strings without NUL whose REG_SZ encoding (with terminator) fits ``max_size`` bytes:
    samples, short text, and BMP text of 8171/8172 characters (16344 and 16346 bytes with the
    terminator: the largest single cell, the smallest big data)."""
    short = st.text(alphabet=_TEXT_CHARS, max_size=24)
    branches = [st.sampled_from(("", "a", "text", "ünïcødé", "東京", "😀", *samples)), short]
    longs = [n for n in (8171, 8172, 20000) if 2 * (n + 1) <= max_size]
    if longs:
        branches.append(st.builds(lambda n, s: exactly(s, n), st.sampled_from(longs),
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
        return strings(max_size, ("C:\\Windows", "192.0.2.1"))
    if t == RegType.EXPAND_SZ:
        return strings(max_size, ("%SystemRoot%\\system32\\drivers\\tcpip.sys",
                                   "system32\\DRIVERS\\viostor.sys"))
    if t == RegType.LINK:
        return strings(max_size, ("\\Registry\\Machine\\System\\ControlSet001",))
    if t == RegType.MULTI_SZ:
        item = strings(max_size, ("XENFILT", "PartMgr")).filter(bool)
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
        >>> from winmigrate.testing import values
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
def any_values(raw_values: bool, max_size: int) -> SearchStrategy[tuple[RegType | int,
                                                                         ValueData]]:
    valid = values(max_size=max_size)
    return st.one_of(valid, values(raw=True, max_size=max_size)) if raw_values else valid
