"""Commands that change a hive: ``set``, ``rm``, ``import``.

Each opens the hive writable (read into memory, locked), makes its changes in one transaction and
saves atomically: a new file written beside the hive, then renamed over it. A failure at any
point leaves the file exactly as it was.
"""

from __future__ import annotations

import argparse
import io
import os
import sys

from ..errors import KeyNotFoundError, UsageError, ValueNotFoundError
from ..regf.regtype import RegType
from .common import normalize_key_path, print_json, safe_text
from .output import format_data, type_name, value_name, value_to_dict
from .progress import Progress
from .writing import (
    CommandError,
    add_write_options,
    intermixed,
    memory_copy,
    note,
    open_for_write,
    open_input,
    print_summary,
    resolve_or_create,
    save,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..regfile import ImportChange, ImportReport

_FMT = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = intermixed(sub.add_parser(
        "set", help="create or change a value",
        description="Set value NAME of the key PATH (created, with any missing parents, if it "
                    "does not exist), like 'reg add'. NAME '' is the default value. VALUE is "
                    "read according to --type: text for REG_SZ, REG_EXPAND_SZ and REG_LINK; a "
                    "number (decimal, or 0x... hex; negative numbers are stored in two's "
                    "complement) for REG_DWORD, REG_DWORD_BIG_ENDIAN and REG_QWORD; one argument "
                    "per string for REG_MULTI_SZ (or one argument split at --separator); hex "
                    "bytes ('01 02 ff', '01,02,ff' or '0102ff') for REG_BINARY, REG_NONE and "
                    "every other type. --hex stores hex bytes as they are, for any type. Put -- "
                    "before a VALUE that starts with '-'.",
        epilog="examples:\n"
               "  winmigrate set SYSTEM 'ControlSet001\\Services\\viostor' Start --type "
               "REG_DWORD 0\n"
               "  winmigrate set SYSTEM 'ControlSet001\\Services\\viostor' ImagePath -t "
               "expand_sz '\\SystemRoot\\System32\\drivers\\viostor.sys'\n"
               "  winmigrate set SYSTEM 'ControlSet001\\Services\\viostor' DependOnService "
               "-t multi_sz PnP Storport\n"
               "  winmigrate set NTUSER.DAT 'Software\\X' Blob -t 0xffff0012 --hex 01000000 "
               "--dry-run",
        formatter_class=_FMT))
    p.add_argument("hive", help="the hive file (changed in place, atomically; the previous one "
                                "kept as HIVE.bak)")
    p.add_argument("path", help="key path (\\ or /; a leading CurrentControlSet is resolved)")
    p.add_argument("name", help="value name ('' for the default value)")
    p.add_argument("value", nargs="*", help="the data (see above)")
    p.add_argument("-t", "--type", default="REG_SZ", metavar="TYPE",
                   help="REG_SZ (default), REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_QWORD, "
                        "REG_MULTI_SZ, REG_NONE, ... (REG_ optional, any case) or a number")
    p.add_argument("--hex", action="store_true",
                   help="VALUE is hex bytes, stored exactly as given whatever the type")
    p.add_argument("--separator", metavar="SEP",
                   help="REG_MULTI_SZ: split the one VALUE at SEP (reg.exe's /s)")
    p.add_argument("--json", action="store_true", help="print the new value as JSON")
    add_write_options(p)
    p.set_defaults(handler=cmd_set)

    p = intermixed(sub.add_parser(
        "rm", help="delete a key (with -r, its whole tree) or a value",
        description="Delete value NAME of the key PATH, or, without NAME, the key PATH itself "
                    "with its values. A key that has subkeys is deleted only with --recursive "
                    "(-r), which deletes everything below it (like rm -r). The root key cannot "
                    "be deleted. A missing key or value is an error unless --force (-f).",
        epilog="examples:\n"
               "  winmigrate rm SYSTEM 'ControlSet001\\Services\\xenvbd' -r --dry-run\n"
               "  winmigrate rm SYSTEM 'ControlSet001\\Control\\Class\\{4d36e97b-e325-11ce-"
               "bfc1-08002be10318}' UpperFilters",
        formatter_class=_FMT))
    p.add_argument("hive", help="the hive file (changed in place, atomically; the previous one "
                                "kept as HIVE.bak)")
    p.add_argument("path", help="key path (\\ or /; a leading CurrentControlSet is resolved)")
    p.add_argument("name", nargs="?", help="value name ('' for the default value); without it "
                                           "the key is deleted")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="delete a key that has subkeys, with everything below it")
    p.add_argument("-f", "--force", action="store_true",
                   help="a missing key or value is not an error, and a read-only hive file is "
                        "changed anyway (like rm -f)")
    p.add_argument("--json", action="store_true", help="print what was deleted as JSON")
    add_write_options(p, force=False)
    p.set_defaults(handler=cmd_rm)

    p = intermixed(sub.add_parser(
        "import", help="merge a .reg file into a hive (atomic; --dry-run shows the changes)",
        description="Merge a .reg file (regedit's 'Windows Registry Editor Version 5.00' or "
                    "REGEDIT4, either encoding, CRLF or LF; hivexregedit's exports too) into the "
                    "hive: keys are created, values set, [-KEY] deletes a key tree and "
                    "\"name\"=- a value. The file's key paths start with a prefix that stands "
                    "for the hive's root (HKEY_LOCAL_MACHINE\\SYSTEM ...): by default it is read "
                    "off the first key line (HKEY_LOCAL_MACHINE\\X and HKEY_USERS\\X take two "
                    "components, HKEY_CURRENT_USER and the other roots one); keys outside it are "
                    "refused. The whole file is parsed first and applied in one transaction, and "
                    "the hive saved once: on any error the hive is left as it was. Key "
                    "timestamps of the keys that change are set to now.",
        epilog="examples:\n"
               "  winmigrate import SYSTEM viostor.reg --dry-run\n"
               "  winmigrate import SYSTEM viostor.reg --no-backup\n"
               "  winmigrate import NTUSER.DAT settings.reg --prefix 'HKEY_USERS\\S-1-5-21-1-2-3"
               "-1001'",
        formatter_class=_FMT))
    p.add_argument("hive", help="the hive file (changed in place, atomically; the previous one "
                                "kept as HIVE.bak)")
    p.add_argument("regfile", metavar="FILE.reg", help="the .reg file ('-' for standard input)")
    p.add_argument("--prefix", help="the key path in the file that is the hive's root "
                                    "(default: read off the first key line)")
    p.add_argument("--codepage", default="cp1252",
                   help="code page of a REGEDIT4 file (default cp1252)")
    p.add_argument("--json", action="store_true", help="print the changes as JSON")
    add_write_options(p)
    p.set_defaults(handler=cmd_import)


