"""Forensic searches: ``find`` (keys, value names, string data) and ``timeline`` (keys by their
last-written time)."""

from __future__ import annotations

import argparse
import re
import sys

from ..errors import UsageError
from .common import add_hive_options, normalize_key_path, open_hive, print_json, safe_text
from .output import type_name
from .progress import Progress
from .writing import AtomicOutput, intermixed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from ..hive import Hive, Key

_FMT = argparse.RawDescriptionHelpFormatter
_STRING_TYPES = (1, 2, 6)  # REG_SZ, REG_EXPAND_SZ, REG_LINK
_MULTI_SZ = 7


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = intermixed(sub.add_parser(
        "find", help="search key names, value names and string data",
        description="Search the hive (or the key PATH and below) for PATTERN in key names, "
                    "value names and string data (REG_SZ, REG_EXPAND_SZ, REG_LINK, and each "
                    "string of a REG_MULTI_SZ). PATTERN is a glob (* ? [...]) matched against "
                    "the whole name or string; a PATTERN without wildcards matches anywhere in "
                    "it (as *PATTERN*). --regex takes a Python regular expression, matched "
                    "anywhere. Case-insensitive unless --case-sensitive. --keys, --values and "
                    "--data narrow the search (by default all three). One line per match: "
                    "'key PATH', 'value PATH  NAME' or 'data PATH  NAME = DATA'.",
        epilog="examples:\n"
               "  winmigrate find SYSTEM xenvbd\n"
               "  winmigrate find SYSTEM 'xen*' --keys\n"
               "  winmigrate find SOFTWARE '\\\\temp\\\\.*\\.exe$' --regex --data --json",
        formatter_class=_FMT))
    p.add_argument("hive", help="the hive file")
    p.add_argument("pattern", help="glob (default) or regular expression (--regex)")
    p.add_argument("path", nargs="?", default="", help="search only this key and below")
    p.add_argument("--regex", "-E", action="store_true", help="PATTERN is a regular expression")
    p.add_argument("--keys", action="store_true", help="match key names")
    p.add_argument("--values", action="store_true", help="match value names")
    p.add_argument("--data", action="store_true", help="match string data")
    p.add_argument("--case-sensitive", "-s", action="store_true",
                   help="match case exactly")
    p.add_argument("--limit", type=count, metavar="N", help="stop after N matches")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_hive_options(p)
    p.set_defaults(handler=cmd_find)

    p = intermixed(sub.add_parser(
        "timeline", help="keys by last-written time (CSV or JSON), for forensic timelines",
        description="List every key (of the hive, or below PATH) with its last-written time, "
                    "oldest first: CSV (the default; columns last_written in ISO 8601 UTC with "
                    "the FILETIME's full 100 ns precision, filetime as the raw number, path, "
                    "subkeys, values) or JSON. --since and --until (ISO 8601 dates or times, UTC "
                    "unless they carry an offset) keep a window; --reverse lists newest first. "
                    "Keys whose stored time is not a valid date keep their raw filetime and an "
                    "empty last_written.",
        epilog="examples:\n"
               "  winmigrate timeline SYSTEM -o system-timeline.csv\n"
               "  winmigrate timeline NTUSER.DAT --since 2023-05-01 --until "
               "'2023-05-02T12:00' --format json",
        formatter_class=_FMT))
    p.add_argument("hive", help="the hive file")
    p.add_argument("path", nargs="?", default="", help="only this key and below")
    p.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="output format (default csv)")
    p.add_argument("--json", action="store_const", const="json", dest="format",
                   help="the same as --format json")
    p.add_argument("--since", metavar="TIME", help="only keys written at or after TIME")
    p.add_argument("--until", metavar="TIME", help="only keys written at or before TIME")
    p.add_argument("--reverse", "-r", action="store_true", help="newest first")
    p.add_argument("--limit", type=count, metavar="N", help="only the first N rows")
    p.add_argument("-o", "--output", default="-", metavar="FILE",
                   help="write to FILE (atomically) instead of standard output")
    add_hive_options(p)
    p.set_defaults(handler=cmd_timeline)


