"""Each format rule the writer must keep (regf-notes.md), tested on its own."""

from __future__ import annotations

import random
import struct
import time

import pytest

import winmigrate
from tests.helpers import (
    BIG_SYSTEM,
    FIXTURES,
    WIN7_SYSTEM,
    assert_written_ok,
    corpus_file,
    dump_hive,
)
from winmigrate.regf import layout as L
from winmigrate.regf.names import collation_key, lh_hash
from winmigrate.regf.records import list_leaves


def _list_shape(key: winmigrate.Key) -> list[tuple[bytes, int]]:
    """(signature, element count) of each leaf; an ri shows as its leaves."""
    return [(sig, len(els)) for _off, sig, els, _h in list_leaves(key.hive._img,
                                                                   key._fields()[L.NK_SUBKEY_LIST])]


def _is_ri(key: winmigrate.Key) -> bool:
    img = key.hive._img
    start, _n = img.cell(key._fields()[L.NK_SUBKEY_LIST])
    return bytes(img.buf[start:start + 2]) == b"ri"


TRICKY = ["b", "B2", "a", "Äpfel", "apfel", "Zebra", "straße", "STRASSE", "İstanbul", "ıi",
          "Ωμέγα", "омега", "Москва", "東京", "中文", "😀", "~tilde", "_under", "[bracket",
          "CaseTwin", "casetwin2", "é", "E", "ÿ", "Ÿ2"]


@pytest.mark.parametrize("version", [(1, 3), (1, 5)])
def test_sorted_in_windows_order_with_the_right_list_kind(version: tuple[int, int]) -> None:
    hive = winmigrate.create(version=version)
    parent = hive.root.create_key("P")
    names = TRICKY[:]
    random.Random(1).shuffle(names)
    for name in names:
        parent.create_key(name)
    stored = [k.name for k in parent.subkeys()]
    assert stored == sorted(TRICKY, key=collation_key)
    ((sig, count),) = _list_shape(parent)
    assert count == len(TRICKY)
    assert sig == (b"lh" if version >= (1, 5) else b"lf")
    for _off, _sig, _elements, hints in list_leaves(hive._img, parent._fields()[7]):
        if sig == b"lh":
            assert hints == [lh_hash(n) for n in stored]
    assert_written_ok(hive, unreferenced=False)
    # Names differing only in case are one key.
    with pytest.raises(winmigrate.KeyExistsError):
        parent.create_key("ÄPFEL", exist_ok=False)


def test_leaf_split_at_507_and_ri_collapse() -> None:
    hive = winmigrate.create()
    parent = hive.root.create_key("P")
    for i in range(507):
        parent.create_key(f"k{i:04d}")
    assert not _is_ri(parent) and _list_shape(parent) == [(b"lh", 507)]
    parent.create_key("k0507")  # the 508th element splits the leaf under an ri
    assert _is_ri(parent)
    shape = _list_shape(parent)
    assert len(shape) == 2 and sum(n for _s, n in shape) == 508
    assert all(n <= L.MAX_LEAF_ELEMENTS for _s, n in shape)
    for i in range(508, 2000):
        parent.create_key(f"k{i:04d}")
    assert all(n <= L.MAX_LEAF_ELEMENTS for _s, n in _list_shape(parent))
    assert [k.name for k in parent.subkeys()] == [f"k{i:04d}" for i in range(2000)]
    assert_written_ok(hive, unreferenced=False)
    # Deleting empties and removes leaves; an ri left with one leaf becomes that leaf.
    for i in range(1, 2000):
        parent.delete_key(f"k{i:04d}")
    assert not _is_ri(parent) and _list_shape(parent) == [(b"lh", 1)]
    parent.delete_key("k0000")
    assert parent._fields()[L.NK_SUBKEY_LIST] == L.NIL and parent.subkey_count == 0
    report = hive.check()
    assert report.ok and report.unreferenced_cells == ()


