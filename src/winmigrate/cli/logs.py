"""Transaction log commands: ``recover``."""

from __future__ import annotations

import argparse
import os

from ..errors import LogReplayError, UsageError
from .common import print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..hive.logs import RecoveryReport


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "recover", help="replay a dirty hive's transaction logs into a clean copy",
        description="Replay the transaction logs (HIVE.LOG, HIVE.LOG1, HIVE.LOG2, any letter "
                    "case; both the old and the new log format) the way Windows does when it "
                    "loads a dirty hive, and write the consolidated, clean hive to OUT. HIVE and "
                    "its logs are not modified. Prints each log found and what was applied or "
                    "rejected, and why. A clean HIVE is copied as it is: Windows ignores the logs "
                    "of a clean hive.",
        epilog="examples:\n"
               "  winmigrate recover /mnt/win/Windows/System32/config/SYSTEM -o SYSTEM.clean\n"
               "  winmigrate recover NTUSER.DAT --log old/ntuser.dat.LOG1 --log old/ntuser.dat."
               "LOG2 -o NTUSER.clean --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hive", help="the primary hive file")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="where to write the recovered hive (written atomically; not HIVE itself)")
    p.add_argument("--logs", choices=("auto", "require"), default="auto",
                   help="auto (the default): replay the sibling logs of a dirty hive; require: "
                        "the same (a dirty hive whose logs cannot be applied fails either way)")
    p.add_argument("--log", action="append", metavar="FILE", dest="log_files",
                   help="use this log file instead of the siblings (repeat for LOG1 and LOG2)")
    p.add_argument("--json", action="store_true", help="print the recovery report as JSON")
    p.set_defaults(handler=cmd_recover)


def cmd_recover(args: argparse.Namespace) -> int:
    from ..hive import Hive
    from ..hive.files import atomic_write
    from ..hive.logs import recover_file

    if os.path.exists(args.output) and os.path.samefile(args.output, args.hive):
        raise UsageError("OUT is the hive itself: write the recovered hive to another file "
                         "(HIVE and its logs are left as they are)")
    logs: str | list[str] = list(args.log_files) if args.log_files else args.logs
    image, report = recover_file(args.hive, logs)
    if report.primary_dirty and not report.applied:
        raise LogReplayError(f"{args.hive}: the hive is dirty and no transaction log could be "
                             f"applied, so no consistent hive can be written: {report.summary()}")
    bins_size = report.bins_size_after if report.applied else None
    if bins_size is None:
        from ..regf.baseblock import parse_base_block

        bins_size = parse_base_block(image).hive_bins_size
    data = bytes(image[:4096 + bins_size])
    # Read it back before writing: the consolidated image must be a hive we can open strictly.
    with Hive.from_bytes(data) as hive:
        hive.root.subkeys()
    atomic_write(args.output, (data,), mode_from=args.hive)
    if args.json:
        out = report.to_dict()
        out["output"] = args.output
        out["output_size"] = len(data)
        print_json(out)
    else:
        _print_report(report, args.hive, args.output, len(data))
    return 0


def _print_report(report: RecoveryReport, hive: str, output: str, size: int) -> None:
    print(f"{hive}: {report.summary()}")
    for log in report.logs:
        print(f"  {log.describe()}")
        if log.end and log.used:
            print(f"    entries end at {log.end}")
    for rejection in report.rejected:
        print(f"  not applied ({rejection.kind}): {rejection}")
    for note in report.notes:
        print(f"  note: {note}")
    seq = report.final_sequence if report.applied else report.primary_sequence[0]
    print(f"wrote {output}: {size} bytes, sequence {seq}, clean")
