"""The ``winmigrate`` command line. All formatting lives in this package; each command group is a
module with a ``register(subparsers)`` function.

Exit codes: 0 success, 1 the command failed on its input (bad hive, missing key, read-only hive,
problems found), 2 the command line itself was wrong (``failures``; docs/cli.md, "Conventions").
"""

from __future__ import annotations

import sys

from ..errors import WinmigrateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

# Command modules, in the order their commands appear in --help.
_COMMAND_MODULES = ("read", "edit", "export", "check", "diff", "search", "logs", "net", "system",
                    "migrate", "convert", "scan", "completion")


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    from ..version import __version__
    from .failures import Parser

    parser = Parser(
        prog="winmigrate",
        description="Read and rewrite Windows registry hives; move Windows guests from Xen to KVM.",
        epilog="Run 'winmigrate COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"winmigrate {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show a traceback for errors instead of a one-line message")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        import_module(f".{name}", __name__).register(sub)
    return parser


#: Set once a read command of the fast path has run: nothing of it is left to finalise.
_read_only_done = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``winmigrate`` console script; returns the exit code."""
    from .fastpath import parse

    raw = sys.argv[1:] if argv is None else list(argv)
    # get/ls/info in their plain forms skip building the parser (start-up is most of their time)
    fast = parse(raw)
    if fast is not None:
        args: Any = fast
    else:
        from . import failures

        failures.json_errors = failures.wants_json(raw)
        args = build_parser().parse_args(raw)
    from .common import OPENED, report_skipped

    try:
        code = int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("winmigrate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not an error of ours.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except (WinmigrateError, OSError) as e:
        if args.debug:
            raise
        from . import failures

        failures.json_errors = failures.wants_json(raw)
        given = [path for path, _hive in OPENED]
        report_skipped()
        return failures.report(e, raw, given)
    report_skipped()
    if fast is not None:
        global _read_only_done
        _read_only_done = True
    return code


def run() -> None:
    """The ``winmigrate`` console script and ``python -m winmigrate``: ``main()``, then the exit.
    After ``get``/``ls``/``info`` in their plain forms (they open nothing for writing and start
    no thread) the output is flushed and the process ends without the interpreter's teardown of
    every module, about 2 ms of a 25 ms lookup; every other command exits normally."""
    code = main()
    if not _read_only_done:
        sys.exit(code)
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`| head`): as main() treats it
        pass
    os._exit(code)
