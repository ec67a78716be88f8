"""A guest whose SYSTEM hive is dirty -- Windows stopped in the middle of writing it -- is
converted from what its transaction log says, and saved clean; one whose log cannot bring it up
to date is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate
from tests.convert.tools import differences, make_guest, snapshot
from tests.oracles import hivecheck, hivecheck_program
from winmigrate.convert import ConvertConfig, plan_conversion, storage_ready, undo
from winmigrate.convert.options import AgentOptions
from winmigrate.errors import WinmigrateError
from winmigrate.hive import journal

MARK = "dirty.example"


def _dirty_system(root: Path) -> Path:
    """Change SYSTEM and stop its save after the pages are written but before the primary is
    marked clean: the primary is dirty and its log holds the change."""
    system = root / "Windows" / "System32" / "config" / "SYSTEM"

    def stop(name: str) -> None:
        if name == "pages-written":
            raise KeyboardInterrupt("stopped")

    hive = winmigrate.open(system, writable=True)
    params = hive.key(r"ControlSet001\Services\Tcpip\Parameters")
    params.set_value("Domain", MARK)
    journal._after_step = stop
    try:
        with pytest.raises(KeyboardInterrupt):
            hive.save()
    finally:
        journal._after_step = None
        hive.close()
    head = system.read_bytes()[:12]
    assert head[4:8] != head[8:12]  # the sequence numbers differ: dirty
    return system


def test_dirty_system_is_replayed(tmp_path: Path, virtio_tree: Path, agent_program: Path
                                  ) -> None:
    root = make_guest(tmp_path / "g", "win10")
    system = _dirty_system(root)
    original = snapshot(root)
    config = ConvertConfig(drivers=str(virtio_tree), agent=AgentOptions(program=str(agent_program)))
    plan = plan_conversion(root, config)
    assert plan.info.system_dirty
    plan.apply()
    with winmigrate.open(system, logs="ignore") as hive:  # clean now: no log needed
        assert not hive.dirty
        assert hive.key(r"ControlSet001\Services\Tcpip\Parameters").get("Domain") == MARK
        assert storage_ready(hive) == []
    if hivecheck_program() is not None:
        assert hivecheck(system) == "OK"
    undo(root)
    assert differences(original, snapshot(root)) == []  # dirty again, log and all


def test_unrecoverable_dirty_hive_is_refused(tmp_path: Path, virtio_tree: Path,
                                             agent_program: Path) -> None:
    root = make_guest(tmp_path / "g", "win10")
    system = _dirty_system(root)
    for log in system.parent.glob("SYSTEM.LOG*"):
        log.write_bytes(b"")  # the log is gone
    original = snapshot(root)
    config = ConvertConfig(drivers=str(virtio_tree), agent=AgentOptions(program=str(agent_program)))
    with pytest.raises(WinmigrateError):
        plan_conversion(root, config).apply()
    assert differences(original, snapshot(root)) == []
