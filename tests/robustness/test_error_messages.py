"""Every error a user can hit, provoked for real, with its message checked: it says what is
wrong, where (the file, the offset or the key path) and, where there is something to do, what to
do. ``python -m tests.robustness.test_error_messages`` prints the table of docs/robustness.md.

Messages improved after review carry the ``proposed`` fragments of their new wording
(docs/robustness.md, "Error messages"); ``test_proposed_wording`` checks that each is there.
"""

from __future__ import annotations

import errno
import os
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import winmigrate
from tests.fuzz.seeds import build_dirty_new, build_system
from winmigrate.regf.baseblock import checksum

SMALL = build_system((1, 5), sets=(1,), extras=False)


@dataclass(frozen=True)
class Case:
    """One user-visible error: how to provoke it in ``folder`` and what its message holds."""

    name: str
    error: type[BaseException]
    provoke: Callable[[Path], object]
    what: tuple[str, ...]  # fragments saying what is wrong
    where: tuple[str, ...] = ()  # fragments saying where ("{path}": the folder, with a slash;
    # "{dir}": without)
    todo: tuple[str, ...] = ()  # fragments saying what to do
    proposed: tuple[str, ...] = field(default=())  # fragments of the proposed better wording
    advice: str = ""  # what to do, for the table (when the message does not say it)


def _hive(folder: Path, data: bytes = SMALL, name: str = "SYSTEM") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _patched(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, pos, value)
    return bytes(buf)


def _nk_field(rel_key: str, field_offset: int) -> int:
    """Absolute position of a field of the key node at ``rel_key`` in SMALL."""
    hive = winmigrate.Hive.from_bytes(SMALL)
    return 4096 + hive.key(rel_key).offset + 4 + field_offset


def _read_all(path: Path, **kw: object) -> object:
    with winmigrate.open(path, **kw) as hive:  # type: ignore[arg-type]
        for key in hive.walk():
            for value in key.values():
                _ = value.data
    return None


def _missing(folder: Path) -> object:
    return winmigrate.open(folder / "NOPE")


def _directory(folder: Path) -> object:
    return winmigrate.open(folder)


def _permission(folder: Path) -> object:
    path = _hive(folder)
    if os.geteuid() != 0:
        path.chmod(0)
        return winmigrate.open(path)
    real = os.open

    def denied(p: str, flags: int, *a: object, **kw: object) -> int:
        if os.fspath(p) == str(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), p)
        return real(p, flags, *a, **kw)  # type: ignore[arg-type]

    os.open = denied  # type: ignore[assignment]
    try:
        return winmigrate.open(path)
    finally:
        os.open = real


def _not_a_hive(folder: Path) -> object:
    path = folder / "notes.txt"
    path.write_bytes(b"hello, this is not a registry hive\n" * 200)
    return winmigrate.open(path)


def _log_as_primary(folder: Path) -> object:
    primary, logs = build_dirty_new(SMALL)
    _hive(folder, primary)
    (folder / "SYSTEM.LOG1").write_bytes(logs["LOG1"])
    return winmigrate.open(folder / "SYSTEM.LOG1")


def _truncated(folder: Path) -> object:
    return winmigrate.open(_hive(folder, SMALL[:4096 + 4096]))


def _bad_cell_offset(folder: Path) -> object:
    pos = _nk_field("ControlSet001", 28)  # its subkey list
    return _read_all(_hive(folder, _patched(SMALL, pos, "<I", 0x7FFFFF00)))


def _free_cell(folder: Path) -> object:
    hive = winmigrate.Hive.from_bytes(SMALL)
    value = hive.key("Select").values()[0]
    cell = 4096 + value.offset
    size = -struct.unpack_from("<i", SMALL, cell)[0]
    return _read_all(_hive(folder, _patched(SMALL, cell, "<i", size)))


