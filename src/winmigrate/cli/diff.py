"""``diff``: what turns hive A into hive B, as text, as a .reg file, or as JSON."""

from __future__ import annotations

import argparse
import sys

from ..errors import KeyNotFoundError
from .common import add_hive_options, normalize_key_path, open_hive, print_json, safe_text
from .output import type_name
from .progress import Progress
from .writing import AtomicOutput, intermixed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from ..hive.diff import Change, Diff


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = intermixed(sub.add_parser(
        "diff", help="compare two hives: keys and values added, removed, changed",
        description="Compare hive A with hive B (or the key PATH in each): keys added and "
                    "removed (with everything below them), values added, removed and changed "
                    "(type or raw bytes). Names match case-insensitively, as in Windows; the "
                    "order of values is not compared. --metadata also compares key class names "
                    "and security descriptors, --timestamps last-written times. Formats: text "
                    "(one line per change: + added, - removed, ~ changed), reg (a .reg file that "
                    "turns A into B when imported into A: [-KEY], \"name\"=-, the new values; "
                    "metadata changes appear as comments) and json. Exit code 0 whether or not "
                    "the hives differ, unless --exit-code (then 1 when they differ, like "
                    "'git diff --exit-code').",
        epilog="examples:\n"
               "  winmigrate diff SYSTEM.orig SYSTEM\n"
               "  winmigrate diff SYSTEM.orig SYSTEM 'ControlSet001\\Services' --format json\n"
               "  winmigrate diff SYSTEM.orig SYSTEM --format reg -o changes.reg   "
               "# then: winmigrate import OTHER changes.reg",
        formatter_class=argparse.RawDescriptionHelpFormatter))
    p.add_argument("a", metavar="A", help="the first hive (the 'before')")
    p.add_argument("b", metavar="B", help="the second hive (the 'after')")
    p.add_argument("path", nargs="?", default="",
                   help="compare only this key and below (if only one hive has it, everything "
                        "below it is added or removed)")
    p.add_argument("--format", choices=("text", "reg", "json"), default="text",
                   help="output format (default text)")
    p.add_argument("--json", action="store_const", const="json", dest="format",
                   help="the same as --format json")
    p.add_argument("--metadata", action="store_true",
                   help="also compare key class names and security descriptors")
    p.add_argument("--timestamps", action="store_true", help="also compare last-written times")
    p.add_argument("--prefix", help="--format reg: the key path of the hive's root "
                                    "(default: as 'export' names hive A)")
    p.add_argument("-o", "--output", default="-", metavar="FILE",
                   help="write to FILE instead of standard output (--format reg on a terminal "
                        "is shown as text in its encoding, not regedit's UTF-16)")
    p.add_argument("--exit-code", action="store_true",
                   help="exit with 1 when the hives differ (0 when they are the same)")
    add_hive_options(p, tolerant=False, log_files=False)  # two hives: --log would be ambiguous
    p.set_defaults(handler=cmd_diff)


def describe(type_number: int, raw: bytes, *, width: int = 80) -> str:
    """A value's type and data on one line; bytes the text form does not show are added."""
    from ..regf.values import decode, encode_multi_string, encode_string

    data = decode(type_number, raw)
    exact = True
    if isinstance(data, str):
        text = '"' + safe_text(data) + '"'
        exact = encode_string(data) == raw
    elif isinstance(data, int):
        digits = 16 if len(raw) == 8 else 8
        text = f"0x{data:0{digits}x} ({data})"
    elif isinstance(data, list):
        text = "[" + ", ".join('"' + safe_text(s) + '"' for s in data) + "]"
        try:
            exact = encode_multi_string(data) == raw
        except ValueError:
            exact = False
    else:
        text = data.hex(" ") if data else "(empty)"
    if len(text) > width:
        text = text[:width - 3] + "..."
    if not exact:
        shown = raw.hex(" ")
        text += f" (raw {shown[:47] + '...' if len(shown) > 50 else shown})"
    return f"{type_name(type_number)} {text}"


def _name(name: str) -> str:
    return "(default)" if name == "" else safe_text(repr(name))


