"""check()'s rules one by one, on crafted hives: what is a problem (Windows refuses the hive or
drops data) and what is a note (Windows loads it with nothing lost), against ReactOS's load-time
checks (hivecheck) where those look; and what the writer normalises when it saves."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest

import winmigrate
from tests.helpers import REPO
from tests.oracles.cmlib import hivecheck_exe, hivecheck_ok
from winmigrate.hive.check import RULES, Severity
from winmigrate.regf import layout as L
from winmigrate.regf.baseblock import checksum

BASE = 4096
CHECK_PY = REPO / "src" / "winmigrate" / "hive" / "check.py"
FORMAT_MD = REPO / "docs" / "format.md"


# -- building and patching ----------------------------------------------------------------------


def _hive() -> tuple[bytearray, dict[str, int]]:
    """A small clean hive (version 1.5) and the offsets of its parts."""
    hive = winmigrate.create("ROOT", (1, 5))
    parent = hive.root.create_key("Parent")
    child = parent.create_key("Child")
    child.set_class_name("cls")
    other = parent.create_key("Other")
    other.set_value("one", 1)
    other.set_value("two", 2)
    other.set_value("data", b"12345678")
    other.set_value("big", b"\xab" * 20000)
    data = bytearray(hive.to_bytes())
    hive = winmigrate.Hive.from_bytes(bytes(data))
    offsets = {"root": hive.root.offset, "parent": hive.key("Parent").offset,
               "child": hive.key("Parent\\Child").offset, "other": hive.key("Parent\\Other").offset}
    for value in hive.key("Parent\\Other").values():
        offsets[f"vk:{value.name}"] = value.offset
    return data, offsets


def _u32(buf: bytearray, pos: int) -> int:
    return int(struct.unpack_from("<I", buf, pos)[0])


def _nk(buf: bytearray, off: int, field: int) -> int:
    return _u32(buf, BASE + off + 4 + field)


def _set_nk(buf: bytearray, off: int, field: int, value: int, fmt: str = "<I") -> None:
    struct.pack_into(fmt, buf, BASE + off + 4 + field, value)


def _restamp(buf: bytearray) -> None:
    struct.pack_into("<I", buf, L.CHECKSUM_OFFSET, checksum(buf[:L.CHECKSUM_OFFSET]))


def _report(data: bytes | bytearray) -> winmigrate.CheckReport:
    with winmigrate.Hive.from_bytes(bytes(data)) as hive:
        return hive.check()


def _rules(found: tuple[Any, ...]) -> set[str]:
    return {p.rule for p in found}


def _hivecheck(data: bytes | bytearray) -> tuple[bool, str] | None:
    """hivecheck's verdict, or ``None`` when the tool cannot be built here."""
    if hivecheck_exe() is None:
        return None
    return hivecheck_ok(bytes(data))


# -- the table of rules -------------------------------------------------------------------------


def _documented() -> dict[str, str]:
    """Rule id -> severity word, from the table in docs/format.md."""
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (problem|note) \|", FORMAT_MD.read_text(), re.M)
    out: dict[str, str] = {}
    for rule, severity in rows:
        assert rule not in out, f"{rule} is documented twice"
        out[rule] = severity
    return out


def test_every_rule_is_documented_with_its_severity() -> None:
    assert _documented() == {rule: r.severity.value for rule, r in RULES.items()}


def test_every_rule_is_used_by_the_checker() -> None:
    source = CHECK_PY.read_text()
    unused = [rule for rule in RULES if source.count(f'"{rule}"') < 2]  # the table, then a use
    assert unused == []


def test_a_clean_hive_has_no_finding() -> None:
    data, _ = _hive()
    report = _report(data)
    assert report.ok and report.problems == () and report.notes == ()
    assert _hivecheck(data) in (None, (True, "OK"))


# -- base block -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", [0, 2])
def test_a_clustering_factor_other_than_1_is_a_problem_and_saves_write_1(cluster: int) -> None:
    data, _ = _hive()
    struct.pack_into("<I", data, L.CLUSTERING_OFFSET, cluster)
    _restamp(data)
    report = _report(data)
    assert not report.ok and _rules(report.problems) == {"base-cluster"}
    verdict = _hivecheck(data)
    assert verdict is None or (not verdict[0] and "HvpVerifyHiveHeader" in verdict[1])
    with winmigrate.Hive.from_bytes(bytes(data), writable=True) as hive:
        hive.root.set_value("touched", 1)
        assert hive.check().ok  # checks the image as the next save writes it
        saved = hive.to_bytes()
    assert _u32(bytearray(saved), L.CLUSTERING_OFFSET) == 1
    assert _report(saved).ok
    assert _hivecheck(saved) in (None, (True, "OK"))


