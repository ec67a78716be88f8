"""The services, cdd, xen and migrate commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import winmigrate
from tests.migration.tools import FIXTURES, dump
from winmigrate.cli import build_parser, main
from winmigrate.convert.plan import storage_ready

COMMANDS = [
    ["services"], ["services", "list"], ["services", "show"], ["services", "add"],
    ["services", "set-start"], ["services", "remove"], ["cdd"], ["cdd", "list"], ["cdd", "add"],
    ["cdd", "remove"], ["xen"], ["xen", "detect"], ["xen", "neutralise"], ["migrate"],
    ["migrate", "xen-to-kvm"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_an_example(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([*command, "--help"])
    assert e.value.code == 0
    assert "example" in capsys.readouterr().out


def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copyfile(FIXTURES / name, dst)
    return dst


def test_services_list_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hive = _copy(tmp_path, "xen_win7_small.hiv")
    assert main(["services", "list", str(hive), "--drivers"]) == 0
    out = capsys.readouterr().out
    assert "xenvbd" in out and "XenSvc" not in out
    assert main(["services", "show", str(hive), "XENVBD", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "xenvbd" and data["start"] == 0 and data["group"] == "Scsi Miniport"
    assert main(["services", "show", str(hive), "nothere"]) == 1
    assert main(["services", "list", str(hive), "--control-set", "7"]) == 1
    assert "ControlSet007" in capsys.readouterr().err


def test_services_add_set_start_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "xen_win7_small.hiv")
    original = path.read_bytes()
    args = ["services", "add", str(path), "KvmConv", "--type", "own", "--start", "auto",
            "--error-control", "normal", "--image-path", r"C:\Program Files\K\k.exe",
            "--object-name", "LocalSystem", "--depend-on-service", "Tcpip"]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(new key)" in out and "+ ImagePath" in out
    assert path.read_bytes() == original  # dry run: nothing written
    assert main(args) == 0
    capsys.readouterr()
    assert (tmp_path / "xen_win7_small.hiv.bak").read_bytes() == original
    with winmigrate.open(path) as hive:
        key = hive.key(r"ControlSet002\Services\KvmConv")
        assert key.get("ImagePath") == r'"C:\Program Files\K\k.exe"'
        assert key.get("Type") == 0x10 and key.get("DependOnService") == ["Tcpip"]
    assert main(["services", "set-start", str(path), "xenvbd", "disabled",
                 "--control-sets", "2", "--no-backup", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["key"] for c in data["changes"]] == [r"ControlSet002\Services\xenvbd"]
    assert main(["services", "remove", str(path), "KvmConv", "--no-backup"]) == 0
    assert main(["services", "set-start", str(path), "xenvbd", "sometimes"]) == 2


def test_cdd_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "xen_win7_small.hiv")
    assert main(["cdd", "list", str(path), "--service", "xenbus", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["key_name"] == "pci#ven_5853&dev_0001"
    assert main(["cdd", "add", str(path), r"PCI\VEN_1AF4&DEV_1001&REV_00", "viostor",
                 "--no-backup"]) == 0
    assert main(["cdd", "add", str(path), "pci#ven_1af4&dev_1001&rev_00", "viostor"]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["cdd", "remove", str(path), "--device-id", "pci#ven_5853&dev_0001",
                 "--no-backup"]) == 0
    assert main(["cdd", "remove", str(path)]) == 2
    win10 = _copy(tmp_path, "xen_win10_small.hiv")
    # not for this Windows release: a failure on the input, not a bad command line
    assert main(["cdd", "add", str(win10), r"PCI\VEN_1AF4&DEV_1001&REV_00", "viostor"]) == 1
    assert "'winmigrate migrate xen-to-kvm' writes its DriverDatabase" in \
        capsys.readouterr().err


def test_xen_detect_and_neutralise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "xen_win7_small.hiv")
    software = _copy(tmp_path, "xen_software_small.hiv")
    assert main(["xen", "detect", str(path), "--software", str(software)]) == 0
    out = capsys.readouterr().out
    assert "Xen PV drivers found: yes" in out and "Citrix XenServer Tools" in out
    assert "AWS PV Network Device" in out
    assert main(["xen", "neutralise", str(path), "--dry-run"]) == 0
    assert "- UpperFilters" in capsys.readouterr().out
    assert main(["xen", "neutralize", str(path)]) == 0
    capsys.readouterr()
    assert main(["xen", "detect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["filters"] == [] and report["critical_devices"] == []


def test_migrate_dry_run_then_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    system = _copy(tmp_path, "xen_win7_small.hiv")
    software = _copy(tmp_path, "xen_software_small.hiv")
    # the hives' logs are backed up too
    (tmp_path / "xen_win7_small.hiv.LOG1").write_bytes(b"log")
    before = (system.read_bytes(), software.read_bytes())
    args = ["migrate", "xen-to-kvm", "--system", str(system), "--software", str(software),
            "--firstboot-image", r"C:\Windows\KvmConv\kvmconv.exe",
            "--storage-driver", "vioscsi", "--device-path", r"C:\Windows\KvmConv\drivers"]
    assert main([*args, "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "[SYSTEM] ControlSet001\\Services\\vioscsi  (new key)" in captured.out
    assert "CriticalDeviceDatabase" in captured.out
    assert "still to do at first boot" in captured.out
    assert "Windows Server 2008 R2 Enterprise (6.1.7601)" in captured.out
    assert (system.read_bytes(), software.read_bytes()) == before
    assert main([*args, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["storage_driver"] == "vioscsi" and plan["changes"]
    assert (tmp_path / "xen_win7_small.hiv.bak").read_bytes() == before[0]
    assert (tmp_path / "xen_win7_small.hiv.LOG1.bak").read_bytes() == b"log"
    assert (tmp_path / "xen_software_small.hiv.bak").read_bytes() == before[1]
    with winmigrate.open(system) as hive:
        assert storage_ready(hive, "vioscsi") == []
        assert hive.check().ok
    after = system.read_bytes()
    assert main(args) == 0  # nothing left to do
    assert "no changes" in capsys.readouterr().out
    with winmigrate.open(system) as a, winmigrate.Hive.from_bytes(after) as b:
        assert dump(a) == dump(b)


def test_migrate_fast_startup_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    system = _copy(tmp_path, "xen_win10_small.hiv")
    assert main(["migrate", "xen-to-kvm", "--system", str(system), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "HiberbootEnabled" in captured.err
    assert "DriverDatabase" in captured.out


def test_migrate_refuses_hives_of_two_installations(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    system = _copy(tmp_path, "xen_win10_small.hiv")
    software = _copy(tmp_path, "xen_software_small.hiv")  # Windows Server 2008 R2
    assert main(["migrate", "xen-to-kvm", "--system", str(system), "--software",
                 str(software), "--dry-run"]) == 1  # the input is wrong, not the command line
    assert "not from the same Windows installation" in capsys.readouterr().err


def test_migrate_refuses_missing_control_set(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "xen_cs10.hiv")
    with winmigrate.open(path, writable=True) as hive:
        hive.key("Select").set_value("Default", 12)
        hive.save()
    assert main(["migrate", "xen-to-kvm", "--system", str(path), "--dry-run"]) == 1
    assert "Select\\Default names ControlSet012" in capsys.readouterr().err


def test_migrate_dirty_hive_without_logs(corpus: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    src = corpus / "mkorman90_regipy/regipy_tests/data/SYSTEM_2"
    if not src.is_file():
        pytest.skip("SYSTEM_2 is not in the corpus")
    path = tmp_path / "SYSTEM"
    shutil.copyfile(src, path)
    assert main(["migrate", "xen-to-kvm", "--system", str(path)]) == 1
    err = capsys.readouterr().err
    assert "dirty" in err
    assert path.read_bytes() == src.read_bytes()
    assert not (tmp_path / "SYSTEM.bak").exists()
