"""A conversion that stops half-way -- an error, a full disk, a kill -- at every one of its
steps leaves a guest that ``undo`` puts back exactly, or that a re-run completes to the same
result as an uninterrupted conversion."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

import winmigrate
from tests.convert.tools import REPO, differences, make_guest, snapshot
from tests.helpers import dump_hive
from winmigrate.convert import ConvertConfig, plan_conversion, undo
from winmigrate.convert import run as run_module
from winmigrate.convert.options import AgentOptions


class Stop(Exception):
    pass


def _config(virtio: Path, agent: Path) -> ConvertConfig:
    return ConvertConfig(drivers=str(virtio), agent=AgentOptions(program=str(agent)))


def _steps(tmp_path: Path, family: str, config: ConvertConfig) -> list[str]:
    seen: list[str] = []
    run_module._after_step = seen.append
    try:
        plan_conversion(make_guest(tmp_path / "probe", family), config).apply()
    finally:
        run_module._after_step = None
    return seen


def _content(root: Path) -> dict[str, object]:
    """What a finished conversion must hold: every file's bytes (hives by their keys and values,
    the manifest and the hives' logs left out: their bytes depend on the save sequence)."""
    out: dict[str, object] = {}
    for rel, entry in snapshot(root).items():
        low = rel.lower()
        if entry is None or low.endswith("manifest.json") or ".log" in low:
            continue
        if "kvmconv/backup/" in low:
            out[rel] = entry[0]
        elif low.endswith(("config/system", "config/software")):
            with winmigrate.open(root / rel) as hive:
                out[rel] = dump_hive(hive)
        else:
            out[rel] = entry[0]
    return out


@pytest.mark.parametrize("family", ["win7", "win10"])
def test_raise_at_every_step(tmp_path: Path, family: str, virtio_tree: Path,
                             agent_program: Path) -> None:
    config = _config(virtio_tree, agent_program)
    steps = _steps(tmp_path, family, config)
    assert steps[0] == "manifest" and steps[-1] == "done" and "registry" in steps
    assert any(s.startswith("file:") for s in steps) and "saved:SYSTEM" in steps
    reference = make_guest(tmp_path / "reference", family)
    plan_conversion(reference, config).apply()
    expected = _content(reference)
    for i, step in enumerate(steps):
        for then in ("undo", "rerun"):
            root = make_guest(tmp_path / f"{i}-{then}", family)
            original = snapshot(root)

            def fail(name: str, step: str = step) -> None:
                if name == step:
                    raise OSError(errno.ENOSPC, "No space left on device (injected)")

            run_module._after_step = fail
            try:
                with pytest.raises(OSError, match="injected"):
                    plan_conversion(root, config).apply()
            finally:
                run_module._after_step = None
            if then == "undo":
                undo(root)
                assert differences(original, snapshot(root)) == [], step
            else:
                plan = plan_conversion(root, config)
                plan.apply()
                assert _content(root) == {k.replace("reference", ""): v
                                          for k, v in expected.items()}, step
                assert plan_conversion(root, config).nothing_to_do
                undo(root)
                assert differences(original, snapshot(root)) == [], step


_KILLER = """
import os, sys
sys.path.insert(0, {src!r})
from winmigrate.convert import ConvertConfig, plan_conversion
from winmigrate.convert import run
from winmigrate.convert.options import AgentOptions
target = sys.argv[2]
def kill(name):
    if name == target:
        os._exit(9)
run._after_step = kill
plan_conversion(sys.argv[1], ConvertConfig(drivers={virtio!r},
                agent=AgentOptions(program={agent!r}))).apply()
"""


def test_kill_at_every_step(tmp_path: Path, virtio_tree: Path, agent_program: Path) -> None:
    config = _config(virtio_tree, agent_program)
    steps = _steps(tmp_path, "2019", config)
    code = _KILLER.format(src=str(REPO / "src"), virtio=str(virtio_tree),
                          agent=str(agent_program))
    for i, step in enumerate(steps):
        root = make_guest(tmp_path / f"k{i}", "2019")
        original = snapshot(root)
        proc = subprocess.run([sys.executable, "-c", code, str(root), step],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 9, proc.stderr
        if i % 2:
            undo(root)
            assert differences(original, snapshot(root)) == [], step
        else:
            plan_conversion(root, config).apply()
            assert plan_conversion(root, config).nothing_to_do, step
            undo(root)
            assert differences(original, snapshot(root)) == [], step


def test_a_changed_guest_is_planned_again(tmp_path: Path, virtio_tree: Path,
                                          agent_program: Path) -> None:
    from winmigrate.convert.volume import ConversionError

    root = make_guest(tmp_path / "g", "win10")
    plan = plan_conversion(root, _config(virtio_tree, agent_program))
    (root / "Windows" / "System32" / "drivers" / "viostor.sys").write_bytes(b"appeared")
    with pytest.raises(ConversionError, match="changed since the plan"):
        plan.apply()
    assert not (root / "Windows" / "KvmConv").exists()  # nothing was written


def test_interrupted_undo_completes(tmp_path: Path, virtio_tree: Path, agent_program: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_guest(tmp_path / "g", "win7")
    original = snapshot(root)
    plan_conversion(root, _config(virtio_tree, agent_program)).apply()
    real_unlink = os.unlink
    calls = {"n": 0}

    def flaky(path: str | os.PathLike[str], *a: object, **k: object) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(errno.EIO, "injected")
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", flaky)
    with pytest.raises(OSError, match="injected"):
        undo(root)
    monkeypatch.setattr(os, "unlink", real_unlink)
    undo(root)
    assert differences(original, snapshot(root)) == []
