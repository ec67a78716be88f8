"""``set``, ``rm`` and ``import`` as a user runs them, including the ways they must fail without
touching the hive: a read-only file, a save that cannot happen, an import that fails half-way."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

import winmigrate
from tests.cli_tools.util import TYPES_HIVE, copy, one_error_line, run
from winmigrate.cli import main


@pytest.fixture
def hive(tmp_path: Path) -> Path:
    return copy(TYPES_HIVE, tmp_path / "SYSTEM")


def values_of(path: Path, key: str) -> dict[str, tuple[int, bytes]]:
    with winmigrate.open(path) as h:
        return {v.name: (v.type_number, v.raw) for v in h.key(key).values()}


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


# -- set -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "expected"), [
    (("-t", "REG_SZ", "hello"), (1, utf16("hello\0"))),
    (("hello there",), (1, utf16("hello there\0"))),
    (("--type", "sz", ""), (1, b"\0\0")),
    (("-t", "expand_sz", "%SystemRoot%\\x"), (2, utf16("%SystemRoot%\\x\0"))),
    (("-t", "REG_DWORD", "0x10"), (4, b"\x10\0\0\0")),
    (("-t", "dword", "--", "-1"), (4, b"\xff\xff\xff\xff")),
    (("-t", "REG_QWORD", "1099511627776"), (11, (1 << 40).to_bytes(8, "little"))),
    (("-t", "REG_DWORD_BIG_ENDIAN", "1"), (5, b"\0\0\0\1")),
    (("-t", "REG_MULTI_SZ", "a", "b c"), (7, utf16("a\0b c\0\0"))),
    (("-t", "REG_MULTI_SZ", "--separator", ",", "a,b"), (7, utf16("a\0b\0\0"))),
    (("-t", "REG_MULTI_SZ"), (7, b"\0\0")),
    (("-t", "REG_BINARY", "01 02", "ff"), (3, b"\1\2\xff")),
    (("-t", "REG_BINARY", "01,02,ff"), (3, b"\1\2\xff")),
    (("-t", "REG_NONE"), (0, b"")),
    (("-t", "0xffff0012", "01000000"), (0xFFFF0012, b"\1\0\0\0")),
    (("-t", "REG_SZ", "--hex", "6100"), (1, b"a\0")),  # raw: no terminator added
    (("-t", "REG_DWORD", "--hex", "0102"), (4, b"\1\2")),
])
def test_set_every_type(hive: Path, args: tuple[str, ...], expected: tuple[int, bytes]) -> None:
    r = run("set", hive, "Types", "new", *args)
    assert r.returncode == 0, r.stderr
    assert values_of(hive, "Types")["new"] == expected
    with winmigrate.open(hive) as h:
        assert h.check().ok


def test_set_creates_missing_keys_and_resolves_prefixes(hive: Path) -> None:
    r = run("set", hive, "HKLM\\SYSTEM\\Fresh/Deeper\\Key", "", "default", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["path"] == "Fresh\\Deeper\\Key" and out["data"] == "default"
    assert "created key Fresh\\Deeper\\Key" in r.stderr and "note:" in r.stderr
    assert values_of(hive, "Fresh\\Deeper\\Key") == {"": (1, utf16("default\0"))}


def test_set_replaces_and_keeps_a_backup(hive: Path) -> None:
    before = hive.read_bytes()
    r = run("set", hive, "Types", "dword", "-t", "dword", "7", "--backup")
    assert r.returncode == 0 and "Types  dword = REG_DWORD 0x00000007 (7)" in r.stdout
    assert Path(str(hive) + ".bak").read_bytes() == before
    assert values_of(hive, "Types")["dword"] == (4, b"\7\0\0\0")


def test_set_on_a_read_only_file_is_refused(hive: Path) -> None:
    hive.chmod(0o444)
    before = hive.read_bytes()
    r = run("set", hive, "Types", "x", "y")
    assert r.returncode == 1
    assert "read-only" in one_error_line(r)
    assert hive.read_bytes() == before and oct(hive.stat().st_mode & 0o777) == "0o444"
    assert sorted(p.name for p in hive.parent.iterdir()) == ["SYSTEM"]


def test_a_save_that_cannot_happen_leaves_the_file(hive: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A folder that refuses new files (read-only, EROFS): the save's journal cannot be made.
    Running as root, a chmod'ed folder does not stop us, so file creation is made to fail the
    way the kernel would."""
    before = hive.read_bytes()
    real_open = os.open

    def refuse(path: str, flags: int, *args: object) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    assert main(["set", str(hive), "Types", "x", "y", "--no-backup"]) == 1
    err = capsys.readouterr().err
    assert "cannot save hive" in err and "Read-only file system" in err
    assert hive.read_bytes() == before
    assert sorted(p.name for p in hive.parent.iterdir()) == ["SYSTEM"]  # no temporary left
    assert main(["set", str(hive), "Types", "x", "y"]) == 1  # the backup comes first
    err = capsys.readouterr().err
    assert "cannot write the backup" in err and "Read-only file system" in err
    assert hive.read_bytes() == before
    assert sorted(p.name for p in hive.parent.iterdir()) == ["SYSTEM"]


def test_a_hive_locked_by_another_writer(hive: Path) -> None:
    with winmigrate.open(hive, writable=True):
        r = run("set", hive, "Types", "x", "y")
    assert r.returncode == 1 and "another process" in one_error_line(r)


# -- rm ------------------------------------------------------------------------------------------