# -- key nodes ------------------------------------------------------------------------------------


def test_a_class_length_without_a_class_cell_is_a_note() -> None:
    """Windows XP's CmpCheckKey zeroes the length on every load, Windows 10 by self-healing,
    ReactOS's CmpValidateClass likewise: nothing is lost. hivecheck reports cmlib's in-place
    repair as BAD; compaction writes the key without it."""
    data, off = _hive()
    _set_nk(data, off["child"], L.NK_OFF_CLASS, L.NIL)
    report = _report(data)
    assert report.ok and _rules(report.notes) == {"class-length-nil"}
    verdict = _hivecheck(data)
    assert verdict is None or (not verdict[0] and "repair" in verdict[1])
    with winmigrate.Hive.from_bytes(bytes(data), writable=True) as hive:
        assert hive.key("Parent\\Child").class_name is None
        compacted = hive.to_bytes(compact=True)
    assert _report(compacted).notes == ()
    assert _hivecheck(compacted) in (None, (True, "OK"))


def test_a_class_cell_with_length_0_is_a_note() -> None:
    data, off = _hive()
    _set_nk(data, off["child"], L.NK_OFF_CLASS_LENGTH, 0, "<H")
    report = _report(data)
    assert report.ok and _rules(report.notes) == {"class-unused"}
    assert _nk(data, off["child"], L.NK_OFF_CLASS) in report.unreferenced_cells
    assert _hivecheck(data) in (None, (True, "OK"))


@pytest.mark.parametrize(("rule", "field"), [
    ("max-name", L.NK_OFF_MAX_NAME), ("max-class", L.NK_OFF_MAX_CLASS),
])
def test_small_max_subkey_hints_are_notes(rule: str, field: int) -> None:
    """RegQueryInfoKey's buffer-size hints: Windows XP wrote SYSTEM hives with a stale max
    subkey name length in non-current control sets; ReactOS never reads them."""
    data, off = _hive()
    _set_nk(data, off["parent"], field, 1)
    report = _report(data)
    assert report.ok and _rules(report.notes) == {rule}
    assert _hivecheck(data) in (None, (True, "OK"))


def test_the_flag_bits_above_the_max_name_length_do_not_count() -> None:
    data, off = _hive()
    field = _nk(data, off["parent"], L.NK_OFF_MAX_NAME)
    _set_nk(data, off["parent"], L.NK_OFF_MAX_NAME, field | 0x7F0000)
    assert _report(data).notes == ()


@pytest.mark.parametrize(("rule", "field"), [
    ("max-value-name", L.NK_OFF_MAX_VALUE_NAME), ("max-value-data", L.NK_OFF_MAX_VALUE_DATA),
])
def test_small_max_value_hints_are_notes(rule: str, field: int) -> None:
    data, off = _hive()
    _set_nk(data, off["other"], field, 2)
    report = _report(data)
    assert report.ok and _rules(report.notes) == {rule}
    assert _hivecheck(data) in (None, (True, "OK"))


def test_a_key_node_in_an_oversized_cell_is_a_problem() -> None:
    """Both ReactOS and Windows refuse a key node cell of more than 0x45C bytes."""
    data, off = _hive()
    # Empty the big value (its segments become unreferenced) and move a key into a segment.
    big_vk = off["vk:big"]
    db = _u32(data, BASE + big_vk + 4 + L.VK_OFF_DATA)
    seg_list = _u32(data, BASE + db + 4 + 4)
    segment = _u32(data, BASE + seg_list + 4)  # a 16352-byte cell
    struct.pack_into("<I", data, BASE + big_vk + 4 + L.VK_OFF_DATA_SIZE, 0x80000000)
    struct.pack_into("<I", data, BASE + big_vk + 4 + L.VK_OFF_DATA, 0)
    child = off["child"]
    size = -struct.unpack_from("<i", data, BASE + child)[0]
    data[BASE + segment + 4:BASE + segment + size] = data[BASE + child + 4:BASE + child + size]
    parent_list = _nk(data, off["parent"], L.NK_OFF_SUBKEY_LIST)
    count = struct.unpack_from("<H", data, BASE + parent_list + 6)[0]
    for i in range(count):
        pos = BASE + parent_list + 4 + 4 + 8 * i
        if _u32(data, pos) == child:
            struct.pack_into("<I", data, pos, segment)
    report = _report(data)
    assert not report.ok and "key-cell-large" in _rules(report.problems)
    verdict = _hivecheck(data)
    assert verdict is None or (not verdict[0] and "CELL_SIZE_NOT_SANE" in verdict[1])


# -- values ---------------------------------------------------------------------------------------


