"""``winmigrate net show`` and ``winmigrate net script``: in process, plus one real run of the
installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from winmigrate.cli import main

from .fixtures import GUID_E1000, GUID_NONAME, GUID_XEN, Nic, standard_bytes, system_bytes
from .scripttools import ps_check_script

VENV_WINMIGRATE = Path(sys.executable).with_name("winmigrate")


@pytest.fixture(scope="module")
def hive_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("net") / "SYSTEM"
    path.write_bytes(standard_bytes())
    return str(path)


def test_show_table(hive_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "show", hive_file]) == 0
    out = capsys.readouterr().out
    assert "host name           winsrv" in out
    assert "primary DNS suffix  corp.example" in out
    assert f"{GUID_XEN}  Local Area Connection  [migrate]" in out
    assert f"{GUID_E1000}  Local Area Connection 2\n" in out
    assert f"{GUID_NONAME}  (no connection name)" in out
    assert "IPv4              static 192.0.2.10/24, 192.0.2.11/16" in out
    assert "gateways          192.0.2.1 metric 1, 192.0.2.254 metric 20" in out
    assert "Xen PV            yes: hardware ID xen\\vif" in out
    assert "NetBIOS           disabled" in out
    assert "IPv6 static       2001:db8:0:1::10/64" in out
    assert "DHCP lease        10.20.30.40/255.255.255.0 from 10.20.30.1" in out


def test_show_json(hive_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "show", hive_file, "--json", "--control-set", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["migrate"] == [GUID_XEN]
    assert data["global"]["hostname"] == "winsrv"
    nics = {n["guid"]: n for n in data["interfaces"]}
    assert nics[GUID_XEN]["dns_servers"] == ["192.0.2.53", "192.0.2.54"]
    assert nics[GUID_XEN]["wins_servers"] == ["192.0.2.5", "192.0.2.6"]
    assert nics[GUID_E1000]["dhcp"] is True


def test_show_hostile_name_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "SYSTEM"
    nic = Nic(guid=GUID_E1000, name="evil\x1b[2J\nname", tcpip={"EnableDHCP": 1})
    path.write_bytes(system_bytes([nic]))
    assert main(["net", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\x1b[2J\\x0aname" in out


def test_script_to_stdout_and_file(hive_file: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "script", hive_file, "--target", "powershell"]) == 0
    captured = capsys.readouterr()
    ps_check_script(captured.out)
    assert "Find-TargetAdapter -Mac ''" in captured.out
    assert "MAC override" in captured.err  # the script's warnings go to stderr
    out = tmp_path / "net.cmd"
    assert main(["net", "script", hive_file, "--target", "netsh", "--match",
                 "mac:52:54:00:12:34:56", "-o", str(out), "--wait", "10",
                 "--log-file", "C:\\KvmConv\\net.log"]) == 0
    data = out.read_bytes()
    assert data.startswith(b"@echo off\r\n") and data.isascii()
    assert b"call :wm_find_mac 52:54:00:12:34:56" in data
    assert b'set "WM_LOG=C:\\KvmConv\\net.log"' in data
    assert b'set "WM_WAIT=10"' in data
    assert "wrote" in capsys.readouterr().err


def test_netsh_script_in_the_guests_oem_code_page(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A French guest (OEM code page 850): its connection name is carried, and the batch file
    is written in cp850, the code page cmd reads it in."""
    import dataclasses

    import winmigrate

    from .fixtures import xen_static_nic

    nic = dataclasses.replace(xen_static_nic(), name="Connexion au réseau local")
    hive = winmigrate.Hive.from_bytes(system_bytes([nic]), writable=True)
    hive.key("ControlSet001").create_key("Control\\Nls\\CodePage").set_value("OEMCP", "850")
    path = tmp_path / "SYSTEM"
    hive.save(path)
    assert main(["net", "show", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["global"]["oem_codepage"] == 850
    out = tmp_path / "net.cmd"
    assert main(["net", "script", str(path), "--target", "netsh", "-o", str(out)]) == 0
    assert "cp850" in capsys.readouterr().err
    data = out.read_bytes()
    assert 'newname="Connexion au réseau local"'.encode("cp850") in data
    assert not data.isascii() and "réseau".encode() not in data


def test_script_interface_and_mapping(hive_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "script", hive_file, "--target", "powershell", "--interface", GUID_NONAME,
                 "--interface", GUID_XEN.lower(), "--match", f"{GUID_NONAME}=new-adapter",
                 "--match", f"{GUID_XEN}=mac:52:54:00:00:00:09"]) == 0
    out = capsys.readouterr().out
    assert "interface 1 of 2: {0F0F0F0F" in out and "interface 2 of 2: {11111111" in out
    # A mapping alone also chooses the interfaces.
    assert main(["net", "script", hive_file, "--target", "netsh", "--match",
                 f"{GUID_E1000}=mac:52:54:00:00:00:02"]) == 0
    out = capsys.readouterr().out
    assert "interface 1 of 1: {AAAAAAAA" in out


def test_script_errors(hive_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "script", hive_file, "--target", "powershell", "--interface",
                 "{99999999-9999-9999-9999-999999999999}"]) == 1  # not in the hive: input
    assert "no TCP/IP interface" in capsys.readouterr().err
    assert main(["net", "script", hive_file, "--target", "powershell", "--match", "eth0"]) == 2
    assert main(["net", "script", hive_file, "--target", "powershell", "--match", "new-adapter",
                 "--match", f"{GUID_XEN}=new-adapter"]) == 2
    assert main(["net", "script", hive_file, "--target", "powershell", "--interface", GUID_XEN,
                 "--interface", GUID_NONAME]) == 2  # new-adapter cannot place two
    capsys.readouterr()
    dhcp_only = tmp_path / "SYSTEM"
    dhcp_only.write_bytes(system_bytes([Nic(guid=GUID_E1000, tcpip={"EnableDHCP": 1})]))
    assert main(["net", "script", str(dhcp_only), "--target", "netsh"]) == 1
    assert "no interface has static settings" in capsys.readouterr().err
    assert main(["net", "show", str(tmp_path / "missing")]) == 1
    assert main(["net", "show", hive_file, "--control-set", "7"]) == 1
    assert main(["net", "show", hive_file, "--control-set", "x"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["net", "script", hive_file])  # --target is required
    assert exc.value.code == 2


@pytest.mark.parametrize("argv", [["net"], ["net", "show"], ["net", "script"]])
def test_help_has_an_example(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    out = capsys.readouterr().out
    assert "example" in out and "winmigrate net " in out


def test_console_script(hive_file: str) -> None:
    exe = VENV_WINMIGRATE if VENV_WINMIGRATE.exists() else None
    if exe is None:
        pytest.skip("the winmigrate console script is not installed next to this python")
    done = subprocess.run([str(exe), "net", "show", hive_file, "--json"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["migrate"] == [GUID_XEN]
