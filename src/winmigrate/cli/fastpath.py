"""The read commands' arguments without argparse: ``get``, ``ls`` and ``info`` are what scripts
and examiners run thousands of times in a loop, and building the full parser (every command's
options, argparse and gettext imported) costs more than the lookup itself.

``parse`` recognises exactly the plain forms of those commands -- their positionals and their
flags (``--json``, ``--raw``, ``--quick``, ``--tolerant``, ``--logs X``/``--logs=X``, a leading
``--debug``) -- and returns the namespace argparse would have built. Anything else (``--help``,
an unknown or misplaced option, ``--``, a wrong count, a bad choice) returns ``None`` and goes to
argparse, which parses it or says what is wrong; ``tests/cli/test_fastpath.py`` checks the two
agree on every form.
"""

from __future__ import annotations

from types import SimpleNamespace

__all__ = ["parse"]

_LOGS = ("auto", "ignore", "require")
#: command -> (required positionals, optional positionals, flags, exclusive flags)
_COMMANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...],
                           tuple[str, ...]]] = {
    "get": (("hive", "path"), ("value",), ("json", "raw", "tolerant"), ("json", "raw")),
    "ls": (("hive",), ("path",), ("json", "tolerant"), ()),
    "info": (("hive",), (), ("quick", "json", "tolerant"), ()),
}
_DEFAULTS = {"ls": {"path": ""}}


def parse(argv: list[str]) -> SimpleNamespace | None:
    """The namespace of a plain read command, or ``None`` (see the module docstring)."""
    debug = False
    args = list(argv)
    if args and args[0] == "--debug":
        debug = True
        args = args[1:]
    if not args or args[0] not in _COMMANDS:
        return None
    command = args[0]
    required, optional, flags, exclusive = _COMMANDS[command]
    values: dict[str, object] = {name: False for name in flags}
    values["logs"] = "auto"
    values["log_files"] = None
    positionals: list[str] = []
    rest = iter(args[1:])
    for arg in rest:
        if arg.startswith("-") and arg != "-":
            if arg == "--logs" or arg.startswith("--logs="):
                choice = arg[7:] if arg.startswith("--logs=") else next(rest, None)
                if choice not in _LOGS:
                    return None
                values["logs"] = choice
                continue
            name = arg[2:]
            if not arg.startswith("--") or name not in flags or values[name]:
                return None
            values[name] = True
            continue
        positionals.append(arg)
    if not len(required) <= len(positionals) <= len(required) + len(optional):
        return None
    if sum(bool(values[f]) for f in exclusive) > 1:
        return None
    names = required + optional
    for name in optional:
        values[name] = _DEFAULTS.get(command, {}).get(name)
    values.update(zip(names, positionals))
    from . import read

    handler = {"get": read.cmd_get, "ls": read.cmd_ls, "info": read.cmd_info}[command]
    return SimpleNamespace(debug=debug, command=command, handler=handler, **values)
