"""The readers a walk calls per key or per value accept most cells by the page rule, inline,
instead of calling ``Image.cell``. They must agree with their checked twins, which read only
through ``Image.cell``, at every offset: the same records, names and data where the twin reads,
an error where it refuses. Checked on every byte offset of two small hives, and on records
planted at the edges of a page, in 4 KiB bins and inside a larger bin."""

from __future__ import annotations

import pytest

from tests.helpers import FIXTURES
from winmigrate.errors import HiveFormatError
from winmigrate.regf import layout as L
from winmigrate.regf.image import Image
from winmigrate.regf.records import (
    _checked_subkey_offsets,
    _checked_value_offsets,
    read_children,
    read_nk_named,
    read_values,
    read_vk_named,
    subkey_offsets,
    value_data,
    value_offsets,
)


def _outcome(read, *args):  # type: ignore[no-untyped-def]
    try:
        return "ok", read(*args)
    except HiveFormatError:
        return "error", None


def _value_via_fast_path(img: Image, off: int) -> tuple[tuple, str, bytes | None]:  # type: ignore[type-arg]
    [(got_off, name, fields, data)] = read_values(img, [off], lambda _o, *a: a, None)
    assert got_off == off
    return fields, name, data


def _key_via_fast_path(img: Image, off: int) -> tuple[tuple, str]:  # type: ignore[type-arg]
    [(nk, name)] = read_children(img, [off], lambda _o, _off, nk, name, _p, _d: (nk, name),
                                 None, None, 1)
    return nk, name


def _assert_agree_at(img: Image, off: int) -> int:
    """Compare the fast and checked readers at ``off``; how many of them read something."""
    read = 0
    checked = _outcome(read_vk_named, img, off)
    fast = _outcome(_value_via_fast_path, img, off)
    assert fast[0] == checked[0], off
    if checked[0] == "ok":
        read += 1
        fields, name = checked[1]
        got_fields, got_name, data = fast[1]
        assert (got_fields, got_name) == (fields, name), off
        if data is not None:  # what the fast path vouches for is exactly the stored data
            size, where = fields[L.VK_DATA_SIZE], fields[L.VK_DATA_OFFSET]
            assert _outcome(value_data, img, off, size, where) == ("ok", data), off
    checked = _outcome(read_nk_named, img, off)
    assert _outcome(_key_via_fast_path, img, off) == checked, off
    read += checked[0] == "ok"
    for count in (1, 2, 5):
        checked = _outcome(_checked_value_offsets, img, off, count)
        assert _outcome(value_offsets, img, off, count) == checked, (off, count)
        read += checked[0] == "ok"
        checked = _outcome(_checked_subkey_offsets, img, off, count)
        assert _outcome(subkey_offsets, img, off, count) == checked, (off, count)
        read += checked[0] == "ok"
    return read


def _assert_agree(buf: bytes | bytearray) -> int:
    """``_assert_agree_at`` on every offset of the bins and a little past them."""
    bins_size = L.I32.unpack_from(buf, 40)[0]
    img = Image(buf, bins_size, 5)
    return sum(_assert_agree_at(img, off) for off in range(0, bins_size + 64))


@pytest.mark.parametrize("name", ["xen_win7_small.hiv", "types_1_5.hiv"])
def test_fast_readers_agree_with_image_cell_on_every_offset(name: str) -> None:
    buf = (FIXTURES / name).read_bytes()
    if name == "types_1_5.hiv":
        buf = buf[:32768]  # its first 7 pages: enough cells, a bounded run time
        buf = buf[:40] + L.U32.pack(len(buf) - 4096) + buf[44:]
    assert _assert_agree(buf) > 20


# Where a planted cell starts in its page, and how its size compares with the room left there.
_STARTS = [0, 8, 16, 24, 32, 40, 64, 4096 - 96, 4096 - 40, 4096 - 32, 4096 - 24, 4096 - 16,
           4096 - 8]
_ROOM_DELTAS = [-16, -12, -8, 0, 8, 16, 4096]  # (-12: a size that is not a multiple of 8)


def _plant(buf: bytearray, rel: int, kind: str, size_field: int, data_rel: int) -> None:
    """One record of ``kind`` at ``rel`` (relative), with the cell size field given."""
    a = rel + 4096
    if kind == "vk":
        body = L.VK.pack(b"vk", 4, 12, data_rel, 1, 1, 0) + b"Name"
    elif kind == "nk":
        body = L.NK.pack(b"nk", 0x20, *[0] * 16, 4, 0) + b"Name"
    elif kind == "lh":
        body = L.LIST_HEADER.pack(b"lh", 2) + (L.U32.pack(rel) + b"\0" * 4) * 2
    else:  # a value list, or a data cell
        body = L.U32.pack(rel) * 5
    piece = L.I32.pack(size_field) + body
    end = min(a + len(piece), len(buf))
    buf[a:end] = piece[:end - a]


@pytest.mark.parametrize("fixture,page", [("xen_win7_small.hiv", 5),  # 4 KiB bins
                                          ("types_1_5.hiv", 2)])  # inside a 16 KiB bin
@pytest.mark.parametrize("kind", ["vk", "nk", "lh", "list", "data"])
def test_fast_readers_agree_on_cells_planted_at_page_edges(fixture: str, page: int,
                                                            kind: str) -> None:
    """A record planted at each start near a page's beginning and end, its cell ending before,
    at and after the page end (into the next bin's header with 4 KiB bins; inside the same bin
    with larger ones), allocated or free: the cases the page rule must get right. A data cell is
    planted the same way behind a good value record."""
    base = (FIXTURES / fixture).read_bytes()
    bins_size = L.I32.unpack_from(base, 40)[0]
    good = page * 4096 + 256  # a value record the data cells hang from
    read = 0
    for start in _STARTS:
        rel = page * 4096 + start
        for delta in _ROOM_DELTAS:
            for sign in (-1, 1):
                size = sign * (4096 - start + delta)
                buf = bytearray(base)
                if kind == "data":
                    _plant(buf, good, "vk", -32, rel)
                    _plant(buf, rel, kind, size, 0)
                    offsets = [good, rel]
                else:
                    _plant(buf, rel, kind, size, good)
                    offsets = [rel]
                # Also with a hive bins size that ends inside the page after the planted cell
                # (a tolerant read of a truncated file clips it so).
                for end in (bins_size, (page + 1) * 4096 + 200):
                    img = Image(buf, end, 5)
                    read += sum(_assert_agree_at(img, off) for off in offsets)
    assert read > 0