def test_a_zero_length_value_with_a_data_offset_is_a_problem() -> None:
    """Windows (CmpCheckValueList) and ReactOS refuse it, or self-heal by dropping the value.
    Compaction stores the empty value resident, as Windows does."""
    data, off = _hive()
    struct.pack_into("<I", data, BASE + off["vk:data"] + 4 + L.VK_OFF_DATA_SIZE, 0)
    report = _report(data)
    assert not report.ok and _rules(report.problems) == {"value-empty-data"}
    verdict = _hivecheck(data)
    assert verdict is None or (not verdict[0] and "CORRUPT_VALUE_DATA" in verdict[1])
    with winmigrate.Hive.from_bytes(bytes(data), writable=True) as hive:
        assert hive.key("Parent\\Other").value("data").raw == b""
        compacted = hive.to_bytes(compact=True)
    assert _report(compacted).ok
    assert _hivecheck(compacted) in (None, (True, "OK"))


def test_duplicate_value_names_are_a_note() -> None:
    """The loader does not look (Project Zero, "Windows Registry Adventure #7"), nor does
    ReactOS."""
    data, off = _hive()
    name = BASE + off["vk:two"] + 4 + L.VK_FIXED_SIZE
    assert data[name:name + 3] == b"two"
    data[name:name + 3] = b"one"
    report = _report(data)
    assert report.ok and _rules(report.notes) == {"value-duplicate"}
    assert _hivecheck(data) in (None, (True, "OK"))


def test_a_short_last_big_data_segment_is_a_problem() -> None:
    """Windows gives every segment a whole 16344-byte cell and requires it of each when it
    loads the hive; ReactOS does not follow big data (hivecheck accepts it)."""
    data, off = _hive()
    db = _u32(data, BASE + off["vk:big"] + 4 + L.VK_OFF_DATA)
    seg_list = _u32(data, BASE + db + 4 + 4)
    last = _u32(data, BASE + seg_list + 4 + 4)
    size = -struct.unpack_from("<i", data, BASE + last)[0]
    keep = (4 + 20000 - L.BIG_DATA_SEGMENT + 7) & ~7
    struct.pack_into("<i", data, BASE + last, -keep)
    struct.pack_into("<i", data, BASE + last + keep, size - keep)
    report = _report(data)
    assert not report.ok and _rules(report.problems) == {"bigdata-segment"}
    with winmigrate.Hive.from_bytes(bytes(data)) as hive:
        assert hive.key("Parent\\Other").value("big").raw == b"\xab" * 20000
    assert _hivecheck(data) in (None, (True, "OK"))


# -- security records -----------------------------------------------------------------------------


@pytest.mark.parametrize(("delta", "rule", "severity"), [
    (+3, "sk-count-high", Severity.NOTE), (-1, "sk-count-low", Severity.PROBLEM),
])
def test_security_reference_counts(delta: int, rule: str, severity: Severity) -> None:
    """A count above the number of keys only keeps the record from being freed (Windows wrote
    one: yarp's HealedHive); one below lets a delete free a descriptor still in use."""
    data, off = _hive()
    sk = _nk(data, off["root"], L.NK_OFF_SECURITY)
    pos = BASE + sk + 4 + 12
    struct.pack_into("<I", data, pos, _u32(data, pos) + delta)
    report = _report(data)
    found = report.notes if severity is Severity.NOTE else report.problems
    assert report.ok is (severity is Severity.NOTE) and _rules(found) == {rule}
    assert _hivecheck(data) in (None, (True, "OK"))  # cmlib does not count references


# -- the report -----------------------------------------------------------------------------------


def _noted() -> bytes:
    data, off = _hive()
    _set_nk(data, off["parent"], L.NK_OFF_MAX_NAME, 1)
    return bytes(data)


def test_notes_are_in_the_report_its_text_and_its_json() -> None:
    report = _report(_noted())
    assert report.ok and len(report.notes) == 1
    text = str(report)
    assert text.startswith("OK: ") and ", 1 note(s)" in text.splitlines()[0]
    assert "  note: offset 0x" in text and "max subkey name length is 1" in text
    out = report.to_dict()
    assert out["ok"] is True and out["problems"] == []
    (note,) = out["notes"]  # type: ignore[misc]
    assert note["rule"] == "max-name" and note["windows"] == RULES["max-name"].windows
    assert note["path"] == "Parent"


def test_the_cli_shows_notes_and_exits_0(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from winmigrate.cli import main

    path = tmp_path / "noted.hiv"
    path.write_bytes(_noted())
    assert main(["check", str(path)]) == 0
    assert "note: " in capsys.readouterr().out
    assert main(["check", "--json", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and [n["rule"] for n in out["notes"]] == ["max-name"]
