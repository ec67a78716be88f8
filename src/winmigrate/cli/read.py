"""Read-only commands: ``info``, ``ls``, ``get``."""

from __future__ import annotations

import os
import sys

from ..regf.timestamps import format_filetime
from .common import add_hive_options, normalize_key_path, open_hive, print_json, safe_text
from .output import format_data, hexdump, key_to_dict, type_name, value_name, value_to_dict

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ..hive import Value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    import argparse

    from .writing import intermixed

    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "info", help="describe a hive: version, state, size, root, counts",
        description="Describe a hive file: format version, dirty state, sequence numbers, "
                    "timestamps, sizes, the root key, the current control set, and the number of "
                    "keys and values (a full walk, skipped with --quick).",
        epilog="example:\n  winmigrate info /mnt/win/Windows/System32/config/SYSTEM --json",
        formatter_class=fmt)
    p.add_argument("hive", help="the hive file")
    p.add_argument("--quick", action="store_true", help="skip counting keys and values")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_hive_options(p)
    p.set_defaults(handler=cmd_info)
    intermixed(p)

    p = sub.add_parser(
        "ls", help="list the subkeys and values of a key",
        description="List the subkeys (with their last-written time and counts) and the values "
                    "of a key. PATH uses \\ or /, is case-insensitive, and may start with "
                    "CurrentControlSet.",
        epilog="example:\n  winmigrate ls SYSTEM 'CurrentControlSet\\Services\\Tcpip'",
        formatter_class=fmt)
    p.add_argument("hive", help="the hive file")
    p.add_argument("path", nargs="?", default="", help="key path (default: the root)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_hive_options(p)
    p.set_defaults(handler=cmd_ls)
    intermixed(p)

    p = sub.add_parser(
        "get", help="print a value (or every value of a key)",
        description="Print the data of one value, or of every value of a key. Strings print as "
                    "text, numbers in decimal, multi-strings one per line, binary data as a hex "
                    "dump; --raw writes the exact stored bytes.",
        epilog="examples:\n  winmigrate get SYSTEM Select Current\n"
               "  winmigrate get SYSTEM 'ControlSet001\\Control\\ComputerName\\ComputerName' "
               "ComputerName --json\n"
               "  winmigrate get NTUSER.DAT 'Software\\X' '' --raw > default.bin",
        formatter_class=fmt)
    p.add_argument("hive", help="the hive file")
    p.add_argument("path", help="key path")
    p.add_argument("value", nargs="?", help="value name ('' for the default value); all if omitted")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--raw", action="store_true", help="write the raw data bytes to stdout")
    add_hive_options(p)
    p.set_defaults(handler=cmd_get)
    intermixed(p)


def cmd_info(args: argparse.Namespace) -> int:
    with open_hive(args.hive, args=args) as hive:
        bb = hive.base_block
        info: dict[str, object] = {
            "file": args.hive,
            "file_size": os.path.getsize(args.hive),
            "version": f"{bb.major}.{bb.minor}",
            "dirty": hive.dirty,
            "checksum_ok": bb.checksum_ok,
            "sequence": list(hive.sequence),
            "last_written": bb.last_written.isoformat() if bb.last_written else None,
            "last_reorganized": bb.last_reorganized.isoformat() if bb.last_reorganized else None,
            "file_name": bb.file_name,
            "hive_bins_size": bb.hive_bins_size,
            "root_cell": bb.root_cell,
            "flags": bb.flags,
            "root": hive.root.name,
            "current_control_set": hive.current_control_set,
        }
        if hive.recovery is not None:
            info["recovery"] = hive.recovery.to_dict()
        if not args.quick:
            from .progress import Progress

            keys = values = 0
            with Progress("counting", "keys") as progress:
                for key in hive.walk():
                    keys += 1
                    values += key.value_count
                    if not keys & 0xFF:
                        progress(keys)
            info["keys"] = keys
            info["values"] = values
        if hive.problems:
            info["problems"] = [p.to_dict() for p in hive.problems]
        if args.json:
            print_json(info)
        else:
            width = max(len(k) for k in info)
            for k, v in info.items():
                if k == "problems" or k == "recovery":
                    continue
                if isinstance(v, int) and not isinstance(v, bool) and k in (
                        "hive_bins_size", "root_cell", "flags"):
                    v = f"0x{v:x}"
                print(f"{k.replace('_', ' '):<{width}}  {v}")
            if hive.recovery is not None:
                print(f"{'recovery':<{width}}  {hive.recovery.summary()}")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    with open_hive(args.hive, args=args) as hive:
        key = hive.key(normalize_key_path(args.path, hive=hive))
        if args.json:
            out = key_to_dict(key)
            out["subkeys"] = [key_to_dict(k, values=False) for k in key.subkeys()]
            print_json(out)
        else:
            for child in key.subkeys():
                when = format_filetime(child.timestamp) or "-"
                print(f"{safe_text(child.name)}\\  [{when}, {child.subkey_count} subkeys, "
                      f"{child.value_count} values]")
            for value in key.values():
                print(f"  {value_name(value)}  {type_name(value.type_number)}  "
                      f"{format_data(value)}")
    return 0


def _print_value(value: Value, *, single: bool) -> None:
    data = value.data
    prefix = "" if single else f"{value_name(value)} ({type_name(value.type_number)}): "
    if isinstance(data, list):
        if single:
            for item in data:
                print(safe_text(item))
        else:
            print(prefix + " | ".join(safe_text(s) for s in data))
    elif isinstance(data, int):
        print(prefix + str(data))
    elif isinstance(data, str):
        print(prefix + safe_text(data))
    elif single:
        print(hexdump(data))
    else:
        print(prefix + (data.hex(" ") or "(zero-length)"))


def cmd_get(args: argparse.Namespace) -> int:
    if args.raw and args.value is None:
        from ..errors import UsageError

        raise UsageError("--raw writes one value's bytes: give its name after the key path")
    with open_hive(args.hive, args=args) as hive:
        key = hive.key(normalize_key_path(args.path, hive=hive))
        if args.value is not None:
            value = key.value(args.value)
            if args.raw:
                sys.stdout.buffer.write(value.raw)
                sys.stdout.flush()
            elif args.json:
                print_json(value_to_dict(value))
            else:
                _print_value(value, single=True)
            return 0
        values = key.values()
        if args.json:
            print_json([value_to_dict(v) for v in values])
        else:
            for value in values:
                _print_value(value, single=False)
    return 0
