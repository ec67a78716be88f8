"""``export``: a hive or a subtree as a regedit ``.reg`` file."""

from __future__ import annotations

import argparse
import re
import sys

from .common import add_hive_options, normalize_key_path, open_hive, print_json, safe_text
from .progress import Progress
from .writing import AtomicOutput, intermixed, warn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..hive import Hive, Key
    from ..regfile import ExportReport


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = intermixed(sub.add_parser(
        "export", help="write a hive or a subtree as a .reg file",
        description="Write the hive (or the key PATH and everything below it) as a .reg file in "
                    "regedit's format: 'Windows Registry Editor Version 5.00' (UTF-16LE with a "
                    "BOM, CRLF; the default) or REGEDIT4 (ANSI, --regedit4). Key paths start "
                    "with --prefix, which stands for the hive's root: by default "
                    "HKEY_LOCAL_MACHINE\\<NAME> for the well-known hive files (SYSTEM, SOFTWARE, "
                    "SAM, SECURITY, COMPONENTS, DEFAULT, ...), HKEY_CURRENT_USER for NTUSER.DAT, "
                    "HKEY_LOCAL_MACHINE\\<file name without its extension> otherwise. The 5.00 "
                    "export is lossless: "
                    "values whose regedit text form would lose bytes are written as hex of "
                    "their own type, so importing the file reproduces every value exactly. Key "
                    "timestamps, class names and security are not part of the .reg format. "
                    "Written atomically (a temporary file renamed over FILE). Standard output "
                    "gets the file's bytes, except on a terminal, which gets readable text.",
        epilog="examples:\n"
               "  winmigrate export SYSTEM -o system.reg\n"
               "  winmigrate export SYSTEM 'CurrentControlSet\\Services\\Tcpip' -o tcpip.reg\n"
               "  winmigrate export NTUSER.DAT Software --regedit4 -o - | less",
        formatter_class=argparse.RawDescriptionHelpFormatter))
    p.add_argument("hive", help="the hive file")
    p.add_argument("path", nargs="?", default="", help="key to export (default: the whole hive)")
    p.add_argument("-o", "--output", default="-", metavar="FILE.reg",
                   help="where to write the .reg file ('-', the default: standard output; on a "
                        "terminal it is shown as text in the terminal's encoding, UTF-8 "
                        "usually, instead of regedit's UTF-16)")
    p.add_argument("--regedit4", action="store_true",
                   help="the ANSI REGEDIT4 format (characters outside the code page become "
                        "'?', with a warning)")
    p.add_argument("--codepage", default="cp1252", help="code page for --regedit4 (cp1252)")
    p.add_argument("--prefix", help="key path of the hive's root in the file "
                                    "(e.g. HKEY_LOCAL_MACHINE\\SYSTEM)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON report (counts, hex fallbacks, anything lossy) on stderr")
    add_hive_options(p)
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from ..regfile import export_reg

    with open_hive(args.hive, args=args) as hive:
        path = normalize_key_path(args.path, hive=hive)
        source = hive.key(path) if path else hive
        if args.output == "-" and is_terminal(sys.stdout):
            report = _to_terminal(source, args)
        else:
            with Progress("exporting", "keys") as progress, AtomicOutput(args.output) as out:
                report = export_reg(source, out, prefix=args.prefix, regedit4=args.regedit4,
                                    codepage=args.codepage, progress=progress)
    if args.json:
        stdout = sys.stdout
        sys.stdout = sys.stderr
        try:
            print_json(report.to_dict())
        finally:
            sys.stdout = stdout
    elif args.output != "-":
        print(f"exported {report.keys} keys and {report.values} values to {args.output} "
              f"({report.format}, root {report.prefix})", file=sys.stderr)
    for item, verb in [(s, "changed") for s in report.lossy] + \
                      [(s, "skipped") for s in report.skipped]:
        where = safe_text(item.path) or "(root)"
        what = f"value {safe_text(repr(item.name))} of {where}" if item.name is not None \
            else f"key {where}"
        warn(f"{verb} {what}: {item.reason}")
    if report.lossy or report.skipped:
        warn(f"{len(report.lossy)} item(s) changed, {len(report.skipped)} skipped: the file does "
             "not reproduce the hive exactly" + (" (the 5.00 format would keep more)"
                                                 if args.regedit4 else ""))
    return 0


def is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _to_terminal(source: Hive | Key, args: argparse.Namespace) -> ExportReport:
    """The export as text in the terminal's encoding (UTF-16 bytes are unreadable there), with
    LF line ends and control characters escaped; the content is the file's."""
    from ..regfile import iter_export

    reports: list[ExportReport] = []
    write_terminal_text(iter_export(source, prefix=args.prefix, regedit4=args.regedit4,
                                    codepage=args.codepage, report=reports))
    return reports[0]


def write_terminal_text(pieces: Iterable[str]) -> None:
    """A .reg file's text on the terminal that is standard output."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    sys.stdout.flush()
    for piece in pieces:
        text = _CONTROL.sub(_escape, piece.replace("\r\n", "\n"))
        sys.stdout.buffer.write(text.encode(encoding, "backslashreplace"))
    sys.stdout.buffer.flush()


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