def count(text: str) -> int:
    """A ``--limit``: a whole number, 0 or more."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (give 0 or more)")
    return n


# -- find ----------------------------------------------------------------------------------------

def matcher(pattern: str, *, regex: bool, case_sensitive: bool) -> Callable[[str], bool]:
    """A predicate for names and strings (see the ``find`` help for the rules)."""
    import fnmatch

    flags = 0 if case_sensitive else re.IGNORECASE
    if regex:
        try:
            compiled = re.compile(pattern, flags)
        except re.error as e:
            raise UsageError(f"bad regular expression {pattern!r}: {e}") from None
        return lambda text: compiled.search(text) is not None
    if not any(ch in pattern for ch in "*?["):
        pattern = f"*{pattern}*"
    compiled = re.compile(fnmatch.translate(pattern), flags | re.DOTALL)
    return lambda text: compiled.match(text) is not None


def _strings(type_number: int, raw: bytes) -> list[str]:
    from ..regf.values import decode_multi_string, decode_string

    if type_number in _STRING_TYPES:
        return [decode_string(raw)]
    if type_number == _MULTI_SZ:
        return decode_multi_string(raw)
    return []


def _start(hive_path: str, path: str, args: argparse.Namespace) -> tuple[Hive, Key]:
    hive = open_hive(hive_path, args=args)
    try:
        key = hive.key(normalize_key_path(path, hive=hive)) if path else hive.root
    except BaseException:
        hive.close()
        raise
    return hive, key


def cmd_find(args: argparse.Namespace) -> int:
    match = matcher(args.pattern, regex=args.regex, case_sensitive=args.case_sensitive)
    want_all = not (args.keys or args.values or args.data)
    keys, values, data = (want_all or args.keys, want_all or args.values,
                          want_all or args.data)
    found: list[dict[str, object]] = []
    limit = args.limit
    hive, top = _start(args.hive, args.path, args)
    with hive, Progress("searching", "keys") as progress:
        for n, key in enumerate(top.walk()):
            if limit is not None and len(found) >= limit:
                break
            progress(n)
            path = key.path
            if keys and key.parent is not None and match(key.name):
                found.append({"match": "key", "path": path})
                if not args.json:
                    print(f"key    {safe_text(path)}")
            if not (values or data):
                continue
            for value in key.values():
                if values and match(value.name):
                    found.append({"match": "value", "path": path, "name": value.name,
                                  "type": type_name(value.type_number)})
                    if not args.json:
                        print(f"value  {safe_text(path) or '(root)'}  {_shown(value.name)}")
                if data:
                    t = value.type_number
                    if t not in _STRING_TYPES and t != _MULTI_SZ:
                        continue
                    hits = [s for s in _strings(t, value.raw) if match(s)]
                    if hits:
                        found.append({"match": "data", "path": path, "name": value.name,
                                      "type": type_name(t), "data": hits})
                        if not args.json:
                            text = " | ".join(safe_text(s) for s in hits)
                            if len(text) > 120:
                                text = text[:117] + "..."
                            print(f"data   {safe_text(path) or '(root)'}  {_shown(value.name)}"
                                  f" = {text}")
    if args.json:
        print_json(found[:limit] if limit is not None else found)
    return 0


def _shown(name: str) -> str:
    return "(default)" if name == "" else safe_text(name)


# -- timeline ------------------------------------------------------------------------------------

def parse_time(text: str, option: str) -> int:
    """An ISO 8601 date or time as FILETIME ticks (UTC unless it has an offset)."""
    from datetime import datetime, timezone

    from ..regf.timestamps import datetime_to_filetime

    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(t)
    except ValueError:
        raise UsageError(f"{option}: not an ISO 8601 date or time: {text!r} (e.g. 2023-05-01 "
                         "or 2023-05-01T12:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return datetime_to_filetime(moment)


def filetime_iso(ticks: int) -> str:
    """``2023-05-01T12:00:00.1234567Z``, or ``""`` when the ticks are not a date."""
    from datetime import datetime, timedelta, timezone

    seconds, fraction = divmod(ticks, 10_000_000)
    try:
        moment = datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    except OverflowError:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:07d}Z"


def cmd_timeline(args: argparse.Namespace) -> int:
    since = parse_time(args.since, "--since") if args.since else None
    until = parse_time(args.until, "--until") if args.until else None
    rows: list[tuple[int, str, int, int]] = []
    hive, top = _start(args.hive, args.path, args)
    with hive, Progress("reading", "keys") as progress:
        for n, key in enumerate(top.walk()):
            progress(n)
            ticks = key.timestamp
            if (since is not None and ticks < since) or (until is not None and ticks > until):
                continue
            rows.append((ticks, key.path, key.subkey_count, key.value_count))
    rows.sort(reverse=args.reverse)
    if args.limit is not None:
        rows = rows[:args.limit]
    if args.output == "-":
        _write_rows(rows, args.format, sys.stdout)
        return 0
    import io

    buf = io.StringIO()
    _write_rows(rows, args.format, buf)
    with AtomicOutput(args.output) as out:
        out.write(buf.getvalue().encode("utf-8"))
    print(f"winmigrate: wrote {len(rows)} row(s) to {args.output}", file=sys.stderr)
    return 0


def _write_rows(rows: list[tuple[int, str, int, int]], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        import json

        json.dump([{"last_written": filetime_iso(t) or None, "filetime": t, "path": p,
                    "subkeys": s, "values": v} for t, p, s, v in rows],
                  out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("last_written", "filetime", "path", "subkeys", "values"))
    for t, p, s, v in rows:
        writer.writerow((filetime_iso(t), t, p, s, v))
