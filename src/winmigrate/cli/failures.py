"""How the command line reports a failure: one line on stderr (a JSON object under ``--json``),
the files named by the paths the user gave, the library's hints in the words of the command line,
and the exit code (2 for a wrong command line, 1 for a failure on the input).

The library's messages tell a Python caller what to do (``open with strict=False``,
``logs=[...]``); a command-line user needs the option that does it (``--tolerant``, ``--log
FILE``). ``translate`` rewrites each such hint for the command in use, and
``tests/cli/test_conventions.py`` checks that no library hint escapes it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from ..errors import NotWritableError, UsageError, WrongHiveError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import NoReturn

EXIT_FAILURE = 1
EXIT_USAGE = 2

#: Set by ``main`` when the command line asks for JSON: errors are then JSON too.
json_errors = False


def _tolerant(options: Mapping[str, str]) -> str:
    if "--tolerant" in options:
        return "--tolerant reads around it and reports what was skipped"
    return ("info, ls, get, find, timeline, export and net read around it with --tolerant, and "
            "report what was skipped")


def _logs_ignore(options: Mapping[str, str]) -> str:
    if "ignore" in options.get("--logs", ""):
        return "--logs ignore reads the primary file as it is (it cannot then be changed)"
    return "--logs ignore (on the read commands) reads the primary file as it is"


def _name_logs(options: Mapping[str, str]) -> str:
    from .common import LOGS_BY_OPTION, LOGS_BY_RECOVER

    return LOGS_BY_OPTION if "--log" in options else LOGS_BY_RECOVER


def _force(options: Mapping[str, str]) -> str:
    return ", or give --force" if "read-only" in options.get("--force", "") else ""


# (library wording, its command-line equivalent given the command's options and their help)
_HINTS: list[tuple[re.Pattern[str], Callable[[Mapping[str, str]], str]]] = [
    (re.compile(r"open with strict=False to read around it; hive\.problems lists what was "
                r"skipped"), _tolerant),
    (re.compile(r"open with strict=False to read what is there"), _tolerant),
    (re.compile(r"open with logs='ignore' to read the primary as it is \(it cannot then be "
                r"saved\)"), _logs_ignore),
    (re.compile(r"open it with logs='auto' next to its \.LOG1/\.LOG2 files, or name them with "
                r"logs=\[\.\.\.\]"), _name_logs),
    (re.compile(r", or open it with force=True"), _force),
    (re.compile(r"\(strict=False\)"), lambda o: "(--tolerant)"),
    (re.compile(r"\(pass recursive=True to delete them too\)"),
     lambda o: "(use --recursive to delete them too)"),
    (re.compile(r"\(winmigrate\.windows\.drivers\)"),
     lambda o: "('winmigrate migrate xen-to-kvm' writes its DriverDatabase entries)"),
    (re.compile(r"\(use winmigrate\.windows\.cdd\)"), lambda o: "(use 'winmigrate cdd add')"),
    (re.compile(r"winmigrate\.(?:convert\.netscript|network)\.(?:build|apply)_script"),
     lambda o: "'winmigrate net script SYSTEM'"),
    (re.compile(r"it holds a registry hive \(it starts with 'regf'\)"),
     lambda o: "it holds a registry hive (the hive comes first: winmigrate import HIVE "
               "FILE.reg)"),
]


def translate(text: str, options: Mapping[str, str]) -> str:
    """``text`` with the library's hints put in command-line words (``options``: the command's
    option strings and their help)."""
    if "=" not in text and "winmigrate." not in text and "regf" not in text:
        return text
    for pattern, words in _HINTS:
        if pattern.search(text):
            text = pattern.sub(lambda _m, w=words: w(options), text)  # type: ignore[misc]
    return text


def command_options(argv: Sequence[str]) -> dict[str, str]:
    """The option strings of the (sub)command ``argv`` names, with their help."""
    from . import build_parser

    parser: argparse.ArgumentParser = build_parser()
    words = [w for w in argv if not w.startswith("-")]
    while True:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                   None)
        if sub is None or not words or words[0] not in sub.choices:
            break
        parser = sub.choices[words.pop(0)]
    out: dict[str, str] = {}
    for action in parser._actions:
        text = "" if action.help in (None, argparse.SUPPRESS) else str(action.help)
        if action.choices and not isinstance(action, argparse._SubParsersAction):
            text += " " + " ".join(str(c) for c in action.choices)
        for name in action.option_strings:
            out[name] = text
    return out


def message(e: BaseException, given: Sequence[str] = ()) -> str:
    """The error as one line: no ``[Errno N]``, files named by the paths the user gave."""
    if isinstance(e, OSError) and e.strerror:
        text = e.strerror
        for name in (e.filename, e.filename2):
            if name is None:
                continue
            shown = os.fsdecode(name) if isinstance(name, bytes) else str(name)
            if shown not in text:
                text = f"{shown}: {text}"
                break
    else:
        text = str(e) or type(e).__name__
    text = _given_path(text, given)
    return _one_line(text)


def _given_path(text: str, given: Sequence[str]) -> str:
    """The library names a hive by its file name; say the path the user typed."""
    for path in reversed(given):
        base = os.path.basename(path)
        if base and base != path and text.startswith(base) and \
                text[len(base):len(base) + 1] in (",", ":"):
            return path + text[len(base):]
    return text


def _one_line(text: str) -> str:
    """One line, with control characters (and so any binary bytes) shown as escapes."""
    out = []
    for ch in " ".join(text.split()):
        code = ord(ch)
        if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def exit_code(e: BaseException) -> int:
    """2 when the command line was wrong, 1 when the command failed on its input: a read-only
    hive and a hive the operation does not apply to are failures on the input."""
    if isinstance(e, (NotWritableError, WrongHiveError)):
        return EXIT_FAILURE
    return EXIT_USAGE if isinstance(e, UsageError) else EXIT_FAILURE


def report(e: BaseException, argv: Sequence[str], given: Sequence[str]) -> int:
    """Print the error the way the command line reports errors; return the exit code."""
    text = translate(message(e, given), command_options(argv))
    code = exit_code(e)
    emit(text, type(e).__name__, code)
    return code


def emit(text: str, kind: str, code: int) -> None:
    if json_errors:
        import json

        print(json.dumps({"error": text, "type": kind, "exit_code": code}, ensure_ascii=False),
              file=sys.stderr)
    else:
        print(f"winmigrate: error: {text}", file=sys.stderr)


def wants_json(argv: Sequence[str]) -> bool:
    """Whether the command line asks for JSON output (before it is parsed)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--json" or arg == "--format=json" or (
                arg == "--format" and i + 1 < len(argv) and argv[i + 1] == "json"):
            return True
    return False


class Parser(argparse.ArgumentParser):
    """The parser of every command: a bad command line is reported like any other error (as
    JSON under ``--json``), with the usage line first in text mode as argparse does."""

    def error(self, message: str) -> NoReturn:
        if not json_errors:
            super().error(message)
        emit(_one_line(f"{self.prog}: {message}"), "UsageError", EXIT_USAGE)
        sys.exit(EXIT_USAGE)
