"""``export`` and ``check`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import winmigrate
from tests.cli_tools.util import TYPES_HIVE, copy, one_error_line, run, run_bytes
from tests.helpers import WIN7_SYSTEM, corpus_file, diff_dumps, dump_hive


def test_export_whole_hive_to_a_file_and_back(tmp_path: Path) -> None:
    out = tmp_path / "all.reg"
    r = run("export", TYPES_HIVE, "-o", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and "exported 58 keys and 31 values" in r.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xff\xfe" + "Windows Registry Editor Version 5.00\r\n\r\n[".encode(
        "utf-16-le"))
    # the root is named after the file, without its extension
    assert "[HKEY_LOCAL_MACHINE\\types_1_5\\Types]" in data.decode("utf-16")
    # import into an empty hive made for it: the same content
    empty = tmp_path / "empty.hiv"
    with winmigrate.open(TYPES_HIVE) as src:
        winmigrate.create(src.root.name).save(empty)
        r = run("import", empty, out)
        assert r.returncode == 0, r.stderr
        with winmigrate.open(empty) as copy_:
            assert diff_dumps(dump_hive(copy_), dump_hive(src)) == []


def test_export_subtree_to_stdout_with_prefix() -> None:
    r = run_bytes("export", TYPES_HIVE, "Types", "--prefix", "HKEY_CURRENT_USER\\Software")
    assert r.returncode == 0 and r.stderr == b""
    text = r.stdout.decode("utf-16")
    assert text.splitlines()[:3] == ["Windows Registry Editor Version 5.00", "",
                                     "[HKEY_CURRENT_USER\\Software\\Types]"]
    assert '"dword"=dword:deadbeef' in text and '"sz_odd_length"=hex(1):61,00,62,00,63' in text


def test_export_regedit4(tmp_path: Path) -> None:
    r = run("export", TYPES_HIVE, "Names", "--regedit4", "-o", tmp_path / "n.reg")
    assert r.returncode == 0
    data = (tmp_path / "n.reg").read_bytes()
    assert data.startswith(b"REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\types_1_5\\Names]\r\n")
    assert "\\Names\\Äpfel]".encode("cp1252") in data  # fits the code page
    # names outside cp1252 are written with '?' and reported
    assert "warning: changed key Names\\" in r.stderr and "outside cp1252" in r.stderr
    assert "the file does not reproduce the hive exactly" in r.stderr


def test_export_json_report_goes_to_stderr(tmp_path: Path) -> None:
    r = run("export", TYPES_HIVE, "-o", tmp_path / "x.reg", "--json")
    report = json.loads(r.stderr)
    assert report["exact"] is True and report["keys"] == 58 and report["hex_fallbacks"] == 3


def test_export_into_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    r = run("export", TYPES_HIVE, "-o", tmp_path / "no" / "such" / "x.reg")
    assert r.returncode == 1 and "cannot write" in one_error_line(r)


def test_export_into_a_directory_fails_cleanly(tmp_path: Path) -> None:
    r = run("export", TYPES_HIVE, "-o", tmp_path)
    assert r.returncode == 1 and "directory" in one_error_line(r)


@pytest.mark.corpus
def test_export_of_a_real_system_hive_defaults_to_its_regedit_path(tmp_path: Path) -> None:
    hive = copy(corpus_file(WIN7_SYSTEM), tmp_path / "SYSTEM")
    r = run_bytes("export", hive, "CurrentControlSet\\Control\\ComputerName")
    assert r.returncode == 0
    text = r.stdout.decode("utf-16")
    assert "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\ComputerName]" in text
    assert '"ComputerName"="WKS-WIN732BITA"' in text


def test_check_ok(tmp_path: Path) -> None:
    r = run("check", TYPES_HIVE)
    assert r.returncode == 0 and r.stdout.startswith(f"{TYPES_HIVE}: OK: 58 keys, 31 values")
    r = run("check", TYPES_HIVE, "--json")
    report = json.loads(r.stdout)
    assert report["ok"] is True and report["problems"] == []


def test_check_finds_problems(tmp_path: Path) -> None:
    """A hive whose subkey list is out of order: it opens, but Windows' checks fail."""
    bad = tmp_path / "bad.hiv"
    hive = winmigrate.open(TYPES_HIVE)
    names = [k.name for k in hive.key("Names").subkeys()]
    hive.close()
    data = bytearray(TYPES_HIVE.read_bytes())
    # swap the first letters of two sibling names of equal length: the list is unsorted now
    a, b = "ascii".encode("latin-1"), "a.b c".encode("latin-1")
    assert "ascii" in names and "a.b c" in names
    i, j = data.index(a), data.index(b)
    data[i:i + 5], data[j:j + 5] = b"zscii", b"a.b c"
    bad.write_bytes(bytes(data))
    r = run("check", bad)
    assert r.returncode == 1, r.stdout
    assert "PROBLEMS" in r.stdout and "offset 0x" in r.stdout
    r = run("check", bad, "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["ok"] is False


def test_check_report_problems_have_offset_and_text() -> None:
    """``CheckReport.problems``: each with the file offset and a one-line text."""
    data = bytearray(TYPES_HIVE.read_bytes())
    i = data.index(b"ascii")
    data[i:i + 5] = b"zscii"  # the Names list is out of order now
    report = winmigrate.Hive.from_bytes(bytes(data)).check()
    assert not report.ok and report.problems
    for problem in report.problems:
        assert problem.offset is not None and problem.offset > 4096
        assert problem.text == str(problem) and f"0x{problem.offset:x}" in problem.text
        assert problem.message in problem.text


def test_check_reports_progress() -> None:
    """``check(progress=...)`` is called with the number of keys checked (the CLI shows it on a
    terminal when the check takes more than a second)."""
    from tests.helpers import FIXTURES

    seen: list[int] = []
    with winmigrate.open(FIXTURES / "many_subkeys.hiv") as hive:
        assert hive.check(progress=seen.append).ok
    assert seen == [1024]  # 1502 keys: reported every 1024
