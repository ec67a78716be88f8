"""``check``: Windows' load-time checks of a hive, as a report."""

from __future__ import annotations

import argparse

from .common import add_hive_options, open_hive, print_json
from .progress import Progress
from .writing import note


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check", help="run Windows' load-time integrity checks (exit 1 on problems)",
        description="Check the hive the way Windows does before it mounts one: the base block, "
                    "every bin and the tiling of its cells, then from the root down every key "
                    "node, subkey list (kind, counts, sort order, hashes), value list, value, "
                    "data cell and security record, and the nesting depth. Prints each problem "
                    "with its file offset and key; exits 1 if there is any. What Windows "
                    "tolerates (a stale size hint, a dangling class length...) is printed as a "
                    "note and does not change the exit status. Allocated cells that "
                    "nothing references are listed but are not problems (Windows accepts "
                    "them). A dirty hive is checked after its transaction logs are replayed "
                    "(--logs ignore checks the primary file as it is).",
        epilog="examples:\n  winmigrate check SYSTEM\n  winmigrate check SYSTEM --json | jq .ok",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hive", help="the hive file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_hive_options(p, tolerant=False)
    p.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    with open_hive(args.hive, args=args) as hive:
        if hive.recovery is not None and hive.recovery.applied:
            note(f"{args.hive} is dirty: checked after replaying its transaction logs")
        with Progress("checking", "keys") as progress:
            report = hive.check(progress=progress)
    if args.json:
        out = report.to_dict()
        out["file"] = args.hive
        print_json(out)
    else:
        print(f"{args.hive}: {report}")
        print(f"  {report.allocated_bytes:,} bytes in allocated cells, {report.free_bytes:,} "
              f"free; {len(report.unreferenced_cells)} allocated cell(s) referenced by nothing")
    return 0 if report.ok else 1
