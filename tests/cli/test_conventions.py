"""The conventions every command shares (docs/cli.md, "Conventions"), each checked on a real
process the way a user meets it: read-only hives, backups, dry runs and their counts, exit codes,
error lines (and JSON errors), hints in the words of the command line, warnings whenever data is
skipped or a dirty hive is read without its logs."""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import winmigrate
from tests.cli_tools.util import TYPES_HIVE, copy, one_error_line, run
from tests.helpers import FIXTURES, REPO
from winmigrate.cli.failures import translate

WIN7 = FIXTURES / "xen_win7_small.hiv"
WIN10 = FIXTURES / "xen_win10_small.hiv"
SOFTWARE = FIXTURES / "xen_software_small.hiv"
VIRTIO_ID = "PCI\\VEN_1AF4&DEV_1001&REV_00"
REG = ("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\r\n"
       "\"Extra\"=dword:00000001\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\New\\Key]\r\n@=\"x\"\r\n")

# Every command that changes a hive, on {h} (a Windows 7 SYSTEM hive); the flag that writes a
# read-only file anyway (rm's -f, as for rm(1)).
WRITERS: list[tuple[tuple[str, ...], str]] = [
    (("set", "{h}", "Select", "Extra", "-t", "dword", "1"), "--force"),
    (("rm", "{h}", "Select", "Failed"), "-f"),
    (("import", "{h}", "{reg}"), "--force"),
    (("services", "set-start", "{h}", "xennet", "disabled"), "--force"),
    (("services", "add", "{h}", "KvmConv", "--type", "own", "--start", "auto",
      "--error-control", "normal", "--image-path", "C:\\KvmConv\\k.exe"), "--force"),
    (("services", "remove", "{h}", "xennet"), "--force"),
    (("cdd", "add", "{h}", VIRTIO_ID, "viostor"), "--force"),
    (("cdd", "remove", "{h}", "--service", "xenbus"), "--force"),
    (("xen", "neutralise", "{h}"), "--force"),
    (("migrate", "xen-to-kvm", "--system", "{h}"), "--force"),
]
WRITER_IDS = [" ".join(w for w in c[:2] if not w.startswith("{")) for c, _f in WRITERS]


def _args(command: tuple[str, ...], folder: Path, **more: Path) -> list[str]:
    reg = folder / "in.reg"
    if not reg.exists():
        reg.write_bytes(b"\xff\xfe" + REG.encode("utf-16-le"))
    names = {"reg": reg, **more}
    return [a.format(**names) for a in command]


@pytest.fixture
def hive(tmp_path: Path) -> Path:
    return copy(WIN7, tmp_path / "SYSTEM")


def _others(folder: Path, keep: str = "SYSTEM") -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in (keep, "in.reg"))


# -- read-only hives -----------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "force"), WRITERS, ids=WRITER_IDS)
def test_a_read_only_hive_is_refused_by_every_writing_command(
        hive: Path, tmp_path: Path, command: tuple[str, ...], force: str) -> None:
    hive.chmod(0o444)
    before = hive.read_bytes()
    r = run(*_args(command, tmp_path, h=hive))
    assert r.returncode == 1, (r.stdout, r.stderr)
    line = one_error_line(r)
    assert f"{hive} is read-only (mode 0444)" in line and "chmod u+w" in line, line
    assert f"give {force}" in line or force == "-f", line
    assert "force=True" not in line
    assert hive.read_bytes() == before and _others(tmp_path) == []
    r = run(*_args(command, tmp_path, h=hive), "--dry-run")  # a dry run only reads
    assert r.returncode == 0, r.stderr
    assert hive.read_bytes() == before and _others(tmp_path) == []
    if os.geteuid() != 0:
        return  # only root can write a file without write permission
    r = run(*_args(command, tmp_path, h=hive), force)
    assert r.returncode == 0, r.stderr
    assert hive.read_bytes() != before and hive.stat().st_mode & 0o777 == 0o444


def test_rm_force_on_a_read_only_hive_says_so_in_help() -> None:
    r = run("rm", "--help")
    assert "-f, --force" in r.stdout and "hive file is changed anyway (like rm -f)" in \
        " ".join(r.stdout.split())