def _cells(hive: winmigrate.Hive) -> list[tuple[int, int]]:
    out = []
    for b in hive._img.walk_bins():
        out.extend(hive._img.iter_cells(b))
    return out


def test_cells_aligned_inside_bins_and_bins_whole_pages() -> None:
    hive = winmigrate.create()
    k = hive.root.create_key("K")
    for size in (0, 1, 4, 5, 100, 4000, 4096, 9000, 16344, 16345, 70000):
        k.set_value(f"v{size}", raw=bytes(size))
    for b in hive._img.walk_bins():
        assert b.offset % 4096 == 0 and b.size % 4096 == 0
    total = 0
    for off, size in _cells(hive):
        assert off % 8 == 0 and abs(size) % 8 == 0
        total += abs(size)
    assert hive._img.bins_size == sum(b.size for b in hive._img.walk_bins())
    assert_written_ok(hive, unreferenced=False)


def test_free_cells_are_reused_split_and_coalesced() -> None:
    hive = winmigrate.create()
    alloc = hive._edit().alloc
    a, b, c = (alloc.alloc(1000) for _ in range(3))
    assert b == a + 1008 and c == b + 1008  # consecutive cells carved from one free cell
    size_before = hive._img.bins_size
    alloc.free(a)
    alloc.free(b)  # b's free neighbour a absorbs it: one free cell of 2016 bytes
    cells = dict(_cells(hive))
    assert cells[a] == 2016 and b not in cells and cells[c] == -1008
    free_before = {o: s for o, s in _cells(hive) if s > 0}
    d = alloc.alloc(100)  # best fit: the smallest free cell that fits, split
    cells = dict(_cells(hive))
    assert d in free_before and min(s for s in free_before.values() if s >= 104) == free_before[d]
    assert cells[d] == -104 and cells.get(d + 104, 0) == max(free_before[d] - 104, 0)
    e = alloc.alloc(1500)  # only the merged cell fits
    assert e == a and dict(_cells(hive))[a + 1504] == 2016 - 1504
    alloc.free(c)  # c merges with the free cell before it (and the one after, if free)
    cells = dict(_cells(hive))
    assert c not in cells and cells[a + 1504] >= 2016 - 1504 + 1008
    assert hive._img.bins_size == size_before  # nothing appended while free space fits


def test_bins_are_appended_only_when_nothing_fits() -> None:
    hive = winmigrate.create()
    k = hive.root.create_key("K")
    start = hive._img.bins_size
    k.set_value("fits", raw=bytes(200))
    assert hive._img.bins_size == start
    k.set_value("large", raw=bytes(12000))
    assert hive._img.bins_size == start + 12288  # one bin, in 4 KiB steps, for the 12008-byte cell
    data = hive.to_bytes()
    assert struct.unpack_from("<I", data, 40)[0] == hive._img.bins_size
    assert len(data) == 4096 + hive._img.bins_size


def test_a_small_edit_of_a_dense_hive_scans_its_last_bins_only() -> None:
    """Windows leaves a freshly written hive dense at the front: its free space lies in the last
    bins. The lazy free-cell index starts there, and still reuses free space before growing."""
    hive = winmigrate.open(corpus_file(BIG_SYSTEM), writable=True, logs="ignore", lock=False)
    size = hive._img.bins_size
    services = hive.key(hive.current_control_set + "\\Services")
    services.create_key("viostor").set_value("Start", 0)
    alloc = hive._edit().alloc
    assert len(alloc._indexed) < len(alloc.bins) // 10  # 2,800 bins; a few hundred at most
    assert hive._img.bins_size == size  # the new cells went into existing free cells
    assert alloc.free_bytes() > 0 and len(alloc._indexed) == len(alloc.bins)
    assert_written_ok(hive, unreferenced=False)