def text_lines(changes: Iterable[Change]) -> Iterator[str]:
    from ..hive.diff import KeyAdded, KeyChanged, KeyRemoved, ValueAdded, ValueRemoved

    for c in changes:
        path = safe_text(c.path) or "(root)"
        if isinstance(c, KeyAdded):
            yield f"+ [{path}]"
        elif isinstance(c, KeyRemoved):
            yield f"- [{path}]"
        elif isinstance(c, KeyChanged):
            yield f"~ [{path}] {c.field}: {c.old} -> {c.new}"
        elif isinstance(c, ValueAdded):
            yield f"+ {path}  {_name(c.name)} = {describe(c.type, c.raw)}"
        elif isinstance(c, ValueRemoved):
            yield f"- {path}  {_name(c.name)} = {describe(c.type, c.raw)}"
        else:
            yield (f"~ {path}  {_name(c.name)}: {describe(c.old_type, c.old_raw)} -> "
                   f"{describe(c.new_type, c.new_raw)}")


def reg_pieces(changes: Iterable[Change], prefix: str) -> Iterator[str]:
    """A ``.reg`` file that turns A into B: deleted subtrees as ``[-KEY]`` (once, at their top),
    removed values as ``"name"=-``, added and changed values in full (5.00 format, lossless)."""
    from ..hive.diff import KeyAdded, KeyChanged, KeyRemoved, ValueAdded, ValueChanged, ValueRemoved
    from ..regfile import format_key_line, format_value_delete, format_value_line, header
    from ..regfile.common import CRLF

    yield header()
    section: str | None = None
    removed_top: str | None = None  # the deleted subtree we are inside
    for c in changes:
        path = c.path
        if removed_top is not None:
            if path == removed_top or path.upper().startswith(removed_top.upper() + "\\"):
                continue  # inside a deleted subtree: [-TOP] covers it
            removed_top = None
        if isinstance(c, KeyRemoved):
            removed_top = path
            section = None
            yield CRLF + format_key_line(prefix, path, delete=True) + CRLF
            continue
        if section != path:
            section = path
            yield CRLF + format_key_line(prefix, path) + CRLF
        if isinstance(c, KeyAdded):
            continue
        if isinstance(c, KeyChanged):
            old = (c.old or "(none)").replace("\r", " ").replace("\n", " ")
            new = (c.new or "(none)").replace("\r", " ").replace("\n", " ")
            yield f"; {c.field} differs (a .reg file cannot set it): {old} -> {new}{CRLF}"
        elif isinstance(c, ValueRemoved):
            yield format_value_delete(c.name) + CRLF
        elif isinstance(c, (ValueAdded, ValueChanged)):
            t, raw = (c.type, c.raw) if isinstance(c, ValueAdded) else (c.new_type, c.new_raw)
            yield format_value_line(c.name, t, raw)[0] + CRLF
    yield CRLF


def cmd_diff(args: argparse.Namespace) -> int:
    from ..hive.diff import diff
    from ..regfile import default_prefix, encode_text

    path = normalize_key_path(args.path)
    with open_hive(args.a, args=args) as a, open_hive(args.b, args=args) as b:
        src_a = a.get_key(path) if path else a
        src_b = b.get_key(path) if path else b
        if src_a is None and src_b is None:
            raise KeyNotFoundError(path)  # in neither hive; in one of them: all added/removed
        with Progress("comparing", "keys") as progress:
            result: Diff = diff(src_a, src_b, metadata=args.metadata,
                                timestamps=args.timestamps, progress=progress)
        prefix = args.prefix or default_prefix(a)
    if args.format == "reg":
        from .export import is_terminal, write_terminal_text

        if args.output == "-" and is_terminal(sys.stdout):  # readable, as export does
            write_terminal_text(reg_pieces(result.changes, prefix))
        else:
            with AtomicOutput(args.output) as out:
                encode_text(reg_pieces(result.changes, prefix), out)
    elif args.format == "json":
        doc = result.to_dict()
        doc["a"] = args.a
        doc["b"] = args.b
        doc["path"] = path
        _write_text(args.output, lambda: print_json(doc))
    else:
        _write_text(args.output, lambda: _print_lines(text_lines(result.changes)))
    return 1 if args.exit_code and not result.empty else 0


def _print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


def _write_text(output: str, emit: Callable[[], None]) -> None:
    """Run ``emit`` with standard output going to ``output`` (atomically for a file)."""
    import io

    if output == "-":
        emit()
        return
    buf = io.StringIO()
    stdout = sys.stdout
    sys.stdout = buf
    try:
        emit()
    finally:
        sys.stdout = stdout
    with AtomicOutput(output) as out:
        out.write(buf.getvalue().encode("utf-8"))