# -- backups, dry runs and their counts ----------------------------------------------------------

def _count(stderr: str, *, dry: bool) -> int:
    pattern = r"dry run: (\d+) changes?;" if dry else r"(\d+) changes? written to"
    m = re.search(pattern, stderr)
    assert m is not None, stderr
    return int(m.group(1))


@pytest.mark.parametrize(("command", "force"), WRITERS, ids=WRITER_IDS)
def test_every_writing_command_dry_run_backup_and_count(
        hive: Path, tmp_path: Path, command: tuple[str, ...], force: str) -> None:
    """A dry run writes nothing and ends with the count a real run then writes; a real run
    keeps SYSTEM.bak unless --no-backup; --backup (the default now) is still accepted."""
    before = hive.read_bytes()
    dry = run(*_args(command, tmp_path, h=hive), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert hive.read_bytes() == before and _others(tmp_path) == []
    assert f"{hive} was not modified" in dry.stderr
    planned = _count(dry.stderr, dry=True)
    assert planned > 0
    short = run(*_args(command, tmp_path, h=hive), "-n")
    assert short.returncode == 0 and _count(short.stderr, dry=True) == planned
    real = run(*_args(command, tmp_path, h=hive))
    assert real.returncode == 0, real.stderr
    assert _count(real.stderr, dry=False) == planned
    assert f"(previous file kept as {hive}.bak)" in real.stderr
    assert Path(f"{hive}.bak").read_bytes() == before


@pytest.mark.parametrize(("command", "force"), WRITERS, ids=WRITER_IDS)
def test_no_backup_and_the_old_backup_flag(hive: Path, tmp_path: Path,
                                           command: tuple[str, ...], force: str) -> None:
    r = run(*_args(command, tmp_path, h=hive), "--no-backup")
    assert r.returncode == 0, r.stderr
    assert "written to" in r.stderr and "kept as" not in r.stderr
    assert _others(tmp_path) == []
    r = run(*_args(command, tmp_path, h=hive), "--backup", "--no-backup")
    assert r.returncode == 2 and "not allowed with" in r.stderr


def test_the_old_backup_flag_still_works(hive: Path) -> None:
    before = hive.read_bytes()
    r = run("set", hive, "Select", "Extra", "-t", "dword", "1", "--backup")
    assert r.returncode == 0 and Path(f"{hive}.bak").read_bytes() == before


def test_dry_runs_of_set_and_rm_show_what_a_real_run_does(hive: Path) -> None:
    for args, shown in [(("set", hive, "New\\Key", "v", "-t", "dword", "7"),
                         "New\\Key  v = REG_DWORD 0x00000007 (7)"),
                        (("rm", hive, "ControlSet002", "-r"), "delete key ControlSet002 (")]:
        dry = run(*args, "--dry-run")
        assert dry.returncode == 0 and shown in dry.stdout.replace("would delete", "delete")
        real = run(*args)
        assert real.returncode == 0 and shown in real.stdout.replace("deleted", "delete")
    dry = run("set", hive, "Fresh\\Key", "v", "x", "-n")
    assert "would create key Fresh" in dry.stderr
    r = run("rm", hive, "Select", "Current", "--json", "-n")
    assert json.loads(r.stdout) == {"dry_run": True, "deleted": "value", "path": "Select",
                                    "name": "Current", "keys": 0, "values": 1}


# -- exit codes ----------------------------------------------------------------------------------

EXIT_CODES: list[tuple[tuple[str, ...], int]] = [
    # the command line is wrong, whatever the files hold: 2
    (("services", "set-start", "{h}", "xennet", "sometimes"), 2),
    (("set", "{h}", "K", "v", "-t", "dword", "twelve"), 2),
    (("find", "{h}", "x", "--limit", "-1"), 2),
    (("timeline", "{h}", "--limit", "x"), 2),
    (("get", "{h}", "Select", "--raw"), 2),
    (("net", "show", "{h}", "--control-set", "x"), 2),
    (("convert", "{d}", "--force", "--drivers", "{d}"), 2),
    (("migrate", "xen-to-kvm", "--system", "{h}", "--device-path", "X", "--dry-run"), 2),
    (("info",), 2),
    (("frobnicate",), 2),
    # the command failed on its input: 1
    (("cdd", "add", "{w10}", VIRTIO_ID, "viostor", "--dry-run"), 1),
    (("migrate", "xen-to-kvm", "--system", "{w10}", "--software", "{sw}", "--dry-run"), 1),
    (("net", "script", "{h}", "--target", "netsh", "--interface",
      "{{99999999-9999-9999-9999-999999999999}}"), 1),
    (("services", "show", "{h}", "nosuch"), 1),
    (("services", "list", "{h}", "--control-set", "7"), 1),
    (("ls", "{h}", "No\\Such"), 1),
    (("get", "{h}", "Select", "nosuch"), 1),
    (("convert", "{d}/no-such-guest", "--drivers", "{d}"), 1),
    (("convert", "{d}", "--drivers", "{d}/no-such-iso"), 1),
    (("info", "{d}/missing"), 1),
]


@pytest.mark.parametrize(("command", "code"), EXIT_CODES,
                         ids=[f"{c[0]}-{i}" for i, (c, _x) in enumerate(EXIT_CODES)])
def test_exit_codes(hive: Path, tmp_path: Path, command: tuple[str, ...], code: int) -> None:
    args = [a.format(h=hive, w10=copy(WIN10, tmp_path / "W10"),
                     sw=copy(SOFTWARE, tmp_path / "SOFTWARE"), d=tmp_path) for a in command]
    r = run(*args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.strip()


# -- error lines ---------------------------------------------------------------------------------

def test_errors_name_the_path_as_given_without_errno(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad").write_bytes(b"MZ" + bytes(5000))
    cases = [
        (("info", "sub/missing"), "sub/missing: cannot open hive: No such file or directory"),
        (("set", "sub/missing", "K", "v", "x"), "sub/missing: cannot open hive:"),
        (("set", "sub/missing", "K", "v", "x", "-n"), "sub/missing: cannot open hive:"),
        (("info", "sub"), "sub: cannot open hive: it is a directory"),
        (("check", "sub/bad"), "sub/bad, offset 0x0: not a registry hive"),
        (("import", "sub/bad", "sub/none.reg"), "cannot read sub/none.reg: No such file"),
        (("export", "sub/bad", "-o", "sub/x.reg"), "sub/bad, offset 0x0"),
        (("migrate", "xen-to-kvm", "--system", "sub/bad", "--dry-run"), "sub/bad, offset 0x0"),
    ]
    for args, expected in cases:
        r = run(*args, cwd=tmp_path)
        line = one_error_line(r)
        assert "[Errno" not in line and expected in line, (args, line)


def test_a_hive_given_as_the_reg_file_is_not_echoed(hive: Path, tmp_path: Path) -> None:
    other = copy(TYPES_HIVE, tmp_path / "some.hiv")
    r = run("import", hive, other)
    assert r.returncode == 1
    line = one_error_line(r)
    assert "it holds a registry hive (the hive comes first: winmigrate import HIVE FILE.reg)" \
        in line
    assert line.isprintable() and "\\x" not in line


@pytest.mark.parametrize("args", [
    ("info", "{d}/missing", "--json"),
    ("ls", "{h}", "No\\Such", "--json"),
    ("set", "{d}/missing", "K", "v", "x", "--json"),
    ("services", "list", "{d}/missing", "--json"),
    ("xen", "neutralise", "{ro}", "--json"),
    ("diff", "{h}", "{d}/missing", "--format", "json"),
    ("timeline", "{h}", "--json", "--since", "yesterday"),
    ("ls", "{h}", "--json", "--no-such-option"),
])
def test_errors_are_json_on_stderr_under_json(hive: Path, tmp_path: Path,
                                              args: tuple[str, ...]) -> None:
    ro = copy(WIN7, tmp_path / "RO")
    ro.chmod(0o444)
    r = run(*[a.format(h=hive, d=tmp_path, ro=ro) for a in args])
    assert r.returncode in (1, 2) and r.stdout == ""
    error = json.loads(r.stderr.splitlines()[-1])
    assert set(error) == {"error", "type", "exit_code"} and error["exit_code"] == r.returncode
    assert "Traceback" not in r.stderr


# -- hints in the words of the command line ------------------------------------------------------

def _dirty(path: Path) -> Path:
    data = bytearray(WIN7.read_bytes())
    data[4] ^= 1  # the sequence numbers differ: dirty, and no log next to it
    path.write_bytes(bytes(data))
    return path


def _truncated(path: Path) -> Path:
    path.write_bytes(TYPES_HIVE.read_bytes()[:40000])
    return path


HINTS: list[tuple[Callable[[Path], Path], tuple[str, ...], str]] = [
    (_truncated, ("info", "{x}"), "--tolerant reads around it"),
    (_truncated, ("export", "{x}", "-o", "{d}/x.reg"), "--tolerant reads around it"),
    (_truncated, ("check", "{x}"), "info, ls, get, find, timeline, export and net read around "
                                   "it with --tolerant"),
    (_truncated, ("set", "{x}", "K", "v", "x"), "read around it with --tolerant"),
    (_dirty, ("ls", "{x}", "--logs", "require"), "--logs ignore reads the primary file as it is"),
    (_dirty, ("set", "{x}", "K", "v", "x", "--logs", "require"),
     "--logs ignore (on the read commands) reads the primary file as it is"),
    (_dirty, ("set", "{x}", "K", "v", "x"), "'winmigrate recover HIVE --log FILE -o CLEAN'"),
    (_dirty, ("xen", "neutralise", "{x}"), "'winmigrate recover HIVE --log FILE -o CLEAN'"),
    (_dirty, ("migrate", "xen-to-kvm", "--system", "{x}"),
     "'winmigrate recover HIVE --log FILE -o CLEAN'"),
    (lambda p: copy(WIN10, p), ("cdd", "add", "{x}", VIRTIO_ID, "viostor"),
     "'winmigrate migrate xen-to-kvm' writes its DriverDatabase entries"),
]


@pytest.mark.parametrize(("make", "args", "words"), HINTS,
                         ids=[f"{a[0]}-{i}" for i, (_m, a, _w) in enumerate(HINTS)])
def test_hints_use_the_options_of_the_command(tmp_path: Path, make: Callable[[Path], Path],
                                              args: tuple[str, ...], words: str) -> None:
    x = make(tmp_path / "SYSTEM")
    r = run(*[a.format(x=x, d=tmp_path) for a in args])
    assert r.returncode == 1, (r.stdout, r.stderr)
    line = one_error_line(r) if "warning" not in r.stderr else r.stderr.splitlines()[-1]
    assert words in line, line
    assert not re.search(r"strict=|logs=|force=|writable=|winmigrate\.[a-z]", line), line


def test_migrate_notes_name_the_command_not_the_function(hive: Path) -> None:
    r = run("migrate", "xen-to-kvm", "--system", hive, "--dry-run")
    assert r.returncode == 0
    assert "to the new virtio NIC ('winmigrate net script SYSTEM')" in r.stdout
    assert "netscript" not in r.stdout


def _library_messages() -> list[str]:
    """The text of every message the library raises or records (its CLI-reachable words)."""
    out = []
    for path in sorted((REPO / "src" / "winmigrate").rglob("*.py")):
        if "cli" in path.parts or "testing" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        hints = [n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id.endswith("_HINT") for t in n.targets)]
        nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Raise)] + hints + [
            n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and n.func.attr == "append"]
        for node in nodes:
            parts = {id(v) for sub in ast.walk(node) if isinstance(sub, ast.JoinedStr)
                     for v in sub.values}
            for sub in ast.walk(node):
                if isinstance(sub, ast.JoinedStr):
                    out.append("".join(v.value if isinstance(v, ast.Constant) else "{}"
                                       for v in sub.values))
                elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and \
                        id(sub) not in parts:
                    out.append(sub.value)
    return out


