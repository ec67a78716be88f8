"""hivecheck: ReactOS's re-implementation of Windows' load-time checks, as an oracle.

``../shared/tools/hivecheck`` is ReactOS's registry library (cmlib) compiled for this host: it
verifies the base block as ``HvpVerifyHiveHeader`` does, maps the bins as
``HvpInitializeMemoryHive`` does and runs ``CmCheckRegistry`` with the flags ``NtLoadKey`` uses,
and prints ``OK`` or ``BAD: reason`` (see its README for what it checks and what it cannot see:
ASCII sibling order, hashes, security records, big data chains, duplicate value names).

* :func:`hivecheck_exe` builds it once (its ``build.sh`` caches the program in
  ``~/.cache/winmigrate/hivecheck-<hash>``, or in a private temporary folder when that fails) and
  :func:`hivecheck_reason` says why not when it cannot: no ``../shared``, no C compiler.
* :func:`hivecheck_ok` runs it on a file, on bytes or on an open hive: ``(True, "OK")`` or
  ``(False, "BAD: ...")``.
* :func:`hivecheck_verdict` is the same, except that it accepts a refusal that comes from one of
  hivecheck's documented over-strict spots rather than from the hive (below).
* :data:`STATS` counts the hives given to it during a test session (``tests/conftest.py`` prints
  the counts at the end of the run).

Excused refusals (hivecheck's README, "Stricter than Windows"):

* ``BAD_LEXICOGRAPHICAL_ORDER`` where the two siblings it names are in Windows' order but not in
  cmlib's: cmlib upcases with the full Unicode table (``sdk/tools/unicode/casemap.c``, Unicode
  12: 'ı' -> 'I', 'µ' -> 'Μ', 'ς' -> 'Σ', ...), Windows with its NLS table, which has none of
  those (``winmigrate.regf.upcase``). Windows sorts 'İstanbul' before 'ıi'; cmlib wants the
  reverse. The rest of the hive is still judged: a copy with that list in cmlib's order goes
  through hivecheck again.
* ``TREE_TOO_MANY_LEVELS`` on a hive whose keys nest 511 or 512 levels below the root: cmlib
  refuses from 511 on, Windows only beyond 512.

The build is without AddressSanitizer (``ASAN=0``): about 3 ms per small hive against 7 with it,
and the hives the tests give it are winmigrate's own output, not hostile input. Set
``WINMIGRATE_HIVECHECK_ASAN=1`` for the ASan build, ``WINMIGRATE_HIVECHECK`` to use a program
built elsewhere, ``WINMIGRATE_HIVECHECK_DIR`` for another copy of the tool's folder.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "HIVECHECK_DIR",
    "STATS",
    "hivecheck_exe",
    "hivecheck_ok",
    "hivecheck_reason",
    "hivecheck_verdict",
]

_REPO_ROOT = Path(__file__).resolve().parents[2]
#: The tool's folder (sources, glue and ``build.sh``).
HIVECHECK_DIR = Path(os.environ.get("WINMIGRATE_HIVECHECK_DIR",
                                    _REPO_ROOT.parent / "shared" / "tools" / "hivecheck"))
#: What was given to hivecheck in this session: hives, refusals, refusals excused.
STATS: dict[str, int] = {"hives": 0, "bad": 0, "excused": 0}


@functools.lru_cache(maxsize=1)
def _build() -> tuple[str | None, str]:
    given = os.environ.get("WINMIGRATE_HIVECHECK")
    if given:
        if os.access(given, os.X_OK):
            return given, ""
        return None, f"WINMIGRATE_HIVECHECK={given} is not an executable"
    script = HIVECHECK_DIR / "build.sh"
    if not script.is_file():
        return None, f"hivecheck is not available ({script} is absent)"
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        return None, f"no C compiler ({cc}) to build hivecheck"
    env = {**os.environ, "ASAN": os.environ.get("WINMIGRATE_HIVECHECK_ASAN", "0")}
    why = ""
    for outdir in ([], [tempfile.mkdtemp(prefix="hivecheck-")]):
        try:
            proc = subprocess.run(["sh", str(script), *outdir], capture_output=True, text=True,
                                  env=env, timeout=900, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"cannot run {script}: {exc}"
        lines = proc.stdout.strip().splitlines()
        if proc.returncode == 0 and lines and os.access(lines[-1], os.X_OK):
            return lines[-1], ""
        why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return None, f"hivecheck did not build: {why}"


def hivecheck_exe() -> str | None:
    """The path of the hivecheck program, built on the first call; ``None`` when it cannot be
    had (:func:`hivecheck_reason` says why)."""
    return _build()[0]


def hivecheck_reason() -> str:
    """Why :func:`hivecheck_exe` is ``None`` (empty when it is not)."""
    return _build()[1]


def hivecheck_ok(hive: Any, *, timeout: float = 300) -> tuple[bool, str]:
    """``(True, "OK")`` when hivecheck accepts ``hive``, else ``(False, "BAD: ...")``.

    ``hive`` is a path, the bytes of a hive file, or an open ``winmigrate.Hive`` (a writable one
    as its next save would write it, ``to_bytes()``; a read-only one as it was read). Raises
    ``RuntimeError`` when hivecheck is not available.
    """
    exe = hivecheck_exe()
    if exe is None:
        raise RuntimeError(hivecheck_reason())
    if isinstance(hive, (str, os.PathLike)):
        return _run([exe, os.fspath(hive)], None, timeout)
    data = _data(hive)
    if os.path.exists("/dev/stdin"):  # hivecheck reads its file with fread: a pipe will do
        return _run([exe, "/dev/stdin"], data, timeout)
    with tempfile.TemporaryDirectory(prefix="hivecheck-") as folder:
        path = Path(folder) / "hive"
        path.write_bytes(data)
        return _run([exe, str(path)], None, timeout)


def hivecheck_verdict(hive: Any, *, timeout: float = 300) -> tuple[bool, str]:
    """:func:`hivecheck_ok`, except that a refusal hivecheck's documented over-strictness
    explains (see the module's docstring) comes back as ``(True, "excused: ...")``.

    An order that only cmlib's case table finds wrong is excused, and then the rest of the hive
    is still judged: the list cmlib named is re-sorted its way in a copy, and the copy goes
    through hivecheck again, until it is accepted or refused for something else."""
    ok, verdict = hivecheck_ok(hive, timeout=timeout)
    if ok:
        return ok, verdict
    data = Path(hive).read_bytes() if isinstance(hive, (str, os.PathLike)) else _data(hive)
    excused: list[str] = []
    for _round in range(64):
        why, fixed = _excuse(data, verdict, timeout)
        if why is None:
            return False, verdict + (f" (after excusing: {'; '.join(excused)})" if excused else "")
        excused.append(why)
        if fixed is None:
            break
        data = fixed
        ok, verdict = hivecheck_ok(data, timeout=timeout)
        if ok:
            break
    else:
        return False, f"{verdict} (after excusing {len(excused)} refusals)"
    STATS["excused"] += 1
    return True, f"excused: {'; '.join(excused[:3])}" + (" ..." if len(excused) > 3 else "")


def _data(hive: Any) -> bytes:
    if isinstance(hive, (bytes, bytearray, memoryview)):
        return bytes(hive)
    if getattr(hive, "writable", False):
        return bytes(hive.to_bytes())
    hive._img.fill_all()  # a read-only file is read on demand
    return bytes(hive._img.buf)


def _run(argv: list[str], data: bytes | None, timeout: float) -> tuple[bool, str]:
    STATS["hives"] += 1
    proc = subprocess.run(argv, input=data, capture_output=True, timeout=timeout, check=False)
    verdict = (proc.stdout.decode("utf-8", "replace").strip()
               or proc.stderr.decode("utf-8", "replace").strip()
               or f"hivecheck exited {proc.returncode}")
    if proc.returncode == 0 and verdict == "OK":
        return True, verdict
    STATS["bad"] += 1
    return False, verdict


def _excuse(data: bytes, verdict: str, timeout: float) -> tuple[str | None, bytes | None]:
    """Why cmlib refused ``data`` for its own over-strictness (``None``: it did not), and a copy
    of ``data`` with that spot put the way cmlib wants it (``None``: no such copy)."""
    import winmigrate
    from winmigrate.regf.names import collation_key
    from winmigrate.regf.records import list_leaves, read_nk, read_nk_named

    if "TREE_TOO_MANY_LEVELS" in verdict:
        with winmigrate.Hive.from_bytes(data) as hive:
            report = hive.check()
            depth = max((k.path.count("\\") + 1 for k in hive.walk() if k.path), default=0)
        if report.ok and depth in (511, 512):
            return f"keys {depth} levels below the root (cmlib allows 510, Windows 512)", None
        return None, None
    if "BAD_LEXICOGRAPHICAL_ORDER" not in verdict:
        return None, None
    exe = hivecheck_exe()
    assert exe is not None
    with tempfile.TemporaryDirectory(prefix="hivecheck-") as folder:
        path = Path(folder) / "hive"
        path.write_bytes(data)
        proc = subprocess.run([exe, "-v", str(path)], capture_output=True, timeout=timeout,
                              check=False)
    # cmcheck.c prints the current cell first, then the sibling before it (its labels are
    # swapped).
    found = re.search(rb"order is invalid \(sibling 0x([0-9a-f]+), current cell 0x([0-9a-f]+)\)",
                      proc.stderr)
    if found is None:
        return None, None
    current_off, sibling_off = int(found.group(1), 16), int(found.group(2), 16)
    buf = bytearray(data)
    with winmigrate.Hive.from_bytes(data) as hive:
        img = hive._img
        current = read_nk_named(img, current_off)[1]
        sibling = read_nk_named(img, sibling_off)[1]
        if not (collation_key(sibling) < collation_key(current)
                and _cmlib_key(sibling) >= _cmlib_key(current)):
            return None, None
        # The parent's whole list, re-sorted in cmlib's order (hints travel with their keys).
        if _cmlib_key(sibling) == _cmlib_key(current):
            # False twins ('µ', 'Μ'): one name to cmlib, two to Windows; no order satisfies it.
            return f"{sibling!r} and {current!r} are one name to cmlib, two to Windows", None
        parent = read_nk(img, current_off)[4]
        leaves = list_leaves(img, read_nk(img, parent)[7])
        slots = []
        for leaf, sig, elements, _hints in leaves:
            width = 4 if sig == b"li" else 8
            first = 4096 + leaf + 4 + 4
            slots += [(first + width * i, width) for i in range(len(elements))]
        if len({w for _p, w in slots}) != 1:
            return None, None
        entries = [bytes(buf[p:p + w]) for p, w in slots]
        names = {e: read_nk_named(img, struct.unpack_from("<I", e)[0])[1] for e in entries}
    for (pos, width), entry in zip(slots, sorted(entries, key=lambda e: _cmlib_key(names[e]))):
        buf[pos:pos + width] = entry
    why = f"{sibling!r} before {current!r} is Windows' order, not cmlib's"
    return why, bytes(buf)


def _cmlib_key(name: str) -> list[int]:
    """``name`` upcased as cmlib's ``RtlUpcaseUnicodeChar`` does (Unicode simple uppercase of
    each UTF-16 code unit), as code units."""
    raw = name.encode("utf-16-le", "surrogatepass")
    out = []
    for (unit,) in struct.iter_unpack("<H", raw):
        upper = "" if 0xD800 <= unit <= 0xDFFF else chr(unit).upper()
        out.append(ord(upper) if len(upper) == 1 and ord(upper) <= 0xFFFF else unit)
    return out
