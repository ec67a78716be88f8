"""``winmigrate scan``: survey many hives at once into one table (``winmigrate.survey``); this
module only reads the options, shows the progress and writes the summary."""

from __future__ import annotations

import argparse
import os
import sys
import time

from ..errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from ..survey.batch import ScanStats

_FMT = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "scan", help="survey many hives or guests into one table (JSON Lines or Parquet)",
        description="Survey every hive in the PATHs -- files, folders (searched recursively; "
                    "hives are recognised by their signature, transaction logs paired with "
                    "them) and mounted guest roots (only the places Windows keeps hives) -- "
                    "into one table. --facts (the default): one row per hive with its kind, "
                    "state, problems, Windows version and architecture, control sets, Xen "
                    "drivers, NICs and whether the Xen -> KVM conversion could run on it. "
                    "--keys: one row per key, value and problem, for timelines. Rows go to "
                    "standard output or -o FILE as JSON Lines, or to -o FOLDER as Parquet "
                    "parts (pip install 'winmigrate[scan]'), in the order hives complete. "
                    "The work runs on a process per core, or on a Dask cluster "
                    "(--scheduler). A hive that cannot be read is a row with its error. "
                    "Running again with the same -o skips the hives already there. See "
                    "docs/scan.md for the columns.",
        epilog="examples:\n"
               "  winmigrate scan /mnt/guests -o survey.jsonl\n"
               "  winmigrate scan /cases/2024-117 --keys -o timeline.parquet\n"
               "  winmigrate scan /nfs/guests -o /nfs/survey.parquet "
               "--scheduler tcp://sched:8786\n"
               "  duckdb -c \"SELECT kind, count(*) FROM 'survey.parquet/*.parquet' "
               "GROUP BY kind\"",
        formatter_class=_FMT)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="hive files, folders to search, or mounted guest roots")
    table = p.add_mutually_exclusive_group()
    table.add_argument("--facts", dest="table", action="store_const", const="facts",
                       help="one row of facts per hive (the default)")
    table.add_argument("--keys", dest="table", action="store_const", const="keys",
                       help="one row per key, value and problem")
    p.set_defaults(table="facts")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="JSON Lines file, or Parquet folder (default: JSON Lines on standard "
                        "output)")
    p.add_argument("--format", choices=("jsonl", "parquet"),
                   help="output format (default: parquet when OUT ends in .parquet or is a "
                        "folder, else jsonl)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes (or, with --scheduler local, Dask workers); default one "
                        "per core; 1 runs in this process")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster: its scheduler (tcp://host:8786), or 'local' "
                        "for a local Dask cluster (pip install 'winmigrate[scan]')")
    p.add_argument("--deep", action="store_true",
                   help="search guest roots file by file instead of only where Windows keeps "
                        "hives")
    p.add_argument("--overwrite", action="store_true",
                   help="replace OUT instead of resuming (skipping the hives it holds)")
    p.add_argument("--max-data", type=int, default=None, metavar="BYTES",
                   help="--keys: cut value data longer than BYTES (default 4096; 0: no limit)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true", default=None,
                       help="show progress on stderr even when it is not a terminal")
    shown.add_argument("--no-progress", dest="progress", action="store_false",
                       help="never show progress")
    p.set_defaults(handler=cmd_scan)


class _ScanProgress:
    """Counts and rate on stderr: redrawn in place on a terminal (at most 5 times a second),
    one line every 10 seconds otherwise (when asked for with --progress)."""

    def __init__(self, enabled: bool | None, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        try:
            tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            tty = False
        self.enabled = tty if enabled is None else enabled
        self.tty = tty
        self._last = 0.0
        self._shown = False

    def __call__(self, stats: ScanStats, *, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self._last < (0.2 if self.tty else 10.0):
            return
        self._last = now
        text = (f"scan: {stats.done + stats.skipped:,}/{stats.found:,} hives, "
                f"{stats.rate:.1f}/s ({stats.errors:,} unreadable, {stats.skipped:,} "
                "already done)")
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
            self._shown = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    out = args.output
    if out and out != "-" and (out.rstrip("/\\").lower().endswith(".parquet")
                               or os.path.isdir(out)):
        return "parquet"
    return "jsonl"


def cmd_scan(args: argparse.Namespace) -> int:
    from ..survey.batch import survey

    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    fmt = _format(args)
    if args.max_data is not None and args.max_data < 0:
        raise UsageError("--max-data must be 0 (no limit) or more")
    if args.max_data is not None and args.table != "keys":
        raise UsageError("--max-data applies to --keys")
    options: dict[str, object] = {"workers": args.workers, "scheduler": args.scheduler,
                                  "deep": args.deep}
    if args.max_data is not None:
        options["max_data"] = args.max_data
    progress = _ScanProgress(args.progress)
    try:
        stats = survey(args.paths, args.output, table=args.table, fmt=fmt,  # type: ignore[arg-type]
                       resume=not args.overwrite, progress=progress, **options)
        if not progress.tty:
            progress(stats, final=True)  # the last count, for a log
    finally:
        progress.close()
    where = args.output if args.output not in (None, "-") else "standard output"
    rows = f", {stats.rows:,} rows" if args.table == "keys" else ""
    hives = "hive" if stats.done == 1 else "hives"
    print(f"winmigrate: scanned {stats.done:,} {hives}{rows} in {stats.elapsed:.1f} s "
          f"({stats.rate:.1f} hives/s on {stats.runner}) into {where}; "
          f"{stats.errors:,} unreadable, {stats.skipped:,} already there", file=sys.stderr)
    return 0