def test_no_library_hint_reaches_the_command_line_untranslated() -> None:
    """Every message that tells a Python caller which argument to pass (strict=False, logs=...,
    force=True, recursive=True) or which function to call (winmigrate.x.y) is rewritten."""
    api = re.compile(r"\b(?:strict|logs|force|recursive)=|\(winmigrate\.[a-z_.]+\)|"
                     r"winmigrate\.[a-z_.]+_script")
    # (bar the checks of the arguments' types, which the command line never fails)
    messages = [m for m in _library_messages() if api.search(m) and "expected '" not in m]
    assert len(messages) >= 7  # the hints are still found
    for text in messages:
        for options in ({}, {"--tolerant": "", "--logs": "auto ignore require", "--log": "",
                             "--force": "read-only"}):
            shown = translate(text, options)
            leftover = api.search(shown)
            assert leftover is None, (text, shown)


# -- never silent about what was skipped ---------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("find", "{x}", "x", "--tolerant"),
    ("timeline", "{x}", "--tolerant"),
    ("ls", "{x}", "--tolerant"),
    ("get", "{x}", "Types", "dword", "--tolerant"),
    ("info", "{x}", "--tolerant", "--json"),
    ("export", "{x}", "--tolerant", "-o", "{d}/x.reg"),
])
def test_skipped_structures_are_always_reported(tmp_path: Path, args: tuple[str, ...]) -> None:
    x = _truncated(tmp_path / "damaged")
    r = run(*[a.format(x=x, d=tmp_path) for a in args])
    assert r.returncode in (0, 1), r.stderr
    assert re.search(rf"warning: {re.escape(str(x))}: \d+ damaged structure\(s\) skipped",
                     r.stderr), r.stderr


