"""The editing API: what each call does, what it refuses, and transactions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import winmigrate
from tests.helpers import FIXTURES, assert_written_ok
from winmigrate import RegType


def reopen(hive: winmigrate.Hive) -> winmigrate.Hive:
    return winmigrate.Hive.from_bytes(hive.to_bytes(), writable=True)


def test_create_key_with_intermediates_and_exist_ok() -> None:
    hive = winmigrate.create()
    key = hive.root.create_key("A/B/C")  # '/' separates in a path without backslashes
    assert key.path == "A\\B\\C" and hive.key("a\\b\\c") == key
    assert hive.root.create_key(r"A\B/C").name == "B/C"  # ... and is a name character otherwise
    assert hive.root.create_key("a\\B\\c") == key  # exists: returned, case-insensitively
    with pytest.raises(winmigrate.KeyExistsError):
        hive.root.create_key("A\\B\\C", exist_ok=False)
    hive.root.create_key("A\\B\\D", exist_ok=False)
    for bad in ("", "\\", "a\0b", "x" * 256):
        with pytest.raises(winmigrate.UsageError):
            hive.root.create_key(bad)
    hive.root.create_key("x" * 255)  # the longest name Windows allows


def test_delete_key() -> None:
    hive = winmigrate.create()
    hive.root.create_key("A\\B\\C").set_value("v", 1)
    with pytest.raises(winmigrate.UsageError):
        hive.root.delete_key("A")  # has subkeys
    a = hive.key("A")
    hive.root.delete_key("a", recursive=True)
    assert hive.get_key("A") is None and hive.root.subkey_count == 0
    with pytest.raises(winmigrate.UsageError):
        a.values()  # a deleted key cannot be used
    with pytest.raises(winmigrate.KeyNotFoundError):
        hive.root.delete_key("A")
    report = hive.check()
    assert report.ok and report.unreferenced_cells == ()


def test_rename() -> None:
    hive = winmigrate.create()
    k = hive.root.create_key("Old")
    k.create_key("Child").set_value("v", "x")
    hive.root.create_key("Other")
    k.rename("New name that is much longer than the old one so the node must move")
    assert hive.key("new name that is much longer than the old one so the node must move") == k
    assert hive.get_key("Old") is None
    assert k.subkey("child").get("v") == "x" and k.subkey("Child").parent == k
    k.rename("NEW")  # case and length change
    assert [c.name for c in hive.root.subkeys()] == ["NEW", "Other"]
    with pytest.raises(winmigrate.KeyExistsError):
        k.rename("other")
    k.rename("new")  # only the case changes
    assert hive.root.subkey("NEW").name == "new"
    h2 = reopen(hive)
    assert h2.key("new\\Child").get("v") == "x"
    assert hive.check().ok and hive.check().unreferenced_cells == ()


def test_set_value_inference_and_explicit_types() -> None:
    hive = winmigrate.create()
    k = hive.root.create_key("K")
    assert k.set_value("s", "text").type is RegType.SZ
    assert k.set_value("d", 7).type is RegType.DWORD
    assert k.set_value("m", ["a", "b"]).type is RegType.MULTI_SZ
    assert k.set_value("b", b"\x00").type is RegType.BINARY
    assert k.set_value("q", 1 << 40, RegType.QWORD).data == 1 << 40
    assert k.set_value("e", "%PATH%", RegType.EXPAND_SZ).raw == "%PATH%\0".encode("utf-16-le")
    assert k.set_value("r", raw=b"xyz", type=RegType.SZ).raw == b"xyz"
    assert k.set_value("r0", raw=b"").type is RegType.BINARY
    assert k.set_value("t", raw=b"\x01", type=0x12345).type == 0x12345
    with pytest.raises(winmigrate.UsageError):
        k.set_value("big", 1 << 32)  # does not fit a DWORD; say QWORD
    with pytest.raises(winmigrate.UsageError):
        k.set_value("both", "x", raw=b"x")
    with pytest.raises(winmigrate.UsageError):
        k.set_value("neither")
    with pytest.raises(winmigrate.UsageError):
        k.set_value("float", 1.5)
    # Replacing keeps the stored name's case and the value's place.
    k.set_value("S", "new")
    assert [v.name for v in k.values()][0] == "s" and k.get("s") == "new"
    k.set_value("", "default")
    assert k.value("").data == "default"


def test_delete_value_and_class_name() -> None:
    hive = winmigrate.create()
    k = hive.root.create_key("K")
    k.set_value("a", 1)
    k.set_value("b", b"x" * 50_000)
    k.delete_value("B")
    assert [v.name for v in k.values()] == ["a"]
    with pytest.raises(winmigrate.ValueNotFoundError):
        k.delete_value("b")
    k.delete_value("a")
    assert k.value_count == 0
    k.set_class_name("Class")
    assert k.class_name == "Class"
    k.set_class_name(None)
    assert k.class_name is None
    assert hive.check().ok and hive.check().unreferenced_cells == ()


def test_security_sharing_and_set_security() -> None:
    from winmigrate.regf.security import build_descriptor

    hive = winmigrate.create()
    root_sd = hive.root.security
    assert root_sd is not None and root_sd.reference_count == 1
    a = hive.root.create_key("A")
    b = hive.root.create_key("B")
    assert a.security is not None and a.security.offset == root_sd.offset
    assert hive.root.security.reference_count == 3  # type: ignore[union-attr]
    other = build_descriptor(owner="S-1-5-18", group="S-1-5-18",
                             dacl=[(0, 2, 0xF003F, "S-1-5-18")])
    a.set_security(other)
    b.set_security(other)  # an identical descriptor is shared, not copied
    assert a.security.offset == b.security.offset != root_sd.offset  # type: ignore[union-attr]
    assert a.security.reference_count == 2  # type: ignore[union-attr]
    assert hive.root.security.reference_count == 1  # type: ignore[union-attr]
    c = a.create_key("C")  # inherits its parent's record
    assert c.security.offset == a.security.offset  # type: ignore[union-attr]
    hive.root.delete_key("A", recursive=True)
    hive.root.delete_key("B")
    # The unreferenced record was freed and unlinked from the ring.
    report = hive.check()
    assert report.ok, report
    assert report.unreferenced_cells == ()
    with pytest.raises(winmigrate.UsageError):
        hive.root.create_key("D").set_security(b"not a descriptor")


def test_transactions_roll_back_everything() -> None:
    hive = winmigrate.create()
    hive.root.create_key("Keep").set_value("v", 1)
    before = hive.to_bytes()[4096:]
    keep = hive.key("Keep")
    with pytest.raises(RuntimeError):
        with hive.transaction():
            made = hive.root.create_key("New\\Deep")
            made.set_value("x", b"y" * 30_000)
            keep.rename("Renamed")
            keep.set_value("v", 2)
            hive.root.delete_key("Renamed")
            raise RuntimeError("boom")
    assert hive.to_bytes()[4096:] == before
    assert keep.name == "Keep" and keep.get("v") == 1 and hive.get_key("New") is None
    with pytest.raises(winmigrate.UsageError):
        made.values()  # created inside the rolled-back transaction
    with hive.transaction():
        hive.root.create_key("Committed")
    assert hive.get_key("Committed") is not None
    assert_written_ok(hive, unreferenced=False)


def test_read_only_tolerant_and_dirty_refuse_to_change(tmp_path: Path) -> None:
    path = FIXTURES / "types_1_5.hiv"
    with winmigrate.open(path) as hive:
        with pytest.raises(winmigrate.NotWritableError):
            hive.root.create_key("x")
        with pytest.raises(winmigrate.NotWritableError):
            hive.save(tmp_path / "out")
        with pytest.raises(winmigrate.NotWritableError):
            hive.to_bytes()
    with winmigrate.open(path, strict=False) as hive, pytest.raises(winmigrate.NotWritableError):
        hive.root.set_value("x", 1)
    dirty = bytearray(path.read_bytes())
    dirty[4] ^= 1  # primary sequence != secondary: dirty, and no logs beside it
    target = tmp_path / "dirty.hiv"
    target.write_bytes(dirty)
    with winmigrate.open(target, writable=True, logs="ignore") as hive:
        assert hive.dirty and hive.root.name == "FIXTURE"
        with pytest.raises(winmigrate.DirtyHiveError):
            hive.root.create_key("x")
        with pytest.raises(winmigrate.DirtyHiveError):
            hive.save()
    assert target.read_bytes() == dirty


def test_a_read_only_file_is_not_opened_writable(tmp_path: Path) -> None:
    """No write permission bit means "do not change it", also for root (who could write it):
    a writable open is refused unless ``force=True``; reading is not affected."""
    target = tmp_path / "SYSTEM"
    target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    target.chmod(0o444)
    with pytest.raises(winmigrate.ReadOnlyHiveError) as info:
        winmigrate.open(target, writable=True)
    assert isinstance(info.value, winmigrate.NotWritableError)
    assert info.value.path == str(target)
    assert str(info.value) == (f"{target} is read-only (mode 0444): make it writable (chmod u+w) "
                               "to change it, or open it with force=True")
    with winmigrate.open(target) as hive:
        assert hive.root.name == "FIXTURE"
    with pytest.raises(winmigrate.UsageError, match="force must be True or False"):
        winmigrate.open(target, writable=True, force=1)  # type: ignore[arg-type]
    if os.geteuid() != 0:
        pytest.skip("only root can write a read-only file")
    with winmigrate.open(target, writable=True, force=True) as hive:
        hive.root.create_key("Forced")
        hive.save()
    with winmigrate.open(target) as hive:
        assert hive.get_key("Forced") is not None
    assert target.stat().st_mode & 0o777 == 0o444


def test_save_replaces_atomically_and_reopens(tmp_path: Path) -> None:
    target = tmp_path / "h.hiv"
    target.write_bytes((FIXTURES / "types_1_5.hiv").read_bytes())
    target.chmod(0o640)
    with winmigrate.open(target, writable=True) as hive:
        seq = hive.sequence[0]
        hive.root.create_key("Added").set_value("n", 1)
        hive.save()
        assert not hive.modified and hive.sequence == (seq + 1, seq + 1)
        hive.root.create_key("Added2")
        hive.save()  # a second save of the same open hive
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.hiv"]  # no temporary left over
    with winmigrate.open(target) as hive:
        assert hive.key("Added").get("n") == 1 and hive.get_key("Added2") is not None
        assert hive.sequence == (seq + 2, seq + 2) and not hive.dirty
        assert_written_ok(hive, unreferenced=False)
    created = winmigrate.create()
    with pytest.raises(winmigrate.UsageError):
        created.save()  # in memory: no file to replace
    created.save(tmp_path / "new.hiv")
    assert winmigrate.open(tmp_path / "new.hiv").root.name == "ROOT"


def test_second_writer_is_locked_out(tmp_path: Path) -> None:
    target = tmp_path / "h.hiv"
    target.write_bytes((FIXTURES / "deep.hiv").read_bytes())
    with winmigrate.open(target, writable=True):
        with pytest.raises(winmigrate.HiveLockedError):
            winmigrate.open(target, writable=True)
        with winmigrate.open(target) as reader:  # readers are not blocked
            assert reader.root.name == "DEEP"
    with winmigrate.open(target, writable=True):
        pass


def test_compact_keeps_content_and_drops_free_space(tmp_path: Path) -> None:
    from tests.helpers import dump_hive

    with winmigrate.open(FIXTURES / "many_subkeys.hiv", writable=True, lock=False) as hive:
        services = hive.key("Services")
        for i in range(0, 1500, 2):
            services.delete_key(f"svc{i:04d}")
        before = dump_hive(hive)
        loose = len(hive.to_bytes())
        hive.save(tmp_path / "compact.hiv", compact=True)
    with winmigrate.open(tmp_path / "compact.hiv") as compacted:
        assert dump_hive(compacted) == before
        report = compacted.check()
        assert report.ok and report.unreferenced_cells == ()
        assert (tmp_path / "compact.hiv").stat().st_size < loose
        assert report.free_bytes < 4096 * 2


def test_values_of_a_writable_hive_are_immutable_bytes() -> None:
    hive = winmigrate.create()
    key = hive.root.create_key("K")
    key.set_value("x", b"123456789")
    key.set_value("small", b"12")
    for value in hive.key("K").values():
        assert type(value.raw) is bytes
        assert type(value.data) is bytes


def test_create_subkey_takes_one_literal_name() -> None:
    hive = winmigrate.create()
    cdd = hive.root.create_key("CriticalDeviceDatabase")
    name = "SCSI#DiskMATSHITALS-120/240____00"
    key = cdd.create_subkey(name)
    assert key.name == name and cdd.subkey(name) == key and cdd.subkey_count == 1
    assert cdd.create_subkey(name.lower()) == key
    with pytest.raises(winmigrate.KeyExistsError):
        cdd.create_subkey(name, exist_ok=False)
    with pytest.raises(winmigrate.UsageError):
        cdd.create_subkey("a\\b")
    assert cdd.get_value("x") is None
    cdd.set_value("x", 1)
    assert cdd.get_value("X").data == 1  # type: ignore[union-attr]


def test_many_values_on_one_key_cost_linear_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value list is unsorted: keys with many values get a name index, kept current by the
    writer, so setting n values one by one reads O(n) records, not O(n^2)."""
    from winmigrate.hive import key as key_module
    from winmigrate.hive import lookup as lookup_module

    reads = 0
    original = key_module.read_vk_named

    def counting(img, off):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return original(img, off)

    for module in (key_module, lookup_module):  # the model's reads and the lookups' scans
        monkeypatch.setattr(module, "read_vk_named", counting)
    hive = winmigrate.create()
    key = hive.root.create_key("K")
    n = 2000
    for i in range(n):
        key.set_value(f"v{i}", i)
    for i in range(0, n, 7):
        key.set_value(f"V{i}", -i)  # replaced, case-insensitively
    assert reads < 10 * n  # the scan of every list would be ~n^2 / 2 = 2,000,000
    assert [key.get(f"v{i}") for i in range(0, 30)] == [(-i & 0xFFFFFFFF) if i % 7 == 0 else i
                                                          for i in range(0, 30)]
    key.delete_value("v5")
    assert key.get_value("V5") is None and key.get("v6") == 6 and len(key.values()) == n - 1
    with hive.transaction():
        key.set_value("new", 1)
    with pytest.raises(RuntimeError):
        with hive.transaction():
            key.set_value("rolled back", 1)
            raise RuntimeError
    assert key.get("new") == 1 and key.get_value("rolled back") is None
    assert_written_ok(hive, unreferenced=False)


@pytest.mark.parametrize("count", [3, 40])
def test_case_twins_in_a_foreign_value_list_resolve_to_the_first(count: int) -> None:
    """Two values whose names differ only in case (a damaged or foreign-written hive): a lookup
    finds the first in list order, with or without the name index."""
    hive = winmigrate.create()
    key = hive.root.create_key("K")
    for i in range(count - 2):
        key.set_value(f"filler{i}", i)
    key.set_value("Twin", "first")
    key.set_value("Xwin", "second")
    data = bytearray(hive.to_bytes())
    at = data.index(b"Xwin")
    data[at:at + 1] = b"t"  # "twin": now a case twin of "Twin", listed after it
    key = winmigrate.Hive.from_bytes(bytes(data)).key("K")
    assert [v.name for v in key.values()][-2:] == ["Twin", "twin"]
    assert key.get("TWIN") == "first" and key.get_value("twin").data == "first"
