"""What several commands share: opening hives, normalising key paths, printing JSON."""

from __future__ import annotations

import sys

from ..errors import UsageError
from ..hive import Hive

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from re import Pattern
    from typing import Any

# Root key prefixes users paste from regedit or reg.exe; a hive file has none of them.
_PREFIX_PATTERN = (
    r"^\\?(?:computer\\)?(?:HKEY_LOCAL_MACHINE|HKLM|HKEY_USERS|HKU|HKEY_CURRENT_USER|HKCU|"
    r"HKEY_CLASSES_ROOT|HKCR|HKEY_CURRENT_CONFIG|HKCC)(?:\\|$)")
_PREFIX: Pattern[str] | None = None  # compiled on first need: most paths have no prefix
_HIVE_NAMES = ("SYSTEM", "SOFTWARE", "SAM", "SECURITY", "COMPONENTS", "BCD00000000", "DRIVERS")


def normalize_key_path(path: str, *, note: bool = True, hive: Hive | None = None) -> str:
    """Accept ``/`` or ``\\`` and strip a ``HKLM\\SYSTEM``-style prefix (saying so on stderr).

    With ``hive``, a prefix naming another hive than the one opened (``HKLM\\SOFTWARE\\...`` on
    a SYSTEM hive, by the file name Windows stores in its base block) is refused: the key would
    not be found, and "key not found" would not say why."""
    # "/" separates only in a path without backslashes ("/" is legal in key names).
    p = (path if "\\" in path else path.replace("/", "\\")).strip()
    global _PREFIX
    m = None
    if p[:9].lower().startswith(("hk", "\\", "computer\\")):  # where a prefix can start
        if _PREFIX is None:
            import re

            _PREFIX = re.compile(_PREFIX_PATTERN, re.IGNORECASE)
        m = _PREFIX.match(p)
    if m:
        rest = p[m.end():]
        stripped = p[:m.end()]
        head, _, tail = rest.partition("\\")
        if stripped.upper().rstrip("\\").endswith(("HKLM", "HKEY_LOCAL_MACHINE")) and \
                head.upper() in _HIVE_NAMES:
            actual = hive_kind(hive) if hive is not None else None
            if actual is not None and actual != head.upper():
                raise UsageError(f"{stripped}{head} names the {head.upper()} hive, but this is "
                                 f"the {actual} hive (the name in its base block): give the "
                                 "path inside this hive, or open the other one")
            stripped += head + "\\"
            rest = tail
        if note:
            print(f"winmigrate: note: {stripped.rstrip(chr(92))!s} is the hive itself; "
                  f"reading {rest or '(root)'}", file=sys.stderr)
        p = rest
    return p.strip("\\")


def hive_kind(hive: Hive) -> str | None:
    """``SYSTEM``, ``SOFTWARE``... by the file name Windows stores in the base block (its last
    characters, e.g. ``emRoot\\System32\\Config\\SYSTEM``); ``None`` when it names none."""
    name = hive.base_block.file_name.replace("/", "\\").rsplit("\\", 1)[-1].upper()
    return name if name in _HIVE_NAMES else None


def open_hive(path: str, *, writable: bool = False, args: argparse.Namespace | None = None) -> Hive:
    """Open a hive for a command (tolerant when the command asked for ``--tolerant``)."""
    from ..hive import open as open_hive_file

    strict = not getattr(args, "tolerant", False)
    logs = getattr(args, "logs", None) or "auto"
    if logs == "ignore":
        return open_hive_file(path, writable=writable, strict=strict, logs="ignore")
    if logs == "require":
        return open_hive_file(path, writable=writable, strict=strict, logs="require")
    if logs != "auto":
        raise UsageError(f"--logs must be auto, ignore or require, not {logs!r}")
    return open_hive_file(path, writable=writable, strict=strict, logs="auto")


def add_hive_options(p: argparse.ArgumentParser, *, tolerant: bool = True) -> None:
    if tolerant:
        p.add_argument("--tolerant", action="store_true",
                       help="read what can be read from a damaged hive and report what was skipped")
    p.add_argument("--logs", choices=("auto", "ignore", "require"), default="auto",
                   help="transaction logs of a dirty hive: replay them (auto, the default), read "
                        "the primary file as it is (ignore), or fail without them (require)")


def print_json(obj: Any) -> None:
    import json

    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=_json_default)
    sys.stdout.write("\n")


def _json_default(obj: object) -> object:
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex()
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    isoformat = getattr(obj, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return str(obj)


def safe_text(text: str) -> str:
    """Text for a terminal: control characters and lone surrogates shown as escapes."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