@pytest.mark.parametrize(("version", "size", "layout"), [
    ((1, 5), 0, "resident"), ((1, 5), 4, "resident"), ((1, 5), 5, "cell"),
    ((1, 5), 16344, "cell"), ((1, 5), 16345, "db"), ((1, 5), 1 << 20, "db"),
    ((1, 4), 16345, "db"), ((1, 3), 16345, "cell"), ((1, 3), 1 << 20, "cell"),
])
def test_value_data_layout(version: tuple[int, int], size: int, layout: str) -> None:
    hive = winmigrate.create(version=version)
    k = hive.root.create_key("K")
    raw = bytes(i % 256 for i in range(size))
    v = k.set_value("v", raw=raw)
    size_field, data_off = v._vk[L.VK_DATA_SIZE], v._vk[L.VK_DATA_OFFSET]
    if layout == "resident":
        assert size_field == L.DATA_RESIDENT | size
        assert size or data_off == 0  # zero-length data: resident, as Windows stores it
    else:
        assert size_field == size
        start, _n = hive._img.cell(data_off)
        is_db = bytes(hive._img.buf[start:start + 2]) == b"db"
        assert is_db == (layout == "db")
        if is_db:  # every segment, the last too, is a full 16344-byte cell, as Windows makes them
            _sig, count, seg_list = L.DB.unpack_from(hive._img.buf, start)
            lstart, _n = hive._img.cell(seg_list)
            for seg in L.u32_array(count).unpack_from(hive._img.buf, lstart):
                assert hive._img.cell(seg)[1] >= L.BIG_DATA_SEGMENT
    again = winmigrate.Hive.from_bytes(hive.to_bytes())
    assert again.key("K").value("V").raw == raw
    assert_written_ok(hive, unreferenced=False)


def test_max_fields_grow_on_insert_and_are_recounted_after_delete() -> None:
    hive = winmigrate.create()
    k = hive.root.create_key("K")
    k.create_key("short")
    k.create_key("a_much_longer_name")
    k.set_value("n", raw=bytes(10))
    k.set_value("a_long_value_name", raw=bytes(5000))
    nk = k._fields()
    assert nk[L.NK_MAX_NAME] & 0xFFFF == 2 * len("a_much_longer_name")
    assert nk[L.NK_MAX_VALUE_NAME] == 2 * len("a_long_value_name")
    assert nk[L.NK_MAX_VALUE_DATA] == 5000
    k.delete_key("a_much_longer_name")
    k.delete_value("a_long_value_name")
    hive.to_bytes()  # derived fields are recounted before the hive is written out
    nk = k._fields()
    assert nk[L.NK_MAX_NAME] & 0xFFFF == 2 * len("short")
    assert nk[L.NK_MAX_VALUE_NAME] == 2 and nk[L.NK_MAX_VALUE_DATA] == 10
    # The longest class name of the subkeys (UTF-16 bytes), the same way.
    assert nk[L.NK_MAX_CLASS] == 0
    k.subkey("short").set_class_name("a class name")
    k.create_key("other").set_class_name("cls")
    assert k._fields()[L.NK_MAX_CLASS] == 2 * len("a class name")
    k.subkey("short").set_class_name(None)
    hive.to_bytes()
    assert k._fields()[L.NK_MAX_CLASS] == 2 * len("cls")
    k.delete_key("other")
    hive.to_bytes()
    assert k._fields()[L.NK_MAX_CLASS] == 0


def test_timestamps_and_base_block_after_a_save() -> None:
    hive = winmigrate.create()
    old = hive.root.timestamp
    time.sleep(0.01)
    child = hive.root.create_key("K")
    assert hive.root.timestamp > old  # the parent's subkey list changed
    t = child.timestamp
    time.sleep(0.01)
    child.set_value("v", 1)
    assert child.timestamp > t
    seq = hive.sequence[0]
    data = hive.to_bytes()
    s1, s2, written = struct.unpack_from("<IIQ", data, 4)
    assert s1 == s2 == seq + 1
    assert written >= child.timestamp
    reread = winmigrate.Hive.from_bytes(data)
    assert reread.base_block.checksum_ok and not reread.dirty


