"""Running the CLI as a user does: a real process, real files, exit codes and stderr."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import FIXTURES

WINMIGRATE = [sys.executable, "-m", "winmigrate"]
TYPES_HIVE = FIXTURES / "types_1_5.hiv"


def run(*args: str | Path, stdin: bytes | None = None, timeout: float = 120,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``winmigrate ARGS``; stdout/stderr as text (UTF-8, undecodable bytes escaped)."""
    r = subprocess.run([*WINMIGRATE, *map(str, args)], input=stdin, capture_output=True,
                       timeout=timeout, cwd=cwd)
    return subprocess.CompletedProcess(r.args, r.returncode,
                                       r.stdout.decode("utf-8", "backslashreplace"),
                                       r.stderr.decode("utf-8", "backslashreplace"))


def run_bytes(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*WINMIGRATE, *map(str, args)], input=stdin, capture_output=True,
                          timeout=120)


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    """The single 'winmigrate: error: ...' line of a failed run (no traceback)."""
    lines = [line for line in r.stderr.splitlines() if not line.startswith("winmigrate: note:")]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("winmigrate: error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst
