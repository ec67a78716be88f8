"""The read commands as a user runs them: a real process, real files, exit codes, one-line
errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, WIN7_SYSTEM, corpus_file
from winmigrate.cli import main

WINMIGRATE = [sys.executable, "-m", "winmigrate"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WINMIGRATE, *args], capture_output=True, text=True, timeout=120)


def test_info_json_and_text() -> None:
    r = run("info", str(FIXTURES / "types_1_5.hiv"), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["version"] == "1.5" and info["root"] == "FIXTURE" and info["dirty"] is False
    assert info["keys"] == 58 and info["values"] == 31
    r = run("info", str(FIXTURES / "types_1_3.hiv"))
    assert r.returncode == 0 and "version" in r.stdout and "1.3" in r.stdout


@pytest.mark.corpus
def test_ls_and_get_on_a_real_system_hive() -> None:
    hive = str(corpus_file(WIN7_SYSTEM))
    r = run("ls", hive, "CurrentControlSet\\Services\\Tcpip\\Parameters")
    assert r.returncode == 0, r.stderr
    assert "Interfaces\\" in r.stdout and "NV Hostname" in r.stdout
    r = run("get", hive, "HKLM\\SYSTEM\\Select", "Current")
    assert r.returncode == 0 and r.stdout.strip() == "1"
    assert "note:" in r.stderr  # the HKLM\SYSTEM prefix was stripped, and said so
    r = run("ls", hive, "HKLM\\SOFTWARE\\Microsoft")  # a path of another hive: said so
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert "names the SOFTWARE hive, but this is the SYSTEM hive" in r.stderr
    r = run("get", hive, "ControlSet001/Control/ComputerName/ComputerName", "ComputerName",
            "--json")
    assert json.loads(r.stdout)["data"] == "WKS-WIN732BITA"


def test_a_prefix_naming_another_hive_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import winmigrate

    path = tmp_path / "software.hiv"
    hive = winmigrate.create("SOFTWARE")
    hive.root.create_key("Microsoft")
    hive.save(path)
    assert main(["ls", str(path), "HKLM\\SOFTWARE\\Microsoft"]) == 0
    assert main(["ls", str(path), "HKEY_LOCAL_MACHINE\\SYSTEM\\Select"]) != 0
    assert "names the SYSTEM hive, but this is the SOFTWARE hive" in capsys.readouterr().err
    assert main(["ls", str(path), "Microsoft"]) == 0


def test_get_formats(capsys: pytest.CaptureFixture[str]) -> None:
    hive = str(FIXTURES / "types_1_5.hiv")
    assert main(["get", hive, "Types", "multi_sz"]) == 0
    assert capsys.readouterr().out.splitlines() == ["one", "two", "three"]
    assert main(["get", hive, "Types", "dword"]) == 0
    assert capsys.readouterr().out.strip() == str(0xDEADBEEF)
    assert main(["get", hive, "Types", "binary"]) == 0
    assert capsys.readouterr().out.startswith("00000000  00 01 02")
    assert main(["get", hive, "Types", "", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == "default value"
    assert main(["get", hive, "Types", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 30
    assert main(["ls", hive, "Names", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert len(listing["subkeys"]) == 14


def test_get_raw_bytes() -> None:
    r = subprocess.run([*WINMIGRATE, "get", str(FIXTURES / "types_1_5.hiv"), "Types",
                        "big_100k", "--raw"], capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == bytes(i % 241 for i in range(100_000))


@pytest.mark.parametrize(("make", "words"), [
    (lambda d: d / "missing", "No such file"),
    (lambda d: d, "directory"),
    (lambda d: _write(d / "nothive", b"MZ" + bytes(5000)), "not a registry hive"),
    (lambda d: _write(d / "truncated", (FIXTURES / "types_1_5.hiv").read_bytes()[:9000]),
     "truncated"),
])
def test_bad_files_give_one_clear_line(tmp_path: Path, make, words: str) -> None:  # type: ignore[no-untyped-def]
    r = run("info", str(make(tmp_path)))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("winmigrate: error:") and words in lines[0]
    assert "Traceback" not in r.stderr


def test_missing_key_and_value() -> None:
    hive = str(FIXTURES / "types_1_5.hiv")
    r = run("ls", hive, "Nope\\Deeper")
    assert r.returncode == 1 and "key not found: Nope" in r.stderr
    r = run("get", hive, "Types", "nope")
    assert r.returncode == 1 and "value 'nope' not found" in r.stderr


def test_debug_shows_a_traceback(tmp_path: Path) -> None:
    r = run("--debug", "info", str(tmp_path / "missing"))
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_usage_errors_exit_2() -> None:
    r = run("info")
    assert r.returncode == 2
    r = run("frobnicate")
    assert r.returncode == 2


def test_version_and_help() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("winmigrate ")
    for cmd in ("info", "ls", "get"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and "example" in r.stdout


def test_tolerant_flag(tmp_path: Path) -> None:
    damaged = _write(tmp_path / "t", (FIXTURES / "types_1_5.hiv").read_bytes()[:40000])
    r = run("info", str(damaged), "--tolerant", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["problems"]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_entry_point_installed() -> None:
    exe = Path(sys.executable).with_name("winmigrate")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert os.access(exe, os.X_OK)
