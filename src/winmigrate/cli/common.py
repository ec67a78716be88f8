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

    from ..hive.logs import RecoveryReport

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


# Every hive file this run opened, as (the path as the user gave it, the hive once open): errors
# name files by the given path, and what a tolerant read skipped is reported when the command
# ends (``report_skipped``).
OPENED: list[tuple[str, Hive | None]] = []


def note(text: str) -> None:
    print(f"winmigrate: note: {text}", file=sys.stderr)


def warn(text: str) -> None:
    print(f"winmigrate: warning: {text}", file=sys.stderr)


def logs_argument(args: argparse.Namespace | None) -> str | list[str]:
    """What ``winmigrate.open`` takes as ``logs`` for the command's ``--logs``/``--log``."""
    logs = getattr(args, "logs", None) or "auto"
    if logs not in ("auto", "ignore", "require"):
        raise UsageError(f"--logs must be auto, ignore or require, not {logs!r}")
    files = getattr(args, "log_files", None)
    if files:
        if logs == "ignore":
            raise UsageError("--log names transaction logs to replay: it does not go with "
                             "--logs ignore")
        return list(files)
    return str(logs)


def open_hive(path: str, *, writable: bool = False,
              args: argparse.Namespace | None = None) -> Hive:
    """Open a hive for a command (tolerant when the command asked for ``--tolerant``; a
    read-only file written only with ``--force``), warning when a dirty hive is read without
    its transaction logs."""
    from ..hive import open as open_hive_file

    strict = not getattr(args, "tolerant", False)
    logs = logs_argument(args)
    slot = len(OPENED)
    OPENED.append((path, None))
    hive = open_hive_file(path, writable=writable, strict=strict, logs=logs,  # type: ignore[arg-type]
                          force=bool(writable and getattr(args, "force", False)))
    OPENED[slot] = (path, hive)
    if hive.dirty and (hive.recovery is None or not hive.recovery.applied):
        if writable:  # it could not be saved: say so now, before any plan is made
            from ..errors import DirtyHiveError

            hive.close()
            raise DirtyHiveError(f"{path}: the hive is dirty and none of its transaction logs "
                                 "could be applied; changing it would lose the changes they "
                                 f"hold ({logs_hint(args)})")
        warn_if_dirty(path, hive.recovery, logs, args)
    return hive


# What to do about a dirty hive's logs, for a command with --log and for one without.
LOGS_BY_OPTION = "put its .LOG1/.LOG2 files next to it, or name them with --log FILE"
LOGS_BY_RECOVER = ("put its .LOG1/.LOG2 files next to it, or make a clean copy with 'winmigrate "
                   "recover HIVE --log FILE -o CLEAN'")


def logs_hint(args: argparse.Namespace | None) -> str:
    return LOGS_BY_OPTION if hasattr(args, "log_files") else LOGS_BY_RECOVER


def warn_if_dirty(path: str, recovery: RecoveryReport | None, logs: str | list[str],
                  args: argparse.Namespace | None) -> None:
    """Say that a dirty hive is read as its primary file is, without its logs' changes."""
    if logs == "ignore":
        note(f"{path} is dirty: read as the primary file is (--logs ignore), without the "
             "changes its transaction logs hold")
        return
    why = recovery.summary() if recovery is not None else "dirty primary"
    warn(f"{path}: {why}; read as the primary file is, so its latest changes may be missing "
         f"({logs_hint(args)})")


def report_skipped() -> None:
    """Warn about what tolerant reads skipped, once per hive (when the command is done)."""
    for path, hive in OPENED:
        problems = hive.problems if hive is not None else []
        if not problems:
            continue
        warn(f"{path}: {len(problems)} damaged structure(s) skipped; what is shown is "
             "incomplete:")
        for problem in problems[:20]:
            print(f"  {safe_text(str(problem))}", file=sys.stderr)
        if len(problems) > 20:
            print(f"  ... and {len(problems) - 20} more", file=sys.stderr)
    OPENED.clear()


def add_hive_options(p: argparse.ArgumentParser, *, tolerant: bool = True,
                     log_files: bool = True) -> None:
    if tolerant:
        p.add_argument("--tolerant", action="store_true",
                       help="read what can be read from a damaged hive and report what was skipped")
    p.add_argument("--logs", choices=("auto", "ignore", "require"), default="auto",
                   help="transaction logs of a dirty hive: replay them (auto, the default), read "
                        "the primary file as it is (ignore), or fail without them (require)")
    if log_files:
        add_log_files_option(p)


def add_log_files_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", action="append", metavar="FILE", dest="log_files",
                   help="replay this transaction log instead of the ones found next to the "
                        "hive (repeat for LOG1 and LOG2)")


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