@pytest.mark.parametrize("args", [
    ("ls", "{x}", "Select"),
    ("get", "{x}", "Select", "Current"),
    ("net", "show", "{x}"),
    ("info", "{x}", "--quick"),
    ("find", "{x}", "xen", "--keys"),
    ("services", "set-start", "{x}", "xennet", "disabled", "--dry-run"),
    ("set", "{x}", "Select", "v", "x", "--dry-run"),
    ("migrate", "xen-to-kvm", "--system", "{x}", "--dry-run"),
])
def test_a_dirty_hive_read_without_its_logs_is_said(tmp_path: Path,
                                                     args: tuple[str, ...]) -> None:
    x = _dirty(tmp_path / "SYSTEM")
    r = run(*[a.format(x=x) for a in args])
    assert r.returncode == 0, r.stderr
    assert f"warning: {x}: dirty primary" in r.stderr and "NOT recovered" in r.stderr
    r = run(*[a.format(x=x) for a in args], "--logs", "ignore")
    if r.returncode == 0:  # set/rm/import take --logs auto|require only
        assert f"note: {x} is dirty: read as the primary file is (--logs ignore)" in r.stderr


def test_a_clean_hive_gets_no_warning(hive: Path) -> None:
    for args in (("ls", hive), ("find", hive, "xen", "--tolerant"), ("net", "show", hive)):
        r = run(*args)
        assert r.returncode == 0 and r.stderr == "", r.stderr


