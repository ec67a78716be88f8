"""The facts' conversion verdict (``convert_ok``, ``convert_blockers``) agrees with
``winmigrate convert`` itself: on fake guests spoilt one way each, the whole-guest planner
(``plan_conversion``, given a driver source) refuses exactly the guests the survey blocks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import winmigrate
from tests.convert.tools import make_guest, make_virtio
from winmigrate.convert import ConvertConfig, plan_conversion
from winmigrate.errors import WinmigrateError
from winmigrate.survey.facts import hive_facts
from winmigrate.survey.locate import discover


def _config(root: Path, name: str) -> Path:
    """The hive ``name`` of the guest, whatever the letter case of its folders and name."""
    for folder, _dirs, files in os.walk(root):
        if Path(folder).name.lower() == "config":
            for f in files:
                if f.lower() == name.lower():
                    return Path(folder) / f
    raise FileNotFoundError(name)


def _edit(root: Path, name: str, change: Callable[[winmigrate.Hive], None]) -> None:
    hive = winmigrate.open(_config(root, name), writable=True)
    try:
        change(hive)
        hive.save()
    finally:
        hive.close()


def _no_software(root: Path) -> None:
    os.unlink(_config(root, "SOFTWARE"))


def _no_architecture(root: Path) -> None:
    _edit(root, "SYSTEM", lambda h: h.key(r"ControlSet001\Control\Session Manager\Environment")
          .delete_value("PROCESSOR_ARCHITECTURE"))


def _unknown_architecture(root: Path) -> None:
    _edit(root, "SYSTEM", lambda h: h.key(r"ControlSet001\Control\Session Manager\Environment")
          .set_value("PROCESSOR_ARCHITECTURE", "MIPS"))


def _select_missing_set(root: Path) -> None:
    _edit(root, "SYSTEM", lambda h: h.key("Select").set_value("Current", 7))


def _no_current_version(root: Path) -> None:
    _edit(root, "SOFTWARE", lambda h: h.key(r"Microsoft\Windows NT")
          .delete_key("CurrentVersion", recursive=True))


SPOILERS: dict[str, tuple[Callable[[Path], None] | None, str | None]] = {
    "intact": (None, None),
    "no-software": (_no_software, "no SOFTWARE hive"),
    "no-architecture": (_no_architecture, "processor architecture"),
    "unknown-architecture": (_unknown_architecture, "processor architecture"),
    "select-missing-set": (_select_missing_set, "ControlSet007"),
    "no-current-version": (_no_current_version, "which Windows this is"),
}


@pytest.fixture(scope="module")
def drivers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_virtio(tmp_path_factory.mktemp("virtio") / "virtio-win")


@pytest.mark.parametrize("family", ["xp", "win10"])
@pytest.mark.parametrize("case", list(SPOILERS))
def test_the_verdict_is_the_conversions(tmp_path: Path, drivers: Path, family: str,
                                        case: str) -> None:
    root = make_guest(tmp_path / "guest", family)
    spoil, blocker = SPOILERS[case]
    if spoil is not None:
        spoil(root)
    task = next(t for t in discover([root]) if os.path.basename(t.path).lower() == "system")
    row = hive_facts(task.path, sha256=None, size=None, logs=task.logs, software=task.software,
                     guest=task.guest)
    refused: str | None = None
    try:
        plan_conversion(root, ConvertConfig(drivers=drivers, agent=None))
    except WinmigrateError as e:
        refused = str(e)
    assert row["convert_ok"] is (refused is None), (row["convert_blockers"], refused)
    if blocker is None:
        assert row["convert_blockers"] == []
    else:
        assert any(blocker in b for b in row["convert_blockers"]), row["convert_blockers"]
