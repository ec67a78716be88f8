"""The reading API on the project's own fixtures (fixtures/hives, made by
fixtures/make_fixtures.py)."""

from __future__ import annotations

import os

import pytest

import winmigrate
from tests.helpers import FIXTURES
from winmigrate import RegType


@pytest.fixture(params=["types_1_3.hiv", "types_1_4.hiv", "types_1_5.hiv"])
def types_hive(request: pytest.FixtureRequest) -> winmigrate.Hive:
    with winmigrate.open(FIXTURES / request.param) as hive:
        yield hive


def test_open_and_basic_properties(types_hive: winmigrate.Hive) -> None:
    hive = types_hive
    assert hive.root.name == "FIXTURE" and hive.root.path == "" and hive.root.parent is None
    assert hive.version[0] == 1 and not hive.dirty and hive.sequence[0] == hive.sequence[1]
    assert hive.last_written is not None and hive.last_written.year == 2024
    assert not hive.writable and hive.current_control_set is None
    assert "types_1_" in repr(hive)


def test_lookup_is_case_insensitive_with_either_separator(types_hive: winmigrate.Hive) -> None:
    hive = types_hive
    k1 = hive.key("Names\\Äpfel")
    assert hive.key("names/äPFEL") == k1 and hive.key("\\NAMES\\äpfel\\") == k1
    assert hive.key("Names").subkey("ÄPFEL") == k1
    assert hive.key("Names\\Москва").name == "Москва"
    assert hive.key("Names\\мОСКВА").name == "Москва"
    assert hive.key("Names/ΩΜΈΓΑ").name == "Ωμέγα"
    assert hive.key("") == hive.root
    # 'ß' has no single-character upper case in Windows' table: 'STRASSE' is another name.
    assert hive.get_key("Names\\STRASSE") is None and hive.key("Names\\STRAßE").name == "straße"
    assert hive.key("Names\\😀 EMOJI").name == "😀 emoji"


def test_missing_keys_and_values_raise_lookup_errors(types_hive: winmigrate.Hive) -> None:
    with pytest.raises(winmigrate.KeyNotFoundError) as e:
        types_hive.key("Names\\nope\\deeper")
    assert isinstance(e.value, LookupError) and isinstance(e.value, winmigrate.WinmigrateError)
    assert "Names\\nope" in str(e.value)
    types_key = types_hive.key("Types")
    with pytest.raises(winmigrate.ValueNotFoundError) as e2:
        types_key.value("nope")
    assert isinstance(e2.value, LookupError)
    assert types_key.get("nope") is None and types_key.get("nope", 5) == 5
    assert "nope" not in types_key and "SZ" in types_key


def test_every_value_type(types_hive: winmigrate.Hive) -> None:
    k = types_hive.key("Types")
    v = {x.name: x for x in k.values()}
    assert v[""].data == "default value" and k.get("") == "default value"
    assert v["sz"].type is RegType.SZ and v["sz"].data == "hello"
    assert v["sz"].raw == "hello\0".encode("utf-16-le")
    assert v["sz_no_terminator"].data == "abc"
    assert v["sz_odd_length"].data == "ab" and v["sz_odd_length"].raw == b"a\0b\0c"
    assert v["sz_embedded_nul"].data == "ab"
    assert v["expand_sz"].type is RegType.EXPAND_SZ
    assert v["binary"].data == bytes(range(32)) and v["binary_empty"].data == b""
    assert v["dword"].data == 0xDEADBEEF and v["dword_be"].data == 0x01020304
    assert v["link"].type is RegType.LINK and v["link"].data == "\\Registry\\Machine\\System"
    assert v["multi_sz"].data == ["one", "two", "three"] and v["multi_sz_empty"].data == []
    assert v["multi_sz_inner_empty"].data == ["a", "", "b"]
    assert v["multi_sz_no_final"].data == ["a", "b"]
    assert v["resource_list"].type is RegType.RESOURCE_LIST
    assert v["full_resource"].type is RegType.FULL_RESOURCE_DESCRIPTOR
    assert v["requirements"].type is RegType.RESOURCE_REQUIREMENTS_LIST
    assert v["qword"].data == 0x0102030405060708
    assert v["none_empty"].raw == b"" and v["none_data"].raw == b"\x01\x02"
    assert v["unknown_type"].type == 0x200000 and v["unknown_type"].raw == b"\xaa\xbb"
    assert v["devprop_type"].type == 0xFFFF0007
    assert v["resident_3"].is_resident and v["resident_3"].raw == b"\x01\x02\x03"
    assert v["exactly_16344"].raw == bytes(i % 251 for i in range(16344))
    assert v["exactly_16345"].raw == bytes(i % 253 for i in range(16345))
    assert v["big_100k"].raw == bytes(i % 241 for i in range(100_000))
    assert v["big_100k"].size == 100_000
    assert v["Ünïcödé ñame"].data == "value with ünïcode ✓"
    assert k.value("üNÏCÖDÉ ÑAME").name == "Ünïcödé ñame"
    assert v["名前"].data == ["日本語", "中文"]
    assert repr(v["sz"]) == "<Value 'sz' REG_SZ>" and repr(v[""]) == "<Value (default) REG_SZ>"
    assert repr(v["unknown_type"]) == "<Value 'unknown_type' 0x200000>"