# -- human output ------------------------------------------------------------------------------

def test_no_python_reprs_in_human_output(hive: Path) -> None:
    outputs = [run("services", "show", hive, "xenvbd").stdout,
               run("services", "list", hive).stdout,
               run("xen", "detect", hive, "--software", SOFTWARE).stdout,
               run("xen", "neutralise", hive, "--dry-run").stdout,
               run("migrate", "xen-to-kvm", "--system", hive, "--firstboot-image",
                   "C:\\Windows\\KvmConv\\kvmconv.exe", "--dry-run").stdout]
    for out in outputs:
        assert out
        assert not re.search(r"\['|\{'|'\]|\\\\|: '|\bNone\b|\bTrue\b|\bFalse\b", out), out
    show = outputs[0]
    assert "type                 0x1 (kernel driver)" in show
    assert "start                0 (boot)" in show and "owners               oem2.inf" in show
    assert "parameter BusType    10" in show
    assert "UpperFilters = PartMgr, XenFilt, partmgr, XENFILT" in outputs[2]
    assert '+ ImagePath     REG_EXPAND_SZ "C:\\Windows\\KvmConv\\kvmconv.exe"' in outputs[4]


def test_timeline_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    r = run("timeline", TYPES_HIVE, "-o", out)
    assert r.returncode == 0 and r.stdout == "" and f"wrote 58 row(s) to {out}" in r.stderr
    assert out.read_text().splitlines()[0] == "last_written,filetime,path,subkeys,values"
    assert len(out.read_text().splitlines()) == 59
    r = run("timeline", TYPES_HIVE, "--json", "-o", out, "--limit", "2")
    assert [row["path"] for row in json.loads(out.read_text())] == \
        [row["path"] for row in json.loads(run("timeline", TYPES_HIVE, "--json").stdout)][:2]