# -- set -----------------------------------------------------------------------------------------

def _parse_hex(words: list[str]) -> bytes:
    text = "".join(words).replace(",", "").replace(" ", "").replace(":", "")
    if text.lower().startswith("hex"):
        text = text[3:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise UsageError(f"not hex bytes: {' '.join(words)!r} (e.g. '01 02 ff')") from None


def _parse_int(words: list[str], type_label: str) -> int:
    if len(words) != 1:
        raise UsageError(f"{type_label} takes one number, {len(words)} given")
    try:
        return int(words[0].replace("_", ""), 0)
    except ValueError:
        raise UsageError(f"{type_label} takes a number (decimal or 0x hex), not "
                         f"{words[0]!r}") from None


def value_arguments(type_: RegType | int, words: list[str], *, hex_data: bool,
                    separator: str | None) -> tuple[object, bytes | None]:
    """``(data, raw)`` for ``Key.set_value`` from the command line's words."""
    label = type_.reg_name if isinstance(type_, RegType) else f"type 0x{type_:x}"
    if hex_data:
        return None, _parse_hex(words)
    if type_ in (RegType.SZ, RegType.EXPAND_SZ, RegType.LINK):
        if len(words) != 1:
            raise UsageError(f"{label} takes one string, {len(words)} given (quote it; '' for "
                             "an empty string)")
        return words[0], None
    if type_ in (RegType.DWORD, RegType.DWORD_BIG_ENDIAN, RegType.QWORD):
        return _parse_int(words, label), None
    if type_ == RegType.MULTI_SZ:
        if separator is not None:
            if len(words) != 1:
                raise UsageError("with --separator, give the strings as one argument")
            return (words[0].split(separator) if words[0] else []), None
        return list(words), None
    return None, _parse_hex(words)


def cmd_set(args: argparse.Namespace) -> int:
    try:
        type_ = RegType.parse(args.type)
    except ValueError as e:
        raise UsageError(str(e)) from None
    data, raw = value_arguments(type_, list(args.value), hex_data=args.hex,
                                separator=args.separator)
    path = normalize_key_path(args.path)
    with open_for_write(args.hive, args) as hive:
        with hive.transaction():
            key, created = resolve_or_create(hive, path)
            value = key.set_value(args.name, data, type_, raw=raw)
        save(hive, args)
        for made in created:
            note(f"{'would create' if args.dry_run else 'created'} key {safe_text(made)}")
        if args.json:
            out = value_to_dict(value)
            out["path"] = key.path
            out["dry_run"] = args.dry_run
            print_json(out)
        else:
            where = safe_text(key.path) or "(root)"
            print(f"{where}  {value_name(value)} = {type_name(value.type_number)} "
                  f"{format_data(value)}")
        print_summary([args.hive], len(created) + 1, args)
    return 0


# -- rm ------------------------------------------------------------------------------------------

def cmd_rm(args: argparse.Namespace) -> int:
    path = normalize_key_path(args.path)
    verb = "would delete" if args.dry_run else "deleted"
    with open_for_write(args.hive, args) as hive:
        try:
            key = hive.key(path)
        except KeyNotFoundError:
            if args.force:
                note(f"no key {safe_text(path)}: nothing to delete")
                return _rm_done(args, None, path, args.name, 0, 0)
            raise
        if args.name is not None:
            if args.name not in key:
                if args.force:
                    note(f"no value {args.name!r} in {safe_text(key.path) or '(root)'}: "
                         "nothing to delete")
                    return _rm_done(args, None, key.path, args.name, 0, 0)
                raise ValueNotFoundError(key.path, args.name)
            key.delete_value(args.name)
            save(hive, args)
            if not args.json:
                shown = "(default)" if args.name == "" else repr(args.name)
                print(f"{verb} value {safe_text(shown)} of {safe_text(key.path) or '(root)'}")
            return _rm_done(args, "value", key.path, args.name, 0, 1)
        parent = key.parent
        if parent is None:
            raise UsageError("the root key of a hive cannot be deleted")
        if key.subkey_count and not args.recursive:
            n = key.subkey_count
            raise CommandError(f"key {key.path} has {n} subkey{'s' if n != 1 else ''}: use "
                               "--recursive (-r) to delete it with everything below it")
        keys = values = 0
        for k in key.walk():
            keys += 1
            values += k.value_count
        shown = key.path
        parent.delete_key(key.name, recursive=True)
        save(hive, args)
        if not args.json:
            print(f"{verb} key {safe_text(shown)} ({keys} key{'s' if keys != 1 else ''}, "
                  f"{values} value{'s' if values != 1 else ''})")
        return _rm_done(args, "key", shown, None, keys, values)


def _rm_done(args: argparse.Namespace, deleted: str | None, path: str, name: str | None,
             keys: int, values: int) -> int:
    if args.json:
        print_json({"dry_run": args.dry_run, "deleted": deleted, "path": path, "name": name,
                    "keys": keys, "values": values})
    # a key deleted with its tree is one change, as for import's [-KEY] and the plans
    print_summary([args.hive], 0 if deleted is None else 1, args)
    return 0


# -- import --------------------------------------------------------------------------------------

_MARK = {"key_created": "+ key  ", "key_deleted": "- key  ", "value_added": "+ value",
         "value_changed": "~ value", "value_deleted": "- value"}
_WORDS = {"key_created": ("key created", "keys created"),
          "key_deleted": ("key deleted", "keys deleted"),
          "value_added": ("value added", "values added"),
          "value_changed": ("value changed", "values changed"),
          "value_deleted": ("value deleted", "values deleted")}


def change_line(change: ImportChange) -> str:
    path = safe_text(change.path) or "(root)"
    text = f"{_MARK[change.kind]}  {path}"
    if change.name is not None:
        text += "  " + ("(default)" if change.name == "" else safe_text(repr(change.name)))
        if change.type is not None:
            text += f" {type_name(change.type)}"
    return f"{text}  (line {change.line})"


def summary(report: ImportReport) -> str:
    parts = []
    for kind, (one, many) in _WORDS.items():
        n = report.counts.get(kind, 0)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    text = ", ".join(parts) or "nothing to change"
    extra = []
    if report.unchanged:
        extra.append(f"{report.unchanged} already as in the file")
    if report.absent:
        extra.append(f"{report.absent} deletion{'s' if report.absent != 1 else ''} of "
                     "something absent")
    return text + (f" ({'; '.join(extra)})" if extra else "")


def cmd_import(args: argparse.Namespace) -> int:
    from ..regfile import RegReader, apply

    source = "<stdin>" if args.regfile == "-" else args.regfile
    # Read as it is applied (a .reg file of any size in flat memory); the header is checked
    # before the hive is opened, and a bad line later rolls the whole import back.
    stream = open_input(args.regfile)
    try:
        reg = RegReader(stream, source=source, codepage=args.codepage)
        try:
            total: int | None = os.fstat(stream.fileno()).st_size or None
        except (OSError, ValueError, io.UnsupportedOperation):
            total = None
        hive = memory_copy(args.hive, args) if args.dry_run else open_for_write(args.hive, args)
        with hive, Progress("importing", "bytes", total=total) as progress:
            with hive.transaction():
                report = apply(hive, reg, prefix=args.prefix,
                               progress=lambda _n: progress(reg.position),
                               keep_changes=bool(args.dry_run or args.json))
            progress.close()
            if not args.dry_run and report.counts:
                save(hive, args)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if args.json:
        out = report.to_dict()
        out["dry_run"] = bool(args.dry_run)
        out["format"] = reg.format
        print_json(out)
        return 0
    if args.dry_run:
        for change in report.changes:
            print(change_line(change))
    verb = "would import" if args.dry_run else "imported"
    print(f"{verb} {safe_text(source)} ({reg.format}, root {safe_text(report.prefix)}): "
          f"{summary(report)}")
    print_summary([args.hive], sum(report.counts.values()), args)
    return 0
