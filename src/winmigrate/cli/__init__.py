"""The ``winmigrate`` command line. All formatting lives in this package; each command group is a
module with a ``register(subparsers)`` function.

Exit codes: 0 success, 1 the command failed on its input (bad hive, missing key, problems found),
2 the command line itself was wrong.
"""

from __future__ import annotations

import sys

from ..errors import UsageError, WinmigrateError

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
    import argparse
    from importlib import import_module

    from ..version import __version__

    parser = argparse.ArgumentParser(
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``winmigrate`` console script; returns the exit code."""
    from .fastpath import parse

    raw = sys.argv[1:] if argv is None else list(argv)
    # get/ls/info in their plain forms skip building the parser (start-up is most of their time)
    fast = parse(raw)
    args: Any = fast if fast is not None else build_parser().parse_args(raw)
    try:
        return int(args.handler(args) or 0)
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
        print(f"winmigrate: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE if isinstance(e, UsageError) and not _is_input_error(e) else EXIT_FAILURE


def _is_input_error(e: BaseException) -> bool:
    from ..errors import NotWritableError

    return isinstance(e, NotWritableError)


def _one_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return " ".join(text.split())


def run() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())
