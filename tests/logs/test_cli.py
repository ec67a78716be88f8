"""``winmigrate recover``: in-process through ``cli.main`` and once as the installed script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import winmigrate
from winmigrate.cli import main


def test_recover_new_format(yarp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "clean"
    before = {f.name: f.read_bytes() for f in (yarp / "NewDirtyHive1").iterdir()}
    assert main(["recover", str(yarp / "NewDirtyHive1" / "NewDirtyHive"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 new-format log entries (2-5)" in text
    assert "NewDirtyHive.LOG1: new format, sequence 2, 1 entry applied" in text
    assert "NewDirtyHive.LOG2: new format, sequence 3, 3 entries applied (3-5" in text
    assert "wrote" in text and "sequence 5" in text
    with winmigrate.open(out) as hive, \
            winmigrate.open(yarp / "NewDirtyHive1" / "RecoveredHive_Windows10") as windows:
        assert not hive.dirty and hive.sequence == (5, 5)
        assert [k.path for k in hive.walk()] == [k.path for k in windows.walk()]
    assert {f.name: f.read_bytes() for f in (yarp / "NewDirtyHive1").iterdir()} == before


def test_recover_json_and_explicit_logs(yarp: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    src = yarp / "OldDirtyHive"
    elsewhere = tmp_path / "logs"
    elsewhere.mkdir()
    shutil.copy(src / "OldDirtyHive.LOG1", elsewhere / "saved.LOG1")
    shutil.copy(src / "OldDirtyHive", tmp_path / "OldDirtyHive")
    out = tmp_path / "clean"
    assert main(["recover", str(tmp_path / "OldDirtyHive"), "--log",
                 str(elsewhere / "saved.LOG1"), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["applied"] and report["format"] == "old"
    assert report["logs"][0]["pages_applied"] == 64
    assert report["output"] == str(out)


def test_recover_bad_logs_fails(yarp: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "clean"
    code = main(["recover", str(yarp / "BadLogHive3" / "BadLogHive"), "-o", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "no transaction log could be applied" in err
    assert "base block checksum mismatch" in err
    assert not out.exists()


def test_recover_refuses_to_overwrite_the_hive(yarp: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    hive = tmp_path / "NewDirtyHive"
    shutil.copy(yarp / "NewDirtyHive1" / "NewDirtyHive", hive)
    assert main(["recover", str(hive), "-o", str(hive)]) == 2
    assert "OUT is the hive itself" in capsys.readouterr().err


def test_recover_script(yarp: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("winmigrate")
    if not script.exists():
        pytest.skip("the winmigrate console script is not installed in this environment")
    out = tmp_path / "clean"
    proc = subprocess.run([str(script), "recover", str(yarp / "OldDirtyHive" / "OldDirtyHive"),
                           "-o", str(out)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "64 dirty pages of an old-format log applied from OldDirtyHive.LOG1" in proc.stdout
    with winmigrate.open(out) as hive:
        assert hive.get_key("key_with_many_subkeys\\5000\\find_me_in_log") is not None