def _on_a_terminal(*args: str | Path) -> str:
    """What ``winmigrate ARGS`` writes to a terminal (a pseudo-terminal), as text."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "winmigrate", *map(str, args)],
                            stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the writer is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_export_to_a_terminal_is_readable_text(hive: Path, tmp_path: Path) -> None:
    """On a terminal the .reg text comes in the terminal's encoding; piped or to a file it stays
    regedit's UTF-16 (tests/cli_tools/test_export_check.py)."""
    text = _on_a_terminal("export", TYPES_HIVE, "Names")
    assert text.startswith("Windows Registry Editor Version 5.00\n\n"
                           "[HKEY_LOCAL_MACHINE\\types_1_5\\Names]\n")
    assert "[HKEY_LOCAL_MACHINE\\types_1_5\\Names\\straße]" in text
    assert "\x00" not in text
    assert "terminal" in run("export", "--help").stdout
    changed = copy(hive, tmp_path / "SYSTEM.new")
    assert run("set", changed, "Select", "Extra", "é", "--no-backup").returncode == 0
    text = _on_a_terminal("diff", hive, changed, "--format", "reg")
    assert text == ("Windows Registry Editor Version 5.00\n\n"
                    "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Extra\"=\"é\"\n\n")


def test_progress_while_info_and_timeline_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The progress line needs a terminal and a second of work: both are provided here."""
    import io
    import sys

    from winmigrate.cli import main
    from winmigrate.cli.progress import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    kwdefaults = dict(Progress.__init__.__kwdefaults__ or {})
    kwdefaults["delay"] = 0.0
    monkeypatch.setattr(Progress.__init__, "__kwdefaults__", kwdefaults)
    for args, label in ((["info", str(FIXTURES / "many_subkeys.hiv")], "counting: "),
                        (["timeline", str(FIXTURES / "many_subkeys.hiv"), "-o", os.devnull],
                         "reading: ")):
        tty = Tty()
        monkeypatch.setattr(sys, "stderr", tty)
        assert main(args) == 0
        assert label in tty.getvalue() and "\r\x1b[K" in tty.getvalue()


def test_writing_commands_open_the_library_with_force_only_when_asked(hive: Path) -> None:
    """The CLI relies on the library's check (one behaviour for library and CLI)."""
    hive.chmod(0o444)
    with pytest.raises(winmigrate.ReadOnlyHiveError):
        winmigrate.open(hive, writable=True)


def test_log_names_the_transaction_logs(tmp_path: Path) -> None:
    """--log FILE replays logs kept elsewhere: no warning then. A writing command saves in place,
    which replays the logs next to the hive, so it points to a clean copy made by recover."""
    from tests.fuzz.seeds import build_dirty_new, build_system

    primary, logs = build_dirty_new(build_system((1, 5), sets=(1,), extras=False))
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(primary)
    (tmp_path / "kept").mkdir()
    names = []
    for role, content in logs.items():
        (tmp_path / "kept" / f"old.{role}").write_bytes(content)
        names += ["--log", str(tmp_path / "kept" / f"old.{role}")]
    r = run("ls", hive)
    assert r.returncode == 0 and "NOT recovered" in r.stderr and "--log FILE" in r.stderr
    r = run("ls", hive, *names)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run("set", hive, "Select", "x", "y", "--no-backup")
    assert r.returncode == 1
    assert "make a clean copy with 'winmigrate recover HIVE --log FILE -o CLEAN'" in \
        one_error_line(r)
    clean = tmp_path / "SYSTEM.clean"
    assert run("recover", hive, *names, "-o", clean).returncode == 0
    r = run("set", clean, "Select", "x", "y", "--no-backup")
    assert r.returncode == 0, r.stderr
    with winmigrate.open(clean) as h:
        assert not h.dirty and h.key("Select").get("x") == "y"
    r = run("ls", hive, "--logs", "ignore", "--log", "x")
    assert r.returncode == 2 and "does not go with --logs ignore" in r.stderr
