"""The allocator's scan budget: a hive with no free space is not walked cell by cell in full for
one new cell, and a long edit still finds every free cell after a bounded growth."""

from __future__ import annotations

from pathlib import Path

import winmigrate
from tests.helpers import corpus_file
from winmigrate.regf import allocator as A

BIG = "mkorman90_regipy/_history/9726b9e2ee/regipy_tests/data/SYSTEM"


def _compacted(tmp_path: Path) -> Path:
    """The 16 MB hive compacted: no free cell anywhere but the last bin's tail."""
    import shutil

    copy = tmp_path / "copy.hiv"
    shutil.copyfile(corpus_file(BIG), copy)
    out = tmp_path / "compact.hiv"
    with winmigrate.open(copy, writable=True) as hive:
        hive.save(out, compact=True)
    return out


def test_first_miss_scans_a_budget_then_grows(tmp_path: Path) -> None:
    path = _compacted(tmp_path)
    with winmigrate.open(path, writable=True) as hive:
        key = hive.key(rf"{hive.current_control_set}\Services")
        size0 = hive._img.bins_size
        key.create_key("new").set_value("Big", b"x" * 6000)  # bigger than the last bin's tail
        alloc = hive._edit().alloc
        scanned = size0 - (alloc.bins[alloc._scan_below].offset if alloc._scan_below else 0)
        assert alloc._scan_below > 0  # not the whole hive
        # two misses at most (the key's cells, then the 6000-byte value): 1 + 2 budgets
        assert scanned <= 3 * A.SCAN_BUDGET + 65536 < size0 // 2
        assert hive._img.bins_size - size0 <= 8192 + 4096  # one bin (the value, its cells)
        assert hive.check().ok


def test_a_long_edit_indexes_everything(tmp_path: Path) -> None:
    path = _compacted(tmp_path)
    with winmigrate.open(path, writable=True) as hive:
        services = hive.key(rf"{hive.current_control_set}\Services")
        for i in range(200):
            services.create_key(f"k{i}").set_value("Big", b"y" * 20000)
        alloc = hive._edit().alloc
        assert alloc._scan_below == 0  # the budget doubled until the whole hive was indexed
        assert hive.check().ok