def test_keys_metadata(types_hive: winmigrate.Hive) -> None:
    k = types_hive.key("WithClass")
    assert k.class_name == "SomeClass" and k.class_name_raw == "SomeClass".encode("utf-16-le")
    assert types_hive.key("Types").class_name is None
    assert k.last_written is not None and k.last_written.tzinfo is not None
    assert k.last_written.year == 2024 and k.timestamp > 0
    sd = k.security
    assert sd is not None and sd.owner == "S-1-5-32-544" and sd.dacl is not None
    assert sd.reference_count is not None and sd.reference_count >= 1
    assert sd.to_sddl().startswith("O:BAG:SY")
    assert types_hive.root.subkey_count == 4 and k.value_count == 0
    # Windows' order: upcased ('LEVEL00' < 'NAMES' < 'TYPES' < 'WITHCLASS').
    assert [c.name for c in types_hive.root.subkeys()] == ["level00", "Names", "Types",
                                                          "WithClass"]
    assert [c.name for c in types_hive.root] == [c.name for c in types_hive.root.subkeys()]


def test_walk_is_preorder_in_stored_order(types_hive: winmigrate.Hive) -> None:
    paths = [k.path for k in types_hive.walk()]
    assert paths[0] == "" and paths[1] == "level00"
    assert paths.index("Names\\ascii") < paths.index("Types")
    deepest = [p for p in paths if p.count("\\") == 39]
    assert len(deepest) == 1 and types_hive.key(deepest[0]).get("depth") == 40


def test_deep_and_many() -> None:
    with winmigrate.open(FIXTURES / "deep.hiv") as hive:
        keys = list(hive.walk())
        assert len(keys) == 513 and keys[-1].path.count("\\") == 511
    with winmigrate.open(FIXTURES / "many_subkeys.hiv") as hive:
        services = hive.key("Services")
        names = [k.name for k in services.subkeys()]
        assert len(names) == services.subkey_count == 1500 and names == sorted(names)
        assert hive.key("Services\\SVC0777").get("Start") == 777 % 5
        assert hive.get_key("Services\\svc9999") is None


def test_from_bytes_and_close() -> None:
    data = (FIXTURES / "types_1_5.hiv").read_bytes()
    hive = winmigrate.Hive.from_bytes(data)
    key = hive.key("Types")
    hive.close()
    with pytest.raises(winmigrate.WinmigrateError):
        key.values()
    with pytest.raises(winmigrate.WinmigrateError):
        hive.key("Types").values()


def test_current_control_set_alias() -> None:
    hive = winmigrate.create("SYSTEM")
    hive.root.create_key("Select").set_value("Current", 2)
    hive.root.create_key("ControlSet002\\Services\\viostor").set_value("Start", 0)
    hive.root.create_key("ControlSet001\\Services")
    assert hive.current_control_set == "ControlSet002"
    assert hive.key("CurrentControlSet\\Services\\viostor").get("Start") == 0
    assert hive.key("currentcontrolset/services").path == "ControlSet002\\Services"


def test_file_errors(tmp_path: os.PathLike[str]) -> None:
    with pytest.raises(winmigrate.HiveFileError) as e:
        winmigrate.open(os.path.join(tmp_path, "missing"))
    assert isinstance(e.value, OSError) and e.value.errno == 2
    with pytest.raises(winmigrate.HiveFileError):
        winmigrate.open(tmp_path)
    empty = os.path.join(tmp_path, "empty")
    open(empty, "wb").close()
    with pytest.raises(winmigrate.HiveFormatError):
        winmigrate.open(empty)


def test_slash_is_a_separator_only_without_backslashes() -> None:
    hive = winmigrate.create()
    amcache = hive.root.create_key("Root\\InventoryApplicationFile")
    odd = amcache.create_subkey("c:/program files/x.exe")
    assert hive.key("Root\\InventoryApplicationFile\\c:/program files/x.exe") == odd
    assert hive.key("Root/InventoryApplicationFile") == amcache
    assert hive.get_key("Root/InventoryApplicationFile/c:/program files/x.exe") is None
