"""A whole guest converted: every family of the fake guests, from a folder and from the ISO;
the files in place byte for byte, the hives accepted by check(), hivex and hivecheck, the guest
ready to boot from virtio, a second run changing nothing, and undo restoring the tree exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

import winmigrate
from tests.convert.tools import differences, make_guest, script, snapshot
from tests.helpers import dump_hive
from tests.oracles import OracleError, hivecheck, hivecheck_program, hivex_available, hivex_dump
from winmigrate.convert import ConvertConfig, plan_conversion, storage_ready, undo
from winmigrate.convert.agent import shipped_program
from winmigrate.convert.options import AgentOptions
from winmigrate.convert.volume import GuestNotFoundError
from winmigrate.windows.certs import list_certificates
from winmigrate.windows.services import get_service

FAMILIES = {  # family -> (virtio-win release, architecture, legacy CDD)
    "xp": ("xp", "x86", True), "win7": ("w7", "amd64", True), "2008r2": ("2k8R2", "amd64", True),
    "win10": ("w10", "amd64", False), "2019": ("2k19", "amd64", False)}


def _hives_ok(system: Path, software: Path) -> None:
    for path in (system, software):
        with winmigrate.open(path) as hive:
            assert hive.check().ok, hive.check()
            ours = dump_hive(hive)
        if hivex_available():
            try:
                theirs = hivex_dump(path)
            except OracleError as e:  # pragma: no cover - shows hivex's message
                pytest.fail(str(e))
            assert theirs.keys == ours.keys
        if hivecheck_program() is not None:
            assert hivecheck(path) == "OK"


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("source", ["folder", "iso"])
def test_convert_family(tmp_path: Path, family: str, source: str, virtio_tree: Path,
                        request: pytest.FixtureRequest) -> None:
    drivers = virtio_tree if source == "folder" else request.getfixturevalue("virtio_iso")
    release, arch, legacy = FAMILIES[family]
    root = make_guest(tmp_path / "guest", family)
    before = snapshot(root)
    plan = plan_conversion(root, ConvertConfig(drivers=str(drivers)))
    assert plan.info.arch == arch
    assert [d.os_folder for d in plan.drivers] == [release, release]
    assert not plan.nothing_to_do and plan.registry.changes
    assert all(f.state.value == "create" for f in plan.files)
    report = plan.apply()
    assert report.changed and set(report.hives_saved) == {"SYSTEM", "SOFTWARE"}

    install = plan.install
    volume = install.volume
    sysroot = install.system_root
    mk = script("make_virtio_win")
    storage = mk.package("viostor", release, arch)
    network = mk.package("NetKVM", release, arch)
    drivers_dir = volume.find(f"{sysroot}\\System32\\drivers")
    assert drivers_dir is not None
    assert Path(drivers_dir, "viostor.sys").read_bytes() == storage["viostor.sys"]
    staged = Path(volume.find(f"{sysroot}\\Drivers\\VirtIO") or "")
    for name, data in {**storage, **network}.items():
        if name.endswith(".pdb"):
            assert not (staged / name).exists()
        else:
            assert (staged / name).read_bytes() == data, name
    agent = Path(volume.find(f"{sysroot}\\KvmConv") or "")
    assert (agent / "kvmconv.exe").read_bytes() == shipped_program(arch)
    ini = (agent / "kvmconv.ini").read_bytes()
    assert ini.startswith(b"\xff\xfe")
    text = ini[2:].decode("utf-16-le")
    assert "Action=find-adapter" in text and "Action=finish" in text
    assert (agent / "manifest.json").is_file()
    # no folder got a second spelling (System32 beside system32)
    for folder, dirs, files in __import__("os").walk(root):
        names = [n.lower() for n in dirs + files]
        assert len(names) == len(set(names)), folder

    _hives_ok(Path(install.system_hive), Path(install.software_hive or ""))
    with winmigrate.open(install.system_hive) as system, \
            winmigrate.open(install.software_hive or "") as software:
        assert storage_ready(system) == []
        for cs in plan.info.control_sets:
            svc = get_service(system, "KvmConv", cs)
            assert svc is not None and svc.image_path == r"%SystemRoot%\KvmConv\kvmconv.exe"
            crash = system.root.subkey(cs).subkey("Control").subkey("CrashControl")
            assert crash.get("AutoReboot") == 0
        cv = software.root.subkey("Microsoft").subkey("Windows").subkey("CurrentVersion")
        assert r"%SystemRoot%\Drivers\VirtIO" in cv.get("DevicePath").split(";")
        thumbs = {c.thumbprint for c in list_certificates(software, "TrustedPublisher")}
        from winmigrate.windows.certs import parse_certificate

        assert parse_certificate(mk.PUBLISHER_CERT).thumbprint in thumbs
        assert (system.root.get_subkey("DriverDatabase") is None) == legacy
    steps = {p.name for p in (agent / "steps").iterdir()}
    assert {"10-certificates.cmd", "20-drivers.cmd", "50-network-1.cmd",
            "80-crash-control.cmd"} <= steps
    assert b"/d 1 /f" in (agent / "steps" / "80-crash-control.cmd").read_bytes()

    converted = snapshot(root)
    again = plan_conversion(root, ConvertConfig(drivers=str(drivers)))
    assert again.nothing_to_do
    assert all(f.state.value == "same" for f in again.files)
    assert not again.apply().changed
    assert snapshot(root) == converted  # not a byte, not a timestamp-bearing rewrite

    result = undo(root)
    assert not result.kept
    assert differences(before, snapshot(root)) == []


def test_options_reach_the_guest(tmp_path: Path, virtio_tree: Path, agent_program: Path
                                 ) -> None:
    root = make_guest(tmp_path / "g", "2019")
    config = ConvertConfig(drivers=str(virtio_tree), storage_driver="vioscsi",
                           network_driver=False, crash_auto_reboot_off=False,
                           emulated_disk_fallback=True,
                           agent=AgentOptions(service_name="MoveToKvm", mac="52:54:00:aa:bb:cc",
                                              program=str(agent_program), max_boots=5,
                                              reboot=False, delayed=True))
    plan = plan_conversion(root, config)
    assert [d.driver for d in plan.drivers] == ["vioscsi"]
    plan.apply()
    install = plan.install
    agent = Path(install.volume.find(f"{install.system_root}\\KvmConv") or "")
    assert (agent / "kvmconv.exe").read_bytes() == agent_program.read_bytes()
    text = (agent / "kvmconv.ini").read_bytes()[2:].decode("utf-16-le")
    for line in ("Service=MoveToKvm", "MaxBoots=5", "Reboot=0", "Mac=52-54-00-AA-BB-CC"):
        assert line in text.splitlines()
    assert not (agent / "steps" / "80-crash-control.cmd").exists()
    with winmigrate.open(install.system_hive) as system:
        assert storage_ready(system, "vioscsi") == []
        svc = get_service(system, "MoveToKvm", "ControlSet001")
        assert svc is not None and svc.delayed_auto_start
        crash = system.root.subkey("ControlSet001").subkey("Control").subkey("CrashControl")
        assert crash.get("AutoReboot") == 1
        for name in ("storahci", "stornvme", "atapi", "pciide"):  # the emulated-disk fallback
            svc = get_service(system, name, "ControlSet001")
            assert svc is not None and svc.start == 0 and not svc.start_override, name


def test_no_windows_here(tmp_path: Path, virtio_tree: Path) -> None:
    (tmp_path / "empty" / "Windows").mkdir(parents=True)
    with pytest.raises(GuestNotFoundError, match="no Windows installation"):
        plan_conversion(tmp_path / "empty", ConvertConfig(drivers=str(virtio_tree)))
    make_guest(tmp_path / "two" , "win7")
    make_guest(tmp_path / "two" / "second", "xp")
    import shutil

    shutil.move(str(tmp_path / "two" / "second" / "WINDOWS"), str(tmp_path / "two" / "WINNT"))
    with pytest.raises(GuestNotFoundError, match="2 Windows installations"):
        plan_conversion(tmp_path / "two", ConvertConfig(drivers=str(virtio_tree)))


def test_a_file_in_the_way_is_kept(tmp_path: Path, virtio_tree: Path, agent_program: Path
                                   ) -> None:
    """An older viostor.sys already in System32\\drivers: replaced, the old one kept, and put
    back by undo."""
    root = make_guest(tmp_path / "g", "win7")
    old = root / "Windows" / "System32" / "drivers" / "VIOSTOR.SYS"
    old.write_bytes(b"an older viostor build")
    before = snapshot(root)
    config = ConvertConfig(drivers=str(virtio_tree), agent=AgentOptions(program=str(agent_program)))
    plan = plan_conversion(root, config)
    (action,) = [f for f in plan.files if f.guest_path.lower().endswith(r"drivers\viostor.sys")]
    assert action.state.value == "replace" and action.backup is not None
    assert action.guest_path.endswith("VIOSTOR.SYS")  # the name as it is on disk
    plan.apply()
    assert old.read_bytes().startswith(b"winmigrate test data")
    assert not (old.parent / "viostor.sys").exists()
    backup = plan.install.volume.find(action.backup)
    assert backup is not None and Path(backup).read_bytes() == b"an older viostor build"
    undo(root)
    assert differences(before, snapshot(root)) == []


def test_undo_refuses_after_the_agent_ran(tmp_path: Path, virtio_tree: Path,
                                          agent_program: Path) -> None:
    from winmigrate.convert.volume import ConversionError

    root = make_guest(tmp_path / "g", "win10")
    plan_conversion(root, ConvertConfig(drivers=str(virtio_tree), agent=AgentOptions(
        program=str(agent_program)))).apply()
    (root / "Windows" / "KvmConv" / "state.ini").write_text("[State]\r\nBoots=1\r\n")
    with pytest.raises(ConversionError, match="agent has run"):
        undo(root)
    with pytest.raises(ConversionError, match="no conversion to undo"):
        undo(make_guest(tmp_path / "other", "win7"))
