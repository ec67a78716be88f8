"""``winmigrate convert`` on the command line: dry run, JSON, apply, nothing to do, undo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.convert.tools import differences, make_guest, snapshot
from winmigrate.cli import main


def test_convert_cli(tmp_path: Path, virtio_tree: Path, agent_program: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    root = make_guest(tmp_path / "g", "win10")
    original = snapshot(root)
    common = [str(root), "--drivers", str(virtio_tree), "--agent-program", str(agent_program)]
    assert main(["convert", *common, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "driver viostor: viostor/w10/amd64" in out
    assert r"create Windows\System32\drivers\viostor.sys" in out
    assert "DevicePath" in out
    assert snapshot(root) == original
    assert main(["convert", *common, "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] and plan["guest"]["arch"] == "amd64"
    assert {f["state"] for f in plan["files"]} == {"create"}
    assert main(["convert", *common]) == 0
    assert "converted" in capsys.readouterr().out
    assert main(["convert", *common, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False
    assert main(["convert", *common]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["convert", str(root), "--undo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"]
    assert differences(original, snapshot(root)) == []


def test_convert_cli_errors(tmp_path: Path, virtio_tree: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    root = make_guest(tmp_path / "g", "win7")
    assert main(["convert", str(root)]) == 2
    assert "--drivers" in capsys.readouterr().err
    assert main(["convert", str(root), "--undo"]) == 1
    assert "no conversion to undo" in capsys.readouterr().err
    assert main(["convert", str(tmp_path), "--drivers", str(virtio_tree)]) == 1
    assert "no Windows installation" in capsys.readouterr().err
    # a source that is not there is a failure on the input, as a missing hive is
    assert main(["convert", str(root), "--drivers", str(tmp_path / "none")]) == 1
    assert "none: no such virtio-win folder or ISO" in capsys.readouterr().err
    assert main(["convert", str(root), "--drivers", str(virtio_tree), "--mac", "zz"]) == 2
    assert "bad MAC" in capsys.readouterr().err


def test_convert_refuses_a_read_only_hive_before_writing_anything(
        tmp_path: Path, virtio_tree: Path, agent_program: Path) -> None:
    """A hive without write permission is not changed, even by root: the conversion says so
    before it writes any file (convert's --force is about --undo, so the hint is chmod)."""
    from tests.cli_tools.util import one_error_line, run

    root = make_guest(tmp_path / "g", "win7")
    system = root / "Windows" / "System32" / "config" / "SYSTEM"
    system.chmod(0o444)
    original = snapshot(root)
    r = run("convert", root, "--drivers", virtio_tree, "--agent-program", agent_program)
    assert r.returncode == 1, (r.stdout, r.stderr)
    line = one_error_line(r)
    assert f"{system} is read-only (mode 0444)" in line and "chmod u+w" in line
    assert "--force" not in line and "force=True" not in line
    assert snapshot(root) == original
    r = run("convert", root, "--drivers", virtio_tree, "--agent-program", agent_program,
            "--dry-run")
    assert r.returncode == 0 and snapshot(root) == original