def test_rm_value_and_keys(hive: Path) -> None:
    r = run("rm", hive, "Types", "dword")
    assert r.returncode == 0 and "deleted value 'dword' of Types" in r.stdout
    assert "dword" not in values_of(hive, "Types")
    r = run("rm", hive, "Types", "")  # the default value
    assert r.returncode == 0 and "" not in values_of(hive, "Types")
    r = run("rm", hive, "Types")  # no subkeys: its values go with it
    assert r.returncode == 0 and "deleted key Types (1 key," in r.stdout
    with winmigrate.open(hive) as h:
        assert h.get_key("Types") is None


def test_rm_of_a_tree_needs_recursive(hive: Path) -> None:
    before = hive.read_bytes()
    r = run("rm", hive, "level00")
    assert r.returncode == 1 and "--recursive" in one_error_line(r)
    assert hive.read_bytes() == before
    r = run("rm", hive, "LEVEL00", "-r", "--backup")
    assert r.returncode == 0, r.stderr
    assert "deleted key level00 (" in r.stdout and Path(f"{hive}.bak").is_file()
    with winmigrate.open(hive) as h:
        assert h.get_key("level00") is None and h.check().ok


def test_rm_force_ignores_what_is_missing(hive: Path) -> None:
    before = hive.read_bytes()
    for args in (("No\\Such",), ("Types", "nothing")):
        r = run("rm", hive, *args, "-f")
        assert r.returncode == 0 and "nothing to delete" in r.stderr
    assert hive.read_bytes() == before


# -- import --------------------------------------------------------------------------------------

REG = """Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\Types]
"dword"=dword:00000001
"sz"="hello"
"binary"=-

[HKEY_LOCAL_MACHINE\\SYSTEM\\Added\\Sub]
@="x"

[-HKEY_LOCAL_MACHINE\\SYSTEM\\level00]
"""


def write_reg(path: Path, text: str = REG) -> Path:
    path.write_bytes(b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le"))
    return path


def test_import_dry_run_changes_nothing(hive: Path, tmp_path: Path) -> None:
    reg = write_reg(tmp_path / "in.reg")
    hive.chmod(0o444)  # a dry run only reads
    before = hive.read_bytes()
    r = run("import", hive, reg, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "~ value  Types  'dword' REG_DWORD  (line 4)",
        "- value  Types  'binary'  (line 6)",
        "+ key    Added  (line 8)",
        "+ key    Added\\Sub  (line 8)",
        "+ value  Added\\Sub  (default) REG_SZ  (line 9)",
        "- key    level00  (line 11)",
        f"would import {reg} (5.00, root HKEY_LOCAL_MACHINE\\SYSTEM): 2 keys created, 1 key "
        "deleted, 1 value added, 1 value changed, 1 value deleted (1 already as in the file)",
    ]
    assert "was not modified" in r.stderr
    assert hive.read_bytes() == before


def test_import_applies_and_saves(hive: Path, tmp_path: Path) -> None:
    reg = write_reg(tmp_path / "in.reg")
    r = run("import", hive, reg, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["dry_run"] is False and out["counts"]["key_created"] == 2
    with winmigrate.open(hive) as h:
        assert h.key("Types").get("dword") == 1 and "binary" not in h.key("Types")
        assert h.key("Added\\Sub").get("") == "x" and h.get_key("level00") is None
        assert h.check().ok
    before = hive.read_bytes()
    r = run("import", hive, reg)  # again: nothing to change, the file is not rewritten
    assert r.returncode == 0 and "nothing to change" in r.stdout
    assert hive.read_bytes() == before


def test_import_from_stdin_with_a_prefix(hive: Path) -> None:
    text = "REGEDIT4\n\n[HKEY_USERS\\S-1-5-18\\Software\\X]\n\"v\"=\"caf\xe9\"\n"
    r = run("import", hive, "-", "--prefix", "HKU\\S-1-5-18", stdin=text.encode("cp1252"))
    assert r.returncode == 0, r.stderr
    assert values_of(hive, "Software\\X") == {"v": (1, utf16("café\0"))}


def test_import_parse_error_names_the_line(hive: Path, tmp_path: Path) -> None:
    reg = write_reg(tmp_path / "bad.reg", REG + '[HKLM\\SYSTEM\\Types]\n"oops"=dword:xyz\n')
    before = hive.read_bytes()
    r = run("import", hive, reg)
    assert r.returncode == 1
    assert one_error_line(r) == (f"winmigrate: error: {reg}, line 13: bad dword 'xyz' "
                                 "(1 to 8 hex digits)")
    assert hive.read_bytes() == before


def test_an_import_failing_half_way_leaves_the_hive(hive: Path, tmp_path: Path) -> None:
    """The file parses, but its 12th line names a key Windows cannot hold: the changes of the
    first 11 lines are rolled back and the file is never rewritten."""
    reg = write_reg(tmp_path / "half.reg", REG + "[HKEY_LOCAL_MACHINE\\SYSTEM\\" + "k" * 300
                    + "]\n")
    before = hive.read_bytes()
    r = run("import", hive, reg)
    assert r.returncode == 1
    assert "line 12: cannot apply [HKEY_LOCAL_MACHINE\\SYSTEM\\kkk" in one_error_line(r)
    assert "at most 255" in one_error_line(r)
    assert hive.read_bytes() == before


def test_an_import_interrupted_by_a_crash_of_the_writer(hive: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """A failure from below (here: the disk filling up on the 3rd value) half-way through."""
    reg = write_reg(tmp_path / "in.reg")
    before = hive.read_bytes()
    calls = {"n": 0}
    original = winmigrate.Key.set_value

    def failing(self: winmigrate.Key, *args: object, **kwargs: object) -> winmigrate.Value:
        calls["n"] += 1
        if calls["n"] == 2:
            raise winmigrate.HiveFileError(errno.ENOSPC, "No space left on device")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(winmigrate.Key, "set_value", failing)
    assert main(["import", str(hive), str(reg)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert calls["n"] == 2 and hive.read_bytes() == before
