"""Shared by the survey tests: a folder of guests and loose hives, rows without their timing,
and a task that kills its worker (for the runner tests)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tests.convert.tools import make_guest
from tests.helpers import FIXTURES

FAMILIES = ("xp", "win7", "2008r2", "win10", "2019")


def build_survey_tree(root: Path) -> Path:
    """``root`` holding five fake guests (``guests/<family>``), loose fixture hives with a
    SYSTEM/SOFTWARE pair, an orphan log, a damaged hive and files that are no hives."""
    for family in FAMILIES:
        guest = make_guest(root / "guests" / family, family)
        users = guest / "Users" / "bob"
        users.mkdir(parents=True)
        shutil.copyfile(FIXTURES / "types_1_5.hiv", users / "NTUSER.DAT")
        (users / "ntuser.dat.LOG1").write_bytes(b"")
        # a hive outside the places Windows keeps them: found only by a deep search
        shutil.copyfile(FIXTURES / "deep.hiv", guest / "Program Files" / "stray.hiv")
    loose = root / "loose"
    loose.mkdir()
    shutil.copyfile(FIXTURES / "xen_win7_small.hiv", loose / "SYSTEM")
    shutil.copyfile(FIXTURES / "xen_software_small.hiv", loose / "software")
    shutil.copyfile(FIXTURES / "types_1_3.hiv", loose / "types.hiv")
    shutil.copyfile(FIXTURES / "many_subkeys.hiv", loose / "many.dat")
    data = bytearray((FIXTURES / "types_1_4.hiv").read_bytes())
    data[0x1C:0x20] = (6).to_bytes(4, "little")  # file type 6: a new-format log
    (loose / "orphan.LOG1").write_bytes(bytes(data[:8192]))
    broken = bytearray((FIXTURES / "deep.hiv").read_bytes())
    broken[4096 + 32:4096 + 512] = b"\xff" * 480  # the root's cell and more: unreadable
    (loose / "broken.hiv").write_bytes(bytes(broken))
    (loose / "notes.txt").write_text("not a hive\n")
    (loose / "empty.dat").write_bytes(b"")
    return root


def comparable(row: dict[str, Any]) -> str:
    """A row as canonical JSON without what differs from run to run (``seconds``)."""
    return json.dumps({k: v for k, v in row.items() if k != "seconds"}, sort_keys=True,
                      default=str)


def die_on_three(x: int) -> int:
    """Doubles ``x``; kills its own process for 3 (the worker-death tests)."""
    if x == 3:
        os._exit(17)
    return 2 * x


def fail_on_four(x: int) -> int:
    if x == 4:
        raise ValueError("four")
    return 2 * x