def _bad_signature(folder: Path) -> object:
    hive = winmigrate.Hive.from_bytes(SMALL)
    cell = 4096 + hive.key("Select").offset + 4
    buf = bytearray(SMALL)
    buf[cell:cell + 2] = b"xx"
    return _read_all(_hive(folder, bytes(buf)))


def _name_overrun(folder: Path) -> object:
    pos = _nk_field(r"ControlSet001\Services", 72)
    return _read_all(_hive(folder, _patched(SMALL, pos, "<H", 0x4000)))


def _dirty_change(folder: Path) -> object:
    primary, _logs = build_dirty_new(SMALL)
    with winmigrate.open(_hive(folder, primary), writable=True) as hive:
        return hive.root.create_key("New")


def _bad_log_require(folder: Path) -> object:
    primary, logs = build_dirty_new(SMALL)
    _hive(folder, primary)
    for role, content in logs.items():
        damaged = bytearray(content)
        damaged[512 + 40] ^= 0xFF  # inside the first entry: Hash-1 no longer matches
        (folder / f"SYSTEM.{role}").write_bytes(bytes(damaged))
    return winmigrate.open(folder / "SYSTEM", logs="require")


def _key_not_found(folder: Path) -> object:
    with winmigrate.open(_hive(folder)) as hive:
        return hive.key(r"ControlSet001\Services\NoSuchService\Parameters")


def _value_not_found(folder: Path) -> object:
    with winmigrate.open(_hive(folder)) as hive:
        return hive.key(r"ControlSet001\Services\xenvbd").value("NoSuchValue")


def _read_only_change(folder: Path) -> object:
    with winmigrate.open(_hive(folder)) as hive:
        return hive.key("Select").set_value("Current", 2)


def _read_only_file(folder: Path) -> object:
    path = _hive(folder)
    path.chmod(0o444)
    return winmigrate.open(path, writable=True)


def _tolerant_change(folder: Path) -> object:
    with winmigrate.open(_hive(folder), strict=False) as hive:
        return hive.key("Select").set_value("Current", 2)


def _tolerant_writable(folder: Path) -> object:
    return winmigrate.open(_hive(folder), writable=True, strict=False)


def _locked(folder: Path) -> object:
    path = _hive(folder)
    with winmigrate.open(path, writable=True):
        return winmigrate.open(path, writable=True)


def _bad_set_value(folder: Path) -> object:
    with winmigrate.open(_hive(folder), writable=True) as hive:
        return hive.key("Select").set_value("Current", object())


def _too_big_dword(folder: Path) -> object:
    with winmigrate.open(_hive(folder), writable=True) as hive:
        return hive.key("Select").set_value("Big", 1 << 40)


def _key_exists(folder: Path) -> object:
    with winmigrate.open(_hive(folder), writable=True) as hive:
        return hive.root.create_key(r"ControlSet001\Services", exist_ok=False)


def _delete_with_subkeys(folder: Path) -> object:
    with winmigrate.open(_hive(folder), writable=True) as hive:
        hive.key("ControlSet001").delete_key("Services")
    return None


def _save_without_path(folder: Path) -> object:
    hive = winmigrate.create()
    hive.save()
    return None


def _disk_full(folder: Path) -> object:
    path = _hive(folder)
    real = os.pwrite

    def full(fd: int, data: object, offset: int) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with winmigrate.open(path, writable=True) as hive:
        hive.root.create_key("New")
        os.pwrite = full
        try:
            hive.save()
        finally:
            os.pwrite = real
    return None


def _closed(folder: Path) -> object:
    hive = winmigrate.open(_hive(folder), writable=True)
    hive.close()
    return hive.root.create_key("New")


def _unsupported_version(folder: Path) -> object:
    buf = bytearray(_patched(SMALL, 20, "<I", 2))
    struct.pack_into("<I", buf, 508, checksum(buf))
    return winmigrate.open(_hive(folder, bytes(buf)))


def _bad_logs_argument(folder: Path) -> object:
    primary, _logs = build_dirty_new(SMALL)
    return winmigrate.open(_hive(folder, primary), logs="sometimes")  # type: ignore[arg-type]


CASES = [
    Case("missing file", winmigrate.HiveFileError, _missing,
         ("cannot open hive", "No such file"), ("{path}NOPE",)),
    Case("a directory", winmigrate.HiveFileError, _directory,
         ("cannot open hive", "directory"), ("'{dir}'",)),
    Case("permission denied", winmigrate.HiveFileError, _permission,
         ("cannot open hive", "Permission denied"), ("{path}SYSTEM",),
         advice="run as a user who may read the file, or copy it somewhere readable"),
    Case("not a hive", winmigrate.HiveFormatError, _not_a_hive,
         ("not a registry hive", "signature"), ("notes.txt", "offset 0x0")),
    Case("a log given as primary", winmigrate.HiveFormatError, _log_as_primary,
         ("transaction log, not a primary hive",), ("SYSTEM.LOG1", "offset 0x1c"),
         proposed=("open the primary hive",),
         advice="open the primary file (the name without .LOG1); its logs are found beside it"),
    Case("truncated hive", winmigrate.HiveFormatError, _truncated,
         ("file is truncated",), ("SYSTEM", "offset 0x28"), ("strict=False",)),
    Case("bad cell offset", winmigrate.HiveFormatError, _bad_cell_offset,
         ("subkey list offset 0x7fffff00", "not an aligned offset inside the hive bins"),
         ("SYSTEM", "offset 0x", "key ControlSet001"), proposed=("strict=False",),
         advice="strict=False reads around the damage and lists it in hive.problems"),
    Case("free cell referenced", winmigrate.HiveFormatError, _free_cell,
         ("cell is free", "expected an allocated cell"), ("SYSTEM", "offset 0x", "key Select"),
         proposed=("strict=False",),
         advice="strict=False reads around the damage and lists it in hive.problems"),
    Case("bad signature", winmigrate.HiveFormatError, _bad_signature,
         ("expected a key node (nk)", "b'xx'"), ("SYSTEM", "offset 0x"),
         proposed=("strict=False",),
         advice="strict=False reads around the damage and lists it in hive.problems"),
    Case("name overrunning its cell", winmigrate.HiveFormatError, _name_overrun,
         ("key name (16384 bytes) does not fit its cell",), ("SYSTEM", "offset 0x"),
         proposed=("strict=False",),
         advice="strict=False keeps the part of the name that fits and lists the problem"),
    Case("dirty hive without logs, change", winmigrate.DirtyHiveError, _dirty_change,
         ("dirty", "transaction logs were not replayed"), (), ("logs='auto'",),
         proposed=("SYSTEM",)),
    Case("bad log (logs='require')", winmigrate.LogReplayError, _bad_log_require,
         ("no transaction log could be applied", "Hash-1 mismatch"),
         ("SYSTEM", "SYSTEM.LOG1 @ 0x200"), proposed=("logs='ignore'",),
         advice="logs='ignore' reads the primary as it is (read-only: it cannot be saved)"),
    Case("key not found", winmigrate.KeyNotFoundError, _key_not_found,
         ("key not found",), (r"ControlSet001\Services\NoSuchService\Parameters",
                              "NoSuchService")),
    Case("value not found", winmigrate.ValueNotFoundError, _value_not_found,
         ("value 'NoSuchValue' not found",), (r"ControlSet001\Services\xenvbd",)),
    Case("read-only hive change", winmigrate.NotWritableError, _read_only_change,
         ("opened read-only",), (), ("writable=True",), proposed=("SYSTEM",)),
    Case("read-only file, writable open", winmigrate.ReadOnlyHiveError, _read_only_file,
         ("is read-only (mode 0444)",), ("{path}SYSTEM",), ("chmod u+w", "force=True")),
    Case("tolerant hive change", winmigrate.NotWritableError, _tolerant_change,
         ("tolerant read", "cannot be changed"), (), ("writable=True",),
         proposed=("strict=False", "cannot be changed")),
    Case("tolerant and writable", winmigrate.UsageError, _tolerant_writable,
         ("tolerant read (strict=False) cannot be writable",), ()),
    Case("locked hive", winmigrate.HiveLockedError, _locked,
         ("another process has this hive open for writing",), ("{path}SYSTEM",),
         proposed=("read-only",),
         advice="close it in the other program, or open it read-only (readers are not blocked)"),
    Case("bad argument to set_value", winmigrate.UsageError, _bad_set_value,
         ("cannot infer a registry type for object",), ("'Current'",), ("pass type=",)),
    Case("number too big for a DWORD", winmigrate.UsageError, _too_big_dword,
         ("does not fit in 32 bits",), ("'Big'",), ("RegType.QWORD",)),
    Case("key exists", winmigrate.KeyExistsError, _key_exists,
         ("already exists",), (r"ControlSet001\Services",),
         advice="pass exist_ok=True to get the existing key"),
    Case("deleting a key with subkeys", winmigrate.UsageError, _delete_with_subkeys,
         ("has", "subkeys"), (r"ControlSet001\Services",), ("recursive=True",)),
    Case("saving a created hive without a path", winmigrate.UsageError, _save_without_path,
         ("no file yet",), (), ("give save() a path",)),
    Case("disk full on save", winmigrate.HiveFileError, _disk_full,
         ("cannot save hive", "No space left on device"), ("{path}SYSTEM",),
         proposed=("unchanged",),
         advice="free space and save again: the file on disk is unchanged"),
    Case("closed hive", winmigrate.UsageError, _closed, ("closed",), ()),
    Case("unsupported version", winmigrate.HiveFormatError, _unsupported_version,
         ("unsupported major version 2",), ("SYSTEM", "offset 0x14")),
    Case("bad logs argument", winmigrate.UsageError, _bad_logs_argument,
         ("logs must be 'auto', 'ignore', 'require' or a list of log files", "'sometimes'"), ()),
]


