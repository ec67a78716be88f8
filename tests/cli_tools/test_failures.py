"""Every command that opens a hive, given a bad file or a bad key: exit code 1, one clear line on
stderr, no traceback -- and a traceback with --debug. Bad command lines exit with 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_tools.util import TYPES_HIVE, copy, one_error_line, run

REG = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\X\\K]\r\n\"v\"=dword:1\r\n"


def _missing(d: Path) -> Path:
    return d / "missing"


def _directory(d: Path) -> Path:
    (d / "adir").mkdir()
    return d / "adir"


def _not_a_hive(d: Path) -> Path:
    (d / "nothive").write_bytes(b"MZ" + bytes(5000))
    return d / "nothive"


def _truncated(d: Path) -> Path:
    (d / "truncated").write_bytes(TYPES_HIVE.read_bytes()[:9000])
    return d / "truncated"


BAD_FILES: list[tuple[Callable[[Path], Path], tuple[str, ...]]] = [
    (_missing, ("No such file",)),
    (_directory, ("directory",)),
    (_not_a_hive, ("not a registry hive", "signature")),
    (_truncated, ("truncated",)),
]

# Each command with {hive} standing for the bad file, {good} for a good hive, {reg} a .reg file.
COMMANDS: list[tuple[str, ...]] = [
    ("set", "{hive}", "K", "v", "x"),
    ("rm", "{hive}", "K"),
    ("import", "{hive}", "{reg}"),
    ("import", "{hive}", "{reg}", "--dry-run"),
    ("export", "{hive}", "-o", "{out}"),
    ("check", "{hive}"),
    ("diff", "{hive}", "{good}"),
    ("diff", "{good}", "{hive}"),
    ("find", "{hive}", "x"),
    ("timeline", "{hive}"),
    ("info", "{hive}"),
    ("ls", "{hive}"),
    ("get", "{hive}", "K", "v"),
    ("recover", "{hive}", "-o", "{out}"),
    ("net", "show", "{hive}"),
    ("net", "script", "{hive}", "--target", "netsh", "-o", "{out}"),
    ("services", "list", "{hive}"),
    ("services", "show", "{hive}", "viostor"),
    ("services", "set-start", "{hive}", "viostor", "boot"),
    ("services", "remove", "{hive}", "viostor"),
    ("cdd", "list", "{hive}"),
    ("cdd", "add", "{hive}", "PCI\\VEN_1AF4&DEV_1001", "viostor"),
    ("cdd", "remove", "{hive}", "--service", "viostor"),
    ("xen", "detect", "{hive}"),
    ("xen", "neutralise", "{hive}"),
    ("xen", "neutralise", "{hive}", "--dry-run"),
    ("migrate", "xen-to-kvm", "--system", "{hive}", "--dry-run"),
    ("migrate", "xen-to-kvm", "--system", "{hive}"),
    ("migrate", "xen-to-kvm", "--system", "{good}", "--software", "{hive}", "--dry-run"),
]


def _command_id(command: tuple[str, ...]) -> str:
    words = [w for w in command if w.isidentifier() or w in ("set-start", "xen-to-kvm")]
    flags = [w for w in command if w in ("--dry-run", "--software")]
    return "-".join(words[:2] + flags)


@pytest.mark.parametrize("command", COMMANDS, ids=_command_id)
@pytest.mark.parametrize(("make", "words"), BAD_FILES, ids=lambda x: getattr(x, "__name__", ""))
def test_bad_hive_files(tmp_path: Path, command: tuple[str, ...], make: Callable[[Path], Path],
                        words: tuple[str, ...]) -> None:
    bad = make(tmp_path)
    before = bad.read_bytes() if bad.is_file() else None
    (tmp_path / "in.reg").write_text(REG, encoding="utf-16")
    good = copy(TYPES_HIVE, tmp_path / "good.hiv")
    args = [a.format(hive=bad, good=good, reg=tmp_path / "in.reg", out=tmp_path / "out.reg")
            for a in command]
    r = run(*args)
    assert r.returncode == 1, (r.stdout, r.stderr)
    line = one_error_line(r)
    assert any(w in line for w in words), line
    if before is not None:
        assert bad.read_bytes() == before
    assert not (tmp_path / "out.reg").exists()


MISSING_KEY: list[tuple[str, ...]] = [
    ("rm", "{good}", "No\\Such"),
    ("rm", "{good}", "Types", "no such value"),
    ("export", "{good}", "No\\Such", "-o", "{out}"),
    ("diff", "{good}", "{good}", "No/Such"),
    ("find", "{good}", "x", "No\\Such"),
    ("timeline", "{good}", "No\\Such"),
]


@pytest.mark.parametrize("command", MISSING_KEY, ids=lambda c: c[0] + str(len(c)))
def test_missing_key_or_value(tmp_path: Path, command: tuple[str, ...]) -> None:
    good = copy(TYPES_HIVE, tmp_path / "good.hiv")
    before = good.read_bytes()
    args = [a.format(good=good, out=tmp_path / "out.reg") for a in command]
    r = run(*args)
    assert r.returncode == 1
    line = one_error_line(r)
    assert "not found" in line
    assert "No\\Such" in line or "no such value" in line
    assert good.read_bytes() == before
    assert not (tmp_path / "out.reg").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    r = run("--debug", "check", tmp_path / "missing")
    assert r.returncode != 0 and "Traceback" in r.stderr and "HiveFileError" in r.stderr


@pytest.mark.parametrize("args", [
    ("set", "{good}", "K", "v", "--type", "REG_NOPE", "x"),
    ("set", "{good}", "K", "v", "--type", "REG_DWORD", "twelve"),
    ("set", "{good}", "K", "v", "--type", "REG_DWORD", "1", "2"),
    ("set", "{good}", "K", "v", "--type", "REG_DWORD", "0x100000000"),
    ("set", "{good}", "K", "v", "--type", "REG_BINARY", "0g"),
    ("set", "{good}", "K", "v", "--type", "REG_MULTI_SZ", "a", ""),
    ("set", "{good}", "K", "v"),
    ("rm", "{good}", ""),
    ("diff", "{good}", "{good}", "--format", "xml"),
    ("find", "{good}", "(", "--regex"),
    ("timeline", "{good}", "--since", "yesterday"),
    ("completion", "tcsh"),
    ("export", "{good}", "--prefix", "\\"),
])
def test_bad_command_lines_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    good = copy(TYPES_HIVE, tmp_path / "good.hiv")
    before = good.read_bytes()
    r = run(*[a.format(good=good) for a in args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.strip()
    assert good.read_bytes() == before
