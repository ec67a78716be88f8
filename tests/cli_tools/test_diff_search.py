"""``diff``, ``find`` and ``timeline`` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import winmigrate
from tests.cli_tools.util import TYPES_HIVE, copy, run, run_bytes
from winmigrate.regf.timestamps import datetime_to_filetime


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    a = copy(TYPES_HIVE, tmp_path / "SYSTEM.orig")
    b = copy(TYPES_HIVE, tmp_path / "SYSTEM")
    return a, b


def edit(path: Path) -> None:
    with winmigrate.open(path, writable=True) as h:
        h.key("Types").set_value("dword", 1)
        h.key("Types").delete_value("binary")
        h.root.create_key("New").set_value("v", "hello")
        h.root.delete_key("level00", recursive=True)
        h.save()


def test_diff_of_identical_hives(pair: tuple[Path, Path]) -> None:
    r = run("diff", *pair, "--exit-code")
    assert r.returncode == 0 and r.stdout == ""


def test_diff_text(pair: tuple[Path, Path]) -> None:
    a, b = pair
    edit(b)
    r = run("diff", a, b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "- [level00]"
    assert "+ [New]" in lines and "+ New  'v' = REG_SZ \"hello\"" in lines
    assert "~ Types  'dword': REG_DWORD 0xdeadbeef (3735928559) -> REG_DWORD 0x00000001 (1)" \
        in lines
    assert any(line.startswith("- Types  'binary' = REG_BINARY 00 01 02") for line in lines)
    with winmigrate.open(a) as h:
        removed = sum(1 for _ in h.key("level00").walk())
    assert sum(line.startswith("- [level") for line in lines) == removed
    assert run("diff", a, b, "--exit-code").returncode == 1


def test_diff_json_and_subtree(pair: tuple[Path, Path]) -> None:
    a, b = pair
    edit(b)
    r = run("diff", a, b, "Types", "--json")
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"value_changed": 1, "value_removed": 1}
    assert doc["changes"][1] == {"change": "value_changed", "path": "Types", "name": "dword",
                                 "old_type": 4, "old_raw": "efbeadde", "new_type": 4,
                                 "new_raw": "01000000"}


def test_diff_as_reg_turns_a_into_b(pair: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = pair
    edit(b)
    out = tmp_path / "changes.reg"
    r = run("diff", a, b, "--format", "reg", "-o", out)
    assert r.returncode == 0 and r.stdout == ""
    text = out.read_bytes().decode("utf-16")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n")
    assert "[-HKEY_LOCAL_MACHINE\\SYSTEM\\level00]\r\n" in text  # SYSTEM.orig -> SYSTEM
    r = run("import", a, out)
    assert r.returncode == 0, r.stderr
    assert run("diff", a, b, "--exit-code").returncode == 0


def test_diff_metadata_and_timestamps(pair: tuple[Path, Path]) -> None:
    a, b = pair
    with winmigrate.open(b, writable=True) as h:
        h.key("Types").set_class_name("Klass")
        h.save()
    assert run("diff", a, b).stdout == ""
    r = run("diff", a, b, "--metadata")
    assert r.stdout.splitlines() == ["~ [Types] class_name: None -> Klass"]
    r = run("diff", a, b, "--timestamps")
    assert "~ [Types] last_written: " in r.stdout
    raw = run_bytes("diff", a, b, "--metadata", "--format", "reg").stdout
    assert "; class_name differs (a .reg file cannot set it): (none) -> Klass" in \
        raw.decode("utf-16")


# -- find ----------------------------------------------------------------------------------------

def test_find_substring_glob_and_kinds() -> None:
    r = run("find", TYPES_HIVE, "SZ")
    lines = r.stdout.splitlines()
    assert "value  Types  sz" in lines and "value  Types  multi_sz" in lines
    assert all(not line.startswith("key") for line in lines)
    r = run("find", TYPES_HIVE, "level0?", "--keys")
    assert [line.split()[-1].rsplit("\\", 1)[-1] for line in r.stdout.splitlines()] == [
        f"level0{i}" for i in range(10)]
    r = run("find", TYPES_HIVE, "*root*", "--data")
    assert r.stdout.splitlines() == [
        "data   Types  expand_sz = %SystemRoot%\\system32\\drivers\\viostor.sys"]
    r = run("find", TYPES_HIVE, "TWO", "--data", "--case-sensitive")
    assert r.stdout == ""
    r = run("find", TYPES_HIVE, "two", "--data", "--json")
    assert json.loads(r.stdout) == [{"match": "data", "path": "Types", "name": "multi_sz",
                                     "type": "REG_MULTI_SZ", "data": ["two"]}]


def test_find_regex_limit_and_subtree() -> None:
    r = run("find", TYPES_HIVE, r"^level\d[05]$", "--regex", "--keys", "level00")
    paths = [line.split(None, 1)[1] for line in r.stdout.splitlines()]
    with winmigrate.open(TYPES_HIVE) as h:
        expected = [k.path for k in h.key("level00").walk() if k.name[-1] in "05"]
    assert paths == expected and len(paths) > 5 and paths[0] == "level00"
    r = run("find", TYPES_HIVE, "level*", "--keys", "--limit", "3", "--json")
    assert len(json.loads(r.stdout)) == 3


# -- timeline ------------------------------------------------------------------------------------

def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_timeline_csv_is_sorted_and_complete() -> None:
    r = run("timeline", TYPES_HIVE)
    assert r.returncode == 0
    rows = _rows(r.stdout)
    assert len(rows) == 58
    assert list(rows[0]) == ["last_written", "filetime", "path", "subkeys", "values"]
    ticks = [int(row["filetime"]) for row in rows]
    assert ticks == sorted(ticks)
    assert all(row["last_written"].endswith("Z") and len(row["last_written"]) == 28
               for row in rows)
    reverse = _rows(run("timeline", TYPES_HIVE, "--reverse").stdout)
    assert [int(row["filetime"]) for row in reverse] == sorted(ticks, reverse=True)


def test_timeline_window_and_json(tmp_path: Path) -> None:
    hive = copy(TYPES_HIVE, tmp_path / "h")
    with winmigrate.open(hive, writable=True) as h:
        h.key("Types").touch(datetime(2030, 5, 1, 12, 0, 0, 1234, tzinfo=timezone.utc))
        h.key("Names").touch(datetime(2030, 5, 2, tzinfo=timezone.utc))
        h.save()
    r = run("timeline", hive, "--since", "2030-05-01", "--until", "2030-05-01T23:59:59Z",
            "--json")
    ticks = datetime_to_filetime(datetime(2030, 5, 1, 12, 0, 0, 1234, tzinfo=timezone.utc))
    assert json.loads(r.stdout) == [{"last_written": "2030-05-01T12:00:00.0012340Z",
                                     "filetime": ticks, "path": "Types",
                                     "subkeys": 0, "values": 30}]
    r = run("timeline", hive, "--since", "2030-05-01T14:00:00+02:00", "--limit", "1")
    assert [row["path"] for row in _rows(r.stdout)] == ["Types"]
    r = run("timeline", hive, "Names", "--since", "2030-01-01")
    assert [row["path"] for row in _rows(r.stdout)] == ["Names"]