def provoke(case: Case) -> tuple[BaseException, str]:
    """Run the case in a fresh folder; the exception and the folder's path (with a slash)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            case.provoke(folder)
        except BaseException as e:
            return e, str(folder) + os.sep
    raise AssertionError(f"{case.name}: nothing was raised")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_message_says_what_where_and_what_to_do(case: Case) -> None:
    exc, folder = provoke(case)
    assert isinstance(exc, case.error), f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, winmigrate.WinmigrateError)
    text = str(exc)
    for part in case.what + case.todo:
        assert part in text, f"{part!r} missing from: {text}"
    for part in case.where:
        part = part.replace("{path}", folder).replace("{dir}", folder.rstrip(os.sep))
        assert part in text, f"where: {part!r} missing from: {text}"
    if isinstance(exc, winmigrate.HiveFileError):
        assert exc.filename and exc.errno, "a HiveFileError carries errno and filename"
    if isinstance(exc, winmigrate.HiveFormatError) and exc.offset is not None:
        assert f"offset 0x{exc.offset:x}" in text


@pytest.mark.parametrize("case", [c for c in CASES if c.proposed],
                         ids=[c.name for c in CASES if c.proposed])
def test_proposed_wording(case: Case) -> None:
    exc, folder = provoke(case)
    text = str(exc)
    for part in case.proposed:
        assert part.replace("{path}", folder) in text, f"{part!r} missing from: {text}"


def table() -> str:
    """The markdown table of docs/robustness.md (example messages with the temp folder cut)."""
    rows = ["| error | class | example message | what to do |", "| --- | --- | --- | --- |"]
    for case in CASES:
        exc, folder = provoke(case)
        text = str(exc).replace(folder, "").replace("|", "\\|").replace("\n", " ")
        todo = case.advice or ("(in the message)" if case.todo else "")
        if case.proposed:
            todo += " — wording improved after review"
        rows.append(f"| {case.name} | `{type(exc).__name__}` | `{text}` | {todo} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