@pytest.mark.corpus
def test_untouched_cells_and_foreign_bits_are_preserved() -> None:
    original = corpus_file(WIN7_SYSTEM).read_bytes()
    hive = winmigrate.Hive.from_bytes(original, writable=True)
    data = hive.to_bytes()
    bins_size = struct.unpack_from("<I", original, 40)[0]
    # No change: every cell identical; the base block differs only in what a save stamps.
    assert data[4096:] == original[4096:4096 + bins_size]
    for offset in range(0, 508, 4):
        if offset not in (4, 8, 12, 16):
            assert data[offset:offset + 4] == original[offset:offset + 4], offset
    assert data[512:4096] == original[512:4096]
    # A change touches only the cells it must: a value's data changed in place.
    hive = winmigrate.Hive.from_bytes(original, writable=True)
    key = hive.key(r"ControlSet001\Services\Tcpip")
    nk_before = key._fields()
    key.set_value("Start", 3)
    nk_after = key._fields()
    for field in (L.NK_FLAGS, L.NK_ACCESS_BITS, L.NK_PARENT, L.NK_SUBKEY_COUNT, L.NK_SECURITY,
                  L.NK_CLASS, L.NK_MAX_NAME, L.NK_WORKVAR, L.NK_VALUE_LIST):
        assert nk_before[field] == nk_after[field], field
    after = hive.to_bytes()
    a, b = memoryview(after)[4096:], memoryview(original)[4096:4096 + bins_size]
    assert len(a) == len(b)
    changed = [i for i in range(0, len(a), 8) if a[i:i + 8] != b[i:i + 8]]
    assert len(changed) <= 4  # the DWORD (resident) and the key's timestamp
    assert_written_ok(hive, unreferenced=False)


@pytest.mark.parametrize("rel", ["kupiakos_qthivex/hives/SYSTEM",  # 1.5, access bits 2
                                 "msuhanov_yarp/hives_for_tests/System_Delta"])  # 1.6, layered
def test_access_bits_and_layered_key_fields_survive_edits(rel: str) -> None:
    """The nk's access bits (and, in 1.6, the layered-key bit fields beside them) belong to
    Windows: values set, subkeys added and renames leave them as they were."""
    hive = winmigrate.Hive.from_bytes(corpus_file(rel).read_bytes(), writable=True)
    marked = [k for k in hive.walk() if k._fields()[L.NK_ACCESS_BITS]][:40]
    assert marked  # the hive really has such keys: the test can fail
    expected = {}
    for i, key in enumerate(marked):
        bits = key._fields()[L.NK_ACCESS_BITS]
        key.set_value("winmigrate-test", i)
        key.create_key(f"winmigrate-sub-{i}")
        if i % 3 == 0 and key.parent is not None:
            key.rename(key.name + "-renamed-\u0416")  # a UTF-16 name: the node is rewritten
        expected[key.path] = bits
    saved = winmigrate.Hive.from_bytes(hive.to_bytes())
    for path, bits in expected.items():
        assert saved.key(path)._fields()[L.NK_ACCESS_BITS] == bits, path
    assert_written_ok(saved, unreferenced=False)


def test_unchanged_open_save_is_logically_identical(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("types_1_3.hiv", "types_1_5.hiv", "many_subkeys.hiv"):
        target = tmp_path / name
        target.write_bytes((FIXTURES / name).read_bytes())
        before = dump_hive(winmigrate.open(target))
        with winmigrate.open(target, writable=True) as hive:
            hive.save()
        after = winmigrate.open(target)
        assert dump_hive(after) == before
        assert after.base_block.primary_sequence == winmigrate.open(FIXTURES / name).sequence[0] + 1
