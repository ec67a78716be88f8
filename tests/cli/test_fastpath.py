"""The read commands' fast argument path gives exactly what argparse gives, or steps aside."""

from __future__ import annotations

import pytest

from winmigrate.cli import build_parser
from winmigrate.cli.fastpath import parse

SAME = [
    ["get", "H", "P"], ["get", "H", "P", "V"], ["get", "H", "P", ""], ["get", "H", "P", "-"],
    ["get", "H", "P", "V", "--json"], ["get", "--raw", "H", "P", "V"],
    ["get", "H", "--tolerant", "P", "V"], ["get", "H", "P", "--logs", "ignore"],
    ["get", "H", "P", "--logs=require", "V"], ["--debug", "get", "H", "P", "V"],
    ["ls", "H"], ["ls", "H", "Control"], ["ls", "H", "--json"], ["ls", "--tolerant", "H", "X"],
    ["info", "H"], ["info", "H", "--quick"], ["info", "--json", "--quick", "H"],
    ["info", "H", "--logs", "auto"],
]
ASIDE = [
    ["get", "H"], ["get", "H", "P", "V", "W"], ["get", "H", "P", "--json", "--raw"],
    ["get", "H", "P", "--js"], ["get", "H", "P", "--quick"], ["get", "--help"],
    ["get", "H", "P", "--logs", "sometimes"], ["get", "H", "P", "--logs"], ["ls"],
    ["ls", "H", "P", "Q"], ["info", "H", "P"], ["get", "H", "P", "--", "-x"],
    ["get", "H", "P", "-x"], ["set", "H", "P"], [], ["--version"], ["get", "H", "P", "--json",
                                                                    "--json"],
]


@pytest.mark.parametrize("argv", SAME, ids=[" ".join(a) or "-" for a in SAME])
def test_fast_path_matches_argparse(argv: list[str]) -> None:
    fast = parse(argv)
    assert fast is not None
    slow = build_parser().parse_args(argv)
    assert vars(fast) == vars(slow)


@pytest.mark.parametrize("argv", ASIDE, ids=[" ".join(a) or "-" for a in ASIDE])
def test_anything_else_goes_to_argparse(argv: list[str]) -> None:
    assert parse(argv) is None


def test_the_console_entry_flushes_everything_and_keeps_the_exit_code(
        capsys: pytest.CaptureFixture[str]) -> None:
    # run() ends a fast-path read command with os._exit (no interpreter teardown): its whole
    # output must still arrive, through a pipe, with main()'s exit code.
    import subprocess
    import sys

    from tests.helpers import FIXTURES
    from winmigrate.cli import main

    hive = str(FIXTURES / "xen_win7_small.hiv")
    for argv, code in ((["ls", hive, "ControlSet001\\Services"], 0),
                       (["info", hive], 0),
                       (["get", hive, "ControlSet001\\Services\\xenvbd"], 0),
                       (["get", hive, "No\\Such\\Key", "X"], 1)):
        assert main(argv) == code
        expected = capsys.readouterr().out
        proc = subprocess.run([sys.executable, "-m", "winmigrate", *argv], capture_output=True,
                              text=True, timeout=60)
        assert (proc.returncode, proc.stdout) == (code, expected), argv
        assert expected or code, argv
